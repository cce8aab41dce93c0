// Package dedup detects duplicate messages: the same terminal (TID),
// systems trace audit number (STAN, DE11) and transmission date and time
// (DE7) seen again within a time window. It is the acquirer's first guard
// against replay (R-G4): a message that already reached the host once is
// never forwarded a second time.
//
// The window is measured on the host's clock (injected), from the first
// sighting. Memory is bounded: the detector holds at most MaxKeys keys,
// each as a 64-bit keyed hash and a time (about 40 bytes), dropping the
// oldest as new ones arrive and every key whose window ended. What it no
// longer holds it cannot vouch for: See answers Unsure for a key it has
// not seen when the window reaches back before the oldest sighting it
// still holds for certain (after keys were dropped for room, or after a
// restart: MarkIncomplete), and the caller asks its durable journal, which
// keeps every message, whether the key was seen within the window.
package dedup

import (
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxKeys is the most keys a detector holds by default: 65,536
// keys, about 3 MB, a minute of sales at 1,000 a second.
const DefaultMaxKeys = 1 << 16

// Key identifies a terminal's message.
type Key struct {
	// Class separates message classes that may legitimately share a STAN
	// (an authorisation and the reversal that quotes it): "0100", "0400"...
	Class string
	// TID is the terminal ID (DE41).
	TID string
	// STAN is the terminal's trace number (DE11).
	STAN string
	// DE7 is the transmission date and time, MMDDhhmmss.
	DE7 string
}

// Verdict is what See says of a key.
type Verdict int

const (
	// Fresh: not seen within the window; now recorded as seen.
	Fresh Verdict = iota
	// Duplicate: seen within the window.
	Duplicate
	// Unsure: not among the keys held, but the window reaches back before
	// what they cover; now recorded as seen. The caller decides from its
	// journal (and calls Remember with the first sighting's time when it
	// finds one).
	Unsure
)

type seen struct {
	h  uint64
	at int64 // Unix nanoseconds
}

// Detector remembers the keys of one window. The zero value is not usable;
// use New. It is safe for concurrent use.
type Detector struct {
	window time.Duration
	max    int
	seed   maphash.Seed

	mu    sync.Mutex
	keys  map[uint64]int64 // hash -> first sighting
	ring  []seen           // sightings, oldest first from head; may hold stale ones
	head  int
	n     int
	floor int64 // every key seen at or after floor is in keys (0: since the start)
}

// New returns a detector with the given window (at least one nanosecond)
// holding at most DefaultMaxKeys keys.
func New(window time.Duration) *Detector { return NewSize(window, DefaultMaxKeys) }

// NewSize returns a detector with the given window holding at most max
// keys (at least 1).
func NewSize(window time.Duration, max int) *Detector {
	if window <= 0 {
		window = time.Nanosecond
	}
	if max < 1 {
		max = 1
	}
	// Both are made for max keys at once: the detector's memory does not
	// grow as sales come, nor does the heap the garbage collector paces
	// itself by.
	return &Detector{window: window, max: max, seed: maphash.MakeSeed(),
		keys: make(map[uint64]int64, max), ring: make([]seen, max)}
}

// Window returns the detection window.
func (d *Detector) Window() time.Duration { return d.window }

func (d *Detector) hash(k Key) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, s := range [...]string{k.Class, k.TID, k.STAN, k.DE7} {
		_, _ = h.WriteString(s)
		_ = h.WriteByte(0)
	}
	return h.Sum64()
}

// Check reports whether k was already seen within the window ending at now;
// if not, it records k as seen at now. Check and record are one atomic step,
// so of two identical messages arriving together exactly one passes. A key
// the detector cannot vouch for (Unsure) is not a duplicate to Check.
func (d *Detector) Check(k Key, now time.Time) (duplicate bool) {
	return d.See(k, now) == Duplicate
}

// See is Check with the Unsure answer: see the package documentation.
func (d *Detector) See(k Key, now time.Time) Verdict {
	h := d.hash(k)
	t := now.UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(t)
	if at, ok := d.keys[h]; ok && t-at < int64(d.window) {
		return Duplicate
	}
	d.add(h, t)
	if d.floor != 0 && t-d.floor < int64(d.window) {
		return Unsure
	}
	return Fresh
}

// Remember records k as seen at at without checking, in place of any
// sighting held: the sighting its window runs from, as found in the
// journal after a restart or an Unsure answer.
func (d *Detector) Remember(k Key, at time.Time) {
	h := d.hash(k)
	t := at.UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	if prev, ok := d.keys[h]; ok && t == prev {
		return
	}
	d.add(h, t)
}

// MarkIncomplete says that keys seen before at (by an earlier run of the
// host) are not held: until the window has moved past at, a key not held
// is Unsure rather than Fresh.
func (d *Detector) MarkIncomplete(at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := at.UnixNano(); t > d.floor {
		d.floor = t
	}
}

// Forget removes k, so that the same message may be sent again: used when
// the host refused the message before acting on it (a bad MAC, for
// example), so a corrected retry is not taken for a replay.
func (d *Detector) Forget(k Key) {
	h := d.hash(k)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.keys, h)
}

// Len returns the number of keys held.
func (d *Detector) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.keys)
}

// add records h seen at t, dropping the oldest sighting when full.
func (d *Detector) add(h uint64, t int64) {
	if d.n == len(d.ring) {
		old := d.ring[d.head]
		if at, ok := d.keys[old.h]; ok && at == old.at {
			delete(d.keys, old.h)
			if old.at >= d.floor {
				d.floor = old.at + 1
			}
		}
		d.head = (d.head + 1) % len(d.ring)
		d.n--
	}
	d.keys[h] = t
	d.ring[(d.head+d.n)%len(d.ring)] = seen{h, t}
	d.n++
}

// expire drops the keys whose window ended by now. Sightings in the ring
// may be stale (forgotten or superseded); only a map entry with the same
// time is removed.
func (d *Detector) expire(now int64) {
	for d.n > 0 {
		s := d.ring[d.head]
		if now-s.at < int64(d.window) {
			break
		}
		if at, ok := d.keys[s.h]; ok && at == s.at {
			delete(d.keys, s.h)
		}
		d.ring[d.head] = seen{}
		d.head = (d.head + 1) % len(d.ring)
		d.n--
	}
}
