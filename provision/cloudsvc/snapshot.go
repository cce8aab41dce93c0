package cloudsvc

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// SnapshotVersion is the version of the snapshot format.
const SnapshotVersion = 1

// snapshot is the platform's lasting state. It holds nothing in clear
// that is sensitive: card data and mobile PINs stay sealed under the data
// key, devices are known by their public keys. Waiting registrations and
// challenges are not kept.
type snapshot struct {
	Version  int           `json:"version"`
	Cards    []snapCard    `json:"cards"`
	Bindings []snapBinding `json:"bindings"`
	Audit    []AuditEntry  `json:"audit"`
}

type snapCard struct {
	Ref       string        `json:"ref"`
	Holder    string        `json:"holder"`
	PSN       string        `json:"psn"`
	IMK       string        `json:"imk"`
	API       uint16        `json:"api"`
	DKI       byte          `json:"dki"`
	MaskedPAN string        `json:"maskedPan"`
	Sealed    []byte        `json:"sealed"`
	CVN       string        `json:"cvn"`
	UMDIMK    string        `json:"umdImk,omitempty"`
	NextATC   uint16        `json:"nextAtc"`
	Issued    map[int64]int `json:"issued,omitempty"`
}

type snapBinding struct {
	ID         string          `json:"id"`
	CardRef    string          `json:"cardRef"`
	DeviceID   string          `json:"deviceId"`
	Keys       wire.PublicKeys `json:"keys"`
	Status     string          `json:"status"`
	CreatedAt  time.Time       `json:"createdAt"`
	Downloaded bool            `json:"downloaded"`
	LastIssue  time.Time       `json:"lastIssue"`
	PIN        []byte          `json:"pin,omitempty"`
	Salt       []byte          `json:"salt,omitempty"`
	Issued     []string        `json:"issued,omitempty"`
	// Reported are the issued keys a transaction log reported spent;
	// Reconciled tells a binding that keeps them from one saved before
	// they were kept.
	Reported   []string `json:"reported,omitempty"`
	Reconciled bool     `json:"reconciled,omitempty"`
	// Challenge is the binding's open challenge (stored records only;
	// spent ones are cleared).
	Challenge     string    `json:"challenge,omitempty"`
	ChallengeEnds time.Time `json:"challengeEnds,omitzero"`
}

// Snapshot is the platform's lasting state as JSON (card accounts with
// their sealed data, bindings, the audit trail), for Restore after a
// restart. Nothing sensitive is in it in clear.
func (s *Service) Snapshot() ([]byte, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := snapshot{Version: SnapshotVersion, Audit: slices.Clone(s.st.audit)}
	for _, ref := range slices.Sorted(maps.Keys(s.st.cards)) {
		out.Cards = append(out.Cards, cardRecord(s.st.cards[ref]))
	}
	for _, id := range slices.Sorted(maps.Keys(s.st.bindings)) {
		r := bindingRecord(s.st.bindings[id])
		r.Challenge, r.ChallengeEnds = "", time.Time{} // stored records only
		out.Bindings = append(out.Bindings, r)
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("cloudsvc: snapshot: %w", err)
	}
	return data, nil
}

// Restore loads a Snapshot into a platform that has no card account yet
// (ErrExists otherwise). A snapshot that does not parse, or whose
// bindings name unknown card accounts, is ErrInput.
func (s *Service) Restore(data []byte) error {
	var in snapshot
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%w: snapshot: %w", ErrInput, err)
	}
	if in.Version != SnapshotVersion {
		return fmt.Errorf("%w: snapshot version %d", ErrInput, in.Version)
	}
	cards := map[string]*cardAccount{}
	for _, c := range in.Cards {
		card, err := checkCard(c, cards)
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		cards[c.Ref] = card
	}
	bindings := map[string]*binding{}
	for _, b := range in.Bindings {
		bd, err := checkBinding(b, cards, bindings)
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		bindings[b.ID] = bd
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if len(s.st.cards) != 0 {
		return fmt.Errorf("%w: restore into a platform that has card accounts", ErrExists)
	}
	for _, ref := range slices.Sorted(maps.Keys(cards)) {
		if err := s.putCardLocked(cards[ref]); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bindings)) {
		if err := s.putBindingLocked(bindings[id]); err != nil {
			return err
		}
	}
	s.st.cards, s.st.bindings = cards, bindings
	s.st.audit = append(slices.Clone(in.Audit), s.st.audit...)
	return nil
}
