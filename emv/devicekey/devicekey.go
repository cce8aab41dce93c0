// Package devicekey wraps a symmetric key (a token's ICC master key) for
// one phone: ECDH-ES on P-256 with a fresh ephemeral key, a KEK derived by
// HKDF-SHA-256, and the AES key wrap of RFC 3394 (emv/keywrap). The
// security module wraps (hsm.DeviceExport); the phone unwraps with the
// private key of its encryption key pair, so the key exists in clear only
// inside the module and the phone (R-G5b, R-G5e).
//
// The wrapped format (version 1) is
//
//	0x01 || E || AES-KW(KEK, key)
//
// where E is the ephemeral public key, 65 bytes uncompressed (0x04 || X ||
// Y), and AES-KW of a 16, 24 or 32-byte key is 24, 32 or 40 bytes. With Z
// the ECDH shared secret of the ephemeral key and the device key,
//
//	KEK = HKDF-SHA-256(secret Z, salt empty,
//	                   info "tapsim ICC MK wrap v1" || E || thumbprint(D), 16 bytes)
//
// where thumbprint(D) is the 32-byte RFC 7638 JWK SHA-256 thumbprint of
// the device's public key D. Binding E and D makes the KEK that of this
// exchange and this phone only; the AES key wrap's integrity check makes
// any other key, or any altered byte, fail to unwrap.
package devicekey

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
)

// Version is the first byte of a wrapped key.
const Version = 1

// Info is the fixed start of the HKDF info string.
const Info = "tapsim ICC MK wrap v1"

const pointLen = 65

// MinWrapped and MaxWrapped bound the length of a wrapped key: a 16-byte
// key to a 32-byte key.
const (
	MinWrapped = 1 + pointLen + 16 + 8
	MaxWrapped = 1 + pointLen + 32 + 8
)

// Sentinel errors; none carries key material.
var (
	// ErrKey reports a device key that is not a P-256 key, or a key to
	// wrap of a length the format does not take.
	ErrKey = errors.New("devicekey: unsuitable key")
	// ErrWrapped reports a wrapped key that is malformed or fails its
	// integrity check: another device's key, or an altered blob.
	ErrWrapped = errors.New("devicekey: wrapped key does not unwrap")
	// ErrKCV reports an unwrapped key whose check value is not the one
	// announced.
	ErrKCV = errors.New("devicekey: key check value mismatch")
)

// Thumbprint is the RFC 7638 JWK SHA-256 thumbprint of a P-256 public key.
func Thumbprint(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: no public key", ErrKey)
	}
	e, err := pub.ECDH()
	if err != nil || e.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: not a P-256 public key", ErrKey)
	}
	return thumbprint(e), nil
}

func thumbprint(pub *ecdh.PublicKey) []byte {
	b := pub.Bytes() // 0x04 || X || Y
	enc := base64.RawURLEncoding
	j := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(b[1:33]) + `","y":"` + enc.EncodeToString(b[33:]) + `"}`
	s := sha256.Sum256([]byte(j))
	return s[:]
}

func kek(z []byte, eph, dev *ecdh.PublicKey) (keys.Key, error) {
	info := append([]byte(Info), eph.Bytes()...)
	info = append(info, thumbprint(dev)...)
	k, err := hkdf.Key(sha256.New, z, nil, string(info), 16)
	if err != nil {
		return keys.Key{}, fmt.Errorf("devicekey: kdf: %w", err)
	}
	return keys.New(keys.AES, k)
}

// Wrap wraps key for the device's P-256 public key with a fresh ephemeral
// key drawn from rnd (crypto/rand when nil).
func Wrap(rnd io.Reader, device *ecdsa.PublicKey, key keys.Key) ([]byte, error) {
	if device == nil {
		return nil, fmt.Errorf("%w: no device key", ErrKey)
	}
	dev, err := device.ECDH()
	if err != nil || dev.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: not a P-256 public key", ErrKey)
	}
	if n := key.Len(); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("%w: a key of %d bytes", ErrKey, n)
	}
	var eph *ecdh.PrivateKey
	if rnd == nil {
		eph, err = ecdh.P256().GenerateKey(nil)
	} else {
		eph, err = ecdh.P256().GenerateKey(rnd)
	}
	if err != nil {
		return nil, fmt.Errorf("devicekey: ephemeral key: %w", err)
	}
	z, err := eph.ECDH(dev)
	if err != nil {
		return nil, fmt.Errorf("%w: ecdh: %w", ErrKey, err)
	}
	k, err := kek(z, eph.PublicKey(), dev)
	if err != nil {
		return nil, err
	}
	w, err := keywrap.Wrap(k, key.Bytes())
	if err != nil {
		return nil, fmt.Errorf("devicekey: wrap: %w", err)
	}
	out := make([]byte, 0, 1+pointLen+len(w))
	out = append(out, Version)
	out = append(out, eph.PublicKey().Bytes()...)
	return append(out, w...), nil
}

// Unwrap opens a wrapped key with the device's private key and returns it
// as a key of alg. A blob wrapped for another device, altered or
// malformed is ErrWrapped.
func Unwrap(device *ecdsa.PrivateKey, alg keys.Alg, wrapped []byte) (keys.Key, error) {
	if device == nil {
		return keys.Key{}, fmt.Errorf("%w: no device key", ErrKey)
	}
	priv, err := device.ECDH()
	if err != nil || priv.Curve() != ecdh.P256() {
		return keys.Key{}, fmt.Errorf("%w: not a P-256 private key", ErrKey)
	}
	if len(wrapped) < MinWrapped || len(wrapped) > MaxWrapped || wrapped[0] != Version {
		return keys.Key{}, fmt.Errorf("%w: malformed (%d bytes)", ErrWrapped, len(wrapped))
	}
	eph, err := ecdh.P256().NewPublicKey(wrapped[1 : 1+pointLen])
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: ephemeral key is not a P-256 point", ErrWrapped)
	}
	z, err := priv.ECDH(eph)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: ecdh", ErrWrapped)
	}
	k, err := kek(z, eph, priv.PublicKey())
	if err != nil {
		return keys.Key{}, err
	}
	p, err := keywrap.Unwrap(k, wrapped[1+pointLen:])
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrWrapped, err)
	}
	if n := len(p); n != 16 && n != 24 && n != 32 {
		return keys.Key{}, fmt.Errorf("%w: a key of %d bytes", ErrWrapped, n)
	}
	key, err := keys.New(alg, p)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrWrapped, err)
	}
	return key, nil
}

// UnwrapChecked is Unwrap followed by a check of the key's check value
// (keys.Key.KCVHex) against kcv: a mismatch is ErrKCV.
func UnwrapChecked(device *ecdsa.PrivateKey, alg keys.Alg, wrapped []byte, kcv string) (keys.Key, error) {
	key, err := Unwrap(device, alg, wrapped)
	if err != nil {
		return keys.Key{}, err
	}
	if kcv == "" || !strings.EqualFold(key.KCVHex(), kcv) {
		return keys.Key{}, ErrKCV
	}
	return key, nil
}
