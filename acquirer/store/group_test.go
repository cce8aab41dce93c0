package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Concurrent writers share commits: every line recorded and completed is
// there after a reopen, a write that fails keeps nothing, and a store
// closed refuses writes.
func TestGroupCommitConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := entry()
			e.TermSTAN = fmt.Sprintf("%06d", i)
			if i%10 == 0 {
				e.MaskedPAN = "4761739001010010" // refused before the writer
			}
			id, err := s.Record(ctx, e)
			if err == nil {
				err = s.Complete(ctx, id, Result{ResponseCode: "00", AuthCode: "A1", State: StateAnswered})
			}
			if err == nil && i%7 == 0 {
				err = s.Complete(ctx, id+100000, Result{ResponseCode: "00", State: StateAnswered})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		switch {
		case i%10 == 0:
			require.ErrorIs(t, err, ErrSensitive)
		case i%7 == 0:
			require.ErrorIs(t, err, ErrNotFound)
			want++
		default:
			require.NoError(t, err)
			want++
		}
	}
	require.NoError(t, s.Close())
	_, err = s.Record(ctx, entry())
	require.ErrorIs(t, err, ErrClosed)

	s, err = Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	lines, err := s.Since(ctx, t0)
	require.NoError(t, err)
	require.Len(t, lines, want)
	for _, l := range lines {
		require.Equal(t, StateAnswered, l.State)
		require.Equal(t, "00", l.ResponseCode)
	}
}
