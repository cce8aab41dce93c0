// Package scenario runs kernel regression scenarios: a virtual card or phone
// from a profile, a terminal configuration, a transaction and the outcome
// the contactless kernel must reach. Scenarios are YAML files; a run is
// deterministic (fixed date, time, unpredictable number and card
// randomness), so a suite gives the same verdict on every machine.
//
// A scenario file:
//
//	name: visa plastic above the no-signature limit asks for a CVM
//	requirement: [R-S2d]
//	card: visa-plastic            # a built-in profile, or a path relative to the file
//	state: {atc: 10}              # overrides of the profile's initial state
//	terminal:                     # overrides of the terminal configuration
//	  all: {cvm_required_limit: 300000}   # applied to every combination
//	  aids: {A0000000031010: {ttq: "36004000"}}
//	  config: {country: "0158"}   # top-level settings
//	amount: 350000                # minor units; "other" for cashback
//	type: purchase                # purchase, cash, cashback, refund
//	date: 2026-01-15T10:30:00Z    # default 2026-01-15T10:30:00Z
//	un: "1A2B3C4D"                # default derived from the name
//	steps:                        # default: one tap
//	  - tap: {expect: {outcome: end_application, ui: [see_phone]}}
//	  - unlock: "5791"            # passcode; also biometric: true|false, card_on, card_off
//	  - remove_after: 3           # the next tap loses the card after 3 exchanges
//	  - tear_after: 6             # the card answers the 7th command, the response is lost
//	  - stay_for: 10s             # the next tap's card stays so long after the outcome ("forever": never leaves)
//	  - tap
//	  - online: {approved: true, arpc: valid, scripts: ["7207..."]}  # the issuer's answer
//	  - tap                       # presented again: Issuer Update Processing
//	expect:                       # the last tap's outcome
//	  outcome: online_request
//	  cvm: online_pin
//	  ui: [processing, card_read_ok]   # in this order, others may come between
//	  tvr_set: [expired_application]
//	  tvr_clear: [cda_failed]
//	  tags: {9F27: "80", 9F26: "*"}    # "*": present with any value
//	  absent: [9F4B]
//
// Unknown keys are errors, so that a misspelt expectation cannot pass.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/kernel"
)

// ErrScenario reports a scenario file that cannot be used.
var ErrScenario = errors.New("scenario: bad scenario")

// Scenario is one test: a card, a terminal, a transaction, steps and
// expectations.
type Scenario struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description,omitempty"`
	Requirement StringList  `yaml:"requirement,omitempty"`
	Card        string      `yaml:"card"`
	State       yaml.Node   `yaml:"state,omitempty"`
	Terminal    Terminal    `yaml:"terminal,omitempty"`
	Amount      int64       `yaml:"amount"`
	Other       int64       `yaml:"other,omitempty"`
	Type        string      `yaml:"type,omitempty"`
	Date        string      `yaml:"date,omitempty"`
	UN          string      `yaml:"un,omitempty"`
	Steps       []Step      `yaml:"steps,omitempty"`
	Expect      Expectation `yaml:"expect"`

	// File is where the scenario was read from.
	File string `yaml:"-"`
}

// Terminal overrides the base terminal configuration.
type Terminal struct {
	// Config is decoded onto the top-level settings.
	Config yaml.Node `yaml:"config,omitempty"`
	// All is decoded onto every combination.
	All yaml.Node `yaml:"all,omitempty"`
	// AIDs is decoded onto the combination of each AID (hex).
	AIDs map[string]yaml.Node `yaml:"aids,omitempty"`
}

// StringList reads one string or a list of strings.
type StringList []string

// UnmarshalYAML accepts a scalar or a sequence.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// Step is one action: a tap (with optional per-tap expectations) or
// something the cardholder does on the phone between taps.
type Step struct {
	// Action is tap, unlock, biometric, card_on, card_off, lock,
	// remove_after, tear_after, stay_for or online.
	Action string
	// Arg is the action's argument (passcode, true/false, count).
	Arg string
	// Expect, for a tap, is checked against that tap's outcome.
	Expect *Expectation
	// Online, for an online step, is the issuer's response to the last
	// Online Request; the next tap restarts the kernel with it.
	Online *Online
}

// Online is the issuer's answer to an Online Request whose outcome asked
// for a restart with the online response (Issuer Update Processing):
//
//   - online: {approved: true, arc: "00", arpc: valid, scripts: ["72..."]}
//
// arpc is valid (computed with the card profile's test keys over the Online
// Request's data record), invalid (one bit flipped) or none (no 91); arc
// defaults to "00" when approved, "05" otherwise; scripts are Issuer Script
// Templates (71, 72) in hex.
type Online struct {
	Approved bool     `yaml:"approved"`
	ARC      string   `yaml:"arc,omitempty"`
	ARPC     string   `yaml:"arpc,omitempty"`
	Scripts  []string `yaml:"scripts,omitempty"`
	// IssuerAuthData, in hex, is tag 91 as given (a recorded card's);
	// it replaces arpc.
	IssuerAuthData string `yaml:"issuer_auth_data,omitempty"`
}

// UnmarshalYAML reads "tap", {tap: {expect: ...}}, {unlock: "5791"}, ...
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		s.Action = n.Value
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return fmt.Errorf("%w: line %d: a step has exactly one action", ErrScenario, n.Line)
		}
		s.Action = n.Content[0].Value
		v := n.Content[1]
		if s.Action == "tap" {
			var t struct {
				Expect *Expectation `yaml:"expect"`
			}
			if err := decodeStrict(v, &t); err != nil {
				return err
			}
			s.Expect = t.Expect
		} else if s.Action == "online" {
			var o Online
			if err := decodeStrict(v, &o); err != nil {
				return err
			}
			switch o.ARPC {
			case "", "valid", "invalid", "none":
			default:
				return fmt.Errorf("%w: line %d: arpc is valid, invalid or none", ErrScenario, v.Line)
			}
			s.Online = &o
		} else {
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("%w: line %d: %s takes one value", ErrScenario, v.Line, s.Action)
			}
			s.Arg = v.Value
		}
	default:
		return fmt.Errorf("%w: line %d: a step is an action name or a one-key map", ErrScenario, n.Line)
	}
	switch s.Action {
	case "tap", "unlock", "biometric", "card_on", "card_off", "lock", "remove_after", "tear_after":
		return nil
	case "stay_for":
		if _, err := stayDuration(s.Arg); err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrScenario, n.Line, err)
		}
		return nil
	case "online":
		if s.Online == nil {
			return fmt.Errorf("%w: line %d: online takes the issuer's response", ErrScenario, n.Line)
		}
		return nil
	}
	return fmt.Errorf("%w: line %d: unknown step %q", ErrScenario, n.Line, s.Action)
}

// Expectation is what an outcome must show. Empty fields are not checked.
type Expectation struct {
	Outcome   string            `yaml:"outcome,omitempty"`
	Start     string            `yaml:"start,omitempty"`
	CVM       string            `yaml:"cvm,omitempty"`
	UI        []string          `yaml:"ui,omitempty"`
	UIOutcome string            `yaml:"ui_outcome,omitempty"`
	TVR       string            `yaml:"tvr,omitempty"`
	TVRSet    []string          `yaml:"tvr_set,omitempty"`
	TVRClear  []string          `yaml:"tvr_clear,omitempty"`
	Tags      map[string]string `yaml:"tags,omitempty"`
	Absent    []string          `yaml:"absent,omitempty"`
	// Discretionary checks tags of the outcome's discretionary data (the
	// balances DF8104 and DF8105, the relay resistance time DF8306), as
	// tags does the data record's; "absent" for a tag that must not be.
	Discretionary map[string]string `yaml:"discretionary,omitempty"`
	Error         string            `yaml:"error,omitempty"`
	// L3Error is the terminal-side error indication ("time_out").
	L3Error string `yaml:"l3_error,omitempty"`
	ODA     string `yaml:"oda,omitempty"`
	// ODAReason must be contained in the ODA failure reason.
	ODAReason string `yaml:"oda_reason,omitempty"`
	// MagStripe checks whether the outcome is of C-2 mag-stripe mode.
	MagStripe *bool `yaml:"mag_stripe,omitempty"`
	// CVC3 is "valid" or "invalid": the issuer's check of a mag-stripe mode
	// record's CVC3 with the card profile's test keys (final expectation
	// only).
	CVC3 string `yaml:"cvc3,omitempty"`
	// FieldOff is the outcome's Field Off time ("1.3s"); empty is not
	// checked, "0s" means none.
	FieldOff string `yaml:"field_off,omitempty"`
	// RemovalTimeout is the outcome's Removal Timeout ("5s"); empty is not
	// checked, "0s" means none. CardNotRemoved checks that the card was (or
	// was not) still in the field when it ran out.
	RemovalTimeout string `yaml:"removal_timeout,omitempty"`
	CardNotRemoved *bool  `yaml:"card_not_removed,omitempty"`
	Reason         string `yaml:"reason,omitempty"`
	AID            string `yaml:"aid,omitempty"`
	Kernel         int    `yaml:"kernel,omitempty"`
	Receipt        *bool  `yaml:"receipt,omitempty"`
	// Taps is how many taps the scenario took (checked on the final
	// expectation only).
	Taps int `yaml:"taps,omitempty"`
	// KeysLeft is how many single-use keys an HCE phone has left after the
	// run; nil is not checked.
	KeysLeft *int `yaml:"keys_left,omitempty"`
	// ATC is the card's transaction counter after the run (tag 9F36 of the
	// last data record); 0 is not checked.
	ATC int `yaml:"atc,omitempty"`
}

// DefaultDate is the transaction date and time of a scenario that gives none.
var DefaultDate = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)

// Parse reads one scenario from YAML; file names it in errors and is the
// base of relative card paths.
func Parse(data []byte, file string) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("%w: %s: %v", ErrScenario, file, err)
	}
	s.File = file
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if s.Card == "" {
		return Scenario{}, fmt.Errorf("%w: %s: no card", ErrScenario, file)
	}
	if len(s.Steps) == 0 {
		s.Steps = []Step{{Action: "tap"}}
	}
	taps := 0
	for _, st := range s.Steps {
		if st.Action == "tap" {
			taps++
		}
	}
	if taps == 0 {
		return Scenario{}, fmt.Errorf("%w: %s: no tap among the steps", ErrScenario, file)
	}
	if _, err := s.txnType(); err != nil {
		return Scenario{}, fmt.Errorf("%w: %s: %v", ErrScenario, file, err)
	}
	if _, err := s.date(); err != nil {
		return Scenario{}, fmt.Errorf("%w: %s: %v", ErrScenario, file, err)
	}
	return s, nil
}

// Load reads one scenario file.
func Load(file string) (Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	return Parse(data, file)
}

// Find lists the scenario files (*.yaml, *.yml) under each path, a file or a
// directory walked recursively, in lexical order within each directory.
func Find(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
	}
	return out, nil
}

func (s Scenario) txnType() (kernel.TxnType, error) {
	if s.Type == "" {
		return kernel.Purchase, nil
	}
	return kernel.ParseTxnType(s.Type)
}

func (s Scenario) date() (time.Time, error) {
	if s.Date == "" {
		return DefaultDate, nil
	}
	t, err := time.Parse(time.RFC3339, s.Date)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want RFC 3339, like 2026-01-15T10:30:00Z", s.Date)
	}
	return t, nil
}

func decodeStrict(n *yaml.Node, v any) error {
	// yaml.Node.Decode has no KnownFields switch: re-encode and decode
	// strictly so that misspelt keys are errors.
	b, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("%w: line %d: %v", ErrScenario, n.Line, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: line %d: %v", ErrScenario, n.Line, err)
	}
	return nil
}

// stayDuration reads a stay_for argument: a duration ("10s") or "forever"
// (a negative duration: the card never leaves).
func stayDuration(v string) (time.Duration, error) {
	if v == "forever" {
		return -1, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("stay_for takes a duration or forever, not %q", v)
	}
	return d, nil
}
