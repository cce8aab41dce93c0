// Package load is a load generator for the POS terminal: it runs sales
// from many terminals in parallel, flat out or paced at a fixed rate, until
// a count or a duration is reached, and sums them up in a Report: counts by
// outcome and response code, error kinds, throughput, and latency
// percentiles of the whole sale, of the host round trip and of the card.
//
// The package knows nothing of cards, keys or hosts: a Config's NewSale
// makes each terminal's sale function, which runs one sale however the
// caller set it up (a terminal with its card in process over a real
// acquirer link, or a fake in tests).
package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/pos"
)

// ErrConfig is wrapped by Run's errors for a configuration that cannot run.
var ErrConfig = errors.New("load: bad configuration")

// SaleFunc runs one sale and returns the terminal's result. An error means
// the sale gave no result at all (it is counted as an error of that kind,
// unless the run was cancelled meanwhile); wrap it with Stop to end the
// terminal's part of the run as well.
type SaleFunc func(ctx context.Context) (*pos.Result, error)

// Config sets up one run.
type Config struct {
	// Terminals sell in parallel, each with its own sale function.
	Terminals int
	// Count stops the run after that many sales in all (0: no count);
	// Duration stops starting sales after that long (0: no limit). At
	// least one of them is set. Sales in flight finish.
	Count    int
	Duration time.Duration
	// Rate paces the starts, sales per second over all terminals: sale k
	// (from 0) is due k/Rate after the start (0: flat out).
	Rate float64
	// NewSale makes terminal i's (from 0) sale function. Run calls it for
	// every terminal, in order, before the clock starts, so it may connect
	// ahead of the first sale.
	NewSale func(ctx context.Context, i int) (SaleFunc, error)
	// Clock measures the run and paces it; nil means the system clock.
	Clock Clock
	// Live, when set, follows the run as it goes (see Live).
	Live *Live
}

// After a sale that found the host in trouble (no answer, not sent, or
// 91: issuer or switch inoperative) a terminal waits before its next sale,
// HostBackoffMin at first and twice as long after each such sale in a
// row, up to HostBackoffMax; any other answer ends the wait. A cashier
// does not tap again and again while the host is down, and each tap
// spends one of the card's application transaction counters (ATC): a
// terminal hammering a host that is down would move its card's ATC far
// ahead of what the issuer last saw, beyond the issuer's ATC window, and
// the card would be declined when the host is back.
const (
	HostBackoffMin = 20 * time.Millisecond
	HostBackoffMax = time.Second
)

// Clock is the time source of a run.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// Sleep waits for d, returning early with ctx's error when ctx is
	// done first.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopError marks a sale error that ends its terminal's part of the run.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// Stop wraps err, a sale function's error, so that the sale is counted as
// an error of kind err.Error() and the terminal sells no more in this run
// (its card's transaction counter is spent, say). Stop(nil) is nil.
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return &stopError{err: err}
}

// validate checks the configuration.
func (c *Config) validate() error {
	switch {
	case c.Terminals < 1:
		return fmt.Errorf("%w: %d terminals", ErrConfig, c.Terminals)
	case c.Count < 0:
		return fmt.Errorf("%w: negative count", ErrConfig)
	case c.Duration < 0:
		return fmt.Errorf("%w: negative duration", ErrConfig)
	case c.Count == 0 && c.Duration == 0:
		return fmt.Errorf("%w: neither a count nor a duration", ErrConfig)
	case !(c.Rate >= 0) || c.Rate > 1e9: // NaN fails >= too
		return fmt.Errorf("%w: rate %g", ErrConfig, c.Rate)
	case c.NewSale == nil:
		return fmt.Errorf("%w: no sale function", ErrConfig)
	}
	return nil
}

// Run makes every terminal's sale function, then runs the sales until the
// count or the duration is reached and sums them up. When ctx is cancelled
// the terminals stop, the sales cut short are not counted, and the Report
// (of the sales answered until then) is marked Interrupted. Errors are for
// a bad configuration or a sale function that could not be made.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	sales := make([]SaleFunc, cfg.Terminals)
	for i := range sales {
		s, err := cfg.NewSale(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("load: terminal %d: %w", i+1, err)
		}
		if s == nil {
			return nil, fmt.Errorf("%w: terminal %d: no sale function", ErrConfig, i+1)
		}
		sales[i] = s
	}

	start := cfg.Clock.Now()
	sched := newSchedule(cfg, start)
	if cfg.Live != nil {
		cfg.Live.begin(cfg.Clock, start)
	}
	per := make([]stats, len(sales))
	var wg sync.WaitGroup
	for i, sale := range sales {
		per[i].init()
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(ctx, cfg.Clock, sched, sale, &per[i], cfg.Live)
		}()
	}
	wg.Wait()
	wall := cfg.Clock.Now().Sub(start)

	rep := &Report{Terminals: cfg.Terminals, Count: cfg.Count, Rate: cfg.Rate, Interrupted: ctx.Err() != nil}
	if cfg.Duration > 0 {
		rep.DurationLimit = cfg.Duration.String()
	}
	var all stats
	all.init()
	for i := range per {
		all.merge(&per[i])
	}
	rep.fill(&all, wall)
	return rep, nil
}

// work sells until the schedule says stop.
func work(ctx context.Context, clock Clock, sched *schedule, sale SaleFunc, s *stats, live *Live) {
	var backoff time.Duration
	for {
		if backoff > 0 && clock.Sleep(ctx, backoff) != nil {
			return
		}
		due, ok := sched.next(ctx)
		if !ok {
			return
		}
		begin := clock.Now()
		if !due.IsZero() {
			s.lag = append(s.lag, max(0, begin.Sub(due)))
		}
		res, err := sale(ctx)
		took := clock.Now().Sub(begin)
		var stop *stopError
		switch {
		case errors.As(err, &stop):
			s.fail(err.Error())
			live.sale(took, true)
			return
		case err != nil:
			if ctx.Err() != nil {
				return // interrupted: the run says so
			}
			s.fail(err.Error())
			live.sale(took, true)
			continue
		case res == nil:
			s.fail("no result")
			live.sale(took, true)
			continue
		}
		if ctx.Err() != nil && res.Status != pos.StatusApproved && res.Status != pos.StatusDeclined {
			return // cut short by the interruption, not by the path
		}
		s.record(res, took)
		live.sale(took, res.Status != pos.StatusApproved && res.Status != pos.StatusDeclined)
		backoff = nextBackoff(backoff, res)
	}
}

// nextBackoff is the wait before a terminal's next sale after res.
func nextBackoff(prev time.Duration, res *pos.Result) time.Duration {
	switch {
	case res.Status == pos.StatusHostUnavailable, res.Status == pos.StatusReversed, res.Status == pos.StatusReversalPending,
		res.Status == pos.StatusDeclined && res.ResponseCode == isospec.RCIssuerInoperative:
		if prev <= 0 {
			return HostBackoffMin
		}
		return min(2*prev, HostBackoffMax)
	}
	return 0
}
