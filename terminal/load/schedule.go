package load

import (
	"context"
	"sync"
	"time"
)

// Interval is the time between two starts at rate sales per second,
// truncated to the nanosecond; 0 for a rate of 0 or less (flat out).
func Interval(rate float64) time.Duration {
	if !(rate > 0) {
		return 0
	}
	return time.Duration(float64(time.Second) / rate)
}

// Due is when sale k (from 0) of a run paced at rate is due: k intervals
// after start. Flat out (rate 0) every sale is due at start.
func Due(start time.Time, rate float64, k int) time.Time {
	return start.Add(time.Duration(k) * Interval(rate))
}

// schedule hands the terminals their sales: flat out, a sale whenever a
// terminal is free, until the count or the deadline; paced, sale k at its
// due time to the first terminal free for it, the starts in order.
type schedule struct {
	clock    Clock
	start    time.Time
	deadline time.Time // zero: none
	count    int       // 0: none
	rate     float64   // 0: flat out

	mu     sync.Mutex
	issued int
}

func newSchedule(cfg Config, start time.Time) *schedule {
	s := &schedule{clock: cfg.Clock, start: start, count: cfg.Count, rate: cfg.Rate}
	if cfg.Duration > 0 {
		s.deadline = start.Add(cfg.Duration)
	}
	return s
}

// next says whether to sell and, paced, when the sale was due (zero flat
// out). Paced, it claims the next sale and waits until it is due; a sale
// due at or after the deadline is not started.
func (s *schedule) next(ctx context.Context) (due time.Time, ok bool) {
	if ctx.Err() != nil {
		return time.Time{}, false
	}
	if s.rate <= 0 {
		if !s.deadline.IsZero() && !s.clock.Now().Before(s.deadline) {
			return time.Time{}, false
		}
		if !s.claim() {
			return time.Time{}, false
		}
		return time.Time{}, true
	}
	s.mu.Lock()
	k := s.issued
	due = Due(s.start, s.rate, k)
	if (s.count > 0 && k >= s.count) || (!s.deadline.IsZero() && !due.Before(s.deadline)) {
		s.mu.Unlock()
		return time.Time{}, false
	}
	s.issued++
	s.mu.Unlock()
	if wait := due.Sub(s.clock.Now()); wait > 0 {
		if s.clock.Sleep(ctx, wait) != nil {
			return time.Time{}, false
		}
	}
	if ctx.Err() != nil {
		return time.Time{}, false
	}
	return due, true
}

// claim counts one more sale, false when the count is reached.
func (s *schedule) claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count > 0 && s.issued >= s.count {
		return false
	}
	s.issued++
	return true
}
