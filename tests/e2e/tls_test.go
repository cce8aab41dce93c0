package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// R-S4b, R-G1, R-G2: issuer and acquirer processes with mutual TLS on both
// links (test PKI from "tapsim pki init"); a terminal sale is approved
// over TLS; a terminal with a certificate of another CA, or without TLS,
// is refused and the acquirer goes on serving.
func TestMutualTLSProcesses(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	f := func(name string) string { return filepath.Join(pki, name) }

	// Another CA's terminal certificate, made here.
	rogueCert, rogueKey, err := tlstest.NewPKI(t, "terminal").Rogue("terminal").WriteFiles(filepath.Join(dir, "rogue"), "terminal", false)
	require.NoError(t, err)

	iss := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "issuer"),
		"--tls-cert", f("issuer.pem"), "--tls-key", f("issuer-key.pem"), "--tls-ca", f("ca.pem"))
	acq := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", iss.addr, "--data", filepath.Join(dir, "acquirer"),
		"--tls-cert", f("acquirer.pem"), "--tls-key", f("acquirer-key.pem"), "--tls-ca", f("ca.pem"),
		"--issuer-tls-ca", f("ca.pem"), "--issuer-timeout", "3s")
	acq.waitLine(t, "issuer links signed on")

	sale := func(amount string, tlsArgs ...string) (string, error) {
		args := append([]string{"terminal", "--acquirer", acq.addr, "--card", "visa-plastic", "--amount", amount,
			"--data", filepath.Join(dir, "terminal"), "--timeout", "3s"}, tlsArgs...)
		return run(t, args...)
	}
	good := []string{"--tls-cert", f("terminal.pem"), "--tls-key", f("terminal-key.pem"), "--tls-ca", f("ca.pem")}

	out, err = sale("150000", good...)
	require.NoError(t, err, out)
	require.Contains(t, out, "DE39: 00", out)

	for name, args := range map[string][]string{
		"certificate of another CA": {"--tls-cert", rogueCert, "--tls-key", rogueKey, "--tls-ca", f("ca.pem")},
		"plain TCP":                 nil,
	} {
		out, err = sale("150100", args...)
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, name+": "+out)
		require.NotContains(t, out, "APPROVED", name)
		require.Contains(t, out, "no card tapped", name)
		require.NotContains(t, out, "No answer from host", name)
		if args != nil {
			require.Contains(t, out, "TLS", name)
		}
	}

	// The acquirer still serves terminals that prove themselves.
	out, err = sale("150200", good...)
	require.NoError(t, err, out)
	require.Contains(t, out, "DE39: 00", out)
}
