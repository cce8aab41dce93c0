package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

const acquirerRules = `
rules:
  - name: nsf
    match: {amount: {ends: "51"}}
    respond: "51"
  - name: half
    match: {amount: {ends: "10"}, pan: {prefix: "476173"}}
    partial: {percent: 50}
    balance: 0
  - name: silent
    match: {amount: {ends: "91"}}
    no_answer: true
  - name: hang-up
    match: {amount: {ends: "93"}}
    close: true
  - name: bad-mac
    match: {amount: {ends: "63"}}
    corrupt_mac: true
`

const issuerRules = `
rules:
  - name: expired-at-issuer
    match: {profile: visa-plastic, amount: {ends: "54"}}
    respond: "54"
`

// rulesHosts starts an issuer and an acquirer process, each with its rules
// file, checked for changes every 20 ms; the acquirer's log is kept.
func rulesHosts(t *testing.T) (h *hosts, acqRules string) {
	t.Helper()
	dir := t.TempDir()
	acqRules, issRules := filepath.Join(dir, "acquirer-rules.yaml"), filepath.Join(dir, "issuer-rules.yaml")
	require.NoError(t, os.WriteFile(acqRules, []byte(acquirerRules), 0o600))
	require.NoError(t, os.WriteFile(issRules, []byte(issuerRules), 0o600))
	h = &hosts{issuerDir: filepath.Join(dir, "issuer"), acquirerDir: filepath.Join(dir, "acquirer")}
	h.issuer = startLogged(t, "issuer", "--listen", "127.0.0.1:0", "--data", h.issuerDir, "--rules", issRules, "--rules-poll", "20ms")
	h.acquirer = startLogged(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", h.issuer.addr,
		"--data", h.acquirerDir, "--issuer-timeout", "3s", "--rules", acqRules, "--rules-poll", "20ms")
	h.acquirer.waitLine(t, "issuer links signed on")
	return h, acqRules
}

// newTimedTerminal is the sample terminal T0000001 waiting timeout for
// the acquirer's answers.
func newTimedTerminal(tb testing.TB, addr string, now time.Time, timeout time.Duration) *terminal {
	tb.Helper()
	link := client.New(addr, client.Options{})
	tb.Cleanup(func() { link.Close() })
	cfg := pos.DefaultConfig()
	cfg.ResponseTimeout = timeout
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(tb, err)
	cfg.Kernel.CAPublicKeys = capk
	term := &terminal{link: link}
	term.t, err = pos.New(cfg, link, pos.Options{
		Clock: func() time.Time { return now },
		UnpredictableNumber: func() [4]byte {
			term.un++
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], 0xE2E10000|term.un)
			return b
		},
		STAN: pos.NewCounter(0),
	})
	require.NoError(tb, err)
	return term
}

// Host response rules at both hosts, over real sockets.
func TestRulesAtBothHosts(t *testing.T) {
	h, _ := rulesHosts(t)
	holder := newCardholder()
	term := newTerminal(t, h.acquirer.addr, holder.now)

	// Amount ending in 51: the acquirer answers 51 in the issuer's stead.
	res := term.sell(t, holder.card(t, "visa-plastic", false), 150051, "", "")
	requireAnswer(t, res, "51", isospec.ReasonInsufficientFunds)
	h.acquirer.waitLine(t, "rule nsf fired: answer 51 (insufficient funds)")
	h.acquirer.waitLine(t, "pan=476173******0010")

	// The issuer's own rule, by card profile, through the acquirer.
	res = term.sell(t, holder.card(t, "visa-plastic", false), 150054, "", "")
	requireAnswer(t, res, "54", isospec.ReasonCardExpired)
	h.issuer.waitLine(t, "rule expired-at-issuer fired")

	// Partial approval: 10, half the amount, the balance in DE54.
	res = term.sell(t, holder.card(t, "visa-plastic", false), 150010, "", "")
	require.Equal(t, isospec.RCPartialApproval, res.ResponseCode, "%s", res)
	var ar isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(res.Exchanges[0].Response, &ar))
	require.Equal(t, int64(75005), ar.Amount)
	require.Equal(t, "0002901C000000000000", ar.AdditionalAmounts)

	// Corrupt MAC: the terminal refuses the answer and reverses.
	res = term.sell(t, holder.card(t, "visa-plastic", false), 150063, "", "")
	require.Equal(t, pos.MsgInvalidHostAnswer, res.Message, "%s", res)
	require.Equal(t, pos.StatusReversed, res.Status)

	// Close the connection: the terminal gets an error, the host serves on.
	res = term.sell(t, holder.card(t, "visa-plastic", false), 150093, "", "")
	require.False(t, res.Approved(), "%s", res)
	require.Error(t, res.Exchanges[0].Err)
	res = term.sell(t, holder.card(t, "visa-plastic", false), 150000, "", "")
	requireAnswer(t, res, "00", "")
}

// Never answer: the terminal times out and reverses.
func TestRulesNoAnswerReversal(t *testing.T) {
	h, _ := rulesHosts(t)
	holder := newCardholder()
	term := newTimedTerminal(t, h.acquirer.addr, holder.now, time.Second)
	res := term.sell(t, holder.card(t, "visa-plastic", false), 150091, "", "")
	// Reversed, or pending should the reversal's own answer be slow.
	require.Contains(t, []pos.Status{pos.StatusReversed, pos.StatusReversalPending}, res.Status, "%s", res)
	require.Error(t, res.Exchanges[0].Err, "no answer")
	require.GreaterOrEqual(t, len(res.Exchanges), 2)
	require.Equal(t, "reversal", res.Exchanges[1].Purpose)
	mti, err := res.Exchanges[1].Request.GetMTI()
	require.NoError(t, err)
	require.Equal(t, string(isospec.MTIReversalRequest), mti)
	h.acquirer.waitLine(t, "rule silent fired: no answer")
}

// The rules file is read again when it changes; a bad one keeps the last
// good rules, and says why.
func TestRulesReload(t *testing.T) {
	h, path := rulesHosts(t)
	holder := newCardholder()
	term := newTerminal(t, h.acquirer.addr, holder.now)

	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: now-05\n    match: {amount: {ends: \"51\"}}\n    respond: \"05\"\n"), 0o600))
	h.acquirer.waitLine(t, "rules reloaded")
	res := term.sell(t, holder.card(t, "visa-plastic", false), 150051, "", "")
	require.Equal(t, isospec.RCDoNotHonour, res.ResponseCode, "%s", res)

	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: broken\n    respond: \"5\"\n"), 0o600))
	h.acquirer.waitLine(t, "rules not reloaded, the last good rules stay in force")
	h.acquirer.waitLine(t, `acquirer-rules.yaml:3: rule \"broken\": respond`)
	res = term.sell(t, holder.card(t, "visa-plastic", false), 150051, "", "")
	require.Equal(t, isospec.RCDoNotHonour, res.ResponseCode, "the last good rules, %s", res)
}

// A bad rules file at start: a clear error and exit code 2.
func TestRulesBadFileAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: a\n    match: {amount: {ends: 51}}\n    respnd: \"51\"\n"), 0o600))
	for _, args := range [][]string{
		{"acquirer", "--listen", "127.0.0.1:0", "--issuer", "127.0.0.1:1", "--data", filepath.Join(dir, "a"), "--rules", path},
		{"issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "i"), "--rules", path},
	} {
		cmd := exec.CommandContext(context.Background(), tapsimBin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "%s", out)
		require.Equal(t, 2, ee.ExitCode(), "%s", out)
		require.Contains(t, string(out), `rules.yaml:4: rule "a": respnd: invalid rules: unknown field`)
		require.NotContains(t, string(out), "listening")
	}
}

// Stand-in: the issuer process dies, the acquirer approves under the
// rule's limit with the stand-in marker, and tells the issuer once it is
// back.
func TestRulesStandIn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: stand-in\n    match: {pan: {prefix: \"476173\"}}\n    stand_in: {limit: 200000}\n"), 0o600))
	h := &hosts{issuerDir: filepath.Join(dir, "issuer"), acquirerDir: filepath.Join(dir, "acquirer")}
	h.issuer = start(t, "issuer", "--listen", "127.0.0.1:0", "--data", h.issuerDir)
	h.acquirer = startLogged(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", h.issuer.addr,
		"--data", h.acquirerDir, "--issuer-timeout", "2s", "--rules", path)
	h.acquirer.waitLine(t, "issuer links signed on")
	holder := newCardholder()
	term := newTerminal(t, h.acquirer.addr, holder.now)

	h.issuer.kill()
	res := term.sell(t, holder.card(t, "visa-plastic", false), 150000, "", "")
	requireAnswer(t, res, "00", "")
	var ar isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(res.Exchanges[0].Response, &ar))
	pd, err := isospec.ParsePrivateData(ar.PrivateData)
	require.NoError(t, err)
	require.True(t, pd.StandIn, "stand-in marker")
	h.acquirer.waitLine(t, "stand-in approval in the issuer's stead, advice queued")

	// Over the limit: 91.
	res = term.sell(t, holder.card(t, "visa-plastic", false), 250000, "", "")
	require.Equal(t, isospec.RCIssuerInoperative, res.ResponseCode, "%s", res)

	// The issuer back: it receives the stand-in advice.
	h.issuer = startLogged(t, "issuer", "--listen", h.issuer.addr, "--data", h.issuerDir)
	h.issuer.waitLine(t, "stand-in advice: the acquirer approved in the issuer's stead")
}
