package tests

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// tapCase is one card type tapped in the benchmark and the outcome its tap
// must reach.
type tapCase struct {
	profile string
	amount  int64
	want    kernel.OutcomeType
}

var tapCases = []tapCase{
	{"visa-plastic", 50000, kernel.Approved},       // offline, fDDA
	{"visa-plastic", 150000, kernel.OnlineRequest}, // online, no CVM
	{"visa-plastic-cvn22", 150000, kernel.OnlineRequest},
	{"mc-plastic", 50000, kernel.Approved}, // offline, CDA
	{"mc-plastic", 150000, kernel.OnlineRequest},
	{"visa-se-phone", 350000, kernel.OnlineRequest}, // CDCVM above the limit
	{"mc-se-phone", 350000, kernel.OnlineRequest},
	{"hce-phone", 150000, kernel.OnlineRequest}, // single-use key
	{"hce-phone-mc", 150000, kernel.OnlineRequest},
	{"wallet-phone", 350000, kernel.OnlineRequest},
}

// newTapCard builds the card of a profile with the phone verified, as the
// holder would have it at the till.
func newTapCard(tb testing.TB, profile string) cards.Card {
	tb.Helper()
	p, err := cards.Builtin(profile)
	require.NoError(tb, err)
	c, err := cards.FromProfile(p, cards.Options{})
	require.NoError(tb, err)
	return c
}

func verify(c cards.Card) {
	if ph, ok := cards.Phone(c); ok {
		ph.SetVerified(true)
	}
}

// BenchmarkTap is one full in-process tap per card type: Entry Point,
// kernel and the virtual card's own cryptography (ARQC, fDDA or CDA
// signature), through the in-process reader.
func BenchmarkTap(b *testing.B) {
	ctx := context.Background()
	cfg := testRunner(b).Base
	for _, tc := range tapCases {
		b.Run(tc.profile+"/"+tc.want.Name(), func(b *testing.B) {
			card := newTapCard(b, tc.profile)
			reader := inproc.New(card)
			ep, err := entry.New(cfg)
			require.NoError(b, err)
			txn := kernel.Transaction{Amount: tc.amount, Type: kernel.Purchase}
			apps := cards.Applications(card)
			require.NotEmpty(b, apps)
			fresh := apps[0].State()
			for b.Loop() {
				// Each tap starts from the profile's state, so that offline
				// counters do not turn an offline case into an online one.
				apps[0].SetState(fresh)
				if ph, ok := cards.Phone(card); ok && ph.Kind() == phone.HCE && ph.KeysLeft() == 0 {
					b.StopTimer()
					card = newTapCard(b, tc.profile)
					reader = inproc.New(card)
					apps = cards.Applications(card)
					b.StartTimer()
				}
				verify(card)
				reader.Present(card)
				out, err := ep.Start(ctx, reader, txn)
				if err != nil || out.Type != tc.want {
					b.Fatalf("%s: got %v (%v), want %v", tc.profile, out, err, tc.want)
				}
			}
		})
	}
}

// TestTapCases checks once, outside benchmarks, that every benchmarked tap
// reaches its outcome, so that a benchmark never measures a failing path.
func TestTapCases(t *testing.T) {
	ctx := context.Background()
	cfg := testRunner(t).Base
	for _, tc := range tapCases {
		card := newTapCard(t, tc.profile)
		verify(card)
		out, err := entry.Run(ctx, inproc.New(card), cfg, kernel.Transaction{Amount: tc.amount, Type: kernel.Purchase})
		require.NoError(t, err)
		require.Equal(t, tc.want, out.Type, "%s amount %d: %v", tc.profile, tc.amount, out)
	}
}
