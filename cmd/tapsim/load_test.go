package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/load"
)

// loadUN gives terminal i the unpredictable numbers 0x4C<i>0001, ...
func loadUN(i int) func() [4]byte {
	var mu sync.Mutex
	n := uint32(0)
	return func() [4]byte {
		mu.Lock()
		defer mu.Unlock()
		n++
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], 0x4C000000|uint32(i)<<16|n)
		return b
	}
}

// Load HCE phones in the embedded world: each terminal taps its own phone,
// enrolled with the cloud platform on a card account of its own, which
// replenishes its keys through the platform when they run low; every sale
// is approved, none errors.
func TestLoadRunHCE(t *testing.T) {
	for _, card := range []string{"hce-phone", "hce-phone-mc"} {
		code, out, errOut := runCLI(t, "load", "--card", card, "--terminals", "2", "--count", "24", "--json")
		require.Equal(t, 0, code, out+errOut)
		var rep loadReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.Equal(t, 24, rep.Transactions, card)
		require.Equal(t, 24, rep.Approved, card)
		require.Zero(t, rep.Errors, card)
		require.Contains(t, rep.CardPANs, " .. ", card)
		require.NotContains(t, out, "5204740000001234")
	}
}

// Four terminals, 50 sales each, over the embedded network: every sale is
// approved online by the issuer, the counts add up, the percentiles are
// ordered, and the JSON report says what the text says. The issuer saw
// the cards' ATCs go up to where the cards are, 200 sales in all.
func TestLoadRunApproved(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	code, out, errOut := runCLI(t, "load", "--terminals", "4", "--count", "200", "--data", filepath.Join(dir, "net"),
		"--report", report)
	require.Equal(t, 0, code, out+errOut)
	require.Empty(t, errOut)

	data, err := os.ReadFile(report)
	require.NoError(t, err)
	var rep loadReport
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Equal(t, "embedded", rep.Mode)
	require.Equal(t, 200, rep.Transactions)
	require.Equal(t, 200, rep.Approved)
	require.Zero(t, rep.Declined)
	require.Zero(t, rep.Errors)
	require.Equal(t, []load.CodeCount{{Code: "00", Meaning: "approved", Count: 200}}, rep.ResponseCodes)
	require.Empty(t, rep.ErrorKinds)
	require.Equal(t, 200, rep.Latency.Sale.N)
	require.Equal(t, 200, rep.Latency.Host.N, "every sale went online")
	require.Equal(t, 200, rep.Latency.Card.N)
	for name, l := range map[string]load.Latency{"sale": rep.Latency.Sale, "host": rep.Latency.Host, "card": rep.Latency.Card} {
		require.Positive(t, l.Min, name)
		require.True(t, l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max, "%s: %+v", name, l)
		require.True(t, l.Min <= l.Mean && l.Mean <= l.Max, "%s: %+v", name, l)
	}
	require.True(t, rep.Latency.Host.Max <= rep.Latency.Sale.Max)
	require.Positive(t, rep.WallSeconds)
	require.Positive(t, rep.Throughput)
	require.Nil(t, rep.StartLag)

	// The text says the same.
	requireLine(t, out, `transactions\s+200`)
	requireLine(t, out, `approved\s+200`)
	requireLine(t, out, `declined\s+0`)
	requireLine(t, out, `errors\s+0`)
	requireLine(t, out, `00\s+approved\s+200`)
	requireLine(t, out, regexp.QuoteMeta(fmt.Sprintf("%.3f s", rep.WallSeconds)))
	requireLine(t, out, regexp.QuoteMeta(fmt.Sprintf("%.2f tx/s", rep.Throughput)))
	for name, l := range map[string]load.Latency{"sale": rep.Latency.Sale, "host": rep.Latency.Host, "card": rep.Latency.Card} {
		fields := strings.Fields(lineStarting(t, out, name))
		require.Len(t, fields, 8, name)
		require.Equal(t, strconv.Itoa(l.N), fields[1])
		for k, v := range []float64{l.Min, l.P50, l.P90, l.P99, l.Max, l.Mean} {
			require.Equal(t, fmt.Sprintf("%.3f", v), fields[2+k], "%s column %d", name, k)
		}
	}
	// PANs masked only.
	require.Contains(t, out, "476173******0014 .. 476173******0048")
	require.Contains(t, rep.CardPANs, "476173******0014")
	for i := range 4 {
		lp, err := lab.LoadCardProfile("visa-plastic", i)
		require.NoError(t, err)
		p := lp.App.PAN
		require.NotContains(t, out, p)
		require.NotContains(t, string(data), p)
	}

	// The issuer's ATC of each card is the card's own (saved in the load
	// state), and the terminals' STANs count the same 200 sales.
	ctx := context.Background()
	st, err := readLoadState(filepath.Join(dir, "net"))
	require.NoError(t, err)
	db, err := store.OpenDir(filepath.Join(dir, "net", "issuer"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	atcs, stans := 0, 0
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		for i := range 4 {
			id := lab.LoadCardID("visa-plastic", i)
			atc, _, err := tx.ATC(ctx, "card:"+id)
			require.NoError(t, err)
			require.Positive(t, atc, id)
			require.EqualValues(t, st.Cards[id], atc, id)
			atcs += int(atc)
			stans += int(st.Terminals[lab.LoadTID(i)].LastSTAN)
		}
		return nil
	}))
	require.Equal(t, 200, atcs)
	require.Equal(t, 200, stans)
}

// A second run on the same data goes on from the saved counters: the
// cards' ATCs stay ahead at the issuer, so every sale is approved again
// (R-G4); --json prints the summary as JSON.
func TestLoadRunContinues(t *testing.T) {
	dir := t.TempDir()
	for run := 1; run <= 2; run++ {
		code, out, errOut := runCLI(t, "load", "--terminals", "2", "--count", "10", "--data", dir, "--card", "mc-plastic", "--json")
		require.Equal(t, 0, code, out+errOut)
		var rep loadReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		require.Equal(t, 10, rep.Approved, "run %d: %+v", run, rep.ResponseCodes)
		require.Equal(t, "mc-plastic", rep.Card)
		require.Contains(t, rep.CardPANs, "541333******0012")
	}
	st, err := readLoadState(dir)
	require.NoError(t, err)
	require.Equal(t, 20, st.Cards[lab.LoadCardID("mc-plastic", 0)]+st.Cards[lab.LoadCardID("mc-plastic", 1)])
}

// A run of a given duration stops starting sales when it is over, and a
// cancelled run says it was interrupted.
func TestLoadRunDuration(t *testing.T) {
	code, out, errOut := runCLI(t, "load", "--terminals", "2", "--duration", "300ms", "--json")
	require.Equal(t, 0, code, out+errOut)
	var rep loadReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Positive(t, rep.Transactions)
	require.Equal(t, rep.Transactions, rep.Approved)
	require.Zero(t, rep.Count)
	require.Equal(t, "300ms", rep.DurationLimit)
	require.GreaterOrEqual(t, rep.WallSeconds, 0.3)

	ctx, cancel := context.WithCancel(context.Background())
	rep2, err := runLoad(ctx, loadConfig{Card: "visa-plastic", Amount: 100100, Terminals: 2, Count: 1000, Rate: 50,
		IssuerTimeout: time.Second, UN: loadUN,
		Prepare: func(context.Context, *lab.Network) error { time.AfterFunc(100*time.Millisecond, cancel); return nil }})
	require.NoError(t, err)
	require.True(t, rep2.Interrupted)
	require.Less(t, rep2.Transactions, 1000)
	require.Zero(t, rep2.Errors)
}

// A paced run reports the start lag and keeps to its count.
func TestLoadRunPaced(t *testing.T) {
	ctx := context.Background()
	rep, err := runLoad(ctx, loadConfig{Card: "visa-plastic", Amount: 100100, Terminals: 2, Count: 20, Rate: 100,
		IssuerTimeout: 2 * time.Second, UN: loadUN})
	require.NoError(t, err)
	require.Equal(t, 20, rep.Approved)
	require.NotNil(t, rep.StartLag)
	require.Equal(t, 20, rep.StartLag.N)
	require.True(t, rep.StartLag.Min <= rep.StartLag.P50 && rep.StartLag.P50 <= rep.StartLag.Max)
	// 20 starts 10 ms apart: the last one is due 190 ms after the first.
	require.GreaterOrEqual(t, rep.WallSeconds, 0.19)
}

// Declines are counted by DE39: above the CVM limit without a PIN the
// issuer wants a CVM; with the issuer stopped the acquirer answers 91.
// Neither is an error: the run exits 0.
func TestLoadRunDeclines(t *testing.T) {
	code, out, errOut := runCLI(t, "load", "--terminals", "2", "--count", "6", "--amount", "350000")
	require.Equal(t, 0, code, out+errOut)
	requireLine(t, out, `approved\s+0`)
	requireLine(t, out, `declined\s+6`)
	requireLine(t, out, `errors\s+0`)
	requireLine(t, out, `57\s+transaction not permitted to cardholder\s+6`)

	// With the PIN typed, the same sales are approved.
	code, out, errOut = runCLI(t, "load", "--terminals", "2", "--count", "4", "--amount", "350000", "--pin", lab.SamplePIN)
	require.Equal(t, 0, code, out+errOut)
	requireLine(t, out, `approved\s+4`)

	ctx := context.Background()
	rep, err := runLoad(ctx, loadConfig{Card: "visa-plastic", Amount: 100100, Terminals: 2, Count: 4,
		IssuerTimeout: 150 * time.Millisecond, UN: loadUN,
		Clock:   func() time.Time { return time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC) },
		Prepare: func(_ context.Context, n *lab.Network) error { return n.StopIssuer() }})
	require.NoError(t, err)
	require.Equal(t, 4, rep.Transactions)
	require.Equal(t, 4, rep.Declined)
	require.Zero(t, rep.Errors)
	require.Equal(t, []load.CodeCount{{Code: "91", Meaning: "issuer or switch inoperative", Count: 4}}, rep.ResponseCodes)
}

// Sales that get no answer at all are errors: exit 1, with the kind.
func TestLoadRunErrors(t *testing.T) {
	// A port nobody listens on: every request fails to go out.
	code, out, errOut := runCLI(t, "load", "--acquirer", "127.0.0.1:1", "--terminals", "1", "--count", "2",
		"--data", t.TempDir())
	require.Equal(t, 1, code, out+errOut)
	requireLine(t, out, `errors\s+2`)
	requireLine(t, out, `connection: request not sent\s+2`)
	require.Contains(t, errOut, "2 of 2 sales errored")
}

// Bad flags exit 2 with one line.
func TestLoadBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--terminals", "0"}, "--terminals must be 1 to 256"},
		{[]string{"--terminals", "257"}, "--terminals must be 1 to 256"},
		{[]string{"--count", "-1"}, "--count"},
		{[]string{"--duration", "-1s"}, "--duration"},
		{[]string{"--rate", "-3"}, "--rate"},
		{[]string{"--amount", "0"}, "--amount"},
		{[]string{"--amount", "1000000000000"}, "--amount"},
		{[]string{"--amount", "10.001"}, "--amount 10.001: the currency has 2 decimal(s)"},
		{[]string{"--amount", "ten"}, "--amount ten: want a positive number"},
		{[]string{"--acquirer", "localhost"}, `--acquirer "localhost": want host:port`},
		{[]string{"--card", "wallet-phone"}, "load cards exist for visa-plastic and mc-plastic, load HCE phones for hce-phone and hce-phone-mc"},
		{[]string{"--card", "hce-phone", "--acquirer", "127.0.0.1:1"}, "not with --acquirer"},
		{[]string{"--card", "hce-phone-mc", "--terminals", "2", "--count", "181"}, "at most 90 sales per terminal"},
		{[]string{"--acquirer", "nowhere"}, "want host:port"},
		{[]string{"--pin", "12"}, "--pin"},
		{[]string{"--timeout", "-1s"}, "--timeout"},
		{[]string{"--issuer-timeout", "0s"}, "--issuer-timeout"},
		{[]string{"--data", " "}, "--data"},
		{[]string{"--terminals", "1", "--count", "70000"}, "at most 65534 sales per terminal"},
		{[]string{"--bogus"}, "unknown flag"},
		{[]string{"extra"}, "unknown command"},
	}
	for _, tc := range tests {
		code, out, errOut := runCLI(t, append([]string{"load"}, tc.args...)...)
		requireUsageError(t, code, out, errOut, tc.want)
	}
}

// The sample network holds the load terminals and cards: the acquirer
// lists them on one line, issuer init on one row.
func TestLoadSampleSet(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "issuer", "init", "--data", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "load-*")
	require.Contains(t, out, fmt.Sprintf("%d cards for tapsim load", lab.LoadMaxTerminals*len(lab.LoadProfiles())))
	require.NotContains(t, out, "load-visa-plastic-001")
	m, err := lab.OpenAcquirerHSM(t.TempDir(), nil)
	require.NoError(t, err)
	defer m.Close()
	cfg, err := lab.AcquirerKeys(m, map[string]string{"issuer": "127.0.0.1:1"})
	require.NoError(t, err)
	tids := map[string]bool{}
	for _, term := range cfg.Terminals {
		tids[term.TID] = true
	}
	require.True(t, tids[lab.SampleTID])
	require.True(t, tids["L0000001"])
	require.True(t, tids["L0000256"])
	require.False(t, tids["L0000257"])
	var b strings.Builder
	printAcquirerTerminals(&b, cfg.Terminals)
	require.Equal(t, "  terminal T0000001: TAK KCV 3B7D3D\n  load terminals L0000001..L0000256 (256, tapsim load): TAK KCV 3B7D3D\n", b.String())
}

// requireLine checks that some line of out matches the pattern.
func requireLine(t *testing.T, out, pattern string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)` + pattern)
	require.True(t, re.MatchString(out), "no line matches %q in:\n%s", pattern, out)
}

// lineStarting is the first line of out whose first field is name.
func lineStarting(t *testing.T, out, name string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	t.Fatalf("no %q line in:\n%s", name, out)
	return ""
}
