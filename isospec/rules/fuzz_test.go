package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapsim/tapsim/isospec/rules"
)

// The parser takes any bytes without panicking; what it refuses is a
// *ParseError wrapping ErrInvalid, and what it accepts matches without
// panicking either.
func FuzzParse(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "sample-rules.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("rules:\n  - name: a\n    match: {amount: {ends: \"51\"}}\n    respond: \"51\"\n"))
	f.Add([]byte("rules: [{name: a, partial: {percent: 50}, match: {pan: {from: '4', to: '5'}}}]"))
	f.Add([]byte("rules:\n  - &a {name: x, close: true}\n  - *a\n"))
	f.Add([]byte("rules: 5"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := rules.Parse("f.yaml", data)
		if err != nil {
			var pe *rules.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, rules.ErrInvalid) {
				t.Fatalf("error %v is not a ParseError wrapping ErrInvalid", err)
			}
			return
		}
		s := rules.New(r, rules.Options{})
		for _, a := range []int64{0, 51, 1051, 999999999999} {
			d, _ := s.Match(rules.Request{MTI: "0100", Amount: a, PAN: "4761739001010010", ProcessingCode: "000000"})
			_ = d.String()
		}
	})
}
