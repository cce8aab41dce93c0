package tlv_test

import (
	"io"
	"testing"

	"github.com/tapsim/tapsim/emv/tlv"
)

func BenchmarkDecodeRecord(b *testing.B) {
	rec := record("read_record")
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := tlv.Decode(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildDOL(b *testing.B) {
	d, err := tlv.ParseDOL(h(visaPDOL))
	if err != nil {
		b.Fatal(err)
	}
	src := tlv.Map{0x9F66: h("36004000"), 0x9F02: h("000000030000"), 0x9F1A: h("0158"), 0x5F2A: h("0901"), 0x9F37: h("1A2B3C4D")}
	for b.Loop() {
		_ = tlv.BuildDOL(d, src.Lookup)
	}
}

func BenchmarkDescribeRecord(b *testing.B) {
	rec := record("read_record")
	p := tlv.Printer{Kernel: tlv.Kernel2}
	for b.Loop() {
		_ = p.Fprint(io.Discard, rec)
	}
}
