// Package dedup detects duplicate messages: the same terminal (TID),
// systems trace audit number (STAN, DE11) and transmission date and time
// (DE7) seen again within a time window. It is the acquirer's first guard
// against replay (R-G4): a message that already reached the host once is
// never forwarded a second time.
//
// The window is measured on the host's clock (injected), from the first
// sighting. Memory holds only the keys of the window; older keys are dropped
// as new ones arrive.
package dedup

import (
	"sync"
	"time"
)

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

type seen struct {
	key Key
	at  time.Time
}

// Detector remembers the keys of one window. The zero value is not usable;
// use New. It is safe for concurrent use.
type Detector struct {
	window time.Duration

	mu    sync.Mutex
	keys  map[Key]time.Time
	order []seen // oldest first
	head  int
}

// New returns a detector with the given window (at least one nanosecond).
func New(window time.Duration) *Detector {
	if window <= 0 {
		window = time.Nanosecond
	}
	return &Detector{window: window, keys: map[Key]time.Time{}}
}

// Window returns the detection window.
func (d *Detector) Window() time.Duration { return d.window }

// Check reports whether k was already seen within the window ending at now;
// if not, it records k as seen at now. Check and record are one atomic step,
// so of two identical messages arriving together exactly one passes.
func (d *Detector) Check(k Key, now time.Time) (duplicate bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	if at, ok := d.keys[k]; ok && now.Sub(at) < d.window {
		return true
	}
	d.keys[k] = now
	d.order = append(d.order, seen{k, now})
	return false
}

// Remember records k as seen at at without checking, as when the detector
// is primed from a journal after a restart. An older sighting of k is kept.
func (d *Detector) Remember(k Key, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if prev, ok := d.keys[k]; ok && !at.Before(prev) {
		return
	}
	d.keys[k] = at
	d.order = append(d.order, seen{k, at})
}

// Forget removes k, so that the same message may be sent again: used when
// the host refused the message before acting on it (a bad MAC, for
// example), so a corrected retry is not taken for a replay.
func (d *Detector) Forget(k Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.keys, k)
}

// Len returns the number of keys held.
func (d *Detector) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.keys)
}

// expire drops the keys whose window ended by now. Entries of order may be
// stale (forgotten or superseded); only a map entry with the same time is
// removed.
func (d *Detector) expire(now time.Time) {
	for d.head < len(d.order) {
		s := d.order[d.head]
		if now.Sub(s.at) < d.window {
			break
		}
		if at, ok := d.keys[s.key]; ok && at.Equal(s.at) {
			delete(d.keys, s.key)
		}
		d.order[d.head] = seen{}
		d.head++
	}
	// Compact once the consumed prefix dominates.
	if d.head > 1024 && d.head*2 > len(d.order) {
		d.order = append(d.order[:0:0], d.order[d.head:]...)
		d.head = 0
	}
}
