package entry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

var today = time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)

func baseConfig(t *testing.T) kernel.Config {
	t.Helper()
	p, err := kerneltest.NewPKI("476173")
	require.NoError(t, err)
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = p.CAPublicKeys()
	cfg.Clock = kernel.FixedClock(today)
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{1, 2, 3, 4})
	return cfg
}

func visa(t *testing.T) *kerneltest.Visa {
	t.Helper()
	v, err := kerneltest.NewVisa("4761739001010119", "301231")
	require.NoError(t, err)
	return v
}

func mchip(t *testing.T) *kerneltest.MChip {
	t.Helper()
	m, err := kerneltest.NewMChip("5413330089010012", "301231")
	require.NoError(t, err)
	return m
}

func i64(v int64) *int64 { return &v }

// TestPreProcessing checks each indicator of Book B 3.1.1 at the limit
// boundaries: the transaction limit and the CVM required limit are reached
// at amount >= limit, the floor limits are exceeded at amount > limit.
func TestPreProcessing(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		comb   func(*kernel.Combination)
		want   kernel.Indicators
	}{
		{"small amount", 500, nil, kernel.Indicators{TTQ: []byte{0x26, 0x00, 0x40, 0x00}}},
		{"floor limit at", 100000, nil, kernel.Indicators{TTQ: []byte{0x26, 0x00, 0x40, 0x00}}},
		{"floor limit above", 100001, nil, kernel.Indicators{FloorLimitExceeded: true, TTQ: []byte{0x26, 0x80, 0x40, 0x00}}},
		{"CVM limit below", 299999, nil, kernel.Indicators{FloorLimitExceeded: true, TTQ: []byte{0x26, 0x80, 0x40, 0x00}}},
		{"CVM limit at", 300000, nil, kernel.Indicators{FloorLimitExceeded: true, CVMRequiredLimitExceeded: true, TTQ: []byte{0x26, 0xC0, 0x40, 0x00}}},
		{"transaction limit below", 4999999, nil, kernel.Indicators{FloorLimitExceeded: true, CVMRequiredLimitExceeded: true, TTQ: []byte{0x26, 0xC0, 0x40, 0x00}}},
		{"transaction limit at", 5000000, nil, kernel.Indicators{ContactlessNotAllowed: true, FloorLimitExceeded: true, CVMRequiredLimitExceeded: true, TTQ: []byte{0x26, 0xC0, 0x40, 0x00}}},
		{"zero amount online reader", 0, nil, kernel.Indicators{ZeroAmount: true, TTQ: []byte{0x26, 0x80, 0x40, 0x00}}},
		{"zero amount offline-only reader", 0, func(c *kernel.Combination) { c.TTQ = []byte{0x3E, 0x00, 0x40, 0x00} },
			kernel.Indicators{ZeroAmount: true, ContactlessNotAllowed: true, TTQ: []byte{0x3E, 0x00, 0x40, 0x00}}},
		{"zero amount not allowed", 0, func(c *kernel.Combination) { f := false; c.ZeroAmountAllowed = &f },
			kernel.Indicators{ContactlessNotAllowed: true, TTQ: []byte{0x26, 0x00, 0x40, 0x00}}},
		{"status check", 100, func(c *kernel.Combination) { c.StatusCheck = true },
			kernel.Indicators{StatusCheckRequested: true, TTQ: []byte{0x26, 0x80, 0x40, 0x00}}},
		{"status check other amount", 101, func(c *kernel.Combination) { c.StatusCheck = true },
			kernel.Indicators{TTQ: []byte{0x26, 0x00, 0x40, 0x00}}},
		{"terminal floor limit when no reader floor limit", 2001, func(c *kernel.Combination) { c.FloorLimit = nil; c.TerminalFloorLimit = i64(2000) },
			kernel.Indicators{FloorLimitExceeded: true, TTQ: []byte{0x26, 0x80, 0x40, 0x00}}},
		{"configured TTQ online bits are cleared", 500, func(c *kernel.Combination) { c.TTQ = []byte{0x26, 0xC0, 0x40, 0x00} },
			kernel.Indicators{TTQ: []byte{0x26, 0x00, 0x40, 0x00}}},
		{"absent limits", 9999999999, func(c *kernel.Combination) { c.TransactionLimit, c.FloorLimit, c.CVMRequiredLimit = nil, nil, nil },
			kernel.Indicators{TTQ: []byte{0x26, 0x00, 0x40, 0x00}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(t)
			if tt.comb != nil {
				tt.comb(&cfg.Combinations[0])
			}
			e, err := entry.New(cfg)
			require.NoError(t, err)
			_, err = e.Start(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, kernel.Transaction{Amount: tt.amount})
			require.NoError(t, err)
			got, ok := e.Indicators(0)
			require.True(t, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestTryAnotherInterface: when pre-processing allows no combination
// (Book B 3.1.1.13) the card is not even read.
func TestTryAnotherInterface(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Combinations[1].TransactionLimit = i64(5000000)
	card := &kerneltest.Reader{Respond: func([]byte) ([]byte, error) { t.Fatal("card read"); return nil, nil }}
	out, err := entry.Run(context.Background(), card, cfg, kernel.Transaction{Amount: 5000000})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAnotherInterface, out.Type)
	require.Equal(t, kernel.L2NotAllowed, out.Error)
	require.Equal(t, kernel.UIRequest{Message: kernel.MsgInsertOrSwipe, Status: kernel.StatusProcessingError}, *out.UIOnOutcome)
	require.Equal(t, []kernel.UIRequest{*out.UIOnOutcome}, out.UIRequests, "no Present Card")

	// A transaction type no combination serves.
	cfg = baseConfig(t)
	for i := range cfg.Combinations {
		cfg.Combinations[i].TransactionTypes = []kernel.TxnType{kernel.Purchase}
	}
	out, err = entry.Run(context.Background(), card, cfg, kernel.Transaction{Amount: 100, Type: kernel.Cash})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAnotherInterface, out.Type)
}

// TestNoCandidates: no PPSE, or no matching application, ends the
// transaction with "Insert, Swipe or Try Another Card" (Book B 3.3.2.7).
func TestNoCandidates(t *testing.T) {
	unknown := visa(t)
	unknown.AIDBytes = kerneltest.MustHex("F0000000011010")
	for name, card := range map[string]*kerneltest.Card{
		"no PPSE":     {Apps: []kerneltest.App{visa(t)}, NoPPSE: true},
		"unknown AID": {Apps: []kerneltest.App{unknown}},
		"empty PPSE":  {},
		"bad PPSE":    {PPSE: kerneltest.MustHex("6F 05 84 03")},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := entry.Run(context.Background(), card, baseConfig(t), kernel.Transaction{Amount: 500})
			require.NoError(t, err)
			require.Equal(t, kernel.EndApplication, out.Type, out.String())
			require.Equal(t, kernel.L2NoCandidates, out.Error)
			require.Equal(t, kernel.UIRequest{Message: kernel.MsgTryAnotherCard, Status: kernel.StatusReadyToRead}, *out.UIOnOutcome)
			require.Equal(t, kernel.MsgPresentCard, out.UIRequests[0].Message)
			require.NotContains(t, out.Reason, "not allowed contactless")
		})
	}
}

// limitVisa sets the Visa combinations' transaction limit at amount and the
// others' well above it.
func limitVisa(cfg *kernel.Config, amount int64) {
	for i := range cfg.Combinations {
		if bytes.HasPrefix(cfg.Combinations[i].AID, kerneltest.MustHex("A000000003")) {
			cfg.Combinations[i].TransactionLimit = i64(amount)
		} else {
			cfg.Combinations[i].TransactionLimit = i64(amount * 10)
		}
	}
}

// TestNoCandidatesNotAllowed: the card's only application is under a
// combination pre-processing did not allow (its transaction limit), while
// another combination is allowed: no candidate, and the reason says why.
func TestNoCandidatesNotAllowed(t *testing.T) {
	cfg := baseConfig(t)
	amount := int64(2000000)
	limitVisa(&cfg, amount)
	card := &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}
	out, err := entry.Run(context.Background(), card, cfg, kernel.Transaction{Amount: amount})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2NoCandidates, out.Error)
	require.Contains(t, out.Reason, "not allowed contactless for this transaction")
}

// One Entry Point runs transactions one after the other: nothing of one
// carries over to the next (here, that the card's applications were not
// allowed for the first one's amount).
func TestTransactionsInARow(t *testing.T) {
	cfg := baseConfig(t)
	amount := int64(2000000)
	limitVisa(&cfg, amount)
	e, err := entry.New(cfg)
	require.NoError(t, err)
	card := &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}
	out, err := e.Start(context.Background(), card, kernel.Transaction{Amount: amount})
	require.NoError(t, err)
	require.Contains(t, out.Reason, "not allowed contactless for this transaction")

	// A card whose PPSE does not parse: no candidate, for that reason
	// alone.
	out, err = e.Start(context.Background(), &kerneltest.Card{PPSE: kerneltest.MustHex("6F 05 84 03")}, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.L2NoCandidates, out.Error)
	require.NotContains(t, out.Reason, "not allowed contactless")

	// And the card again, under the limit: an online request as on a
	// fresh Entry Point.
	out, err = e.Start(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	fresh, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, cfg, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, fresh.Type, out.Type, out.String())
	require.Equal(t, fresh.Reason, out.Reason)
	require.Equal(t, fresh.UIRequests, out.UIRequests)
}

// ppseEntry builds a directory entry.
func ppseEntry(aid string, prio int, kernelID []byte) tlv.TLV {
	e := tlv.TLV{Tag: 0x61, Children: []tlv.TLV{{Tag: 0x4F, Value: kerneltest.MustHex(aid)}}}
	if prio >= 0 {
		e.Children = append(e.Children, tlv.TLV{Tag: 0x87, Value: []byte{byte(prio)}})
	}
	if kernelID != nil {
		e.Children = append(e.Children, tlv.TLV{Tag: 0x9F2A, Value: kernelID})
	}
	return e
}

func ppse(entries ...tlv.TLV) []byte {
	b, err := tlv.EncodeConstructed(0x6F, tlv.TLV{Tag: 0x84, Value: []byte(apdu.PPSE)},
		tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{{Tag: 0xBF0C, Children: entries}}})
	if err != nil {
		panic(err)
	}
	return b
}

// selected returns the AID of the first SELECT after the PPSE, or "".
func selected(r *kerneltest.Reader) string {
	for _, c := range r.Commands() {
		if strings.HasPrefix(c, "00A40400") && !strings.Contains(c, hex.EncodeToString([]byte(apdu.PPSE))[:8]) {
			return c[10 : len(c)-2]
		}
	}
	return ""
}

// TestCombinationSelection: matching (full and partial AID), the Kernel
// Identifier, and priority (Book B 3.3.2.5, 3.3.3.2).
func TestCombinationSelection(t *testing.T) {
	tests := []struct {
		name    string
		entries []tlv.TLV
		want    string
	}{
		{"priority wins", []tlv.TLV{ppseEntry("A0000000031010", 2, []byte{3}), ppseEntry("A0000000041010", 1, []byte{2})}, "A0000000041010"},
		{"no priority is lowest", []tlv.TLV{ppseEntry("A0000000031010", -1, nil), ppseEntry("A0000000041010", 5, nil)}, "A0000000041010"},
		{"zero priority is lowest", []tlv.TLV{ppseEntry("A0000000031010", 0, nil), ppseEntry("A0000000041010", 15, nil)}, "A0000000041010"},
		{"equal priority: PPSE order", []tlv.TLV{ppseEntry("A0000000041010", 1, nil), ppseEntry("A0000000031010", 1, nil)}, "A0000000041010"},
		{"priority bits above b4 ignored", []tlv.TLV{ppseEntry("A0000000031010", 0x81, nil), ppseEntry("A0000000041010", 2, nil)}, "A0000000031010"},
		{"partial match", []tlv.TLV{ppseEntry("A000000003101001", 1, []byte{3})}, "A000000003101001"},
		{"kernel mismatch skipped", []tlv.TLV{ppseEntry("A0000000031010", 1, []byte{2}), ppseEntry("A0000000041010", 2, []byte{2})}, "A0000000041010"},
		{"kernel zero matches", []tlv.TLV{ppseEntry("A0000000031010", 1, []byte{0})}, "A0000000031010"},
		{"domestic kernel id skipped", []tlv.TLV{ppseEntry("A0000000031010", 1, []byte{0x83, 0x01}), ppseEntry("A0000000041010", 2, nil)}, "A0000000041010"},
		{"short ADF name skipped", []tlv.TLV{ppseEntry("A000000003", 1, nil), ppseEntry("A0000000041010", 2, nil)}, "A0000000041010"},
		{"shorter than the reader AID", []tlv.TLV{ppseEntry("A00000000310", 1, nil), ppseEntry("A0000000041010", 2, nil)}, "A0000000041010"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kerneltest.Table(map[string]string{
				"00A404000E325041592E5359532E444446303100": hex.EncodeToString(ppse(tt.entries...)) + "9000",
				"00A40400*": "6A82",
			})
			out, err := entry.Run(context.Background(), r, baseConfig(t), kernel.Transaction{Amount: 500})
			require.NoError(t, err)
			require.Equal(t, tt.want, selected(r))
			require.Equal(t, kernel.EndApplication, out.Type, "every SELECT fails")
		})
	}
}

// TestSelectFailureNextCandidate: a SELECT (AID) that fails removes the
// candidate (Book B 3.3.3.5).
func TestSelectFailureNextCandidate(t *testing.T) {
	m := mchip(t)
	v := visa(t)
	p := ppse(ppseEntry("A0000000041010", 1, []byte{2}), ppseEntry("A0000000031010", 2, []byte{3}))
	card := &kerneltest.Card{PPSE: p, Apps: []kerneltest.App{&selectFails{m}, v}}
	out, err := entry.Run(context.Background(), card, baseConfig(t), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, byte(3), out.KernelID)
}

type selectFails struct{ kerneltest.App }

func (s *selectFails) Command(cmd apdu.Command) apdu.Response {
	if cmd.INS == 0xA4 {
		return apdu.Response{SW: apdu.SW6A81}
	}
	return s.App.Command(cmd)
}

// TestVisaWithoutTTQInPDOL: Book B 3.3.3.6: a Visa AID for kernel 3 whose
// PDOL lacks the TTQ needs kernel 1; without it the candidate is dropped.
func TestVisaWithoutTTQInPDOL(t *testing.T) {
	fci, err := tlv.EncodeConstructed(0x6F, tlv.TLV{Tag: 0x84, Value: kerneltest.MustHex("A0000000031010")},
		tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{{Tag: 0x9F38, Value: kerneltest.MustHex("9F0206")}}})
	require.NoError(t, err)
	r := kerneltest.Table(map[string]string{
		"00A404000E325041592E5359532E444446303100": hex.EncodeToString(ppse(ppseEntry("A0000000031010", 1, []byte{3}))) + "9000",
		"00A4040007A000000003101000":               hex.EncodeToString(fci) + "9000",
	})
	out, err := entry.Run(context.Background(), r, baseConfig(t), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Len(t, r.Commands(), 2, "no GET PROCESSING OPTIONS")
}

// TestSelectNext: a kernel's Select Next moves to the next candidate.
func TestSelectNext(t *testing.T) {
	v := visa(t)
	v.GPOStatus = apdu.SW6985
	m := mchip(t)
	zero := []byte{0, 0, 0, 0, 0}
	m.IACDefault, m.IACDenial, m.IACOnline = zero, zero, zero
	require.NoError(t, m.Build())
	p := ppse(ppseEntry("A0000000031010", 1, []byte{3}), ppseEntry("A0000000041010", 2, []byte{2}))
	card := &kerneltest.Card{PPSE: p, Apps: []kerneltest.App{v, m}}
	out, err := entry.Run(context.Background(), card, baseConfig(t), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, byte(2), out.KernelID)
}

// TestCommunicationErrorDuringSelection: Book B 3.3.3.7, back to Start B;
// the terminal presents the card again and Restart completes.
func TestCommunicationErrorDuringSelection(t *testing.T) {
	v := visa(t)
	card := &kerneltest.Card{Apps: []kerneltest.App{v}, RemoveAfter: 1}
	e, err := entry.New(baseConfig(t))
	require.NoError(t, err)
	out, err := e.Start(context.Background(), card, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAgain, out.Type)
	require.Equal(t, kernel.StartB, out.Start)
	require.Equal(t, kernel.L2CommunicationError, out.Error)

	card.RemoveAfter = 0
	card.Reset()
	out, err = e.Restart(context.Background(), card)
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead}, out.UIRequests[0])
	require.Equal(t, out, e.LastOutcome())
}

func TestReaderFault(t *testing.T) {
	fault := errors.New("reader unplugged")
	r := &kerneltest.Reader{Respond: func([]byte) ([]byte, error) { return nil, fault }}
	_, err := entry.Run(context.Background(), r, baseConfig(t), kernel.Transaction{Amount: 500})
	require.ErrorIs(t, err, fault)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = entry.Run(ctx, &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, baseConfig(t), kernel.Transaction{Amount: 500})
	require.ErrorIs(t, err, context.Canceled)
}

func TestArguments(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Combinations = nil
	_, err := entry.New(cfg)
	require.ErrorIs(t, err, kernel.ErrConfig)

	e, err := entry.New(baseConfig(t))
	require.NoError(t, err)
	_, err = e.Restart(context.Background(), &kerneltest.Card{})
	require.ErrorIs(t, err, entry.ErrNotStarted)
	_, err = e.Start(context.Background(), &kerneltest.Card{}, kernel.Transaction{Amount: -1})
	require.ErrorIs(t, err, kernel.ErrTransaction)
	_, ok := e.Indicators(5)
	require.False(t, ok)
}

// TestTraceAndUI: the trace sees every exchange, the UI sink every request.
func TestTraceAndUI(t *testing.T) {
	cfg := baseConfig(t)
	var trace []kernel.Exchange
	var ui []kernel.UIRequest
	cfg.Trace = func(x kernel.Exchange) { trace = append(trace, x) }
	cfg.UI = func(u kernel.UIRequest) { ui = append(ui, u) }
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, cfg, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, out.UIRequests, ui)
	// PPSE, SELECT, GPO, three READ RECORDs.
	require.Len(t, trace, 6)
	require.Equal(t, "00A404000E325041592E5359532E444446303100", strings.ToUpper(hex.EncodeToString(trace[0].C)))
	for _, x := range trace {
		require.NoError(t, x.Err)
		require.GreaterOrEqual(t, len(x.R), 2)
	}
}

// TestDateFromClock: a transaction without a date takes the clock's.
func TestDateFromClock(t *testing.T) {
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, baseConfig(t), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, []byte{0x25, 0x03, 0x01}, out.Record(0x9A))
	require.Equal(t, []byte{0x10, 0x30, 0x00}, out.Record(0x9F21))

	d := time.Date(2026, 7, 8, 9, 10, 11, 0, time.UTC)
	out, err = entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, baseConfig(t), kernel.Transaction{Amount: 500, Date: d})
	require.NoError(t, err)
	require.Equal(t, []byte{0x26, 0x07, 0x08}, out.Record(0x9A))
}

// TestNoKernel: a combination whose kernel the Entry Point does not have is
// dropped.
func TestNoKernel(t *testing.T) {
	e, err := entry.New(baseConfig(t), onlyKernel{id: 9})
	require.NoError(t, err)
	out, err := e.Start(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}}, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type)
}

type onlyKernel struct{ id byte }

func (k onlyKernel) ID() byte { return k.id }
func (k onlyKernel) Activate(context.Context, *kernel.Activation) (kernel.Outcome, error) {
	return kernel.Outcome{Type: kernel.Approved}, nil
}

// TestKernelIdentifier: Book B 3.3.2.5 C, the Requested Kernel ID from tag
// 9F2A or, when absent, from the RID (Table 3-6).
func TestKernelIdentifier(t *testing.T) {
	tests := []struct {
		name    string
		aid     string
		ki      []byte
		kernel  byte
		matches bool
	}{
		{"absent, Visa RID", "A0000000031010", nil, 3, true},
		{"absent, Mastercard RID", "A0000000041010", nil, 2, true},
		{"absent, Mastercard RID, kernel 3 combination", "A0000000041010", nil, 3, false},
		{"absent, Amex RID", "A00000002501", nil, 4, true},
		{"absent, JCB RID", "A0000000651010", nil, 5, true},
		{"absent, Discover RID", "A0000001523010", nil, 6, true},
		{"absent, UnionPay RID", "A000000333010101", nil, 7, true},
		{"absent, unknown RID: kernel 0 fits any", "F0000000011010", nil, 3, true},
		{"empty value", "A0000000031010", []byte{}, 3, true},
		{"b8b7 01 is kept whole", "A0000000031010", []byte{0x43}, 3, false},
		{"domestic, too short", "A0000000031010", []byte{0x83, 0x01}, 3, false},
		{"domestic, 3 bytes", "A0000000031010", []byte{0x83, 0x01, 0x02}, 3, false},
		{"domestic, short id zero", "A0000000031010", []byte{0x80, 0x01, 0x02}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.Combinations = []kernel.Combination{{AID: kerneltest.MustHex(tt.aid)[:5], KernelID: tt.kernel, TTQ: []byte{0x36, 0, 0x40, 0}}}
			entryTLV := ppseEntry(tt.aid, 1, nil)
			if tt.ki != nil {
				entryTLV.Children = append(entryTLV.Children, tlv.TLV{Tag: 0x9F2A, Value: tt.ki})
			}
			r := kerneltest.Table(map[string]string{
				"00A404000E325041592E5359532E444446303100": hex.EncodeToString(ppse(entryTLV)) + "9000",
				"00A40400*": "6A82",
			})
			_, err := entry.Run(context.Background(), r, cfg, kernel.Transaction{Amount: 500})
			require.NoError(t, err)
			require.Equal(t, tt.matches, selected(r) == tt.aid, "selected %q", selected(r))
		})
	}
}

func TestConfigCopy(t *testing.T) {
	cfg := baseConfig(t)
	e, err := entry.New(cfg)
	require.NoError(t, err)
	*cfg.Combinations[0].FloorLimit = 1
	require.Equal(t, int64(100000), *e.Config().Combinations[0].FloorLimit, "the Entry Point keeps its own copy")
}

// stayKernel is a kernel whose Online Request asks for a restart at Start D
// with any online response: the card stays in the field while the host
// answers. Restarted, it reports what it was given.
type stayKernel struct {
	activations []*kernel.Activation
}

func (*stayKernel) ID() byte { return 2 }

func (k *stayKernel) Activate(_ context.Context, a *kernel.Activation) (kernel.Outcome, error) {
	k.activations = append(k.activations, a)
	if a.OnlineResponse == nil {
		return kernel.Outcome{Type: kernel.OnlineRequest, Start: kernel.StartD, OnlineResponseData: kernel.OnlineResponseAny,
			UIOnRestart: &kernel.UIRequest{Message: kernel.MsgProcessing}}, nil
	}
	if a.OnlineResponse.Approved {
		return kernel.Outcome{Type: kernel.Approved}, nil
	}
	return kernel.Outcome{Type: kernel.Declined}, nil
}

// TestRestartOnlineStartD: at Start D the Entry Point activates the kernel
// that ran again at once, with the online response, without a new SELECT;
// the restart's UI Request is sent first.
func TestRestartOnlineStartD(t *testing.T) {
	k := &stayKernel{}
	ep, err := entry.New(baseConfig(t), k)
	require.NoError(t, err)
	m := mchip(t)
	r := &kerneltest.Card{Apps: []kerneltest.App{m}}
	out, err := ep.Start(context.Background(), r, kernel.Transaction{Amount: 1000})
	require.NoError(t, err)
	require.Equal(t, kernel.StartD, out.Start)
	require.Len(t, k.activations, 1)

	var cmds int
	tr := &kerneltest.Reader{Respond: func(capdu []byte) ([]byte, error) {
		cmds++
		return []byte{0x90, 0x00}, nil
	}}
	out, err = ep.RestartOnline(context.Background(), tr, kernel.OnlineResponse{Approved: true, ARC: []byte("00")})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type)
	require.Zero(t, cmds, "no PPSE, no SELECT at Start D")
	require.Len(t, k.activations, 2)
	a := k.activations[1]
	require.True(t, a.Restart)
	require.Equal(t, k.activations[0].FCI, a.FCI, "the first selection's FCI")
	require.Equal(t, []byte("00"), a.OnlineResponse.ARC)
	require.Equal(t, kernel.MsgProcessing, out.UIRequests[0].Message)

	// Restart refused before any transaction.
	ep2, err := entry.New(baseConfig(t), k)
	require.NoError(t, err)
	_, err = ep2.RestartOnline(context.Background(), tr, kernel.OnlineResponse{})
	require.ErrorIs(t, err, entry.ErrNotStarted)
}

// watchReader is a card in the field that can tell when it leaves: it stays
// stay long, and records the timeouts the Entry Point waited with.
type watchReader struct {
	kernel.Reader
	stay     time.Duration
	timeouts []time.Duration
	err      error
}

func (w *watchReader) WaitRemoved(_ context.Context, timeout time.Duration) (bool, error) {
	w.timeouts = append(w.timeouts, timeout)
	return w.stay <= timeout, w.err
}

// TestRemovalTimeout: the reader's Removal Timeout goes on the final
// outcome and the Entry Point waits for the card to leave (Book A section
// 6.2); a card still there at the end is reported. An Online Request that
// keeps the card for Start D does not wait; its final outcome does.
func TestRemovalTimeout(t *testing.T) {
	cfg := baseConfig(t)
	cfg.RemovalTimeout = 5 * time.Second
	for _, tc := range []struct {
		stay    time.Duration
		notGone bool
	}{{2 * time.Second, false}, {5 * time.Second, false}, {6 * time.Second, true}} {
		w := &watchReader{Reader: &kerneltest.Card{Apps: []kerneltest.App{mchip(t)}}, stay: tc.stay}
		out, err := entry.Run(context.Background(), w, cfg, kernel.Transaction{Amount: 1000})
		require.NoError(t, err)
		require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
		require.Equal(t, kernel.StartNA, out.Start)
		require.Equal(t, 5*time.Second, out.RemovalTimeout)
		require.Equal(t, []time.Duration{5 * time.Second}, w.timeouts)
		require.Equal(t, tc.notGone, out.CardNotRemoved, "stay %v", tc.stay)
	}

	// A reader that cannot watch the field: the parameter, no wait.
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{mchip(t)}}, cfg, kernel.Transaction{Amount: 1000})
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, out.RemovalTimeout)
	require.False(t, out.CardNotRemoved)

	// The reader failing while it watches ends the transaction with the
	// error.
	fault := errors.New("reader unplugged")
	w := &watchReader{Reader: &kerneltest.Card{Apps: []kerneltest.App{mchip(t)}}, err: fault}
	_, err = entry.Run(context.Background(), w, cfg, kernel.Transaction{Amount: 1000})
	require.ErrorIs(t, err, fault)

	// Start D: no wait while the card must stay, a wait after the
	// restart's final outcome.
	k := &stayKernel{}
	ep, err := entry.New(cfg, k)
	require.NoError(t, err)
	w = &watchReader{Reader: &kerneltest.Card{Apps: []kerneltest.App{mchip(t)}}, stay: time.Minute}
	out, err = ep.Start(context.Background(), w, kernel.Transaction{Amount: 1000})
	require.NoError(t, err)
	require.Equal(t, kernel.StartD, out.Start)
	require.Empty(t, w.timeouts)
	require.Zero(t, out.RemovalTimeout)
	out, err = ep.RestartOnline(context.Background(), w, kernel.OnlineResponse{Approved: true, ARC: []byte("00")})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type)
	require.Equal(t, []time.Duration{5 * time.Second}, w.timeouts)
	require.True(t, out.CardNotRemoved)
}
