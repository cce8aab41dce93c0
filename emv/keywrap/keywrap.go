// Package keywrap is the AES key wrap algorithm of RFC 3394 (NIST SP
// 800-38F "KW"): key data of n 64-bit blocks (n >= 2) is wrapped under an
// AES key-encryption key into n+1 blocks whose first block carries the
// integrity check. Unwrap refuses anything whose check fails, so a wrong
// key-encryption key or an altered block is detected.
package keywrap

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
)

// Sentinel errors; every error of this package wraps one of them. None
// carries key data.
var (
	// ErrKey reports a key-encryption key that is not AES.
	ErrKey = errors.New("keywrap: key-encryption key must be AES")
	// ErrLength reports key data or a wrapped block that is not a whole
	// number of 64-bit blocks, or too short.
	ErrLength = errors.New("keywrap: bad length")
	// ErrIntegrity reports a wrapped block whose integrity check fails.
	ErrIntegrity = errors.New("keywrap: integrity check failed")
)

// DefaultIV is the initial value of RFC 3394 section 2.2.3.1.
var DefaultIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// MaxData bounds the key data Wrap and Unwrap take (far more than any key).
const MaxData = 1 << 16

func block(kek keys.Key) (cipher.Block, error) {
	if kek.Alg() != keys.AES {
		return nil, ErrKey
	}
	c, err := kek.Block()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return c, nil
}

// Wrap wraps key data p (16 bytes or more, a multiple of 8) under the AES
// key-encryption key kek (RFC 3394 section 2.2.1, index-based form). The
// result is 8 bytes longer than p.
func Wrap(kek keys.Key, p []byte) ([]byte, error) {
	c, err := block(kek)
	if err != nil {
		return nil, err
	}
	if len(p) < 16 || len(p)%8 != 0 || len(p) > MaxData {
		return nil, fmt.Errorf("%w: key data of %d bytes, want a multiple of 8 from 16 to %d", ErrLength, len(p), MaxData)
	}
	n := len(p) / 8
	out := make([]byte, 8+len(p))
	copy(out[8:], p)
	var a [8]byte
	copy(a[:], DefaultIV[:])
	var b [16]byte
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			r := out[8*i : 8*i+8]
			copy(b[:8], a[:])
			copy(b[8:], r)
			c.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(b[:8])^t)
			copy(r, b[8:])
		}
	}
	copy(out[:8], a[:])
	return out, nil
}

// Unwrap reverses Wrap (RFC 3394 section 2.2.2) and checks the integrity
// value in constant time. It never reads past w and returns an error
// wrapping ErrIntegrity when the check fails, without any of the data.
func Unwrap(kek keys.Key, w []byte) ([]byte, error) {
	c, err := block(kek)
	if err != nil {
		return nil, err
	}
	if len(w) < 24 || len(w)%8 != 0 || len(w) > MaxData+8 {
		return nil, fmt.Errorf("%w: wrapped block of %d bytes, want a multiple of 8 from 24 to %d", ErrLength, len(w), MaxData+8)
	}
	n := len(w)/8 - 1
	r := make([]byte, 8*n)
	copy(r, w[8:])
	var a [8]byte
	copy(a[:], w[:8])
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(b[8:], r[8*(i-1):8*i])
			c.Decrypt(b[:], b[:])
			copy(a[:], b[:8])
			copy(r[8*(i-1):8*i], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:], DefaultIV[:]) != 1 {
		clear(r)
		return nil, ErrIntegrity
	}
	return r, nil
}
