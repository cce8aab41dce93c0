package cryptogram

import (
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

// SessionMethod is how the key for the application cryptogram is obtained
// from the ICC master key.
type SessionMethod int

const (
	// SessionNone uses the ICC master key itself (Visa CVN 10).
	SessionNone SessionMethod = iota + 1
	// SessionEMV is the EMV common session key of Book 2 Annex A1.3.1 with
	// R = ATC || '00' ... '00' (one block). It works for TDES and AES keys.
	SessionEMV
	// SessionMastercard is the Mastercard session key derivation with the
	// unpredictable number: R = ATC || '00' '00' || UN, then the same F0/0F
	// construction as the common session key (TDES only).
	SessionMastercard
)

// String names the method as the command line spells it.
func (m SessionMethod) String() string {
	switch m {
	case SessionNone:
		return "none"
	case SessionEMV:
		return "emv"
	case SessionMastercard:
		return "mc"
	}
	return fmt.Sprintf("SessionMethod(%d)", int(m))
}

// ParseSessionMethod reads "none", "emv" (also "csk", "common") or "mc"
// (also "mastercard", "skd").
func ParseSessionMethod(s string) (SessionMethod, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "mk":
		return SessionNone, nil
	case "emv", "csk", "common":
		return SessionEMV, nil
	case "mc", "mastercard", "skd":
		return SessionMastercard, nil
	}
	return 0, fmt.Errorf("%w: session key method %q (want none, emv or mc)", ErrMethod, s)
}

// SessionKey derives the application cryptogram session key from the ICC
// master key mk by method m. atc is the 2-byte Application Transaction
// Counter (9F36); un is the 4-byte Unpredictable Number (9F37), used by
// SessionMastercard only (other methods ignore it).
func SessionKey(m SessionMethod, mk keys.Key, atc, un []byte) (keys.Key, error) {
	switch m {
	case SessionNone:
		if mk.IsZero() {
			return keys.Key{}, fmt.Errorf("%w: no master key", ErrKey)
		}
		return mk, nil
	case SessionEMV:
		if len(atc) != 2 {
			return keys.Key{}, fmt.Errorf("%w: ATC is %d bytes, want 2", ErrLength, len(atc))
		}
		r := make([]byte, mk.BlockSize())
		copy(r, atc)
		return DeriveSessionKey(mk, r)
	case SessionMastercard:
		if len(atc) != 2 {
			return keys.Key{}, fmt.Errorf("%w: ATC is %d bytes, want 2", ErrLength, len(atc))
		}
		if len(un) != 4 {
			return keys.Key{}, fmt.Errorf("%w: unpredictable number is %d bytes, want 4", ErrLength, len(un))
		}
		if mk.Alg() != keys.TDES {
			return keys.Key{}, fmt.Errorf("%w: the Mastercard session key takes a TDES master key, got %v", ErrKey, mk.Alg())
		}
		r := make([]byte, 0, 8)
		r = append(append(append(r, atc...), 0, 0), un...)
		return DeriveSessionKey(mk, r)
	}
	return keys.Key{}, fmt.Errorf("%w: session key method %d", ErrMethod, int(m))
}

// DeriveSessionKey is the session key derivation function of EMV Book 2
// Annex A1.3.1 for a k-bit master key mk over a block cipher with n-byte
// blocks and an n-byte diversification value r:
//
//   - k = 8n (AES-128): SK = ALG(MK)[R];
//   - 8n < k <= 16n (double-length TDES, AES-192, AES-256): SK is the
//     leftmost k bits of ALG(MK)[F1] || ALG(MK)[F2], where F1 is R with its
//     third byte set to 'F0' and F2 is R with its third byte set to '0F'.
//
// TDES session keys are returned with odd parity (DES ignores those bits).
func DeriveSessionKey(mk keys.Key, r []byte) (keys.Key, error) {
	n := mk.BlockSize()
	if mk.IsZero() {
		return keys.Key{}, fmt.Errorf("%w: no master key", ErrKey)
	}
	if len(r) != n {
		return keys.Key{}, fmt.Errorf("%w: diversification value is %d bytes, want %d", ErrLength, len(r), n)
	}
	k := mk.Len()
	switch {
	case k == n && mk.Alg() == keys.AES:
		sk, err := mk.EncryptECB(r)
		if err != nil {
			return keys.Key{}, fmt.Errorf("cryptogram: session key: %w", err)
		}
		return keys.New(keys.AES, sk)
	case k > n && k <= 2*n:
		f := make([]byte, 2*n)
		copy(f, r)
		copy(f[n:], r)
		f[2] = 0xF0
		f[n+2] = 0x0F
		z, err := mk.EncryptECB(f)
		if err != nil {
			return keys.Key{}, fmt.Errorf("cryptogram: session key: %w", err)
		}
		z = z[:k]
		if mk.Alg() == keys.TDES {
			z = keys.OddParity(z)
		}
		return keys.New(mk.Alg(), z)
	}
	return keys.Key{}, fmt.Errorf("%w: session keys are derived from 16-byte TDES or AES master keys, got %v", ErrKey, mk)
}
