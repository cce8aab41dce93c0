package wire_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
)

// R-G4: an ID is refused while it lives, forgotten after.
func TestMemoryReplayCacheExpiry(t *testing.T) {
	c := wire.NewMemoryReplayCache(10)
	now := epoch
	require.NoError(t, c.Use("a", now.Add(time.Minute), now))
	require.ErrorIs(t, c.Use("a", now.Add(time.Minute), now.Add(59*time.Second)), wire.ErrReplay)
	require.Equal(t, 1, c.Len())
	require.NoError(t, c.Use("a", now.Add(3*time.Minute), now.Add(time.Minute)), "past its time, gone")
	require.NoError(t, c.Use("b", now, now), "already dead: nothing to keep")
	require.Equal(t, 1, c.Len())
}

// Full of live entries, the cache refuses rather than forget one early;
// it takes new entries again once old ones expire.
func TestMemoryReplayCacheBounded(t *testing.T) {
	c := wire.NewMemoryReplayCache(3)
	now := epoch
	for i := range 3 {
		require.NoError(t, c.Use(fmt.Sprint(i), now.Add(time.Duration(i+1)*time.Minute), now))
	}
	require.ErrorIs(t, c.Use("x", now.Add(time.Minute), now), wire.ErrCapacity)
	require.ErrorIs(t, c.Use("0", now.Add(time.Minute), now), wire.ErrReplay)
	require.NoError(t, c.Use("x", now.Add(5*time.Minute), now.Add(time.Minute)))
	require.ErrorIs(t, c.Use("1", now.Add(5*time.Minute), now.Add(time.Minute)), wire.ErrReplay)
	require.Equal(t, 3, c.Len())
}

// R-G4: concurrent uses of one ID: exactly one wins.
func TestMemoryReplayCacheConcurrent(t *testing.T) {
	c := wire.NewMemoryReplayCache(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[string]int{}
	for i := range 64 {
		wg.Go(func() {
			id := fmt.Sprint(i % 8)
			if c.Use(id, epoch.Add(time.Minute), epoch) == nil {
				mu.Lock()
				wins[id]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, wins, 8)
	for _, n := range wins {
		require.Equal(t, 1, n)
	}
}
