package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/lab"
)

// Bad flags of provision wallet and inbox exit 2 with one line.
func TestProvisionFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"provision", "wallet", "--device", "35209900AABB0001"}, "--card is required"},
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "zz"}, "--device must be 1 to 8 bytes in hex"},
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "00112233445566778899"}, "--device must be 1 to 8 bytes in hex"},
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "01", "--otp", "12"}, "--otp must be auto, none or 6 digits"},
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "01", "--activate-pin", "12a4"}, "--activate-pin must be 4 to 12 digits"},
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "01", "--tap", "-5"}, "--tap must be a positive amount"},
		{[]string{"provision", "wallet", "--bogus"}, "unknown flag"},
		{[]string{"provision", "wallet", "--card", "nosuch", "--device", "01"}, "--card nosuch is not a built-in plastic card profile"},
		{[]string{"provision", "wallet", "--card", "wallet-phone", "--device", "01"}, "is not a built-in plastic card profile"},
		{[]string{"inbox", "--data", "x"}, "give one of --device or --contact"},
		{[]string{"inbox", "--device", "01", "--contact", "a@b"}, "give one of --device or --contact"},
		{[]string{"inbox", "--device", "01"}, "--data is required"},
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

// provision wallet runs the wallet flow against the embedded issuer and
// prints each step masked, then taps the token (R-M5, R-G3e, R-G5g);
// inbox shows the phone's messages, the OTP as an SMS shows it.
func TestProvisionWallet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := runCLI(t, "provision", "wallet", "--card", "visa-plastic", "--device", "35209900aabb0001",
		"--tap", "150000", "--data", dir)
	require.Equal(t, 0, code, errOut+out)
	for _, want := range []string{"476173******0010", "REQUIRE_ADDITIONAL_AUTHENTICATION", "otp sent", "+********",
		"SUCCESS, token ACTIVE", "489537******", "download ack", "issuer notified", "created true, downloaded true, activated true",
		"DE39 00"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "4761739001010010")
	require.NotRegexp(t, `\b[0-9]{6}\b is your`, out, "no OTP outside the inbox")

	code, inbox, errOut := runCLI(t, "inbox", "--device", "35209900AABB0001", "--data", dir)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `sms +otp +tapsim bank: [0-9]{6} is your one-time password`, inbox)
	require.Contains(t, inbox, "token-activated")

	code, out, _ = runCLI(t, "provision", "wallet", "--card", "visa-plastic", "--device", "35209900AABB0002", "--otp", "000000")
	require.Equal(t, 1, code)
	require.Contains(t, out, "INCORRECT_CODE, 4 tries left, token INACTIVE")

	// A short device ID is the phone's 8-byte ID, zero-padded, as the
	// issuer binds the token to it.
	code, out, errOut = runCLI(t, "provision", "wallet", "--card", "visa-plastic", "--device", "0a0b", "--green")
	require.Equal(t, 0, code, errOut+out)
	require.Contains(t, out, "device 0A0B000000000000")
}

// provision wallet --otp none leaves the step-up unfinished and
// --activate-pin activates the token afterwards with the card's PIN
// (R-S2a, R-G1); a wrong PIN leaves it inactive with the tries left
// (R-G3c). No PIN or PIN block is printed.
func TestProvisionWalletActivatePIN(t *testing.T) {
	code, out, errOut := runCLI(t, "provision", "wallet", "--card", "visa-plastic", "--device", "35209900AABB0011",
		"--otp", "none", "--activate-pin", "1234", "--tap", "150000")
	require.Equal(t, 0, code, errOut+out)
	for _, want := range []string{"not entered", "activate", "SUCCESS, token ACTIVE", "activated true (cardholder verified by passcode)",
		"DE39 00"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "otp sent")
	require.NotContains(t, strings.ToUpper(out+errOut), "141234", "no PIN block (format 1, PIN 1234)")
	require.NotContains(t, out+errOut, "PIN 1234")

	code, out, _ = runCLI(t, "provision", "wallet", "--card", "visa-plastic", "--device", "35209900AABB0012",
		"--otp", "none", "--activate-pin", "9999")
	require.Equal(t, 1, code)
	require.Contains(t, out, "INCORRECT_CODE, 4 tries left")
}

// demo --provisioning prints one row per case, every one as expected, in
// order, with the requirements each shows, and no card data in clear.
func TestDemoProvisioningRows(t *testing.T) {
	code, out, errOut := runCLI(t, "demo", "--provisioning", "--data", filepath.Join(t.TempDir(), "data"))
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "all 39 rows as expected")
	cases := []struct{ name, reqs string }{
		{"green path -> token -> tap", "R-M4 R-M5 R-G1 R-G2"},
		{"step-up with OTP", "R-M5 R-G3e R-S2a"},
		{"issuer notified of the download", "R-M5"},
		{"OTP reused", "R-G3e"},
		{"wrong OTP", "R-G3c R-G3e"},
		{"OTP expired", "R-G3e"},
		{"5 wrong OTPs -> locked", "R-G3c"},
		{"lost card -> ID&V declined", "R-G3"},
		{"wrong device", "R-G2 R-S5d"},
		{"tampered ciphertext", "R-G1 R-G2"},
		{"token suspended -> tap declined", "R-M5"},
		{"lost phone -> all its tokens suspended", "R-C1"},
		{"no PAN in the wallet provider's or phone's store", "R-G5g"},
		{"HCE registration with OTP -> bound", "R-M7 R-S3d R-G3e"},
		{"HCE wrong OTP", "R-S3d R-G3e"},
		{"HCE wrong issuer-set passcode", "R-S3d R-G3a R-G3c"},
		{"HCE registration with the issuer-set passcode -> bound", "R-S3d R-G3a R-S2a"},
		{"HCE download, challenge signed by another key", "R-S3e"},
		{"HCE download", "R-S3e R-S3f R-S5a R-S5c"},
		{"HCE tap with a limited-use key", "R-S5b R-S2e"},
		{"HCE key reused (restored backup)", "R-S5b"},
		{"HCE tap without cardholder verification", "R-S2e"},
		{"HCE replenishment", "R-S5b"},
		{"HCE key expired", "R-S5b"},
		{"HCE lost phone", "R-C1"},
		{"HCE two phones on one account: the other goes on", "R-S5d R-C1"},
		{"HCE five wrong mobile PINs lock the phone", "R-G3c R-S2e"},
		{"HCE service centre resets the mobile PIN: the phone pays again", "R-G3c"},
		{"SE issuer-owned: OTA personalisation -> tap", "R-M1 R-M6 R-S3b R-S3c"},
		{"SE shared with an operator: keys rotated -> tap", "R-M2 R-S1 R-G5e"},
		{"SE shared without the issuer's consent", "R-S1"},
		{"SE download to a non-designated SE", "R-S3a"},
		{"SE wrong one-time codes at download", "R-S3c"},
		{"SE SCP03 card cryptogram fails", "R-G5e"},
		{"SE OTA command with a bad C-MAC", "R-S3b"},
		{"SE replayed OTA step", "R-S4e"},
		{"SE second personalisation of the same SE", "R-S4e"},
		{"SE TSM operator with the default password", "R-S4c"},
		{"SE TSM stores after the downloads", "R-G5g R-S4d R-S4f"},
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, len(cases)+2, out)
	for i, c := range cases {
		require.True(t, strings.HasPrefix(lines[i+1], c.name), lines[i+1])
		require.Regexp(t, `\s+yes\s+`+c.reqs+`\b`, lines[i+1])
	}
	for _, secret := range []string{"4761739001010010", "5413330089010012", "4895379001010014", "E6EFE6615EF25E31E59B492F15CBE651", lab.CloudIMK} {
		require.NotContains(t, out+errOut, secret)
	}
	require.NotRegexp(t, `\b[0-9]{6}\b is your one-time password`, out+errOut)
}
