package cloudsvc

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// The kinds of the platform's stored records.
const (
	RecordCard    = "card"
	RecordBinding = "binding"
	RecordPending = "pending"
)

// Record is one record of the platform's lasting state, in the platform's
// encoding (JSON): a card account with its card data sealed under the
// data key, a binding (device ID, device public keys, status, its last
// challenge, the keys issued to it, the sealed mobile PIN), or a
// registration waiting for its OTP. None holds anything sensitive in
// clear.
type Record struct {
	Kind string
	ID   string
	Body []byte
}

// Store keeps the platform's state across restarts (the issuer's
// database). The platform loads it once (New) and writes every change
// through to it as it makes it; it keeps its own copy for reading.
type Store interface {
	// Load is every record and the audit trail, oldest entry first.
	Load() ([]Record, []AuditEntry, error)
	// Put creates or replaces a record.
	Put(Record) error
	// Delete removes a record; a missing one is no error.
	Delete(kind, id string) error
	// Audit appends an entry to the audit trail.
	Audit(AuditEntry) error
}

type snapPending struct {
	ID       string          `json:"id"`
	CardRef  string          `json:"cardRef"`
	DeviceID string          `json:"deviceId"`
	Keys     wire.PublicKeys `json:"keys"`
	Expires  time.Time       `json:"expires"`
	PIN      []byte          `json:"pin,omitempty"`
}

func cardRecord(c *cardAccount) snapCard {
	return snapCard{Ref: c.Ref, Holder: c.Holder, PSN: c.PSN, IMK: c.IMK, API: c.API, DKI: c.DKI,
		MaskedPAN: c.MaskedPAN, Sealed: c.Sealed, CVN: c.CVN, UMDIMK: c.UMDIMK, NextATC: c.nextATC, Issued: maps.Clone(c.issued)}
}

func bindingRecord(b *binding) snapBinding {
	return snapBinding{ID: b.ID, CardRef: b.CardRef, DeviceID: b.DeviceID, Keys: b.Keys,
		Status: b.Status, CreatedAt: b.CreatedAt, Downloaded: b.Downloaded, LastIssue: b.LastIssue, PIN: b.PIN,
		Salt: b.Salt, Issued: slices.Sorted(maps.Keys(b.issued)), Reported: reportedKeys(b), Reconciled: b.reconciled,
		Challenge: b.challenge, ChallengeEnds: b.challengeEnds}
}

// reportedKeys are the keys of b a transaction log reported, sorted.
func reportedKeys(b *binding) []string {
	var out []string
	for id, reported := range b.issued {
		if reported {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// issuedKeys is the issued keys of a stored binding, those reported
// true; a reported key must be an issued one.
func issuedKeys(b snapBinding) (map[string]bool, error) {
	issued := make(map[string]bool, len(b.Issued))
	for _, id := range b.Issued {
		issued[id] = false
	}
	for _, id := range b.Reported {
		if _, ok := issued[id]; !ok {
			return nil, fmt.Errorf("%w: key %s reported, not issued", ErrInput, id)
		}
		issued[id] = true
	}
	return issued, nil
}

func checkCard(c snapCard, cards map[string]*cardAccount) (*cardAccount, error) {
	if !idRE.MatchString(c.Ref) || cards[c.Ref] != nil || len(c.Sealed) == 0 ||
		(c.CVN != wire.HCECVNVisaCloud && c.CVN != wire.HCECVNMCCloud) {
		return nil, fmt.Errorf("%w: stored card account", ErrInput)
	}
	issued := c.Issued
	if issued == nil {
		issued = map[int64]int{}
	}
	return &cardAccount{Ref: c.Ref, Holder: c.Holder, PSN: c.PSN, IMK: c.IMK, API: c.API, DKI: c.DKI,
		MaskedPAN: c.MaskedPAN, Sealed: c.Sealed, CVN: c.CVN, UMDIMK: c.UMDIMK, nextATC: c.NextATC, issued: issued}, nil
}

func checkBinding(b snapBinding, cards map[string]*cardAccount, bindings map[string]*binding) (*binding, error) {
	if cards[b.CardRef] == nil || !idRE.MatchString(b.DeviceID) || bindings[b.ID] != nil || b.Keys.Sign == nil ||
		b.Keys.Enc == nil || (b.Status != wire.HCEBindingActive && b.Status != wire.HCEBindingSuspended) {
		return nil, fmt.Errorf("%w: stored binding", ErrInput)
	}
	issued, err := issuedKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%w: stored binding", ErrInput)
	}
	return &binding{ID: b.ID, CardRef: b.CardRef, DeviceID: b.DeviceID, Keys: b.Keys, Status: b.Status,
		CreatedAt: b.CreatedAt, Downloaded: b.Downloaded, LastIssue: b.LastIssue, PIN: b.PIN, Salt: b.Salt, issued: issued,
		reconciled: b.Reconciled, challenge: b.Challenge, challengeEnds: b.ChallengeEnds}, nil
}

// load fills the platform's copy from its store.
func (s *Service) load() error {
	recs, audit, err := s.cfg.Store.Load()
	if err != nil {
		return fmt.Errorf("cloudsvc: load: %w", err)
	}
	cards, bindings, pend := map[string]*cardAccount{}, map[string]*binding{}, map[string]*pending{}
	// Card accounts first: bindings and registrations name them.
	for _, kind := range []string{RecordCard, RecordBinding, RecordPending} {
		for _, r := range recs {
			if r.Kind != kind {
				continue
			}
			switch kind {
			case RecordCard:
				var c snapCard
				if err := json.Unmarshal(r.Body, &c); err != nil {
					return fmt.Errorf("%w: stored card account %s: %w", ErrInput, r.ID, err)
				}
				ca, err := checkCard(c, cards)
				if err != nil {
					return err
				}
				cards[ca.Ref] = ca
			case RecordBinding:
				var b snapBinding
				if err := json.Unmarshal(r.Body, &b); err != nil {
					return fmt.Errorf("%w: stored binding %s: %w", ErrInput, r.ID, err)
				}
				bd, err := checkBinding(b, cards, bindings)
				if err != nil {
					return err
				}
				bindings[bd.ID] = bd
			case RecordPending:
				var p snapPending
				if err := json.Unmarshal(r.Body, &p); err != nil || cards[p.CardRef] == nil || p.Keys.Sign == nil || p.Keys.Enc == nil {
					return fmt.Errorf("%w: stored registration %s", ErrInput, r.ID)
				}
				pend[p.ID] = &pending{ID: p.ID, CardRef: p.CardRef, DeviceID: p.DeviceID, Keys: p.Keys, Expires: p.Expires, PIN: p.PIN}
			}
		}
	}
	s.st.cards, s.st.bindings, s.st.pending, s.st.audit = cards, bindings, pend, audit
	return nil
}

// putLocked writes a record through to the store (none: nothing to do).
func (s *Service) putLocked(kind, id string, v any) error {
	if s.cfg.Store == nil {
		return nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cloudsvc: store: %w", err)
	}
	if err := s.cfg.Store.Put(Record{Kind: kind, ID: id, Body: body}); err != nil {
		return fmt.Errorf("cloudsvc: store: %w", err)
	}
	return nil
}

func (s *Service) putCardLocked(c *cardAccount) error {
	return s.putLocked(RecordCard, c.Ref, cardRecord(c))
}

func (s *Service) putBindingLocked(b *binding) error {
	return s.putLocked(RecordBinding, b.ID, bindingRecord(b))
}

func (s *Service) putPendingLocked(p *pending) error {
	return s.putLocked(RecordPending, p.ID, snapPending{ID: p.ID, CardRef: p.CardRef, DeviceID: p.DeviceID, Keys: p.Keys,
		Expires: p.Expires, PIN: p.PIN})
}

func (s *Service) deletePendingLocked(id string) error {
	if s.cfg.Store == nil {
		return nil
	}
	if err := s.cfg.Store.Delete(RecordPending, id); err != nil {
		return fmt.Errorf("cloudsvc: store: %w", err)
	}
	return nil
}

// MemoryStore is a Store in memory, for tests: a platform made again on
// it finds what the first one wrote. It is safe for concurrent use.
type MemoryStore struct {
	mu    sync.Mutex
	recs  map[[2]string][]byte
	audit []AuditEntry
}

// Load implements Store.
func (m *MemoryStore) Load() ([]Record, []AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for k, b := range m.recs {
		out = append(out, Record{Kind: k[0], ID: k[1], Body: slices.Clone(b)})
	}
	return out, slices.Clone(m.audit), nil
}

// Put implements Store.
func (m *MemoryStore) Put(r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[[2]string][]byte{}
	}
	m.recs[[2]string{r.Kind, r.ID}] = slices.Clone(r.Body)
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(kind, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, [2]string{kind, id})
	return nil
}

// Audit implements Store.
func (m *MemoryStore) Audit(e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, e)
	return nil
}
