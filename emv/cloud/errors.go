package cloud

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/cryptogram"
)

// Sentinel errors; the errors returned wrap one of them. The three
// mismatches also wrap cryptogram.ErrMismatch, so a caller that only asks
// "did the cryptogram verify" needs no knowledge of this package.
var (
	// ErrKey reports a key of an algorithm or length the model does not
	// take (the cloud keys are double-length TDES).
	ErrKey = errors.New("cloud: unsuitable key")
	// ErrKeyIndex reports a key index that is not YHHHHCC, names an hour
	// the year does not have or the future, or is not the one expected.
	ErrKeyIndex = errors.New("cloud: bad key index")
	// ErrIAD reports Issuer Application Data that is not one of the cloud
	// layouts, or names the other cloud cryptogram version.
	ErrIAD = errors.New("cloud: bad issuer application data")
	// ErrInput reports another malformed input: a salt, a token
	// reference, a PIN to set, a validity rule.
	ErrInput = errors.New("cloud: invalid input")
	// ErrKeyUsedUp reports a limited-use key presented after its
	// transaction count is spent (a key used twice when it allows one).
	ErrKeyUsedUp = errors.New("cloud: limited-use key used past its transaction count")
	// ErrKeyExpired reports a limited-use key presented after its time to
	// live.
	ErrKeyExpired = errors.New("cloud: limited-use key past its time to live")
	// ErrLUKMismatch reports a cryptogram that is not the one the
	// limited-use key of the key index gives.
	ErrLUKMismatch = fmt.Errorf("cloud: limited-use key cryptogram: %w", cryptogram.ErrMismatch)
	// ErrMDMismatch reports a mobile-device (MD) cryptogram that is not
	// the one SK_MD gives: the keys are not this card's, or the data was
	// altered.
	ErrMDMismatch = fmt.Errorf("cloud: MD cryptogram: %w", cryptogram.ErrMismatch)
	// ErrUMDMismatch reports a user-and-mobile-device (UMD) cryptogram that
	// is not the one SK_UMD gives while the MD cryptogram is valid: the
	// cardholder was not verified (wrong mobile PIN, or no verification).
	ErrUMDMismatch = fmt.Errorf("cloud: UMD cryptogram: %w", cryptogram.ErrMismatch)
)
