package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// provision se personalises the sample over the air, prints the OTA trace
// by command names, and the tap is approved by the embedded issuer host.
func TestProvisionSE(t *testing.T) {
	code, out, errOut := runCLI(t, "provision", "se", "--card", "visa-se-phone", "--device", "35209900AABB0002", "--tap", "1200",
		"--data", filepath.Join(t.TempDir(), "data"))
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "OTA  STORE DATA block 0")
	require.Contains(t, out, "ended: personalised")
	require.Contains(t, out, "response code 00")
	require.NotRegexp(t, `\b4[0-9]{15}\b`, out+errOut)

	code, out, errOut = runCLI(t, "provision", "se", "--card", "visa-se-phone", "--device", "35209900AABB0003", "--otp", "000000")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, errOut, "otp_wrong", "R-S3c: the issuer's ID&V refuses a wrong code")

	code, _, _ = runCLI(t, "provision", "se", "--card", "visa-plastic", "--device", "01")
	require.Equal(t, 2, code)
}
