package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/tui"
	"github.com/tapsim/tapsim/tui/model"
	"github.com/tapsim/tapsim/tui/tuitest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden screens under testdata/")

// goldenRules drive the acquirer of the embedded world by the amount's
// last digits.
const goldenRules = `terminal_timeout_ms: 5000
rules:
  - name: nsf-by-amount
    match: {amount: {ends: "51"}}
    respond: "51"
  - name: slow-by-amount
    match: {amount: {ends: "52"}}
    after_timeout: true
  - name: half-by-amount
    match: {amount: {ends: "53"}}
    partial: {percent: 50}
  - name: stand-in-when-down
    match: {amount: {ends: "54"}}
    stand_in: {limit: 300000}
`

// volatile are the parts of a screen of the embedded world that change
// from run to run (keys and so cryptograms are made at start, the issuer
// draws authorisation codes): they read as # in the golden screens.
var volatile = []*regexp.Regexp{
	regexp.MustCompile(`(AUTH CODE\s+)\S+`),
	regexp.MustCompile(`(auth:? )[0-9A-Z]{6}`),
}

func mask(s string) string {
	for _, re := range volatile {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatch(m)
			return sub[1] + regexp.MustCompile(`\S`).ReplaceAllString(m[len(sub[1]):], "#")
		})
	}
	return s
}

func goldenScreen(t *testing.T, name, screen string) {
	t.Helper()
	screen = mask(screen)
	path := filepath.Join("testdata", name+".txt")
	if *updateGolden {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(screen), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/tapsim -run %s -update to create it", t.Name())
	require.Equal(t, string(want), screen)
}

// newGoldenRig is the UI on the embedded world with the rules above at the
// acquirer, a fixed clock and unpredictable number, and a terminal that
// waits 5 s for an answer: longer than the acquirer waits for the issuer,
// so that a stand-in answer comes in time.
func newGoldenRig(t *testing.T) *tuiRig {
	return newRulesRig(t, time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC))
}

// newRulesRig is newGoldenRig with the terminal's clock stopped at at. The
// hosts run on the real clock: a sale the issuer decides needs at to be
// within a day of today (the issuer checks the cryptogram's date, 9A).
func newRulesRig(t *testing.T, at time.Time) *tuiRig {
	t.Helper()
	rf := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rf, []byte(goldenRules), 0o600))
	s, b := startTUISessionWaiting(t, tuiOptions{rules: rulesFlags{path: rf, poll: time.Hour}}, 5*time.Second)
	return &tuiRig{Rig: tuitest.Start(t, b, tui.Options{SaveDir: t.TempDir(),
		Clock:               func() time.Time { return at },
		UnpredictableNumber: kernel.FixedUN([4]byte{0xDE, 0, 0, 1})}), s: s}
}

func TestTUIGoldenRules(t *testing.T) {
	r := newGoldenRig(t)
	r.Keys("150051t")
	goldenScreen(t, "tui-rule-51", r.Wait("DECLINED", "DE39 51", "Not Authorised", "ready"))
	r.requireHostLog(t, "rule nsf-by-amount fired: answer 51")

	// An answer later than the terminal's timeout: the terminal reverses.
	r.Key(tcell.KeyBackspace2)
	r.Keys("2")
	r.Wait("NT$1,500.52")
	r.Keys("t")
	goldenScreen(t, "tui-rule-delay-reversed", r.Wait("No answer from host: reversed", "REVERSED", "Not Authorised", "ready"))
	r.requireHostLog(t, "rule slow-by-amount fired: delay 6s")

	r.Key(tcell.KeyBackspace2)
	r.Keys("3t")
	goldenScreen(t, "tui-rule-partial", r.Wait("APPROVED sale NT$750.26 of NT$1,500.53 requested", "DE39 10", "ready"))
	r.requireHostLog(t, "rule half-by-amount fired")

	// The issuer down, the acquirer approves in its stead; the advice
	// reaches the issuer once it is back.
	r.Keys("i")
	r.Wait("issuer host stopped")
	r.Key(tcell.KeyBackspace2)
	r.Keys("4t")
	goldenScreen(t, "tui-rule-stand-in", r.Wait("APPROVED sale NT$1,500.54", "Approved by the acquirer in stand-in", "ready"))
	r.requireHostLog(t, "stand-in")
	r.Keys("i")
	r.Wait("issuer host up")
}

// requireHostLog checks that the last transaction's host log pane holds
// line.
func (r *tuiRig) requireHostLog(t *testing.T, line string) {
	t.Helper()
	var pane []string
	r.Model(func(m *model.Model) { pane = m.Last.Host })
	require.Contains(t, strings.Join(pane, "\n"), line)
}

// R-G4 from the tester's side: a saved trace replayed into the real issuer
// is declined as a replay and its wallet entry says so; x replays it once
// under the issuer's replay-tolerant test setting, which the issuer logs;
// the tap after that is refused again.
func TestTUIReplayRefusedThenToleratedOnce(t *testing.T) {
	r := newRulesRig(t, time.Now())
	r.Keys("150000t")
	r.Wait("APPROVED sale NT$1,500.00 visa-plastic", "ready")
	r.Keys("hs")
	r.Wait("saved ")
	r.Key(tcell.KeyEscape)
	r.Wait("Wallet")
	for range 40 {
		r.Key(tcell.KeyDown)
	}
	r.Wait("> ↺ visa-plastic-sale-")
	r.Keys("x")
	r.Wait("only for a saved trace whose replay the issuer refused")
	r.Keys("t")
	r.Wait("DECLINED", "DE39 82", "cryptogram_replay", tui.ReplayRefused, "ready")
	r.Key(tcell.KeyUp)
	r.Key(tcell.KeyDown)
	r.Wait(tui.ReplayRefused)

	r.Keys("x")
	r.Wait("APPROVED sale NT$1,500.00 trace:", tui.ReplayTolerated, "ready")
	log := strings.Join(r.s.backend.HostLog.Since(0), "\n")
	require.Contains(t, log, "issuer TEST SETTING armed")
	require.Contains(t, log, "issuer TEST SETTING used")
	require.Equal(t, 1, strings.Count(log, "issuer TEST SETTING used"))

	r.Keys("t")
	r.Wait("DECLINED", "DE39 82", tui.ReplayRefused, "ready")
	require.Equal(t, 1, strings.Count(strings.Join(r.s.backend.HostLog.Since(0), "\n"), "issuer TEST SETTING used"), "once only")
}
