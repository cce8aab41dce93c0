package entry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// benchCards are the taps the benchmarks measure: each kernel path over an
// in-process test card.
func benchCards(b *testing.B) []struct {
	name   string
	app    kerneltest.App
	amount int64
	want   kernel.OutcomeType
} {
	v, err := kerneltest.NewVisa("4761739001010119", "301231")
	if err != nil {
		b.Fatal(err)
	}
	phoneV, err := kerneltest.NewVisa("4761739001010127", "301231")
	if err != nil {
		b.Fatal(err)
	}
	phoneV.CDCVM = true
	m, err := kerneltest.NewMChip("5413330089010012", "301231")
	if err != nil {
		b.Fatal(err)
	}
	zero := []byte{0, 0, 0, 0, 0}
	m.IACDefault, m.IACDenial, m.IACOnline = zero, zero, zero
	if err := m.Build(); err != nil {
		b.Fatal(err)
	}
	phoneM, err := kerneltest.NewMChip("5413330089010020", "301231")
	if err != nil {
		b.Fatal(err)
	}
	phoneM.AIP, phoneM.Verified = []byte{0x1B, 0x80}, true
	if err := phoneM.Build(); err != nil {
		b.Fatal(err)
	}
	return []struct {
		name   string
		app    kerneltest.App
		amount int64
		want   kernel.OutcomeType
	}{
		{"C3-offline-fDDA", v, 500, kernel.Approved},
		{"C3-online", v, 150000, kernel.OnlineRequest},
		{"C3-phone-CDCVM", phoneV, 400000, kernel.OnlineRequest},
		{"C2-offline-CDA", m, 500, kernel.Approved},
		{"C2-online-CDA", m, 150000, kernel.OnlineRequest},
		{"C2-phone-ODCVM-CDA", phoneM, 400000, kernel.OnlineRequest},
	}
}

// BenchmarkTap runs one full tap per kernel path: Entry Point, kernel and
// the test card answering in process ("card", the card's RSA signing
// included) or a replay of the card's recorded answers ("replay", the
// reader's work alone).
func BenchmarkTap(b *testing.B) {
	cfg := fuzzConfig()
	ctx := context.Background()
	for _, bc := range benchCards(b) {
		b.Run(bc.name+"/card", func(b *testing.B) {
			card := &kerneltest.Card{Apps: []kerneltest.App{bc.app}}
			e, err := entry.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				card.Reset()
				out, err := e.Start(ctx, card, kernel.Transaction{Amount: bc.amount})
				if err != nil || out.Type != bc.want {
					b.Fatalf("%v %v", out, err)
				}
			}
		})
		rs := recorded(bc.app, bc.amount, cfg)
		b.Run(bc.name+"/replay", func(b *testing.B) {
			i := 0
			r := kernel.ReaderFunc(func(context.Context, []byte) ([]byte, error) {
				if i >= len(rs) {
					return nil, fmt.Errorf("%w: replay ended", kernel.ErrCardRemoved)
				}
				i++
				return rs[i-1], nil
			})
			e, err := entry.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				i = 0
				out, err := e.Start(ctx, r, kernel.Transaction{Amount: bc.amount})
				if err != nil || out.Type != bc.want {
					b.Fatalf("%v %v", out, err)
				}
			}
		})
	}
}
