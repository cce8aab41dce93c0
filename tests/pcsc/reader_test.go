package pcsc

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/pcsc"
)

// The service lists both of vpcd's slots, the card in slot 0 with its
// ATR; readers are picked by name, index or part of the name.
func TestListAndSelectReaders(t *testing.T) {
	ctx := testCtx(t)
	card := newCard(t, "visa-plastic")
	r := newRig(t, card, vpcd.Options{})

	list, err := pcsc.ListReaders()
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, r.d.Reader(0), list[0].Name)
	require.Equal(t, r.d.Reader(1), list[1].Name)
	require.False(t, list[0].Card)
	require.False(t, list[1].Card)

	r.present(ctx)
	list, err = pcsc.ListReaders()
	require.NoError(t, err)
	require.True(t, list[0].Card)
	require.Equal(t, card.ATR(), list[0].ATR)
	require.Equal(t, card.ATR(), r.reader.ATR())
	require.True(t, list[0].InUse, "the rig's reader is connected")
	require.False(t, list[1].Card)
	require.Contains(t, list[0].String(), "card present, ATR 3B88")

	for _, tc := range []struct {
		sel, want string
		err       error
	}{
		{"", r.d.Reader(0), nil},
		{"1", r.d.Reader(1), nil},
		{r.d.Reader(1), r.d.Reader(1), nil},
		{"00 01", r.d.Reader(1), nil},
		{"2", "", pcsc.ErrUnknownReader},
		{"tapsim vpcd", "", pcsc.ErrUnknownReader}, // both slots
		{"no such reader", "", pcsc.ErrUnknownReader},
	} {
		rd, err := pcsc.Open(tc.sel, pcsc.Options{})
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, tc.sel)
			require.NotErrorIs(t, err, kernel.ErrCardRemoved)
			continue
		}
		require.NoError(t, err, tc.sel)
		require.Equal(t, tc.want, rd.Name())
		require.NoError(t, rd.Close())
	}
}

// An empty reader: a command fails as a card error (the kernel says
// Present Card Again), and the tap ends with Try Again, not an error.
func TestNoCard(t *testing.T) {
	ctx := testCtx(t)
	r := newRig(t, newCard(t, "visa-plastic"), vpcd.Options{})
	_, err := r.reader.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	require.ErrorIs(t, err, pcsc.ErrNoCard)
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	out, err := entry.Run(ctx, r.reader, terminalConfig(t), kernel.Transaction{Amount: 100, Type: kernel.Purchase})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAgain, out.Type)
	require.True(t, asksCardAgain(out))
}

// Waiting for a card ends as soon as the context does (SCardCancel), or
// when the reader is closed.
func TestWaitForCardCancelled(t *testing.T) {
	r := newRig(t, newCard(t, "visa-plastic"), vpcd.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.reader.WaitForCard(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 900*time.Millisecond)

	other, err := pcsc.Open(r.d.Reader(1), pcsc.Options{})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- other.WaitForCard(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, other.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, pcsc.ErrClosed)
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not end the wait")
	}
}

// chainCard is a T=0 card that makes the terminal follow ISO 7816-4
// response chaining: SELECT answers 61xx and its data comes in two GET
// RESPONSEs; READ RECORD with the wrong Le answers 6Cxx.
type chainCard struct {
	mu       sync.Mutex
	commands [][]byte
	data     []byte
	sent     int
}

var chainRecord = bytes.Repeat([]byte{0x5A}, 0x1A)

func (c *chainCard) ATR() []byte { return []byte{0x3B, 0x00} } // T=0 only
func (c *chainCard) Reset()      {}
func (c *chainCard) Process(b []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands = append(c.commands, append([]byte(nil), b...))
	switch {
	case b[1] == 0xA4:
		c.data = bytes.Repeat([]byte{0x6F}, 16)
		c.sent = 0
		return []byte{0x61, 0x10}
	case b[1] == 0xC0:
		part := c.data[c.sent : c.sent+8]
		c.sent += 8
		if c.sent < len(c.data) {
			return append(append([]byte(nil), part...), 0x61, byte(len(c.data)-c.sent))
		}
		return append(append([]byte(nil), part...), 0x90, 0x00)
	case b[1] == 0xB2 && b[len(b)-1] != 0x1A:
		return []byte{0x6C, 0x1A}
	case b[1] == 0xB2:
		return append(append([]byte(nil), chainRecord...), 0x90, 0x00)
	}
	return []byte{0x6D, 0x00}
}

var _ cards.Card = (*chainCard)(nil)

func TestT0ResponseChaining(t *testing.T) {
	ctx := testCtx(t)
	card := &chainCard{}
	r := newRig(t, card, vpcd.Options{})
	r.present(ctx)
	require.Equal(t, "T=0", r.reader.Protocol())

	resp, err := r.reader.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00})
	require.NoError(t, err)
	require.Equal(t, append(bytes.Repeat([]byte{0x6F}, 16), 0x90, 0x00), resp)
	resp, err = r.reader.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.NoError(t, err)
	require.Equal(t, append(append([]byte(nil), chainRecord...), 0x90, 0x00), resp)
	card.mu.Lock()
	require.Equal(t, [][]byte{
		{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00},
		{0x00, 0xC0, 0x00, 0x00, 0x10},
		{0x00, 0xC0, 0x00, 0x00, 0x08},
		{0x00, 0xB2, 0x01, 0x0C, 0x00},
		{0x00, 0xB2, 0x01, 0x0C, 0x1A},
	}, card.commands)
	card.mu.Unlock()

	// Raw leaves the status words to the caller.
	raw, err := pcsc.Open(r.d.Reader(0), pcsc.Options{Raw: true})
	require.NoError(t, err)
	defer raw.Close()
	resp, err = raw.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00})
	require.NoError(t, err)
	require.Equal(t, []byte{0x61, 0x10}, resp)
	resp, err = raw.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.NoError(t, err)
	require.Equal(t, []byte{0x6C, 0x1A}, resp)
}

// stuckCard does not answer GET PROCESSING OPTIONS (where a qVSDC card
// makes its cryptogram) until hold is closed, while hold is set.
type stuckCard struct {
	cards.Card
	hold chan struct{} // read and written under the vpcd Server's lock
}

func (c *stuckCard) Process(b []byte) []byte {
	if len(b) > 1 && b[1] == 0xA8 && c.hold != nil {
		<-c.hold
	}
	return c.Card.Process(b)
}

// A card that does not answer is taken out of the field by the card side
// after its answer deadline: pcscd, which waits without a limit of its
// own, is freed, and the kernel asks for the card again, while the card is
// still stuck (it answers only when the test lets it).
func TestStuckCardFreesTheReader(t *testing.T) {
	ctx := testCtx(t)
	hold := make(chan struct{})
	card := &stuckCard{Card: newCard(t, "visa-plastic"), hold: hold}
	r := newRig(t, card, vpcd.Options{AnswerTimeout: 200 * time.Millisecond})
	r.present(ctx)
	ep, out := r.startTap(ctx, terminalConfig(t), 150000)
	require.Equal(t, kernel.TryAgain, out.Type, "%v", out)
	require.True(t, asksCardAgain(out))
	require.ErrorIs(t, r.server.Err(), vpcd.ErrStuck)

	// The stuck command finishes (Do waits for it); the card comes back
	// and answers at once, and the transaction completes.
	close(hold)
	r.takeAway(ctx)
	r.server.Do(func(c cards.Card) { c.(*stuckCard).hold = nil })
	r.present(ctx)
	out, err := ep.Restart(ctx, r.reader)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type, "%v", out)
}

// The same card tapped again and again keeps its state between
// presentations: a Visa-like card approves offline three times in a row
// (while the total stays under NT$1,000), then asks to go online.
func TestCardStateAcrossPresentations(t *testing.T) {
	ctx := testCtx(t)
	r := newRig(t, newCard(t, "visa-plastic"), vpcd.Options{})
	cfg := terminalConfig(t)
	want := []kernel.OutcomeType{kernel.Approved, kernel.Approved, kernel.Approved, kernel.OnlineRequest}
	for i, w := range want {
		r.present(ctx)
		_, out := r.startTap(ctx, cfg, 20000)
		require.Equal(t, w, out.Type, "tap %d: %v", i+1, out)
		r.takeAway(ctx)
	}
	require.Equal(t, len(want), r.server.Stats().Insertions)
}

// An APDU round trip through libpcsclite, pcscd, vpcd and the card side
// takes well under a millisecond: the card side sets TCP_QUICKACK, or
// every command would wait some 40 ms for a delayed ACK.
func TestAPDURoundTripIsFast(t *testing.T) {
	ctx := testCtx(t)
	r := newRig(t, newCard(t, "visa-plastic"), vpcd.Options{})
	r.present(ctx)
	cmd, err := apdu.SelectPPSE().Bytes()
	require.NoError(t, err)
	durs := make([]time.Duration, 0, 50)
	for i := 0; i < 50; i++ {
		start := time.Now()
		_, err := r.reader.Transmit(ctx, cmd)
		require.NoError(t, err)
		durs = append(durs, time.Since(start))
	}
	med, p99 := percentiles(durs)
	t.Logf("APDU round trip over pcscd+vpcd: median %s, p99 %s", med, p99)
	require.Less(t, med, 10*time.Millisecond)
}
