// Package route maps a card number to the issuer link that authorises it:
// a table of BIN ranges (account ranges of the card schemes, token BIN
// ranges included), the most specific range winning.
//
// A range is written as two digit strings of the same length, Low and High
// (6 to 12 digits, e.g. 476173-476173 or 48953700-48953799); a PAN belongs
// to it when its first len(Low) digits lie between them. Ranges of one
// length may not overlap; a longer range inside a shorter one is more
// specific and wins.
package route

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	// ErrNoRoute reports a PAN whose BIN lies in no range of the table.
	ErrNoRoute = errors.New("route: no issuer for this BIN")
	// ErrTable reports an invalid routing table: a malformed or overlapping
	// range, or a range naming no issuer.
	ErrTable = errors.New("route: invalid routing table")
)

// MinDigits and MaxDigits bound the length of a range's Low and High.
const (
	MinDigits = 6
	MaxDigits = 12
)

// Range is one entry of the routing table.
type Range struct {
	// Low and High bound the range, inclusive; same length, digits only.
	Low string `yaml:"low"`
	// High is the upper bound; empty means equal to Low.
	High string `yaml:"high,omitempty"`
	// Issuer names the issuer link that authorises this range.
	Issuer string `yaml:"issuer"`
	// Token marks a token BIN range (EMV payment tokens): the issuer's token
	// service detokenises these numbers.
	Token bool `yaml:"token,omitempty"`
	// Label is free text for people (scheme, product).
	Label string `yaml:"label,omitempty"`
}

// Route is the result of a look-up.
type Route struct {
	// Issuer is the name of the issuer link.
	Issuer string
	// Token reports a token BIN range.
	Token bool
	// BIN is the PAN's first 6 digits, the only part of the PAN the
	// acquirer keeps to route a stored advice again.
	BIN string
	// Range is the matched range, as "low-high".
	Range string
}

// Table is an immutable routing table, safe for concurrent use.
type Table struct {
	ranges []Range // sorted by length desc, then Low
}

// New checks the ranges and builds a table.
func New(ranges []Range) (*Table, error) {
	t := &Table{ranges: make([]Range, 0, len(ranges))}
	for i, r := range ranges {
		if r.High == "" {
			r.High = r.Low
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("%w: range %d: %v", ErrTable, i+1, err)
		}
		t.ranges = append(t.ranges, r)
	}
	sort.SliceStable(t.ranges, func(i, j int) bool {
		a, b := t.ranges[i], t.ranges[j]
		if len(a.Low) != len(b.Low) {
			return len(a.Low) > len(b.Low)
		}
		return a.Low < b.Low
	})
	for i := 1; i < len(t.ranges); i++ {
		a, b := t.ranges[i-1], t.ranges[i]
		if len(a.Low) == len(b.Low) && b.Low <= a.High {
			return nil, fmt.Errorf("%w: ranges %s-%s and %s-%s overlap", ErrTable, a.Low, a.High, b.Low, b.High)
		}
	}
	return t, nil
}

func (r Range) check() error {
	if len(r.Low) < MinDigits || len(r.Low) > MaxDigits {
		return fmt.Errorf("low bound must have %d to %d digits, has %d", MinDigits, MaxDigits, len(r.Low))
	}
	if len(r.High) != len(r.Low) {
		return errors.New("low and high bounds differ in length")
	}
	if !digits(r.Low) || !digits(r.High) {
		return errors.New("bounds must be decimal digits")
	}
	if r.High < r.Low {
		return fmt.Errorf("high bound %s below low bound %s", r.High, r.Low)
	}
	if strings.TrimSpace(r.Issuer) == "" {
		return errors.New("no issuer named")
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Lookup finds the route of a PAN (or token). The PAN itself never appears
// in the error.
func (t *Table) Lookup(pan string) (Route, error) {
	if len(pan) < MinDigits || !digits(pan) {
		return Route{}, fmt.Errorf("%w: account number is not 6 or more digits", ErrNoRoute)
	}
	for _, r := range t.ranges {
		if len(pan) < len(r.Low) {
			continue
		}
		p := pan[:len(r.Low)]
		if p >= r.Low && p <= r.High {
			return Route{Issuer: r.Issuer, Token: r.Token, BIN: pan[:MinDigits], Range: r.Low + "-" + r.High}, nil
		}
	}
	return Route{}, fmt.Errorf("%w: BIN %s", ErrNoRoute, pan[:MinDigits])
}

// LookupBIN finds the route of a stored 6-digit BIN, as used to send a
// stored advice again. Every range that may hold numbers of that BIN is a
// candidate (a 6-digit range containing it, or a longer range whose first 6
// digits span it); when the candidates name more than one issuer the BIN is
// ambiguous and refused.
func (t *Table) LookupBIN(bin string) (Route, error) {
	if len(bin) != MinDigits || !digits(bin) {
		return Route{}, fmt.Errorf("%w: BIN must be 6 digits", ErrNoRoute)
	}
	var found *Range
	for i := range t.ranges {
		r := &t.ranges[i]
		if bin < r.Low[:MinDigits] || bin > r.High[:MinDigits] {
			continue
		}
		if found != nil && found.Issuer != r.Issuer {
			return Route{}, fmt.Errorf("%w: BIN %s is split between issuers", ErrNoRoute, bin)
		}
		if found == nil {
			found = r
		}
	}
	if found == nil {
		return Route{}, fmt.Errorf("%w: BIN %s", ErrNoRoute, bin)
	}
	return Route{Issuer: found.Issuer, Token: found.Token, BIN: bin, Range: found.Low + "-" + found.High}, nil
}

// Issuers lists the distinct issuer names of the table, sorted.
func (t *Table) Issuers() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range t.ranges {
		if !seen[r.Issuer] {
			seen[r.Issuer] = true
			out = append(out, r.Issuer)
		}
	}
	sort.Strings(out)
	return out
}

// Ranges returns a copy of the table's ranges, most specific first.
func (t *Table) Ranges() []Range {
	return append([]Range(nil), t.ranges...)
}

// File is the YAML form of a routing table:
//
//	routes:
//	  - {low: "476173", issuer: issuer}
//	  - {low: "489537", issuer: issuer, token: true, label: visa-like tokens}
type File struct {
	// Routes lists the ranges.
	Routes []Range `yaml:"routes"`
}

// Parse reads a routing table from YAML. Unknown keys are refused.
func Parse(r io.Reader) (*Table, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTable, err)
	}
	return New(f.Routes)
}
