package rules_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
)

func mustParse(t *testing.T, src string) *rules.Rules {
	t.Helper()
	r, err := rules.Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	return r
}

func sale(amount int64) rules.Request {
	return rules.Request{MTI: isospec.MTIAuthorizationRequest, ProcessingCode: "000000", Amount: amount,
		PAN: "4761739001010010", TID: "T0000001", MID: "M00000000000001", EntryMode: "071"}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		match string
		req   func(r *rules.Request)
		want  bool
	}{
		{"empty matches all", "{}", nil, true},
		{"mti", `{mti: "0200"}`, nil, false},
		{"mti list", `{mti: ["0200", "0100"]}`, nil, true},
		{"processing code prefix", `{processing_code: "30"}`, func(r *rules.Request) { r.ProcessingCode = "300000" }, true},
		{"processing code other", `{processing_code: "30"}`, nil, false},
		{"amount eq", `{amount: {eq: 1500}}`, func(r *rules.Request) { r.Amount = 1500 }, true},
		{"amount eq other", `{amount: {eq: 1500}}`, nil, false},
		{"amount range in", `{amount: {min: 100, max: 200}}`, func(r *rules.Request) { r.Amount = 200 }, true},
		{"amount range below", `{amount: {min: 100, max: 200}}`, func(r *rules.Request) { r.Amount = 99 }, false},
		{"amount range above", `{amount: {min: 100}}`, func(r *rules.Request) { r.Amount = 99 }, false},
		{"amount ends", `{amount: {ends: "51"}}`, func(r *rules.Request) { r.Amount = 10051 }, true},
		{"amount ends short amount", `{amount: {ends: "05"}}`, func(r *rules.Request) { r.Amount = 5 }, true},
		{"amount ends other", `{amount: {ends: "51"}}`, func(r *rules.Request) { r.Amount = 10050 }, false},
		{"pan prefix", `{pan: {prefix: "476173"}}`, nil, true},
		{"pan prefix other", `{pan: {prefix: "5413"}}`, nil, false},
		{"pan range in", `{pan: {from: "4761730000", to: "4761739999"}}`, nil, true},
		{"pan range out", `{pan: {from: "4761740000", to: "4761749999"}}`, nil, false},
		{"pan range short pan", `{pan: {from: "4761730000", to: "4761739999"}}`, func(r *rules.Request) { r.PAN = "47617" }, false},
		{"profile unknown to host", `{profile: visa-plastic}`, nil, false},
		{"profile", `{profile: [mc-plastic, visa-plastic]}`, func(r *rules.Request) { r.Profile = "visa-plastic" }, true},
		{"tid", `{tid: T0000001}`, nil, true},
		{"tid padded", `{tid: T01}`, func(r *rules.Request) { r.TID = "T01     " }, true},
		{"tid other", `{tid: T0000002}`, nil, false},
		{"mid", `{mid: M00000000000001}`, nil, true},
		{"mid other", `{mid: M2}`, nil, false},
		{"entry mode", `{entry_mode: "07"}`, nil, true},
		{"entry mode other", `{entry_mode: "05"}`, nil, false},
		{"all must hold", `{tid: T0000001, amount: {eq: 1}}`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParse(t, "rules:\n  - name: x\n    match: "+tc.match+"\n    respond: \"05\"\n")
			req := sale(1000)
			if tc.req != nil {
				tc.req(&req)
			}
			require.Equal(t, tc.want, r.List[0].Match.Matches(req))
		})
	}
}

func TestActions(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name   string
		action string
		want   rules.Decision
	}{
		{"respond with its reason", `respond: "51"`, rules.Decision{Respond: "51", Reason: isospec.ReasonInsufficientFunds}},
		{"respond with a given reason", "respond: \"05\"\n    reason: card_blocked", rules.Decision{Respond: "05", Reason: isospec.ReasonCardBlocked}},
		{"respond without a known reason", `respond: "05"`, rules.Decision{Respond: "05", Reason: "do_not_honour"}},
		{"refer", `refer: true`, rules.Decision{Respond: isospec.RCReferToIssuer, Reason: "refer_to_card_issuer"}},
		{"partial percent", `partial: {percent: 40}`, rules.Decision{Respond: isospec.RCPartialApproval, Amount: 400, Balance: i64(0)}},
		{"partial amount", "partial: {amount: 300}\n    balance: 300", rules.Decision{Respond: isospec.RCPartialApproval, Amount: 300, Balance: i64(300)}},
		{"partial amount above the request", `partial: {amount: 3000}`, rules.Decision{Respond: isospec.RCPartialApproval, Amount: 1000, Balance: i64(0)}},
		{"balance", `balance: 123456`, rules.Decision{Respond: isospec.RCApproved, Balance: i64(123456)}},
		{"delay", `delay_ms: 2500`, rules.Decision{Delay: 2500 * time.Millisecond}},
		{"delay then answer", "delay_ms: 10\n    respond: \"91\"", rules.Decision{Delay: 10 * time.Millisecond, Respond: "91", Reason: isospec.ReasonIssuerUnavailable}},
		{"after timeout", `after_timeout: true`, rules.Decision{Delay: 7*time.Second + rules.AfterTimeoutMargin}},
		{"no answer", `no_answer: true`, rules.Decision{NoAnswer: true}},
		{"close", `close: true`, rules.Decision{Close: true}},
		{"corrupt mac", `corrupt_mac: true`, rules.Decision{CorruptMAC: true}},
		{"stand-in", `stand_in: {limit: 300000}`, rules.Decision{StandInLimit: 300000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParse(t, "rules:\n  - name: x\n    "+tc.action+"\n")
			s := rules.New(r, rules.Options{TerminalTimeout: 7 * time.Second})
			d, ok := s.Match(sale(1000))
			require.True(t, ok)
			tc.want.Rule = "x"
			require.Equal(t, tc.want, d)
			require.NotEmpty(t, d.String())
		})
	}
}

func TestFirstMatchWinsAndCounts(t *testing.T) {
	r := mustParse(t, `
terminal_timeout_ms: 3000
rules:
  - name: once
    match: {amount: {ends: "1"}}
    respond: "05"
    once: true
  - name: twice
    match: {amount: {ends: "1"}}
    respond: "51"
    count: 2
  - name: late
    after_timeout: true
`)
	var logs bytes.Buffer
	s := rules.New(r, rules.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var got []string
	for i := 0; i < 5; i++ {
		d, ok := s.Match(sale(1001))
		require.True(t, ok)
		got = append(got, d.Rule)
		if d.Rule == "late" {
			require.Equal(t, 3*time.Second+rules.AfterTimeoutMargin, d.Delay, "the file's terminal timeout")
		}
	}
	require.Equal(t, []string{"once", "twice", "twice", "late", "late"}, got)
	require.Contains(t, logs.String(), `msg="rule once fired: answer 05 (do not honour) reason do_not_honour"`)
	require.Contains(t, logs.String(), "pan=476173******0010")
	require.NotContains(t, logs.String(), "4761739001010010")

	var none *rules.Set
	_, ok := none.Match(sale(1))
	require.False(t, ok)
	_, ok = rules.New(nil, rules.Options{}).Match(sale(1))
	require.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"empty", "", "empty file"},
		{"not yaml", "rules: [", "t.yaml:1: "},
		{"no rules", "x: 1\n", `t.yaml:1: x: invalid rules: unknown field`},
		{"rules missing", "terminal_timeout_ms: 5\n", "rules: invalid rules: missing"},
		{"rules not a list", "rules: 5\n", "t.yaml:1: rules: invalid rules: must be a list"},
		{"bad timeout", "terminal_timeout_ms: -1\nrules: []\n", "t.yaml:1: terminal_timeout_ms"},
		{"unknown key", "rules:\n  - name: a\n    respnd: \"51\"\n", `t.yaml:3: rule "a": respnd: invalid rules: unknown field`},
		{"unknown nested key", "rules:\n  - name: a\n    match:\n      amount: {end: \"5\"}\n    respond: \"05\"\n", `t.yaml:4: rule "a": match.amount.end: invalid rules: unknown field`},
		{"wrong type", "rules:\n  - name: a\n    delay_ms: soon\n", `t.yaml:3: rule "a": invalid rules: line 3: cannot unmarshal`},
		{"no name", "rules:\n  - respond: \"05\"\n", `rule "#1": name: invalid rules: missing`},
		{"duplicate name", "rules:\n  - name: a\n    respond: \"05\"\n  - name: a\n    respond: \"05\"\n", `t.yaml:4: rule "a": name: invalid rules: also the name of the rule on line 2`},
		{"unknown code", "rules:\n  - name: a\n    respond: \"X9\"\n", `t.yaml:3: rule "a": respond: invalid rules: "X9" is not a response code`},
		{"no action", "rules:\n  - name: a\n    match: {tid: T1}\n", `rule "a": respond: invalid rules: no action`},
		{"two answers", "rules:\n  - name: a\n    respond: \"05\"\n    close: true\n", "give one of"},
		{"bad ends", "rules:\n  - name: a\n    match: {amount: {ends: 5x}}\n    respond: \"05\"\n", `t.yaml:3: rule "a": match.amount.ends: invalid rules: must be 1 to 12 digits`},
		{"min above max", "rules:\n  - name: a\n    match: {amount: {min: 5, max: 4}}\n    respond: \"05\"\n", "min above max"},
		{"pan range half", "rules:\n  - name: a\n    match: {pan: {from: \"4\"}}\n    respond: \"05\"\n", "from and to go together"},
		{"pan range lengths", "rules:\n  - name: a\n    match: {pan: {from: \"4\", to: \"49\"}}\n    respond: \"05\"\n", "same length"},
		{"mti not a request", "rules:\n  - name: a\n    match: {mti: \"0110\"}\n    respond: \"05\"\n", "rules apply to 0100 and 0200"},
		{"partial both", "rules:\n  - name: a\n    partial: {amount: 5, percent: 5}\n", "give amount or percent"},
		{"reason alone", "rules:\n  - name: a\n    reason: x\n    delay_ms: 5\n", "reason without respond"},
		{"once and count", "rules:\n  - name: a\n    respond: \"05\"\n    once: true\n    count: 3\n", "once with count 3"},
		{"negative count", "rules:\n  - name: a\n    respond: \"05\"\n    count: -1\n", "must not be negative"},
		{"late and silent", "rules:\n  - name: a\n    no_answer: true\n    after_timeout: true\n", "after_timeout with no answer"},
		{"two documents", "rules: []\n---\nrules: []\n", "more than one YAML document"},
		{"twice", "rules: []\nrules: []\n", "given twice"},
		{"stand-in without limit", "rules:\n  - name: a\n    stand_in: {}\n", `rule "a": stand_in.limit: invalid rules: must be 1 to`},
		{"stand-in and an answer", "rules:\n  - name: a\n    stand_in: {limit: 5}\n    respond: \"05\"\n", "give one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rules.Parse("t.yaml", []byte(tc.src))
			require.Error(t, err)
			require.ErrorIs(t, err, rules.ErrInvalid)
			var pe *rules.ParseError
			require.ErrorAs(t, err, &pe)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSampleFile(t *testing.T) {
	s, err := rules.Load(filepath.Join("testdata", "sample-rules.yaml"), rules.Options{})
	require.NoError(t, err)
	require.Len(t, s.Rules().List, 10)
	d, ok := s.Match(sale(12351))
	require.True(t, ok)
	require.Equal(t, isospec.RCInsufficientFunds, d.Respond)
}

// The rules file shown in the README parses.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	const start = "<!-- rules example -->\n```yaml\n"
	i := strings.Index(string(readme), start)
	require.GreaterOrEqual(t, i, 0, "README has the rules example")
	body := string(readme[i+len(start):])
	body = body[:strings.Index(body, "```")]
	r, err := rules.Parse("README.md", []byte(body))
	require.NoError(t, err)
	require.NotEmpty(t, r.List)
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: a\n    respond: \"51\"\n"), 0o600))
	var logs syncBuffer
	s, err := rules.Load(path, rules.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)

	ticks := make(chan time.Time)
	type result struct {
		changed bool
		err     error
	}
	results := make(chan result)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, ticks, func(c bool, e error) { results <- result{c, e} })
	}()
	defer func() { cancel(); <-done }()
	tick := func() result { ticks <- time.Time{}; return <-results }

	require.Equal(t, result{}, tick(), "unchanged file")

	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: b\n    respond: \"05\"\n"), 0o600))
	require.Equal(t, result{changed: true}, tick())
	d, _ := s.Match(sale(1))
	require.Equal(t, "b", d.Rule)

	require.NoError(t, os.WriteFile(path, []byte("rules:\n  - name: c\n    respond: \"zz\"\n"), 0o600))
	r := tick()
	require.False(t, r.changed)
	require.ErrorIs(t, r.err, rules.ErrInvalid)
	d, _ = s.Match(sale(1))
	require.Equal(t, "b", d.Rule, "the last good rules stay")
	require.Contains(t, logs.String(), "rules not reloaded, the last good rules stay in force")
	require.Contains(t, logs.String(), `rules.yaml:3: rule \"c\": respond`)

	require.Equal(t, result{}, tick(), "the same bad file is reported once")

	require.NoError(t, os.Remove(path))
	r = tick()
	require.ErrorIs(t, r.err, os.ErrNotExist)
	d, _ = s.Match(sale(1))
	require.Equal(t, "b", d.Rule)
}

func TestSleep(t *testing.T) {
	var slept []time.Duration
	s := rules.New(nil, rules.Options{Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	require.NoError(t, s.Sleep(context.Background(), 0))
	require.NoError(t, s.Sleep(context.Background(), time.Hour))
	require.Equal(t, []time.Duration{time.Hour}, slept)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var none *rules.Set
	require.ErrorIs(t, none.Sleep(ctx, time.Hour), context.Canceled)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestOnceFiresBeforeTheFileOnce(t *testing.T) {
	s := rules.New(mustParse(t, "rules:\n- name: all51\n  respond: \"51\"\n"), rules.Options{})
	s.Once(&rules.Rule{Name: "next", Action: rules.Action{Respond: isospec.RCDoNotHonour}})
	require.Len(t, s.Pending(), 1)
	d, ok := s.Match(sale(100))
	require.True(t, ok)
	require.Equal(t, "next", d.Rule)
	require.Equal(t, isospec.RCDoNotHonour, d.Respond)
	require.Empty(t, s.Pending())
	d, ok = s.Match(sale(100))
	require.True(t, ok)
	require.Equal(t, "all51", d.Rule)

	s.Once(&rules.Rule{Name: "next", Action: rules.Action{NoAnswer: true}})
	s.Cancel()
	d, _ = s.Match(sale(100))
	require.Equal(t, "all51", d.Rule)
}
