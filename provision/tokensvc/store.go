package tokensvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tapsim/tapsim/provision/wire"
)

// ErrUnknownDevice reports device keys the store does not hold.
var ErrUnknownDevice = errors.New("tokensvc: unknown device keys")

// Record is what the token service keeps about a token besides the
// vault: the requestor that asked for it, the device it was asked for
// (its public keys and ID as sent), the step-up methods the issuer
// offered, and how far the delivery went. The token's state is the
// vault's only. A record holds no card data.
type Record struct {
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// RequestorID is the token requestor's ID.
	RequestorID string `json:"tokenRequestorId"`
	// DeviceID is the device ID of the tokenize request.
	DeviceID string `json:"deviceId"`
	// Device are the device's public keys: its signing key signs what
	// the wallet provider relays from the phone, its encryption key
	// receives the token data.
	Device wire.PublicKeys `json:"device"`
	// Methods are the step-up methods offered (masked values).
	Methods []wire.AuthenticationMethod `json:"methods,omitempty"`
	// Delivered says the token data was sent.
	Delivered bool `json:"delivered,omitempty"`
	// Downloaded says the device acknowledged it and the issuer was told.
	Downloaded bool `json:"downloaded,omitempty"`
}

func (r Record) clone() Record {
	r.Methods = slices.Clone(r.Methods)
	return r
}

// Task is the answer given to a request that must be answered alike when
// it comes again under the same task ID: a fingerprint of the request and
// the answer, encoded by the service.
type Task struct {
	// Fingerprint tells a retry from another request under the same ID.
	Fingerprint [32]byte
	// Answer is the answer given, encoded by the service.
	Answer []byte
}

// Store keeps the token service's own state, so that a restarted service
// serves the tokens it made before: the records of the tokens, the device
// keys by signing key ID, and the answers to tasks. Implementations are
// safe for concurrent use. MemoryStore keeps them in memory; the issuer's
// database keeps them for the token service the issuer operates.
type Store interface {
	// PutRecord creates or replaces a token's record.
	PutRecord(ctx context.Context, r Record) error
	// Record returns a token's record (ErrUnknownToken).
	Record(ctx context.Context, tur string) (Record, error)
	// DeviceKeys returns the keys of a device that a record names, by its
	// signing key ID (ErrUnknownDevice).
	DeviceKeys(ctx context.Context, signKID string) (wire.PublicKeys, error)
	// PutTask records the answer to task key; a task recorded already
	// keeps its first answer.
	PutTask(ctx context.Context, key string, t Task) error
	// Task returns the answer recorded for task key, and whether there is
	// one.
	Task(ctx context.Context, key string) (Task, bool, error)
}

// MemoryStore is a Store in memory: its state ends with the process.
type MemoryStore struct {
	mu    sync.Mutex
	recs  map[string]Record
	kids  map[string]string // signing key ID -> TUR of the newest record
	tasks map[string]Task
}

// NewMemoryStore is an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{recs: map[string]Record{}, kids: map[string]string{}, tasks: map[string]Task{}}
}

// PutRecord implements Store.
func (m *MemoryStore) PutRecord(_ context.Context, r Record) error {
	if r.TokenUniqueReference == "" {
		return fmt.Errorf("%w: a record without token", ErrUnknownToken)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.TokenUniqueReference] = r.clone()
	if r.Device.SignKID != "" {
		m.kids[r.Device.SignKID] = r.TokenUniqueReference
	}
	return nil
}

// Record implements Store.
func (m *MemoryStore) Record(_ context.Context, tur string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[tur]
	if !ok {
		return Record{}, fmt.Errorf("%w: %s", ErrUnknownToken, tur)
	}
	return r.clone(), nil
}

// DeviceKeys implements Store.
func (m *MemoryStore) DeviceKeys(_ context.Context, kid string) (wire.PublicKeys, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tur, ok := m.kids[kid]
	if !ok {
		return wire.PublicKeys{}, fmt.Errorf("%w: %s", ErrUnknownDevice, kid)
	}
	return m.recs[tur].Device, nil
}

// PutTask implements Store.
func (m *MemoryStore) PutTask(_ context.Context, key string, t Task) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tasks[key]; !ok {
		t.Answer = slices.Clone(t.Answer)
		m.tasks[key] = t
	}
	return nil
}

// Task implements Store.
func (m *MemoryStore) Task(_ context.Context, key string) (Task, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tasks[key]
	t.Answer = slices.Clone(t.Answer)
	return t, ok, nil
}

// storeDirectory finds the device keys of relayed envelopes: those seen
// by this process, else those the store's records name.
type storeDirectory struct {
	seen  *wire.TrustList
	store Store
}

// Signer implements wire.Directory.
func (d storeDirectory) Signer(kid string) (wire.PublicKeys, bool) {
	if p, ok := d.seen.Signer(kid); ok {
		return p, true
	}
	p, err := d.store.DeviceKeys(context.Background(), kid)
	return p, err == nil
}
