package oda

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// CA is a certification authority: an RSA private key that signs Issuer
// Public Key Certificates, and the RID and index under which terminals hold
// its public key. Expiry, when set, is copied into PublicKey. A CA never
// prints its private key.
type CA struct {
	RID    [5]byte
	Index  byte
	Expiry time.Time
	s      *signer
}

// NewCA makes a CA from an RSA private key whose length is one of
// CAKeyLengths and whose exponent is 3 or 65537.
func NewCA(rid [5]byte, index byte, key *rsa.PrivateKey) (*CA, error) {
	if key != nil && key.N != nil && !isCAKeyLength(key.N.BitLen()) {
		return nil, fmt.Errorf("%w: CA key of %d bits, want one of %v", ErrKeyLength, key.N.BitLen(), caKeyBits)
	}
	s, err := newSigner(key, MinKeyBits, MaxModulusLen*8)
	if err != nil {
		return nil, fmt.Errorf("oda: CA key: %w", err)
	}
	return &CA{RID: rid, Index: index, s: s}, nil
}

// GenerateCA makes a CA with a new key of bits (one of CAKeyLengths) and
// exponent (3 or 65537) drawn from random.
func GenerateCA(random io.Reader, bits, exponent int, rid [5]byte, index byte) (*CA, error) {
	if !isCAKeyLength(bits) {
		return nil, fmt.Errorf("%w: CA key of %d bits, want one of %v", ErrKeyLength, bits, caKeyBits)
	}
	k, err := GenerateKey(random, bits, exponent)
	if err != nil {
		return nil, err
	}
	return NewCA(rid, index, k)
}

// PublicKey returns the CA public key that terminals hold.
func (ca *CA) PublicKey() CAPublicKey {
	if ca == nil || ca.s == nil {
		return CAPublicKey{}
	}
	return CAPublicKey{
		RID: ca.RID, Index: ca.Index, Expiry: ca.Expiry,
		Modulus: bytes.Clone(ca.s.pub.Modulus), Exponent: bytes.Clone(ca.s.pub.Exponent),
	}
}

// CertifyIssuer signs an Issuer Public Key Certificate, format 02 (Book 2
// Table 6), for pub. The issuer key may not be longer than the CA key.
func (ca *CA) CertifyIssuer(pub PublicKey, t IssuerTemplate) (Certificate, error) {
	if ca == nil || ca.s == nil {
		return Certificate{}, fmt.Errorf("%w: CA has no key", ErrInvalid)
	}
	if len(t.IssuerID) < 3 || len(t.IssuerID) > 8 {
		return Certificate{}, fmt.Errorf("%w: issuer identifier must be 3 to 8 digits", ErrInvalid)
	}
	id, ok := packDigits(t.IssuerID, 4)
	if !ok {
		return Certificate{}, fmt.Errorf("%w: issuer identifier must be 3 to 8 digits", ErrInvalid)
	}
	if len(pub.Modulus) > ca.s.size {
		return Certificate{}, fmt.Errorf("%w: issuer key of %d bytes is longer than the %d-byte CA key", ErrKeyLength, len(pub.Modulus), ca.s.size)
	}
	c, err := issuerLayout.build(ca.s, id, t.Expiry, t.Serial, pub, nil)
	if err != nil {
		return Certificate{}, fmt.Errorf("oda: certify issuer: %w", err)
	}
	return c, nil
}

// String prints the CA key identity and public key.
func (ca *CA) String() string {
	if ca == nil || ca.s == nil {
		return "CA(no key)"
	}
	return fmt.Sprintf("CA %v %v", KeyID{ca.RID, ca.Index}, ca.s.pub)
}

// GoString is String, so that %#v does not show the private key.
func (ca *CA) GoString() string { return ca.String() }

// Format prints String for every verb, so that no verb shows the private key.
func (ca *CA) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, ca.String()) }

// LogValue logs String.
func (ca *CA) LogValue() slog.Value { return slog.StringValue(ca.String()) }

// Issuer is an issuer's RSA key pair with its certificate from a CA. It
// certifies ICC keys and signs static application data. It never prints its
// private key.
type Issuer struct {
	// Certificate holds tags 90, 92 and 9F32.
	Certificate Certificate
	s           *signer
}

// NewIssuer pairs an issuer private key with its certificate. The key must
// be a whole number of bytes from 1024 to 1984 bits with exponent 3 or 65537,
// and the certificate's exponent must be the key's.
func NewIssuer(key *rsa.PrivateKey, cert Certificate) (*Issuer, error) {
	s, err := certifiedSigner("issuer", key, cert)
	if err != nil {
		return nil, err
	}
	return &Issuer{Certificate: cloneCert(cert), s: s}, nil
}

// GenerateIssuer makes an issuer key of bits and exponent from random and has
// ca certify it.
func GenerateIssuer(random io.Reader, ca *CA, bits, exponent int, t IssuerTemplate) (*Issuer, error) {
	return generateCertified(random, bits, exponent,
		func(pub PublicKey) (Certificate, error) { return ca.CertifyIssuer(pub, t) }, NewIssuer)
}

// PublicKey returns the issuer public key.
func (is *Issuer) PublicKey() PublicKey {
	if is == nil || is.s == nil {
		return PublicKey{}
	}
	return PublicKey{Modulus: bytes.Clone(is.s.pub.Modulus), Exponent: bytes.Clone(is.s.pub.Exponent)}
}

// CertifyICC signs an ICC Public Key Certificate, format 04 (Book 2 Table
// 14), for pub, binding it to the PAN and the static data to be
// authenticated. The ICC key may not be longer than the issuer key.
func (is *Issuer) CertifyICC(pub PublicKey, t ICCTemplate) (Certificate, error) {
	if is == nil || is.s == nil {
		return Certificate{}, fmt.Errorf("%w: issuer has no key", ErrInvalid)
	}
	id, ok := packDigits(t.PAN, 10)
	if !ok || !validPAN(t.PAN) {
		return Certificate{}, fmt.Errorf("%w: PAN must be 1 to 19 digits", ErrInvalid)
	}
	if len(pub.Modulus) > is.s.size {
		return Certificate{}, fmt.Errorf("%w: ICC key of %d bytes is longer than the %d-byte issuer key", ErrKeyLength, len(pub.Modulus), is.s.size)
	}
	c, err := iccLayout.build(is.s, id, t.Expiry, t.Serial, pub, t.StaticData)
	if err != nil {
		return Certificate{}, fmt.Errorf("oda: certify ICC: %w", err)
	}
	return c, nil
}

// String prints the issuer public key.
func (is *Issuer) String() string {
	if is == nil || is.s == nil {
		return "Issuer(no key)"
	}
	return fmt.Sprintf("Issuer %v", is.s.pub)
}

// GoString is String, so that %#v does not show the private key.
func (is *Issuer) GoString() string { return is.String() }

// Format prints String for every verb, so that no verb shows the private key.
func (is *Issuer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, is.String()) }

// LogValue logs String.
func (is *Issuer) LogValue() slog.Value { return slog.StringValue(is.String()) }

// ICC is a card's RSA key pair with its certificate from the issuer. It signs
// dynamic application data for DDA, fDDA and CDA. It never prints its private
// key.
type ICC struct {
	// Certificate holds tags 9F46, 9F48 and 9F47.
	Certificate Certificate
	s           *signer
}

// NewICC pairs an ICC private key with its certificate. The key must be a
// whole number of bytes from 1024 to 1984 bits with exponent 3 or 65537, and
// the certificate's exponent must be the key's.
func NewICC(key *rsa.PrivateKey, cert Certificate) (*ICC, error) {
	s, err := certifiedSigner("ICC", key, cert)
	if err != nil {
		return nil, err
	}
	return &ICC{Certificate: cloneCert(cert), s: s}, nil
}

// GenerateICC makes an ICC key of bits and exponent from random and has the
// issuer certify it.
func GenerateICC(random io.Reader, is *Issuer, bits, exponent int, t ICCTemplate) (*ICC, error) {
	return generateCertified(random, bits, exponent,
		func(pub PublicKey) (Certificate, error) { return is.CertifyICC(pub, t) }, NewICC)
}

// PublicKey returns the ICC public key.
func (c *ICC) PublicKey() PublicKey {
	if c == nil || c.s == nil {
		return PublicKey{}
	}
	return PublicKey{Modulus: bytes.Clone(c.s.pub.Modulus), Exponent: bytes.Clone(c.s.pub.Exponent)}
}

// String prints the ICC public key.
func (c *ICC) String() string {
	if c == nil || c.s == nil {
		return "ICC(no key)"
	}
	return fmt.Sprintf("ICC %v", c.s.pub)
}

// GoString is String, so that %#v does not show the private key.
func (c *ICC) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb shows the private key.
func (c *ICC) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs String.
func (c *ICC) LogValue() slog.Value { return slog.StringValue(c.String()) }

func cloneCert(c Certificate) Certificate {
	return Certificate{Data: bytes.Clone(c.Data), Remainder: bytes.Clone(c.Remainder), Exponent: bytes.Clone(c.Exponent)}
}

// certifiedSigner checks a private key for an issuer or ICC and that the
// certificate carries the key's exponent.
func certifiedSigner(what string, key *rsa.PrivateKey, cert Certificate) (*signer, error) {
	s, err := newSigner(key, MinKeyBits, MaxModulusLen*8)
	if err != nil {
		return nil, fmt.Errorf("oda: %s key: %w", what, err)
	}
	if !bytes.Equal(cert.Exponent, s.pub.Exponent) {
		return nil, fmt.Errorf("oda: %s key: %w: certificate exponent differs from the key's", what, ErrExponent)
	}
	return s, nil
}

// generateCertified makes a key pair from random, has certify sign its
// public key and pairs the two with pair.
func generateCertified[T any](random io.Reader, bits, exponent int, certify func(PublicKey) (Certificate, error), pair func(*rsa.PrivateKey, Certificate) (T, error)) (T, error) {
	var zero T
	k, err := GenerateKey(random, bits, exponent)
	if err != nil {
		return zero, err
	}
	pub, err := NewPublicKey(&k.PublicKey)
	if err != nil {
		return zero, err
	}
	cert, err := certify(pub)
	if err != nil {
		return zero, err
	}
	return pair(k, cert)
}
