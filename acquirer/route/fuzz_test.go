package route

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary YAML to the routing-table parser and arbitrary
// numbers to the look-ups: no panic, and whatever routes must come from a
// range that holds the number.
func FuzzParse(f *testing.F) {
	f.Add([]byte("routes:\n  - {low: \"476173\", issuer: a}\n"), "4761739001010010")
	f.Add([]byte("routes:\n  - {low: \"222100\", high: \"272099\", issuer: b, token: true}\n  - {low: \"22230000\", issuer: c}\n"), "2223000048000019")
	f.Add([]byte("routes: [{low: 1}]"), "1")
	f.Add([]byte("{"), "")
	f.Fuzz(func(t *testing.T, doc []byte, pan string) {
		tb, err := Parse(bytes.NewReader(doc))
		if err != nil {
			return
		}
		r, err := tb.Lookup(pan)
		if err == nil {
			lo, hi, _ := strings.Cut(r.Range, "-")
			p := pan[:len(lo)]
			if p < lo || p > hi || r.BIN != pan[:6] {
				t.Fatalf("routed through %s", r.Range)
			}
		}
		if len(pan) >= 6 {
			_, _ = tb.LookupBIN(pan[:6])
		}
	})
}
