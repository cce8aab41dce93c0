package load_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/terminal/load"
)

func ms(v ...int) []time.Duration {
	ds := make([]time.Duration, len(v))
	for i, x := range v {
		ds[i] = time.Duration(x) * time.Millisecond
	}
	return ds
}

// Nearest rank: the smallest value with at least q of the values at or
// below it, sorted[ceil(q·n)-1].
func TestNearestRank(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		// The textbook examples of the nearest-rank method.
		{"five values p5", ms(15, 20, 35, 40, 50), 0.05, 15 * time.Millisecond},
		{"five values p30", ms(15, 20, 35, 40, 50), 0.30, 20 * time.Millisecond},
		{"five values p40", ms(15, 20, 35, 40, 50), 0.40, 20 * time.Millisecond},
		{"five values p50", ms(15, 20, 35, 40, 50), 0.50, 35 * time.Millisecond},
		{"five values p100", ms(15, 20, 35, 40, 50), 1, 50 * time.Millisecond},
		{"ten values p25", ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 0.25, 7 * time.Millisecond},
		{"ten values p50", ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 0.50, 8 * time.Millisecond},
		{"ten values p75", ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 0.75, 15 * time.Millisecond},
		{"ten values p90", ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 0.90, 16 * time.Millisecond},
		{"ten values p99", ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 0.99, 20 * time.Millisecond},
		// Edges.
		{"one value", ms(7), 0.5, 7 * time.Millisecond},
		{"empty", nil, 0.5, 0},
		{"q 0 is the minimum", ms(1, 2, 3), 0, time.Millisecond},
		{"q below 0", ms(1, 2, 3), -1, time.Millisecond},
		{"q above 1", ms(1, 2, 3), 2, 3 * time.Millisecond},
		{"q NaN", ms(1, 2, 3), math.NaN(), time.Millisecond},
		{"q infinite", ms(1, 2, 3), math.Inf(1), 3 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, load.NearestRank(tc.sorted, tc.q))
		})
	}
}

// LatencyOf sorts, ranks and rounds to the microsecond.
func TestLatencyOf(t *testing.T) {
	require.Equal(t, load.Latency{}, load.LatencyOf(nil))

	ds := ms(50, 15, 40, 20, 35)
	require.Equal(t, load.Latency{N: 5, Min: 15, P50: 35, P90: 50, P99: 50, Max: 50, Mean: 32}, load.LatencyOf(ds))
	require.Equal(t, ms(15, 20, 35, 40, 50), ds, "sorted in place")

	// 1.2345 ms rounds to 1.235 (half away from zero), 0.4 µs to 0.
	require.Equal(t, load.Latency{N: 2, Min: 0, P50: 0, P90: 1.235, P99: 1.235, Max: 1.235, Mean: 0.617},
		load.LatencyOf([]time.Duration{1234500, 400}))
	require.Equal(t, 1.235, load.Millis(1234500*time.Nanosecond))
	require.Equal(t, 0.0, load.Millis(499*time.Nanosecond))
	require.Equal(t, 2000.0, load.Millis(2*time.Second))
}

func sampleReport() *load.Report {
	lag := load.Latency{N: 6, Min: 0, P50: 0.25, P90: 3.5, P99: 3.5, Max: 3.5, Mean: 0.9}
	return &load.Report{
		Terminals: 2, Count: 6, DurationLimit: "1m0s", Rate: 50,
		Transactions: 6, Approved: 3, Declined: 2, Errors: 1,
		ResponseCodes: []load.CodeCount{{Code: "00", Meaning: "approved", Count: 3}, {Code: "51", Meaning: "insufficient funds", Count: 2}},
		ErrorKinds:    []load.ErrorCount{{Kind: "connection: request not sent", Count: 1}},
		WallSeconds:   0.1234567, Throughput: 40.5, StartRate: 48.6,
		Latency: load.Latencies{
			Sale: load.Latency{N: 5, Min: 10.25, P50: 12, P90: 20.5, P99: 20.5, Max: 20.5, Mean: 13.1},
			Host: load.Latency{N: 5, Min: 8, P50: 9.5, P90: 15, P99: 15, Max: 15, Mean: 10.125},
			Card: load.Latency{N: 5, Min: 0.1, P50: 0.2, P90: 0.3, P99: 0.3, Max: 0.3, Mean: 0.2},
		},
		StartLag: &lag,
	}
}

// The text summary, column for column.
func TestReportWriteText(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sampleReport().WriteText(&b))
	require.Equal(t, `
transactions  6
approved      3
declined      2
errors        1
wall time     0.123 s
throughput    40.50 tx/s answered
start rate    48.60 tx/s (target 50)

DE39  MEANING             COUNT
00    approved            3
51    insufficient funds  2

ERROR                         COUNT
connection: request not sent  1

LATENCY (ms)         N       MIN       P50       P90       P99       MAX      MEAN
sale                 5    10.250    12.000    20.500    20.500    20.500    13.100
host                 5     8.000     9.500    15.000    15.000    15.000    10.125
card                 5     0.100     0.200     0.300     0.300     0.300     0.200
start-lag            6     0.000     0.250     3.500     3.500     3.500     0.900
`, b.String())

	// Flat out, interrupted, nothing answered.
	r := &load.Report{Terminals: 1, Count: 10, Interrupted: true}
	b.Reset()
	require.NoError(t, r.WriteText(&b))
	require.Equal(t, `interrupted: the sales in flight are not counted

transactions  0
approved      0
declined      0
errors        0
wall time     0.000 s
throughput    0.00 tx/s answered

LATENCY (ms)         N       MIN       P50       P90       P99       MAX      MEAN
sale                 0     0.000     0.000     0.000     0.000     0.000     0.000
host                 0     0.000     0.000     0.000     0.000     0.000     0.000
card                 0     0.000     0.000     0.000     0.000     0.000     0.000
`, b.String())
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// A write error is returned, whichever write fails.
func TestReportWriteTextError(t *testing.T) {
	for n := range 5 {
		require.EqualError(t, sampleReport().WriteText(&failWriter{n: n}), "disk full", "write %d", n)
	}
}

func TestReportPaceAndStop(t *testing.T) {
	tests := []struct {
		r           load.Report
		pace, until string
	}{
		{load.Report{Count: 1000}, "flat out", "1000 sales"},
		{load.Report{DurationLimit: "30s", Rate: 12.5}, "paced at 12.5/s", "30s"},
		{load.Report{Count: 5, DurationLimit: "1m0s", Rate: 100}, "paced at 100/s", "5 sales or 1m0s"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.pace, tc.r.Pace())
		require.Equal(t, tc.until, tc.r.StopAfter())
	}
}

// The JSON names of the report, in order.
func TestReportJSON(t *testing.T) {
	r := sampleReport()
	r.StartLag = nil
	r.ErrorKinds = []load.ErrorCount{}
	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, `{"terminals":2,"count_limit":6,"duration_limit":"1m0s","rate_target":50,`+
		`"transactions":6,"approved":3,"declined":2,"errors":1,`+
		`"response_codes":[{"code":"00","meaning":"approved","count":3},{"code":"51","meaning":"insufficient funds","count":2}],`+
		`"error_kinds":[],"wall_seconds":0.1234567,"throughput_tps":40.5,"start_rate_tps":48.6,`+
		`"latency_ms":{"sale":{"n":5,"min":10.25,"p50":12,"p90":20.5,"p99":20.5,"max":20.5,"mean":13.1},`+
		`"host":{"n":5,"min":8,"p50":9.5,"p90":15,"p99":15,"max":15,"mean":10.125},`+
		`"card":{"n":5,"min":0.1,"p50":0.2,"p90":0.3,"p99":0.3,"max":0.3,"mean":0.2}}}`, string(data))
	var back load.Report
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, *r, back)
}
