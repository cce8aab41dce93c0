package dedup

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func key(stan string) Key {
	return Key{Class: "0100", TID: "T0000001", STAN: stan, DE7: "0314092653"}
}

// R-G4: the same (TID, STAN, DE7) inside the window is a duplicate.
func TestCheck(t *testing.T) {
	d := New(10 * time.Minute)
	for _, tc := range []struct {
		name string
		k    Key
		at   time.Duration
		dup  bool
	}{
		{"first sighting", key("000001"), 0, false},
		{"same key at once", key("000001"), 0, true},
		{"same key inside the window", key("000001"), 9*time.Minute + 59*time.Second, true},
		{"other STAN", key("000002"), time.Minute, false},
		{"other TID", Key{Class: "0100", TID: "T0000002", STAN: "000001", DE7: "0314092653"}, time.Minute, false},
		{"other DE7", Key{Class: "0100", TID: "T0000001", STAN: "000001", DE7: "0314092654"}, time.Minute, false},
		{"other class", Key{Class: "0400", TID: "T0000001", STAN: "000001", DE7: "0314092653"}, time.Minute, false},
		{"window over: new again", key("000001"), 10 * time.Minute, false},
		{"and then a duplicate of that", key("000001"), 11 * time.Minute, true},
	} {
		require.Equal(t, tc.dup, d.Check(tc.k, t0.Add(tc.at)), tc.name)
	}
}

func TestExpiryFreesMemory(t *testing.T) {
	d := New(time.Second)
	for i := range 5000 {
		d.Check(key(fmt.Sprintf("%06d", i)), t0.Add(time.Duration(i)*time.Millisecond))
	}
	require.LessOrEqual(t, d.Len(), 1001, "only the last second's keys are held")
	require.Less(t, d.n, 1100)
}

func TestRememberAndForget(t *testing.T) {
	d := New(time.Minute)
	d.Remember(key("000007"), t0)
	require.True(t, d.Check(key("000007"), t0.Add(30*time.Second)), "primed key is a duplicate")
	require.False(t, d.Check(key("000007"), t0.Add(61*time.Second)), "window counted from the primed time")

	d.Forget(key("000007"))
	require.False(t, d.Check(key("000007"), t0.Add(62*time.Second)), "forgotten key passes again")

	// The sighting remembered last is the one the window runs from.
	d2 := New(time.Minute)
	d2.Remember(key("000008"), t0.Add(50*time.Second))
	d2.Remember(key("000008"), t0)
	require.False(t, d2.Check(key("000008"), t0.Add(60*time.Second)))
	d2.Remember(key("000008"), t0.Add(50*time.Second))
	require.True(t, d2.Check(key("000008"), t0.Add(60*time.Second)))
}

func TestConcurrentExactlyOnePasses(t *testing.T) {
	d := New(time.Minute)
	var passed atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !d.Check(key("000009"), t0) {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, passed.Load())
}

func TestZeroWindow(t *testing.T) {
	d := New(0)
	require.Equal(t, time.Nanosecond, d.Window())
	require.False(t, d.Check(key("1"), t0))
	require.False(t, d.Check(key("1"), t0.Add(time.Nanosecond)))
}

// Memory is bounded: past max keys the oldest go, and a key not held is
// Unsure while the window still reaches back to what was dropped.
func TestBoundedUnsure(t *testing.T) {
	d := NewSize(time.Hour, 100)
	for i := range 1000 {
		v := d.See(key(fmt.Sprintf("%06d", i)), t0.Add(time.Duration(i)*time.Second))
		if i < 100 {
			require.Equal(t, Fresh, v, "key %d", i)
		} else {
			require.Equal(t, Unsure, v, "key %d: older keys were dropped for room", i)
		}
	}
	require.Equal(t, 100, d.Len())
	at := t0.Add(1000 * time.Second)
	require.Equal(t, Duplicate, d.See(key("000999"), at), "held")
	require.Equal(t, Unsure, d.See(key("000005"), at), "dropped for room: ask the journal")
	require.Equal(t, Duplicate, d.See(key("000005"), at), "now held")
	require.Equal(t, Unsure, d.See(key("777777"), at), "never seen, but the detector cannot tell")
	// Once the window has passed the last key dropped for room, a key not
	// held is fresh again.
	later := t0.Add(time.Hour + 1000*time.Second)
	require.Equal(t, Fresh, d.See(key("888888"), later))
}

// After a restart the keys of the earlier run are not held: Unsure until
// the window has moved past the restart; Remember keeps the journal's
// first sighting.
func TestMarkIncomplete(t *testing.T) {
	d := New(10 * time.Minute)
	d.MarkIncomplete(t0)
	require.Equal(t, Unsure, d.See(key("000001"), t0.Add(time.Minute)))
	d.Remember(key("000001"), t0.Add(-5*time.Minute))
	require.Equal(t, Duplicate, d.See(key("000001"), t0.Add(4*time.Minute)))
	require.Equal(t, Unsure, d.See(key("000001"), t0.Add(5*time.Minute)), "window from the first sighting")
	require.Equal(t, Fresh, d.See(key("000002"), t0.Add(10*time.Minute)))
}
