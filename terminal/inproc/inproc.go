// Package inproc puts a virtual card or phone of package cards in the field
// of an in-process reader: a kernel.Reader with no PC/SC underneath, for the
// scenario runner, the TUI's wallet and tests.
//
// The reader can take the card away, at once or after a number of
// exchanges, to test what the kernel does when a card leaves mid-tap.
package inproc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/kernel"
)

// Reader holds one card in its field. The zero Reader has no card. It is
// safe for concurrent use, though a kernel drives it from one goroutine.
type Reader struct {
	// Wait, when set, is how the reader lets a field-off time pass
	// (FieldOff): a simulation advances its clock, a test records it. nil
	// means the field comes back at once: a virtual card cannot tell.
	Wait func(ctx context.Context, d time.Duration) error

	mu          sync.Mutex
	card        cards.Card
	second      cards.Card
	removeAfter int           // exchanges left before the card leaves; <0 never
	loseAfter   int           // exchanges left before a response is lost; <0 never
	stay        time.Duration // how long the card stays once the outcome is known; <0 for ever
	exchanges   int
	fieldOffs   []time.Duration
}

// FieldOff turns the field off for d, as an outcome's Field Off asks (Book
// A 6.2; C-3's See Phone holds it 1.3 s): the card in the field loses power,
// so its selection and the transaction in progress are gone (its persistent
// state stays), and the field stays off for d through Wait. The card is
// still there when the field comes back.
func (r *Reader) FieldOff(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	if r.card != nil {
		r.card.Reset()
	}
	r.fieldOffs = append(r.fieldOffs, d)
	wait := r.Wait
	r.mu.Unlock()
	if wait != nil && d > 0 {
		if err := wait(ctx, d); err != nil {
			return fmt.Errorf("inproc: field off: %w", err)
		}
	}
	return ctx.Err()
}

// FieldOffs lists the field-off times the reader honoured, in order.
func (r *Reader) FieldOffs() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.fieldOffs...)
}

// New returns a reader with c in its field, freshly powered.
func New(c cards.Card) *Reader {
	r := &Reader{removeAfter: -1, loseAfter: -1}
	r.Present(c)
	return r
}

// Present puts c in the field (a new presentation: the card is reset) and
// clears any pending removal.
func (r *Reader) Present(c cards.Card) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card = c
	r.second = nil
	r.removeAfter = -1
	r.loseAfter = -1
	r.stay = 0
	if c != nil {
		c.Reset()
	}
}

// Collide puts other in the field beside the card already there, as a
// cardholder presenting a wallet with two cards would: every command then
// fails with an error wrapping kernel.ErrCollision, until Present or Remove
// leaves one card or none.
func (r *Reader) Collide(other cards.Card) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.second = other
}

// Remove takes the card out of the field; later exchanges fail with
// kernel.ErrCardRemoved.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card, r.second = nil, nil
}

// RemoveAfter lets n more exchanges through, then takes the card away: the
// (n+1)th command finds the field empty.
func (r *Reader) RemoveAfter(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeAfter = n
}

// StayFor says how long the holder leaves the card in the field once the
// transaction's outcome is known: zero (the default of each presentation)
// takes it away at once, a negative d never. WaitRemoved honours it.
func (r *Reader) StayFor(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stay = d
}

// WaitRemoved waits at most timeout for the card to leave the field (it
// makes the reader a kernel.RemovalWaiter): the card leaves after the time
// StayFor set, and the time that passes, the card's stay or the whole
// timeout, goes through Wait, so a simulation advances its clock and
// nothing sleeps. It reports whether the card left; a card that left is
// gone from the field.
func (r *Reader) WaitRemoved(ctx context.Context, timeout time.Duration) (bool, error) {
	r.mu.Lock()
	if r.card == nil {
		r.mu.Unlock()
		return true, nil
	}
	stay, wait := r.stay, r.Wait
	r.mu.Unlock()
	d, removed := stay, true
	if stay < 0 || stay > timeout {
		d, removed = timeout, false
	}
	if wait != nil && d > 0 {
		if err := wait(ctx, d); err != nil {
			return false, fmt.Errorf("inproc: wait for removal: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("inproc: wait for removal: %w", err)
	}
	if removed {
		r.Remove()
	}
	return removed, nil
}

// LoseResponseAfter lets n more exchanges through; the card answers the
// (n+1)th command but leaves the field before its response reaches the
// reader: a torn transaction when the command was GENERATE AC.
func (r *Reader) LoseResponseAfter(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loseAfter = n
}

// Card returns the card in the field, or nil.
func (r *Reader) Card() cards.Card {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.card
}

// Exchanges counts the commands the reader carried since it was made.
func (r *Reader) Exchanges() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exchanges
}

// Transmit hands capdu to the card and returns its answer. With no card in
// the field it returns an error wrapping kernel.ErrCardRemoved.
func (r *Reader) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inproc: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removeAfter == 0 {
		r.card = nil
		r.removeAfter = -1
	}
	if r.card == nil {
		return nil, fmt.Errorf("inproc: no card in the field: %w", kernel.ErrCardRemoved)
	}
	if r.second != nil {
		return nil, fmt.Errorf("inproc: two cards in the field: %w", kernel.ErrCollision)
	}
	if r.removeAfter > 0 {
		r.removeAfter--
	}
	r.exchanges++
	resp := r.card.Process(capdu)
	if r.loseAfter == 0 {
		r.card = nil
		r.loseAfter = -1
		return nil, fmt.Errorf("inproc: the card left before its response: %w", kernel.ErrCardRemoved)
	}
	if r.loseAfter > 0 {
		r.loseAfter--
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("inproc: card answered %d bytes: %w", len(resp), kernel.ErrCardRemoved)
	}
	return resp, nil
}
