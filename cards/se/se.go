// Package se models the secure element of an SE phone: a chip holding
// Security Domains (SDs), each owned by one party (the SE issuer, a card
// issuer, ...), keyed with its own key, and walled off from the others by a
// firewall (R-G5d): the data and applets of a domain are reachable only
// through a session opened on that domain with that domain's key.
//
// The contactless side of the SE (what a terminal reaches over NFC) sees
// only the applets that are installed, personalised and not locked, by AID,
// and only through their APDU interface: never their keys or data.
//
// Authentication to a domain is a challenge-response: the SE draws a
// challenge from its random source and compares, in constant time, the CMAC
// of the challenge under the domain key with the CMAC under the key offered.
// A key never leaves the SE, never prints (keys.Key shows only its check
// value) and is never named in an error.
//
// # GlobalPlatform
//
// The same SE answers a TSM as a GlobalPlatform card (Process, gp.go): an
// Issuer Security Domain (the first domain created) and Supplementary
// Security Domains, each with SCP03 key sets (SetKeys, PUT KEY); CPLC and
// card recognition data by GET DATA; an SCP03 secure channel (package
// scp03) under which a domain installs applet instances of the modules the
// SE holds (AddModule), personalises them with STORE DATA of EMV CPS DGIs
// (package dgi; keys enciphered under K-DEK), locks, unlocks and deletes
// them, and creates SSDs (the ISD only). Each domain reaches only its own
// instances and the SSDs associated with it (R-G5d). The host side of the
// same commands is package gp.
package se

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Sentinel errors.
var (
	// ErrAuth reports a key that does not open the domain: the firewall
	// refuses the session (R-G5d).
	ErrAuth = errors.New("se: domain authentication failed")
	// ErrNoDomain reports an AID with no security domain.
	ErrNoDomain = errors.New("se: no such security domain")
	// ErrExists reports a domain or applet AID already in use.
	ErrExists = errors.New("se: AID already in use")
	// ErrLocked reports a locked domain.
	ErrLocked = errors.New("se: security domain locked")
	// ErrClosed reports a session used after Close.
	ErrClosed = errors.New("se: session closed")
	// ErrAID reports an AID that is not 5 to 16 bytes.
	ErrAID = errors.New("se: AID must be 5 to 16 bytes")
	// ErrKey reports a domain key that is not a TDES or AES key.
	ErrKey = errors.New("se: domain key must be a TDES or AES key")
)

// Applet is a contactless application installed in a domain. It answers
// C-APDUs once selected; the SE routes to it by AID.
type Applet interface {
	// AID is the application identifier the terminal selects.
	AID() []byte
}

// SE is a secure element. Create it with New; it is not safe for concurrent
// use.
type SE struct {
	rand    io.Reader
	domains []*domain
	modules []*module
	cplc    gp.CPLC
	gp      gpSession
	// agreement is the SE's static key-agreement key pair and cert its
	// authority's certificate (confidential key setup, gp.PutKeyAgreedCmd).
	agreement *ecdh.PrivateKey
	cert      []byte
}

type domain struct {
	aid    []byte
	owner  string
	key    keys.Key
	locked bool
	data   map[string][]byte
	applet Applet

	// GlobalPlatform (gp.go).
	isd       bool
	parent    *domain
	gpState   byte
	keySets   []*keySet
	instances []*instance
}

// New returns an empty SE whose authentication challenges come from rand
// (inject a fixed reader for deterministic runs).
func New(rand io.Reader) *SE { return &SE{rand: rand} }

func checkAID(aid []byte) error {
	if len(aid) < 5 || len(aid) > 16 {
		return ErrAID
	}
	return nil
}

func (s *SE) find(aid []byte) *domain {
	for _, d := range s.domains {
		if bytes.Equal(d.aid, aid) {
			return d
		}
	}
	return nil
}

// CreateDomain adds a security domain identified by aid, owned by owner
// (a name for people, e.g. "issuer 476173") and keyed with key. The first
// domain created is the Issuer Security Domain (ISD) of the GlobalPlatform
// interface (gp.go); the others are associated with it. In a real SE the
// ISD creates the others (Process: INSTALL [for install] of SDModule);
// here the SE owner may also create them directly.
func (s *SE) CreateDomain(aid []byte, owner string, key keys.Key) error {
	if err := checkAID(aid); err != nil {
		return err
	}
	if key.IsZero() || (key.Alg() != keys.TDES && key.Alg() != keys.AES) || (key.Alg() == keys.TDES && key.Len() == 8) {
		return ErrKey
	}
	if s.inUse(aid) {
		return fmt.Errorf("%w: domain %X", ErrExists, aid)
	}
	s.domains = append(s.domains, &domain{aid: bytes.Clone(aid), owner: owner, key: key, data: map[string][]byte{},
		isd: len(s.domains) == 0, parent: s.isd(), gpState: gp.StatePersonalized})
	return nil
}

// Domains returns the AIDs of the domains, in creation order.
func (s *SE) Domains() [][]byte {
	out := make([][]byte, len(s.domains))
	for i, d := range s.domains {
		out[i] = bytes.Clone(d.aid)
	}
	return out
}

// Owner returns the owner of the domain aid.
func (s *SE) Owner(aid []byte) (string, error) {
	d := s.find(aid)
	if d == nil {
		return "", fmt.Errorf("%w: %X", ErrNoDomain, aid)
	}
	return d.owner, nil
}

// Open authenticates to the domain aid with key and returns a session bound
// to that domain alone. A wrong key gives ErrAuth: the firewall keeps the
// domain's data and applet out of reach (R-G5d). A locked domain can still
// be opened by its owner, to unlock it.
func (s *SE) Open(aid []byte, key keys.Key) (*Session, error) {
	d := s.find(aid)
	if d == nil {
		return nil, fmt.Errorf("%w: %X", ErrNoDomain, aid)
	}
	if s.rand == nil {
		return nil, errors.New("se: no random source")
	}
	challenge := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, challenge); err != nil {
		return nil, fmt.Errorf("se: challenge: %w", err)
	}
	want, err := mac.CMAC(d.key, challenge)
	if err != nil {
		return nil, fmt.Errorf("se: %w", err)
	}
	got, err := mac.CMAC(key, challenge)
	if err != nil || key.Alg() != d.key.Alg() || !mac.Equal(want, got) {
		return nil, fmt.Errorf("%w: domain %X", ErrAuth, aid)
	}
	return &Session{se: s, d: d}, nil
}

// applet returns the installed applet with aid, whatever its domain's state.
func (s *SE) applet(aid []byte) *domain {
	for _, d := range s.domains {
		if d.applet != nil && bytes.Equal(d.applet.AID(), aid) {
			return d
		}
	}
	return nil
}

// Selectable returns the applets the contactless interface can reach: those
// installed in a domain that is not locked, in domain creation order, each
// domain's directly installed applet first, then its GlobalPlatform
// instances that are personalised, selectable and not locked.
func (s *SE) Selectable() []Applet {
	var out []Applet
	for _, d := range s.domains {
		if d.locked {
			continue
		}
		if d.applet != nil {
			out = append(out, d.applet)
		}
		for _, in := range d.instances {
			if reachable(in) {
				out = append(out, in.applet)
			}
		}
	}
	return out
}

// reachable reports whether a GlobalPlatform instance answers the
// contactless interface: personalised, selectable, not locked.
func reachable(in *instance) bool {
	return in.applet != nil && in.state&gp.StateSelectable == gp.StateSelectable && in.state&gp.StateLockedBit == 0
}

// Select returns the selectable applet with aid, or nil.
func (s *SE) Select(aid []byte) Applet {
	if d := s.applet(aid); d != nil {
		if d.locked {
			return nil
		}
		return d.applet
	}
	d, in := s.findInstance(aid)
	if in == nil || d.locked || !reachable(in) {
		return nil
	}
	return in.applet
}

// String lists the domains without keys or data.
func (s *SE) String() string {
	parts := make([]string, len(s.domains))
	for i, d := range s.domains {
		state := "open"
		if d.locked {
			state = "locked"
		}
		parts[i] = fmt.Sprintf("%X(%s, %s)", d.aid, d.owner, state)
	}
	return "SE[" + strings.Join(parts, " ") + "]"
}

// GoString is String, so that %#v shows no keys or data.
func (s *SE) GoString() string { return s.String() }

// Session is an authenticated channel to one security domain. Everything it
// does stays inside that domain.
type Session struct {
	se *SE
	d  *domain
}

func (x *Session) check() error {
	if x == nil || x.d == nil {
		return ErrClosed
	}
	return nil
}

// AID returns the domain's AID.
func (x *Session) AID() []byte {
	if x == nil || x.d == nil {
		return nil
	}
	return bytes.Clone(x.d.aid)
}

// Put stores a data object of the domain (personalisation data).
func (x *Session) Put(name string, value []byte) error {
	if err := x.check(); err != nil {
		return err
	}
	x.d.data[name] = bytes.Clone(value)
	return nil
}

// Get returns a data object of the domain.
func (x *Session) Get(name string) ([]byte, bool, error) {
	if err := x.check(); err != nil {
		return nil, false, err
	}
	v, ok := x.d.data[name]
	return bytes.Clone(v), ok, nil
}

// Names lists the domain's data object names, sorted.
func (x *Session) Names() ([]string, error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(x.d.data)), nil
}

// Install puts applet into the domain, replacing the one there. Its AID must
// not be used by another domain or applet.
func (x *Session) Install(a Applet) error {
	if err := x.check(); err != nil {
		return err
	}
	if a == nil {
		return errors.New("se: no applet")
	}
	if err := checkAID(a.AID()); err != nil {
		return err
	}
	if o := x.se.applet(a.AID()); o != nil && o != x.d {
		return fmt.Errorf("%w: applet %X", ErrExists, a.AID())
	}
	if _, in := x.se.findInstance(a.AID()); in != nil {
		return fmt.Errorf("%w: applet %X is a GlobalPlatform instance", ErrExists, a.AID())
	}
	if o := x.se.find(a.AID()); o != nil {
		return fmt.Errorf("%w: applet %X is a domain AID", ErrExists, a.AID())
	}
	x.d.applet = a
	return nil
}

// Applet returns the domain's applet, or nil.
func (x *Session) Applet() (Applet, error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	return x.d.applet, nil
}

// Delete removes the domain's applet and data.
func (x *Session) Delete() error {
	if err := x.check(); err != nil {
		return err
	}
	x.d.applet = nil
	clear(x.d.data)
	return nil
}

// Lock makes the domain's applet unreachable from the contactless interface
// (e.g. after a lost-phone report); Unlock reverses it.
func (x *Session) Lock() error {
	if err := x.check(); err != nil {
		return err
	}
	x.d.locked = true
	return nil
}

// Unlock makes the domain's applet reachable again.
func (x *Session) Unlock() error {
	if err := x.check(); err != nil {
		return err
	}
	x.d.locked = false
	return nil
}

// Locked reports whether the domain is locked.
func (x *Session) Locked() bool { return x != nil && x.d != nil && x.d.locked }

// Close ends the session; later calls fail with ErrClosed.
func (x *Session) Close() { x.d = nil }

// String names the domain, never its key or data.
func (x *Session) String() string {
	if x == nil || x.d == nil {
		return "session(closed)"
	}
	return "session(" + strings.ToUpper(hex.EncodeToString(x.d.aid)) + ")"
}

// GoString is String, so that %#v shows no keys or data.
func (x *Session) GoString() string { return x.String() }
