package tsm

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Store is where a TSM keeps its state durably: records by kind and key
// (order statuses, the one-set-per-SE marks, the orders waiting with
// their sealed scripts, the registered SEs with their sealed ISD keys)
// and its transaction log (R-S4d). Keys and scripts reach it only sealed
// under the TSM's security module (R-S4f). MemoryStore keeps them in
// memory; provision/tsm/sqlstore in SQLite. A download in progress is
// not kept: after a restart its session is over.
type Store interface {
	Put(kind, key string, value []byte) error
	Delete(kind, key string) error
	// List returns every record of kind.
	List(kind string) (map[string][]byte, error)
	AppendLog(e Entry) error
	// Log returns the transaction log, oldest first.
	Log() ([]Entry, error)
}

// MemoryStore is a Store in memory.
type MemoryStore struct {
	mu  sync.Mutex
	m   map[string]map[string][]byte
	log []Entry
}

// NewMemoryStore makes an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]map[string][]byte{}} }

// Put implements Store.
func (s *MemoryStore) Put(kind, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[kind] == nil {
		s.m[kind] = map[string][]byte{}
	}
	s.m[kind][key] = append([]byte(nil), value...)
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(kind, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m[kind], key)
	return nil
}

// List implements Store.
func (s *MemoryStore) List(kind string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range s.m[kind] {
		out[k] = append([]byte(nil), v...)
	}
	return out, nil
}

// AppendLog implements Store.
func (s *MemoryStore) AppendLog(e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
	return nil
}

// Log implements Store.
func (s *MemoryStore) Log() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.log...), nil
}

// Dump is every record of the store, one line each, sorted (R-G5g tests
// read what the TSM keeps).
func Dump(s Store, kinds ...string) ([]string, error) {
	var out []string
	for _, k := range kinds {
		m, err := s.List(k)
		if err != nil {
			return nil, err
		}
		for key, v := range m {
			out = append(out, fmt.Sprintf("%s %s %s", k, key, v))
		}
	}
	sort.Strings(out)
	return out, nil
}

// pmap is a map written through to a Store: reads from m, every change
// by set and del. Its owner's lock guards it.
type pmap[V any] struct {
	kind  string
	m     map[string]V
	st    Store
	onErr func(error)
}

func newPmap[V any](st Store, kind string, onErr func(error)) (*pmap[V], error) {
	p := &pmap[V]{kind: kind, m: map[string]V{}, st: st, onErr: onErr}
	all, err := st.List(kind)
	if err != nil {
		return nil, fmt.Errorf("tsm: loading %s: %w", kind, err)
	}
	for k, b := range all {
		var v V
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("tsm: loading %s %q: %w", kind, k, err)
		}
		p.m[k] = v
	}
	return p, nil
}

func (p *pmap[V]) set(k string, v V) {
	p.m[k] = v
	b, err := json.Marshal(v)
	if err == nil {
		err = p.st.Put(p.kind, k, b)
	}
	if err != nil {
		p.onErr(fmt.Errorf("tsm: storing %s: %w", p.kind, err))
	}
}

func (p *pmap[V]) del(k string) {
	if _, ok := p.m[k]; !ok {
		return
	}
	delete(p.m, k)
	if err := p.st.Delete(p.kind, k); err != nil {
		p.onErr(fmt.Errorf("tsm: deleting %s: %w", p.kind, err))
	}
}
