package cloud

import (
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
)

// DeriveLUK derives the limited-use key of key index ki and account
// parameters index api from the card's (token's) ICC master key mk, a
// double-length TDES key, in two steps (MODEL after the patents' text:
// "the master key encrypts account information to give a second key; that
// key encrypts key-index information to give the LUK"):
//
//	Y1  = API (2 bytes, big-endian) || 00 00 00 00 00 00
//	K2  = TDES(MK)[Y1] || TDES(MK)[Y1 xor FF..FF], odd parity
//	Y2  = key index (4 bytes BCD, 0YHHHHCC) || 00 00 00 00
//	LUK = TDES(K2)[Y2] || TDES(K2)[Y2 xor FF..FF], odd parity
//
// Each step is the construction of EMV Book 2 Annex A1.4.1 (option A) with
// the given block in place of the PAN digits.
func DeriveLUK(mk keys.Key, api uint16, ki KeyIndex) (keys.Key, error) {
	if err := checkMK(mk); err != nil {
		return keys.Key{}, err
	}
	if err := ki.check(); err != nil {
		return keys.Key{}, err
	}
	k2, err := diversify(mk, AccountInfo(api))
	if err != nil {
		return keys.Key{}, err
	}
	return diversify(k2, KeyIndexInfo(ki))
}

// AccountInfo is Y1 of DeriveLUK: the account parameters index as 2 bytes
// big-endian, then six zero bytes.
func AccountInfo(api uint16) []byte {
	return []byte{byte(api >> 8), byte(api), 0, 0, 0, 0, 0, 0}
}

// KeyIndexInfo is Y2 of DeriveLUK: the key index in BCD, then four zero
// bytes.
func KeyIndexInfo(ki KeyIndex) []byte {
	return append(ki.BCD(), 0, 0, 0, 0)
}

// checkMK accepts a double-length TDES key only.
func checkMK(mk keys.Key) error {
	if mk.Alg() != keys.TDES || mk.Len() != 16 {
		return fmt.Errorf("%w: the cloud keys derive from a 16-byte TDES master key, got %v", ErrKey, mk)
	}
	return nil
}

// diversify is TDES(k)[y] || TDES(k)[y xor FF..FF] with odd parity.
func diversify(k keys.Key, y []byte) (keys.Key, error) {
	in := make([]byte, 0, 16)
	in = append(in, y...)
	for _, b := range y {
		in = append(in, ^b)
	}
	z, err := k.EncryptECB(in)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return keys.New(keys.TDES, keys.OddParity(z))
}

// Validity is how long and how often one limited-use key may serve, as the
// issuer checks it (the patents: a transaction count, a cumulative amount
// and a time to live; tapsim models the count and the time).
type Validity struct {
	// MaxTransactions is how many transactions one key may serve, at
	// least 1.
	MaxTransactions int
	// TimeToLive is how long after the hour of its key index a key
	// serves.
	TimeToLive time.Duration
}

// DefaultValidity is tapsim's rule: one transaction per key (R-S5b: a key
// serves at most one transaction and is void once used; the schemes allow
// more) and a day to live.
var DefaultValidity = Validity{MaxTransactions: 1, TimeToLive: 24 * time.Hour}

// Check decides whether the key of index ki may serve one more transaction
// at now, when used transactions have already been made with it. A key
// past its count is ErrKeyUsedUp, past its time ErrKeyExpired; a key index
// from the future ErrKeyIndex.
func (v Validity) Check(ki KeyIndex, used int, now time.Time) error {
	if v.MaxTransactions < 1 || v.TimeToLive <= 0 {
		return fmt.Errorf("%w: validity needs at least one transaction and a positive time to live", ErrInput)
	}
	issued, err := ki.IssuedAt(now)
	if err != nil {
		return err
	}
	if used < 0 {
		return fmt.Errorf("%w: %d transactions used", ErrInput, used)
	}
	if used >= v.MaxTransactions {
		return fmt.Errorf("%w: key %v served %d of %d", ErrKeyUsedUp, ki, used, v.MaxTransactions)
	}
	if end := issued.Add(v.TimeToLive); !now.Before(end) {
		return fmt.Errorf("%w: key %v lived until %s", ErrKeyExpired, ki, end.Format(time.RFC3339))
	}
	return nil
}
