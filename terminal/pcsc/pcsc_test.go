package pcsc

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/kernel"
)

const testReader = "ACS ACR1252 Dual Reader PICC 00 00"

func sw(data []byte, sw1, sw2 byte) []byte { return append(append([]byte(nil), data...), sw1, sw2) }

func ok(cmd []byte) ([]byte, error) { return []byte{0x90, 0x00}, nil }

// newTestReader is a Reader on a fake context with card connected at the
// first need.
func newTestReader(t *testing.T, o Options, cards ...*fakeCard) (*Reader, *fakeContext) {
	t.Helper()
	fc := newFakeContext(testReader, "Other Reader 00 00")
	for _, c := range cards {
		fc.willConnect(c)
	}
	return newReader(testReader, fc, func() (scardContext, error) { return nil, scard.ErrNoService }, o), fc
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSelect(t *testing.T) {
	names := []string{"ACS ACR1252 Dual Reader PICC 00 00", "ACS ACR1252 Dual Reader SAM 00 01", "Virtual PCD 00 00"}
	tests := []struct {
		sel, want string
		err       error
	}{
		{"", names[0], nil},
		{"Virtual PCD 00 00", names[2], nil},
		{"2", names[2], nil},
		{"0", names[0], nil},
		{"picc", names[0], nil},
		{"virtual", names[2], nil},
		{"3", "", ErrUnknownReader},
		{"-1", "", ErrUnknownReader},
		{"ACS", "", ErrUnknownReader},
		{"Gemalto", "", ErrUnknownReader},
	}
	for _, tc := range tests {
		got, err := Select(names, tc.sel)
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, tc.sel)
			require.NotErrorIs(t, err, kernel.ErrCardRemoved)
			continue
		}
		require.NoError(t, err, tc.sel)
		require.Equal(t, tc.want, got, tc.sel)
	}
	_, err := Select(nil, "")
	require.ErrorIs(t, err, ErrNoReaders)
	_, err = Select(names, "ACS")
	require.ErrorContains(t, err, `"ACS" matches "ACS ACR1252 Dual Reader PICC 00 00", "ACS ACR1252 Dual Reader SAM 00 01"`)
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		code scard.Error
		kind error
		card bool
	}{
		{scard.ErrRemovedCard, ErrCardRemoved, true},
		{scard.ErrNoSmartcard, ErrNoCard, true},
		{scard.ErrResetCard, ErrCardReset, true},
		{scard.ErrUnpoweredCard, ErrUnpowered, true},
		{scard.ErrUnresponsiveCard, ErrCardComm, true},
		{scard.ErrNotTransacted, ErrCardComm, true},
		{scard.ErrProtoMismatch, ErrCardComm, true},
		{scard.ErrReaderUnavailable, ErrReaderGone, false},
		{scard.ErrUnknownReader, ErrReaderGone, false},
		{scard.ErrNoReadersAvailable, ErrNoReaders, false},
		{scard.ErrSharingViolation, ErrBusy, false},
		{scard.ErrNoService, ErrNoService, false},
		{scard.ErrServiceStopped, ErrNoService, false},
		{scard.ErrCommError, ErrNoService, false},
		{scard.ErrInvalidHandle, ErrNoService, false},
		{scard.ErrInternalError, nil, false},
	}
	for _, tc := range tests {
		e := newError("transmit", testReader, tc.code)
		require.Equal(t, tc.kind, e.Kind, "%v", tc.code)
		require.Equal(t, tc.card, e.CardError(), "%v", tc.code)
		require.Equal(t, tc.card, errors.Is(e, kernel.ErrCardRemoved), "%v", tc.code)
		require.ErrorIs(t, e, tc.code)
		if tc.kind != nil {
			require.ErrorIs(t, e, tc.kind)
		}
		require.Contains(t, e.Error(), `pcsc: transmit on "`+testReader+`"`)
	}
	e := newError("transmit", testReader, scard.ErrRemovedCard)
	require.Equal(t, `pcsc: transmit on "`+testReader+`": card removed (Card was removed., 0x80100069)`, e.Error())
	e = &Error{Op: "transmit", Kind: ErrEmptyResponse, Detail: "0 bytes"}
	require.Equal(t, "pcsc: transmit: empty response from the card: 0 bytes", e.Error())
	require.ErrorIs(t, e, kernel.ErrCardRemoved)
}

func TestTransmitConnectsAndChains(t *testing.T) {
	data := bytes.Repeat([]byte{0xAB}, 20)
	card := newFakeCard(func(cmd []byte) ([]byte, error) {
		switch {
		case cmd[1] == 0xA4: // data waiting: two GET RESPONSEs
			return sw(nil, 0x61, 0x0C), nil
		case cmd[1] == 0xC0 && cmd[4] == 0x0C:
			return sw(data[:12], 0x61, 0x08), nil
		case cmd[1] == 0xC0 && cmd[4] == 0x08:
			return sw(data[12:], 0x90, 0x00), nil
		case cmd[1] == 0xB2 && cmd[4] != 0x1D:
			return sw(nil, 0x6C, 0x1D), nil
		case cmd[1] == 0xB2:
			return sw(data[:0x1D%20], 0x90, 0x00), nil
		}
		return sw(nil, 0x6D, 0x00), nil
	})
	r, fc := newTestReader(t, Options{}, card)
	ctx := ctxT(t)
	require.False(t, r.Connected())
	require.Equal(t, "", r.Protocol())

	resp, err := r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00})
	require.NoError(t, err)
	require.Equal(t, sw(data, 0x90, 0x00), resp)
	require.True(t, r.Connected())
	require.Equal(t, "T=1", r.Protocol())
	require.Equal(t, card.atr, r.ATR())

	resp, err = r.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.NoError(t, err)
	require.Equal(t, sw(data[:9], 0x90, 0x00), resp)
	require.Equal(t, [][]byte{
		{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00},
		{0x00, 0xC0, 0x00, 0x00, 0x0C},
		{0x00, 0xC0, 0x00, 0x00, 0x08},
		{0x00, 0xB2, 0x01, 0x0C, 0x00},
		{0x00, 0xB2, 0x01, 0x0C, 0x1D},
	}, card.sent())
	require.Equal(t, 0, fc.waitCalls, "no wait: the card was there")
}

func TestTransmitRaw(t *testing.T) {
	card := newFakeCard(func(cmd []byte) ([]byte, error) { return sw(nil, 0x61, 0x10), nil })
	r, _ := newTestReader(t, Options{Raw: true}, card)
	resp, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.NoError(t, err)
	require.Equal(t, []byte{0x61, 0x10}, resp)
	require.Len(t, card.sent(), 1)
}

// A card that chains without end is a communication error, not a loop.
func TestTransmitEndlessChaining(t *testing.T) {
	card := newFakeCard(func(cmd []byte) ([]byte, error) { return sw([]byte{0x01}, 0x61, 0x01), nil })
	r, _ := newTestReader(t, Options{}, card)
	_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrCardComm)
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	require.Len(t, card.sent(), 32)
}

func TestTransmitBadInput(t *testing.T) {
	r, _ := newTestReader(t, Options{}, newFakeCard(ok))
	_, err := r.Transmit(ctxT(t), nil)
	require.ErrorContains(t, err, "empty command")
	require.NotErrorIs(t, err, kernel.ErrCardRemoved)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Transmit(cancelled, []byte{0x00, 0xA4, 0x04, 0x00})
	require.ErrorIs(t, err, context.Canceled)
	// A malformed command goes to the card as it is; 6Cxx on it is
	// handed back.
	card := newFakeCard(func(cmd []byte) ([]byte, error) { return sw(nil, 0x6C, 0x05), nil })
	r, _ = newTestReader(t, Options{}, card)
	resp, err := r.Transmit(ctxT(t), []byte{0x00, 0xB2, 0x01})
	require.NoError(t, err)
	require.Equal(t, []byte{0x6C, 0x05}, resp)
}

// The card leaving with a command in flight gives an empty response: a
// card error; the handle is dropped and the next command connects anew.
func TestTransmitEmptyResponseThenReconnect(t *testing.T) {
	gone := newFakeCard(func(cmd []byte) ([]byte, error) { return nil, nil })
	back := newFakeCard(ok)
	r, fc := newTestReader(t, Options{}, gone)
	_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrEmptyResponse)
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	require.False(t, r.Connected())
	require.Equal(t, []scard.Disposition{scard.LeaveCard}, gone.disconnects)

	// No card yet.
	_, err = r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrNoCard)
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	// Presented again.
	fc.willConnect(back)
	resp, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.NoError(t, err)
	require.Equal(t, []byte{0x90, 0x00}, resp)
}

func TestTransmitErrors(t *testing.T) {
	tests := []struct {
		name      string
		code      scard.Error
		kind      error
		card      bool
		connected bool // the handle is kept
	}{
		{"removed", scard.ErrRemovedCard, ErrCardRemoved, true, false},
		{"transaction failed", scard.ErrNotTransacted, ErrCardComm, true, true},
		{"reader unplugged", scard.ErrReaderUnavailable, ErrReaderGone, false, false},
		{"service gone", scard.ErrNoService, ErrNoService, false, false},
		{"other", scard.ErrInternalError, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := newFakeCard(func([]byte) ([]byte, error) { return nil, tc.code })
			r, fc := newTestReader(t, Options{}, card)
			_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
			require.ErrorIs(t, err, tc.code)
			if tc.kind != nil {
				require.ErrorIs(t, err, tc.kind)
			}
			require.Equal(t, tc.card, errors.Is(err, kernel.ErrCardRemoved))
			require.Equal(t, tc.connected, r.Connected())
			if tc.kind == ErrNoService {
				require.True(t, fc.released, "the dead context is released")
				// The next call tries to establish a new one.
				_, err = r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
				require.ErrorIs(t, err, ErrNoService)
				require.ErrorContains(t, err, "connect to the PC/SC service")
			}
		})
	}
}

// The card was taken away and presented again behind the handle's back:
// the handle is reconnected (reset) and the transaction starts over.
func TestTransmitAfterReset(t *testing.T) {
	var reset = true
	card := newFakeCard(func([]byte) ([]byte, error) {
		if reset {
			reset = false
			return nil, scard.ErrResetCard
		}
		return []byte{0x90, 0x00}, nil
	})
	r, _ := newTestReader(t, Options{}, card)
	_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrCardReset)
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	require.Equal(t, []scard.Disposition{scard.ResetCard}, card.reconnects)
	require.True(t, r.Connected())
	resp, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.NoError(t, err)
	require.Equal(t, []byte{0x90, 0x00}, resp)
}

// A card that never answers: the exchange times out as a card error, the
// reader refuses to use the handle until the call returns, then recovers.
func TestTransmitTimeout(t *testing.T) {
	card := newFakeCard(ok)
	card.block = make(chan struct{})
	r, _ := newTestReader(t, Options{CommandTimeout: 50 * time.Millisecond}, card)
	start := time.Now()
	_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrCardComm)
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	require.ErrorContains(t, err, "no answer within 50ms")
	require.Less(t, time.Since(start), time.Second)

	_, err = r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrCardComm)
	require.ErrorContains(t, err, "has not answered the previous command")

	card.mu.Lock()
	close(card.block)
	card.block = nil
	card.mu.Unlock()
	require.Eventually(t, func() bool {
		_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
		return err == nil
	}, 2*time.Second, 10*time.Millisecond)
}

func TestTransmitCancelledInFlight(t *testing.T) {
	card := newFakeCard(ok)
	card.block = make(chan struct{})
	defer close(card.block)
	r, _ := newTestReader(t, Options{}, card)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := r.Transmit(c, []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// ebfe/scard panics on a protocol other than T=0 and T=1: such a card is
// refused before any command.
func TestConnectOddProtocol(t *testing.T) {
	card := newFakeCard(ok)
	card.proto = scard.ProtocolUndefined
	r, _ := newTestReader(t, Options{}, card)
	_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, ErrCardComm)
	require.ErrorContains(t, err, "neither T=0 nor T=1")
	require.Empty(t, card.sent())
	require.False(t, r.Connected())
}

func TestWaitForCard(t *testing.T) {
	card := newFakeCard(ok)
	card.proto = scard.ProtocolT0
	r, fc := newTestReader(t, Options{})
	fc.script(
		fakeState{flags: scard.StateEmpty},
		fakeState{flags: scard.StatePresent | scard.StateMute}, // not answering yet
		fakeState{flags: scard.StatePresent},                   // inserted before pcscd saw it leave
		fakeState{flags: scard.StateEmpty},
		fakeState{flags: scard.StatePresent},
	)
	fc.willFailConnect(scard.ErrNoSmartcard, scard.ErrUnpoweredCard)
	fc.willConnect(card)
	require.NoError(t, r.WaitForCard(ctxT(t)))
	require.True(t, r.Connected())
	require.Equal(t, "T=0", r.Protocol())
	require.Equal(t, 5, fc.waitCalls)

	// Connected: checked, no wait.
	require.NoError(t, r.WaitForCard(ctxT(t)))
	require.Equal(t, 5, fc.waitCalls)

	// Removal.
	fc.script(fakeState{flags: scard.StatePresent}, fakeState{flags: scard.StateEmpty})
	require.NoError(t, r.WaitForRemoval(ctxT(t)))
	require.False(t, r.Connected())

	// Removal within a timeout (an outcome's Removal Timeout).
	fc.script(fakeState{flags: scard.StatePresent}, fakeState{flags: scard.StateEmpty})
	gone, err := r.WaitRemoved(ctxT(t), time.Minute)
	require.NoError(t, err)
	require.True(t, gone)
	// A card left in the field: the timeout passes, no error.
	fc.script(fakeState{flags: scard.StatePresent})
	gone, err = r.WaitRemoved(ctxT(t), 20*time.Millisecond)
	require.NoError(t, err)
	require.False(t, gone)
}

// A card reset behind the handle (presented again) is reconnected when
// the reader checks for the card.
func TestWaitForCardReconnectsAfterReset(t *testing.T) {
	card := newFakeCard(ok)
	r, _ := newTestReader(t, Options{}, card)
	require.NoError(t, r.Connect())
	card.mu.Lock()
	card.statusErr = scard.ErrResetCard
	card.mu.Unlock()
	require.NoError(t, r.WaitForCard(ctxT(t)))
	require.Equal(t, []scard.Disposition{scard.ResetCard}, card.reconnects)
	require.True(t, r.Connected())
}

func TestWaitForCardReaderGone(t *testing.T) {
	for _, flags := range []scard.StateFlag{scard.StateUnknown, scard.StateUnavailable} {
		r, fc := newTestReader(t, Options{})
		fc.willFailConnect(scard.ErrNoSmartcard)
		fc.script(fakeState{flags: scard.StateEmpty}, fakeState{flags: flags})
		err := r.WaitForCard(ctxT(t))
		require.ErrorIs(t, err, ErrReaderGone)
		require.NotErrorIs(t, err, kernel.ErrCardRemoved)
		require.ErrorContains(t, err, "unplugged")
	}
	r, fc := newTestReader(t, Options{})
	fc.script(fakeState{err: scard.ErrNoService})
	require.ErrorIs(t, r.WaitForCard(ctxT(t)), ErrNoService)
	require.True(t, fc.released)
	r, fc = newTestReader(t, Options{})
	fc.willFailConnect(scard.ErrReaderUnavailable)
	require.ErrorIs(t, r.WaitForCard(ctxT(t)), ErrReaderGone, "no wait when the reader is gone")
	require.Zero(t, fc.waitCalls)
}

func TestWaitForCardCancelled(t *testing.T) {
	r, fc := newTestReader(t, Options{})
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.WaitForCard(c) }()
	<-fc.waiting
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), 500*time.Millisecond, "SCardCancel ends the wait")
		require.Equal(t, 1, fc.cancels)
	case <-time.After(3 * time.Second):
		t.Fatal("the wait did not end")
	}

	// Close ends a wait too.
	r, fc = newTestReader(t, Options{})
	go func() { done <- r.WaitForCard(context.Background()) }()
	<-fc.waiting
	require.NoError(t, r.Close())
	require.ErrorIs(t, <-done, ErrClosed)
	require.True(t, fc.released)
	_, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00})
	require.ErrorIs(t, err, ErrClosed)
}

func TestPresentAgain(t *testing.T) {
	first, second := newFakeCard(ok), newFakeCard(ok)
	r, _ := newTestReader(t, Options{}, first, second)
	require.NoError(t, r.Connect())
	start := time.Now()
	got, err := r.PresentAgain(ctxT(t), kernel.Outcome{Type: kernel.TryAgain, FieldOff: 100 * time.Millisecond})
	require.NoError(t, err)
	require.Same(t, r, got)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "the field stays off")
	require.Equal(t, []scard.Disposition{scard.ResetCard}, first.disconnects)
	_, err = got.Transmit(ctxT(t), []byte{0x00, 0xA4, 0x04, 0x00})
	require.NoError(t, err)
	require.Len(t, second.sent(), 1)
}

func TestAvailable(t *testing.T) {
	require.Nil(t, Available(nil))
	require.Equal(t, []string{"A 00 00", "C 00 00"}, Available([]ReaderStatus{
		{Name: "A 00 00"}, {Index: 1, Name: "B 00 00", Unavailable: true}, {Index: 2, Name: "C 00 00", Card: true},
	}))
}

func TestListReaders(t *testing.T) {
	fc := newFakeContext()
	fc.listErr = scard.ErrNoReadersAvailable
	list, err := listReaders(fc)
	require.NoError(t, err)
	require.Empty(t, list)

	fc = newFakeContext("A 00 00")
	fc.listErr = scard.ErrNoService
	_, err = listReaders(fc)
	require.ErrorIs(t, err, ErrNoService)

	fc = newFakeContext("A 00 00")
	fc.script(fakeState{flags: scard.StatePresent | scard.StateInuse, atr: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}})
	list, err = listReaders(fc)
	require.NoError(t, err)
	require.Equal(t, []ReaderStatus{{Index: 0, Name: "A 00 00", Card: true, ATR: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, InUse: true}}, list)
	require.Equal(t, "0  A 00 00: card present, ATR 3B80800101 (in use)", list[0].String())

	for _, tc := range []struct {
		s    ReaderStatus
		want string
	}{
		{ReaderStatus{Index: 1, Name: "B"}, "1  B: no card"},
		{ReaderStatus{Index: 2, Name: "C", Card: true, Mute: true}, "2  C: card present, mute"},
		{ReaderStatus{Index: 3, Name: "D", Unavailable: true}, "3  D: unavailable"},
		{ReaderStatus{Index: 4, Name: "E", Card: true, Exclusive: true, InUse: true}, "4  E: card present (in exclusive use)"},
	} {
		require.Equal(t, tc.want, tc.s.String())
	}
}
