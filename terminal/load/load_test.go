package load_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/load"
	"github.com/tapsim/tapsim/terminal/pos"
)

// fakeClock is a clock that moves only when told to: Sleep moves it on
// at once, and so do the fake sales that take time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// answer is a result the host gave.
func answer(code isospec.ResponseCode) *pos.Result {
	st := pos.StatusDeclined
	if code == isospec.ResponseCode("00") {
		st = pos.StatusApproved
	}
	return &pos.Result{Kind: pos.KindSale, Status: st, Online: true, ResponseCode: code,
		Timings: pos.Timings{Card: time.Millisecond, Host: 2 * time.Millisecond}}
}

// constant makes every terminal's sale function the same.
func constant(f load.SaleFunc) func(context.Context, int) (load.SaleFunc, error) {
	return func(context.Context, int) (load.SaleFunc, error) { return f, nil }
}

// Sales of every kind, from four terminals: the counts add up, by code
// and by error kind, whatever terminal sold what.
func TestRunCounts(t *testing.T) {
	var n atomic.Int64
	sale := func(context.Context) (*pos.Result, error) {
		switch k := n.Add(1) - 1; k % 10 {
		case 6:
			return answer("51"), nil
		case 7:
			return answer("05"), nil
		case 8:
			return nil, errors.New("terminal: kernel: card removed")
		case 9:
			return &pos.Result{Status: pos.StatusReversed, Message: pos.MsgReversed}, nil
		default:
			return answer("00"), nil
		}
	}
	rep, err := load.Run(context.Background(), load.Config{Terminals: 4, Count: 100, NewSale: constant(sale)})
	require.NoError(t, err)
	require.EqualValues(t, 100, n.Load(), "exactly the count was sold")
	require.False(t, rep.Interrupted)
	require.Equal(t, 4, rep.Terminals)
	require.Equal(t, 100, rep.Count)
	require.Equal(t, 100, rep.Transactions)
	require.Equal(t, 60, rep.Approved)
	require.Equal(t, 20, rep.Declined)
	require.Equal(t, 20, rep.Errors)
	require.Equal(t, []load.CodeCount{
		{Code: "00", Meaning: "approved", Count: 60},
		{Code: "05", Meaning: "do not honour", Count: 10},
		{Code: "51", Meaning: "insufficient funds", Count: 10},
	}, rep.ResponseCodes)
	require.Equal(t, []load.ErrorCount{
		{Kind: "no answer in time: reversed", Count: 10},
		{Kind: "terminal: kernel: card removed", Count: 10},
	}, rep.ErrorKinds)
	require.Equal(t, 80, rep.Latency.Sale.N, "answered sales only")
	require.Equal(t, 80, rep.Latency.Host.N)
	require.Equal(t, 80, rep.Latency.Card.N)
	require.Equal(t, 1.0, rep.Latency.Card.P50)
	require.Equal(t, 2.0, rep.Latency.Host.Max)
	require.Nil(t, rep.StartLag, "flat out")
}

// Each pos status that is not an answer is an error of its own kind;
// offline decisions are answers without a host latency.
func TestRunRecordsStatuses(t *testing.T) {
	tests := []struct {
		name string
		res  *pos.Result
		kind string
		code string
	}{
		{"reversed", &pos.Result{Status: pos.StatusReversed, Message: pos.MsgReversed}, "no answer in time: reversed", ""},
		{"reversal pending", &pos.Result{Status: pos.StatusReversalPending, Message: pos.MsgReversalPending}, "no answer in time: reversal_pending", ""},
		{"invalid answer", &pos.Result{Status: pos.StatusReversed, Message: pos.MsgInvalidHostAnswer}, "invalid answer from the host (reversed)", ""},
		{"not sent", &pos.Result{Status: pos.StatusHostUnavailable}, "connection: request not sent", ""},
		{"cancelled", &pos.Result{Status: pos.StatusCancelled}, "cancelled", ""},
		{"not completed", &pos.Result{Status: pos.StatusNotCompleted, Message: "Try Another Interface"}, "not_completed: Try Another Interface", ""},
		{"nil result", nil, "no result", ""},
		{"offline approval", &pos.Result{Status: pos.StatusApproved, ResponseCode: pos.RCOfflineApproved}, "", "Y1"},
		{"offline decline", &pos.Result{Status: pos.StatusDeclined, ResponseCode: pos.RCOfflineDeclined}, "", "Z1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sale := func(context.Context) (*pos.Result, error) { return tc.res, nil }
			rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Count: 3, NewSale: constant(sale)})
			require.NoError(t, err)
			require.Equal(t, 3, rep.Transactions)
			if tc.kind != "" {
				require.Equal(t, 3, rep.Errors)
				require.Equal(t, []load.ErrorCount{{Kind: tc.kind, Count: 3}}, rep.ErrorKinds)
				require.Empty(t, rep.ResponseCodes)
				require.Zero(t, rep.Latency.Sale.N)
				return
			}
			require.Zero(t, rep.Errors)
			require.Empty(t, rep.ErrorKinds)
			require.Len(t, rep.ResponseCodes, 1)
			require.Equal(t, tc.code, rep.ResponseCodes[0].Code)
			require.Equal(t, 3, rep.Latency.Sale.N)
			require.Equal(t, 3, rep.Latency.Card.N)
			require.Zero(t, rep.Latency.Host.N, "offline: no host latency")
		})
	}
	// The meanings of the offline codes.
	rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Count: 1,
		NewSale: constant(func(context.Context) (*pos.Result, error) {
			return &pos.Result{Status: pos.StatusDeclined, ResponseCode: pos.RCOfflineDeclined}, nil
		})})
	require.NoError(t, err)
	require.Equal(t, []load.CodeCount{{Code: "Z1", Meaning: "declined offline", Count: 1}}, rep.ResponseCodes)
}

// One terminal whose sale k takes k+1 ms on the clock: the sale latencies
// are 1 to 100 ms, so the nearest-rank percentiles are known.
func TestRunLatencies(t *testing.T) {
	clock := newFakeClock()
	k := 0
	sale := func(context.Context) (*pos.Result, error) {
		k++
		clock.advance(time.Duration(k) * time.Millisecond)
		res := answer("00")
		res.Timings.Card = time.Duration(k) * time.Microsecond
		res.Timings.Host = time.Duration(k)*time.Millisecond - res.Timings.Card
		return res, nil
	}
	rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Count: 100, NewSale: constant(sale), Clock: clock})
	require.NoError(t, err)
	require.Equal(t, load.Latency{N: 100, Min: 1, P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}, rep.Latency.Sale)
	require.Equal(t, load.Latency{N: 100, Min: 0.001, P50: 0.05, P90: 0.09, P99: 0.099, Max: 0.1, Mean: 0.051}, rep.Latency.Card,
		"the mean, 50.5 µs, rounds half away from zero to the µs")
	require.Equal(t, load.Latency{N: 100, Min: 0.999, P50: 49.95, P90: 89.91, P99: 98.901, Max: 99.9, Mean: 50.45}, rep.Latency.Host)
	// 5050 ms in all.
	require.Equal(t, 5.05, rep.WallSeconds)
	require.Equal(t, math.Round(100/5.05*100)/100, rep.Throughput)
	require.Equal(t, rep.Throughput, rep.StartRate)
}

// Flat out with a duration, the run starts no sale once the duration is
// over; the sales in flight finish.
func TestRunDuration(t *testing.T) {
	clock := newFakeClock()
	sale := func(context.Context) (*pos.Result, error) {
		clock.advance(30 * time.Millisecond)
		return answer("00"), nil
	}
	rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Duration: 100 * time.Millisecond,
		NewSale: constant(sale), Clock: clock})
	require.NoError(t, err)
	// Starts at 0, 30, 60 and 90 ms; the last ends at 120 ms.
	require.Equal(t, 4, rep.Transactions)
	require.Equal(t, 0.12, rep.WallSeconds)
	require.Equal(t, "100ms", rep.DurationLimit)
	require.Zero(t, rep.Count)

	// The count stops the run first when it comes first.
	rep, err = load.Run(context.Background(), load.Config{Terminals: 1, Count: 2, Duration: time.Second,
		NewSale: constant(sale), Clock: clock})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Transactions)

	// On the system clock, with several terminals.
	real := func(ctx context.Context) (*pos.Result, error) {
		time.Sleep(2 * time.Millisecond)
		return answer("00"), nil
	}
	begin := time.Now()
	rep, err = load.Run(context.Background(), load.Config{Terminals: 3, Duration: 60 * time.Millisecond, NewSale: constant(real)})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(begin), 60*time.Millisecond)
	require.GreaterOrEqual(t, rep.WallSeconds, 0.06)
	require.Positive(t, rep.Transactions)
	require.LessOrEqual(t, rep.Transactions, 3*30, "at most one sale per 2 ms per terminal")
	require.Equal(t, rep.Transactions, rep.Approved)
}

// Paced at 100/s, sale k is due k×10 ms after the start: a terminal
// that keeps up waits for each, one that does not starts late, and the lag
// says by how much.
func TestRunPaced(t *testing.T) {
	t.Run("keeping up", func(t *testing.T) {
		clock := newFakeClock()
		sale := func(context.Context) (*pos.Result, error) {
			clock.advance(4 * time.Millisecond)
			return answer("00"), nil
		}
		rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Count: 5, Rate: 100, NewSale: constant(sale), Clock: clock})
		require.NoError(t, err)
		require.Equal(t, 5, rep.Approved)
		// Each sale ends 4 ms into its slot: the terminal waits 6 ms.
		require.Equal(t, []time.Duration{6 * time.Millisecond, 6 * time.Millisecond, 6 * time.Millisecond, 6 * time.Millisecond}, clock.sleeps)
		require.Equal(t, 0.044, rep.WallSeconds)
		require.NotNil(t, rep.StartLag)
		require.Equal(t, load.Latency{N: 5}, *rep.StartLag)
		require.Equal(t, math.Round(5/0.044*100)/100, rep.StartRate)
	})
	t.Run("falling behind", func(t *testing.T) {
		clock := newFakeClock()
		sale := func(context.Context) (*pos.Result, error) {
			clock.advance(25 * time.Millisecond)
			return answer("00"), nil
		}
		rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Count: 5, Rate: 100, NewSale: constant(sale), Clock: clock})
		require.NoError(t, err)
		require.Empty(t, clock.sleeps, "never early")
		// Due 0, 10, 20, 30, 40 ms; started 0, 25, 50, 75, 100 ms.
		require.Equal(t, load.Latency{N: 5, Min: 0, P50: 30, P90: 60, P99: 60, Max: 60, Mean: 30}, *rep.StartLag)
		require.Equal(t, 0.125, rep.WallSeconds)
		require.Equal(t, 40.0, rep.StartRate)
	})
	t.Run("duration", func(t *testing.T) {
		clock := newFakeClock()
		sale := func(context.Context) (*pos.Result, error) { return answer("00"), nil }
		rep, err := load.Run(context.Background(), load.Config{Terminals: 2, Duration: 55 * time.Millisecond, Rate: 100,
			NewSale: constant(sale), Clock: clock})
		require.NoError(t, err)
		// Due 0, 10, 20, 30, 40, 50 ms; the one due at 60 ms is past
		// the end.
		require.Equal(t, 6, rep.Transactions)
		require.Equal(t, 6, rep.StartLag.N)
	})
	t.Run("system clock", func(t *testing.T) {
		var mu sync.Mutex
		var starts []time.Time
		sale := func(context.Context) (*pos.Result, error) {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			return answer("00"), nil
		}
		begin := time.Now()
		rep, err := load.Run(context.Background(), load.Config{Terminals: 3, Count: 10, Rate: 200, NewSale: constant(sale)})
		require.NoError(t, err)
		require.Equal(t, 10, rep.Approved)
		require.Len(t, starts, 10)
		// 10 starts 5 ms apart: the last is due 45 ms after the first,
		// and none starts early.
		require.GreaterOrEqual(t, time.Since(begin), 45*time.Millisecond)
		require.GreaterOrEqual(t, rep.WallSeconds, 0.045)
		last := starts[0]
		for _, s := range starts[1:] {
			if s.After(last) {
				last = s
			}
		}
		require.GreaterOrEqual(t, last.Sub(begin), 45*time.Millisecond)
		require.Equal(t, 10, rep.StartLag.N)
	})
}

// Cancelling the run stops every terminal: the sales cut short are not
// counted, the ones answered are, and the report says it was
// interrupted.
func TestRunCancelled(t *testing.T) {
	t.Run("flat out", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var n atomic.Int64
		sale := func(ctx context.Context) (*pos.Result, error) {
			switch n.Add(1) {
			case 5:
				cancel()
				return nil, fmt.Errorf("terminal: %w", ctx.Err())
			}
			return answer("00"), nil
		}
		rep, err := load.Run(ctx, load.Config{Terminals: 1, Count: 1000, NewSale: constant(sale)})
		require.NoError(t, err)
		require.True(t, rep.Interrupted)
		require.EqualValues(t, 5, n.Load(), "no sale starts after the cancellation")
		require.Equal(t, 4, rep.Transactions)
		require.Equal(t, 4, rep.Approved)
		require.Zero(t, rep.Errors)
	})
	t.Run("answer during the cancellation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var n atomic.Int64
		sale := func(context.Context) (*pos.Result, error) {
			if n.Add(1) == 3 {
				cancel()
				return answer("05"), nil // answered: counted
			}
			return answer("00"), nil
		}
		rep, err := load.Run(ctx, load.Config{Terminals: 1, Count: 1000, NewSale: constant(sale)})
		require.NoError(t, err)
		require.True(t, rep.Interrupted)
		require.Equal(t, 3, rep.Transactions)
		require.Equal(t, 1, rep.Declined)
	})
	t.Run("reversal during the cancellation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var n atomic.Int64
		sale := func(context.Context) (*pos.Result, error) {
			if n.Add(1) == 3 {
				cancel()
				return &pos.Result{Status: pos.StatusReversed, Message: pos.MsgReversed}, nil
			}
			return answer("00"), nil
		}
		rep, err := load.Run(ctx, load.Config{Terminals: 1, Count: 1000, NewSale: constant(sale)})
		require.NoError(t, err)
		require.True(t, rep.Interrupted)
		require.Equal(t, 2, rep.Transactions, "cut short by the interruption: not counted")
		require.Zero(t, rep.Errors)
	})
	t.Run("paced terminals waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sale := func(context.Context) (*pos.Result, error) { return answer("00"), nil }
		time.AfterFunc(30*time.Millisecond, cancel)
		begin := time.Now()
		// One sale a second: the first is due at once, the next ones
		// not before the cancellation.
		rep, err := load.Run(ctx, load.Config{Terminals: 3, Count: 100, Rate: 1, NewSale: constant(sale)})
		require.NoError(t, err)
		require.Less(t, time.Since(begin), 900*time.Millisecond, "the waiting terminals woke up")
		require.True(t, rep.Interrupted)
		require.Equal(t, 1, rep.Transactions)
		require.Equal(t, 1, rep.StartLag.N)
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		sale := func(context.Context) (*pos.Result, error) { called = true; return answer("00"), nil }
		rep, err := load.Run(ctx, load.Config{Terminals: 1, Count: 10, NewSale: constant(sale)})
		require.NoError(t, err)
		require.False(t, called)
		require.True(t, rep.Interrupted)
		require.Zero(t, rep.Transactions)
		require.Equal(t, []load.CodeCount{}, rep.ResponseCodes)
		require.Equal(t, []load.ErrorCount{}, rep.ErrorKinds)
	})
}

// A sale error wrapped with Stop is counted and ends that terminal's part
// of the run; the others go on to the count.
func TestRunStop(t *testing.T) {
	spent := errors.New("card transaction counter exhausted")
	var calls [2]atomic.Int64
	stopped := make(chan struct{})
	newSale := func(_ context.Context, i int) (load.SaleFunc, error) {
		return func(context.Context) (*pos.Result, error) {
			n := calls[i].Add(1)
			switch {
			case i == 0 && n == 3:
				close(stopped)
				return nil, load.Stop(spent)
			case i == 1:
				<-stopped // terminal 2 sells once terminal 1 is done
			}
			return answer("00"), nil
		}, nil
	}
	rep, err := load.Run(context.Background(), load.Config{Terminals: 2, Count: 20, NewSale: newSale})
	require.NoError(t, err)
	require.EqualValues(t, 3, calls[0].Load(), "terminal 1 stopped")
	require.EqualValues(t, 17, calls[1].Load())
	require.Equal(t, 20, rep.Transactions)
	require.Equal(t, 19, rep.Approved)
	require.Equal(t, []load.ErrorCount{{Kind: spent.Error(), Count: 1}}, rep.ErrorKinds)

	err = load.Stop(spent)
	require.ErrorIs(t, err, spent)
	require.Equal(t, spent.Error(), err.Error())
	require.NoError(t, load.Stop(nil))
}

// A configuration that cannot run is refused before any sale function is
// made; a sale function that cannot be made stops the run.
func TestRunConfigErrors(t *testing.T) {
	ok := constant(func(context.Context) (*pos.Result, error) { return answer("00"), nil })
	tests := []struct {
		name string
		cfg  load.Config
		want string
	}{
		{"no terminals", load.Config{Count: 1, NewSale: ok}, "0 terminals"},
		{"negative count", load.Config{Terminals: 1, Count: -1, NewSale: ok}, "negative count"},
		{"negative duration", load.Config{Terminals: 1, Duration: -time.Second, NewSale: ok}, "negative duration"},
		{"no end", load.Config{Terminals: 1, NewSale: ok}, "neither a count nor a duration"},
		{"negative rate", load.Config{Terminals: 1, Count: 1, Rate: -1, NewSale: ok}, "rate -1"},
		{"NaN rate", load.Config{Terminals: 1, Count: 1, Rate: math.NaN(), NewSale: ok}, "rate NaN"},
		{"infinite rate", load.Config{Terminals: 1, Count: 1, Rate: math.Inf(1), NewSale: ok}, "rate +Inf"},
		{"no sale", load.Config{Terminals: 1, Count: 1}, "no sale function"},
		{"nil sale", load.Config{Terminals: 1, Count: 1, NewSale: func(context.Context, int) (load.SaleFunc, error) { return nil, nil }},
			"terminal 1: no sale function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := load.Run(context.Background(), tc.cfg)
			require.ErrorIs(t, err, load.ErrConfig)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, rep)
		})
	}

	boom := errors.New("no such card")
	made := 0
	_, err := load.Run(context.Background(), load.Config{Terminals: 3, Count: 1,
		NewSale: func(_ context.Context, i int) (load.SaleFunc, error) {
			if i == 1 {
				return nil, boom
			}
			made++
			return func(context.Context) (*pos.Result, error) {
				t.Fatal("no sale starts")
				return nil, nil
			}, nil
		}})
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "load: terminal 2: no such card")
	require.Equal(t, 1, made)
}

// A terminal whose host is down waits before its next sale, twice as long
// each time up to a second, so that it does not spend its card's ATCs
// while nobody answers; an answer ends the wait. Live follows the run.
func TestRunBacksOffWhileHostDown(t *testing.T) {
	clock := newFakeClock()
	var n atomic.Int64
	sale := func(context.Context) (*pos.Result, error) {
		clock.advance(3 * time.Millisecond)
		switch k := n.Add(1); {
		case k <= 4:
			return answer("91"), nil
		case k == 5:
			return &pos.Result{Status: pos.StatusHostUnavailable}, nil
		case k <= 8:
			return &pos.Result{Status: pos.StatusReversed, Message: pos.MsgReversed}, nil
		default:
			return answer("00"), nil
		}
	}
	live := &load.Live{}
	rep, err := load.Run(context.Background(), load.Config{Terminals: 1, Count: 12, NewSale: constant(sale), Clock: clock, Live: live})
	require.NoError(t, err)
	require.Equal(t, 12, rep.Transactions)
	ms := time.Millisecond
	require.Equal(t, []time.Duration{20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second}, clock.sleeps)

	p := live.Snapshot()
	require.Equal(t, 12, p.Sales)
	require.Equal(t, 4, p.Errors)
	require.Equal(t, 36*ms+1260*ms+2*time.Second, p.Elapsed)
	require.InDelta(t, 12/p.Elapsed.Seconds(), p.TPS, 1e-9)
	require.Equal(t, 3100*time.Microsecond, p.P99, "3 ms, to the next 0.1 ms")
}

func TestLiveBeforeRun(t *testing.T) {
	var l load.Live
	require.Equal(t, load.Progress{}, l.Snapshot())
}

func TestProgressLine(t *testing.T) {
	p := load.Progress{Elapsed: 2500 * time.Millisecond, Sales: 500, Errors: 1, TPS: 200, P99: 12300 * time.Microsecond}
	for _, tc := range []struct {
		name  string
		count int
		limit time.Duration
		want  string
	}{
		{"no limit", 0, 0, "    2.5s       500 sales    200.0 tx/s  p99     12.3 ms      1 errors"},
		{"count", 1000, 0, "    2.5s       500 sales    200.0 tx/s  p99     12.3 ms      1 errors  [############------------]  50%"},
		{"duration", 0, 10 * time.Second, "    2.5s       500 sales    200.0 tx/s  p99     12.3 ms      1 errors  [######------------------]  25%"},
		{"past the end", 100, 0, "    2.5s       500 sales    200.0 tx/s  p99     12.3 ms      1 errors  [########################] 100%"},
	} {
		require.Equal(t, tc.want, p.Line(tc.count, tc.limit), tc.name)
	}
}
