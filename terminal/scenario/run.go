package scenario

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// Runner runs scenarios against a base terminal configuration.
type Runner struct {
	// Base is the terminal configuration scenarios start from; each
	// scenario's overrides apply to a copy.
	Base kernel.Config
	// Trace, when set, receives every APDU exchange of every scenario.
	Trace kernel.TraceFunc
}

// RunFiles loads and runs every scenario file, in order. A file that cannot
// be read or parsed gives a failed result with Err set.
func (r *Runner) RunFiles(ctx context.Context, files []string) []Result {
	out := make([]Result, 0, len(files))
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			out = append(out, Result{Name: filepath.Base(f), File: f, Err: err.Error()})
			continue
		}
		out = append(out, r.Run(ctx, s))
	}
	return out
}

// Run runs one scenario and checks its expectations.
func (r *Runner) Run(ctx context.Context, s Scenario) Result {
	start := time.Now()
	res := Result{Name: s.Name, File: s.File, Requirement: s.Requirement}
	diffs, got, err := r.run(ctx, s)
	res.Duration = time.Since(start)
	res.Got = got
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Diffs = diffs
	res.Passed = len(diffs) == 0
	return res
}

// seed derives a stable seed from the scenario's name.
func seed(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return h.Sum64()
}

func (r *Runner) run(ctx context.Context, s Scenario) ([]string, string, error) {
	// A simulated stopwatch: the card advances it by the time its timed
	// exchanges take (relay resistance), the kernel reads it.
	var elapsed time.Duration
	card, testCard, err := r.card(s, func(d time.Duration) { elapsed += d })
	if err != nil {
		return nil, "", err
	}
	cfg, err := r.config(s)
	if err != nil {
		return nil, "", err
	}
	// Only a card certified by the test CA may be read with its keys.
	cfg.AcceptTestCA = cfg.AcceptTestCA && testCard
	date, _ := s.date()
	typ, _ := s.txnType()
	un, err := s.unpredictableNumber()
	if err != nil {
		return nil, "", err
	}
	cfg.Clock = kernel.FixedClock(date)
	// The reader's torn transaction log lives as long as the scenario.
	cfg.TornLog = &kernel.TornLog{}
	cfg.Stopwatch = func() time.Duration { return elapsed }
	cfg.UnpredictableNumber = kernel.FixedUN(un)
	if r.Trace != nil {
		cfg.Trace = r.Trace
	}
	ep, err := entry.New(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("scenario: terminal: %w", err)
	}
	txn := kernel.Transaction{Amount: s.Amount, Other: s.Other, Type: typ, Date: date}

	reader := inproc.New(card)
	reader.Wait = func(_ context.Context, d time.Duration) error {
		elapsed += d
		return nil
	}
	var (
		diffs   []string
		last    kernel.Outcome
		taps    int
		removal = -1
		tear    = -1
		stay    time.Duration
		online  *kernel.OnlineResponse
	)
	for i, st := range s.Steps {
		switch st.Action {
		case "tap":
			if taps > 0 && last.FieldOff > 0 {
				// The field stays off as the outcome asked, on the
				// simulated clock.
				if err := reader.FieldOff(ctx, last.FieldOff); err != nil {
					return diffs, last.String(), err
				}
			}
			reader.Present(card)
			if removal >= 0 {
				reader.RemoveAfter(removal)
				removal = -1
			}
			if tear >= 0 {
				reader.LoseResponseAfter(tear)
				tear = -1
			}
			reader.StayFor(stay)
			stay = 0
			var out kernel.Outcome
			switch {
			case online != nil:
				out, err = ep.RestartOnline(ctx, reader, *online)
				online = nil
			case taps > 0 && last.Start == kernel.StartB:
				out, err = ep.Restart(ctx, reader)
			default:
				out, err = ep.Start(ctx, reader, txn)
			}
			if err != nil {
				return diffs, last.String(), fmt.Errorf("scenario: tap %d: %w", taps+1, err)
			}
			taps++
			last = out
			if st.Expect != nil {
				for _, d := range st.Expect.check(out, card) {
					diffs = append(diffs, fmt.Sprintf("tap %d: %s", taps, d))
				}
			}
		case "online":
			resp, err := r.issuerResponse(s, st.Online, last)
			if err != nil {
				return nil, "", fmt.Errorf("scenario: step %d (online): %w", i+1, err)
			}
			online = &resp
		case "stay_for":
			if stay, err = stayDuration(st.Arg); err != nil {
				return nil, "", fmt.Errorf("%w: step %d: %w", ErrScenario, i+1, err)
			}
		case "remove_after", "tear_after":
			n, err := strconv.Atoi(st.Arg)
			if err != nil || n < 0 {
				return nil, "", fmt.Errorf("%w: step %d: %s takes a count", ErrScenario, i+1, st.Action)
			}
			if st.Action == "tear_after" {
				tear = n
			} else {
				removal = n
			}
		default:
			if err := phoneStep(card, st); err != nil {
				return nil, "", fmt.Errorf("scenario: step %d (%s): %w", i+1, st.Action, err)
			}
		}
	}
	diffs = append(diffs, s.Expect.check(last, card)...)
	if s.Expect.CVC3 != "" {
		diffs = append(diffs, r.checkCVC3(s, last)...)
	}
	if s.Expect.Taps != 0 && s.Expect.Taps != taps {
		diffs = append(diffs, fmt.Sprintf("taps: want %d, got %d", s.Expect.Taps, taps))
	}
	return diffs, last.String(), nil
}

// issuerResponse builds the issuer's answer of an online step from the
// last outcome's data record and the card profile's test keys.
func (r *Runner) issuerResponse(s Scenario, o *Online, last kernel.Outcome) (kernel.OnlineResponse, error) {
	resp := kernel.OnlineResponse{Approved: o.Approved, ARC: []byte(o.ARC)}
	if o.ARC == "" {
		resp.ARC = []byte("05")
		if o.Approved {
			resp.ARC = []byte("00")
		}
	}
	if len(resp.ARC) != 2 {
		return resp, fmt.Errorf("%w: arc is two characters", ErrScenario)
	}
	for _, sc := range o.Scripts {
		b, err := hex.DecodeString(strings.ReplaceAll(sc, " ", ""))
		if err != nil {
			return resp, fmt.Errorf("%w: script %q is not hex", ErrScenario, sc)
		}
		resp.Scripts = append(resp.Scripts, b...)
	}
	if o.IssuerAuthData != "" {
		b, err := hex.DecodeString(strings.ReplaceAll(o.IssuerAuthData, " ", ""))
		if err != nil {
			return resp, fmt.Errorf("%w: issuer_auth_data is not hex", ErrScenario)
		}
		resp.IssuerAuthData = b
		return resp, nil
	}
	if o.ARPC == "" || o.ARPC == "none" {
		return resp, nil
	}
	p, err := r.profile(s)
	if err != nil {
		return resp, err
	}
	ap := p.App
	if ap == nil && len(p.Apps) > 0 {
		ap = &p.Apps[0]
	}
	if ap == nil {
		return resp, fmt.Errorf("%w: the card has no application to answer", ErrScenario)
	}
	tags := cryptogram.Values{}
	for _, t := range last.DataRecord {
		tags[uint32(t.Tag)] = t.Value
	}
	iad, err := cards.IssuerARPC(*ap, tags, resp.ARC, []byte{0x00, 0x82, 0x00, 0x00})
	if err != nil {
		return resp, err
	}
	if o.ARPC == "invalid" {
		iad[0] ^= 0x01
	}
	resp.IssuerAuthData = iad
	return resp, nil
}

// checkCVC3 checks a mag-stripe mode record's CVC3 as the issuer would.
func (r *Runner) checkCVC3(s Scenario, o kernel.Outcome) []string {
	p, err := r.profile(s)
	if err != nil {
		return []string{"cvc3: " + err.Error()}
	}
	ap := p.App
	if ap == nil && len(p.Apps) > 0 {
		ap = &p.Apps[0]
	}
	if ap == nil {
		return []string{"cvc3: the card has no application"}
	}
	err = cards.IssuerCheckCVC3(*ap, o.DataRecord)
	switch {
	case s.Expect.CVC3 == "valid" && err != nil:
		return []string{"cvc3: want valid, got " + err.Error()}
	case s.Expect.CVC3 == "invalid" && err == nil:
		return []string{"cvc3: want invalid, the issuer verified it"}
	case s.Expect.CVC3 != "valid" && s.Expect.CVC3 != "invalid":
		return []string{"cvc3: want valid or invalid"}
	}
	return nil
}

// phoneStep does what the cardholder does on a phone between taps.
func phoneStep(c cards.Card, st Step) error {
	ph, ok := cards.Phone(c)
	if !ok {
		return fmt.Errorf("%w: the card is not a phone", ErrScenario)
	}
	switch st.Action {
	case "unlock":
		// A wrong passcode is a legitimate step (R-G3c scenarios): its
		// error is the phone's answer, not a scenario failure.
		_ = ph.Unlock(st.Arg)
	case "biometric":
		_ = ph.UnlockBiometric(st.Arg != "false")
	case "card_on":
		ph.CardOn()
	case "card_off":
		ph.CardOff()
	case "lock":
		ph.Lock()
	}
	return nil
}

func (s Scenario) unpredictableNumber() ([4]byte, error) {
	var un [4]byte
	if s.UN == "" {
		v := seed("un:" + s.Name)
		for i := range un {
			un[i] = byte(v >> (8 * i))
		}
		return un, nil
	}
	b, err := hex.DecodeString(s.UN)
	if err != nil || len(b) != 4 {
		return un, fmt.Errorf("%w: un must be 4 bytes of hex", ErrScenario)
	}
	copy(un[:], b)
	return un, nil
}

// card builds the scenario's card: a built-in profile or a profile file
// relative to the scenario, with the state overrides applied, and whether
// the test CA certifies it (cards.Profile.UsesTestCA).
func (r *Runner) card(s Scenario, elapse func(time.Duration)) (cards.Card, bool, error) {
	p, err := r.profile(s)
	if err != nil {
		return nil, false, err
	}
	if !s.State.IsZero() {
		if err := decodeStrict(&s.State, &p.State); err != nil {
			return nil, false, fmt.Errorf("scenario: card state: %w", err)
		}
	}
	rng := rand.NewChaCha8(seedBytes(seed("card:" + s.Name)))
	date, _ := s.date()
	c, err := cards.FromProfile(p, cards.Options{Rand: rng, Clock: func() time.Time { return date }, Elapse: elapse})
	if err != nil {
		return nil, false, fmt.Errorf("scenario: card: %w", err)
	}
	return c, p.UsesTestCA(), nil
}

// profile reads the scenario's card profile: a built-in one, or a file
// relative to the scenario.
func (r *Runner) profile(s Scenario) (cards.Profile, error) {
	var (
		p   cards.Profile
		err error
	)
	if strings.ContainsAny(s.Card, `/\`) || strings.HasSuffix(s.Card, ".yaml") {
		path := s.Card
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(s.File), path)
		}
		p, err = cards.Load(path)
	} else {
		p, err = cards.Builtin(s.Card)
	}
	if err != nil {
		return p, fmt.Errorf("scenario: card: %w", err)
	}
	return p, nil
}

func seedBytes(v uint64) [32]byte {
	var b [32]byte
	for i := range b {
		b[i] = byte(v >> (8 * (i % 8)))
	}
	return b
}

// config applies the scenario's terminal overrides to a copy of the base.
func (r *Runner) config(s Scenario) (kernel.Config, error) {
	cfg := r.Base.Clone()
	t := s.Terminal
	if !t.Config.IsZero() {
		if err := decodeStrict(&t.Config, &cfg); err != nil {
			return cfg, fmt.Errorf("scenario: terminal config: %w", err)
		}
	}
	for i := range cfg.Combinations {
		if !t.All.IsZero() {
			if err := decodeStrict(&t.All, &cfg.Combinations[i]); err != nil {
				return cfg, fmt.Errorf("scenario: terminal all: %w", err)
			}
		}
	}
	for aid, n := range t.AIDs {
		b, err := hex.DecodeString(aid)
		if err != nil {
			return cfg, fmt.Errorf("%w: terminal aids: %q is not hex", ErrScenario, aid)
		}
		found := false
		for i := range cfg.Combinations {
			if bytes.Equal(cfg.Combinations[i].AID, b) {
				if err := decodeStrict(&n, &cfg.Combinations[i]); err != nil {
					return cfg, fmt.Errorf("scenario: terminal aid %s: %w", aid, err)
				}
				found = true
			}
		}
		if !found {
			return cfg, fmt.Errorf("%w: terminal aids: no combination for %s", ErrScenario, aid)
		}
	}
	return cfg, nil
}

// check compares an outcome with the expectation, one line per difference.
func (e Expectation) check(o kernel.Outcome, card cards.Card) []string {
	var d []string
	eq := func(what, want, got string) {
		if want != "" && !strings.EqualFold(want, got) {
			d = append(d, fmt.Sprintf("%s: want %s, got %s", what, want, got))
		}
	}
	eq("outcome", e.Outcome, o.Type.Name())
	eq("start", e.Start, o.Start.String())
	eq("cvm", e.CVM, o.CVM.Name())
	eq("error", e.Error, o.Error.String())
	eq("l3_error", e.L3Error, o.L3.String())
	eq("oda", e.ODA, o.ODA.Status.String())
	eq("aid", e.AID, strings.ToUpper(hex.EncodeToString(o.AID)))
	eq("tvr", e.TVR, strings.ToUpper(hex.EncodeToString(o.TVR[:])))
	if e.UIOutcome != "" {
		got := "none"
		if o.UIOnOutcome != nil {
			got = o.UIOnOutcome.Message.Name()
		}
		eq("ui_outcome", e.UIOutcome, got)
	}
	if e.Kernel != 0 && int(o.KernelID) != e.Kernel {
		d = append(d, fmt.Sprintf("kernel: want %d, got %d", e.Kernel, o.KernelID))
	}
	if e.Reason != "" && !strings.Contains(strings.ToLower(o.Reason), strings.ToLower(e.Reason)) {
		d = append(d, fmt.Sprintf("reason: want it to contain %q, got %q", e.Reason, o.Reason))
	}
	if e.FieldOff != "" {
		want, err := time.ParseDuration(e.FieldOff)
		switch {
		case err != nil:
			d = append(d, fmt.Sprintf("field_off: %v", err))
		case want != o.FieldOff:
			d = append(d, fmt.Sprintf("field_off: want %v, got %v", want, o.FieldOff))
		}
	}
	if e.RemovalTimeout != "" {
		want, err := time.ParseDuration(e.RemovalTimeout)
		switch {
		case err != nil:
			d = append(d, fmt.Sprintf("removal_timeout: %v", err))
		case want != o.RemovalTimeout:
			d = append(d, fmt.Sprintf("removal_timeout: want %v, got %v", want, o.RemovalTimeout))
		}
	}
	if e.CardNotRemoved != nil && *e.CardNotRemoved != o.CardNotRemoved {
		d = append(d, fmt.Sprintf("card_not_removed: want %v, got %v", *e.CardNotRemoved, o.CardNotRemoved))
	}
	if e.ODAReason != "" && !strings.Contains(strings.ToLower(o.ODA.Reason), strings.ToLower(e.ODAReason)) {
		d = append(d, fmt.Sprintf("oda_reason: want it to contain %q, got %q", e.ODAReason, o.ODA.Reason))
	}
	if e.MagStripe != nil && *e.MagStripe != o.MagStripe {
		d = append(d, fmt.Sprintf("mag_stripe: want %v, got %v", *e.MagStripe, o.MagStripe))
	}
	if e.Receipt != nil && *e.Receipt != o.Receipt {
		d = append(d, fmt.Sprintf("receipt: want %v, got %v", *e.Receipt, o.Receipt))
	}
	if len(e.UI) > 0 {
		var got []string
		for _, u := range o.UIRequests {
			got = append(got, u.Message.Name())
		}
		if !subsequence(e.UI, got) {
			d = append(d, fmt.Sprintf("ui: want %v in this order, got %v", e.UI, got))
		}
	}
	for _, name := range e.TVRSet {
		b, err := kernel.ParseTVRBit(name)
		switch {
		case err != nil:
			d = append(d, fmt.Sprintf("tvr_set: %v", err))
		case !o.TVR.Has(b):
			d = append(d, fmt.Sprintf("tvr: want %s set, got %s", name, o.TVR))
		}
	}
	for _, name := range e.TVRClear {
		b, err := kernel.ParseTVRBit(name)
		switch {
		case err != nil:
			d = append(d, fmt.Sprintf("tvr_clear: %v", err))
		case o.TVR.Has(b):
			d = append(d, fmt.Sprintf("tvr: want %s clear, got %s", name, o.TVR))
		}
	}
	tags := make([]string, 0, len(e.Tags))
	for t := range e.Tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	for _, ts := range tags {
		want := e.Tags[ts]
		tag, err := tlv.ParseTag(ts)
		if err != nil {
			d = append(d, fmt.Sprintf("tags: %v", err))
			continue
		}
		v, ok := o.DataRecord.Find(tag)
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("tag %s: want %s, absent from the data record", ts, want))
		case want != "*" && !strings.EqualFold(strings.ReplaceAll(want, " ", ""), hex.EncodeToString(v.Value)):
			d = append(d, fmt.Sprintf("tag %s: want %s, got %s", ts, want, describeValue(tag, v.Value)))
		}
	}
	dtags := make([]string, 0, len(e.Discretionary))
	for t := range e.Discretionary {
		dtags = append(dtags, t)
	}
	slices.Sort(dtags)
	for _, ts := range dtags {
		want := e.Discretionary[ts]
		tag, err := tlv.ParseTag(ts)
		if err != nil {
			d = append(d, fmt.Sprintf("discretionary: %v", err))
			continue
		}
		v, ok := o.DiscretionaryData.Find(tag)
		switch {
		case !ok && want != "absent":
			d = append(d, fmt.Sprintf("discretionary %s: want %s, absent", ts, want))
		case ok && want == "absent":
			d = append(d, fmt.Sprintf("discretionary %s: want absent, got %s", ts, describeValue(tag, v.Value)))
		case ok && want != "*" && !strings.EqualFold(strings.ReplaceAll(want, " ", ""), hex.EncodeToString(v.Value)):
			d = append(d, fmt.Sprintf("discretionary %s: want %s, got %s", ts, want, describeValue(tag, v.Value)))
		}
	}
	for _, ts := range e.Absent {
		tag, err := tlv.ParseTag(ts)
		if err != nil {
			d = append(d, fmt.Sprintf("absent: %v", err))
			continue
		}
		if _, ok := o.DataRecord.Find(tag); ok {
			d = append(d, fmt.Sprintf("tag %s: want absent, present in the data record", ts))
		}
	}
	if e.KeysLeft != nil {
		ph, ok := cards.Phone(card)
		switch {
		case !ok:
			d = append(d, "keys_left: the card is not a phone")
		case ph.KeysLeft() != *e.KeysLeft:
			d = append(d, fmt.Sprintf("keys_left: want %d, got %d", *e.KeysLeft, ph.KeysLeft()))
		}
	}
	if e.ATC != 0 {
		atc := o.Record(0x9F36)
		got := -1
		if len(atc) == 2 {
			got = int(atc[0])<<8 | int(atc[1])
		}
		if got != e.ATC {
			d = append(d, fmt.Sprintf("atc: want %d, got %d", e.ATC, got))
		}
	}
	return d
}

// describeValue prints a data-record value for a diff, masking what is
// sensitive (a PAN or track 2 shows first 6 and last 4 digits at most).
func describeValue(tag tlv.Tag, v []byte) string {
	if info, ok := tlv.Lookup(tag); ok && info.Sensitive {
		return "(sensitive value, " + strconv.Itoa(len(v)) + " bytes)"
	}
	return strings.ToUpper(hex.EncodeToString(v))
}

// subsequence reports whether want appears in got in order (case-insensitive).
func subsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && strings.EqualFold(want[i], g) {
			i++
		}
	}
	return i == len(want)
}

// MarshalYAML lets a Scenario be written back (for generated suites).
func (s Step) MarshalYAML() (any, error) {
	if s.Action == "tap" && s.Expect == nil {
		return "tap", nil
	}
	if s.Action == "tap" {
		return map[string]any{"tap": map[string]any{"expect": s.Expect}}, nil
	}
	if s.Action == "online" && s.Online != nil {
		return map[string]any{"online": s.Online}, nil
	}
	if s.Arg == "" {
		return s.Action, nil
	}
	return map[string]string{s.Action: s.Arg}, nil
}

var _ yaml.Marshaler = Step{}
