package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "01", "--otp", "12"}, "--otp must be auto or 6 digits"},
		{[]string{"provision", "wallet", "--card", "visa-plastic", "--device", "01", "--tap", "-5"}, "--tap must be a positive amount"},
		{[]string{"provision", "wallet", "--bogus"}, "unknown flag"},
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
}
