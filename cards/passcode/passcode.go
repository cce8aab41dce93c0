// Package passcode holds a phone wallet's passcode and enforces the rules of
// the cardholder-verification passcode:
//
//   - R-G3a: at least 4 digits (and only digits);
//   - R-G3b: not all one digit, nor a run of consecutive digits (ascending or
//     descending, 9 and 0 counting as neighbours, as on a keypad: 7890 and
//     2109 are runs too);
//   - R-G3c: locked after 5 consecutive wrong entries; once locked nothing
//     more is accepted, not even the right passcode, until the issuer's
//     service centre resets it (Reset).
//
// The passcode itself is never kept in clear: only a salted PBKDF2-SHA-256
// hash is stored, and no error or String output repeats what was typed.
package passcode

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// Rule limits.
const (
	// MinDigits is the shortest passcode R-G3a allows.
	MinDigits = 4
	// MaxDigits is the longest passcode this wallet takes.
	MaxDigits = 12
	// MaxTries is the number of consecutive wrong entries after which the
	// passcode locks (R-G3c).
	MaxTries = 5
)

// Sentinel errors; each rule has its own so callers can branch on it.
var (
	// ErrTooShort: fewer than MinDigits digits (R-G3a).
	ErrTooShort = errors.New("passcode: fewer than 4 digits (R-G3a)")
	// ErrTooLong: more than MaxDigits digits.
	ErrTooLong = errors.New("passcode: more than 12 digits")
	// ErrNotDigits: a character other than 0-9 (R-G3a asks for digits).
	ErrNotDigits = errors.New("passcode: not all decimal digits (R-G3a)")
	// ErrAllSame: every digit is the same (R-G3b).
	ErrAllSame = errors.New("passcode: all digits the same (R-G3b)")
	// ErrSequence: a run of consecutive digits such as 1234 or 9876 (R-G3b).
	ErrSequence = errors.New("passcode: run of consecutive digits (R-G3b)")
	// ErrWrong: the entry does not match; the error is a *WrongError telling
	// how many tries are left.
	ErrWrong = errors.New("passcode: wrong passcode")
	// ErrLocked: 5 consecutive wrong entries; only an issuer reset unlocks
	// (R-G3c).
	ErrLocked = errors.New("passcode: locked after 5 wrong entries, issuer reset required (R-G3c)")
)

// RuleError reports a passcode that breaks a rule of R-G3a or R-G3b. It
// names the rule and wraps the rule's sentinel error; it never contains the
// passcode.
type RuleError struct {
	Rule string // "R-G3a" or "R-G3b"
	Err  error  // ErrTooShort, ErrTooLong, ErrNotDigits, ErrAllSame or ErrSequence
}

// Error returns the sentinel's message.
func (e *RuleError) Error() string { return e.Err.Error() }

// Unwrap returns the rule's sentinel error.
func (e *RuleError) Unwrap() error { return e.Err }

// WrongError reports a wrong entry and how many tries remain before the
// passcode locks. It wraps ErrWrong, or ErrLocked when this entry locked it.
type WrongError struct {
	Remaining int   // tries left before the lock; 0 when this entry locked it
	Err       error // ErrWrong or ErrLocked
}

// Error says how many tries are left.
func (e *WrongError) Error() string {
	if errors.Is(e.Err, ErrLocked) {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v, %d tries left", e.Err, e.Remaining)
}

// Unwrap returns ErrWrong or ErrLocked.
func (e *WrongError) Unwrap() error { return e.Err }

// Check applies the rules of R-G3a and R-G3b to a candidate passcode and
// returns a *RuleError for the first rule it breaks, or nil.
func Check(code string) error {
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return &RuleError{Rule: "R-G3a", Err: ErrNotDigits}
		}
	}
	switch {
	case len(code) < MinDigits:
		return &RuleError{Rule: "R-G3a", Err: ErrTooShort}
	case len(code) > MaxDigits:
		return &RuleError{Rule: "R-G3a", Err: ErrTooLong}
	case allSame(code):
		return &RuleError{Rule: "R-G3b", Err: ErrAllSame}
	case isRun(code, 1) || isRun(code, 9):
		return &RuleError{Rule: "R-G3b", Err: ErrSequence}
	}
	return nil
}

func allSame(code string) bool {
	for i := 1; i < len(code); i++ {
		if code[i] != code[0] {
			return false
		}
	}
	return true
}

// isRun reports whether each digit is the previous one plus step, modulo 10
// (step 1: ascending, step 9: descending).
func isRun(code string, step int) bool {
	for i := 1; i < len(code); i++ {
		if int(code[i]-'0') != (int(code[i-1]-'0')+step)%10 {
			return false
		}
	}
	return true
}

// iterations of PBKDF2: the passcode is short, the hash only keeps it out of
// memory dumps and logs; a real wallet would also bind it to the device.
const iterations = 4096

// Passcode is a wallet passcode with its wrong-entry counter. The zero value
// is not usable; build one with New. A Passcode is not safe for concurrent
// use.
type Passcode struct {
	salt   [16]byte
	hash   []byte
	failed int // consecutive wrong entries
}

// New checks code against R-G3a and R-G3b and returns a Passcode holding a
// salted hash of it. rand supplies the salt (inject a fixed reader for
// deterministic tests).
func New(code string, rand io.Reader) (*Passcode, error) {
	if err := Check(code); err != nil {
		return nil, err
	}
	p := &Passcode{}
	if err := p.set(code, rand); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Passcode) set(code string, rand io.Reader) error {
	if rand == nil {
		return errors.New("passcode: no random source")
	}
	if _, err := io.ReadFull(rand, p.salt[:]); err != nil {
		return fmt.Errorf("passcode: salt: %w", err)
	}
	h, err := derive(code, p.salt[:])
	if err != nil {
		return err
	}
	p.hash = h
	return nil
}

func derive(code string, salt []byte) ([]byte, error) {
	h, err := pbkdf2.Key(sha256.New, code, salt, iterations, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("passcode: hash: %w", err)
	}
	return h, nil
}

// Verify checks an entry. A match resets the wrong-entry counter and returns
// nil. A mismatch returns a *WrongError (wrapping ErrWrong, or ErrLocked when
// it was the 5th in a row). Once locked, every entry, right or wrong, returns
// ErrLocked without being compared (R-G3c).
func (p *Passcode) Verify(entry string) error {
	if p.Locked() {
		return ErrLocked
	}
	h, err := derive(entry, p.salt[:])
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(h, p.hash) == 1 {
		p.failed = 0
		return nil
	}
	p.failed++
	if p.failed >= MaxTries {
		return &WrongError{Remaining: 0, Err: ErrLocked}
	}
	return &WrongError{Remaining: MaxTries - p.failed, Err: ErrWrong}
}

// Locked reports whether MaxTries consecutive wrong entries locked the
// passcode.
func (p *Passcode) Locked() bool { return p.failed >= MaxTries }

// Failed returns the number of consecutive wrong entries so far.
func (p *Passcode) Failed() int { return p.failed }

// Remaining returns how many wrong entries are left before the lock.
func (p *Passcode) Remaining() int {
	if p.failed >= MaxTries {
		return 0
	}
	return MaxTries - p.failed
}

// SetFailed sets the wrong-entry counter, for restoring saved state and for
// test scenarios (a value of MaxTries or more leaves it locked). Negative
// values count as 0.
func (p *Passcode) SetFailed(n int) {
	if n < 0 {
		n = 0
	}
	p.failed = n
}

// Change replaces the passcode after checking the current one (a wrong
// current passcode counts as a wrong entry) and the new one's rules.
func (p *Passcode) Change(current, next string, rand io.Reader) error {
	if err := Check(next); err != nil {
		return err
	}
	if err := p.Verify(current); err != nil {
		return err
	}
	return p.set(next, rand)
}

// Reset is the issuer service centre's reset after it has verified the
// cardholder (R-G3c): it sets a new passcode, checked against the rules, and
// clears the wrong-entry counter and the lock.
func (p *Passcode) Reset(next string, rand io.Reader) error {
	if err := Check(next); err != nil {
		return err
	}
	if err := p.set(next, rand); err != nil {
		return err
	}
	p.failed = 0
	return nil
}

// String describes the state without the passcode.
func (p *Passcode) String() string {
	if p.Locked() {
		return "passcode(locked)"
	}
	return fmt.Sprintf("passcode(%d wrong entries)", p.failed)
}

// GoString is String, so that %#v shows no hash or salt.
func (p *Passcode) GoString() string { return p.String() }
