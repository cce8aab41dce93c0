// Package keys holds symmetric key material for card-payment cryptography:
// TDES (double and triple length) and AES keys, their check values, DES odd
// parity and weak-key rules.
//
// A Key never prints its bytes: every formatting path (String, %x, %v, %#v,
// slog, JSON) shows the key check value only.
package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Alg is the block-cipher algorithm a key is used with.
type Alg int

const (
	// TDES is triple DES (ANSI X9.52) with a 16-byte (2-key) or 24-byte (3-key) key.
	TDES Alg = iota + 1
	// AES is AES-128, AES-192 or AES-256.
	AES
)

// String names the algorithm.
func (a Alg) String() string {
	switch a {
	case TDES:
		return "TDES"
	case AES:
		return "AES"
	default:
		return fmt.Sprintf("Alg(%d)", int(a))
	}
}

// ParseAlg reads "tdes"/"3des"/"des3" or "aes" in any case.
func ParseAlg(s string) (Alg, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tdes", "3des", "des3", "tdea":
		return TDES, nil
	case "aes":
		return AES, nil
	}
	return 0, fmt.Errorf("keys: unknown algorithm %q (want tdes or aes)", s)
}

// ErrKeyLength reports key material of a length the algorithm does not take.
var ErrKeyLength = errors.New("keys: bad key length")

// ErrWeakKey reports a DES weak or semi-weak key, or a TDES key whose halves
// are equal (which degenerates to single DES). R-G5a forbids weak keys.
var ErrWeakKey = errors.New("keys: weak key")

// Key is symmetric key material bound to its algorithm. The zero Key is
// invalid. Key values are immutable: constructors copy their input and Bytes
// returns a copy.
type Key struct {
	alg Alg
	// m holds the bytes behind a pointer: fmt prints a nested pointer as an
	// address, so even a Key in an unexported field of another struct,
	// where fmt cannot call Format, never shows its material.
	m *material
}

type material struct {
	b []byte

	// The key schedules, made once on first use: the material never
	// changes, and a cipher.Block is safe for concurrent use.
	blockOnce sync.Once
	block     cipher.Block
	blockErr  error
	partsOnce sync.Once
	parts     []cipher.Block
}

// raw returns the key bytes without copying; nil for the zero Key.
func (k Key) raw() []byte {
	if k.m == nil {
		return nil
	}
	return k.m.b
}

// New checks the length of b for alg and returns a Key holding a copy of it.
// TDES takes 8 (single DES, only for legacy MAC steps), 16 or 24 bytes; AES
// takes 16, 24 or 32 bytes.
func New(alg Alg, b []byte) (Key, error) {
	switch alg {
	case TDES:
		if len(b) != 8 && len(b) != 16 && len(b) != 24 {
			return Key{}, fmt.Errorf("%w: TDES takes 8, 16 or 24 bytes, got %d", ErrKeyLength, len(b))
		}
	case AES:
		if len(b) != 16 && len(b) != 24 && len(b) != 32 {
			return Key{}, fmt.Errorf("%w: AES takes 16, 24 or 32 bytes, got %d", ErrKeyLength, len(b))
		}
	default:
		return Key{}, fmt.Errorf("keys: unknown algorithm %v", alg)
	}
	return Key{alg: alg, m: &material{b: bytes.Clone(b)}}, nil
}

// MustNew is New for constants in tests and examples; it panics on error.
func MustNew(alg Alg, b []byte) Key {
	k, err := New(alg, b)
	if err != nil {
		panic(err)
	}
	return k
}

// ParseHex decodes a hex string (spaces allowed) into a Key for alg. The error
// never repeats the input, since the input is key material.
func ParseHex(alg Alg, s string) (Key, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if err != nil {
		return Key{}, errors.New("keys: key is not valid hex")
	}
	return New(alg, b)
}

// MustHex is ParseHex for constants in tests and examples; it panics on error.
func MustHex(alg Alg, s string) Key {
	k, err := ParseHex(alg, s)
	if err != nil {
		panic(err)
	}
	return k
}

// Alg returns the key's algorithm.
func (k Key) Alg() Alg { return k.alg }

// Len returns the key length in bytes.
func (k Key) Len() int { return len(k.raw()) }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return len(k.raw()) == 0 }

// Bytes returns a copy of the key material. Callers must not log it.
func (k Key) Bytes() []byte { return bytes.Clone(k.raw()) }

// Equal reports whether two keys have the same algorithm and material.
func (k Key) Equal(o Key) bool { return k.alg == o.alg && bytes.Equal(k.raw(), o.raw()) }

// Block returns the block cipher for k: DES for 8-byte keys, TDES (K1K2K1 for
// double length) for 16/24-byte TDES keys, AES for AES keys.
func (k Key) Block() (cipher.Block, error) {
	if k.m == nil {
		return k.newBlock()
	}
	k.m.blockOnce.Do(func() { k.m.block, k.m.blockErr = k.newBlock() })
	return k.m.block, k.m.blockErr
}

// DESParts returns single-DES ciphers of each 8-byte part of a TDES key
// (K1, K2 and, for a triple-length key, K3), for algorithms that use the
// parts apart (ISO/IEC 9797-1 MAC algorithm 3). Like Block, they are made
// once per key.
func (k Key) DESParts() ([]cipher.Block, error) {
	if k.alg != TDES || k.m == nil || len(k.raw())%8 != 0 || len(k.raw()) == 0 {
		return nil, fmt.Errorf("%w: %v key of %d bytes has no DES parts", ErrKeyLength, k.alg, len(k.raw()))
	}
	k.m.partsOnce.Do(func() {
		parts := make([]cipher.Block, 0, len(k.raw())/8)
		for i := 0; i < len(k.raw()); i += 8 {
			c, err := des.NewCipher(k.raw()[i : i+8])
			if err != nil {
				return
			}
			parts = append(parts, c)
		}
		k.m.parts = parts
	})
	if k.m.parts == nil {
		return nil, fmt.Errorf("%w: DES parts of a %d-byte key", ErrKeyLength, len(k.raw()))
	}
	return k.m.parts, nil
}

func (k Key) newBlock() (cipher.Block, error) {
	switch k.alg {
	case TDES:
		switch len(k.raw()) {
		case 8:
			return des.NewCipher(k.raw())
		case 16:
			full := make([]byte, 0, 24)
			full = append(append(full, k.raw()...), k.raw()[:8]...)
			return des.NewTripleDESCipher(full)
		case 24:
			return des.NewTripleDESCipher(k.raw())
		}
	case AES:
		return aes.NewCipher(k.raw())
	}
	return nil, fmt.Errorf("%w: %v key of %d bytes", ErrKeyLength, k.alg, len(k.raw()))
}

// BlockSize is 8 for TDES and 16 for AES.
func (k Key) BlockSize() int {
	if k.alg == AES {
		return aes.BlockSize
	}
	return des.BlockSize
}

// EncryptECB encrypts data, a whole number of blocks, block by block.
func (k Key) EncryptECB(data []byte) ([]byte, error) { return k.ecb(data, true) }

// DecryptECB decrypts data, a whole number of blocks, block by block.
func (k Key) DecryptECB(data []byte) ([]byte, error) { return k.ecb(data, false) }

func (k Key) ecb(data []byte, enc bool) ([]byte, error) {
	c, err := k.Block()
	if err != nil {
		return nil, err
	}
	bs := c.BlockSize()
	if len(data)%bs != 0 {
		return nil, fmt.Errorf("keys: ECB input of %d bytes is not a multiple of %d", len(data), bs)
	}
	out := make([]byte, len(data))
	for i := 0; i < len(data); i += bs {
		if enc {
			c.Encrypt(out[i:i+bs], data[i:i+bs])
		} else {
			c.Decrypt(out[i:i+bs], data[i:i+bs])
		}
	}
	return out, nil
}

// EncryptCBC encrypts data, a whole number of blocks, in CBC mode with iv
// (nil means an all-zero IV).
func (k Key) EncryptCBC(iv, data []byte) ([]byte, error) { return k.cbc(iv, data, true) }

// DecryptCBC decrypts data, a whole number of blocks, in CBC mode with iv
// (nil means an all-zero IV).
func (k Key) DecryptCBC(iv, data []byte) ([]byte, error) { return k.cbc(iv, data, false) }

func (k Key) cbc(iv, data []byte, enc bool) ([]byte, error) {
	c, err := k.Block()
	if err != nil {
		return nil, err
	}
	bs := c.BlockSize()
	if len(data)%bs != 0 {
		return nil, fmt.Errorf("keys: CBC input of %d bytes is not a multiple of %d", len(data), bs)
	}
	if iv == nil {
		iv = make([]byte, bs)
	}
	if len(iv) != bs {
		return nil, fmt.Errorf("keys: IV of %d bytes, want %d", len(iv), bs)
	}
	out := make([]byte, len(data))
	if enc {
		cipher.NewCBCEncrypter(c, iv).CryptBlocks(out, data)
	} else {
		cipher.NewCBCDecrypter(c, iv).CryptBlocks(out, data)
	}
	return out, nil
}

// KCV returns the key check value as most HSMs print it: for TDES the first 3
// bytes of the encryption of a zero block; for AES the first 5 bytes of the
// AES-CMAC of a zero block (ANSI X9.24-1:2017). The zero Key has no KCV.
func (k Key) KCV() []byte {
	if k.alg == AES {
		v, err := k.KCVWith(KCVCMAC)
		if err != nil {
			return nil
		}
		return v
	}
	v, err := k.KCVWith(KCVZeros)
	if err != nil {
		return nil
	}
	return v
}

// KCVMethod chooses how a key check value is computed.
type KCVMethod int

const (
	// KCVZeros encrypts one all-zero block and keeps 3 bytes (TDES and legacy AES).
	KCVZeros KCVMethod = iota + 1
	// KCVCMAC takes the CMAC of one all-zero block and keeps 5 bytes (ANSI X9.24-1:2017 for AES).
	KCVCMAC
	// KCVOnes encrypts one block of 01 bytes and keeps 3 bytes (GlobalPlatform SCP03 for AES).
	KCVOnes
)

// ParseKCVMethod reads "zeros", "cmac" or "ones" (also "gp").
func ParseKCVMethod(s string) (KCVMethod, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zeros", "zero", "ecb":
		return KCVZeros, nil
	case "cmac":
		return KCVCMAC, nil
	case "ones", "gp", "scp03":
		return KCVOnes, nil
	}
	return 0, fmt.Errorf("keys: unknown KCV method %q (want zeros, cmac or ones)", s)
}

// KCVWith computes the key check value by method m.
func (k Key) KCVWith(m KCVMethod) ([]byte, error) {
	c, err := k.Block()
	if err != nil {
		return nil, err
	}
	bs := c.BlockSize()
	switch m {
	case KCVZeros:
		out := make([]byte, bs)
		c.Encrypt(out, make([]byte, bs))
		return out[:3], nil
	case KCVOnes:
		out := make([]byte, bs)
		c.Encrypt(out, bytes.Repeat([]byte{1}, bs))
		return out[:3], nil
	case KCVCMAC:
		return cmacZeroBlock(c)[:5], nil
	}
	return nil, fmt.Errorf("keys: unknown KCV method %d", int(m))
}

// cmacZeroBlock is CMAC over one whole zero block: E(K, 0^n XOR K1) where K1
// is the first CMAC subkey. Kept here so that keys does not import mac.
func cmacZeroBlock(c cipher.Block) []byte {
	bs := c.BlockSize()
	l := make([]byte, bs)
	c.Encrypt(l, l)
	k1 := DoubleBlock(l)
	out := make([]byte, bs)
	c.Encrypt(out, k1)
	return out
}

// DoubleBlock multiplies a 64- or 128-bit block by x in GF(2^n), the subkey
// step of CMAC (NIST SP 800-38B).
func DoubleBlock(b []byte) []byte {
	out := make([]byte, len(b))
	var carry byte
	for i := len(b) - 1; i >= 0; i-- {
		out[i] = b[i]<<1 | carry
		carry = b[i] >> 7
	}
	if carry != 0 {
		if len(b) == 8 {
			out[len(out)-1] ^= 0x1B
		} else {
			out[len(out)-1] ^= 0x87
		}
	}
	return out
}

// KCVHex is the KCV in upper-case hex, what logs and screens show.
func (k Key) KCVHex() string {
	if k.IsZero() {
		return "none"
	}
	return strings.ToUpper(hex.EncodeToString(k.KCV()))
}

// String shows the algorithm, length and KCV, never the key.
func (k Key) String() string {
	if k.IsZero() {
		return "key(none)"
	}
	return fmt.Sprintf("%v-%d key KCV %s", k.alg, len(k.raw())*8, k.KCVHex())
}

// GoString is String, so %#v cannot reveal the key either.
func (k Key) GoString() string { return k.String() }

// Format makes every fmt verb (%s, %v, %x, %q ...) print String.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue makes slog log the KCV only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText refuses nothing but writes the KCV description, so a Key that
// ends up in JSON or YAML output does not leak.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// WithOddParity returns a copy of a TDES key with each byte's low bit set for
// odd parity. AES keys are returned unchanged.
func (k Key) WithOddParity() Key {
	if k.alg != TDES {
		return k
	}
	return Key{alg: k.alg, m: &material{b: OddParity(k.raw())}}
}

// OddParity returns a copy of b with the low bit of each byte set so that the
// byte has an odd number of one bits (DES key parity).
func OddParity(b []byte) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		v &^= 1
		if onesEven(v) {
			v |= 1
		}
		out[i] = v
	}
	return out
}

// HasOddParity reports whether every byte of b has odd parity.
func HasOddParity(b []byte) bool {
	for _, v := range b {
		if onesEven(v) {
			return false
		}
	}
	return true
}

func onesEven(v byte) bool {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n%2 == 0
}

// weakDES lists the 4 weak and 12 semi-weak DES keys (with odd parity).
var weakDES = []string{
	"0101010101010101", "FEFEFEFEFEFEFEFE", "E0E0E0E0F1F1F1F1", "1F1F1F1F0E0E0E0E",
	"011F011F010E010E", "1F011F010E010E01", "01E001E001F101F1", "E001E001F101F101",
	"01FE01FE01FE01FE", "FE01FE01FE01FE01", "1FE01FE00EF10EF1", "E01FE01FF10EF10E",
	"1FFE1FFE0EFE0EFE", "FE1FFE1FFE0EFE0E", "E0FEE0FEF1FEF1FE", "FEE0FEE0FEF1FEF1",
}

// CheckWeak returns ErrWeakKey when any DES component of a TDES key is weak
// or semi-weak (parity bits ignored), or when K1 equals K2 (or K2 equals K3),
// which makes TDES single DES. AES keys are only refused when all zero.
func (k Key) CheckWeak() error {
	if k.IsZero() {
		return fmt.Errorf("%w: empty", ErrWeakKey)
	}
	if k.alg == AES {
		if bytes.Count(k.raw(), []byte{0}) == len(k.raw()) {
			return fmt.Errorf("%w: all zero", ErrWeakKey)
		}
		return nil
	}
	p := OddParity(k.raw())
	for i := 0; i+8 <= len(p); i += 8 {
		part := strings.ToUpper(hex.EncodeToString(p[i : i+8]))
		for _, w := range weakDES {
			if part == w {
				return fmt.Errorf("%w: DES component %d is weak or semi-weak", ErrWeakKey, i/8+1)
			}
		}
	}
	if len(p) >= 16 && bytes.Equal(p[:8], p[8:16]) {
		return fmt.Errorf("%w: K1 equals K2", ErrWeakKey)
	}
	if len(p) == 24 && bytes.Equal(p[8:16], p[16:24]) {
		return fmt.Errorf("%w: K2 equals K3", ErrWeakKey)
	}
	return nil
}

// Generate draws a fresh key of n bytes from r, with odd parity for TDES, and
// draws again while the key is weak (R-G5a).
func Generate(alg Alg, n int, r io.Reader) (Key, error) {
	for range 64 {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return Key{}, fmt.Errorf("keys: generate: %w", err)
		}
		k, err := New(alg, b)
		if err != nil {
			return Key{}, err
		}
		k = k.WithOddParity()
		if k.CheckWeak() == nil {
			return k, nil
		}
	}
	return Key{}, fmt.Errorf("%w: random source keeps giving weak keys", ErrWeakKey)
}

// XOR returns a ^ b for equal-length slices; it panics otherwise, since a
// length mismatch is a programming error.
func XOR(a, b []byte) []byte {
	if len(a) != len(b) {
		panic("keys: XOR of unequal lengths")
	}
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}
