package cloud

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
)

// ErrLedger reports a key issued twice or a malformed ledger entry.
var ErrLedger = errors.New("cloud: key ledger")

// KeyKind tells the two cloud-payment key models apart.
type KeyKind string

// The key kinds of the ledger.
const (
	// KindLUK is a visa-cloud limited-use key, named by its key index.
	KindLUK KeyKind = "luk"
	// KindSUK is an mc-cloud single-use key pair, named by its ATC.
	KindSUK KeyKind = "suk"
)

// IssuedKey is the ledger's record of one cloud key: which phone it went
// to, when, and how often it served. It holds no key.
type IssuedKey struct {
	Kind     KeyKind
	CardRef  string
	DeviceID string
	// KeyIndex is the visa-cloud key index (KindLUK).
	KeyIndex emvcloud.KeyIndex
	// API is the visa-cloud account parameters index (KindLUK).
	API uint16
	// ATC is the mc-cloud transaction counter the key serves (KindSUK).
	ATC uint16
	// IssuedAt is when the platform issued it.
	IssuedAt time.Time
	// Used is the number of transactions it served.
	Used int
}

type ledgerKey struct {
	kind    KeyKind
	cardRef string
	id      uint32
}

type deviceKey struct{ cardRef, deviceID string }

// MaxPINTries is the number of consecutive wrong mobile PINs (an mc-cloud
// UMD cryptogram that fails while the MD one holds) after which the
// issuer locks the phone's card until its service centre resets it
// (R-G3c).
const MaxPINTries = 5

// DeviceState is what the ledger knows of one phone of a card account:
// suspended (lost, R-C1), its consecutive wrong mobile PINs and whether
// they locked it (R-G3c).
type DeviceState struct {
	CardRef, DeviceID string
	Suspended         bool
	PINFailures       int
	PINLocked         bool
}

// LedgerStore keeps a Ledger across restarts (the issuer's database). The
// ledger writes a key or a phone's state to it before it changes its own
// copy: a write that fails changes nothing.
type LedgerStore interface {
	// LoadLedger is every key and phone state stored.
	LoadLedger() ([]IssuedKey, []DeviceState, error)
	// PutKey creates or replaces a key's record.
	PutKey(IssuedKey) error
	// PutDevice creates or replaces a phone's state.
	PutDevice(DeviceState) error
}

// Ledger is the issuer's record of the cloud-payment keys its own cloud
// platform issued (R-M3: issuer and platform are one institution): which
// key of which card account went to which phone, how often it served,
// and which phones are suspended (R-C1). The platform writes it at each
// download and replenishment, the authorisation reads and updates it at
// each tap. It is safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	keys    map[ledgerKey]*IssuedKey
	devices map[deviceKey]DeviceState
	st      LedgerStore
	now     func() time.Time
}

// NewLedger makes an empty ledger on the clock now (time.Now when nil).
func NewLedger(now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{keys: map[ledgerKey]*IssuedKey{}, devices: map[deviceKey]DeviceState{}, now: now}
}

// OpenLedger makes a ledger kept in st, with what st holds already, on
// the clock now (time.Now when nil).
func OpenLedger(st LedgerStore, now func() time.Time) (*Ledger, error) {
	l := NewLedger(now)
	if st == nil {
		return l, nil
	}
	keys, devs, err := st.LoadLedger()
	if err != nil {
		return nil, fmt.Errorf("%w: load: %w", ErrLedger, err)
	}
	for _, k := range keys {
		id, err := idOf(k)
		if err != nil {
			return nil, err
		}
		k := k
		l.keys[id] = &k
	}
	for _, d := range devs {
		l.devices[deviceKey{d.CardRef, d.DeviceID}] = d
	}
	l.st = st
	return l, nil
}

// Attach keeps the ledger in st from now on: what st holds is loaded into
// the ledger (st's records win over the ledger's own), and every later
// change is written to st first. For a ledger made before its store could
// be opened (NewLedger).
func (l *Ledger) Attach(st LedgerStore) error {
	if st == nil {
		return fmt.Errorf("%w: attach: no store", ErrLedger)
	}
	keys, devs, err := st.LoadLedger()
	if err != nil {
		return fmt.Errorf("%w: load: %w", ErrLedger, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		id, err := idOf(k)
		if err != nil {
			return err
		}
		k := k
		l.keys[id] = &k
	}
	for _, d := range devs {
		l.devices[deviceKey{d.CardRef, d.DeviceID}] = d
	}
	l.st = st
	return nil
}

// refreshLocked is the record of key id, read again from st when st is a
// KeyReader (the authorisation's transaction: another issuer instance on
// the same database may have used the key or suspended its phone since
// this ledger loaded), with its phone's record; the ledger's own copy
// otherwise. nil when the key was never issued.
func (l *Ledger) refreshLocked(st LedgerStore, id ledgerKey) (*IssuedKey, error) {
	r, ok := st.(KeyReader)
	if !ok {
		return l.keys[id], nil
	}
	k, found, err := r.ReadKey(id.kind, id.cardRef, id.id)
	if err != nil {
		return nil, err
	}
	if !found {
		return l.keys[id], nil
	}
	l.keys[id] = &k
	d, found, err := r.ReadDevice(k.CardRef, k.DeviceID)
	if err != nil {
		return nil, err
	}
	if found {
		l.devices[deviceKey{k.CardRef, k.DeviceID}] = d
	}
	return &k, nil
}

// idOf is the ledger's key of a record.
func idOf(k IssuedKey) (ledgerKey, error) {
	switch k.Kind {
	case KindLUK:
		return ledgerKey{KindLUK, k.CardRef, k.KeyIndex.Uint32()}, nil
	case KindSUK:
		return ledgerKey{KindSUK, k.CardRef, uint32(k.ATC)}, nil
	}
	return ledgerKey{}, fmt.Errorf("%w: key kind %q", ErrLedger, k.Kind)
}

// putKeyIn stores k (a changed copy of a record) and then takes it; the
// ledger is locked. It writes to st (a transaction under way) instead of
// the ledger's own store when both are set.
func (l *Ledger) putKeyIn(st LedgerStore, id ledgerKey, k IssuedKey) error {
	if l.st != nil {
		if st == nil {
			st = l.st
		}
		if err := st.PutKey(k); err != nil {
			return fmt.Errorf("%w: store: %w", ErrLedger, err)
		}
	}
	l.keys[id] = &k
	return nil
}

// putDeviceIn stores d and then takes it, as putKeyIn.
func (l *Ledger) putDeviceIn(st LedgerStore, d DeviceState) error {
	if l.st != nil {
		if st == nil {
			st = l.st
		}
		if err := st.PutDevice(d); err != nil {
			return fmt.Errorf("%w: store: %w", ErrLedger, err)
		}
	}
	l.devices[deviceKey{d.CardRef, d.DeviceID}] = d
	return nil
}

// IssueLUK records the limited-use key ki of cardRef as issued to
// deviceID. A key index recorded already is ErrLedger.
func (l *Ledger) IssueLUK(cardRef, deviceID string, ki emvcloud.KeyIndex, api uint16) error {
	return l.issue(IssuedKey{Kind: KindLUK, CardRef: cardRef, DeviceID: deviceID, KeyIndex: ki, API: api},
		ledgerKey{KindLUK, cardRef, ki.Uint32()})
}

// IssueSUK records the single-use keys of ATC atc of cardRef as issued to
// deviceID. An ATC recorded already is ErrLedger.
func (l *Ledger) IssueSUK(cardRef, deviceID string, atc uint16) error {
	return l.issue(IssuedKey{Kind: KindSUK, CardRef: cardRef, DeviceID: deviceID, ATC: atc},
		ledgerKey{KindSUK, cardRef, uint32(atc)})
}

func (l *Ledger) issue(k IssuedKey, id ledgerKey) error {
	if k.CardRef == "" || k.DeviceID == "" {
		return fmt.Errorf("%w: a key needs a card reference and a device", ErrLedger)
	}
	// The store is written without the ledger's lock held: a tap holds
	// the lock while it writes in the authorisation's own database
	// transaction.
	l.mu.Lock()
	_, dup := l.keys[id]
	st := l.st
	k.IssuedAt = l.now()
	l.mu.Unlock()
	if dup {
		return fmt.Errorf("%w: %s key %d of card %s issued already", ErrLedger, k.Kind, id.id, k.CardRef)
	}
	if st != nil {
		if err := st.PutKey(k); err != nil {
			return fmt.Errorf("%w: store: %w", ErrLedger, err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.keys[id]; ok {
		return fmt.Errorf("%w: %s key %d of card %s issued already", ErrLedger, k.Kind, id.id, k.CardRef)
	}
	l.keys[id] = &k
	return nil
}

// changeDevice applies change to the phone's state, in the store first
// (without the ledger's lock held, as issue), then in the ledger.
func (l *Ledger) changeDevice(cardRef, deviceID string, change func(*DeviceState)) error {
	key := deviceKey{cardRef, deviceID}
	l.mu.Lock()
	d, st := l.devices[key], l.st
	l.mu.Unlock()
	d.CardRef, d.DeviceID = cardRef, deviceID
	change(&d)
	if st != nil {
		if err := st.PutDevice(d); err != nil {
			return fmt.Errorf("%w: store: %w", ErrLedger, err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.devices[key]
	cur.CardRef, cur.DeviceID = cardRef, deviceID
	change(&cur)
	l.devices[key] = cur
	return nil
}

// SuspendDevice marks the phone deviceID of cardRef suspended: none of
// the keys issued to it serves any more (R-C1). Other phones of the same
// card account are not affected.
func (l *Ledger) SuspendDevice(cardRef, deviceID string) error {
	return l.changeDevice(cardRef, deviceID, func(d *DeviceState) { d.Suspended = true })
}

// Suspended reports whether the phone is suspended.
func (l *Ledger) Suspended(cardRef, deviceID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.devices[deviceKey{cardRef, deviceID}].Suspended
}

// PINLocked reports whether the phone's card is locked by wrong mobile
// PINs (R-G3c).
func (l *Ledger) PINLocked(cardRef, deviceID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.devices[deviceKey{cardRef, deviceID}].PINLocked
}

// ResetPIN is the service centre's reset of the phone's mobile PIN tries
// once it has verified the cardholder (R-G3c): the count goes back to
// zero and the lock is lifted.
func (l *Ledger) ResetPIN(cardRef, deviceID string) error {
	return l.changeDevice(cardRef, deviceID, func(d *DeviceState) { d.PINFailures, d.PINLocked = 0, false })
}

// pinResultLocked counts a wrong mobile PIN of the phone (locking it at
// MaxPINTries) or, for a right one, clears the count.
func (l *Ledger) pinResultLocked(st LedgerStore, cardRef, deviceID string, ok bool) error {
	d := l.devices[deviceKey{cardRef, deviceID}]
	if ok && d.PINFailures == 0 {
		return nil
	}
	d.CardRef, d.DeviceID = cardRef, deviceID
	if ok {
		d.PINFailures = 0
	} else {
		d.PINFailures++
		d.PINLocked = d.PINLocked || d.PINFailures >= MaxPINTries
	}
	return l.putDeviceIn(st, d)
}

// Keys is a copy of every record of cardRef, for the issuer's staff.
func (l *Ledger) Keys(cardRef string) []IssuedKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []IssuedKey
	for _, k := range l.keys {
		if k.CardRef == cardRef {
			out = append(out, *k)
		}
	}
	return out
}

// KeyID names k in the transaction logs of the phone and the platform:
// a limited-use key by its key index, a single-use key pair by its ATC
// (emv/cloud.SUKID).
func KeyID(k IssuedKey) string {
	if k.Kind == KindSUK {
		return emvcloud.SUKID(k.ATC)
	}
	return k.KeyIndex.String()
}

// Served is the IDs (KeyID), sorted, of the keys of cardRef issued to
// deviceID that served at least one transaction: what the phone's
// transaction log must account for when it asks for more keys. With a
// store, the records are the store's (another issuer instance on the same
// database counts its taps there), read without the ledger's lock held.
func (l *Ledger) Served(cardRef, deviceID string) ([]string, error) {
	l.mu.Lock()
	st := l.st
	var keys []IssuedKey
	if st == nil {
		for _, k := range l.keys {
			keys = append(keys, *k)
		}
	}
	l.mu.Unlock()
	if st != nil {
		var err error
		if keys, _, err = st.LoadLedger(); err != nil {
			return nil, fmt.Errorf("%w: load: %w", ErrLedger, err)
		}
	}
	var out []string
	for _, k := range keys {
		if k.CardRef == cardRef && k.DeviceID == deviceID && k.Used > 0 {
			out = append(out, KeyID(k))
		}
	}
	slices.Sort(out)
	return out, nil
}

// ledgerSnapshot is the Ledger's state as JSON.
type ledgerSnapshot struct {
	Keys      []snapKey   `json:"keys"`
	Suspended [][2]string `json:"suspended,omitempty"` // card reference, device
}

type snapKey struct {
	Kind     KeyKind   `json:"kind"`
	CardRef  string    `json:"cardRef"`
	DeviceID string    `json:"deviceId"`
	KeyIndex string    `json:"keyIndex,omitempty"`
	API      uint16    `json:"api,omitempty"`
	ATC      uint16    `json:"atc,omitempty"`
	IssuedAt time.Time `json:"issuedAt"`
	Used     int       `json:"used"`
}

// Snapshot is the ledger as JSON, for Restore after a restart. It holds
// references only, no key.
func (l *Ledger) Snapshot() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out ledgerSnapshot
	for _, k := range l.keys {
		s := snapKey{Kind: k.Kind, CardRef: k.CardRef, DeviceID: k.DeviceID, API: k.API, ATC: k.ATC, IssuedAt: k.IssuedAt, Used: k.Used}
		if k.Kind == KindLUK {
			s.KeyIndex = k.KeyIndex.String()
		}
		out.Keys = append(out.Keys, s)
	}
	for d, st := range l.devices {
		if st.Suspended {
			out.Suspended = append(out.Suspended, [2]string{d.cardRef, d.deviceID})
		}
	}
	slices.SortFunc(out.Keys, func(a, b snapKey) int {
		return cmp.Or(cmp.Compare(a.CardRef, b.CardRef), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.KeyIndex, b.KeyIndex), cmp.Compare(a.ATC, b.ATC))
	})
	slices.SortFunc(out.Suspended, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", ErrLedger, err)
	}
	return data, nil
}

// Restore replaces the ledger's content with a Snapshot; one that does not
// parse, or names a key twice, is ErrLedger and changes nothing. It is for
// a ledger without a LedgerStore: a stored ledger is not rewritten.
func (l *Ledger) Restore(data []byte) error {
	var in ledgerSnapshot
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%w: snapshot: %w", ErrLedger, err)
	}
	keys := map[ledgerKey]*IssuedKey{}
	for _, s := range in.Keys {
		k := IssuedKey{Kind: s.Kind, CardRef: s.CardRef, DeviceID: s.DeviceID, API: s.API, ATC: s.ATC, IssuedAt: s.IssuedAt, Used: s.Used}
		var id ledgerKey
		switch s.Kind {
		case KindLUK:
			ki, err := emvcloud.ParseKeyIndex(s.KeyIndex)
			if err != nil {
				return fmt.Errorf("%w: snapshot: %w", ErrLedger, err)
			}
			k.KeyIndex, id = ki, ledgerKey{KindLUK, s.CardRef, ki.Uint32()}
		case KindSUK:
			id = ledgerKey{KindSUK, s.CardRef, uint32(s.ATC)}
		default:
			return fmt.Errorf("%w: snapshot: key kind %q", ErrLedger, s.Kind)
		}
		if k.CardRef == "" || k.DeviceID == "" || k.Used < 0 || keys[id] != nil {
			return fmt.Errorf("%w: snapshot: key of card %s", ErrLedger, s.CardRef)
		}
		keys[id] = &k
	}
	devices := map[deviceKey]DeviceState{}
	for _, d := range in.Suspended {
		devices[deviceKey{d[0], d[1]}] = DeviceState{CardRef: d[0], DeviceID: d[1], Suspended: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys, l.devices = keys, devices
	return nil
}

// MemoryLedgerStore is a LedgerStore in memory, for tests: a ledger
// opened again on it finds what the first one wrote. It is safe for
// concurrent use.
type MemoryLedgerStore struct {
	mu      sync.Mutex
	keys    map[ledgerKey]IssuedKey
	devices map[deviceKey]DeviceState
}

// LoadLedger implements LedgerStore.
func (m *MemoryLedgerStore) LoadLedger() ([]IssuedKey, []DeviceState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []IssuedKey
	for _, k := range m.keys {
		ks = append(ks, k)
	}
	var ds []DeviceState
	for _, d := range m.devices {
		ds = append(ds, d)
	}
	return ks, ds, nil
}

// PutKey implements LedgerStore.
func (m *MemoryLedgerStore) PutKey(k IssuedKey) error {
	id, err := idOf(k)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[ledgerKey]IssuedKey{}
	}
	m.keys[id] = k
	return nil
}

// PutDevice implements LedgerStore.
func (m *MemoryLedgerStore) PutDevice(d DeviceState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.devices == nil {
		m.devices = map[deviceKey]DeviceState{}
	}
	m.devices[deviceKey{d.CardRef, d.DeviceID}] = d
	return nil
}
