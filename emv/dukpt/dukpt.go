// Package dukpt implements Derived Unique Key Per Transaction key management:
// TDES DUKPT of ANSI X9.24-1:2009 (10-byte KSN, 21-bit counter, IPEK,
// non-reversible key generation, PIN/MAC/data variants) and AES DUKPT of
// ANSI X9.24-3:2017 (12-byte KSN, 32-bit counter, AES key derivation with
// typed derivation data, working keys of any X9.24-3 key type).
//
// Host side (receiving SCD): derive the initial key from the BDK and the
// KSN, then the transaction key for the KSN's counter, then the working key.
// Terminal side (originating SCD): Terminal and AESTerminal keep the future
// keys in registers as the standards' originator algorithms do, hand out
// one key per transaction, skip the counters the standards skip and stop at
// exhaustion.
//
// Keys are keys.Key values: they print as their check value only.
package dukpt

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrKSN reports a key serial number of the wrong length or not hex.
	ErrKSN = errors.New("dukpt: invalid key serial number")
	// ErrKey reports a key of the wrong algorithm or length for the step.
	ErrKey = errors.New("dukpt: unsuitable key")
	// ErrCounter reports a transaction counter the standard never uses:
	// zero, or with more one bits than allowed (10 for TDES, 16 for AES).
	ErrCounter = errors.New("dukpt: invalid transaction counter")
	// ErrExhausted reports a terminal that has used its last counter and
	// must be loaded with a new initial key.
	ErrExhausted = errors.New("dukpt: transaction counter exhausted")
	// ErrKeyType reports an unknown AES DUKPT key type, or a working key
	// stronger than the key it is derived from.
	ErrKeyType = errors.New("dukpt: unsuitable key type")
	// ErrUsage reports an unknown or unsuitable AES DUKPT key usage.
	ErrUsage = errors.New("dukpt: unsuitable key usage")
)

const (
	// KSNLen is the length of a TDES DUKPT key serial number in bytes.
	KSNLen = 10
	// CounterBits is the width of the TDES DUKPT transaction counter.
	CounterBits = 21
	// MaxCounter is the largest TDES DUKPT counter value (before skipping).
	MaxCounter = 1<<CounterBits - 1
	// MaxOneBits is the most one bits a TDES DUKPT counter may hold.
	MaxOneBits = 10
)

// KSN is a TDES DUKPT key serial number: the leftmost 59 bits name the
// initial key (key set identifier and device identifier), the rightmost 21
// bits count transactions. A KSN is not secret and prints as hex.
type KSN [KSNLen]byte

// ParseKSN reads a 10-byte KSN.
func ParseKSN(b []byte) (KSN, error) {
	var k KSN
	if len(b) != KSNLen {
		return k, fmt.Errorf("%w: %d bytes, want %d", ErrKSN, len(b), KSNLen)
	}
	copy(k[:], b)
	return k, nil
}

// ParseKSNHex reads a KSN written as 20 hex digits (spaces allowed).
func ParseKSNHex(s string) (KSN, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if err != nil {
		return KSN{}, fmt.Errorf("%w: not hex", ErrKSN)
	}
	return ParseKSN(b)
}

// Counter returns the 21-bit transaction counter.
func (k KSN) Counter() uint32 {
	return (uint32(k[7])<<16 | uint32(k[8])<<8 | uint32(k[9])) & MaxCounter
}

// WithCounter returns k with its counter replaced by c (masked to 21 bits).
func (k KSN) WithCounter(c uint32) KSN {
	c &= MaxCounter
	k[7] = k[7]&^0x1F | byte(c>>16)
	k[8] = byte(c >> 8)
	k[9] = byte(c)
	return k
}

// Initial returns the initial KSN: k with a zero counter.
func (k KSN) Initial() KSN { return k.WithCounter(0) }

// Bytes returns the KSN as a slice.
func (k KSN) Bytes() []byte { return bytes.Clone(k[:]) }

// String is the KSN in upper-case hex.
func (k KSN) String() string { return strings.ToUpper(hex.EncodeToString(k[:])) }

// ValidCounter reports whether a TDES DUKPT originator ever uses counter c:
// not zero, at most 21 bits and at most 10 one bits.
func ValidCounter(c uint32) bool {
	return c != 0 && c <= MaxCounter && bits.OnesCount32(c) <= MaxOneBits
}

// keyRegisterMask is XORed into a key register to derive the left half of
// a new key (X9.24-1 A.2) and into the BDK to derive the IPEK's right half.
var keyRegisterMask = []byte{
	0xC0, 0xC0, 0xC0, 0xC0, 0x00, 0x00, 0x00, 0x00,
	0xC0, 0xC0, 0xC0, 0xC0, 0x00, 0x00, 0x00, 0x00,
}

func doubleTDES(name string, k keys.Key) error {
	if k.Alg() != keys.TDES || k.Len() != 16 {
		return fmt.Errorf("%w: %s must be a 16-byte TDES key, got %v", ErrKey, name, k)
	}
	return nil
}

// DeriveIPEK derives the initial PIN encryption key (initial key) of the
// device named by ksn from the double-length TDES base derivation key
// (X9.24-1:2009 A.6): with the KSN's counter cleared and its leftmost 8
// bytes taken, the left half is TDES(BDK, KSN') and the right half is
// TDES(BDK XOR C0C0C0C000000000C0C0C0C000000000, KSN').
func DeriveIPEK(bdk keys.Key, ksn []byte) (keys.Key, error) {
	if err := doubleTDES("BDK", bdk); err != nil {
		return keys.Key{}, err
	}
	k, err := ParseKSN(ksn)
	if err != nil {
		return keys.Key{}, err
	}
	init := k.Initial()
	data := init[:8]
	left, err := bdk.EncryptECB(data)
	if err != nil {
		return keys.Key{}, fmt.Errorf("dukpt: %w", err)
	}
	masked := keys.MustNew(keys.TDES, keys.XOR(bdk.Bytes(), keyRegisterMask))
	right, err := masked.EncryptECB(data)
	if err != nil {
		return keys.Key{}, fmt.Errorf("dukpt: %w", err)
	}
	return keys.New(keys.TDES, append(left, right...))
}

// nrkgp is the non-reversible key generation process of X9.24-1:2009 A.2:
// from a 16-byte key register and the 8-byte crypto register 1 (the
// rightmost 64 bits of the KSN with the counter under construction) it
// makes the next 16-byte key.
func nrkgp(key, data []byte) []byte {
	out := make([]byte, 16)
	var masked [16]byte
	for i := range masked {
		masked[i] = key[i] ^ keyRegisterMask[i]
	}
	nrkgpHalf(out[8:], key, data)
	nrkgpHalf(out[:8], masked[:], data)
	return out
}

// nrkgpHalf computes DES(KL, data XOR KR) XOR KR into dst.
func nrkgpHalf(dst, key, data []byte) {
	c, err := des.NewCipher(key[:8])
	if err != nil {
		panic(err) // an 8-byte key cannot fail
	}
	for i := range 8 {
		dst[i] = data[i] ^ key[8+i]
	}
	c.Encrypt(dst, dst)
	for i := range 8 {
		dst[i] ^= key[8+i]
	}
}

// DeriveKey derives the current transaction key of ksn from the IPEK, as a
// receiving host does (X9.24-1:2009 A.6): starting from the IPEK, for each
// one bit of the counter from the highest, that bit is set in the KSN
// register and the non-reversible key generation process is run. The
// result is the base of the working-key variants (PINKey, MACRequestKey...).
// Counter zero and counters with more than 10 one bits are refused, since
// no originator ever uses them.
func DeriveKey(ipek keys.Key, ksn []byte) (keys.Key, error) {
	if err := doubleTDES("IPEK", ipek); err != nil {
		return keys.Key{}, err
	}
	k, err := ParseKSN(ksn)
	if err != nil {
		return keys.Key{}, err
	}
	c := k.Counter()
	if !ValidCounter(c) {
		return keys.Key{}, fmt.Errorf("%w: counter %d has %d one bits", ErrCounter, c, bits.OnesCount32(c))
	}
	reg := k.Initial()
	cur := ipek.Bytes()
	var set uint32
	for sr := uint32(1) << (CounterBits - 1); sr != 0; sr >>= 1 {
		if c&sr == 0 {
			continue
		}
		set |= sr
		r := reg.WithCounter(set)
		cur = nrkgp(cur, r[2:])
	}
	return keys.New(keys.TDES, cur)
}

// Variant is a TDES DUKPT working-key variant (X9.24-1:2009 A.5 and the
// request/response variants of A.4).
type Variant int

const (
	// VariantPIN is the PIN encryption key: XOR 00000000000000FF in both halves.
	VariantPIN Variant = iota + 1
	// VariantMACRequest is the MAC key for requests: XOR 000000000000FF00.
	VariantMACRequest
	// VariantMACResponse is the MAC key for responses: XOR 00000000FF000000.
	VariantMACResponse
	// VariantDataRequest is the data encryption key for requests: XOR
	// 0000000000FF0000, then the key enciphers itself (TDES ECB).
	VariantDataRequest
	// VariantDataResponse is the data encryption key for responses: XOR
	// 000000FF00000000, then the key enciphers itself (TDES ECB).
	VariantDataResponse
)

// String names the variant.
func (v Variant) String() string {
	switch v {
	case VariantPIN:
		return "PIN"
	case VariantMACRequest:
		return "MAC request"
	case VariantMACResponse:
		return "MAC response"
	case VariantDataRequest:
		return "data request"
	case VariantDataResponse:
		return "data response"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// ParseVariant reads "pin", "mac" (request), "mac-response", "data"
// (request) or "data-response" in any case.
func ParseVariant(s string) (Variant, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pin":
		return VariantPIN, nil
	case "mac", "mac-request", "mac-req":
		return VariantMACRequest, nil
	case "mac-response", "mac-resp":
		return VariantMACResponse, nil
	case "data", "data-request", "data-req":
		return VariantDataRequest, nil
	case "data-response", "data-resp":
		return VariantDataResponse, nil
	}
	return 0, fmt.Errorf("dukpt: unknown variant %q (want pin, mac, mac-response, data or data-response)", s)
}

// mask returns the byte position XORed with FF in each 8-byte half.
func (v Variant) mask() (int, bool) {
	switch v {
	case VariantPIN:
		return 7, true
	case VariantMACRequest:
		return 6, true
	case VariantMACResponse:
		return 4, true
	case VariantDataRequest:
		return 5, true
	case VariantDataResponse:
		return 3, true
	}
	return 0, false
}

// WorkingKey applies variant v to a current transaction key from DeriveKey
// or Terminal.Next.
func WorkingKey(txnKey keys.Key, v Variant) (keys.Key, error) {
	if err := doubleTDES("transaction key", txnKey); err != nil {
		return keys.Key{}, err
	}
	pos, ok := v.mask()
	if !ok {
		return keys.Key{}, fmt.Errorf("%w: unknown variant %d", ErrKey, int(v))
	}
	b := txnKey.Bytes()
	b[pos] ^= 0xFF
	b[8+pos] ^= 0xFF
	k := keys.MustNew(keys.TDES, b)
	if v == VariantDataRequest || v == VariantDataResponse {
		// One-way step: the variant key enciphers its own two halves.
		enc, err := k.EncryptECB(b)
		if err != nil {
			return keys.Key{}, fmt.Errorf("dukpt: %w", err)
		}
		return keys.New(keys.TDES, enc)
	}
	return k, nil
}

// PINKey is WorkingKey(txnKey, VariantPIN).
func PINKey(txnKey keys.Key) (keys.Key, error) { return WorkingKey(txnKey, VariantPIN) }

// MACRequestKey is WorkingKey(txnKey, VariantMACRequest).
func MACRequestKey(txnKey keys.Key) (keys.Key, error) {
	return WorkingKey(txnKey, VariantMACRequest)
}

// MACResponseKey is WorkingKey(txnKey, VariantMACResponse).
func MACResponseKey(txnKey keys.Key) (keys.Key, error) {
	return WorkingKey(txnKey, VariantMACResponse)
}

// DataRequestKey is WorkingKey(txnKey, VariantDataRequest).
func DataRequestKey(txnKey keys.Key) (keys.Key, error) {
	return WorkingKey(txnKey, VariantDataRequest)
}

// DataResponseKey is WorkingKey(txnKey, VariantDataResponse).
func DataResponseKey(txnKey keys.Key) (keys.Key, error) {
	return WorkingKey(txnKey, VariantDataResponse)
}

// HostWorkingKey runs the whole receiving-host derivation: IPEK from the
// BDK and the KSN, transaction key for the KSN's counter, variant v.
func HostWorkingKey(bdk keys.Key, ksn []byte, v Variant) (keys.Key, error) {
	ipek, err := DeriveIPEK(bdk, ksn)
	if err != nil {
		return keys.Key{}, err
	}
	k, err := DeriveKey(ipek, ksn)
	if err != nil {
		return keys.Key{}, err
	}
	return WorkingKey(k, v)
}
