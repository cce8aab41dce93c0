package pcsc

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
)

// percentiles returns the median and the 99th percentile of durs.
func percentiles(durs []time.Duration) (median, p99 time.Duration) {
	if len(durs) == 0 {
		return 0, 0
	}
	s := slices.Clone(durs)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// report adds the median and p99 of durs, in microseconds, to b's
// results.
func report(b *testing.B, durs []time.Duration, unit string) {
	med, p99 := percentiles(durs)
	b.ReportMetric(float64(med.Nanoseconds())/1e3, "median-"+unit)
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-"+unit)
}

// BenchmarkAPDURoundTrip is one SELECT PPSE through libpcsclite, the
// private pcscd, vpcd and the card served over TCP, answered by a
// Visa-like card: median and p99 per APDU in microseconds.
func BenchmarkAPDURoundTrip(b *testing.B) {
	r := newRig(b, newCard(b, "visa-plastic"), vpcd.Options{})
	ctx := testCtx(b)
	r.present(ctx)
	cmd, err := apdu.SelectPPSE().Bytes()
	require.NoError(b, err)
	durs := make([]time.Duration, 0, 1024)
	for b.Loop() {
		start := time.Now()
		if _, err := r.reader.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	report(b, durs, "us/apdu")
}

// BenchmarkTapOverPCSC is one full tap over PC/SC, the card already in
// the field: Entry Point, kernel and the card's cryptography, every APDU
// through pcscd and vpcd. It reports the median and p99 per tap and per
// APDU.
func BenchmarkTapOverPCSC(b *testing.B) {
	for _, tc := range []struct {
		profile string
		amount  int64
		want    kernel.OutcomeType
	}{
		{"visa-plastic", 150000, kernel.OnlineRequest}, // qVSDC online, fDDA data read
		{"mc-plastic", 150000, kernel.OnlineRequest},   // M/Chip online with CDA
	} {
		b.Run(tc.profile, func(b *testing.B) {
			r := newRig(b, newCard(b, tc.profile), vpcd.Options{})
			ctx := testCtx(b)
			r.present(ctx)
			cfg := terminalConfig(b)
			var apdus []time.Duration
			cfg.Trace = func(e kernel.Exchange) { apdus = append(apdus, e.Dur) }
			ep, err := entry.New(cfg)
			require.NoError(b, err)
			txn := kernel.Transaction{Amount: tc.amount, Type: kernel.Purchase}
			var taps []time.Duration
			for b.Loop() {
				start := time.Now()
				out, err := ep.Start(ctx, r.reader, txn)
				taps = append(taps, time.Since(start))
				if err != nil || out.Type != tc.want {
					b.Fatalf("%v (%v), want %v", out, err, tc.want)
				}
			}
			report(b, taps, "us/tap")
			report(b, apdus, "us/apdu")
			b.ReportMetric(float64(len(apdus))/float64(len(taps)), "apdus/tap")
		})
	}
}
