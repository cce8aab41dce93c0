package load_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/load"
	"github.com/tapsim/tapsim/terminal/pos"
)

// manualClock moves only when a sale takes time or the run sleeps.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time { return c.now }

func (c *manualClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

// One terminal sells ten times; every fourth sale is declined for lack of
// funds. Each sale takes 8 ms on the clock, 6 of them at the host.
func ExampleRun() {
	clock := &manualClock{now: time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)}
	n := 0
	sale := func(context.Context) (*pos.Result, error) {
		n++
		clock.now = clock.now.Add(8 * time.Millisecond)
		res := &pos.Result{Status: pos.StatusApproved, ResponseCode: isospec.ResponseCode("00"), Online: true,
			Timings: pos.Timings{Card: 2 * time.Millisecond, Host: 6 * time.Millisecond}}
		if n%4 == 0 {
			res.Status, res.ResponseCode = pos.StatusDeclined, isospec.ResponseCode("51")
		}
		return res, nil
	}
	rep, err := load.Run(context.Background(), load.Config{
		Terminals: 1,
		Count:     10,
		NewSale:   func(context.Context, int) (load.SaleFunc, error) { return sale, nil },
		Clock:     clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d terminal, %s, stop after %s\n", rep.Terminals, rep.Pace(), rep.StopAfter())
	_ = rep.WriteText(os.Stdout)
	// Output:
	// 1 terminal, flat out, stop after 10 sales
	//
	// transactions  10
	// approved      8
	// declined      2
	// errors        0
	// wall time     0.080 s
	// throughput    125.00 tx/s answered
	//
	// DE39  MEANING             COUNT
	// 00    approved            8
	// 51    insufficient funds  2
	//
	// LATENCY (ms)         N       MIN       P50       P90       P99       MAX      MEAN
	// sale                10     8.000     8.000     8.000     8.000     8.000     8.000
	// host                10     6.000     6.000     6.000     6.000     6.000     6.000
	// card                10     2.000     2.000     2.000     2.000     2.000     2.000
}

// The 50th, 90th and 99th percentiles of ten latencies by nearest rank.
func ExampleNearestRank() {
	var ds []time.Duration
	for _, v := range []int{3, 6, 7, 8, 8, 10, 13, 15, 16, 20} {
		ds = append(ds, time.Duration(v)*time.Millisecond)
	}
	fmt.Println(load.NearestRank(ds, 0.50), load.NearestRank(ds, 0.90), load.NearestRank(ds, 0.99))
	// Output: 8ms 16ms 20ms
}

// Paced at 4 sales a second, sale k is due k×250 ms after the start.
func ExampleDue() {
	start := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	for k := range 3 {
		fmt.Println(load.Due(start, 4, k).Format("15:04:05.000"))
	}
	// Output:
	// 10:30:00.000
	// 10:30:00.250
	// 10:30:00.500
}
