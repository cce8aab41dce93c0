package load

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInterval(t *testing.T) {
	tests := []struct {
		rate float64
		want time.Duration
	}{
		{100, 10 * time.Millisecond},
		{1, time.Second},
		{0.5, 2 * time.Second},
		{3, 333333333 * time.Nanosecond},
		{1500, 666666 * time.Nanosecond},
		{0, 0},
		{-1, 0},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Interval(tc.rate), "%g/s", tc.rate)
	}
	start := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	require.Equal(t, start, Due(start, 100, 0))
	require.Equal(t, start.Add(190*time.Millisecond), Due(start, 100, 19))
	require.Equal(t, start.Add(999999999*time.Nanosecond), Due(start, 3, 3), "k whole intervals, not k/rate rounded")
	require.Equal(t, start, Due(start, 0, 7), "flat out: all due at once")
}

// stepClock is a clock that Sleep moves on.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

// The paced schedule hands out the sales in order, each when due, up to
// the count or the deadline.
func TestSchedulePaced(t *testing.T) {
	start := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		name     string
		count    int
		duration time.Duration
		rate     float64
		want     int
	}{
		{"count", 4, 0, 50, 4},
		{"deadline between two sales", 0, 75 * time.Millisecond, 50, 4}, // 0, 20, 40, 60
		{"deadline on a sale", 0, 80 * time.Millisecond, 50, 4},         // 80 is not before it
		{"count before the deadline", 2, time.Second, 50, 2},
		{"deadline before the count", 100, 30 * time.Millisecond, 50, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &stepClock{now: start}
			s := newSchedule(Config{Count: tc.count, Duration: tc.duration, Rate: tc.rate, Clock: clock}, start)
			for k := range tc.want {
				due, ok := s.next(context.Background())
				require.True(t, ok, "sale %d", k)
				require.Equal(t, start.Add(time.Duration(k)*20*time.Millisecond), due)
				require.Equal(t, due, clock.Now(), "waited until due")
			}
			_, ok := s.next(context.Background())
			require.False(t, ok)
			_, ok = s.next(context.Background())
			require.False(t, ok, "stays over")
			require.Len(t, clock.sleeps, tc.want-1)
		})
	}

	// A late caller gets the next sale at once, due when it was due.
	clock := &stepClock{now: start}
	s := newSchedule(Config{Count: 3, Rate: 10, Clock: clock}, start)
	clock.now = start.Add(250 * time.Millisecond)
	for k := range 3 {
		due, ok := s.next(context.Background())
		require.True(t, ok)
		require.Equal(t, start.Add(time.Duration(k)*100*time.Millisecond), due)
	}
	require.Empty(t, clock.sleeps)

	// Cancelled, no sale.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s = newSchedule(Config{Count: 3, Rate: 10, Clock: clock}, start)
	_, ok := s.next(ctx)
	require.False(t, ok)
}

// Flat out, the schedule counts the sales and watches the deadline; no
// sale has a due time.
func TestScheduleFlatOut(t *testing.T) {
	start := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	clock := &stepClock{now: start}
	s := newSchedule(Config{Count: 3, Clock: clock}, start)
	for range 3 {
		due, ok := s.next(context.Background())
		require.True(t, ok)
		require.True(t, due.IsZero())
	}
	_, ok := s.next(context.Background())
	require.False(t, ok)

	s = newSchedule(Config{Duration: time.Second, Clock: clock}, start)
	clock.now = start.Add(999 * time.Millisecond)
	_, ok = s.next(context.Background())
	require.True(t, ok)
	clock.now = start.Add(time.Second)
	_, ok = s.next(context.Background())
	require.False(t, ok, "the deadline is not before now")
	require.Empty(t, clock.sleeps)
}
