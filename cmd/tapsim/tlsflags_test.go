package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPKIInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	code, out, errOut := runCLI(t, "pki", "init", "--dir", dir, "--validity", "2h")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "terminal")
	for _, role := range []string{"ca", "issuer", "acquirer", "terminal"} {
		st, err := os.Stat(filepath.Join(dir, role+"-key.pem"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), role)
		_, err = os.Stat(filepath.Join(dir, role+".pem"))
		require.NoError(t, err)
	}
	// The provisioning parties' files (R-G1: their keys 0600).
	for _, name := range []string{"token-service", "wallet-provider", "issuer", "phone"} {
		st, err := os.Stat(filepath.Join(dir, "provisioning", name+"-key.pem"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
		if name != "phone" {
			st, err = os.Stat(filepath.Join(dir, "provisioning", name+".jose.pem"))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
		}
	}
	_, err := os.Stat(filepath.Join(dir, "provisioning", "directory.json"))
	require.NoError(t, err)
	// Kept unless --force.
	code, _, errOut = runCLI(t, "pki", "init", "--dir", dir)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "--force")
	code, _, errOut = runCLI(t, "pki", "init", "--dir", dir, "--force")
	require.Equal(t, 0, code, errOut)

	code, _, _ = runCLI(t, "pki", "init")
	require.Equal(t, 2, code)
	code, _, _ = runCLI(t, "pki", "init", "--dir", dir, "--validity", "-1h")
	require.Equal(t, 2, code)
}

func TestTLSFlagsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	code, _, errOut := runCLI(t, "pki", "init", "--dir", dir)
	require.Equal(t, 0, code, errOut)
	f := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"issuer: cert without CA", []string{"issuer", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", f("issuer.pem"), "--tls-key", f("issuer-key.pem")}, "go together"},
		{"issuer: key of another", []string{"issuer", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", f("issuer.pem"), "--tls-key", f("acquirer-key.pem"), "--tls-ca", f("ca.pem")}, "does not match"},
		{"acquirer: issuer CA without certificate", []string{"acquirer", "--listen", "127.0.0.1:0", "--issuer", "127.0.0.1:1", "--data", t.TempDir(), "--issuer-tls-ca", f("ca.pem")}, "certificate to present"},
		{"acquirer: CA file is a leaf", []string{"acquirer", "--listen", "127.0.0.1:0", "--issuer", "127.0.0.1:1", "--data", t.TempDir(), "--tls-cert", f("acquirer.pem"), "--tls-key", f("acquirer-key.pem"), "--tls-ca", f("acquirer.pem")}, "not a CA"},
		{"terminal: missing key file", []string{"terminal", "--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "100", "--data", t.TempDir(), "--tls-cert", f("terminal.pem"), "--tls-key", f("nope.pem"), "--tls-ca", f("ca.pem")}, "nope.pem"},
		{"load: TLS without --acquirer", []string{"load", "--tls-cert", f("terminal.pem"), "--tls-key", f("terminal-key.pem"), "--tls-ca", f("ca.pem")}, "running --acquirer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			require.Equal(t, 2, code, errOut)
			require.Contains(t, errOut, tc.want)
			require.NotContains(t, errOut, "PRIVATE KEY")
		})
	}
}
