// Package store keeps the acquirer's durable state: the journal of the
// messages it handled, the store-and-forward queue of reversal advices and
// its sequence counters.
//
// The acquirer keeps no sensitive data (R-G5g): a journal line holds the
// masked PAN (first 6 and last 4 digits at most), the BIN, amounts, codes
// and the TID/STAN/RRN that identify a message, never track 2, a PIN block,
// ICC data or a full PAN. The store refuses a line or an advice whose PAN
// field looks unmasked. An advice holds what a reversal advice (0420/0421)
// needs: the original data elements (DE90), amount, masked PAN and the
// 6-digit BIN that routes it again.
//
// Every method commits before it returns, so what it recorded survives a
// crash of the process. Callers depend on the Store interface; SQL
// implements it on SQLite (modernc.org/sqlite, WAL mode, full synchronous
// commits), the embedded default. The statements use plain types, INSERT
// and UPDATE ... RETURNING and no SQLite function, so that a PostgreSQL
// implementation needs only its own id columns (identity instead of
// SQLite's INTEGER PRIMARY KEY), numbered placeholders and a RETURNING id
// on the journal's insert, whose ID SQLite gives as the last insert ID.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound reports a journal line or advice that does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrSensitive reports data that must never be stored: a PAN field that
	// is not masked, or a BIN that is not 6 digits.
	ErrSensitive = errors.New("store: refusing sensitive data")
	// ErrInvalid reports a record that cannot be stored as given.
	ErrInvalid = errors.New("store: invalid record")
	// ErrClosed reports use of a closed store.
	ErrClosed = errors.New("store: closed")
)

// State is the life-cycle state of a journal line.
type State string

const (
	// StatePending: received, forwarded or about to be; no answer yet.
	StatePending State = "pending"
	// StateAnswered: the terminal was answered with the code of the line.
	StateAnswered State = "answered"
	// StateTimedOut: the issuer did not answer in time; the terminal got 91
	// and a reversal advice was queued.
	StateTimedOut State = "timed-out"
	// StateReversed: a reversal of this line was forwarded or queued.
	StateReversed State = "reversed"
)

// Entry is one journal line.
type Entry struct {
	// ID is assigned by the store.
	ID int64
	// At is when the acquirer received the message.
	At time.Time
	// MTI is the terminal's message type (0100, 0400, ...).
	MTI string
	// TID and MID identify the terminal and merchant (DE41, DE42).
	TID, MID string
	// TermSTAN, TermDE7 and TermRRN are the terminal's DE11, DE7 and DE37.
	TermSTAN, TermDE7, TermRRN string
	// AcqSTAN, AcqDE7 and RRN are the values stamped on the issuer link.
	AcqSTAN, AcqDE7, RRN string
	// MaskedPAN is the PAN masked to first 6 and last 4 at most.
	MaskedPAN string
	// BIN is the PAN's first 6 digits; Issuer the link it was routed to.
	BIN, Issuer string
	// Amount in minor units (DE4) and the ISO 4217 numeric currency (DE49).
	Amount   int64
	Currency string
	// ResponseCode is the DE39 answered to the terminal, AuthCode the DE38.
	ResponseCode, AuthCode string
	// Reason is a machine-readable reason (acquirer's own or the issuer's).
	Reason string
	// State is the line's life-cycle state.
	State State
}

// Result is what completes a journal line.
type Result struct {
	// ResponseCode and AuthCode are the DE39 and DE38 answered.
	ResponseCode, AuthCode string
	// Reason is the machine-readable reason of the outcome.
	Reason string
	// State is the line's new state.
	State State
}

// Advice kinds.
const (
	// KindReversal is a reversal advice, 0420 then 0421 (also "").
	KindReversal = "0420"
	// KindStandIn is an authorisation advice, 0120 then 0121, telling the
	// issuer of an approval the acquirer gave in its stead.
	KindStandIn = "0120"
)

// Advice is one advice of the store-and-forward queue: a reversal advice,
// or the advice of a stand-in approval.
type Advice struct {
	// ID is assigned by the store.
	ID int64
	// Kind is KindReversal ("" reads the same) or KindStandIn.
	Kind string
	// AuthCode is the DE38 of a stand-in approval.
	AuthCode string
	// JournalID is the journal line of the reversed message (0 if none).
	JournalID int64
	// CreatedAt is when it was queued; NextAt when it is due again.
	CreatedAt, NextAt time.Time
	// BIN (6 digits) routes the advice to its issuer link.
	BIN string
	// DE90 holds the original data elements as sent to the issuer.
	DE90 string
	// STAN is the advice's own trace number, kept for every repeat.
	STAN string
	// ProcessingCode is the original's DE3.
	ProcessingCode string
	// RRN is the retrieval reference number of the original on the issuer
	// link; TID and MID identify the terminal.
	RRN, TID, MID string
	// Amount and Currency of the original.
	Amount   int64
	Currency string
	// MaskedPAN of the original.
	MaskedPAN string
	// ReasonCode is the DE39 the advice carries (why it is reversed).
	ReasonCode string
	// Attempts counts the sends so far: the first is a 0420, the rest 0421.
	Attempts int
	// Done is set once the issuer acknowledged (0430) with AckCode.
	Done    bool
	AckCode string
	AckedAt time.Time
}

// Store is the acquirer's durable state.
type Store interface {
	// Record appends a journal line and returns its ID.
	Record(ctx context.Context, e Entry) (int64, error)
	// Complete sets a journal line's outcome.
	Complete(ctx context.Context, id int64, r Result) error
	// CompleteLater sets a journal line's outcome as Complete does, without
	// waiting for its commit: the outcome is committed with the store's
	// next commit (which SQL holds up to 2 ms for a write a caller waits
	// for), in order with every write asked for after it (a later Mark,
	// for one). Should the process die first, the line stays pending.
	// done, when set, is called with the outcome of the commit.
	CompleteLater(ctx context.Context, id int64, r Result, done func(error))
	// Mark sets the state of a journal line, keeping its outcome.
	Mark(ctx context.Context, id int64, st State) error
	// Stamp sets the issuer-link STAN, DE7 and RRN of a journal line.
	Stamp(ctx context.Context, id int64, acqSTAN, acqDE7, rrn string) error
	// Original finds the first journal line of a terminal's message of the
	// given type by its TID, STAN and transmission date and time (DE7);
	// later lines with the same numbers are refused duplicates of it.
	Original(ctx context.Context, mti, tid, stan, de7 string) (Entry, error)
	// Sighting finds the last journal line of a terminal's message of the
	// given type by its TID, STAN and DE7 that was not refused as a
	// duplicate (response code 94): the sighting a duplicate window runs
	// from.
	Sighting(ctx context.Context, mti, tid, stan, de7 string) (Entry, error)
	// Since lists the journal lines received at or after t, oldest first.
	Since(ctx context.Context, t time.Time) ([]Entry, error)
	// Recent lists the last limit journal lines received at or after t,
	// oldest first.
	Recent(ctx context.Context, t time.Time, limit int) ([]Entry, error)
	// Entry reads a journal line.
	Entry(ctx context.Context, id int64) (Entry, error)

	// Enqueue stores a reversal advice and, in the same transaction,
	// updates the journal line a.JournalID (when set): its state becomes
	// r.State and, when r.ResponseCode is set, its code, authorisation code
	// and reason become r's.
	Enqueue(ctx context.Context, a Advice, r Result) (int64, error)
	// Due lists undelivered advices due at now whose ID is above after,
	// oldest first, at most limit: a pass pages through them all, the
	// ones it cannot send (their issuer's link down) included.
	Due(ctx context.Context, now time.Time, after int64, limit int) ([]Advice, error)
	// Attempted records one more send of an advice and when it is due next.
	// It is called before the send, so a restart repeats it as a 0421.
	Attempted(ctx context.Context, id int64, next time.Time) (Advice, error)
	// Acknowledge marks an advice delivered.
	Acknowledge(ctx context.Context, id int64, code string, at time.Time) error
	// AdviceFor finds the advice queued for a journal line.
	AdviceFor(ctx context.Context, journalID int64) (Advice, error)
	// Pending counts undelivered advices.
	Pending(ctx context.Context) (int, error)

	// Reserve takes the next n values of the named counter and returns the
	// first; the counter starts at 1.
	Reserve(ctx context.Context, name string, n int64) (int64, error)

	// Close releases the store.
	Close() error
}
