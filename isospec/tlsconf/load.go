package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

// LoadKeyPair reads a PEM certificate chain (leaf first) and its PEM private
// key (PKCS #8, SEC 1 EC or PKCS #1 RSA) and checks that the key belongs to
// the leaf and that the leaf is valid at now.
func LoadKeyPair(certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %s: %w", ErrNoCertificate, certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		// The path error names the file only.
		return tls.Certificate{}, fmt.Errorf("%w: %s: %w", ErrBadKey, keyFile, err)
	}
	c, err := ParseKeyPair(certPEM, keyPEM, now)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w (certificate %s, key %s)", err, certFile, keyFile)
	}
	return c, nil
}

// ParseKeyPair is LoadKeyPair on PEM bytes.
func ParseKeyPair(certPEM, keyPEM []byte, now time.Time) (tls.Certificate, error) {
	chain, err := parseCertificates(certPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	if len(chain) == 0 {
		return tls.Certificate{}, fmt.Errorf("%w: no CERTIFICATE block", ErrNoCertificate)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf := chain[0]
	if !samePublic(leaf.PublicKey, key) {
		return tls.Certificate{}, fmt.Errorf("%w: it does not match the certificate", ErrBadKey)
	}
	if err := checkValidity(leaf, now); err != nil {
		return tls.Certificate{}, err
	}
	out := tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

// LoadPool reads the PEM file of one or more CA certificates into a pool.
func LoadPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoCA, caFile, err)
	}
	p, err := ParsePool(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, caFile)
	}
	return p, nil
}

// ParsePool is LoadPool on PEM bytes. Every CERTIFICATE block must parse
// and be a CA certificate; blocks of other types are refused.
func ParsePool(caPEM []byte) (*x509.CertPool, error) {
	certs, err := parseCertificates(caPEM)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block", ErrNoCA)
	}
	p := x509.NewCertPool()
	for i, c := range certs {
		if !c.IsCA || !c.BasicConstraintsValid {
			return nil, fmt.Errorf("%w: certificate %d (%s) is not a CA", ErrNoCA, i+1, c.Subject)
		}
		p.AddCert(c)
	}
	return p, nil
}

// parseCertificates decodes every PEM block, which must all be
// certificates.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: a %q block where certificates were expected", ErrBadPEM, safeType(blk.Type))
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrBadPEM, len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 && len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: no PEM data", ErrBadPEM)
	}
	return out, nil
}

// parseKey decodes the one private key block. Its parse errors are not
// wrapped: they say nothing useful and must not carry key bytes.
func parseKey(b []byte) (crypto.Signer, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM data", ErrBadKey)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("%w: more than one PEM block", ErrBadKey)
	}
	var (
		k   any
		err error
	)
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "CERTIFICATE":
		return nil, fmt.Errorf("%w: a certificate where the private key was expected", ErrBadKey)
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block %q", ErrBadKey, safeType(blk.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not parse", ErrBadKey, blk.Type)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: RSA key shorter than 2048 bits", ErrBadKey)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: unsupported key type %T", ErrBadKey, k)
}

func samePublic(certKey any, k crypto.Signer) bool {
	p, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(certKey)
}

func checkValidity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(c.NotBefore):
		return fmt.Errorf("%w: %s is valid from %s", ErrValidity, c.Subject, c.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return fmt.Errorf("%w: %s expired %s", ErrValidity, c.Subject, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// safeType bounds a PEM type for an error message.
func safeType(t string) string {
	if len(t) > 32 {
		return t[:32] + "..."
	}
	return t
}
