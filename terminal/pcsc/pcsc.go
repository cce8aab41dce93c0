// Package pcsc drives cards and phones on PC/SC readers: a kernel.Reader
// over github.com/ebfe/scard, and so over pcsc-lite's pcscd (or the
// platform's PC/SC service). A real phone on a USB NFC reader, or a
// virtual card served to the vpcd virtual reader (package cards/vpcd), is
// tapped through it exactly like an in-process card.
//
// Open picks a reader by name, index or part of the name. WaitForCard
// waits for a card in the field (with SCardGetStatusChange, cancelled
// through SCardCancel when its context ends) and connects to it in shared
// mode with T=1 or T=0, whichever the card offers. Transmit sends a
// command APDU and follows ISO/IEC 7816-4 response chaining (61xx: GET
// RESPONSE; 6Cxx: the command again with the right Le) unless Options.Raw
// is set.
//
// Failures are *Error values wrapping a sentinel of this package. Those of
// the card (it left the field, was reset, did not answer, gave an empty
// response) also wrap kernel.ErrCardRemoved, so the kernel turns them into
// Try Again ("Present card again"); after them the Reader reconnects by
// itself at the next presentation. Failures of the reader (unplugged:
// ErrReaderGone) or the service (ErrNoService) end the transaction with a
// clear error; the Reader can be used again once the reader or the service
// is back.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/kernel"
)

// DefaultCommandTimeout bounds one exchange with the card when
// Options.CommandTimeout is 0. pcsc-lite itself waits for an answer
// without a limit.
const DefaultCommandTimeout = 10 * time.Second

// waitSlice bounds one SCardGetStatusChange call, so that a cancellation
// that slips in just before the call is noticed soon all the same.
const waitSlice = time.Second

// Options tune a Reader. The zero value is what a payment terminal wants.
type Options struct {
	// Exclusive connects in exclusive mode instead of shared mode.
	Exclusive bool
	// Raw hands 61xx and 6Cxx answers to the caller instead of following
	// them.
	Raw bool
	// CommandTimeout bounds one exchange with the card (default
	// DefaultCommandTimeout); past it Transmit fails with ErrCardComm.
	CommandTimeout time.Duration
}

// Reader is one PC/SC reader and the card in its field. It implements
// kernel.Reader. Its methods may be called from several goroutines, but a
// terminal drives it from one; Close may be called at any time and ends a
// wait.
type Reader struct {
	name   string
	opts   Options
	newCtx func() (scardContext, error)

	mu      sync.Mutex
	sc      scardContext
	card    scardCard
	atr     []byte
	proto   scard.Protocol
	pending chan struct{} // closed when an exchange its caller gave up on ends
	closed  bool
}

// Open connects to the PC/SC service and picks a reader: by its exact
// name, by its index in the service's list ("0" is the first), or by a
// part of its name that only one reader has; "" takes the first reader.
func Open(selector string, o Options) (*Reader, error) {
	sc, err := establish()
	if err != nil {
		return nil, newError("connect to the PC/SC service", "", err)
	}
	names, err := sc.ListReaders()
	if err != nil {
		_ = sc.Release()
		return nil, newError("list readers", "", err)
	}
	name, err := Select(names, selector)
	if err != nil {
		_ = sc.Release()
		return nil, err
	}
	return newReader(name, sc, establish, o), nil
}

func newReader(name string, sc scardContext, newCtx func() (scardContext, error), o Options) *Reader {
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	return &Reader{name: name, sc: sc, newCtx: newCtx, opts: o}
}

// Select picks a reader among names: the one named selector, the one at
// index selector ("0" is the first), or the only one whose name contains
// selector (ignoring case); "" picks the first.
func Select(names []string, selector string) (string, error) {
	if len(names) == 0 {
		return "", &Error{Op: "select reader", Kind: ErrNoReaders}
	}
	if selector == "" {
		return names[0], nil
	}
	for _, n := range names {
		if n == selector {
			return n, nil
		}
	}
	if i, err := strconv.Atoi(selector); err == nil {
		if i < 0 || i >= len(names) {
			return "", &Error{Op: "select reader", Kind: ErrUnknownReader,
				Detail: fmt.Sprintf("index %d, readers are 0 to %d", i, len(names)-1)}
		}
		return names[i], nil
	}
	var found []string
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), strings.ToLower(selector)) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", &Error{Op: "select reader", Kind: ErrUnknownReader,
			Detail: fmt.Sprintf("%q matches none of %s", selector, quoteAll(names))}
	}
	return "", &Error{Op: "select reader", Kind: ErrUnknownReader,
		Detail: fmt.Sprintf("%q matches %s", selector, quoteAll(found))}
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// Name is the reader's PC/SC name.
func (r *Reader) Name() string { return r.name }

// ATR is the Answer To Reset of the connected card, nil when none.
func (r *Reader) ATR() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.atr...)
}

// Protocol is the protocol of the connection with the card: "T=0",
// "T=1", or "" when not connected.
func (r *Reader) Protocol() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.card == nil {
		return ""
	}
	return protocolName(r.proto)
}

func protocolName(p scard.Protocol) string {
	switch p {
	case scard.ProtocolT0:
		return "T=0"
	case scard.ProtocolT1:
		return "T=1"
	}
	return ""
}

// Connected reports whether the Reader holds a connection to a card.
func (r *Reader) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.card != nil
}

// context returns the PC/SC context, establishing a new one after the
// service went away.
func (r *Reader) contextLocked() (scardContext, error) {
	if r.closed {
		return nil, &Error{Op: "use reader", Reader: r.name, Kind: ErrClosed}
	}
	if r.sc == nil {
		sc, err := r.newCtx()
		if err != nil {
			return nil, newError("connect to the PC/SC service", "", err)
		}
		r.sc = sc
	}
	return r.sc, nil
}

// forget drops the card handle (and the context, when the service failed)
// after e.
func (r *Reader) forgetLocked(e *Error) {
	switch e.Kind {
	case ErrNoService:
		r.dropCardLocked(false)
		if r.sc != nil {
			_ = r.sc.Release()
			r.sc = nil
		}
	case ErrCardRemoved, ErrNoCard, ErrEmptyResponse, ErrReaderGone, ErrUnpowered:
		r.dropCardLocked(false)
	}
}

// dropCardLocked forgets the card handle, disconnecting it (resetting the
// card when reset is set) unless an abandoned exchange still uses it.
func (r *Reader) dropCardLocked(reset bool) {
	if r.card != nil && r.pending == nil {
		disp := scard.LeaveCard
		if reset {
			disp = scard.ResetCard
		}
		_ = r.card.Disconnect(disp)
	}
	r.card, r.atr, r.proto = nil, nil, 0
}

// Connect connects to the card in the field now. With a connection
// already made it checks it: a card that was reset meanwhile (taken away
// and presented again) is reconnected; a card gone is forgotten and the
// card now in the field, if any, connected. Without a card it fails with
// ErrNoCard.
func (r *Reader) Connect() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connectLocked()
}

func (r *Reader) share() scard.ShareMode {
	if r.opts.Exclusive {
		return scard.ShareExclusive
	}
	return scard.ShareShared
}

func (r *Reader) connectLocked() error {
	sc, err := r.contextLocked()
	if err != nil {
		return err
	}
	if r.pending != nil {
		select {
		case <-r.pending:
			r.pending = nil
		default:
			return &Error{Op: "connect", Reader: r.name, Kind: ErrCardComm, Detail: "the card has not answered the previous command"}
		}
	}
	if r.card != nil {
		_, err := r.card.Status()
		if err == nil {
			return nil
		}
		if errors.Is(err, scard.ErrResetCard) {
			if err := r.card.Reconnect(r.share(), scard.ProtocolAny, scard.ResetCard); err == nil {
				return r.adoptLocked(r.card, "reconnect")
			}
		}
		r.dropCardLocked(false)
	}
	card, err := sc.Connect(r.name, r.share(), scard.ProtocolAny)
	if err != nil {
		e := newError("connect", r.name, err)
		r.forgetLocked(e)
		return e
	}
	return r.adoptLocked(card, "connect")
}

// adoptLocked makes card the Reader's connection, reading its protocol
// and ATR.
func (r *Reader) adoptLocked(card scardCard, op string) error {
	proto := card.ActiveProtocol()
	if protocolName(proto) == "" {
		_ = card.Disconnect(scard.LeaveCard)
		r.card = nil
		return &Error{Op: op, Reader: r.name, Kind: ErrCardComm, Detail: fmt.Sprintf("the card speaks neither T=0 nor T=1 (protocol %d)", proto)}
	}
	st, err := card.Status()
	if err != nil {
		_ = card.Disconnect(scard.LeaveCard)
		r.card = nil
		e := newError(op, r.name, err)
		r.forgetLocked(e)
		return e
	}
	r.card, r.proto, r.atr = card, proto, append([]byte(nil), st.Atr...)
	return nil
}

// Disconnect ends the connection with the card and resets it, so that the
// next connection starts afresh. Without a connection it does nothing.
func (r *Reader) Disconnect() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropCardLocked(true)
}

// Close disconnects, ends a wait in progress and releases the PC/SC
// context. The Reader cannot be used afterwards.
func (r *Reader) Close() error {
	r.mu.Lock()
	sc := r.sc
	r.closed = true
	r.mu.Unlock()
	if sc != nil {
		_ = sc.Cancel()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropCardLocked(false)
	if r.sc != nil {
		err := r.sc.Release()
		r.sc = nil
		if err != nil {
			return newError("release context", r.name, err)
		}
	}
	return nil
}

// WaitForCard waits until a card is in the field and connects to it. It
// returns at once when the connection made earlier still holds. It ends
// with ctx (returning ctx's error), or with ErrReaderGone when the reader
// is unplugged, or ErrClosed.
func (r *Reader) WaitForCard(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pcsc: wait for card: %w", err)
	}
	// The card may be there already: no need to wait for a change.
	r.mu.Lock()
	err := r.connectLocked()
	r.mu.Unlock()
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) || !e.CardError() {
		return err
	}
	return r.wait(ctx, "wait for card", func(flags scard.StateFlag) (bool, error) {
		if flags&scard.StatePresent == 0 || flags&scard.StateMute != 0 {
			return false, nil
		}
		r.mu.Lock()
		err := r.connectLocked()
		r.mu.Unlock()
		if err == nil {
			return true, nil
		}
		var e *Error
		if errors.As(err, &e) && e.CardError() {
			return false, nil // gone again, or not ready yet: wait for the next change
		}
		return false, err
	})
}

// WaitForRemoval waits until the field is empty, then forgets the card.
// It ends with ctx, ErrReaderGone or ErrClosed like WaitForCard.
func (r *Reader) WaitForRemoval(ctx context.Context) error {
	return r.wait(ctx, "wait for removal", func(flags scard.StateFlag) (bool, error) {
		if flags&scard.StateEmpty == 0 {
			return false, nil
		}
		r.mu.Lock()
		r.dropCardLocked(false)
		r.mu.Unlock()
		return true, nil
	})
}

// WaitRemoved waits at most timeout for the field to be empty (it makes the
// Reader a kernel.RemovalWaiter, for an outcome's Removal Timeout): true
// when the card left, false when the timeout passed first.
func (r *Reader) WaitRemoved(ctx context.Context, timeout time.Duration) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := r.WaitForRemoval(wctx)
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return false, nil
	}
	return false, err
}

// PresentAgain brings the card back after an outcome that asks for it (Try
// Again, or See Phone with a restart at Start B): the connection ends with
// a reset, as when the reader turns its field off, the field stays off for
// the outcome's FieldOff time, and then the Reader waits for a card as
// WaitForCard does. A card taken away and tapped again, or left in the
// field, is read afresh. It returns the Reader itself, so that a Reader can
// serve as the terminal's presenter.
func (r *Reader) PresentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
	r.Disconnect()
	if o.FieldOff > 0 {
		t := time.NewTimer(o.FieldOff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("pcsc: present again: %w", ctx.Err())
		case <-t.C:
		}
	}
	if err := r.WaitForCard(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// wait runs SCardGetStatusChange until done says so.
func (r *Reader) wait(ctx context.Context, op string, done func(scard.StateFlag) (bool, error)) error {
	cur := scard.StateUnaware
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pcsc: %s: %w", op, err)
		}
		r.mu.Lock()
		sc, err := r.contextLocked()
		r.mu.Unlock()
		if err != nil {
			return err
		}
		states := []scard.ReaderState{{Reader: r.name, CurrentState: cur}}
		err = waitChange(ctx, sc, states)
		if err != nil {
			if errors.Is(err, scard.ErrTimeout) {
				continue
			}
			if isCancel(err) {
				if ctx.Err() != nil {
					return fmt.Errorf("pcsc: %s: %w", op, ctx.Err())
				}
				r.mu.Lock()
				closed := r.closed
				r.mu.Unlock()
				if closed {
					return &Error{Op: op, Reader: r.name, Kind: ErrClosed}
				}
				continue
			}
			e := newError(op, r.name, err)
			r.mu.Lock()
			r.forgetLocked(e)
			r.mu.Unlock()
			return e
		}
		ev := states[0].EventState
		if ev&(scard.StateUnknown|scard.StateUnavailable) != 0 {
			r.mu.Lock()
			r.dropCardLocked(false)
			r.mu.Unlock()
			return &Error{Op: op, Reader: r.name, Kind: ErrReaderGone}
		}
		ok, err := done(ev)
		if ok || err != nil {
			return err
		}
		cur = ev &^ scard.StateChanged
	}
}

// waitChange is one SCardGetStatusChange call, cancelled with SCardCancel
// when ctx ends.
func waitChange(ctx context.Context, sc scardContext, states []scard.ReaderState) error {
	if ctx.Done() == nil {
		return sc.GetStatusChange(states, waitSlice)
	}
	stop := make(chan struct{})
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		select {
		case <-ctx.Done():
			_ = sc.Cancel()
		case <-stop:
		}
	}()
	err := sc.GetStatusChange(states, waitSlice)
	close(stop)
	<-cancelled
	return err
}

// Transmit sends one command APDU to the card and returns its response,
// status word included, following 61xx and 6Cxx unless Options.Raw is
// set. Without a connection it first connects to the card in the field.
// Errors of the card wrap kernel.ErrCardRemoved.
func (r *Reader) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	if len(capdu) == 0 {
		return nil, &Error{Op: "transmit", Reader: r.name, Detail: "empty command"}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pcsc: transmit: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.card == nil || r.pending != nil {
		if err := r.connectLocked(); err != nil {
			return nil, err
		}
	}
	resp, err := r.exchangeLocked(ctx, capdu)
	if err != nil || r.opts.Raw {
		return resp, err
	}
	var data []byte
	for round := 1; ; round++ {
		sw1, sw2 := resp[len(resp)-2], resp[len(resp)-1]
		var next []byte
		switch sw1 {
		case 0x61:
			data = append(data, resp[:len(resp)-2]...)
			next, _ = apdu.GetResponse(shortLe(sw2)).Bytes()
		case 0x6C:
			cmd, perr := apdu.ParseCommand(capdu)
			if perr != nil {
				return append(data, resp...), nil
			}
			cmd.Le = shortLe(sw2)
			if next, perr = cmd.Bytes(); perr != nil {
				return append(data, resp...), nil
			}
			capdu = next
		default:
			if data == nil {
				return resp, nil
			}
			return append(data, resp...), nil
		}
		if round >= apdu.MaxRounds {
			return nil, &Error{Op: "transmit", Reader: r.name, Kind: ErrCardComm,
				Detail: fmt.Sprintf("still chaining after %d commands", round)}
		}
		if resp, err = r.exchangeLocked(ctx, next); err != nil {
			return nil, err
		}
	}
}

// shortLe is the Le a status word's second byte asks for ('00' is 256).
func shortLe(b byte) int {
	if b == 0 {
		return apdu.MaxShortLe
	}
	return int(b)
}

// exchangeLocked is one SCardTransmit, bounded by ctx and the command
// timeout. An exchange that outlives them is left to finish on its own;
// the connection is not used until it has.
func (r *Reader) exchangeLocked(ctx context.Context, capdu []byte) ([]byte, error) {
	type result struct {
		resp []byte
		err  error
	}
	card := r.card
	ch := make(chan result, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		resp, err := card.Transmit(capdu)
		ch <- result{resp, err}
	}()
	timer := time.NewTimer(r.opts.CommandTimeout)
	defer timer.Stop()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		r.pending = finished
		return nil, fmt.Errorf("pcsc: transmit: %w", ctx.Err())
	case <-timer.C:
		r.pending = finished
		return nil, &Error{Op: "transmit", Reader: r.name, Kind: ErrCardComm,
			Detail: fmt.Sprintf("no answer within %s", r.opts.CommandTimeout)}
	}
	if res.err != nil {
		e := newError("transmit", r.name, res.err)
		if e.Kind == ErrCardReset {
			// The card was presented again: make the connection usable for
			// the next presentation, and end this one.
			if err := card.Reconnect(r.share(), scard.ProtocolAny, scard.ResetCard); err == nil {
				if err := r.adoptLocked(card, "reconnect"); err != nil {
					return nil, err
				}
			} else {
				r.dropCardLocked(false)
			}
		}
		r.forgetLocked(e)
		return nil, e
	}
	if len(res.resp) < 2 {
		e := &Error{Op: "transmit", Reader: r.name, Kind: ErrEmptyResponse, Detail: fmt.Sprintf("%d bytes", len(res.resp))}
		r.forgetLocked(e)
		return nil, e
	}
	return res.resp, nil
}

var _ kernel.Reader = (*Reader)(nil)
