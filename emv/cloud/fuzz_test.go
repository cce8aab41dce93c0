package cloud

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseIAD feeds outside 9F10 values to the parser: it must never
// panic, refuse with ErrIAD only, and give back what it parsed.
func FuzzParseIAD(f *testing.F) {
	f.Add(unhex(katVisaIAD))
	f.Add(unhex(katMCIAD))
	f.Add(unhex("06011203A0B800"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseIAD(b)
		if err != nil {
			if !errors.Is(err, ErrIAD) {
				t.Fatalf("error %v does not wrap ErrIAD", err)
			}
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("round trip %X -> %X", b, p.Bytes())
		}
	})
}

// FuzzParseKeyIndex: seven digits or ErrKeyIndex, and String gives them back.
func FuzzParseKeyIndex(f *testing.F) {
	for _, s := range []string{katKI, "0000000", "9878399", "5A23407", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKeyIndex(s)
		if err != nil {
			if !errors.Is(err, ErrKeyIndex) {
				t.Fatalf("error %v does not wrap ErrKeyIndex", err)
			}
			return
		}
		back, err := KeyIndexFromBCD(k.BCD())
		if err != nil || back != k {
			t.Fatalf("BCD round trip of %v: %v %v", k, back, err)
		}
	})
}
