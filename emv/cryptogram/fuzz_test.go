package cryptogram_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// within reports whether sub is a slice of whole at offset off.
func within(whole, sub []byte, off int) bool {
	return off >= 0 && off+len(sub) <= len(whole) && bytes.Equal(whole[off:off+len(sub)], sub)
}

// FuzzParseIAD checks that ParseIAD never panics, never reads past its
// input, and returns fields at the offsets its layout documents.
func FuzzParseIAD(f *testing.F) {
	for _, s := range sampleIAD {
		iad := h(s)
		for scheme := byte(0); scheme <= 4; scheme++ {
			f.Add(scheme, iad)
		}
	}
	f.Add(byte(1), []byte{})
	f.Add(byte(1), []byte{0x06})
	f.Add(byte(1), []byte{0x1F, 0x22})
	f.Add(byte(3), []byte{0x0F})
	f.Fuzz(func(t *testing.T, scheme byte, iad []byte) {
		s := cryptogram.Scheme(scheme)
		p, err := cryptogram.ParseIAD(s, iad)
		if err != nil {
			if !errors.Is(err, cryptogram.ErrIAD) {
				t.Fatalf("error does not wrap ErrIAD: %v", err)
			}
			return
		}
		if !bytes.Equal(p.Raw, iad) || len(iad) > 32 {
			t.Fatalf("raw %X for input %X", p.Raw, iad)
		}
		switch s {
		case cryptogram.SchemeVisa:
			if p.Format == 0 {
				if len(p.CVR) != 4 || !within(iad, p.CVR, 3) || p.DKI != iad[1] || p.CVN != iad[2] {
					t.Fatalf("visa format 0/1/3 fields wrong: %+v", p)
				}
			} else if len(p.CVR) != 5 || !within(iad, p.CVR, 3) || p.CVN != iad[1] || p.DKI != iad[2] {
				t.Fatalf("visa format 2/4 fields wrong: %+v", p)
			}
		case cryptogram.SchemeMastercard:
			if len(p.CVR) != 6 || !within(iad, p.CVR, 2) || !within(iad, p.DAC, 8) || len(p.DAC) != 2 {
				t.Fatalf("mastercard fields wrong: %+v", p)
			}
			if p.Counters != nil && (len(p.Counters) != 8 || !within(iad, p.Counters, 10)) {
				t.Fatalf("mastercard counters wrong: %+v", p)
			}
		case cryptogram.SchemeCCD:
			if len(p.CVR) != 5 || !within(iad, p.CVR, 3) || len(p.Counters) != 8 || !within(iad, p.Counters, 8) {
				t.Fatalf("ccd fields wrong: %+v", p)
			}
		default:
			t.Fatalf("unknown scheme %d parsed", scheme)
		}
	})
}

// FuzzDetectCVN checks that DetectCVN never panics and that what it finds
// is what the CVN's own layout reads back.
func FuzzDetectCVN(f *testing.F) {
	for _, s := range sampleIAD {
		f.Add(h(s))
	}
	f.Add([]byte{0x06, 0x10, 0x0A, 0x03, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, iad []byte) {
		c, err := cryptogram.DetectCVN(iad)
		if err != nil {
			return
		}
		p, err := cryptogram.ParseIAD(c.Scheme, iad)
		if err != nil || p.CVN != c.ID {
			t.Fatalf("detected %v but its layout reads %+v, %v", c, p, err)
		}
	})
}

// FuzzGenerateVerify feeds arbitrary data elements to every CVN: Data and
// GenerateAC either refuse them with an error or produce a cryptogram that
// VerifyARQC accepts and that a changed ATC breaks.
func FuzzGenerateVerify(f *testing.F) {
	for i, c := range cryptogram.CVNs() {
		tags := txTags(c.Name)
		var blob []byte
		for _, tag := range cryptogram.MinimumDataSet() {
			blob = append(blob, tags[tag]...)
		}
		f.Add(uint8(i), blob, tags[0x9F10])
	}
	f.Add(uint8(0), []byte{1, 2, 3}, []byte{0x06})
	cvns := cryptogram.CVNs()
	mks := make(map[*cryptogram.CVN]keys.Key, len(cvns))
	for _, c := range cvns {
		mks[c] = iccMK(f, c)
	}
	f.Fuzz(func(t *testing.T, pick uint8, blob, iad []byte) {
		c := cvns[int(pick)%len(cvns)]
		tags := cryptogram.Values{0x9F10: iad}
		for _, tag := range cryptogram.MinimumDataSet() {
			n, _ := cryptogram.ElementLength(tag)
			if len(blob) < n {
				n = len(blob)
			}
			tags[tag], blob = blob[:n], blob[n:]
		}
		mk := mks[c]
		arqc, err := c.GenerateAC(mk, tags)
		if err != nil {
			return
		}
		if err := c.VerifyARQC(mk, tags, arqc); err != nil {
			t.Fatalf("%v: own cryptogram refused: %v", c, err)
		}
		atc := append([]byte{}, tags[0x9F36]...)
		atc[1] ^= 1
		tags[0x9F36] = atc
		if err := c.VerifyARQC(mk, tags, arqc); !errors.Is(err, cryptogram.ErrMismatch) {
			t.Fatalf("%v: changed ATC not refused: %v", c, err)
		}
	})
}
