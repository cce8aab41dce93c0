// Package mac computes message authentication codes used in card payments:
// ISO/IEC 9797-1 padding methods 1 and 2, MAC algorithm 1 (CBC-MAC) and
// algorithm 3 (the "retail MAC"), and CMAC (NIST SP 800-38B, RFC 4493) over
// AES or TDES.
package mac

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
)

// Padding is an ISO/IEC 9797-1 padding method.
type Padding int

const (
	// Method1 appends zero bytes up to a whole block (none if already whole;
	// one zero block for empty input).
	Method1 Padding = 1
	// Method2 appends 0x80 then zero bytes up to a whole block.
	Method2 Padding = 2
)

// Pad returns data padded to a multiple of bs by method p.
func Pad(data []byte, bs int, p Padding) []byte {
	out := make([]byte, len(data), len(data)+bs)
	copy(out, data)
	switch p {
	case Method2:
		out = append(out, 0x80)
		for len(out)%bs != 0 {
			out = append(out, 0)
		}
	default:
		if len(out) == 0 {
			return make([]byte, bs)
		}
		for len(out)%bs != 0 {
			out = append(out, 0)
		}
	}
	return out
}

// ErrKey reports a key that does not fit the MAC algorithm.
var ErrKey = errors.New("mac: unsuitable key")

// Alg1 is ISO/IEC 9797-1 MAC algorithm 1: CBC-MAC with the whole key, the
// final block being the MAC (8 bytes for TDES, 16 for AES).
func Alg1(k keys.Key, data []byte, p Padding) ([]byte, error) {
	c, err := k.Block()
	if err != nil {
		return nil, fmt.Errorf("mac: %w", err)
	}
	bs := c.BlockSize()
	msg := Pad(data, bs, p)
	h := make([]byte, bs)
	for i := 0; i < len(msg); i += bs {
		for j := range bs {
			h[j] ^= msg[i+j]
		}
		c.Encrypt(h, h)
	}
	return h, nil
}

// Alg3 is ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC) with a
// double- or triple-length TDES key: single-DES CBC under K1 over every block,
// then the last block is decrypted under K2 and encrypted again under K1 (K3
// for a triple-length key). The result is 8 bytes.
func Alg3(k keys.Key, data []byte, p Padding) ([]byte, error) {
	if k.Alg() != keys.TDES || (k.Len() != 16 && k.Len() != 24) {
		return nil, fmt.Errorf("%w: MAC algorithm 3 takes a 16- or 24-byte TDES key, got %v", ErrKey, k)
	}
	parts, err := k.DESParts()
	if err != nil {
		return nil, fmt.Errorf("mac: %w", err)
	}
	c1, c2, c3 := parts[0], parts[1], parts[0]
	if len(parts) == 3 {
		c3 = parts[2]
	}
	// The whole blocks are chained straight from data; the padded tail,
	// never more than one block (padding method 2 adds at most 8 bytes,
	// method 1 pads only what is not whole, or an empty input), is built
	// on the stack. The key schedules are the key's own, made once.
	h := make([]byte, 8)
	whole := len(data) - len(data)%8
	for i := 0; i < whole; i += 8 {
		subtle.XORBytes(h, h, data[i:i+8])
		c1.Encrypt(h, h)
	}
	if p == Method2 || whole < len(data) || len(data) == 0 {
		var tail [8]byte
		n := copy(tail[:], data[whole:])
		if p == Method2 {
			tail[n] = 0x80
		}
		subtle.XORBytes(h, h, tail[:])
		c1.Encrypt(h, h)
	}
	c2.Decrypt(h, h)
	c3.Encrypt(h, h)
	return h, nil
}

// CMAC is the cipher-based MAC of NIST SP 800-38B over the key's block cipher
// (AES-CMAC as RFC 4493 when k is AES; TDES-CMAC when k is TDES). The result
// is one whole block; truncate as the protocol says.
func CMAC(k keys.Key, data []byte) ([]byte, error) {
	c, err := k.Block()
	if err != nil {
		return nil, fmt.Errorf("mac: %w", err)
	}
	bs := c.BlockSize()
	l := make([]byte, bs)
	c.Encrypt(l, l)
	k1 := keys.DoubleBlock(l)
	k2 := keys.DoubleBlock(k1)

	n := (len(data) + bs - 1) / bs
	complete := n > 0 && len(data)%bs == 0
	if n == 0 {
		n = 1
	}
	last := make([]byte, bs)
	if complete {
		copy(last, data[(n-1)*bs:])
		last = keys.XOR(last, k1)
	} else {
		rest := data[(n-1)*bs:]
		copy(last, rest)
		last[len(rest)] = 0x80
		last = keys.XOR(last, k2)
	}
	h := make([]byte, bs)
	for i := 0; i < n-1; i++ {
		for j := range bs {
			h[j] ^= data[i*bs+j]
		}
		c.Encrypt(h, h)
	}
	for j := range bs {
		h[j] ^= last[j]
	}
	c.Encrypt(h, h)
	return h, nil
}

// Equal compares two MACs in constant time, the way a verifier must.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
