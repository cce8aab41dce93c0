package tlsconf_test

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// A test CA certifies the issuer host and the acquirer; the issuer
// listens with Server, the acquirer dials with Client.
func Example() {
	now := time.Now()
	ca, err := tlsconf.NewCA(rand.Reader, "tapsim test CA", now, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	issuer, err := ca.Issue(rand.Reader, "issuer", []string{"localhost", "127.0.0.1"}, now, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	acquirer, err := ca.Issue(rand.Reader, "acquirer", []string{"localhost"}, now, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	srv, err := tlsconf.Server(issuer.TLSCertificate(), ca.Pool())
	if err != nil {
		panic(err)
	}
	cli, err := tlsconf.Client(acquirer.TLSCertificate(), ca.Pool(), "localhost")
	if err != nil {
		panic(err)
	}
	fmt.Println(srv.ClientAuth == tls.RequireAndVerifyClientCert, tls.VersionName(srv.MinVersion))
	fmt.Println(cli.ServerName, issuer.Cert.Subject.CommonName)
	// Output:
	// true TLS 1.2
	// localhost issuer
}

// ParseKeyPair says what is wrong with a key pair, never what the key is.
func ExampleParseKeyPair() {
	now := time.Now()
	ca, _ := tlsconf.NewCA(rand.Reader, "ca", now, time.Hour)
	a, _ := ca.Issue(rand.Reader, "a", nil, now, time.Hour)
	b, _ := ca.Issue(rand.Reader, "b", nil, now, time.Hour)
	bKey, _ := b.KeyPEM()
	_, err := tlsconf.ParseKeyPair(a.CertPEM(), bKey, now)
	fmt.Println(err)
	// Output:
	// tlsconf: bad private key: it does not match the certificate
}
