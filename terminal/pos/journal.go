package pos

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
)

// Journal errors.
var (
	// ErrNotFound reports a void of a transaction the journal does not
	// hold.
	ErrNotFound = errors.New("pos: no such transaction in the journal")
	// ErrAlreadyVoided reports a second void of the same transaction.
	ErrAlreadyVoided = errors.New("pos: transaction already voided")
	// ErrNoPAN reports a journal record without its PAN: a void needs it
	// to route the reversal.
	ErrNoPAN = errors.New("pos: journal record has no PAN")
)

// Ref names an earlier transaction of this terminal: by its STAN (field
// 11) or its retrieval reference number (field 37). One of them is enough.
type Ref struct {
	STAN string
	RRN  string
}

// String prints the reference.
func (r Ref) String() string {
	switch {
	case r.STAN != "" && r.RRN != "":
		return "STAN " + r.STAN + " RRN " + r.RRN
	case r.RRN != "":
		return "RRN " + r.RRN
	}
	return "STAN " + r.STAN
}

// Matches reports whether rec is the transaction r names.
func (r Ref) Matches(rec Record) bool {
	if r.STAN == "" && r.RRN == "" {
		return false
	}
	if r.STAN != "" && r.STAN != rec.Request.STAN {
		return false
	}
	return r.RRN == "" || r.RRN == rec.Request.RRN
}

// Record is an approved online transaction as the journal keeps it for a
// later void: the request as sent without track 2, PIN block, key serial
// number, chip data and MAC (isospec.NewReversal needs none of them), and
// the answer's approval code. It prints masked.
type Record struct {
	Request  isospec.AuthorizationRequest
	AuthCode string
	Time     time.Time
	Voided   bool
}

// NewRecord keeps what a void needs of req: the sensitive fields a
// reversal does not carry are dropped.
func NewRecord(req isospec.AuthorizationRequest, authCode string, at time.Time) Record {
	req.Track2 = ""
	req.PINBlock = nil
	req.SecurityControl = nil
	req.ICCData = nil
	req.MAC = nil
	req.PrivateData = ""
	return Record{Request: req, AuthCode: authCode, Time: at}
}

// MaskedPAN is the record's PAN, masked.
func (r Record) MaskedPAN() string { return pan.Mask(r.Request.PAN) }

// String summarises the record, masked.
func (r Record) String() string {
	s := fmt.Sprintf("STAN %s RRN %s PAN %s amount %d auth %s", r.Request.STAN, r.Request.RRN, r.MaskedPAN(), r.Request.Amount, r.AuthCode)
	if r.Voided {
		s += " (voided)"
	}
	return s
}

// Format prints String for every verb.
func (r Record) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// Journal keeps the terminal's approved online transactions so that they
// can be voided.
type Journal interface {
	// Add records an approved transaction.
	Add(Record) error
	// Find returns the transaction ref names, or ErrNotFound.
	Find(ref Ref) (Record, error)
	// MarkVoided records that the transaction with this STAN was voided.
	MarkVoided(stan string) error
}

// MemJournal is a Journal in memory. The zero value is ready; it is safe
// for concurrent use.
type MemJournal struct {
	mu   sync.Mutex
	recs []Record
}

// Add records rec.
func (j *MemJournal) Add(rec Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.recs = append(j.recs, rec)
	return nil
}

// Find returns the latest record ref matches.
func (j *MemJournal) Find(ref Ref) (Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.recs) - 1; i >= 0; i-- {
		if ref.Matches(j.recs[i]) {
			return j.recs[i], nil
		}
	}
	return Record{}, fmt.Errorf("%w: %s", ErrNotFound, ref)
}

// MarkVoided marks the latest record with this STAN.
func (j *MemJournal) MarkVoided(stan string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.recs) - 1; i >= 0; i-- {
		if j.recs[i].Request.STAN == stan {
			j.recs[i].Voided = true
			return nil
		}
	}
	return fmt.Errorf("%w: STAN %s", ErrNotFound, stan)
}

// Records returns a copy of every record, oldest first.
func (j *MemJournal) Records() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.recs...)
}

// STANSource hands out systems trace audit numbers (field 11): one per
// message the terminal originates, from 1 to 999999 and round again.
type STANSource interface {
	NextSTAN() uint32
}

// Counter is a STANSource counting up from its last value. It is safe for
// concurrent use.
type Counter struct {
	mu   sync.Mutex
	last uint32
}

// NewCounter returns a counter whose next STAN follows last (0 for a new
// terminal).
func NewCounter(last uint32) *Counter { return &Counter{last: last % 1_000_000} }

// NextSTAN returns the next STAN: 1 after 999999.
func (c *Counter) NextSTAN() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last++
	if c.last > 999_999 {
		c.last = 1
	}
	return c.last
}

// Last is the latest STAN handed out (0 if none).
func (c *Counter) Last() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
