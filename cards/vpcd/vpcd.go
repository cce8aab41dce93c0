// Package vpcd puts a virtual card or phone of package cards into the
// field of a vpcd virtual reader (the vsmartcard project's PC/SC driver),
// so that pcscd, and any PC/SC application above it, sees it as a real
// card on a real reader.
//
// The card side connects to vpcd over TCP; a connection is the card
// entering the field, its end the card leaving. Both ways every message is
// a frame: a 2-byte big-endian length, then the payload. vpcd always speaks
// first and the card only answers. A 1-byte payload is a control code
// (PowerOff, PowerOn, Reset: no answer; GetATR: the answer is the ATR);
// anything longer is a command APDU, answered with the response APDU.
//
// A Server keeps the same cards.Card from one insertion to the next, so a
// phone's state (ATC, used single-use keys, passcode tries) persists as it
// would in a real phone taken away and tapped again. Each answer of the
// card has a deadline: a card that does not answer in time is taken out of
// the field (the connection is closed), since pcsc-lite waits for an answer
// without a time limit of its own.
package vpcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tapsim/tapsim/cards"
)

// Defaults of Options.
const (
	// DefaultAnswerTimeout bounds one answer of the card.
	DefaultAnswerTimeout = 5 * time.Second
	// DefaultRetryInterval is the wait between two connection attempts
	// while vpcd does not listen.
	DefaultRetryInterval = 200 * time.Millisecond
	// DefaultAway is how long Serve keeps the card out of the field
	// between two presentations: longer than pcscd's 400 ms presence poll,
	// so that pcscd sees the card leave before it comes back.
	DefaultAway = time.Second
)

// DefaultATR is answered for a card that has no ATR of its own: the PC/SC
// ATR of an ISO/IEC 14443-4 card without historical bytes (T=1).
var DefaultATR = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}

// Errors.
var (
	// ErrInserted reports Insert on a card already in the field.
	ErrInserted = errors.New("vpcd: card already in the field")
	// ErrStuck reports a card that did not answer within the answer
	// timeout; it was taken out of the field.
	ErrStuck = errors.New("vpcd: card did not answer in time")
	// ErrPeerClosed reports vpcd closing the connection (pcscd stopped or
	// the reader was removed).
	ErrPeerClosed = errors.New("vpcd: connection closed by vpcd")
	// ErrRemoved reports the card taken out of the field on purpose
	// (Remove, RemoveAfter, a Serve schedule).
	ErrRemoved = errors.New("vpcd: card taken out of the field")
)

// Options tune a Server. The zero value uses the defaults.
type Options struct {
	// AnswerTimeout bounds the card's answer to one frame (default
	// DefaultAnswerTimeout); past it the card leaves the field.
	AnswerTimeout time.Duration
	// RetryInterval is the wait between connection attempts while vpcd is
	// not listening (default DefaultRetryInterval).
	RetryInterval time.Duration
	// Dial connects to vpcd (default: a net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnEvent, when set, receives what happens, in order, from the
	// goroutine serving the card. It must not block nor call the Server.
	OnEvent func(Event)
}

// Stats counts what a Server did since it was made.
type Stats struct {
	// Insertions counts the connections to vpcd (presentations).
	Insertions int
	// APDUs counts the command APDUs answered.
	APDUs int
}

// Server serves one card to vpcd at one address. It is safe for concurrent
// use: the card is only touched under the Server's lock (see Do).
type Server struct {
	addr string
	opts Options

	cardMu sync.Mutex // held while the card works
	card   cards.Card

	mu          sync.Mutex
	conn        net.Conn
	done        chan struct{} // closed when conn's serving goroutine ends
	reason      error         // why the latest insertion ended
	removeAfter int           // APDUs left before the card leaves; <0 never
	stats       Stats
}

// New returns a Server for card c at vpcd's address addr (host:port), out
// of the field.
func New(addr string, c cards.Card, o Options) *Server {
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = DefaultAnswerTimeout
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	closed := make(chan struct{})
	close(closed)
	return &Server{addr: addr, opts: o, card: c, done: closed, removeAfter: -1}
}

// Addr is vpcd's address.
func (s *Server) Addr() string { return s.addr }

// Do runs fn with the card while no command reaches it: to unlock a phone,
// read its state or change it between taps.
func (s *Server) Do(fn func(cards.Card)) {
	s.cardMu.Lock()
	defer s.cardMu.Unlock()
	fn(s.card)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Inserted reports whether the card is in the field (connected to vpcd).
func (s *Server) Inserted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Done returns a channel closed when the current presentation ends (at
// once when the card is out of the field); Err then says why.
func (s *Server) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Err says why the latest presentation ended: ErrRemoved, ErrPeerClosed,
// ErrStuck or a connection error; nil while it lasts or before the first.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// RemoveAfter lets n more command APDUs through, then takes the card away
// while the next one is in flight: that command gets no answer, as when a
// phone leaves the field mid-tap. A negative n cancels it. It lasts until
// it fires or the next Insert.
func (s *Server) RemoveAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 {
		n = -1
	}
	s.removeAfter = n
}

// Insert puts the card into the field: it connects to vpcd, trying again
// every RetryInterval while vpcd refuses (pcscd not started yet), until ctx
// ends. It returns once connected; the card is then served until Remove,
// RemoveAfter, vpcd closing the connection or a stuck card.
func (s *Server) Insert(ctx context.Context) error {
	s.mu.Lock()
	busy := s.conn != nil
	s.mu.Unlock()
	if busy {
		return ErrInserted
	}
	waiting := false
	var conn net.Conn
	for {
		c, err := s.opts.Dial(ctx, "tcp", s.addr)
		if err == nil {
			conn = c
			break
		}
		if !retryable(err) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("vpcd: connect %s: %w", s.addr, ctx.Err())
			}
			return fmt.Errorf("vpcd: connect %s: %w", s.addr, err)
		}
		if !waiting {
			waiting = true
			s.event(Event{Type: EventWaiting, Err: err})
		}
		t := time.NewTimer(s.opts.RetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("vpcd: connect %s: %w", s.addr, ctx.Err())
		case <-t.C:
		}
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	quickAck(conn) // before the first read
	done := make(chan struct{})
	s.mu.Lock()
	if s.conn != nil { // another Insert won the race
		s.mu.Unlock()
		_ = conn.Close()
		return ErrInserted
	}
	s.conn, s.done, s.reason = conn, done, nil
	s.removeAfter = -1
	s.stats.Insertions++
	s.mu.Unlock()
	s.event(Event{Type: EventInserted})
	go s.serve(conn, done)
	return nil
}

// retryable reports a connection error that goes away once vpcd listens.
func retryable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.ECONNABORTED)
}

// Remove takes the card out of the field and returns when vpcd has been
// told (the connection is closed). Removing a card that is not in the
// field does nothing.
func (s *Server) Remove() {
	s.mu.Lock()
	conn, done := s.conn, s.done
	if conn != nil && s.reason == nil {
		s.reason = ErrRemoved
	}
	s.mu.Unlock()
	if conn == nil {
		return
	}
	_ = conn.Close()
	<-done
}

// Schedule says when Serve takes the card out of the field and brings it
// back.
type Schedule struct {
	// Stay is how long each presentation lasts; 0 keeps the card in the
	// field until Take, vpcd or a stuck card ends it.
	Stay time.Duration
	// Away is how long the card stays out of the field before the next
	// presentation (default DefaultAway).
	Away time.Duration
	// Take, when it receives, takes the card away at once (a phone pulled
	// off the reader); it comes back after Away.
	Take <-chan struct{}
	// Between, when set, runs with the card while it is out of the field,
	// before each presentation but the first: the holder unlocking a
	// phone before tapping it again.
	Between func(cards.Card)
}

// Serve presents the card again and again until ctx ends: it inserts it,
// keeps it in the field as sch says, takes it away, waits sch.Away and
// inserts it again. A presentation ended by vpcd (pcscd restarted) or by a
// stuck card is followed by a new one the same way. Serve returns nil when
// ctx ends, with the card out of the field, or the error of a connection
// that cannot succeed (a bad address).
func (s *Server) Serve(ctx context.Context, sch Schedule) error {
	if sch.Away <= 0 {
		sch.Away = DefaultAway
	}
	for {
		if err := s.Insert(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !errors.Is(err, ErrInserted) {
				return err
			}
		}
		if !s.present(ctx, sch) {
			return nil
		}
		t := time.NewTimer(sch.Away)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if sch.Between != nil {
			s.Do(sch.Between)
		}
	}
}

// present waits for the end of one presentation and takes the card away
// when sch or ctx says so. It reports false when ctx ended.
func (s *Server) present(ctx context.Context, sch Schedule) bool {
	var stay <-chan time.Time
	if sch.Stay > 0 {
		t := time.NewTimer(sch.Stay)
		defer t.Stop()
		stay = t.C
	}
	select {
	case <-ctx.Done():
		s.Remove()
		return false
	case <-s.Done():
	case <-stay:
		s.Remove()
	case <-sch.Take:
		s.Remove()
	}
	return true
}

// event hands e to OnEvent.
func (s *Server) event(e Event) {
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
}

// serve answers vpcd on conn until the connection ends.
func (s *Server) serve(conn net.Conn, done chan struct{}) {
	err := s.session(conn)
	// The reason is recorded before the card leaves the field (the close
	// is what pcscd sees), so that Err tells why as soon as a reader
	// learns the card is gone.
	s.mu.Lock()
	if s.reason == nil {
		s.reason = err
	}
	reason := s.reason
	s.mu.Unlock()
	_ = conn.Close()
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	s.event(Event{Type: EventRemoved, Err: reason})
	close(done)
}

// session runs the frame loop on conn (a net.Conn, or any stream in
// tests). It returns why it ended: ErrPeerClosed when vpcd closed the
// stream, ErrRemoved after RemoveAfter or Remove, ErrStuck, or the read,
// write or framing error.
func (s *Server) session(conn io.ReadWriter) error {
	type deadliner interface{ SetWriteDeadline(time.Time) error }
	buf := make([]byte, 0, 512)
	var out []byte
	for {
		frame, err := ReadFrame(conn, buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return ErrRemoved
			}
			if isEOF(err) {
				return ErrPeerClosed
			}
			return fmt.Errorf("vpcd: read: %w", err)
		}
		if cap(frame) > cap(buf) {
			buf = frame[:0]
		}
		if len(frame) > 1 && s.takeAway() {
			return ErrRemoved
		}
		start := time.Now()
		answer, ev, ok := s.answer(frame)
		if !ok {
			s.event(Event{Type: EventStuck, Err: ErrStuck})
			return ErrStuck
		}
		if ev.Type == EventAPDU {
			s.mu.Lock()
			s.stats.APDUs++
			s.mu.Unlock()
		}
		if answer != nil {
			if out, err = AppendFrame(out[:0], answer); err != nil {
				return err
			}
			if d, ok := conn.(deadliner); ok {
				_ = d.SetWriteDeadline(time.Now().Add(s.opts.AnswerTimeout))
			}
			if _, err := conn.Write(out); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return ErrRemoved
				}
				return fmt.Errorf("vpcd: write: %w", err)
			}
			quickAck(conn) // after every write
		}
		ev.Dur = time.Since(start)
		s.event(ev)
	}
}

// takeAway counts one command APDU against RemoveAfter and reports whether
// the card must leave instead of answering it.
func (s *Server) takeAway() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.removeAfter == 0:
		s.removeAfter = -1
		if s.reason == nil {
			s.reason = ErrRemoved
		}
		return true
	case s.removeAfter > 0:
		s.removeAfter--
	}
	return false
}

func isEOF(err error) bool {
	return errors.Is(err, ErrShortFrame) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
}

// answer has the card answer one frame within the answer timeout. It
// returns the answer (nil: none due), the event describing the frame, and
// false when the card did not answer in time. A card that missed the
// deadline finishes on its own; its answer is dropped.
func (s *Server) answer(frame []byte) ([]byte, Event, bool) {
	type result struct {
		resp []byte
		ev   Event
	}
	ch := make(chan result, 1)
	go func() {
		s.cardMu.Lock()
		defer s.cardMu.Unlock()
		resp, ev := respond(s.card, frame)
		ch <- result{resp, ev}
	}()
	t := time.NewTimer(s.opts.AnswerTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.resp, r.ev, true
	case <-t.C:
		return nil, Event{}, false
	}
}

// ErrCardPanicked is the Err of the event of a frame the card panicked
// on: a command APDU is answered 6F00 (no precise diagnosis), GetATR with
// DefaultATR, and the card stays in the field.
var ErrCardPanicked = errors.New("vpcd: the card panicked")

// respond is what the card does with one frame from vpcd. It never
// panics on any frame, the card's own panics included (ErrCardPanicked),
// and it answers exactly the frames the protocol wants answered: GetATR
// and command APDUs.
func respond(c cards.Card, frame []byte) (resp []byte, ev Event) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		resp, ev = nil, Event{Type: EventUnknown, Err: fmt.Errorf("%w: %v", ErrCardPanicked, r)}
		switch {
		case len(frame) > 1:
			resp = []byte{0x6F, 0x00}
			ev.Type, ev.Len, ev.Code, ev.SW = EventAPDU, len(frame), frame[1], 0x6F00
		case len(frame) == 1 && frame[0] == GetATR:
			resp = append([]byte(nil), DefaultATR...)
			ev.Type, ev.Len = EventATR, len(resp)
		case len(frame) == 1 && frame[0] == PowerOn:
			ev.Type = EventPowerOn
		case len(frame) == 1 && frame[0] == Reset:
			ev.Type = EventReset
		}
	}()
	if len(frame) == 1 {
		switch frame[0] {
		case PowerOff:
			return nil, Event{Type: EventPowerOff}
		case PowerOn:
			c.Reset()
			return nil, Event{Type: EventPowerOn}
		case Reset:
			c.Reset()
			return nil, Event{Type: EventReset}
		case GetATR:
			atr := c.ATR()
			if len(atr) == 0 {
				atr = DefaultATR
			}
			return append([]byte(nil), atr...), Event{Type: EventATR, Len: len(atr)}
		}
		return nil, Event{Type: EventUnknown, Code: frame[0]}
	}
	if len(frame) == 0 {
		return nil, Event{Type: EventUnknown}
	}
	resp = c.Process(frame)
	if len(resp) < 2 {
		// A card must always give a status word: a broken answer is
		// reported as a card fault rather than left to hang the reader.
		resp = []byte{0x6F, 0x00}
	}
	ev = Event{Type: EventAPDU, Len: len(frame), SW: uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])}
	if len(frame) >= 2 {
		ev.Code = frame[1]
	}
	return resp, ev
}
