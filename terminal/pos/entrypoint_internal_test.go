package pos

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// A terminal makes its Entry Point once, in New, and runs every
// transaction on it, each with its own clock (the kernels read it, e.g. for
// the torn-transaction log) and its own outcome.
func TestEntryPointOncePerTerminal(t *testing.T) {
	start := time.Date(2026, 11, 24, 21, 20, 10, 0, time.UTC)
	p, err := cards.Builtin("visa-plastic")
	require.NoError(t, err)
	card, err := cards.FromProfile(p, cards.Options{Rand: rand.NewChaCha8([32]byte{7}), Clock: func() time.Time { return start }})
	require.NoError(t, err)
	term, err := New(DefaultConfig(), noLink{}, Options{})
	require.NoError(t, err)

	var first any
	for i := range 3 {
		now := start.Add(time.Duration(i) * 25 * time.Hour)
		var res Result
		out, ep, err := term.runKernel(context.Background(), &res, kernel.Purchase, 150000+int64(i), now, inproc.New(card))
		require.NoError(t, err)
		require.Equal(t, kernel.OnlineRequest, out.Type, "tap %d", i+1)
		require.Equal(t, now, ep.Config().Now(), "tap %d runs on its own clock", i+1)
		if i == 0 {
			first = ep
		}
		require.Same(t, first, ep)
		amount, ok := out.DataRecord.Find(0x9F02)
		require.True(t, ok)
		require.Equal(t, []byte{0, 0, 0, 0x15, 0, byte(i)}, amount.Value, "tap %d's own amount", i+1)
	}
}
