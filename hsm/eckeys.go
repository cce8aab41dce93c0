package hsm

import (
	"crypto/ecdsa"
)

// ECKeys holds P-256 key pairs inside the module, for the JOSE keys of a
// provisioning party (RFC 7518: ES256 signatures, ECDH-ES key agreement).
// The private half never leaves the module, not even wrapped (R-G5a,
// R-G5b): ExportKey refuses a key pair. A key pair has one of two usages,
// UsageECSign or UsageECDH, and serves only the operations of its usage.
//
// The Handle of a key pair has no symmetric algorithm (Alg is zero), Len
// 32 (the scalar's length) and as KCV the first five bytes, in upper-case
// hex, of the public key's RFC 7638 JWK SHA-256 thumbprint, so that logs
// can be matched with a JOSE kid without showing any secret.
type ECKeys interface {
	// GenerateP256 draws a new P-256 key pair of usage (UsageECSign or
	// UsageECDH) inside the module, stores it under label and returns its
	// handle and public key.
	GenerateP256(label string, usage Usage) (Handle, *ecdsa.PublicKey, error)
	// PublicP256 is the public key of the key pair h names.
	PublicP256(h Handle) (*ecdsa.PublicKey, error)
	// SignES256 signs a SHA-256 digest (32 bytes) with a UsageECSign key
	// and returns the signature as a JWS ES256 signature is written: r and
	// s, 32 bytes each, big-endian (RFC 7518 §3.4).
	SignES256(h Handle, digest []byte) ([]byte, error)
	// ECDH computes, with a UsageECDH key, the shared secret Z of
	// Diffie-Hellman with peer's P-256 public key: the 32-byte
	// x-coordinate of the shared point, the input of the ECDH-ES Concat
	// KDF (RFC 7518 §4.6). A peer key not on the curve is ErrInput.
	ECDH(h Handle, peer *ecdsa.PublicKey) ([]byte, error)
}
