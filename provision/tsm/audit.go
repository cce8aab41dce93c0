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

// Log is an append-only transaction log and audit trail, written through
// to the TSM's Store.
type Log struct {
	mu      sync.Mutex
	entries []Entry
	st      Store
	onErr   func(error)
}

// load reads the log kept in st and writes the next entries there.
func (l *Log) load(st Store, onErr func(error)) error {
	es, err := st.Log()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries, l.st, l.onErr = es, st, onErr
	return nil
}

// reopen ends the downloads that were under way when the TSM stopped and
// loads the log kept in st.
func reopen(status *pmap[string], l *Log, st Store, onErr func(error)) error {
	for id, v := range status.m {
		if v == StatusDownloading {
			status.set(id, ReasonOTAClosed)
		}
	}
	return l.load(st, onErr)
}

func (l *Log) add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	if l.st != nil {
		if err := l.st.AppendLog(e); err != nil && l.onErr != nil {
			l.onErr(err)
		}
	}
}

// Entries returns a copy of the log.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}
