package oda

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Public key algorithm and hash algorithm indicators (Book 2 Annex B).
const (
	// HashSHA1 is the Hash Algorithm Indicator for SHA-1.
	HashSHA1 byte = 0x01
	// AlgRSA is the Public Key Algorithm Indicator for RSA.
	AlgRSA byte = 0x01
)

// Modulus length limits, in bytes.
const (
	// MaxModulusLen is the longest modulus EMV allows: 248 bytes (1984 bits).
	MaxModulusLen = 248
	// MinKeyBits is the shortest RSA key this package creates (R-G1).
	MinKeyBits = 1024
)

// caKeyBits lists the CA key lengths, in bits, that EMVCo has used.
var caKeyBits = []int{1024, 1152, 1408, 1984}

// CAKeyLengths returns the CA key lengths, in bits, that CA creation
// accepts: lengths EMVCo has published CA keys with, of at least 1024 bits
// (R-G1). 1024 is kept for fast tests; live EMVCo CA keys are 1408 and 1984.
func CAKeyLengths() []int { return append([]int(nil), caKeyBits...) }

func isCAKeyLength(bits int) bool {
	for _, b := range caKeyBits {
		if b == bits {
			return true
		}
	}
	return false
}

// PublicKey is an RSA public key as EMV carries it: the modulus and the
// exponent as unsigned big-endian bytes (exponent 3 is '03', 65537 is
// '010001').
type PublicKey struct {
	Modulus  []byte
	Exponent []byte
}

// NewPublicKey converts an *rsa.PublicKey to its EMV form.
func NewPublicKey(k *rsa.PublicKey) (PublicKey, error) {
	if k == nil || k.N == nil || k.N.Sign() <= 0 {
		return PublicKey{}, fmt.Errorf("%w: no RSA modulus", ErrKeyLength)
	}
	if k.E != 3 && k.E != 65537 {
		return PublicKey{}, fmt.Errorf("%w: exponent %d, want 3 or 65537", ErrExponent, k.E)
	}
	p := PublicKey{Modulus: k.N.Bytes(), Exponent: big.NewInt(int64(k.E)).Bytes()}
	return p, nil
}

// Size returns the modulus length in bytes.
func (p PublicKey) Size() int { return len(p.Modulus) }

// Bits returns the modulus length in bits.
func (p PublicKey) Bits() int { return new(big.Int).SetBytes(p.Modulus).BitLen() }

// Validate checks that the modulus is at most 248 bytes without a leading
// zero byte and that the exponent is 3 or 65537.
func (p PublicKey) Validate() error {
	if len(p.Modulus) == 0 || p.Modulus[0] == 0 || len(p.Modulus) > MaxModulusLen {
		return fmt.Errorf("%w: modulus of %d bytes (want 1 to %d, no leading zero)", ErrKeyLength, len(p.Modulus), MaxModulusLen)
	}
	if p.Modulus[len(p.Modulus)-1]&1 == 0 {
		return fmt.Errorf("%w: even modulus", ErrKeyLength)
	}
	if _, err := exponentValue(p.Exponent); err != nil {
		return err
	}
	return nil
}

// Equal reports whether two public keys are the same.
func (p PublicKey) Equal(o PublicKey) bool {
	return bytes.Equal(p.Modulus, o.Modulus) && bytes.Equal(p.Exponent, o.Exponent)
}

// RSA returns the key as an *rsa.PublicKey.
func (p PublicKey) RSA() (*rsa.PublicKey, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e, _ := exponentValue(p.Exponent)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(p.Modulus), E: e}, nil
}

// String prints the key length, exponent and the first bytes of the modulus.
func (p PublicKey) String() string {
	head := p.Modulus
	if len(head) > 4 {
		head = head[:4]
	}
	return fmt.Sprintf("RSA-%d e=%X n=%X...", p.Bits(), p.Exponent, head)
}

// exponentValue reads an EMV exponent: 3 or 65537 in minimal encoding.
func exponentValue(b []byte) (int, error) {
	switch {
	case bytes.Equal(b, []byte{0x03}):
		return 3, nil
	case bytes.Equal(b, []byte{0x01, 0x00, 0x01}):
		return 65537, nil
	}
	return 0, fmt.Errorf("%w: %s, want 03 or 010001", ErrExponent, shortHex(b))
}

// shortHex prints at most 8 bytes of public data.
func shortHex(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	if len(b) > 8 {
		return fmt.Sprintf("%X... (%d bytes)", b[:8], len(b))
	}
	return fmt.Sprintf("%X", b)
}

// recoverBlock applies the public key to a signed block: m = s^e mod n. The
// block must be exactly as long as the modulus and below it.
func (p PublicKey) recoverBlock(o Object, s []byte) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, &Error{Object: o, Err: err}
	}
	if len(s) != len(p.Modulus) {
		return nil, fail(o, ErrLength, "%d bytes, modulus is %d", len(s), len(p.Modulus))
	}
	n := new(big.Int).SetBytes(p.Modulus)
	x := new(big.Int).SetBytes(s)
	if x.Cmp(n) >= 0 {
		return nil, fail(o, ErrSignature, "")
	}
	e, _ := exponentValue(p.Exponent)
	m := new(big.Int).Exp(x, big.NewInt(int64(e)), n)
	return m.FillBytes(make([]byte, len(p.Modulus))), nil
}

// signer holds an RSA private key with its CRT values, ready to apply the
// private key to formatted blocks. It never prints.
type signer struct {
	pub              PublicKey
	n, e, d          *big.Int
	p, q, dp, dq, q1 *big.Int // CRT values; nil for keys without two primes
	size             int
}

// newSigner checks an RSA private key for EMV use: modulus a whole number of
// bytes between minBits and maxBits, exponent 3 or 65537, consistent values.
func newSigner(k *rsa.PrivateKey, minBits, maxBits int) (*signer, error) {
	if k == nil || k.N == nil || k.D == nil {
		return nil, fmt.Errorf("%w: no private key", ErrInvalid)
	}
	bits := k.N.BitLen()
	if bits%8 != 0 || bits < minBits || bits > maxBits {
		return nil, fmt.Errorf("%w: %d bits, want a multiple of 8 from %d to %d", ErrKeyLength, bits, minBits, maxBits)
	}
	pub, err := NewPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%w: inconsistent RSA private key", ErrInvalid)
	}
	s := &signer{pub: pub, n: k.N, e: big.NewInt(int64(k.E)), d: k.D, size: bits / 8}
	if len(k.Primes) == 2 {
		one := big.NewInt(1)
		p, q := k.Primes[0], k.Primes[1]
		s.p, s.q = p, q
		s.dp = new(big.Int).Mod(k.D, new(big.Int).Sub(p, one))
		s.dq = new(big.Int).Mod(k.D, new(big.Int).Sub(q, one))
		s.q1 = new(big.Int).ModInverse(q, p)
		if s.q1 == nil {
			return nil, fmt.Errorf("%w: inconsistent RSA private key", ErrInvalid)
		}
	}
	return s, nil
}

// errFault reports a private-key result that does not verify.
var errFault = errors.New("oda: RSA private key operation failed its check")

// sign applies the private key to a block as long as the modulus:
// s = m^d mod n, computed with the CRT when the primes are known, and checked
// with the public key before it is returned.
func (s *signer) sign(block []byte) ([]byte, error) {
	if len(block) != s.size {
		return nil, fmt.Errorf("%w: block of %d bytes for a %d-byte modulus", ErrLength, len(block), s.size)
	}
	m := new(big.Int).SetBytes(block)
	if m.Cmp(s.n) >= 0 {
		return nil, ErrSignature
	}
	var sig *big.Int
	if s.p != nil {
		m1 := new(big.Int).Exp(m, s.dp, s.p)
		m2 := new(big.Int).Exp(m, s.dq, s.q)
		h := m1.Sub(m1, m2)
		h.Mul(h, s.q1)
		h.Mod(h, s.p)
		sig = h.Mul(h, s.q)
		sig.Add(sig, m2)
	} else {
		sig = new(big.Int).Exp(m, s.d, s.n)
	}
	if new(big.Int).Exp(sig, s.e, s.n).Cmp(m) != 0 {
		return nil, errFault
	}
	return sig.FillBytes(make([]byte, s.size)), nil
}

// GenerateKey makes an RSA key pair for EMV use: bits a multiple of 8 from
// 1024 to 1984, public exponent 3 or 65537. Unlike rsa.GenerateKey, every
// random byte comes from random, so a seeded reader gives the same key each
// time (for tests); use crypto/rand.Reader otherwise. Primes are checked with
// math/big's ProbablyPrime (Miller-Rabin and Baillie-PSW).
func GenerateKey(random io.Reader, bits, exponent int) (*rsa.PrivateKey, error) {
	if bits%8 != 0 || bits < MinKeyBits || bits > MaxModulusLen*8 {
		return nil, fmt.Errorf("%w: %d bits, want a multiple of 8 from %d to %d", ErrKeyLength, bits, MinKeyBits, MaxModulusLen*8)
	}
	if exponent != 3 && exponent != 65537 {
		return nil, fmt.Errorf("%w: %d, want 3 or 65537", ErrExponent, exponent)
	}
	if random == nil {
		return nil, fmt.Errorf("%w: no random source", ErrInvalid)
	}
	e := big.NewInt(int64(exponent))
	pBits := (bits + 1) / 2
	qBits := bits - pBits
	// p and q must differ in their top 100 bits (FIPS 186-4 B.3.1).
	minDiff := new(big.Int).Lsh(big.NewInt(1), uint(qBits-100))
	one := big.NewInt(1)
	for attempt := 0; attempt < 16; attempt++ {
		p, err := randomPrime(random, pBits, e)
		if err != nil {
			return nil, err
		}
		q, err := randomPrime(random, qBits, e)
		if err != nil {
			return nil, err
		}
		if new(big.Int).Abs(new(big.Int).Sub(p, q)).Cmp(minDiff) <= 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		p1, q1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		gcd := new(big.Int).GCD(nil, nil, p1, q1)
		lambda := new(big.Int).Div(new(big.Int).Mul(p1, q1), gcd)
		d := new(big.Int).ModInverse(e, lambda)
		if d == nil || d.BitLen() <= bits/2 {
			continue
		}
		if p.Cmp(q) < 0 {
			p, q = q, p
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: exponent}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			continue
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: random source gives no usable key", ErrInvalid)
}

// randomPrime draws odd numbers of exactly bits bits, with the top two bits
// set, until one is prime and p-1 is coprime to e.
func randomPrime(random io.Reader, bits int, e *big.Int) (*big.Int, error) {
	buf := make([]byte, (bits+7)/8)
	excess := uint(len(buf)*8 - bits)
	one := big.NewInt(1)
	p, r := new(big.Int), new(big.Int)
	for tries := 0; tries < 100*bits; tries++ {
		if _, err := io.ReadFull(random, buf); err != nil {
			return nil, fmt.Errorf("oda: generate key: %w", err)
		}
		buf[0] &= 0xFF >> excess
		p.SetBytes(buf)
		p.SetBit(p, bits-1, 1)
		p.SetBit(p, bits-2, 1)
		p.SetBit(p, 0, 1)
		if r.Mod(r.Sub(p, one), e).Sign() == 0 {
			continue
		}
		if p.ProbablyPrime(20) {
			return new(big.Int).Set(p), nil
		}
	}
	return nil, fmt.Errorf("%w: random source gives no prime", ErrInvalid)
}

// ParsePrivateKeyPEM reads an RSA private key from PEM: "RSA PRIVATE KEY"
// (PKCS #1) or "PRIVATE KEY" (PKCS #8). Errors never echo the input.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalid)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS #1 private key does not parse", ErrInvalid)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS #8 private key does not parse", ErrInvalid)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: PKCS #8 key is not RSA", ErrInvalid)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrInvalid, block.Type)
}

// MarshalPrivateKeyPEM writes an RSA private key as a PKCS #8 PEM block.
func MarshalPrivateKeyPEM(k *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("%w: private key does not marshal", ErrInvalid)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
