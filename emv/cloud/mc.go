package cloud

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"fmt"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// The PIN key derivation of the single-use keys (MODEL).
const (
	// PINKDFIterations is the PBKDF2 iteration count. It is modest on
	// purpose: nothing on the phone can test a PIN guess (a wrong PIN gives
	// a wrong key that only the issuer sees, and the issuer locks the
	// token after a few), so the count only slows a search by someone who
	// holds both a SUK and a valid cryptogram made with it, which a
	// single-use key never leaves behind on the phone.
	PINKDFIterations = 10000
	// PINMaskLength is the length of the mask, the length of SK_UMD.
	PINMaskLength = 16
	// MinSalt and MaxSalt bound the per-token salt, in bytes.
	MinSalt, MaxSalt = 8, 64
	// MaxTokenRef is the longest token reference (TUR), in bytes.
	MaxTokenRef = 64
	pinKDFLabel = "tapsim mc-cloud SUK v1"
)

// SessionKeys derives the two session keys of one transaction from the two
// ICC master keys and the ATC with the EMV common session key of Book 2
// Annex A1.3 (MODEL after the patents: the MD key from the card master key
// and the ATC, the UMD key from a second master key and the ATC):
// SK_MD = CSK(MK_MD, ATC), SK_UMD = CSK(MK_UMD, ATC).
func SessionKeys(mkMD, mkUMD keys.Key, atc uint16) (skMD, skUMD keys.Key, err error) {
	a := []byte{byte(atc >> 8), byte(atc)}
	for _, mk := range []keys.Key{mkMD, mkUMD} {
		if err := checkMK(mk); err != nil {
			return keys.Key{}, keys.Key{}, err
		}
	}
	if skMD, err = cryptogram.SessionKey(cryptogram.SessionEMV, mkMD, a, nil); err != nil {
		return keys.Key{}, keys.Key{}, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if skUMD, err = cryptogram.SessionKey(cryptogram.SessionEMV, mkUMD, a, nil); err != nil {
		return keys.Key{}, keys.Key{}, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return skMD, skUMD, nil
}

// PINMask is the 16-byte mask the mobile PIN puts on SK_UMD (MODEL):
//
//	PBKDF2-HMAC-SHA-256(password = PIN,
//	    salt = "tapsim mc-cloud SUK v1" || len(salt) (1 byte) || salt || token reference,
//	    iterations = PINKDFIterations, 16 bytes)
//
// Any PIN gives a mask: a wrong PIN is never refused here, it gives a
// wrong key. Only the salt (8 to 64 bytes) and the token reference (1 to 64
// bytes) are checked.
func PINMask(pin string, salt []byte, tokenRef string) ([]byte, error) {
	if len(salt) < MinSalt || len(salt) > MaxSalt {
		return nil, fmt.Errorf("%w: salt of %d bytes, want %d to %d", ErrInput, len(salt), MinSalt, MaxSalt)
	}
	if tokenRef == "" || len(tokenRef) > MaxTokenRef {
		return nil, fmt.Errorf("%w: token reference of %d bytes, want 1 to %d", ErrInput, len(tokenRef), MaxTokenRef)
	}
	s := make([]byte, 0, len(pinKDFLabel)+1+len(salt)+len(tokenRef))
	s = append(append(append(append(s, pinKDFLabel...), byte(len(salt))), salt...), tokenRef...)
	m, err := pbkdf2.Key(sha256.New, pin, s, PINKDFIterations, PINMaskLength)
	if err != nil {
		return nil, fmt.Errorf("%w: pin key derivation: %w", ErrInput, err)
	}
	return m, nil
}

// CheckPIN checks a mobile PIN the cardholder sets: 4 to 12 decimal
// digits. The phone never checks the PIN it is given at a tap.
func CheckPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 || !digits(pin) {
		return fmt.Errorf("%w: a mobile PIN is 4 to 12 digits", ErrInput)
	}
	return nil
}

// MakeSUK is the single-use key the platform ships to the phone for one
// ATC: SUK = SK_UMD xor PINMask(pin, salt, tokenRef), every bit of the 16
// bytes (parity bits included). The PIN must pass CheckPIN.
func MakeSUK(skUMD keys.Key, pin string, salt []byte, tokenRef string) (keys.Key, error) {
	if err := CheckPIN(pin); err != nil {
		return keys.Key{}, err
	}
	return mask(skUMD, pin, salt, tokenRef)
}

// UnlockSUK is the phone's side: SK_UMD = SUK xor PINMask(pin, ...). With a
// wrong PIN it returns, without error, a key that is not SK_UMD; the
// cryptogram made with it fails at the issuer.
func UnlockSUK(suk keys.Key, pin string, salt []byte, tokenRef string) (keys.Key, error) {
	return mask(suk, pin, salt, tokenRef)
}

func mask(k keys.Key, pin string, salt []byte, tokenRef string) (keys.Key, error) {
	if err := checkMK(k); err != nil {
		return keys.Key{}, err
	}
	m, err := PINMask(pin, salt, tokenRef)
	if err != nil {
		return keys.Key{}, err
	}
	return keys.New(keys.TDES, keys.XOR(k.Bytes(), m))
}

// MDCryptogram is the 4-byte MD cryptogram: the leftmost 4 bytes of the
// MAC under SK_MD over the mc-cloud Data.
func MDCryptogram(skMD keys.Key, d []byte) ([]byte, error) {
	return cryptogram.MAC(skMD, d, Padding, MDLength)
}

// GenerateMC computes both mc-cloud cryptograms as the phone does: the MD
// cryptogram under SK_MD, written into the IAD it returns (the MD field of
// the 9F10 in tags is ignored), and the application cryptogram (9F26)
// under SK_UMD, which the phone has from its SUK and the PIN.
func GenerateMC(skMD, skUMD keys.Key, tags cryptogram.Source) (ac, iad []byte, err error) {
	for _, k := range []keys.Key{skMD, skUMD} {
		if err := checkMK(k); err != nil {
			return nil, nil, err
		}
	}
	d, p, err := data(tags, CVNMCCloud)
	if err != nil {
		return nil, nil, err
	}
	md, err := MDCryptogram(skMD, d)
	if err != nil {
		return nil, nil, err
	}
	copy(p.MD[:], md)
	if ac, err = cryptogram.ComputeAC(skUMD, d, Padding); err != nil {
		return nil, nil, err
	}
	return ac, p.Bytes(), nil
}

// Verdict is what the issuer learns from the two mc-cloud cryptograms.
type Verdict struct {
	MD  bool // the MD cryptogram (9F10) is this card's: the phone holds its keys
	UMD bool // the UMD cryptogram (9F26) is valid: the cardholder was verified
}

// CardholderVerified is true only when both cryptograms are valid: the
// issuer takes cardholder verification from the UMD cryptogram alone, never
// from a flag in the data.
func (v Verdict) CardholderVerified() bool { return v.MD && v.UMD }

// VerifyMC is the issuer's check of an mc-cloud transaction with the two
// ICC master keys: the session keys of the ATC (9F36) are derived, the MD
// cryptogram in 9F10 is checked (ErrMDMismatch: not this card's keys),
// then the application cryptogram ac (ErrUMDMismatch: cardholder not
// verified). The Verdict says which held, also on error.
func VerifyMC(mkMD, mkUMD keys.Key, tags cryptogram.Source, ac []byte) (Verdict, error) {
	var atc []byte
	if tags != nil {
		atc, _ = tags.Value(cryptogram.TagATC)
	}
	if len(atc) != 2 {
		return Verdict{}, &cryptogram.TagError{Tag: cryptogram.TagATC, Got: len(atc), Want: 2, Err: cryptogram.ErrTagLength}
	}
	skMD, skUMD, err := SessionKeys(mkMD, mkUMD, uint16(atc[0])<<8|uint16(atc[1]))
	if err != nil {
		return Verdict{}, err
	}
	return VerifyMCSession(skMD, skUMD, tags, ac)
}

// VerifyMCSession is VerifyMC with the session keys already derived.
func VerifyMCSession(skMD, skUMD keys.Key, tags cryptogram.Source, ac []byte) (Verdict, error) {
	if len(ac) != cryptogram.ACLength {
		return Verdict{}, fmt.Errorf("%w: cryptogram is %d bytes, want %d", ErrInput, len(ac), cryptogram.ACLength)
	}
	for _, k := range []keys.Key{skMD, skUMD} {
		if err := checkMK(k); err != nil {
			return Verdict{}, err
		}
	}
	d, p, err := data(tags, CVNMCCloud)
	if err != nil {
		return Verdict{}, err
	}
	md, err := MDCryptogram(skMD, d)
	if err != nil {
		return Verdict{}, err
	}
	if !mac.Equal(md, p.MD[:]) {
		return Verdict{}, ErrMDMismatch
	}
	want, err := cryptogram.ComputeAC(skUMD, d, Padding)
	if err != nil {
		return Verdict{MD: true}, err
	}
	if !mac.Equal(want, ac) {
		return Verdict{MD: true}, ErrUMDMismatch
	}
	return Verdict{MD: true, UMD: true}, nil
}

// SUKID names the single-use key pair of transaction counter atc in the
// transaction logs the phone, the platform and the issuer keep: the ATC
// in four hexadecimal digits. A limited-use key is named by its
// KeyIndex's String.
func SUKID(atc uint16) string { return fmt.Sprintf("%04X", atc) }
