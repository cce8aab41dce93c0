package inproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// echoCard answers every command with 9000 and counts resets.
type echoCard struct{ resets int }

func (c *echoCard) ATR() []byte             { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (c *echoCard) Process(b []byte) []byte { return []byte{0x90, 0x00} }
func (c *echoCard) Reset()                  { c.resets++ }

var _ cards.Card = (*echoCard)(nil)

func TestTransmitAndRemove(t *testing.T) {
	ctx := context.Background()
	c := &echoCard{}
	r := inproc.New(c)
	require.Equal(t, 1, c.resets, "presenting a card resets it")
	resp, err := r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.NoError(t, err)
	require.Equal(t, []byte{0x90, 0x00}, resp)

	r.RemoveAfter(1)
	_, err = r.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.NoError(t, err)
	_, err = r.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	require.Nil(t, r.Card())
	require.Equal(t, 2, r.Exchanges())

	r.Present(c)
	require.Equal(t, 2, c.resets)
	_, err = r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.NoError(t, err)

	r.Remove()
	_, err = r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
}

func TestTransmitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := inproc.New(&echoCard{}).Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.ErrorIs(t, err, context.Canceled)
}

// A real profile answers the PPSE through the reader.
func TestBuiltinProfileAnswersPPSE(t *testing.T) {
	p, err := cards.Builtin("visa-plastic")
	require.NoError(t, err)
	c, err := cards.FromProfile(p, cards.Options{})
	require.NoError(t, err)
	cmd, err := apdu.SelectPPSE().Bytes()
	require.NoError(t, err)
	resp, err := inproc.New(c).Transmit(context.Background(), cmd)
	require.NoError(t, err)
	rr, err := apdu.ParseResponse(resp)
	require.NoError(t, err)
	require.True(t, rr.OK(), "PPSE answered %04X", rr.SW)
}

// TestFieldOff: the field going off resets the card (power lost) and waits
// the time through Wait, never on the wall clock in a test; a cancelled
// wait is reported.
func TestFieldOff(t *testing.T) {
	ctx := context.Background()
	c := &echoCard{}
	r := inproc.New(c)
	var waited []time.Duration
	r.Wait = func(_ context.Context, d time.Duration) error {
		waited = append(waited, d)
		return nil
	}
	require.NoError(t, r.FieldOff(ctx, 1300*time.Millisecond))
	require.Equal(t, 2, c.resets, "the card lost power")
	require.Equal(t, []time.Duration{1300 * time.Millisecond}, waited)
	require.Equal(t, []time.Duration{1300 * time.Millisecond}, r.FieldOffs())
	require.Same(t, c, r.Card(), "the card is still in the field")

	r.Wait = func(ctx context.Context, _ time.Duration) error { return context.Canceled }
	require.ErrorIs(t, r.FieldOff(ctx, time.Second), context.Canceled)

	// Without Wait the field comes back at once.
	r.Wait = nil
	require.NoError(t, r.FieldOff(ctx, time.Hour))
	require.Equal(t, 4, c.resets)
}

// TestLoseResponse: the card processes the command whose response is lost,
// then it is gone.
func TestLoseResponse(t *testing.T) {
	ctx := context.Background()
	c := &countingCard{}
	r := inproc.New(c)
	r.LoseResponseAfter(1)
	_, err := r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.NoError(t, err)
	_, err = r.Transmit(ctx, []byte{0x80, 0xAE, 0x80, 0x00})
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
	require.Equal(t, 2, c.processed, "the card answered the lost command")
	require.Nil(t, r.Card())
	r.Present(c)
	_, err = r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.NoError(t, err, "presented again")
}

// countingCard answers 9000 and counts the commands it processed.
type countingCard struct{ processed int }

func (c *countingCard) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (c *countingCard) Process([]byte) []byte {
	c.processed++
	return []byte{0x90, 0x00}
}
func (c *countingCard) Reset() {}

// A second card in the field is a collision until one card is presented
// again.
func TestCollide(t *testing.T) {
	ctx := context.Background()
	c := &echoCard{}
	r := inproc.New(c)
	r.Collide(&echoCard{})
	_, err := r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.ErrorIs(t, err, kernel.ErrCollision)
	require.NotErrorIs(t, err, kernel.ErrCardRemoved)

	r.Present(c)
	_, err = r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.NoError(t, err)

	r.Collide(&echoCard{})
	r.Remove()
	_, err = r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00})
	require.ErrorIs(t, err, kernel.ErrCardRemoved)
}

// TestWaitRemoved: the card leaves after its stay when that is within the
// timeout, the time passing through Wait; a card that stays longer, or for
// ever, is still there after the whole timeout.
func TestWaitRemoved(t *testing.T) {
	var waited []time.Duration
	r := inproc.New(&echoCard{})
	r.Wait = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }

	// Default: taken away at once.
	gone, err := r.WaitRemoved(context.Background(), 5*time.Second)
	require.NoError(t, err)
	require.True(t, gone)
	require.Nil(t, r.Card())
	require.Empty(t, waited)

	r.Present(&echoCard{})
	r.StayFor(2 * time.Second)
	gone, err = r.WaitRemoved(context.Background(), 5*time.Second)
	require.NoError(t, err)
	require.True(t, gone)
	require.Equal(t, []time.Duration{2 * time.Second}, waited)

	for _, stay := range []time.Duration{6 * time.Second, -1} {
		waited = nil
		r.Present(&echoCard{})
		r.StayFor(stay)
		gone, err = r.WaitRemoved(context.Background(), 5*time.Second)
		require.NoError(t, err)
		require.False(t, gone)
		require.NotNil(t, r.Card(), "still in the field")
		require.Equal(t, []time.Duration{5 * time.Second}, waited)
	}

	// A new presentation forgets the stay; an empty field is removed.
	r.Present(&echoCard{})
	gone, err = r.WaitRemoved(context.Background(), time.Second)
	require.NoError(t, err)
	require.True(t, gone)
	gone, err = r.WaitRemoved(context.Background(), time.Second)
	require.NoError(t, err)
	require.True(t, gone)

	// A cancelled wait is an error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Present(&echoCard{})
	r.StayFor(-1)
	_, err = r.WaitRemoved(ctx, time.Second)
	require.ErrorIs(t, err, context.Canceled)
}
