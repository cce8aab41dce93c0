package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/isospec"
)

// ErrInvalid is wrapped by every error about a rules file's content.
var ErrInvalid = errors.New("invalid rules")

// MaxFileSize bounds a rules file; a longer one is refused before parsing.
const MaxFileSize = 1 << 20

// ParseError reports what is wrong in a rules file, and where.
type ParseError struct {
	// File is the file's name ("" when parsed from memory).
	File string
	// Line is the 1-based line of the offending value (0 when unknown).
	Line int
	// Rule is the name of the rule concerned, or "" at the top level.
	Rule string
	// Field is the dotted path of the offending field ("match.amount.ends").
	Field string
	// Err is the cause; it wraps ErrInvalid.
	Err error
}

// Error reads "rules.yaml:12: rule "x": match.amount.ends: must be 1 to 12
// digits".
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// The YAML shape of a file. Keys are checked against schema before the
// values are decoded, so a misspelt key is an error, not a silent no-op.
type fileYAML struct {
	TerminalTimeoutMS int64      `yaml:"terminal_timeout_ms"`
	Rules             []ruleYAML `yaml:"rules"`
}

type ruleYAML struct {
	Name         string       `yaml:"name"`
	Match        matchYAML    `yaml:"match"`
	Respond      string       `yaml:"respond"`
	Reason       string       `yaml:"reason"`
	Refer        bool         `yaml:"refer"`
	Partial      *partialYAML `yaml:"partial"`
	Balance      *int64       `yaml:"balance"`
	DelayMS      int64        `yaml:"delay_ms"`
	AfterTimeout bool         `yaml:"after_timeout"`
	NoAnswer     bool         `yaml:"no_answer"`
	Close        bool         `yaml:"close"`
	CorruptMAC   bool         `yaml:"corrupt_mac"`
	StandIn      *standInYAML `yaml:"stand_in"`
	Once         bool         `yaml:"once"`
	Count        int          `yaml:"count"`
}

type matchYAML struct {
	MTI            stringList  `yaml:"mti"`
	ProcessingCode string      `yaml:"processing_code"`
	Amount         *amountYAML `yaml:"amount"`
	PAN            *panYAML    `yaml:"pan"`
	Profile        stringList  `yaml:"profile"`
	TID            stringList  `yaml:"tid"`
	MID            stringList  `yaml:"mid"`
	EntryMode      string      `yaml:"entry_mode"`
}

type amountYAML struct {
	Eq   *int64 `yaml:"eq"`
	Min  *int64 `yaml:"min"`
	Max  *int64 `yaml:"max"`
	Ends string `yaml:"ends"`
}

type panYAML struct {
	Prefix string `yaml:"prefix"`
	From   string `yaml:"from"`
	To     string `yaml:"to"`
}

type standInYAML struct {
	Limit int64 `yaml:"limit"`
}

type partialYAML struct {
	Amount  int64 `yaml:"amount"`
	Percent int   `yaml:"percent"`
}

// stringList accepts one string or a list of them.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// schema lists the keys each mapping may have; a nil value is a leaf.
type schema map[string]schema

var (
	amountSchema  = schema{"eq": nil, "min": nil, "max": nil, "ends": nil}
	panSchema     = schema{"prefix": nil, "from": nil, "to": nil}
	partialSchema = schema{"amount": nil, "percent": nil}
	standInSchema = schema{"limit": nil}
	matchSchema   = schema{"mti": nil, "processing_code": nil, "amount": amountSchema, "pan": panSchema,
		"profile": nil, "tid": nil, "mid": nil, "entry_mode": nil}
	ruleSchema = schema{"name": nil, "match": matchSchema, "respond": nil, "reason": nil, "refer": nil,
		"partial": partialSchema, "balance": nil, "delay_ms": nil, "after_timeout": nil, "no_answer": nil,
		"close": nil, "corrupt_mac": nil, "stand_in": standInSchema, "once": nil, "count": nil}
)

// checkKeys reports the first key of n (a mapping) that sc does not know,
// walking into nested mappings.
func checkKeys(n *yaml.Node, sc schema, path string) (line int, field string, err error) {
	if n.Kind != yaml.MappingNode {
		return n.Line, path, invalid("must be a mapping")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := join(path, k.Value)
		sub, ok := sc[k.Value]
		if !ok {
			return k.Line, name, invalid("unknown field")
		}
		if seen[k.Value] {
			return k.Line, name, invalid("given twice")
		}
		seen[k.Value] = true
		if sub != nil && v.Kind != yaml.ScalarNode {
			if line, f, err := checkKeys(v, sub, name); err != nil {
				return line, f, err
			}
		}
	}
	return 0, "", nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// Parse reads a rules file's content; name is used in errors only. Every
// error is a *ParseError wrapping ErrInvalid, with the line and the field
// at fault.
func Parse(name string, data []byte) (*Rules, error) {
	fail := func(line int, rule, field string, err error) (*Rules, error) {
		return nil, &ParseError{File: name, Line: line, Rule: rule, Field: field, Err: err}
	}
	if len(data) > MaxFileSize {
		return fail(0, "", "", invalid("file longer than %d bytes", MaxFileSize))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(0, "", "", invalid("empty file: want a rules list"))
		}
		return fail(yamlLine(err), "", "", fmt.Errorf("%w: %s", ErrInvalid, yamlMessage(err)))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return fail(more.Line, "", "", invalid("more than one YAML document"))
	}
	if len(doc.Content) != 1 {
		return fail(doc.Line, "", "", invalid("want a mapping with a rules list"))
	}
	root := doc.Content[0]
	if line, f, err := checkKeys(root, schema{"terminal_timeout_ms": nil, "rules": nil}, ""); err != nil {
		return fail(line, "", f, err)
	}
	var rulesNode *yaml.Node
	var f fileYAML
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "rules":
			rulesNode = v
		case "terminal_timeout_ms":
			if err := v.Decode(&f.TerminalTimeoutMS); err != nil || f.TerminalTimeoutMS <= 0 || f.TerminalTimeoutMS > maxMS {
				return fail(v.Line, "", k.Value, invalid("must be a number of milliseconds, 1 to %d", maxMS))
			}
		}
	}
	if rulesNode == nil {
		return fail(root.Line, "", "rules", invalid("missing"))
	}
	if rulesNode.Kind != yaml.SequenceNode {
		return fail(rulesNode.Line, "", "rules", invalid("must be a list"))
	}
	out := &Rules{TerminalTimeout: time.Duration(f.TerminalTimeoutMS) * time.Millisecond}
	names := map[string]int{}
	for i, rn := range rulesNode.Content {
		label := fmt.Sprintf("#%d", i+1)
		if n := nameOf(rn); n != "" {
			label = n
		}
		if line, field, err := checkKeys(rn, ruleSchema, ""); err != nil {
			return fail(line, label, field, err)
		}
		var ry ruleYAML
		if err := rn.Decode(&ry); err != nil {
			return fail(yamlLine(err, rn.Line), label, "", fmt.Errorf("%w: %s", ErrInvalid, yamlMessage(err)))
		}
		if ry.Name != "" {
			label = ry.Name
		}
		r, field, err := compile(ry)
		if err != nil {
			return fail(fieldLine(rn, field), label, field, err)
		}
		if r.Name == "" {
			return fail(rn.Line, label, "name", invalid("missing"))
		}
		if first, dup := names[r.Name]; dup {
			return fail(fieldLine(rn, "name"), label, "name", invalid("also the name of the rule on line %d", first))
		}
		names[r.Name] = rn.Line
		out.List = append(out.List, r)
	}
	return out, nil
}

// nameOf returns the name a rule node gives itself, or "".
func nameOf(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

const maxMS = int64(24 * time.Hour / time.Millisecond)

// fieldLine finds the line of a dotted field path under n, or n's line.
func fieldLine(n *yaml.Node, path string) int {
	line := n.Line
	cur := n
	for _, part := range strings.Split(path, ".") {
		if cur.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == part {
				cur, found = cur.Content[i+1], true
				line = cur.Line
				break
			}
		}
		if !found {
			break
		}
	}
	return line
}

// yamlLine returns the line a YAML error names, or def.
func yamlLine(err error, def ...int) int {
	var n int
	msg := yamlMessage(err)
	if i := strings.Index(msg, "line "); i >= 0 {
		_, _ = fmt.Sscanf(msg[i:], "line %d", &n)
	}
	if n == 0 && len(def) > 0 {
		return def[0]
	}
	return n
}

// yamlMessage is the YAML library's message without its "yaml: " prefix,
// joined into one line.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// compile checks a decoded rule and builds it; on error it returns the
// field at fault.
func compile(ry ruleYAML) (*Rule, string, error) {
	r := &Rule{Name: ry.Name, Limit: ry.Count}
	if len(r.Name) > 64 {
		return nil, "name", invalid("longer than 64 characters")
	}
	if ry.Count < 0 {
		return nil, "count", invalid("must not be negative")
	}
	if ry.Once {
		if ry.Count > 1 {
			return nil, "once", invalid("once with count %d", ry.Count)
		}
		r.Limit = 1
	}
	m := ry.Match
	for _, v := range m.MTI {
		switch isospec.MTI(v) {
		case isospec.MTIAuthorizationRequest, isospec.MTIFinancialRequest:
		default:
			return nil, "match.mti", invalid("%q: rules apply to 0100 and 0200", v)
		}
	}
	r.Match.MTI = m.MTI
	if pc := m.ProcessingCode; pc != "" {
		if len(pc) > 6 || len(pc)%2 != 0 || !digits(pc) {
			return nil, "match.processing_code", invalid("want 2, 4 or 6 digits (a prefix of DE3)")
		}
		r.Match.ProcessingCode = pc
	}
	if a := m.Amount; a != nil {
		if a.Eq == nil && a.Min == nil && a.Max == nil && a.Ends == "" {
			return nil, "match.amount", invalid("give eq, min/max or ends")
		}
		if a.Eq != nil && (a.Min != nil || a.Max != nil) {
			return nil, "match.amount.eq", invalid("eq with min or max")
		}
		for _, p := range []struct {
			v    *int64
			name string
		}{{a.Eq, "eq"}, {a.Min, "min"}, {a.Max, "max"}} {
			if p.v != nil && (*p.v < 0 || *p.v > maxAmount) {
				return nil, "match.amount." + p.name, invalid("must be 0 to %d minor units", maxAmount)
			}
		}
		if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
			return nil, "match.amount.min", invalid("min above max")
		}
		if a.Ends != "" && (len(a.Ends) > 12 || !digits(a.Ends)) {
			return nil, "match.amount.ends", invalid("must be 1 to 12 digits")
		}
		r.Match.Amount = &AmountMatch{Eq: a.Eq, Min: a.Min, Max: a.Max, Ends: a.Ends}
	}
	if p := m.PAN; p != nil {
		switch {
		case p.Prefix == "" && p.From == "" && p.To == "":
			return nil, "match.pan", invalid("give prefix, or from and to")
		case p.Prefix != "" && (p.From != "" || p.To != ""):
			return nil, "match.pan.prefix", invalid("prefix with from/to")
		case p.Prefix != "" && (len(p.Prefix) > 19 || !digits(p.Prefix)):
			return nil, "match.pan.prefix", invalid("must be 1 to 19 digits")
		case p.Prefix == "" && (p.From == "" || p.To == ""):
			return nil, "match.pan.from", invalid("from and to go together")
		case p.From != "" && (len(p.From) > 19 || !digits(p.From)):
			return nil, "match.pan.from", invalid("must be 1 to 19 digits")
		case p.To != "" && (len(p.To) > 19 || !digits(p.To)):
			return nil, "match.pan.to", invalid("must be 1 to 19 digits")
		case p.From != "" && len(p.From) != len(p.To):
			return nil, "match.pan.to", invalid("from and to must have the same length")
		case p.From > p.To:
			return nil, "match.pan.from", invalid("from above to")
		}
		r.Match.PAN = &PANMatch{Prefix: p.Prefix, From: p.From, To: p.To}
	}
	r.Match.Profile, r.Match.TID, r.Match.MID = m.Profile, m.TID, m.MID
	for _, t := range m.TID {
		if t == "" || len(t) > 8 {
			return nil, "match.tid", invalid("a terminal ID is 1 to 8 characters")
		}
	}
	for _, t := range m.MID {
		if t == "" || len(t) > 15 {
			return nil, "match.mid", invalid("a merchant ID is 1 to 15 characters")
		}
	}
	if em := m.EntryMode; em != "" {
		if len(em) > 3 || !digits(em) {
			return nil, "match.entry_mode", invalid("want up to 3 digits (a prefix of DE22)")
		}
		r.Match.EntryMode = em
	}
	if field, err := compileAction(r, ry); err != nil {
		return nil, field, err
	}
	return r, "", nil
}

const maxAmount = 999999999999

// compileAction fills r.Action; on error it returns the field at fault.
func compileAction(r *Rule, ry ruleYAML) (field string, err error) {
	a := &r.Action
	answers := 0
	if ry.Respond != "" {
		answers++
		rc := isospec.ResponseCode(ry.Respond)
		if !rc.Known() {
			return "respond", invalid("%q is not a response code of the dialect", ry.Respond)
		}
		a.Respond = rc
	}
	if ry.Refer {
		answers++
		a.Respond = isospec.RCReferToIssuer
	}
	if p := ry.Partial; p != nil {
		answers++
		switch {
		case (p.Amount == 0) == (p.Percent == 0):
			return "partial", invalid("give amount or percent")
		case p.Amount < 0 || p.Amount > maxAmount:
			return "partial.amount", invalid("must be 1 to %d minor units", maxAmount)
		case p.Percent < 0 || p.Percent > 99:
			return "partial.percent", invalid("must be 1 to 99")
		}
		a.Respond = isospec.RCPartialApproval
		a.PartialAmount, a.PartialPercent = p.Amount, p.Percent
	}
	if ry.NoAnswer {
		answers++
		a.NoAnswer = true
	}
	if ry.Close {
		answers++
		a.Close = true
	}
	if si := ry.StandIn; si != nil {
		answers++
		if si.Limit <= 0 || si.Limit > maxAmount {
			return "stand_in.limit", invalid("must be 1 to %d minor units", maxAmount)
		}
		a.StandInLimit = si.Limit
	}
	if answers > 1 {
		return "respond", invalid("give one of respond, refer, partial, no_answer, close, stand_in")
	}
	if ry.Reason != "" {
		if a.Respond == "" {
			return "reason", invalid("reason without respond")
		}
		if len(ry.Reason) > 40 || strings.ContainsAny(ry.Reason, " \t\r\n") {
			return "reason", invalid("a reason is one word of up to 40 characters")
		}
		a.Reason = isospec.DeclineReason(ry.Reason)
	}
	if ry.Balance != nil {
		if *ry.Balance < -maxAmount || *ry.Balance > maxAmount {
			return "balance", invalid("out of range")
		}
		if a.NoAnswer || a.Close {
			return "balance", invalid("balance with no answer")
		}
		b := *ry.Balance
		a.Balance = &b
		if a.Respond == "" {
			a.Respond = isospec.RCApproved
		}
	}
	if ry.DelayMS < 0 || ry.DelayMS > maxMS {
		return "delay_ms", invalid("must be 0 to %d", maxMS)
	}
	a.Delay = time.Duration(ry.DelayMS) * time.Millisecond
	if ry.AfterTimeout {
		if a.NoAnswer || a.Close {
			return "after_timeout", invalid("after_timeout with no answer")
		}
		if ry.DelayMS != 0 {
			return "after_timeout", invalid("after_timeout with delay_ms")
		}
		a.AfterTimeout = true
	}
	if ry.CorruptMAC {
		if a.NoAnswer || a.Close {
			return "corrupt_mac", invalid("corrupt_mac with no answer")
		}
		a.CorruptMAC = true
	}
	if answers == 0 && a.Balance == nil && a.Delay == 0 && !a.AfterTimeout && !a.CorruptMAC {
		return "respond", invalid("no action: give respond, refer, partial, balance, delay_ms, after_timeout, no_answer, close, corrupt_mac or stand_in")
	}
	return "", nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
