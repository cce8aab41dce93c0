package tsm

import (
	"sync"
	"time"
)

// Entry is one line of a TSM's transaction log (R-S4d). It names the
// order, the SE and the step, never card data or keys.
type Entry struct {
	At      time.Time `json:"at"`
	Order   string    `json:"order"`
	SEID    string    `json:"se_id,omitempty"`
	Step    string    `json:"step"`
	Outcome string    `json:"outcome"`
}

// Log is an append-only transaction log and audit trail.
type Log struct {
	mu      sync.Mutex
	entries []Entry
}

func (l *Log) add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

// Entries returns a copy of the log.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}
