package tlsconf_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// FuzzParse feeds arbitrary PEM input to the certificate, key and pool
// parsers: they may refuse it, never panic.
func FuzzParse(f *testing.F) {
	now := time.Now()
	ca, err := tlsconf.NewCA(rand.Reader, "ca", now, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	id, err := ca.Issue(rand.Reader, "leaf", []string{"localhost"}, now, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	key, err := id.KeyPEM()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(id.CertPEM(), key)
	f.Add(ca.CertPEM(), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"), []byte{})
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		_, _ = tlsconf.ParseKeyPair(certPEM, keyPEM, now)
		_, _ = tlsconf.ParsePool(certPEM)
		_, _ = tlsconf.ParsePool(keyPEM)
	})
}
