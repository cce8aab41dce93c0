package hsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

// Sentinel errors. Errors returned by implementations wrap one of them and
// never carry key material, PINs, PIN blocks, cryptograms or full PANs.
var (
	// ErrUnknownKey reports a handle or label that names no key.
	ErrUnknownKey = errors.New("hsm: unknown key")
	// ErrExists reports a label already taken by another key.
	ErrExists = errors.New("hsm: key label already in use")
	// ErrUsage reports a key used for an operation its usage does not
	// allow, or an unknown usage. Errors that wrap it are often *UsageError.
	ErrUsage = errors.New("hsm: key usage does not allow the operation")
	// ErrKeyType reports a key algorithm or length its usage does not take.
	ErrKeyType = errors.New("hsm: key algorithm or length not allowed for its usage")
	// ErrWeakKey is keys.ErrWeakKey: a weak or degenerate key (R-G5a).
	ErrWeakKey = keys.ErrWeakKey
	// ErrVerify reports an application cryptogram that does not verify.
	ErrVerify = errors.New("hsm: cryptogram verification failed")
	// ErrPIN reports a PIN that does not match the verification value.
	ErrPIN = errors.New("hsm: PIN verification failed")
	// ErrPINBlock reports a PIN block that does not decode under the key:
	// wrong key, wrong PAN, or a format not allowed.
	ErrPINBlock = errors.New("hsm: invalid PIN block")
	// ErrCVV reports a card security code (CVV, CVV2, iCVV) that does not
	// match the card.
	ErrCVV = errors.New("hsm: card verification value mismatch")
	// ErrMAC reports a MAC that does not verify.
	ErrMAC = errors.New("hsm: MAC verification failed")
	// ErrKeyBlock reports a wrapped key that fails its integrity check
	// (wrong key-encryption key or altered block) or is malformed.
	ErrKeyBlock = errors.New("hsm: invalid key block")
	// ErrDecrypt reports encrypted data that fails its integrity check:
	// altered, made under another key, or bound to other additional data.
	ErrDecrypt = errors.New("hsm: encrypted data failed its integrity check")
	// ErrInput reports a malformed input: a KSN, PAN, CVN name, data
	// element or length the operation cannot take.
	ErrInput = errors.New("hsm: invalid input")
	// ErrClosed reports a call after Close.
	ErrClosed = errors.New("hsm: module closed")
)

// UsageError is a key presented for an operation its usage does not
// allow. It wraps ErrUsage.
type UsageError struct {
	Op    string  // the operation, e.g. "translate-pin"
	Label string  // the key's label
	Have  Usage   // the key's usage
	Want  []Usage // the usages the operation takes
}

// Error names the operation, the key's label and the usages involved.
func (e *UsageError) Error() string {
	want := make([]string, len(e.Want))
	for i, u := range e.Want {
		want[i] = string(u)
	}
	return fmt.Sprintf("%v: %s needs a %s key, %q is %s", ErrUsage, e.Op, strings.Join(want, " or "), e.Label, e.Have)
}

// Unwrap returns ErrUsage.
func (e *UsageError) Unwrap() error { return ErrUsage }
