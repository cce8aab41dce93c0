package vpcd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/emv/apdu"
)

func TestFrames(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}{
		{"control", []byte{0x00, 0x01, 0x04}, []byte{0x04}, nil},
		{"apdu", []byte{0x00, 0x05, 0x00, 0xB2, 0x01, 0x0C, 0x00}, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00}, nil},
		{"empty payload", []byte{0x00, 0x00}, []byte{}, nil},
		{"long", append([]byte{0x01, 0x2C}, long...), long, nil},
		{"end of stream", nil, nil, io.EOF},
		{"length cut short", []byte{0x00}, nil, vpcd.ErrShortFrame},
		{"payload cut short", []byte{0x00, 0x05, 0x00, 0xB2}, nil, vpcd.ErrShortFrame},
		{"no payload", []byte{0x01, 0x00}, nil, vpcd.ErrShortFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(append(tc.in, 0xEE)) // a byte of the next frame
			if tc.wantErr != nil {
				r = bytes.NewReader(tc.in)
			}
			got, err := vpcd.ReadFrame(r, make([]byte, 0, 4))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, 1, r.Len(), "the next frame is left unread")
			again, err := vpcd.AppendFrame(nil, got)
			require.NoError(t, err)
			require.Equal(t, tc.in, again)
		})
	}
	_, err := vpcd.AppendFrame(nil, make([]byte, vpcd.MaxPayload+1))
	require.ErrorIs(t, err, vpcd.ErrFrameTooLong)
	b, err := vpcd.AppendFrame([]byte{0x77}, make([]byte, vpcd.MaxPayload))
	require.NoError(t, err)
	require.Equal(t, []byte{0x77, 0xFF, 0xFF}, b[:3])
}

// testCard counts what vpcd did to it and answers every command with its
// instruction byte and 9000, or sleeps first when told to.
type testCard struct {
	mu       sync.Mutex
	resets   int
	commands int
	delay    time.Duration
	atr      []byte
}

func (c *testCard) ATR() []byte {
	if string(c.atr) == "panic" {
		panic("test card: ATR")
	}
	return c.atr
}
func (c *testCard) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resets++
}
func (c *testCard) Process(b []byte) []byte {
	if b[1] == 0xEE {
		panic("test card: instruction EE")
	}
	c.mu.Lock()
	c.commands++
	d := c.delay
	c.mu.Unlock()
	time.Sleep(d)
	return []byte{b[1], 0x90, 0x00}
}
func (c *testCard) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets, c.commands
}

var _ cards.Card = (*testCard)(nil)

// fakeVPCD plays vpcd's side: it accepts the card's connections and sends
// frames.
type fakeVPCD struct {
	t     *testing.T
	ln    net.Listener
	conns chan net.Conn
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeVPCD{t: t, ln: ln, conns: make(chan net.Conn, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(f.conns)
				return
			}
			f.conns <- c
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return f
}

func (f *fakeVPCD) addr() string { return f.ln.Addr().String() }

func (f *fakeVPCD) accept() net.Conn {
	f.t.Helper()
	select {
	case c := <-f.conns:
		f.t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(5 * time.Second):
		f.t.Fatal("the card did not connect")
	}
	return nil
}

func send(t *testing.T, c net.Conn, payload ...byte) {
	t.Helper()
	b, err := vpcd.AppendFrame(nil, payload)
	require.NoError(t, err)
	_, err = c.Write(b)
	require.NoError(t, err)
}

func recv(t *testing.T, c net.Conn) ([]byte, error) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	return vpcd.ReadFrame(c, nil)
}

// eventLog records a server's events (its OnEvent is add).
type eventLog struct {
	mu  sync.Mutex
	evs []vpcd.Event
}

func (l *eventLog) add(e vpcd.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
}

// all returns the events so far.
func (l *eventLog) all() []vpcd.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]vpcd.Event(nil), l.evs...)
}

func waitDone(t *testing.T, s *vpcd.Server) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the presentation did not end")
	}
}

func TestServeOneCard(t *testing.T) {
	f := newFakeVPCD(t)
	card := &testCard{atr: []byte{0x3B, 0x8A, 0x80, 0x01}}
	var events eventLog
	s := vpcd.New(f.addr(), card, vpcd.Options{OnEvent: events.add})
	require.False(t, s.Inserted())
	require.NoError(t, s.Insert(context.Background()))
	require.True(t, s.Inserted())
	require.ErrorIs(t, s.Insert(context.Background()), vpcd.ErrInserted)
	c := f.accept()

	// vpcd speaks first; only GetATR and APDUs are answered.
	send(t, c, vpcd.GetATR)
	got, err := recv(t, c)
	require.NoError(t, err)
	require.Equal(t, card.atr, got)
	send(t, c, vpcd.PowerOn)
	send(t, c, vpcd.Reset)
	send(t, c, 0x42) // unknown control code: ignored
	send(t, c, vpcd.PowerOff)
	send(t, c, 0x00, 0xA4, 0x04, 0x00, 0x00)
	got, err = recv(t, c)
	require.NoError(t, err)
	require.Equal(t, []byte{0xA4, 0x90, 0x00}, got, "the answer to the APDU comes first: no answer to control codes")
	resets, cmds := card.counts()
	require.Equal(t, 2, resets, "power on and reset reset the card")
	require.Equal(t, 1, cmds)
	require.Equal(t, vpcd.Stats{Insertions: 1, APDUs: 1}, s.Stats())

	s.Remove()
	require.False(t, s.Inserted())
	require.ErrorIs(t, s.Err(), vpcd.ErrRemoved)
	_, err = recv(t, c)
	require.ErrorIs(t, err, io.EOF, "vpcd sees the card leave")
	s.Remove() // again: nothing to do

	var types []vpcd.EventType
	for _, e := range events.all() {
		types = append(types, e.Type)
	}
	require.Equal(t, []vpcd.EventType{vpcd.EventInserted, vpcd.EventATR, vpcd.EventPowerOn, vpcd.EventReset,
		vpcd.EventUnknown, vpcd.EventPowerOff, vpcd.EventAPDU, vpcd.EventRemoved}, types)
}

// A frame the card panics on is answered as the protocol wants (6F00 to
// a command, the default ATR) and reported; the card stays in the field
// and answers the next command.
func TestCardPanicAnswered(t *testing.T) {
	f := newFakeVPCD(t)
	card := &testCard{atr: []byte("panic")}
	var events eventLog
	s := vpcd.New(f.addr(), card, vpcd.Options{OnEvent: events.add})
	require.NoError(t, s.Insert(context.Background()))
	defer s.Remove()
	c := f.accept()
	send(t, c, vpcd.GetATR)
	got, err := recv(t, c)
	require.NoError(t, err)
	require.Equal(t, vpcd.DefaultATR, got)
	send(t, c, 0x00, 0xEE, 0x00, 0x00)
	got, err = recv(t, c)
	require.NoError(t, err)
	require.Equal(t, []byte{0x6F, 0x00}, got)
	send(t, c, 0x00, 0xB0, 0x00, 0x00)
	got, err = recv(t, c)
	require.NoError(t, err)
	require.Equal(t, []byte{0xB0, 0x90, 0x00}, got)
	require.True(t, s.Inserted())
	// Each frame's event went out before the next frame was read.
	evs := events.all()
	require.GreaterOrEqual(t, len(evs), 3)
	require.Equal(t, vpcd.EventATR, evs[1].Type)
	require.ErrorIs(t, evs[1].Err, vpcd.ErrCardPanicked)
	require.Equal(t, vpcd.EventAPDU, evs[2].Type)
	require.ErrorIs(t, evs[2].Err, vpcd.ErrCardPanicked)
	require.Contains(t, evs[2].String(), "6F00")
	require.Contains(t, evs[2].String(), "panicked")
}

func TestNoATRGivesDefault(t *testing.T) {
	f := newFakeVPCD(t)
	s := vpcd.New(f.addr(), &testCard{}, vpcd.Options{})
	require.NoError(t, s.Insert(context.Background()))
	defer s.Remove()
	c := f.accept()
	send(t, c, vpcd.GetATR)
	got, err := recv(t, c)
	require.NoError(t, err)
	require.Equal(t, vpcd.DefaultATR, got)
}

// RemoveAfter takes the card away with a command in flight: vpcd gets no
// answer, only the end of the stream.
func TestRemoveAfter(t *testing.T) {
	f := newFakeVPCD(t)
	card := &testCard{}
	s := vpcd.New(f.addr(), card, vpcd.Options{})
	require.NoError(t, s.Insert(context.Background()))
	s.RemoveAfter(2)
	c := f.accept()
	for i := 0; i < 2; i++ {
		send(t, c, 0x00, 0xB2, byte(i+1), 0x0C, 0x00)
		got, err := recv(t, c)
		require.NoError(t, err)
		require.Equal(t, []byte{0xB2, 0x90, 0x00}, got)
	}
	send(t, c, vpcd.GetATR) // control frames do not count
	_, err := recv(t, c)
	require.NoError(t, err)
	send(t, c, 0x00, 0xB2, 0x03, 0x0C, 0x00)
	_, err = recv(t, c)
	require.ErrorIs(t, err, io.EOF)
	waitDone(t, s)
	require.ErrorIs(t, s.Err(), vpcd.ErrRemoved)
	_, cmds := card.counts()
	require.Equal(t, 2, cmds, "the third command never reached the card")

	// The same card comes back with its state; RemoveAfter was used up.
	require.NoError(t, s.Insert(context.Background()))
	defer s.Remove()
	c = f.accept()
	send(t, c, 0x00, 0xB2, 0x01, 0x0C, 0x00)
	_, err = recv(t, c)
	require.NoError(t, err)
	_, cmds = card.counts()
	require.Equal(t, 3, cmds)
	require.Equal(t, vpcd.Stats{Insertions: 2, APDUs: 3}, s.Stats())
}

func TestPeerCloses(t *testing.T) {
	f := newFakeVPCD(t)
	s := vpcd.New(f.addr(), &testCard{}, vpcd.Options{})
	require.NoError(t, s.Insert(context.Background()))
	c := f.accept()
	require.NoError(t, c.Close())
	waitDone(t, s)
	require.False(t, s.Inserted())
	require.ErrorIs(t, s.Err(), vpcd.ErrPeerClosed)
}

func TestPeerClosesMidFrame(t *testing.T) {
	f := newFakeVPCD(t)
	s := vpcd.New(f.addr(), &testCard{}, vpcd.Options{})
	require.NoError(t, s.Insert(context.Background()))
	c := f.accept()
	_, err := c.Write([]byte{0x00, 0x05, 0x00})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	waitDone(t, s)
	require.ErrorIs(t, s.Err(), vpcd.ErrPeerClosed)
}

// A card that does not answer in time leaves the field, so that pcscd,
// which has no time limit of its own, is never blocked.
func TestStuckCard(t *testing.T) {
	f := newFakeVPCD(t)
	card := &testCard{delay: 2 * time.Second}
	s := vpcd.New(f.addr(), card, vpcd.Options{AnswerTimeout: 50 * time.Millisecond})
	require.NoError(t, s.Insert(context.Background()))
	c := f.accept()
	start := time.Now()
	send(t, c, 0x00, 0xA4, 0x04, 0x00, 0x00)
	_, err := recv(t, c)
	require.ErrorIs(t, err, io.EOF)
	require.Less(t, time.Since(start), time.Second)
	waitDone(t, s)
	require.ErrorIs(t, s.Err(), vpcd.ErrStuck)
}

// refusingDial refuses the first n connections as a vpcd not yet listening
// does.
func refusingDial(n int, tries *int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		*tries++
		if *tries <= n {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		return d.DialContext(ctx, network, addr)
	}
}

func TestInsertWaitsForVPCD(t *testing.T) {
	f := newFakeVPCD(t)
	tries := 0
	var waits []error
	s := vpcd.New(f.addr(), &testCard{}, vpcd.Options{
		RetryInterval: time.Millisecond,
		Dial:          refusingDial(3, &tries),
		OnEvent: func(e vpcd.Event) {
			if e.Type == vpcd.EventWaiting {
				waits = append(waits, e.Err)
			}
		},
	})
	require.NoError(t, s.Insert(context.Background()))
	defer s.Remove()
	require.Equal(t, 4, tries)
	require.Len(t, waits, 1, "waiting is reported once")
	require.ErrorIs(t, waits[0], syscall.ECONNREFUSED)
	f.accept()
}

func TestInsertGivesUp(t *testing.T) {
	tries := 0
	s := vpcd.New("127.0.0.1:1", &testCard{}, vpcd.Options{RetryInterval: time.Millisecond, Dial: refusingDial(1<<30, &tries)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := s.Insert(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Greater(t, tries, 1)

	// An error that waiting does not cure is returned at once.
	bad := errors.New("no such host")
	s = vpcd.New("nowhere:1", &testCard{}, vpcd.Options{Dial: func(context.Context, string, string) (net.Conn, error) { return nil, bad }})
	require.ErrorIs(t, s.Insert(context.Background()), bad)
	require.ErrorIs(t, s.Serve(context.Background(), vpcd.Schedule{}), bad)
}

// Serve presents the card, takes it away after Stay or on Take, and
// brings the same card back: its state carries over.
func TestServeSchedule(t *testing.T) {
	f := newFakeVPCD(t)
	card := &testCard{}
	s := vpcd.New(f.addr(), card, vpcd.Options{})
	take := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	var between []bool // whether the card was in the field when Between ran
	go func() {
		served <- s.Serve(ctx, vpcd.Schedule{Stay: 80 * time.Millisecond, Away: 10 * time.Millisecond, Take: take,
			Between: func(c cards.Card) { between = append(between, s.Inserted()) }})
	}()

	// First presentation: ends by itself after Stay.
	c := f.accept()
	send(t, c, 0x00, 0xA4, 0x04, 0x00, 0x00)
	_, err := recv(t, c)
	require.NoError(t, err)
	_, err = recv(t, c)
	require.ErrorIs(t, err, io.EOF)

	// Second: taken away at once.
	c = f.accept()
	take <- struct{}{}
	_, err = recv(t, c)
	require.ErrorIs(t, err, io.EOF)

	// Third: vpcd closes it; the card comes back.
	c = f.accept()
	require.NoError(t, c.Close())
	c = f.accept()
	send(t, c, 0x00, 0xB2, 0x01, 0x0C, 0x00)
	_, err = recv(t, c)
	require.NoError(t, err)

	cancel()
	require.NoError(t, <-served)
	require.False(t, s.Inserted())
	_, cmds := card.counts()
	require.Equal(t, 2, cmds)
	require.Equal(t, 4, s.Stats().Insertions)
	require.Equal(t, []bool{false, false, false}, between, "Between runs out of the field, before each presentation but the first")
}

// Do gives the card to the caller between commands.
func TestDo(t *testing.T) {
	p, err := cards.Builtin("hce-phone")
	require.NoError(t, err)
	c, err := cards.FromProfile(p, cards.Options{})
	require.NoError(t, err)
	f := newFakeVPCD(t)
	s := vpcd.New(f.addr(), c, vpcd.Options{})
	require.NoError(t, s.Insert(context.Background()))
	defer s.Remove()
	conn := f.accept()
	s.Do(func(c cards.Card) {
		ph, ok := cards.Phone(c)
		require.True(t, ok)
		require.NoError(t, ph.Unlock("5791"))
	})
	cmd, err := apdu.SelectPPSE().Bytes()
	require.NoError(t, err)
	send(t, conn, cmd...)
	got, err := recv(t, conn)
	require.NoError(t, err)
	r, err := apdu.ParseResponse(got)
	require.NoError(t, err)
	require.True(t, r.OK())
	s.Do(func(c cards.Card) {
		ph, _ := cards.Phone(c)
		require.True(t, ph.Verified())
	})
}

// vpcd (Debian's 3.3) sends a frame's length and payload in two writes
// with Nagle's algorithm on. Without TCP_QUICKACK on the card's side the
// second write waits for a delayed ACK, some 40 ms per command. With it a
// round trip over loopback takes well under a millisecond.
func TestRoundTripIsFast(t *testing.T) {
	f := newFakeVPCD(t)
	s := vpcd.New(f.addr(), &testCard{}, vpcd.Options{})
	require.NoError(t, s.Insert(context.Background()))
	defer s.Remove()
	c := f.accept()
	require.NoError(t, c.(*net.TCPConn).SetNoDelay(false)) // as vpcd: Nagle on
	cmd := []byte{0x00, 0xB2, 0x01, 0x0C, 0x00}
	var durs []time.Duration
	for i := 0; i < 40; i++ {
		start := time.Now()
		_, err := c.Write([]byte{0x00, byte(len(cmd))})
		require.NoError(t, err)
		_, err = c.Write(cmd)
		require.NoError(t, err)
		_, err = recv(t, c)
		require.NoError(t, err)
		durs = append(durs, time.Since(start))
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	median := durs[len(durs)/2]
	t.Logf("round trip: median %s, max %s", median, durs[len(durs)-1])
	require.Less(t, median, 10*time.Millisecond, "delayed ACKs are back")
}
