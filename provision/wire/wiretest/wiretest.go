// Package wiretest is a test kit for the provisioning services and the
// phones' apps: a clock moved by hand, a deterministic random source safe
// for concurrent readers, and parties (keys) drawn from it, so that a
// test's keys, nonces and times are the same on every run.
package wiretest

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// Epoch is the tests' usual start time.
var Epoch = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

// Clock is a clock moved by hand; safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock is a clock showing at.
func NewClock(at time.Time) *Clock { return &Clock{now: at} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Seeded is a deterministic random source (ChaCha8) safe for concurrent
// readers. It is for tests only: its output is predictable.
type Seeded struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

// NewSeeded is the source whose 32-byte seed starts with seed (the rest
// zero).
func NewSeeded(seed ...byte) *Seeded {
	var s [32]byte
	copy(s[:], seed)
	return &Seeded{r: rand.NewChaCha8(s)}
}

// Read fills p; it never fails.
func (s *Seeded) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// Party is a party named name whose keys are drawn from NewSeeded(seed...).
func Party(t testing.TB, name string, seed ...byte) *wire.Party {
	t.Helper()
	p, err := wire.NewParty(name, NewSeeded(seed...))
	if err != nil {
		t.Fatalf("wiretest: party %s: %v", name, err)
	}
	return p
}
