package cloud

// The known-answer tests compute every value a second way, step by step
// from crypto/des, crypto/hmac and this file's own padding, MAC, parity
// and PBKDF2, without the package or emv/cryptogram; the shared EMV
// vectors check those steps first.

import (
	"bytes"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// stepTDES enciphers one 8-byte block under a double-length key K1K2K1.
func stepTDES(k, block []byte) []byte {
	c, err := des.NewTripleDESCipher(append(append([]byte{}, k...), k[:8]...))
	if err != nil {
		panic(err)
	}
	out := make([]byte, 8)
	c.Encrypt(out, block)
	return out
}

// stepParity sets odd parity on every byte.
func stepParity(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		x &^= 1
		n := 0
		for v := x; v != 0; v >>= 1 {
			n += int(v & 1)
		}
		if n%2 == 0 {
			x |= 1
		}
		out[i] = x
	}
	return out
}

// stepDiversify is TDES(k)[y] || TDES(k)[not y] with odd parity.
func stepDiversify(k, y []byte) []byte {
	ny := make([]byte, 8)
	for i := range y {
		ny[i] = ^y[i]
	}
	return stepParity(append(stepTDES(k, y), stepTDES(k, ny)...))
}

// stepCSK is the EMV common session key for a 2-byte ATC.
func stepCSK(mk []byte, atc uint16) []byte {
	f1 := []byte{byte(atc >> 8), byte(atc), 0xF0, 0, 0, 0, 0, 0}
	f2 := []byte{byte(atc >> 8), byte(atc), 0x0F, 0, 0, 0, 0, 0}
	return stepParity(append(stepTDES(mk, f1), stepTDES(mk, f2)...))
}

// stepPad2 is ISO/IEC 9797-1 padding method 2 to 8-byte blocks.
func stepPad2(d []byte) []byte {
	out := append(append([]byte{}, d...), 0x80)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	return out
}

// stepRetailMAC is ISO/IEC 9797-1 MAC algorithm 3 with padding method 2.
func stepRetailMAC(k, d []byte) []byte {
	k1, _ := des.NewCipher(k[:8])
	k2, _ := des.NewCipher(k[8:16])
	m := stepPad2(d)
	h := make([]byte, 8)
	for i := 0; i < len(m); i += 8 {
		for j := range 8 {
			h[j] ^= m[i+j]
		}
		k1.Encrypt(h, h)
	}
	k2.Decrypt(h, h)
	k1.Encrypt(h, h)
	return h
}

// stepPBKDF2 is PBKDF2-HMAC-SHA-256 for outputs of one block or less.
func stepPBKDF2(pw, salt []byte, iter, n int) []byte {
	mac := hmac.New(sha256.New, pw)
	mac.Write(salt)
	mac.Write(binary.BigEndian.AppendUint32(nil, 1))
	u := mac.Sum(nil)
	t := append([]byte{}, u...)
	for i := 1; i < iter; i++ {
		mac.Reset()
		mac.Write(u)
		u = mac.Sum(nil)
		for j := range t {
			t[j] ^= u[j]
		}
	}
	return t[:n]
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// The steps reproduce the shared public vectors (testvectors/README.md).
func TestStepsReproducePublicVectors(t *testing.T) {
	if got := stepCSK(unhex("0123456789ABCDEFFEDCBA9876543210"), 0x001C); !bytes.Equal(got, unhex("E9FB384AF807B940FEDCEA613461B0C4")) {
		t.Fatalf("CSK step = %X", got)
	}
	d := unhex("000000002000 000000000000 0124 0000008000 0124 110309 00 3804823E 5800 0001")
	if got := stepRetailMAC(unhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB"), d); !bytes.Equal(got, unhex("3B76CF10FECD8789")) {
		t.Fatalf("MAC step = %X", got)
	}
	// Option A of EMV Book 2 is stepDiversify with the PAN digits.
	if got := stepDiversify(unhex("0123456789ABCDEF0123456789ABCDEF"), unhex("1987654321098700")); !bytes.Equal(got, unhex("C8B507136D921FD05864C81F79F2D30B")) {
		t.Fatalf("option A step = %X", got)
	}
	// RFC 7914 section 11: PBKDF2-HMAC-SHA-256("passwd", "salt", 1).
	if got := stepPBKDF2([]byte("passwd"), []byte("salt"), 1, 16); !bytes.Equal(got, unhex("55ac046e56e3089fec1691c22544b605")) {
		t.Fatalf("PBKDF2 step = %X", got)
	}
}
