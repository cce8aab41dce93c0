package load

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// liveStep and liveBuckets make the live latency histogram: 0.1 ms steps
// up to 5 s, and one bucket for anything longer.
const (
	liveStep    = 100 * time.Microsecond
	liveBuckets = 50_000
)

// Live follows a run while it goes, for a progress display: give one to
// Config.Live and read Snapshot from another goroutine. It is safe for
// concurrent use; the zero value is ready.
type Live struct {
	mu      sync.Mutex
	start   time.Time
	clock   Clock
	sales   int
	errors  int
	buckets []uint32
}

// Progress is a run so far.
type Progress struct {
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Sales counts the sales done (answered or errored), Errors those that
	// errored.
	Sales, Errors int
	// TPS is Sales over Elapsed.
	TPS float64
	// P99 is the 99th percentile of the answered sales' latency so far, to
	// 0.1 ms (0 before the first answer).
	P99 time.Duration
}

func (l *Live) begin(clock Clock, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock, l.start = clock, start
	l.buckets = make([]uint32, liveBuckets+1)
}

// sale counts one sale: an answer that took took, or an error.
func (l *Live) sale(took time.Duration, failed bool) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sales++
	if failed {
		l.errors++
		return
	}
	if l.buckets == nil {
		return
	}
	i := int(took / liveStep)
	if i < 0 {
		i = 0
	}
	l.buckets[min(i, liveBuckets)]++
}

// Snapshot returns the run so far.
func (l *Live) Snapshot() Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := Progress{Sales: l.sales, Errors: l.errors}
	if l.clock == nil {
		return p
	}
	p.Elapsed = l.clock.Now().Sub(l.start)
	if p.Elapsed > 0 {
		p.TPS = float64(l.sales) / p.Elapsed.Seconds()
	}
	answered := l.sales - l.errors
	if answered > 0 {
		// Nearest rank: the smallest latency with at least 99% at or below.
		rank := (answered*99 + 99) / 100
		seen := 0
		for i, n := range l.buckets {
			seen += int(n)
			if seen >= rank {
				p.P99 = time.Duration(i+1) * liveStep
				break
			}
		}
	}
	return p
}

// barWidth is the width of Line's progress bar.
const barWidth = 24

// Line is the progress as one line for a terminal: elapsed time, sales,
// throughput, p99 latency so far and errors, then a bar towards count
// (a --count run) or towards limit (a --duration run) when set.
func (p Progress) Line(count int, limit time.Duration) string {
	s := fmt.Sprintf("%7.1fs %9d sales %8.1f tx/s  p99 %8.1f ms %6d errors",
		p.Elapsed.Seconds(), p.Sales, p.TPS, float64(p.P99)/float64(time.Millisecond), p.Errors)
	var frac float64
	switch {
	case count > 0:
		frac = float64(p.Sales) / float64(count)
	case limit > 0:
		frac = p.Elapsed.Seconds() / limit.Seconds()
	default:
		return s
	}
	frac = max(0, min(1, frac))
	full := int(frac * barWidth)
	return s + "  [" + strings.Repeat("#", full) + strings.Repeat("-", barWidth-full) + fmt.Sprintf("] %3.0f%%", frac*100)
}
