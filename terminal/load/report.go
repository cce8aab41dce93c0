package load

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/pos"
)

// Report is the summary of a run; latencies in milliseconds. It holds no
// card data: error kinds are the sale functions' error texts, which must
// not carry a PAN or a key.
type Report struct {
	// Terminals, Count, DurationLimit ("1m30s") and Rate are the run's
	// configuration (Count and Rate 0, DurationLimit empty when not set).
	Terminals     int     `json:"terminals"`
	Count         int     `json:"count_limit,omitempty"`
	DurationLimit string  `json:"duration_limit,omitempty"`
	Rate          float64 `json:"rate_target,omitempty"`
	// Interrupted is true when the run was cancelled before its end: the
	// sales cut short are not counted.
	Interrupted bool `json:"interrupted,omitempty"`

	// Transactions are the sales counted: Approved and Declined (answered:
	// by the host, or offline by the card) and Errors (no answer).
	Transactions int `json:"transactions"`
	Approved     int `json:"approved"`
	Declined     int `json:"declined"`
	Errors       int `json:"errors"`
	// ResponseCodes count the answered sales by response code, in code
	// order; ErrorKinds the errors by kind, most frequent first.
	ResponseCodes []CodeCount  `json:"response_codes"`
	ErrorKinds    []ErrorCount `json:"error_kinds"`
	// WallSeconds is the run's time from the first start to the last end,
	// rounded to the microsecond; Throughput the answered sales per
	// second of it and StartRate the sales counted per second, both
	// rounded to 0.01.
	WallSeconds float64 `json:"wall_seconds"`
	Throughput  float64 `json:"throughput_tps"`
	StartRate   float64 `json:"start_rate_tps"`
	// Latency is that of the answered sales.
	Latency Latencies `json:"latency_ms"`
	// StartLag, for a paced run only, is how late the sales started after
	// they were due: the terminals could not keep up.
	StartLag *Latency `json:"start_lag_ms,omitempty"`
}

// CodeCount is how many sales got a response code.
type CodeCount struct {
	Code    string `json:"code"`
	Meaning string `json:"meaning"`
	Count   int    `json:"count"`
}

// ErrorCount is how many sales errored one way.
type ErrorCount struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// Latencies are the latencies of the answered sales: the whole sale as the
// sale function took it, the host round trip (online sales only) and the
// time with the card (pos.Timings).
type Latencies struct {
	Sale Latency `json:"sale"`
	Host Latency `json:"host"`
	Card Latency `json:"card"`
}

// Latency is a latency distribution in milliseconds, each figure rounded
// to the microsecond; the percentiles by nearest rank (NearestRank).
type Latency struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// NearestRank is the q-quantile (0 < q <= 1) of sorted, an ascending
// slice, by the nearest-rank method: the smallest value such that at least
// q of the values are at or below it, sorted[ceil(q*n)-1]. q at or below 0
// gives the minimum, above 1 the maximum; an empty slice gives 0.
func NearestRank(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if math.IsNaN(q) {
		q = 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return sorted[min(max(i, 0), n-1)]
}

// Millis is d in milliseconds rounded to the microsecond.
func Millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// LatencyOf sums up a set of latencies: count, minimum, 50th, 90th and
// 99th percentiles by nearest rank, maximum and mean (truncated to the
// nanosecond), in milliseconds. It sorts ds in place.
func LatencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{N: len(ds), Min: Millis(ds[0]), P50: Millis(NearestRank(ds, 0.50)), P90: Millis(NearestRank(ds, 0.90)),
		P99: Millis(NearestRank(ds, 0.99)), Max: Millis(ds[len(ds)-1]), Mean: Millis(sum / time.Duration(len(ds)))}
}

// stats are what one terminal saw.
type stats struct {
	answered, approved, declined, errors int
	codes                                map[isospec.ResponseCode]int
	errKinds                             map[string]int
	sale, host, card, lag                []time.Duration
}

func (s *stats) init() {
	s.codes = map[isospec.ResponseCode]int{}
	s.errKinds = map[string]int{}
}

// fail counts an error of a kind.
func (s *stats) fail(kind string) {
	s.errors++
	s.errKinds[kind]++
}

// record counts one result that took took: an answer by its response code
// and latencies, anything else as an error of its kind.
func (s *stats) record(res *pos.Result, took time.Duration) {
	switch res.Status {
	case pos.StatusApproved, pos.StatusDeclined:
		s.answered++
		if res.Approved() {
			s.approved++
		} else {
			s.declined++
		}
		s.codes[res.ResponseCode]++
		s.sale = append(s.sale, took)
		s.card = append(s.card, res.Timings.Card)
		if res.Online {
			s.host = append(s.host, res.Timings.Host)
		}
	case pos.StatusReversed, pos.StatusReversalPending:
		if res.Message == pos.MsgInvalidHostAnswer {
			s.fail("invalid answer from the host (reversed)")
		} else {
			s.fail("no answer in time: " + res.Status.String())
		}
	case pos.StatusHostUnavailable:
		s.fail("connection: request not sent")
	case pos.StatusCancelled:
		s.fail("cancelled")
	default:
		s.fail(res.Status.String() + ": " + res.Message)
	}
}

// merge adds o to s.
func (s *stats) merge(o *stats) {
	s.answered += o.answered
	s.approved += o.approved
	s.declined += o.declined
	s.errors += o.errors
	for k, v := range o.codes {
		s.codes[k] += v
	}
	for k, v := range o.errKinds {
		s.errKinds[k] += v
	}
	s.sale = append(s.sale, o.sale...)
	s.host = append(s.host, o.host...)
	s.card = append(s.card, o.card...)
	s.lag = append(s.lag, o.lag...)
}

// fill sums up the stats of a run that took wall.
func (r *Report) fill(s *stats, wall time.Duration) {
	r.Transactions = s.answered + s.errors
	r.Approved, r.Declined, r.Errors = s.approved, s.declined, s.errors
	r.WallSeconds = math.Round(wall.Seconds()*1e6) / 1e6
	if wall > 0 {
		r.Throughput = math.Round(float64(s.answered)/wall.Seconds()*100) / 100
		r.StartRate = math.Round(float64(r.Transactions)/wall.Seconds()*100) / 100
	}
	r.ResponseCodes = []CodeCount{}
	for c, n := range s.codes {
		m := (&pos.Result{ResponseCode: c}).ResponseMeaning()
		r.ResponseCodes = append(r.ResponseCodes, CodeCount{Code: string(c), Meaning: m, Count: n})
	}
	sort.Slice(r.ResponseCodes, func(i, j int) bool { return r.ResponseCodes[i].Code < r.ResponseCodes[j].Code })
	r.ErrorKinds = []ErrorCount{}
	for k, n := range s.errKinds {
		r.ErrorKinds = append(r.ErrorKinds, ErrorCount{Kind: k, Count: n})
	}
	sort.Slice(r.ErrorKinds, func(i, j int) bool {
		if r.ErrorKinds[i].Count != r.ErrorKinds[j].Count {
			return r.ErrorKinds[i].Count > r.ErrorKinds[j].Count
		}
		return r.ErrorKinds[i].Kind < r.ErrorKinds[j].Kind
	})
	r.Latency = Latencies{Sale: LatencyOf(s.sale), Host: LatencyOf(s.host), Card: LatencyOf(s.card)}
	if r.Rate > 0 {
		l := LatencyOf(s.lag)
		r.StartLag = &l
	}
}

// Pace says how the sales were started: "flat out" or "paced at 50/s".
func (r *Report) Pace() string {
	if r.Rate > 0 {
		return fmt.Sprintf("paced at %g/s", r.Rate)
	}
	return "flat out"
}

// StopAfter says what ends the run: "1000 sales", "30s" or "1000 sales or
// 30s".
func (r *Report) StopAfter() string {
	stop := []string{}
	if r.Count > 0 {
		stop = append(stop, fmt.Sprintf("%d sales", r.Count))
	}
	if r.DurationLimit != "" {
		stop = append(stop, r.DurationLimit)
	}
	return strings.Join(stop, " or ")
}

// WriteText prints the summary for a person: the interruption if any, a
// blank line, the counts, wall time and throughput, the response codes and
// error kinds (when any), and the latency table in milliseconds. It
// returns the first write error.
func (r *Report) WriteText(w io.Writer) error {
	out := &errWriter{w: w}
	if r.Interrupted {
		fmt.Fprintln(out, "interrupted: the sales in flight are not counted")
	}
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "transactions\t%d\n", r.Transactions)
	fmt.Fprintf(tw, "approved\t%d\n", r.Approved)
	fmt.Fprintf(tw, "declined\t%d\n", r.Declined)
	fmt.Fprintf(tw, "errors\t%d\n", r.Errors)
	fmt.Fprintf(tw, "wall time\t%.3f s\n", r.WallSeconds)
	fmt.Fprintf(tw, "throughput\t%.2f tx/s answered\n", r.Throughput)
	if r.Rate > 0 {
		fmt.Fprintf(tw, "start rate\t%.2f tx/s (target %g)\n", r.StartRate, r.Rate)
	}
	_ = tw.Flush()

	if len(r.ResponseCodes) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DE39\tMEANING\tCOUNT")
		for _, c := range r.ResponseCodes {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", c.Code, c.Meaning, c.Count)
		}
		_ = tw.Flush()
	}
	if len(r.ErrorKinds) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ERROR\tCOUNT")
		for _, e := range r.ErrorKinds {
			fmt.Fprintf(tw, "%s\t%d\n", e.Kind, e.Count)
		}
		_ = tw.Flush()
	}

	fmt.Fprintln(out)
	fmt.Fprintf(out, "%-14s %7s %9s %9s %9s %9s %9s %9s\n", "LATENCY (ms)", "N", "MIN", "P50", "P90", "P99", "MAX", "MEAN")
	row := func(name string, l Latency) {
		fmt.Fprintf(out, "%-14s %7d %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, l.N, l.Min, l.P50, l.P90, l.P99, l.Max, l.Mean)
	}
	row("sale", r.Latency.Sale)
	row("host", r.Latency.Host)
	row("card", r.Latency.Card)
	if r.StartLag != nil {
		row("start-lag", *r.StartLag)
	}
	return out.err
}

// errWriter keeps the first write error and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
