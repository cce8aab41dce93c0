package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad flags of the provisioning services are usage errors (exit 2) with a
// clear message, never a crash, and nothing is started.
func TestProvisioningFlagsRefused(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	code, _, errOut := runCLI(t, "pki", "init", "--dir", pki)
	require.Equal(t, 0, code, errOut)
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"wallet provider: no token service", []string{"wallet-provider", "--listen", "127.0.0.1:0", "--pki", pki}, "--token-service"},
		{"wallet provider: plain http", []string{"wallet-provider", "--listen", "127.0.0.1:0", "--pki", pki, "--token-service", "http://127.0.0.1:1"}, "https://host:port"},
		{"wallet provider: no pki", []string{"wallet-provider", "--listen", "127.0.0.1:0", "--token-service", "https://127.0.0.1:1"}, "--pki"},
		{"wallet provider: empty pki", []string{"wallet-provider", "--listen", "127.0.0.1:0", "--token-service", "https://127.0.0.1:1", "--pki", empty}, "pki init"},
		{"wallet provider: bad listen", []string{"wallet-provider", "--listen", "nowhere", "--token-service", "https://127.0.0.1:1", "--pki", pki}, "host:port"},
		{"wallet provider: another party's key", []string{"wallet-provider", "--listen", "127.0.0.1:0", "--token-service", "https://127.0.0.1:1", "--pki", pki,
			"--jose-key", filepath.Join(pki, "provisioning", "issuer.jose.pem")}, "issuer's"},
		{"wallet provider: a certificate as key", []string{"wallet-provider", "--listen", "127.0.0.1:0", "--token-service", "https://127.0.0.1:1", "--pki", pki,
			"--jose-key", filepath.Join(pki, "provisioning", "phone.pem")}, "0600"},
		{"issuer: pki without listen", []string{"issuer", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--pki", pki}, "--provisioning-listen"},
		{"issuer: listen without pki", []string{"issuer", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--provisioning-listen", "127.0.0.1:0"}, "--pki"},
		{"issuer: empty pki", []string{"issuer", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--provisioning-listen", "127.0.0.1:0", "--pki", empty}, "pki init"},
		{"issuer: notify not https", []string{"issuer", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--provisioning-listen", "127.0.0.1:0", "--pki", pki,
			"--wallet-notify", "ftp://x"}, "https://host:port"},
		{"phone: no pki", []string{"provision", "wallet", "--card", "visa-plastic", "--device", "0A0B", "--wallet-provider", "127.0.0.1:1"}, "--pki"},
		{"phone: tap without acquirer", []string{"provision", "wallet", "--card", "visa-plastic", "--device", "0A0B", "--wallet-provider", "127.0.0.1:1",
			"--pki", pki, "--otp", "123456", "--tap", "100"}, "--acquirer"},
		{"phone: auto OTP without issuer data", []string{"provision", "wallet", "--card", "visa-plastic", "--device", "0A0B", "--wallet-provider", "127.0.0.1:1",
			"--pki", pki}, "--data"},
		{"phone: acquirer without wallet provider", []string{"provision", "wallet", "--card", "visa-plastic", "--device", "0A0B", "--acquirer", "127.0.0.1:1"}, "--wallet-provider"},
		{"phone: empty pki", []string{"provision", "wallet", "--card", "visa-plastic", "--device", "0A0B", "--wallet-provider", "127.0.0.1:1",
			"--pki", empty, "--otp", "123456"}, "pki init"},
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

// Unusable key material is refused before the issuer creates any data.
func TestIssuerProvisioningKeysCheckedFirst(t *testing.T) {
	data := filepath.Join(t.TempDir(), "issuer")
	code, _, errOut := runCLI(t, "issuer", "--listen", "127.0.0.1:0", "--data", data,
		"--provisioning-listen", "127.0.0.1:0", "--pki", t.TempDir())
	require.Equal(t, 2, code, errOut)
	require.NoDirExists(t, data)
}
