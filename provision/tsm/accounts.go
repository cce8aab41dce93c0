package tsm

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Refusals of operator logins (R-S4c), each its own reason.
var (
	ErrUnknownOperator = errors.New("tsm: login refused: unknown_operator")
	ErrWrongPassword   = errors.New("tsm: login refused: wrong_password")
	ErrLockedOut       = errors.New("tsm: login refused: locked_out")
	ErrChangePassword  = errors.New("tsm: login refused: default_password_must_change")
	ErrOutsideHours    = errors.New("tsm: login refused: outside_login_hours")
	ErrWeakPassword    = errors.New("tsm: password refused: weak_password")
)

// Password hashing: PBKDF2-HMAC-SHA256.
const (
	pbkdf2Iter   = 600_000
	saltLen      = 16
	MaxWrong     = 3
	minPassLen   = 12
	hashLen      = 32
	maxPassBytes = 128
)

// Hours are the hours (UTC, [From, To)) an operator may log in.
type Hours struct{ From, To int }

func (h Hours) allow(t time.Time) bool {
	x := t.UTC().Hour()
	if h.From <= h.To {
		return x >= h.From && x < h.To
	}
	return x >= h.From || x < h.To
}

type account struct {
	salt, hash []byte
	wrong      int
	mustChange bool
	hours      Hours
}

// Accounts are the TSM platform's operator accounts (R-S4c): passwords
// kept only as salted PBKDF2 hashes, MaxWrong wrong passwords lock the
// account, a default password must be changed before anything else, and
// logins only within the account's hours.
type Accounts struct {
	Now  func() time.Time
	Rand io.Reader
	// Iter overrides the PBKDF2 iteration count (tests); pbkdf2Iter when 0.
	Iter int

	mu sync.Mutex
	m  map[string]*account
}

func (a *Accounts) derive(pw string, salt []byte) ([]byte, error) {
	it := a.Iter
	if it <= 0 {
		it = pbkdf2Iter
	}
	return pbkdf2.Key(sha256.New, pw, salt, it, hashLen)
}

func (a *Accounts) set(acc *account, pw string) error {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(a.Rand, salt); err != nil {
		return err
	}
	h, err := a.derive(pw, salt)
	if err != nil {
		return err
	}
	acc.salt, acc.hash = salt, h
	return nil
}

// Create adds an operator with a default password, to be changed at the
// first login.
func (a *Accounts) Create(name, defaultPassword string, hours Hours) error {
	if name == "" || len(defaultPassword) > maxPassBytes || hours.From < 0 || hours.From > 23 || hours.To < 0 || hours.To > 24 {
		return fmt.Errorf("tsm: account %q: invalid", name)
	}
	acc := &account{mustChange: true, hours: hours}
	if err := a.set(acc, defaultPassword); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]*account{}
	}
	a.m[name] = acc
	return nil
}

// check verifies a password, counting wrong ones; a.mu held.
func (a *Accounts) check(name, pw string) (*account, error) {
	acc, ok := a.m[name]
	if !ok {
		return nil, ErrUnknownOperator
	}
	if acc.wrong >= MaxWrong {
		return nil, ErrLockedOut
	}
	if !acc.hours.allow(a.Now()) {
		return nil, ErrOutsideHours
	}
	if len(pw) > maxPassBytes {
		acc.wrong++
		return nil, ErrWrongPassword
	}
	h, err := a.derive(pw, acc.salt)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(h, acc.hash) != 1 {
		acc.wrong++
		if acc.wrong >= MaxWrong {
			return nil, ErrLockedOut
		}
		return nil, ErrWrongPassword
	}
	acc.wrong = 0
	return acc, nil
}

// Login checks an operator's password; a default password is refused
// with ErrChangePassword until changed.
func (a *Accounts) Login(name, pw string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, err := a.check(name, pw)
	if err != nil {
		return err
	}
	if acc.mustChange {
		return ErrChangePassword
	}
	return nil
}

// ChangePassword replaces the password, old one required; the new one
// must be long enough and differ from the old.
func (a *Accounts) ChangePassword(name, old, next string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, err := a.check(name, old)
	if err != nil {
		return err
	}
	if len(next) < minPassLen || len(next) > maxPassBytes || next == old {
		return ErrWeakPassword
	}
	if err := a.set(acc, next); err != nil {
		return err
	}
	acc.mustChange = false
	return nil
}

// Stored is what the account store holds for an operator: salt and hash,
// hex, never the password.
func (a *Accounts) Stored(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.m[name]
	if !ok {
		return ""
	}
	return fmt.Sprintf("pbkdf2-sha256$%x$%x", acc.salt, acc.hash)
}

// loginReason is the machine-readable reason of a login error.
func loginReason(err error) string {
	for _, e := range []error{ErrUnknownOperator, ErrWrongPassword, ErrLockedOut, ErrChangePassword, ErrOutsideHours, ErrWeakPassword} {
		if errors.Is(err, e) {
			msg := e.Error()
			return msg[strings.LastIndex(msg, " ")+1:]
		}
	}
	return "login_failed"
}
