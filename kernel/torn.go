package kernel

import (
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/tlv"
)

// TornRecord is one torn transaction (EMV Contactless Book C-2): a GENERATE
// AC the card may have answered but whose response the reader lost. It
// keeps what recovery needs: the card (PAN and PAN Sequence Number), when it
// tore, the terminal data the command carried (the values of the CDOL1 and
// DRDOL tags), the CDOL1 and PDOL related data for the CDA hash, and the
// reference control parameter the command asked with.
type TornRecord struct {
	PAN   string
	PSN   []byte
	At    time.Time
	Term  tlv.Map
	CDOL1 []byte
	PDOL  []byte
	// Ref is GENERATE AC's P1 (cryptogram type and CDA request).
	Ref byte
}

// TornLog is a reader's torn transaction log: it outlives a transaction,
// so a terminal keeps one for its kernel (Config.TornLog). Records are
// looked up, and taken out, by the card that tore. It is safe for
// concurrent use.
type TornLog struct {
	mu   sync.Mutex
	recs []TornRecord
}

// Add keeps rec, dropping the oldest records beyond max (Max Number of Torn
// Transaction Log Records, DF811D); max 0 keeps none.
func (l *TornLog) Add(rec TornRecord, max int) {
	if max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, rec)
	if len(l.recs) > max {
		l.recs = append([]TornRecord(nil), l.recs[len(l.recs)-max:]...)
	}
}

// Take removes the records older than lifetime (Max Lifetime of Torn
// Transaction Log Record, DF811C; 0 means they do not expire), then removes
// and returns the latest record of the card pan and psn.
func (l *TornLog) Take(pan string, psn []byte, now time.Time, lifetime time.Duration) (TornRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.recs[:0]
	for _, r := range l.recs {
		if lifetime > 0 && now.Sub(r.At) > lifetime {
			continue
		}
		kept = append(kept, r)
	}
	l.recs = kept
	for i := len(l.recs) - 1; i >= 0; i-- {
		r := l.recs[i]
		if r.PAN == pan && string(r.PSN) == string(psn) {
			l.recs = append(l.recs[:i], l.recs[i+1:]...)
			return r, true
		}
	}
	return TornRecord{}, false
}

// Len counts the records kept.
func (l *TornLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}
