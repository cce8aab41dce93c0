package acquirer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/store"
)

type fixedReserver struct {
	next  int64
	calls int
}

func (f *fixedReserver) Reserve(_ context.Context, _ string, n int64) (int64, error) {
	f.calls++
	v := f.next
	f.next += n
	return v, nil
}

func TestDurableNumbers(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC) // day 73, hour 09
	r := &fixedReserver{next: 1}
	n := &acquirer.DurableNumbers{Store: r, Block: 10}
	stan, rrn, err := n.Next(ctx, at)
	require.NoError(t, err)
	require.Equal(t, "000001", stan)
	require.Equal(t, "607309000001", rrn)
	for range 9 {
		_, _, err = n.Next(ctx, at)
		require.NoError(t, err)
	}
	require.Equal(t, 1, r.calls, "one reservation per block")
	stan, _, err = n.Next(ctx, at)
	require.NoError(t, err)
	require.Equal(t, "000011", stan)
	require.Equal(t, 2, r.calls)

	// The STAN wraps from 999999 to 000001, never 000000.
	w := &acquirer.DurableNumbers{Store: &fixedReserver{next: 999_999}, Block: 3}
	var got []string
	for range 3 {
		s, _, err := w.Next(ctx, at)
		require.NoError(t, err)
		got = append(got, s)
	}
	require.Equal(t, []string{"999999", "000001", "000002"}, got)
}

// A restarted acquirer never reuses a STAN it handed out before.
func TestDurableNumbersAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seen := map[string]bool{}
	for run := range 3 {
		s, err := store.Open(dir)
		require.NoError(t, err)
		n := &acquirer.DurableNumbers{Store: s, Block: 5}
		for range 3 + run { // stop in the middle of a block
			stan, _, err := n.Next(ctx, time.Now())
			require.NoError(t, err)
			require.False(t, seen[stan], "STAN %s reused", stan)
			seen[stan] = true
		}
		require.NoError(t, s.Close())
	}
	require.Len(t, seen, 12)
}
