package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad flags of provision hce and replenish exit 2 with one line, before
// anything starts.
func TestProvisionHCEFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"provision", "hce", "--device", "01"}, "--card is required"},
		{[]string{"provision", "hce", "--card", "visa-plastic"}, "--device must be 1 to 8 bytes in hex"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "0g"}, "--device must be 1 to 8 bytes in hex"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "01", "--otp", "abc"}, "--otp must be auto or 6 digits"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "01", "--tap", "-1"}, "--tap must be a positive amount"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "01", "--pin", "2580"}, "--pin goes with a Mastercard-like card only"},
		{[]string{"provision", "hce", "--card", "mc-plastic", "--device", "01"}, "--pin MOBILEPIN is required for the Mastercard-like card mc-plastic"},
		{[]string{"provision", "hce", "--card", "mc-plastic", "--device", "01", "--pin", "25a0"}, "--pin must be 4 to 12 digits"},
		{[]string{"provision", "hce", "--card", "hce-phone", "--device", "01"}, "--card hce-phone: not a Visa-like or Mastercard-like plastic card profile"},
		{[]string{"provision", "hce", "--bogus"}, "unknown flag"},
		{[]string{"provision", "replenish", "--card", "visa-plastic", "--device", "01", "--taps", "-2"}, "--taps must be 0 or more"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "01", "--cloud", "127.0.0.1:1", "--pki", "p"},
			"--cloud needs the issuer's --data DIR"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "01", "--passcode", "12a4"}, "--passcode must be 4 to 12 digits"},
		{[]string{"provision", "hce", "--card", "visa-plastic", "--device", "01", "--passcode", "1234", "--otp", "123456"},
			"--passcode verifies the cardholder instead of an OTP: no --otp"},
		{[]string{"provision", "replenish", "--phone", "visa-plastic"}, "--phone visa-plastic: want one of hce-phone, hce-phone-mc"},
		{[]string{"provision", "replenish", "--phone", "hce-phone", "--card", "visa-plastic"}, "no --card or --device"},
		{[]string{"provision", "replenish", "--phone", "hce-phone", "--data", "d"}, "--phone needs --cloud ADDR, --pki DIR and the issuer's --data DIR"},
		{[]string{"provision", "replenish", "--phone", "hce-phone", "--data", "d", "--pki", "p", "--cloud", "a b"}, "--cloud \"a b\": want host:port"},
		{[]string{"provision", "replenish", "--phone", "hce-phone", "--data", t.TempDir(), "--pki", "p", "--cloud", "127.0.0.1:1"},
			"no enrolled HCE phone: hce-phone"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			require.Equal(t, 2, code)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want)
			require.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
		})
	}
}

// R-M7, R-S3d, R-S3e, R-S3f, R-S2e: provision hce registers a new phone
// with the OTP from the cardholder's inbox, downloads its card and keys
// after signing the platform's challenge, and taps it; every step masked.
func TestProvisionHCE(t *testing.T) {
	code, out, errOut := runCLI(t, "provision", "hce", "--card", "visa-plastic", "--device", "35209900aabb0002", "--tap", "150000")
	require.Equal(t, 0, code, errOut+out)
	for _, want := range []string{"cloud platform on 127.0.0.1:", "476173******0010", "489537******", "OTP sent by sms to +********",
		"read from the cardholder's inbox", "device 35209900AABB0002, ACTIVE", "5 limited-use keys", "tap 1", "DE39 00", "keys left 4"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out+errOut, "4761739001010010")
	require.NotRegexp(t, `[0-9]{6} is your`, out)

	// A wrong OTP: the platform refuses the binding, nothing is downloaded.
	code, out, errOut = runCLI(t, "provision", "hce", "--card", "visa-plastic", "--device", "01", "--otp", "000000")
	require.Equal(t, 1, code, out)
	require.Contains(t, errOut, "refused: otp_wrong")
	require.NotContains(t, out, "download")
}

// R-S2e: a Mastercard-like card takes the mc-cloud model: the mobile PIN
// set at registration unlocks the UMD key at each tap, and the phone signs
// with CDA; the issuer approves. A weak mobile PIN is refused.
func TestProvisionHCEMobilePIN(t *testing.T) {
	code, out, errOut := runCLI(t, "provision", "hce", "--card", "mc-plastic", "--device", "35209900aabb0003", "--pin", "2580", "--tap", "150000")
	require.Equal(t, 0, code, errOut+out)
	require.Contains(t, out, "520474******")
	require.Contains(t, out, "tap 1            DE39 00")
	require.NotContains(t, out+errOut, "5413330089010012")
	require.NotContains(t, out+errOut, "2580")

	code, _, errOut = runCLI(t, "provision", "hce", "--card", "mc-plastic", "--device", "04", "--pin", "1111")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "refused:")
}

// R-S5b: replenish spends keys on taps in the same run, then the phone
// asks the platform for more with its device key.
func TestProvisionReplenish(t *testing.T) {
	code, out, errOut := runCLI(t, "provision", "replenish", "--card", "visa-plastic", "--device", "02", "--taps", "4")
	require.Equal(t, 0, code, errOut+out)
	require.Equal(t, 4, strings.Count(out, "DE39 00"), out)
	require.Contains(t, out, "replenish        5 keys loaded, keys left 1 -> 6")
}

// The panel's "Enrol HCE phone" offers the sample plastic cards; the
// Mastercard-like ones ask for a mobile PIN.
func TestTUIHCECards(t *testing.T) {
	cs, pin := tuiHCECards()
	require.Contains(t, cs, "visa-plastic")
	require.Contains(t, cs, "mc-plastic")
	require.NotContains(t, cs, "hce-phone")
	require.Contains(t, pin, "mc-plastic")
	require.NotContains(t, pin, "visa-plastic")
}
