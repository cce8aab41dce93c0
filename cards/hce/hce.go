// Package hce holds the transaction credentials of a Host Card Emulation
// phone: single-use session keys that the issuer's cloud platform derives
// from the card's ICC master key and hands to the phone in batches. The
// phone never holds the ICC master key (R-S5c); each key serves exactly one
// transaction and is deleted when taken (R-S5b); the platform replenishes
// the batch when it runs low.
//
// A credential is the EMV common session key of EMV Book 2 Annex A1.3 for
// one Application Transaction Counter value: SK = cryptogram.SessionKey(
// SessionEMV, MK, ATC). The issuer host, which holds the master key, checks
// the phone's cryptogram with the ordinary CVN path (derive MK, derive the
// session key from the ATC in the authorisation, verify), so both ends agree
// by construction. Only CVNs whose session key depends on the ATC alone can
// be used: a key derived with the terminal's unpredictable number (Mastercard
// CVN 16/17) cannot be prepared in advance, and CVN 10 would hand out the
// master key itself.
package hce

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// Sentinel errors.
var (
	// ErrExhausted reports that no credential is left: the phone cannot tap
	// until the platform replenishes it.
	ErrExhausted = errors.New("hce: no transaction credential left, replenishment needed")
	// ErrCVN reports a CVN whose session key cannot be prepared in advance.
	ErrCVN = errors.New("hce: cryptogram version unusable for single-use keys")
	// ErrDuplicate reports a credential for an ATC already held or already
	// used: a key may serve one transaction only (R-S5b).
	ErrDuplicate = errors.New("hce: credential for an ATC already held or used")
	// ErrATC reports a transaction whose ATC is not the credential's.
	ErrATC = errors.New("hce: ATC does not match the credential")
	// ErrCount reports a batch size out of range.
	ErrCount = errors.New("hce: batch size out of range")
)

// MaxBatch is the largest batch DeriveBatch makes.
const MaxBatch = 1000

// Credential is one single-use transaction key and the ATC it belongs to.
// It prints only the ATC and the key's check value.
type Credential struct {
	ATC uint16
	Key keys.Key
}

// String shows the ATC and key check value.
func (c Credential) String() string { return fmt.Sprintf("credential ATC %04X key %v", c.ATC, c.Key) }

// GoString is String, so that %#v shows no key.
func (c Credential) GoString() string { return c.String() }

// CheckCVN reports whether cvn can run on single-use keys: its session key
// must be the EMV common session key, derived from the ATC alone.
func CheckCVN(cvn *cryptogram.CVN) error {
	if cvn == nil {
		return fmt.Errorf("%w: none", ErrCVN)
	}
	if cvn.Session != cryptogram.SessionEMV {
		return fmt.Errorf("%w: %v derives its key %v", ErrCVN, cvn, cvn.Session)
	}
	return nil
}

// DeriveBatch is the cloud platform's side: from the ICC master key mk it
// derives n credentials for ATC first, first+1, ... with cvn's session key
// method. ATCs may not wrap past FFFF.
func DeriveBatch(cvn *cryptogram.CVN, mk keys.Key, first uint16, n int) ([]Credential, error) {
	if err := CheckCVN(cvn); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxBatch {
		return nil, fmt.Errorf("%w: %d, want 1 to %d", ErrCount, n, MaxBatch)
	}
	if int(first)+n-1 > 0xFFFF {
		return nil, fmt.Errorf("%w: ATC %04X + %d passes FFFF", ErrCount, first, n)
	}
	out := make([]Credential, 0, n)
	for i := range n {
		atc := first + uint16(i)
		sk, err := cryptogram.SessionKey(cvn.Session, mk, []byte{byte(atc >> 8), byte(atc)}, nil)
		if err != nil {
			return nil, fmt.Errorf("hce: derive ATC %04X: %w", atc, err)
		}
		out = append(out, Credential{ATC: atc, Key: sk})
	}
	return out, nil
}

// GenerateAC computes the application cryptogram with a credential, as the
// phone does: the CVN's data (minimum set + 9F10 part) from tags, MACed
// with the credential's key. The ATC in tags (9F36) must be the
// credential's.
func GenerateAC(cvn *cryptogram.CVN, c Credential, tags cryptogram.Source) ([]byte, error) {
	if err := CheckCVN(cvn); err != nil {
		return nil, err
	}
	atc, ok := tags.Value(cryptogram.TagATC)
	if !ok || len(atc) != 2 || uint16(atc[0])<<8|uint16(atc[1]) != c.ATC {
		return nil, fmt.Errorf("%w: credential is for ATC %04X", ErrATC, c.ATC)
	}
	data, err := cvn.Data(tags)
	if err != nil {
		return nil, fmt.Errorf("hce: %w", err)
	}
	ac, err := cryptogram.ComputeAC(c.Key, data, cvn.Padding)
	if err != nil {
		return nil, fmt.Errorf("hce: %w", err)
	}
	return ac, nil
}

// Store is the phone's credential store. Credentials are taken oldest ATC
// first; a taken credential is gone for good (R-S5b), and its ATC can never
// be loaded again. The zero value is an empty store with no low-water mark.
// A Store is safe for concurrent use: the cloud platform may load a batch
// while the phone pays or shows how many keys it holds.
type Store struct {
	mu       sync.Mutex
	creds    []Credential
	used     map[uint16]bool
	lowWater int
}

// NewStore returns a store that asks for replenishment when it holds
// lowWater credentials or fewer.
func NewStore(lowWater int) *Store { return &Store{lowWater: lowWater} }

// Add loads credentials (a batch from the platform). A credential whose ATC
// is already held or was already used is refused with ErrDuplicate and
// nothing of the batch is loaded.
func (s *Store) Add(creds ...Credential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[uint16]bool{}
	for _, c := range s.creds {
		seen[c.ATC] = true
	}
	for _, c := range creds {
		if seen[c.ATC] || s.used[c.ATC] {
			return fmt.Errorf("%w: ATC %04X", ErrDuplicate, c.ATC)
		}
		if c.Key.IsZero() {
			return fmt.Errorf("hce: credential for ATC %04X has no key", c.ATC)
		}
		seen[c.ATC] = true
	}
	s.creds = append(s.creds, creds...)
	slices.SortFunc(s.creds, func(a, b Credential) int { return int(a.ATC) - int(b.ATC) })
	return nil
}

// Take removes and returns the credential with the lowest ATC; it fails
// with ErrExhausted when none is left.
func (s *Store) Take() (Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.take()
}

func (s *Store) take() (Credential, error) {
	if len(s.creds) == 0 {
		return Credential{}, ErrExhausted
	}
	c := s.creds[0]
	s.creds[0] = Credential{}
	s.creds = s.creds[1:]
	if s.used == nil {
		s.used = map[uint16]bool{}
	}
	s.used[c.ATC] = true
	return c, nil
}

// Len returns the number of credentials left.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.creds)
}

// NextATC returns the ATC of the next credential Take would return.
func (s *Store) NextATC() (uint16, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.creds) == 0 {
		return 0, false
	}
	return s.creds[0].ATC, true
}

// Used reports whether the credential for atc was taken.
func (s *Store) Used(atc uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used[atc]
}

// NeedsReplenish reports whether the store is at or below its low-water
// mark (always true when empty).
func (s *Store) NeedsReplenish() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.creds) == 0 || len(s.creds) <= s.lowWater
}

// Discard drops every credential left, e.g. when the phone is reported lost
// (R-C1); their ATCs count as used.
func (s *Store) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.creds) > 0 {
		_, _ = s.take()
	}
}

// String shows the count, never keys.
func (s *Store) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("hce store: %d credentials, %d used", len(s.creds), len(s.used))
}

// GoString is String, so that %#v shows no keys.
func (s *Store) GoString() string { return s.String() }
