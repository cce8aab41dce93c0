package cloudsvc

import (
	"slices"
	"sync"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// cardAccount is a card account the platform serves. Sealed is the real
// card data (cardSecrets, JSON) encrypted under the platform's data key;
// the rest is not sensitive.
type cardAccount struct {
	Ref       string
	Holder    string
	PSN       string
	IMK       string
	API       uint16
	DKI       byte
	MaskedPAN string
	Sealed    []byte
	// CVN is wire.HCECVNVisaCloud or wire.HCECVNMCCloud; UMDIMK labels
	// the mc-cloud UMD issuer master key.
	CVN    string
	UMDIMK string
	// nextATC is the next mc-cloud ATC to issue.
	nextATC uint16
	// issued counts the keys issued per hour (key index counter).
	issued map[int64]int
}

// cardSecrets is what is sealed at rest.
type cardSecrets struct {
	PAN         string `json:"pan"`
	Expiry      string `json:"expiry"`
	CloudPAN    string `json:"cloudPan"`
	CloudExpiry string `json:"cloudExpiry"`
}

// pending is a registration waiting for its OTP.
type pending struct {
	ID       string
	CardRef  string
	DeviceID string
	Keys     wire.PublicKeys
	Expires  time.Time
	PIN      []byte // the sealed mobile PIN of an mc-cloud card
}

// binding is a phone bound to a card account.
type binding struct {
	ID         string
	CardRef    string
	DeviceID   string
	Keys       wire.PublicKeys
	Status     string
	CreatedAt  time.Time
	Downloaded bool
	LastIssue  time.Time
	PIN        []byte // the sealed mobile PIN of an mc-cloud card
	Salt       []byte // the salt of its PIN mask
	// issued are the keys (key index, or cloud.SUKID) issued to the
	// phone, true once a replenishment's transaction log reported them
	// spent: a log may name these only, and must name every one the
	// issuer saw serve a transaction that is not reported yet.
	// reconciled is false for a binding saved by a build that did not
	// keep the reported keys: its first replenishment takes the keys
	// that served until then as reported.
	issued        map[string]bool
	reconciled    bool
	challenge     string
	challengeEnds time.Time
}

// AuditEntry is one line of the platform's audit trail: who did what to
// which card account or phone. It carries references and masked numbers
// only.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	CardRef string    `json:"cardRef,omitempty"`
	Device  string    `json:"device,omitempty"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
}

// memStore holds the platform's state in memory.
type memStore struct {
	mu       sync.Mutex
	cards    map[string]*cardAccount
	pending  map[string]*pending
	bindings map[string]*binding // by binding ID
	audit    []AuditEntry
}

func newMemStore() *memStore {
	return &memStore{cards: map[string]*cardAccount{}, pending: map[string]*pending{}, bindings: map[string]*binding{}}
}

// bindingOf is the binding of deviceID to cardRef.
func (s *memStore) bindingOf(cardRef, deviceID string) *binding {
	for _, b := range s.bindings {
		if b.CardRef == cardRef && b.DeviceID == deviceID {
			return b
		}
	}
	return nil
}

// signer is what a signing key is known for: a binding, or a pending
// registration.
func (s *memStore) signer(kid string) (wire.PublicKeys, *binding, *pending) {
	for _, b := range s.bindings {
		if b.Keys.SignKID == kid {
			return b.Keys, b, nil
		}
	}
	for _, p := range s.pending {
		if p.Keys.SignKID == kid {
			return p.Keys, nil, p
		}
	}
	return wire.PublicKeys{}, nil, nil
}

// directory is a wire.Directory of the store's device keys.
type directory struct{ s *memStore }

// Signer implements wire.Directory.
func (d directory) Signer(kid string) (wire.PublicKeys, bool) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	k, b, p := d.s.signer(kid)
	return k, b != nil || p != nil
}

// Dump is every stored value as the platform keeps it, for tests and
// staff tools that check nothing sensitive is kept in clear: card
// accounts with their sealed data, bindings and the audit trail.
type Dump struct {
	Cards    []DumpCard
	Bindings []wire.HCEBinding
	Audit    []AuditEntry
}

// DumpCard is a card account as stored.
type DumpCard struct {
	Ref, Holder, MaskedPAN, PSN, IMK string
	Sealed                           []byte
}

func (s *memStore) dump() Dump {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Dump
	for _, c := range s.cards {
		d.Cards = append(d.Cards, DumpCard{Ref: c.Ref, Holder: c.Holder, MaskedPAN: c.MaskedPAN, PSN: c.PSN, IMK: c.IMK,
			Sealed: slices.Clone(c.Sealed)})
	}
	for _, b := range s.bindings {
		d.Bindings = append(d.Bindings, b.public())
	}
	d.Audit = slices.Clone(s.audit)
	return d
}

func (b *binding) public() wire.HCEBinding {
	return wire.HCEBinding{BindingID: b.ID, CardRef: b.CardRef, DeviceID: b.DeviceID, Status: b.Status, CreatedAt: b.CreatedAt}
}
