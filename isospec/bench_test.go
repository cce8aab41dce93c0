package isospec_test

import (
	"testing"

	"github.com/tapsim/tapsim/isospec"
)

// A typical contactless 0100 with online PIN, DE55 (133 bytes of BER-TLV)
// and private data.

func BenchmarkPack0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Pack(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpack0100(b *testing.B) {
	packed, err := isospec.Marshal(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(packed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Unpack(packed); err != nil {
			b.Fatal(err)
		}
	}
}

// Typed struct to bytes and back, the way the hosts use the package.
func BenchmarkMarshal0100(b *testing.B) {
	req := sample0100(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Marshal(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal0100(b *testing.B) {
	packed, err := isospec.Marshal(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var req isospec.AuthorizationRequest
		if err := isospec.Unmarshal(packed, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := isospec.Validate(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// Retail MAC (ISO 9797-1 algorithm 3) over the packed 0100, then pack.
func BenchmarkPackWithMAC0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	f := retailMAC(macKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.PackWithMAC(msg, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDescribe0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = isospec.Describe(msg)
	}
}
