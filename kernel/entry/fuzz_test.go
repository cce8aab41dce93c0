package entry_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// encodeResponses packs R-APDUs as 2-byte big-endian length then bytes.
func encodeResponses(rs [][]byte) []byte {
	var out []byte
	for _, r := range rs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(r)))
		out = append(out, r...)
	}
	return out
}

// decodeResponses undoes encodeResponses; a short tail is the last
// response as it is.
func decodeResponses(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			out = append(out, b)
			break
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if n > len(b) {
			n = len(b)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// recorded runs a test card through a tap and returns its responses.
func recorded(app kerneltest.App, amount int64, cfg kernel.Config) [][]byte {
	card := &kerneltest.Card{Apps: []kerneltest.App{app}}
	var rs [][]byte
	rec := kernel.ReaderFunc(func(ctx context.Context, c []byte) ([]byte, error) {
		r, err := card.Transmit(ctx, c)
		rs = append(rs, r)
		return r, err
	})
	if _, err := entry.Run(context.Background(), rec, cfg, kernel.Transaction{Amount: amount}); err != nil {
		panic(err)
	}
	return rs
}

func fuzzConfig() kernel.Config {
	p, err := kerneltest.NewPKI("476173")
	if err != nil {
		panic(err)
	}
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = p.CAPublicKeys()
	cfg.Clock = kernel.FixedClock(time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC))
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{1, 2, 3, 4})
	return cfg
}

// FuzzParseResponses feeds arbitrary response APDUs, in order whatever the
// command, to the Entry Point and both kernels. Whatever the card answers,
// a run must end with an outcome (never a panic or an error), and a
// restart must too.
func FuzzParseResponses(f *testing.F) {
	cfg := fuzzConfig()
	// The reader supports issuer update processing, so that an online
	// outcome may restart the kernel with the issuer's response.
	cfg.Combinations[0].TTQ = kernel.HexBytes{0x26, 0x00, 0xC0, 0x00}
	iup := kernel.OnlineResponse{Approved: true, ARC: []byte("00"), IssuerAuthData: []byte{1, 2, 3, 4, 0, 0x82, 0, 0},
		Scripts: []byte{0x72, 0x0B, 0x86, 0x09, 0x84, 0x1E, 0, 0, 0x04, 0xAA, 0xBB, 0xCC, 0xDD}}
	v, err := kerneltest.NewVisa("4761739001010119", "301231")
	if err != nil {
		f.Fatal(err)
	}
	m, err := kerneltest.NewMChip("5413330089010012", "301231")
	if err != nil {
		f.Fatal(err)
	}
	phone, err := kerneltest.NewMChip("5413330089010020", "301231")
	if err != nil {
		f.Fatal(err)
	}
	phone.AIP = []byte{0x1B, 0x80}
	if err := phone.Build(); err != nil {
		f.Fatal(err)
	}
	for _, amount := range []int64{500, 150000, 400000} {
		f.Add(encodeResponses(recorded(v, amount, cfg)))
		f.Add(encodeResponses(recorded(m, amount, cfg)))
		f.Add(encodeResponses(recorded(phone, amount, cfg)))
	}
	v.CDCVM = true
	v.CTQ = []byte{0x20, 0x40}
	f.Add(encodeResponses(recorded(v, 400000, cfg)))
	v.GPOStatus = apdu.SW6986
	f.Add(encodeResponses(recorded(v, 400000, cfg)))
	f.Add(encodeResponses([][]byte{{0x6A, 0x82}}))
	f.Add(encodeResponses([][]byte{{0x61, 0x10}, {0x6C, 0x05}}))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		rs := decodeResponses(data)
		i := 0
		r := kernel.ReaderFunc(func(_ context.Context, _ []byte) ([]byte, error) {
			if i >= len(rs) {
				return nil, fmt.Errorf("%w: no more responses", kernel.ErrCardRemoved)
			}
			i++
			return rs[i-1], nil
		})
		e, err := entry.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Start(context.Background(), r, kernel.Transaction{Amount: 150000})
		if err != nil {
			t.Fatalf("error for card data: %v", err)
		}
		if out.Type == kernel.OutcomeNone {
			t.Fatalf("no outcome")
		}
		_ = out.String()
		switch {
		case out.Type == kernel.OnlineRequest && out.OnlineResponseData != kernel.OnlineResponseNA:
			out, err = e.RestartOnline(context.Background(), r, iup)
			if err != nil || out.Type == kernel.OutcomeNone {
				t.Fatalf("restart with the online response: %v %v", out, err)
			}
		case out.Start == kernel.StartB:
			out, err = e.Restart(context.Background(), r)
			if err != nil || out.Type == kernel.OutcomeNone {
				t.Fatalf("restart: %v %v", out, err)
			}
		}
	})
}

// FuzzReplaceResponse lets a test card answer every command but one, whose
// response the fuzzer writes: byte 0 picks the card (Visa-like or
// M/Chip-like, plastic or phone), byte 1 the exchange to replace, the rest
// is the R-APDU. The kernels get well-formed data up to the one response
// they must survive.
func FuzzReplaceResponse(f *testing.F) {
	cfg := fuzzConfig()
	v, err := kerneltest.NewVisa("4761739001010119", "301231")
	if err != nil {
		f.Fatal(err)
	}
	m, err := kerneltest.NewMChip("5413330089010012", "301231")
	if err != nil {
		f.Fatal(err)
	}
	zero := []byte{0, 0, 0, 0, 0}
	m.IACDefault, m.IACDenial, m.IACOnline = zero, zero, zero
	if err := m.Build(); err != nil {
		f.Fatal(err)
	}
	phone, err := kerneltest.NewMChip("5413330089010020", "301231")
	if err != nil {
		f.Fatal(err)
	}
	phone.AIP = []byte{0x1B, 0x80}
	if err := phone.Build(); err != nil {
		f.Fatal(err)
	}
	vphone, err := kerneltest.NewVisa("4761739001010127", "301231")
	if err != nil {
		f.Fatal(err)
	}
	vphone.CDCVM = true
	// C-2 cards for relay resistance, mag-stripe mode and balance reading,
	// which the combination supports.
	cfg.Combinations[1].KernelConfiguration = kernel.HexBytes{0x30}
	cfg.Combinations[1].BalanceReadBefore, cfg.Combinations[1].BalanceReadAfter = true, true
	rr, err := kerneltest.NewMChip("5413330089010038", "301231")
	if err != nil {
		f.Fatal(err)
	}
	rr.AIP = []byte{0x19, 0x81}
	rr.RelayResistance = &kerneltest.RelayResistance{Min: 10, Max: 50, Transmission: 18}
	rr.Balance = kerneltest.MustHex("000000012345")
	if err := rr.Build(); err != nil {
		f.Fatal(err)
	}
	ms, err := kerneltest.NewMChip("5413330089010046", "301231")
	if err != nil {
		f.Fatal(err)
	}
	ms.AIP = []byte{0x18, 0x00}
	ms.MagStripe = &kerneltest.MagStripe{}
	if err := ms.Build(); err != nil {
		f.Fatal(err)
	}
	apps := []kerneltest.App{v, m, phone, vphone, rr, ms}
	amounts := []int64{500, 150000, 400000}
	// Seeds: each exchange of each card answered as the card would.
	for ai, app := range apps {
		for _, amount := range amounts[:2] {
			for i, r := range recorded(app, amount, cfg) {
				f.Add(append([]byte{byte(ai), byte(i)}, r...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		app := apps[int(data[0])%len(apps)]
		amount := amounts[int(data[0]>>2)%len(amounts)]
		target := int(data[1])
		replacement := data[2:]
		card := &kerneltest.Card{Apps: []kerneltest.App{app}}
		n := 0
		r := kernel.ReaderFunc(func(ctx context.Context, c []byte) ([]byte, error) {
			resp, err := card.Transmit(ctx, c)
			if n == target {
				resp = replacement
			}
			n++
			return resp, err
		})
		out, err := entry.Run(context.Background(), r, cfg, kernel.Transaction{Amount: amount})
		if err != nil {
			t.Fatalf("error for card data: %v", err)
		}
		if out.Type == kernel.OutcomeNone {
			t.Fatal("no outcome")
		}
		_ = out.String()
	})
}
