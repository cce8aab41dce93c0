package dukpt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

const (
	// AESKSNLen is the length of an AES DUKPT key serial number: the 8-byte
	// initial key ID then the 4-byte transaction counter.
	AESKSNLen = 12
	// InitialKeyIDLen is the length of an AES DUKPT initial key ID: 4-byte
	// BDK ID then 4-byte derivation ID.
	InitialKeyIDLen = 8
	// AESMaxOneBits is the most one bits an AES DUKPT counter may hold.
	AESMaxOneBits = 16
)

// KeyType is an X9.24-3 key type: the algorithm and length of a derived
// key. Its value is the algorithm indicator of the derivation data.
type KeyType uint16

const (
	// KeyType2TDEA is a double-length TDES key (16 bytes).
	KeyType2TDEA KeyType = 0
	// KeyType3TDEA is a triple-length TDES key (24 bytes).
	KeyType3TDEA KeyType = 1
	// KeyTypeAES128 is an AES-128 key.
	KeyTypeAES128 KeyType = 2
	// KeyTypeAES192 is an AES-192 key.
	KeyTypeAES192 KeyType = 3
	// KeyTypeAES256 is an AES-256 key.
	KeyTypeAES256 KeyType = 4
)

// String names the key type as X9.24-3 does.
func (t KeyType) String() string {
	switch t {
	case KeyType2TDEA:
		return "2TDEA"
	case KeyType3TDEA:
		return "3TDEA"
	case KeyTypeAES128:
		return "AES-128"
	case KeyTypeAES192:
		return "AES-192"
	case KeyTypeAES256:
		return "AES-256"
	}
	return fmt.Sprintf("KeyType(%d)", uint16(t))
}

// ParseKeyType reads "2tdea", "3tdea", "aes128", "aes-192", "AES256"...
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "") {
	case "2tdea", "2tdes", "tdes2":
		return KeyType2TDEA, nil
	case "3tdea", "3tdes", "tdes3":
		return KeyType3TDEA, nil
	case "aes128":
		return KeyTypeAES128, nil
	case "aes192":
		return KeyTypeAES192, nil
	case "aes256":
		return KeyTypeAES256, nil
	}
	return 0, fmt.Errorf("%w: %q (want 2tdea, 3tdea, aes128, aes192 or aes256)", ErrKeyType, s)
}

// Len is the key length in bytes (0 for an unknown type).
func (t KeyType) Len() int {
	switch t {
	case KeyType2TDEA, KeyTypeAES128:
		return 16
	case KeyType3TDEA, KeyTypeAES192:
		return 24
	case KeyTypeAES256:
		return 32
	}
	return 0
}

// Alg is the algorithm keys of this type are used with.
func (t KeyType) Alg() keys.Alg {
	if t == KeyType2TDEA || t == KeyType3TDEA {
		return keys.TDES
	}
	return keys.AES
}

func (t KeyType) isAES() bool { return t >= KeyTypeAES128 && t <= KeyTypeAES256 }

// keyTypeOf is the AES key type of an AES key of the given length.
func keyTypeOf(k keys.Key) (KeyType, error) {
	if k.Alg() == keys.AES {
		switch k.Len() {
		case 16:
			return KeyTypeAES128, nil
		case 24:
			return KeyTypeAES192, nil
		case 32:
			return KeyTypeAES256, nil
		}
	}
	return 0, fmt.Errorf("%w: AES DUKPT derivation keys are AES-128, -192 or -256, got %v", ErrKey, k)
}

// KeyUsage is an X9.24-3 key usage indicator of the derivation data.
type KeyUsage uint16

const (
	// UsageKeyEncryption is a key encryption key (used for key update).
	UsageKeyEncryption KeyUsage = 0x0002
	// UsagePINEncryption is a PIN encryption key.
	UsagePINEncryption KeyUsage = 0x1000
	// UsageMACGeneration is a MAC generation key.
	UsageMACGeneration KeyUsage = 0x2000
	// UsageMACVerification is a MAC verification key.
	UsageMACVerification KeyUsage = 0x2001
	// UsageMACBoth is a MAC key for both generation and verification.
	UsageMACBoth KeyUsage = 0x2002
	// UsageDataEncrypt is a data encryption key for encryption.
	UsageDataEncrypt KeyUsage = 0x3000
	// UsageDataDecrypt is a data encryption key for decryption.
	UsageDataDecrypt KeyUsage = 0x3001
	// UsageDataBoth is a data encryption key for both directions.
	UsageDataBoth KeyUsage = 0x3002
	// UsageKeyDerivation derives the intermediate derivation keys.
	UsageKeyDerivation KeyUsage = 0x8000
	// UsageInitialKey derives the initial key from the BDK.
	UsageInitialKey KeyUsage = 0x8001
)

// String names the usage.
func (u KeyUsage) String() string {
	switch u {
	case UsageKeyEncryption:
		return "key encryption"
	case UsagePINEncryption:
		return "PIN encryption"
	case UsageMACGeneration:
		return "MAC generation"
	case UsageMACVerification:
		return "MAC verification"
	case UsageMACBoth:
		return "MAC both ways"
	case UsageDataEncrypt:
		return "data encryption (encrypt)"
	case UsageDataDecrypt:
		return "data encryption (decrypt)"
	case UsageDataBoth:
		return "data encryption (both ways)"
	case UsageKeyDerivation:
		return "key derivation"
	case UsageInitialKey:
		return "initial key derivation"
	}
	return fmt.Sprintf("KeyUsage(%04X)", uint16(u))
}

// isWorking reports whether u names a working key.
func (u KeyUsage) isWorking() bool {
	switch u {
	case UsageKeyEncryption, UsagePINEncryption, UsageMACGeneration, UsageMACVerification,
		UsageMACBoth, UsageDataEncrypt, UsageDataDecrypt, UsageDataBoth:
		return true
	}
	return false
}

// AESKSN is an AES DUKPT key serial number: the 8-byte initial key ID (BDK
// ID and derivation ID) and the 32-bit transaction counter. It is not
// secret and prints as hex.
type AESKSN [AESKSNLen]byte

// ParseAESKSN reads a 12-byte AES DUKPT KSN.
func ParseAESKSN(b []byte) (AESKSN, error) {
	var k AESKSN
	if len(b) != AESKSNLen {
		return k, fmt.Errorf("%w: %d bytes, want %d", ErrKSN, len(b), AESKSNLen)
	}
	copy(k[:], b)
	return k, nil
}

// ParseAESKSNHex reads an AES DUKPT KSN written as 24 hex digits.
func ParseAESKSNHex(s string) (AESKSN, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if err != nil {
		return AESKSN{}, fmt.Errorf("%w: not hex", ErrKSN)
	}
	return ParseAESKSN(b)
}

// NewAESKSN builds a KSN from an 8-byte initial key ID and a counter.
func NewAESKSN(initialKeyID []byte, counter uint32) (AESKSN, error) {
	var k AESKSN
	if len(initialKeyID) != InitialKeyIDLen {
		return k, fmt.Errorf("%w: initial key ID of %d bytes, want %d", ErrKSN, len(initialKeyID), InitialKeyIDLen)
	}
	copy(k[:], initialKeyID)
	binary.BigEndian.PutUint32(k[8:], counter)
	return k, nil
}

// InitialKeyID returns the 8-byte initial key ID.
func (k AESKSN) InitialKeyID() []byte { return bytes.Clone(k[:8]) }

// Counter returns the 32-bit transaction counter.
func (k AESKSN) Counter() uint32 { return binary.BigEndian.Uint32(k[8:]) }

// WithCounter returns k with its counter replaced by c.
func (k AESKSN) WithCounter(c uint32) AESKSN {
	binary.BigEndian.PutUint32(k[8:], c)
	return k
}

// Bytes returns the KSN as a slice.
func (k AESKSN) Bytes() []byte { return bytes.Clone(k[:]) }

// String is the KSN in upper-case hex.
func (k AESKSN) String() string { return strings.ToUpper(hex.EncodeToString(k[:])) }

// ValidAESCounter reports whether an AES DUKPT originator ever uses
// counter c: not zero and at most 16 one bits.
func ValidAESCounter(c uint32) bool { return c != 0 && bits.OnesCount32(c) <= AESMaxOneBits }

// derivationData builds the 16-byte X9.24-3 derivation data: version 01,
// key block counter 01, key usage, algorithm indicator, key length in bits,
// then the whole initial key ID (initial key derivation) or the
// derivation ID (rightmost 4 bytes of the initial key ID) and the counter.
func derivationData(u KeyUsage, t KeyType, ikid []byte, counter uint32) []byte {
	d := make([]byte, 16)
	d[0] = 0x01 // version
	d[1] = 0x01 // key block counter, set per block by deriveAES
	binary.BigEndian.PutUint16(d[2:], uint16(u))
	binary.BigEndian.PutUint16(d[4:], uint16(t))
	binary.BigEndian.PutUint16(d[6:], uint16(t.Len()*8))
	if u == UsageInitialKey {
		copy(d[8:], ikid)
	} else {
		copy(d[8:], ikid[4:8])
		binary.BigEndian.PutUint32(d[12:], counter)
	}
	return d
}

// deriveAES is the X9.24-3 key derivation function: AES-ECB of the
// derivation data under the derivation key, one block per 128 bits of the
// derived key (key block counter 1, 2), truncated to the key length.
func deriveAES(dk keys.Key, data []byte, t KeyType) (keys.Key, error) {
	c, err := dk.Block()
	if err != nil {
		return keys.Key{}, fmt.Errorf("dukpt: %w", err)
	}
	n := t.Len()
	out := make([]byte, 0, 32)
	block := bytes.Clone(data)
	for i := byte(1); len(out) < n; i++ {
		block[1] = i
		enc := make([]byte, 16)
		c.Encrypt(enc, block)
		out = append(out, enc...)
	}
	return keys.New(t.Alg(), out[:n])
}

// DeriveInitialKey derives the initial key of a device from the AES BDK and
// the device's 8-byte initial key ID (X9.24-3:2017 6.3.3): derivation data
// with usage 8001 and the whole initial key ID, enciphered under the BDK.
// keyType is the initial key's AES type; it may not be stronger than the
// BDK.
func DeriveInitialKey(bdk keys.Key, keyType KeyType, initialKeyID []byte) (keys.Key, error) {
	bt, err := keyTypeOf(bdk)
	if err != nil {
		return keys.Key{}, err
	}
	if !keyType.isAES() || keyType.Len() > bt.Len() {
		return keys.Key{}, fmt.Errorf("%w: initial key %v from a %v BDK", ErrKeyType, keyType, bt)
	}
	if len(initialKeyID) != InitialKeyIDLen {
		return keys.Key{}, fmt.Errorf("%w: initial key ID of %d bytes, want %d", ErrKSN, len(initialKeyID), InitialKeyIDLen)
	}
	return deriveAES(bdk, derivationData(UsageInitialKey, keyType, initialKeyID, 0), keyType)
}

// deriveChild derives the intermediate derivation key of counter c from
// its parent's key (usage 8000, the parent's own key type).
func deriveChild(parent keys.Key, ikid []byte, c uint32) (keys.Key, error) {
	t, err := keyTypeOf(parent)
	if err != nil {
		return keys.Key{}, err
	}
	return deriveAES(parent, derivationData(UsageKeyDerivation, t, ikid, c), t)
}

// DeriveTransactionKey derives the intermediate derivation key of ksn's
// counter from the initial key, as a receiving host does (X9.24-3:2017
// 6.3.4): for each one bit of the counter from the highest, the bit is set
// in a working counter and a key is derived with usage 8000. The result is
// what the X9.24-3 test vectors call the transaction key; working keys are
// derived from it with DeriveWorkingKey. Counter zero and counters with
// more than 16 one bits are refused.
func DeriveTransactionKey(initialKey keys.Key, ksn []byte) (keys.Key, error) {
	if _, err := keyTypeOf(initialKey); err != nil {
		return keys.Key{}, err
	}
	k, err := ParseAESKSN(ksn)
	if err != nil {
		return keys.Key{}, err
	}
	c := k.Counter()
	if !ValidAESCounter(c) {
		return keys.Key{}, fmt.Errorf("%w: counter %d has %d one bits", ErrCounter, c, bits.OnesCount32(c))
	}
	dk := initialKey
	var set uint32
	for mask := uint32(1) << 31; mask != 0; mask >>= 1 {
		if c&mask == 0 {
			continue
		}
		set |= mask
		if dk, err = deriveChild(dk, k[:8], set); err != nil {
			return keys.Key{}, err
		}
	}
	return dk, nil
}

// DeriveWorkingKey derives a working key of the given usage and type from a
// transaction key (DeriveTransactionKey or AESTerminal.Next) for ksn
// (X9.24-3:2017 6.3.5). The working key may not be stronger than the
// transaction key: AES-256 needs an AES-256 transaction key, AES-192 at
// least AES-192; TDEA keys come from any.
func DeriveWorkingKey(txnKey keys.Key, ksn []byte, usage KeyUsage, keyType KeyType) (keys.Key, error) {
	dt, err := keyTypeOf(txnKey)
	if err != nil {
		return keys.Key{}, err
	}
	if keyType.Len() == 0 {
		return keys.Key{}, fmt.Errorf("%w: %v", ErrKeyType, keyType)
	}
	if keyType.isAES() && keyType.Len() > dt.Len() {
		return keys.Key{}, fmt.Errorf("%w: %v working key from a %v key", ErrKeyType, keyType, dt)
	}
	if !usage.isWorking() {
		return keys.Key{}, fmt.Errorf("%w: %v is not a working-key usage", ErrUsage, usage)
	}
	k, err := ParseAESKSN(ksn)
	if err != nil {
		return keys.Key{}, err
	}
	return deriveAES(txnKey, derivationData(usage, keyType, k[:8], k.Counter()), keyType)
}

// HostAESWorkingKey runs the whole receiving-host derivation: initial key
// from the BDK (of the BDK's own type) and the KSN's initial key ID,
// transaction key for the KSN's counter, then the working key.
func HostAESWorkingKey(bdk keys.Key, ksn []byte, usage KeyUsage, keyType KeyType) (keys.Key, error) {
	bt, err := keyTypeOf(bdk)
	if err != nil {
		return keys.Key{}, err
	}
	k, err := ParseAESKSN(ksn)
	if err != nil {
		return keys.Key{}, err
	}
	ik, err := DeriveInitialKey(bdk, bt, k[:8])
	if err != nil {
		return keys.Key{}, err
	}
	tk, err := DeriveTransactionKey(ik, ksn)
	if err != nil {
		return keys.Key{}, err
	}
	return DeriveWorkingKey(tk, ksn, usage, keyType)
}

// AESTerminal is an AES DUKPT originating device (X9.24-3:2017 6.5): 32
// intermediate derivation key registers, one transaction key per
// transaction, counters with more than 16 one bits skipped, exhausted
// after counter FFFF0000. It is not safe for concurrent use.
type AESTerminal struct {
	ksn AESKSN
	reg registers
}

// NewAESTerminal loads a terminal with its initial key and initial KSN
// (initial key ID and counter, normally zero; a non-zero counter resumes a
// device there).
func NewAESTerminal(initialKey keys.Key, initialKSN []byte) (*AESTerminal, error) {
	if _, err := keyTypeOf(initialKey); err != nil {
		return nil, err
	}
	k, err := ParseAESKSN(initialKSN)
	if err != nil {
		return nil, err
	}
	t := &AESTerminal{ksn: k.WithCounter(0)}
	t.reg = registers{
		width:   32,
		maxOnes: AESMaxOneBits,
		derive: func(parent keys.Key, c uint64) (keys.Key, error) {
			return deriveChild(parent, t.ksn[:8], uint32(c))
		},
	}
	if err := t.reg.load(initialKey, uint64(k.Counter())); err != nil {
		return nil, err
	}
	return t, nil
}

// Next returns the KSN and transaction key of the next transaction and
// advances; derive working keys with DeriveWorkingKey. After the last
// counter it returns ErrExhausted.
func (t *AESTerminal) Next() (AESKSN, keys.Key, error) {
	c, k, err := t.reg.next()
	if err != nil {
		return AESKSN{}, keys.Key{}, err
	}
	return t.ksn.WithCounter(uint32(c)), k, nil
}

// NextWorkingKey is Next followed by DeriveWorkingKey.
func (t *AESTerminal) NextWorkingKey(usage KeyUsage, keyType KeyType) (AESKSN, keys.Key, error) {
	ksn, k, err := t.Next()
	if err != nil {
		return AESKSN{}, keys.Key{}, err
	}
	wk, err := DeriveWorkingKey(k, ksn[:], usage, keyType)
	return ksn, wk, err
}

// KSN returns the KSN the next transaction will use; it means nothing once
// the terminal is exhausted.
func (t *AESTerminal) KSN() AESKSN { return t.ksn.WithCounter(uint32(t.reg.counter)) }

// Exhausted reports whether the terminal has no transaction key left.
func (t *AESTerminal) Exhausted() bool { return t.reg.counter > t.reg.max() }

// Remaining counts the transactions the terminal can still perform.
func (t *AESTerminal) Remaining() int { return t.reg.remaining() }
