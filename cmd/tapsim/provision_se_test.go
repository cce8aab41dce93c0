package main

import (
	"os"
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

// The flags of the TSM processes and of provision se against them are
// checked before anything starts: each mistake exits 2 with its reason.
func TestTSMFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tsm", "sp", "--se-tsm", "https://127.0.0.1:1"}, "--pki"},
		{[]string{"tsm", "sp", "--se-tsm", "http://127.0.0.1:1", "--pki", "x"}, "--se-tsm"},
		{[]string{"tsm", "sp", "--se-tsm", "https://127.0.0.1:1", "--pki", "x", "--issuer-idv", "nope"}, "--issuer-idv"},
		{[]string{"tsm", "se", "--sp-tsm", "https://127.0.0.1:1", "--pki", "x", "--ota-listen", "nohost"}, "--ota-listen"},
		{[]string{"tsm", "se", "--pki", "x"}, "--sp-tsm"},
		{[]string{"provision", "se", "--card", "visa-se-phone", "--device", "01", "--se-tsm", "127.0.0.1:1"}, "go with --sp-tsm"},
		{[]string{"provision", "se", "--card", "visa-se-phone", "--device", "01", "--sp-tsm", "127.0.0.1:1"}, "needs --se-tsm"},
		{[]string{"provision", "se", "--card", "visa-se-phone", "--device", "01", "--sp-tsm", "127.0.0.1:1", "--se-tsm", "127.0.0.1:2",
			"--ota", "127.0.0.1:3", "--pki", "x", "--tap", "100"}, "--acquirer"},
		{[]string{"provision", "se", "--card", "visa-se-phone", "--device", "01", "--sp-tsm", "nohost", "--se-tsm", "127.0.0.1:2",
			"--ota", "127.0.0.1:3", "--pki", "x"}, "host:port"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		require.Equal(t, 2, code, "%v: %s", c.args, out+errOut)
		require.Contains(t, errOut, c.want, c.args)
	}
	// A PKI directory without the TSM's files is reported as such.
	code, out, errOut := runCLI(t, "tsm", "sp", "--listen", "127.0.0.1:0", "--se-tsm", "https://127.0.0.1:1", "--pki", t.TempDir())
	require.Equal(t, 2, code, out+errOut)
	require.Contains(t, errOut, "sp-tsm.hsm.json missing (run tapsim pki init")
}

// R-S4a: a PKI directory made before the TSMs' security modules, their
// JOSE keys and the SE authority's in key files in clear, is refused with
// what to run; once made again, the TSM starts on its module's keys.
func TestTSMOldPKIDirectory(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	code, out, errOut := runCLI(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.Equal(t, 0, code, out+errOut)
	sub := filepath.Join(pki, "provisioning")
	require.NoError(t, os.Remove(filepath.Join(sub, "sp-tsm.hsm.json")))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "sp-tsm.jose.pem"), []byte("old"), 0o600))
	code, out, errOut = runCLI(t, "tsm", "sp", "--listen", "127.0.0.1:0", "--se-tsm", "https://127.0.0.1:1", "--pki", pki)
	require.Equal(t, 2, code, out+errOut)
	require.Contains(t, errOut, "sp-tsm.jose.pem holds sp-tsm's JOSE keys in clear")
	require.Contains(t, errOut, "run tapsim pki init --dir "+pki+" --force")
}
