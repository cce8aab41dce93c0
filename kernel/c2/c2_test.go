package c2_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/datastorage"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

const (
	pan    = "5413330089010012"
	expiry = "301231"
)

var today = time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)

// newCard returns an M/Chip test card whose IACs let the TACs decide
// (IAC-Online, -Denial and -Default all zero).
func newCard(t *testing.T, change func(m *kerneltest.MChip)) *kerneltest.MChip {
	t.Helper()
	m, err := kerneltest.NewMChip(pan, expiry)
	require.NoError(t, err)
	zero := []byte{0, 0, 0, 0, 0}
	m.IACDefault, m.IACDenial, m.IACOnline = zero, zero, zero
	if change != nil {
		change(m)
	}
	require.NoError(t, m.Build())
	return m
}

// phone is an M/Chip card with on-device cardholder verification.
func phone(verified bool) func(m *kerneltest.MChip) {
	return func(m *kerneltest.MChip) {
		m.AIP = []byte{0x1B, 0x80}
		m.Verified = verified
	}
}

func config(m *kerneltest.MChip, change func(*kernel.Config)) kernel.Config {
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = m.PKI().CAPublicKeys()
	cfg.Clock = kernel.FixedClock(today)
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{0xA1, 0xB2, 0xC3, 0xD4})
	if change != nil {
		change(&cfg)
	}
	return cfg
}

func mc(c *kernel.Config) *kernel.Combination { return &c.Combinations[1] }

func tap(t *testing.T, m *kerneltest.MChip, amount int64, change func(*kernel.Config)) kernel.Outcome {
	t.Helper()
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{m}}, config(m, change), kernel.Transaction{Amount: amount})
	require.NoError(t, err)
	return out
}

func TestApprovedWithCDA(t *testing.T) {
	m := newCard(t, nil)
	out := tap(t, m, 50000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.CVMNone, out.CVM)
	require.Equal(t, kernel.ODAResult{Method: "CDA", Status: kernel.ODAPassed}, out.ODA)
	require.Equal(t, [3]byte{0x1F, 0x03, 0x02}, out.CVMResults, "No CVM from the CVM List")
	require.Equal(t, kernel.TVR{0, 0, 0, 0, 0x01}, out.TVR, "only relay resistance not performed")
	require.Equal(t, apdu.TC|apdu.CDARequest, m.LastP1, "TC with CDA asked")
	require.Equal(t, []kernel.MessageID{kernel.MsgPresentCard, kernel.MsgCardReadOK, kernel.MsgApproved}, messagesOf(out))
	require.Equal(t, 1300*time.Millisecond, out.UIOnOutcome.Hold)
	// The cryptogram recovered from the CDA signature is in the record.
	require.Len(t, out.Record(0x9F26), 8)
	for _, tag := range []tlv.Tag{0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F34, 0x9F33, 0x9F35, 0x84, 0x9F09, 0x5A, 0x57, 0x5F24, 0x5F34, 0x9F7E} {
		require.NotNil(t, out.Record(tag), "data record tag %s", tag)
	}
	require.Equal(t, []byte{0x00, 0x08, 0x08}, out.Record(0x9F33), "CVM capability below the CVM required limit")
}

func messagesOf(o kernel.Outcome) []kernel.MessageID {
	var out []kernel.MessageID
	for _, u := range o.UIRequests {
		out = append(out, u.Message)
	}
	return out
}

// TestFloorLimit: above the Reader Contactless Floor Limit (amount > limit)
// the TVR says so and TAC-Online sends the card online.
func TestFloorLimit(t *testing.T) {
	for _, tt := range []struct {
		amount int64
		want   kernel.OutcomeType
	}{
		{99999, kernel.Approved},
		{100000, kernel.Approved}, // at the limit: not exceeded
		{100001, kernel.OnlineRequest},
	} {
		m := newCard(t, nil)
		out := tap(t, m, tt.amount, nil)
		require.Equal(t, tt.want, out.Type, "amount %d: %s", tt.amount, out)
		require.Equal(t, tt.amount > 100000, out.TVR.Has(kernel.TVRFloorLimitExceeded))
	}
}

// TestCVMRequiredLimit (R-S2d): above the no-signature limit (amount >
// DF8126) the terminal's CVM capability changes to DF8118 and a CVM is
// required; at or below it no CVM is needed.
func TestCVMRequiredLimit(t *testing.T) {
	tests := []struct {
		name    string
		amount  int64
		cap     []byte // DF8118
		cvm     kernel.CVM
		res     [3]byte
		receipt bool
		tvr     kernel.TVRBit
	}{
		{"below: no CVM", 299999, nil, kernel.CVMNone, [3]byte{0x1F, 0x03, 0x02}, false, 0},
		{"at: no CVM", 300000, nil, kernel.CVMNone, [3]byte{0x1F, 0x03, 0x02}, false, 0},
		{"R-S2d above: online PIN", 300001, nil, kernel.CVMOnlinePIN, [3]byte{0x42, 0x03, 0x00}, true, kernel.TVROnlinePINEntered},
		{"R-S2d above: signature only", 400000, []byte{0x20}, kernel.CVMSignature, [3]byte{0x1E, 0x03, 0x00}, true, 0},
		{"R-S2d above: nothing supported", 400000, []byte{0x00}, kernel.CVMNone, [3]byte{0x3F, 0x00, 0x01}, true, kernel.TVRCVMFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCard(t, nil)
			out := tap(t, m, tt.amount, func(c *kernel.Config) {
				if tt.cap != nil {
					mc(c).CVMCapabilityCVMRequired = tt.cap
				}
			})
			require.Equal(t, tt.cvm, out.CVM, out.String())
			require.Equal(t, tt.res, out.CVMResults)
			require.Equal(t, tt.receipt, out.Receipt)
			require.Equal(t, tt.res[:], out.Record(0x9F34))
			require.Equal(t, tt.res[:], m.LastCDOL1[0x9F34], "CVM Results sent in CDOL1")
			if tt.tvr != 0 {
				require.True(t, out.TVR.Has(tt.tvr), out.TVR.String())
			}
			if tt.cvm == kernel.CVMOnlinePIN {
				require.Equal(t, kernel.MsgEnterPIN, out.UIOnOutcome.Message)
			}
		})
	}
}

// TestCVMListConditions: CV Rule conditions of EMV Book 3 Annex C3 with
// amounts X and Y in the application currency.
func TestCVMListConditions(t *testing.T) {
	// X = 350000; online PIN if over X; signature if under X.
	list := kerneltest.MustHex("00055730 00000000 4207 1E06")
	tests := []struct {
		name     string
		amount   int64
		currency []byte
		list     []byte
		aip      []byte
		cvm      kernel.CVM
		res      [3]byte
		tvr      []kernel.TVRBit
	}{
		{"over X", 400000, nil, list, nil, kernel.CVMOnlinePIN, [3]byte{0x42, 0x07, 0x00}, nil},
		{"under X", 320000, nil, list, nil, kernel.CVMSignature, [3]byte{0x1E, 0x06, 0x00}, nil},
		{"other currency: no amount rule applies", 400000, []byte{0x08, 0x40}, list, nil, kernel.CVMNone, [3]byte{0x3F, 0x00, 0x01}, []kernel.TVRBit{kernel.TVRCVMFailed}},
		{"no CVM List", 400000, nil, []byte{}, nil, kernel.CVMNone, [3]byte{0x3F, 0x00, 0x00}, []kernel.TVRBit{kernel.TVRICCDataMissing}},
		{"AIP without cardholder verification", 400000, nil, list, []byte{0x09, 0x80}, kernel.CVMNone, [3]byte{0x3F, 0x00, 0x00}, nil},
		{"unrecognised CVM, no fallback", 400000, nil, kerneltest.MustHex("00000000 00000000 2000 1F00"), nil, kernel.CVMNone, [3]byte{0x3F, 0x00, 0x01}, []kernel.TVRBit{kernel.TVRUnrecognisedCVM, kernel.TVRCVMFailed}},
		{"unrecognised CVM, next rule", 100, nil, kerneltest.MustHex("00000000 00000000 6000 1F00"), nil, kernel.CVMNone, [3]byte{0x1F, 0x00, 0x02}, []kernel.TVRBit{kernel.TVRUnrecognisedCVM}},
		{"fail CVM", 400000, nil, kerneltest.MustHex("00000000 00000000 0000"), nil, kernel.CVMNone, [3]byte{0x00, 0x00, 0x01}, []kernel.TVRBit{kernel.TVRCVMFailed}},
		{"offline PIN cannot run", 400000, nil, kerneltest.MustHex("00000000 00000000 4100 1E00"), nil, kernel.CVMSignature, [3]byte{0x1E, 0x00, 0x00}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCard(t, func(m *kerneltest.MChip) {
				m.CVMList = tt.list
				m.Currency = tt.currency
				if tt.aip != nil {
					m.AIP = tt.aip
				}
			})
			out := tap(t, m, tt.amount, nil)
			require.Equal(t, tt.cvm, out.CVM, out.String())
			require.Equal(t, tt.res, out.CVMResults, out.String())
			for _, b := range tt.tvr {
				require.True(t, out.TVR.Has(b), "%s in %s", b.Name(), out.TVR)
			}
		})
	}
}

// TestTransactionLimits: a plastic card is held to DF8124, a phone with
// on-device CVM to DF8125; the amount may equal the limit (Book C-2
// compares amount > limit) and above it the kernel asks for the next
// application, of which there is none.
func TestTransactionLimits(t *testing.T) {
	tests := []struct {
		name   string
		card   func(m *kerneltest.MChip)
		amount int64
		over   bool
	}{
		{"plastic at DF8124", nil, 5000000, false},
		{"plastic above DF8124", nil, 5000001, true},
		{"phone above DF8124 below DF8125", phone(true), 5000001, false},
		{"phone at DF8125", phone(true), 10000000, false},
		{"phone above DF8125", phone(true), 10000001, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCard(t, tt.card)
			out := tap(t, m, tt.amount, nil)
			if tt.over {
				require.Equal(t, kernel.EndApplication, out.Type, out.String())
				require.Equal(t, kernel.MsgTryAnotherCard, out.UIOnOutcome.Message)
				require.Zero(t, m.LastP1, "no GENERATE AC")
				return
			}
			require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
		})
	}

	// Without on-device CVM support in the kernel a phone is a plastic card.
	m := newCard(t, phone(true))
	out := tap(t, m, 5000001, func(c *kernel.Config) { mc(c).KernelConfiguration = []byte{0x80} })
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
}

// TestPhoneOnDeviceCVM: a phone that verified its holder gets CDCVM above
// the CVM required limit; below it, no CVM (R-S2d).
func TestPhoneOnDeviceCVM(t *testing.T) {
	m := newCard(t, phone(true))
	out := tap(t, m, 400000, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, kernel.CVMConfirmationCode, out.CVM)
	require.Equal(t, [3]byte{0x01, 0x00, 0x02}, out.CVMResults)
	require.Equal(t, []byte{0x03}, m.LastCDOL1[0x9F7E], "mobile supported, OD-CVM required")

	m = newCard(t, phone(false))
	out = tap(t, m, 50000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.CVMNone, out.CVM)
	require.Equal(t, [3]byte{0x3F, 0x00, 0x02}, out.CVMResults)
	require.Equal(t, []byte{0x01}, m.LastCDOL1[0x9F7E], "mobile supported only")
}

// TestSeePhone: an unverified phone above the CVM limit answers AAC with
// PCII "OD-CVM required": End Application, Start B, "See Phone". After the
// holder verifies, the second tap goes through with CDCVM.
func TestSeePhone(t *testing.T) {
	m := newCard(t, phone(false))
	card := &kerneltest.Card{Apps: []kerneltest.App{m}}
	e, err := entry.New(config(m, nil))
	require.NoError(t, err)
	out, err := e.Start(context.Background(), card, kernel.Transaction{Amount: 400000})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.StartB, out.Start)
	require.Equal(t, kernel.UIRequest{Message: kernel.MsgSeePhone, Status: kernel.StatusNotReady, Hold: 1300 * time.Millisecond}, *out.UIOnOutcome)
	require.Equal(t, kernel.UIRequest{Message: kernel.MsgSeePhone, Status: kernel.StatusReadyToRead}, *out.UIOnRestart)
	pcii, ok := out.DiscretionaryData.Find(0xDF4B)
	require.True(t, ok, "the PCII is in the discretionary data")
	require.Equal(t, []byte{0x00, 0x01, 0x00}, pcii.Value)

	m.Verified = true
	card.Reset()
	out, err = e.Restart(context.Background(), card)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, kernel.CVMConfirmationCode, out.CVM)
	require.Equal(t, kernel.MsgSeePhone, out.UIRequests[0].Message, "the retained UI Request on Restart")
}

// TestHCEPhoneBelowLimit (R-S2e): an HCE phone demands verification before
// every tap, whatever the amount. Below the CVM required limit the kernel
// does not ask for OD-CVM, but honours the phone's "See Phone"; after
// verification the tap completes (the kernel's CVM stays "No CVM" below the
// limit, as Book C-2 decides it before GENERATE AC; the phone's PCII
// reports the verification).
func TestHCEPhoneBelowLimit(t *testing.T) {
	m := newCard(t, func(m *kerneltest.MChip) {
		phone(false)(m)
		m.AlwaysCDCVM = true
	})
	card := &kerneltest.Card{Apps: []kerneltest.App{m}}
	e, err := entry.New(config(m, nil))
	require.NoError(t, err)
	out, err := e.Start(context.Background(), card, kernel.Transaction{Amount: 5000})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.MsgSeePhone, out.UIOnOutcome.Message)
	require.Equal(t, []byte{0x01}, m.LastCDOL1[0x9F7E], "the kernel did not ask for OD-CVM")

	m.Verified = true
	card.Reset()
	out, err = e.Restart(context.Background(), card)
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	pcii, ok := out.DiscretionaryData.Find(0xDF4B)
	require.True(t, ok)
	require.Equal(t, byte(0x10), pcii.Value[1]&0x10, "OD-CVM verification successful")
}

// TestPhoneMessageTable: the configured table chooses the message; a PCII
// without a second-tap bit is a plain decline.
func TestPhoneMessageTable(t *testing.T) {
	custom := []kernel.PhoneMessage{
		{Mask: kerneltest.MustHex("000100"), Value: kerneltest.MustHex("000100"), Message: kernel.MsgPresentCardAgain, Status: kernel.StatusNotReady},
	}
	m := newCard(t, phone(false))
	out := tap(t, m, 400000, func(c *kernel.Config) { mc(c).PhoneMessageTable = custom })
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.MsgPresentCardAgain, out.UIOnOutcome.Message)

	m = newCard(t, func(m *kerneltest.MChip) {
		m.Decide = func(byte, tlv.Map) byte { return 0x00 }
		m.MutateGAC = func(objs tlv.List) tlv.List {
			return append(objs, tlv.TLV{Tag: 0xDF4B, Value: []byte{0x00, 0x10, 0x00}})
		}
	})
	out = tap(t, m, 50000, nil)
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.Equal(t, kernel.MsgNotAuthorised, out.UIOnOutcome.Message)
}

// TestCDAFailures: a signature that does not verify ends the transaction
// with CDA failed in the TVR.
func TestCDAFailures(t *testing.T) {
	tests := []struct {
		name string
		card func(m *kerneltest.MChip)
	}{
		{"response changed after signing", func(m *kerneltest.MChip) {
			m.MutateGAC = func(objs tlv.List) tlv.List {
				for i := range objs {
					if objs[i].Tag == 0x9F10 {
						objs[i].Value = []byte{0x01, 0x10, 0xA0, 0, 0, 0, 0, 0, 0, 0x01}
					}
				}
				return objs
			}
		}},
		{"no signature", func(m *kerneltest.MChip) {
			m.MutateGAC = func(objs tlv.List) tlv.List {
				var out tlv.List
				for _, o := range objs {
					if o.Tag != 0x9F4B {
						out = append(out, o)
					}
				}
				return append(out, tlv.TLV{Tag: 0x9F26, Value: make([]byte, 8)})
			}
		}},
		{"static data changed", func(m *kerneltest.MChip) {
			m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
				if sfi == 1 {
					for i := range objs {
						if objs[i].Tag == 0x9F07 {
							objs[i].Value = []byte{0xFF, 0x00}
						}
					}
				}
				return objs
			}
		}},
		{"tampered ICC certificate", func(m *kerneltest.MChip) {
			m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
				for i := range objs {
					if objs[i].Tag == 0x9F46 {
						c := append([]byte(nil), objs[i].Value...)
						c[30] ^= 0x55
						objs[i].Value = c
					}
				}
				return objs
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCard(t, tt.card)
			out := tap(t, m, 50000, nil)
			require.Equal(t, kernel.EndApplication, out.Type, out.String())
			require.Equal(t, kernel.L2CAMFailed, out.Error)
			require.True(t, out.TVR.Has(kernel.TVRCDAFailed))
			require.Equal(t, kernel.ODAFailed, out.ODA.Status)
			require.NotEmpty(t, out.ODA.Reason)
		})
	}
}

// TestCDANotPossible: without the CA key CDA fails before GENERATE AC; the
// card is not asked to sign and TAC-Online sends it online; a phone (on-device
// CVM) gets an AAC both when its CDA failed (GAC.21-23) and when its AIP does
// not announce CDA (GAC.20, GAC.22-23).
func TestCDANotPossible(t *testing.T) {
	noKeys := func(c *kernel.Config) { c.CAPublicKeys = nil }
	m := newCard(t, nil)
	out := tap(t, m, 50000, noKeys)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.True(t, out.TVR.Has(kernel.TVRCDAFailed))
	require.Equal(t, apdu.ARQC, m.LastP1, "no CDA requested")

	m = newCard(t, phone(true))
	out = tap(t, m, 50000, noKeys)
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.Equal(t, apdu.AAC, m.LastP1)

	// Certificates missing: ICC data missing too.
	m = newCard(t, func(m *kerneltest.MChip) {
		m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
			if sfi == 2 && rec == 2 {
				return tlv.List{{Tag: 0x9F4A, Value: []byte{0x82}}}
			}
			return objs
		}
	})
	out = tap(t, m, 50000, nil)
	require.True(t, out.TVR.Has(kernel.TVRICCDataMissing))
	require.True(t, out.TVR.Has(kernel.TVRCDAFailed))

	// A card without CDA in its AIP: ODA not performed.
	m = newCard(t, func(m *kerneltest.MChip) { m.AIP = []byte{0x18, 0x80} })
	out = tap(t, m, 50000, nil)
	require.True(t, out.TVR.Has(kernel.TVRODANotPerformed))
	require.Equal(t, kernel.OnlineRequest, out.Type, "TAC-Online has ODA not performed")

	// A phone (on-device CVM) whose AIP does not announce CDA: ODA Status
	// is not CDA, so GAC.20 leads to GAC.22-23 and the kernel asks for an
	// AAC, without CDA, whatever Terminal Action Analysis chose.
	for _, verified := range []bool{false, true} {
		m = newCard(t, func(m *kerneltest.MChip) {
			phone(verified)(m)
			m.AIP = []byte{0x1A, 0x80}
		})
		out = tap(t, m, 50000, nil)
		require.Equal(t, kernel.Declined, out.Type, out.String())
		require.Equal(t, byte(0x00), m.LastP1, "AAC, no CDA requested")
		require.True(t, out.TVR.Has(kernel.TVRODANotPerformed))
		require.False(t, out.TVR.Has(kernel.TVRCDAFailed))
	}
	// The same phone above the CVM Required Limit, verified: CDCVM, and
	// still an AAC.
	m = newCard(t, func(m *kerneltest.MChip) {
		phone(true)(m)
		m.AIP = []byte{0x1A, 0x80}
	})
	out = tap(t, m, 350000, nil)
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.Equal(t, byte(0x00), m.LastP1)
	// A card without on-device CVM and without CDA is not concerned by
	// GAC.22-23: TAC-Online sends it online.
	m = newCard(t, func(m *kerneltest.MChip) { m.AIP = []byte{0x18, 0x80} })
	out = tap(t, m, 50000, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, apdu.ARQC, m.LastP1)
}

// TestProcessingRestrictions: dates and versions set their TVR bits.
func TestProcessingRestrictions(t *testing.T) {
	m, err := kerneltest.NewMChip(pan, "250228")
	require.NoError(t, err)
	zero := []byte{0, 0, 0, 0, 0}
	m.IACDefault, m.IACDenial, m.IACOnline = zero, zero, zero
	require.NoError(t, m.Build())
	out := tap(t, m, 50000, nil)
	require.True(t, out.TVR.Has(kernel.TVRExpired))
	require.Equal(t, kernel.OnlineRequest, out.Type, "TAC-Online has expired application")

	m = newCard(t, func(m *kerneltest.MChip) { m.Effective = "250302" })
	out = tap(t, m, 50000, nil)
	require.True(t, out.TVR.Has(kernel.TVRNotEffective))

	m = newCard(t, nil)
	out = tap(t, m, 50000, func(c *kernel.Config) { mc(c).ApplicationVersion = []byte{0x00, 0x03} })
	require.True(t, out.TVR.Has(kernel.TVRDifferentVersions))

	// AUC without "valid at terminals other than ATMs".
	m = newCard(t, nil)
	m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
		for i := range objs {
			if objs[i].Tag == 0x9F07 {
				objs[i].Value = []byte{0xFE, 0xC0}
			}
		}
		return objs
	}
	out = tap(t, m, 50000, func(c *kernel.Config) { c.CAPublicKeys = nil })
	require.True(t, out.TVR.Has(kernel.TVRServiceNotAllowed))
}

// TestUsageControl: the card's Application Usage Control (9F07) against
// the purchase (EMV Book 3 section 10.4.3): domestic purchases need the
// domestic goods or services bit, international ones the international
// bits, of the kinds the terminal sells; an ATM (type 14-16 with cash)
// needs "valid at ATMs", every other terminal "valid at other terminals".
func TestUsageControl(t *testing.T) {
	for _, tc := range []struct {
		name    string
		auc     byte        // first byte; the second is C0
		country kernel.Code // the terminal's (0 for the card's, 0158)
		typ     byte        // terminal type
		sells   byte        // Additional Terminal Capabilities byte 1
		refused bool
	}{
		{"domestic goods, domestic purchase", 0x21, 0, 0x22, 0xF0, false},
		{"domestic services, domestic purchase", 0x09, 0, 0x22, 0xF0, false},
		{"international goods only, domestic purchase", 0x11, 0, 0x22, 0xF0, true},
		{"international services only, domestic purchase", 0x05, 0, 0x22, 0xF0, true},
		{"international goods, international purchase", 0x11, 840, 0x22, 0xF0, false},
		{"domestic goods only, international purchase", 0x21, 840, 0x22, 0xF0, true},
		{"domestic services only, international purchase", 0x09, 840, 0x22, 0xF0, true},
		{"domestic services only, terminal sells goods only", 0x09, 0, 0x22, 0xC0, true},
		{"domestic goods only, terminal sells goods only", 0x21, 0, 0x22, 0xC0, false},
		{"domestic goods only, terminal sells services only", 0x21, 0, 0x22, 0xA0, true},
		{"domestic goods, terminal says neither", 0x21, 0, 0x22, 0x80, false},
		{"merchant's unattended terminal with cash is no ATM", 0x29, 0, 0x25, 0xF0, false},
		{"ATM needs valid at ATMs", 0x29, 0, 0x14, 0xF0, true},
		{"valid at ATMs, at an ATM", 0x2A, 0, 0x14, 0xF0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newCard(t, nil)
			m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
				for i := range objs {
					if objs[i].Tag == 0x9F07 {
						objs[i].Value = []byte{tc.auc, 0xC0}
					}
				}
				return objs
			}
			out := tap(t, m, 50000, func(c *kernel.Config) {
				c.CAPublicKeys = nil
				c.TerminalType = kernel.HexBytes{tc.typ}
				c.AdditionalCapabilities = kernel.HexBytes{tc.sells, 0x00, 0xF0, 0xA0, 0x01}
				if tc.country != 0 {
					c.Country = tc.country
				}
			})
			require.Equal(t, tc.refused, out.TVR.Has(kernel.TVRServiceNotAllowed), out.String())
		})
	}
}

// TestActionAnalysis: denial codes decline, an offline-only terminal uses
// the default codes, an online-only terminal always goes online.
func TestActionAnalysis(t *testing.T) {
	m := newCard(t, nil)
	out := tap(t, m, 150000, func(c *kernel.Config) { mc(c).TACDenial = []byte{0, 0, 0, 0x80, 0} })
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.Equal(t, apdu.AAC, m.LastP1)
	require.Equal(t, "terminal action analysis asked for AAC", out.Reason)

	m = newCard(t, func(m *kerneltest.MChip) { m.IACDenial = []byte{0, 0, 0, 0x80, 0} })
	out = tap(t, m, 150000, nil)
	require.Equal(t, kernel.Declined, out.Type, out.String())

	// Offline-only terminal: TAC-Default has the floor limit bit: AAC.
	m = newCard(t, nil)
	out = tap(t, m, 150000, func(c *kernel.Config) { c.TerminalType = []byte{0x23} })
	require.Equal(t, kernel.Declined, out.Type, out.String())
	m = newCard(t, nil)
	out = tap(t, m, 50000, func(c *kernel.Config) { c.TerminalType = []byte{0x23} })
	require.Equal(t, kernel.Approved, out.Type, out.String())

	// Online-only terminal.
	m = newCard(t, nil)
	out = tap(t, m, 500, func(c *kernel.Config) { c.TerminalType = []byte{0x21} })
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())

	// Without IAC-Online any TVR bit sends the card online.
	m = newCard(t, func(m *kerneltest.MChip) { m.IACOnline = nil })
	out = tap(t, m, 500, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
}

// TestCardDecides: the card may answer below what was asked.
func TestCardDecides(t *testing.T) {
	m := newCard(t, func(m *kerneltest.MChip) { m.Decide = func(byte, tlv.Map) byte { return 0x80 } })
	out := tap(t, m, 500, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, "TC asked, ARQC given")

	m = newCard(t, func(m *kerneltest.MChip) { m.Decide = func(byte, tlv.Map) byte { return 0x00 } })
	out = tap(t, m, 500, nil)
	require.Equal(t, kernel.Declined, out.Type)
	require.Equal(t, "card returned AAC", out.Reason)

	// But not above.
	m = newCard(t, func(m *kerneltest.MChip) { m.Decide = func(byte, tlv.Map) byte { return 0x40 } })
	out = tap(t, m, 150000, nil)
	require.Equal(t, kernel.EndApplication, out.Type, "ARQC asked, TC given")
	require.Equal(t, kernel.L2CardDataError, out.Error)
}

func TestErrors(t *testing.T) {
	drop := func(tag tlv.Tag) func(sfi, rec byte, objs tlv.List) tlv.List {
		return func(sfi, rec byte, objs tlv.List) tlv.List {
			var out tlv.List
			for _, o := range objs {
				if o.Tag != tag {
					out = append(out, o)
				}
			}
			return out
		}
	}
	tests := []struct {
		name string
		card func(m *kerneltest.MChip)
		err  kernel.L2Error
	}{
		{"GENERATE AC status", func(m *kerneltest.MChip) { m.GACStatus = apdu.SW6985 }, kernel.L2StatusBytes},
		{"no CDOL1", func(m *kerneltest.MChip) { m.MutateRecord = drop(0x8C) }, kernel.L2CardDataMissing},
		{"no PAN", func(m *kerneltest.MChip) { m.MutateRecord = drop(0x5A) }, kernel.L2CardDataMissing},
		{"no expiry", func(m *kerneltest.MChip) { m.MutateRecord = drop(0x5F24) }, kernel.L2CardDataMissing},
		{"no AFL", func(m *kerneltest.MChip) {
			m.MutateGPO = func(objs tlv.List) tlv.List { return objs[:1] }
		}, kernel.L2CardDataMissing},
		{"bad AFL", func(m *kerneltest.MChip) {
			m.MutateGPO = func(objs tlv.List) tlv.List { objs[1].Value = []byte{0x08, 0x02, 0x01, 0x00}; return objs }
		}, kernel.L2CardDataError},
		{"no EMV mode", func(m *kerneltest.MChip) { m.AIP = []byte{0x19, 0x00} }, kernel.L2CardDataError},
		{"SDA tag list", func(m *kerneltest.MChip) {
			m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
				for i := range objs {
					if objs[i].Tag == 0x9F4A {
						objs[i].Value = []byte{0x82, 0x5A}
					}
				}
				return objs
			}
		}, kernel.L2CardDataError},
		{"short AC", func(m *kerneltest.MChip) {
			m.MutateGAC = func(objs tlv.List) tlv.List {
				for i := range objs {
					if objs[i].Tag == 0x9F26 {
						objs[i].Value = []byte{1}
					}
				}
				return objs
			}
		}, kernel.L2CardDataError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCard(t, tt.card)
			// No CA key so that the card is not asked for CDA (the AC
			// stays in the clear).
			out := tap(t, m, 150000, func(c *kernel.Config) { c.CAPublicKeys = nil })
			require.Equal(t, kernel.EndApplication, out.Type, out.String())
			require.Equal(t, tt.err, out.Error, out.String())
		})
	}
}

// TestRecordNotTemplate70: a record of SFI 1 to 10 must be template 70.
func TestRecordNotTemplate70(t *testing.T) {
	m := newCard(t, nil)
	app := &rewrite{App: m, ins: 0xB2, f: func(d []byte) []byte { d[0] = 0x77; return d }}
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{app}}, config(m, nil), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2CardDataError, out.Error)

	// Not BER-TLV at all: a parsing error.
	app = &rewrite{App: m, ins: 0xB2, f: func(d []byte) []byte { return d[:len(d)-1] }}
	out, err = entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{app}}, config(m, nil), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.L2ParsingError, out.Error, out.String())
}

// rewrite changes the response data of one instruction.
type rewrite struct {
	kerneltest.App
	ins byte
	f   func([]byte) []byte
}

func (w *rewrite) Command(cmd apdu.Command) apdu.Response {
	r := w.App.Command(cmd)
	if cmd.INS == w.ins && r.OK() {
		r.Data = w.f(append([]byte(nil), r.Data...))
	}
	return r
}

// TestGPOErrors: Book C-2 S3.9: a GPO status word gives Select Next, so the
// Entry Point tries the next application, here a Visa-like one.
func TestGPOErrors(t *testing.T) {
	m := newCard(t, nil)
	v, err := kerneltest.NewVisa("4761739001010119", "301231")
	require.NoError(t, err)
	gpoFails := &gpoFail{App: m}
	card := &kerneltest.Card{Apps: []kerneltest.App{gpoFails, v}}
	cfg := config(m, nil)
	out, err := entry.Run(context.Background(), card, cfg, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, byte(3), out.KernelID, out.String())
	require.Equal(t, kernel.Approved, out.Type, out.String())
}

// gpoFail answers GET PROCESSING OPTIONS with 6A80.
type gpoFail struct{ kerneltest.App }

func (g *gpoFail) Command(cmd apdu.Command) apdu.Response {
	if cmd.INS == 0xA8 {
		return apdu.Response{SW: apdu.SW6A80}
	}
	return g.App.Command(cmd)
}

// TestCommunicationErrors: the card leaves during GET PROCESSING OPTIONS
// (Try Again) or later (End Application with Start B).
func TestCommunicationErrors(t *testing.T) {
	for _, tt := range []struct {
		after int
		want  kernel.OutcomeType
	}{
		{2, kernel.TryAgain},       // PPSE, SELECT, then GPO fails
		{3, kernel.EndApplication}, // READ RECORD fails
		{6, kernel.EndApplication}, // GENERATE AC fails
	} {
		m := newCard(t, nil)
		card := &kerneltest.Card{Apps: []kerneltest.App{m}, RemoveAfter: tt.after}
		out, err := entry.Run(context.Background(), card, config(m, nil), kernel.Transaction{Amount: 500})
		require.NoError(t, err)
		require.Equal(t, tt.want, out.Type, "after %d: %s", tt.after, out)
		require.Equal(t, kernel.StartB, out.Start)
		require.Equal(t, kernel.L2CommunicationError, out.Error)
		require.Equal(t, kernel.MsgPresentCardAgain, out.UIOnRestart.Message)
	}
}

// TestRefund asks for an AAC and ends with the data record.
func TestRefund(t *testing.T) {
	m := newCard(t, nil)
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{m}}, config(m, nil),
		kernel.Transaction{Amount: 20000, Type: kernel.Refund})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, apdu.AAC, m.LastP1)
	require.Equal(t, []byte{0x20}, out.Record(0x9C))
	require.NotNil(t, out.Record(0x9F26))
}

// TestAACWithCDA: Book C-2 GAC.24-25. An AAC is asked for with the CDA
// request (P1 10) when the card's 9F5D byte 2 b1 announces CDA over TC,
// ARQC and AAC or when Integrated Data Storage is read, and its signature
// is verified; else the AAC goes without it (P1 00).
func TestAACWithCDA(t *testing.T) {
	refund := func(m *kerneltest.MChip, change func(*kernel.Config)) kernel.Outcome {
		out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{m}}, config(m, change),
			kernel.Transaction{Amount: 20000, Type: kernel.Refund})
		require.NoError(t, err)
		return out
	}
	opID := func(c *kernel.Config) {
		mc(c).DSRequestedOperatorID = kernel.HexBytes{0x7A, 0x45, 0x12, 0x3E, 0xE5, 0x9C, 0x7F, 0x40}
	}
	sum := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	tests := []struct {
		name   string
		card   func(m *kerneltest.MChip)
		cfg    func(*kernel.Config)
		p1     byte
		signed bool
	}{
		{"CDA over AAC announced", func(m *kerneltest.MChip) { m.CDAOverAAC = true }, nil, 0x10, true},
		{"IDS read", func(m *kerneltest.MChip) { m.DSSummary = sum }, opID, 0x10, true},
		{"data storage not read", func(m *kerneltest.MChip) { m.DSSummary = sum }, nil, 0x00, false},
		{"balance reading only", func(m *kerneltest.MChip) { m.Balance = kerneltest.MustHex("000000012345") }, nil, 0x00, false},
		{"no 9F5D", nil, nil, 0x00, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newCard(t, tc.card)
			out := refund(m, tc.cfg)
			require.Equal(t, kernel.EndApplication, out.Type, out.String())
			require.Equal(t, tc.p1, m.LastP1)
			require.False(t, out.TVR.Has(kernel.TVRCDAFailed), out.String())
			if tc.signed {
				require.Equal(t, kernel.ODAPassed, out.ODA.Status, out.String())
			} else {
				require.NotEqual(t, kernel.ODAPassed, out.ODA.Status, out.String())
			}
		})
	}

	// A card announcing CDA over an AAC that does not sign it fails CDA.
	m := newCard(t, func(m *kerneltest.MChip) {
		m.CDAOverAAC = true
		m.MutateGAC = func(objs tlv.List) tlv.List {
			var out tlv.List
			for _, o := range objs {
				if o.Tag != 0x9F4B {
					out = append(out, o)
				}
			}
			return append(out, tlv.TLV{Tag: 0x9F26, Value: make([]byte, 8)})
		}
	})
	out := refund(m, nil)
	require.True(t, out.TVR.Has(kernel.TVRCDAFailed), out.String())
}

// TestPDOL: a card with a PDOL gets the terminal data it asks for,
// including the Mobile Support Indicator.
func TestPDOL(t *testing.T) {
	m := newCard(t, func(m *kerneltest.MChip) {
		m.PDOL = tlv.DOL{{Tag: 0x9F7E, Len: 1}, {Tag: 0x9F02, Len: 6}, {Tag: 0x9F1A, Len: 2}}
	})
	out := tap(t, m, 400000, nil)
	// Above the CVM required limit the MSI asks for OD-CVM (b2).
	require.Equal(t, kerneltest.MustHex("03 000000400000 0158"), m.LastPDOLData)
	require.Equal(t, kernel.ODAPassed, out.ODA.Status, "CDA hash covers the PDOL data")
}

// TestFormat1GPO: a format 1 GET PROCESSING OPTIONS response (80: AIP and
// AFL) is understood.
func TestFormat1GPO(t *testing.T) {
	m := newCard(t, nil)
	f1 := &gpoFormat1{App: m}
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{f1}}, config(m, nil), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type, out.String())
}

type gpoFormat1 struct{ kerneltest.App }

func (g *gpoFormat1) Command(cmd apdu.Command) apdu.Response {
	r := g.App.Command(cmd)
	if cmd.INS != 0xA8 || !r.OK() {
		return r
	}
	l, err := tlv.Decode(r.Data)
	if err != nil {
		return r
	}
	m := l.Map()
	v := append(append([]byte(nil), m[0x82]...), m[0x94]...)
	b, _ := tlv.Encode(0x80, v)
	return apdu.Response{Data: b, SW: apdu.SW9000}
}

// TestCVMConditionCodes: each CV Rule condition of EMV Book 3 Annex C3.
// The rule under test asks for a signature; "no CVM always" follows as the
// fallback, so the CVM shows whether the condition held.
func TestCVMConditionCodes(t *testing.T) {
	tests := []struct {
		name     string
		cond     byte
		typ      kernel.TxnType
		other    int64
		termType byte
		amount   int64
		holds    bool
	}{
		{"00 always", 0x00, kernel.Purchase, 0, 0x22, 400000, true},
		{"01 unattended cash", 0x01, kernel.Cash, 0, 0x25, 400000, true},
		{"01 attended cash", 0x01, kernel.Cash, 0, 0x22, 400000, false},
		{"02 purchase", 0x02, kernel.Purchase, 0, 0x22, 400000, true},
		{"02 cash", 0x02, kernel.Cash, 0, 0x22, 400000, false},
		{"02 cashback", 0x02, kernel.PurchaseWithCashback, 10000, 0x22, 400000, false},
		{"03 supported", 0x03, kernel.Purchase, 0, 0x22, 400000, true},
		{"04 manual cash", 0x04, kernel.Cash, 0, 0x22, 400000, true},
		{"04 purchase", 0x04, kernel.Purchase, 0, 0x22, 400000, false},
		{"05 cashback", 0x05, kernel.PurchaseWithCashback, 10000, 0x22, 400000, true},
		{"05 purchase", 0x05, kernel.Purchase, 0, 0x22, 400000, false},
		{"06 under X", 0x06, kernel.Purchase, 0, 0x22, 349999, true},
		{"06 at X", 0x06, kernel.Purchase, 0, 0x22, 350000, false},
		{"07 over X", 0x07, kernel.Purchase, 0, 0x22, 350001, true},
		{"07 at X", 0x07, kernel.Purchase, 0, 0x22, 350000, false},
		{"08 under Y", 0x08, kernel.Purchase, 0, 0x22, 399999, true},
		{"09 over Y", 0x09, kernel.Purchase, 0, 0x22, 400001, true},
		{"09 at Y", 0x09, kernel.Purchase, 0, 0x22, 400000, false},
		{"0A unknown", 0x0A, kernel.Purchase, 0, 0x22, 400000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// X = 350000, Y = 400000.
			list := append(kerneltest.MustHex("00055730 00061A80 1E"), tt.cond, 0x1F, 0x00)
			m := newCard(t, func(m *kerneltest.MChip) { m.CVMList = list })
			cfg := config(m, func(c *kernel.Config) {
				c.TerminalType = []byte{tt.termType}
				mc(c).CVMCapabilityCVMRequired = []byte{0x28} // signature, no CVM
			})
			out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{m}}, cfg,
				kernel.Transaction{Amount: tt.amount, Other: tt.other, Type: tt.typ})
			require.NoError(t, err)
			want := kernel.CVMNone
			if tt.holds {
				want = kernel.CVMSignature
			}
			require.Equal(t, want, out.CVM, out.String())
		})
	}
}

// TestRelayResistance: EXCHANGE RELAY RESISTANCE DATA timed on an injected
// stopwatch the test card advances; the TVR bits and outcomes of Book C-2's
// Relay Resistance Protocol.
func TestRelayResistance(t *testing.T) {
	const (
		ms = time.Millisecond
		us = time.Microsecond
	)
	// Each exchange takes the card's transmission both ways (1.8 ms each)
	// plus its processing; the kernel expects 1.8 ms for the C-APDU and
	// 2.4 ms for the R-APDU, so the measured processing time is the
	// card's processing time.
	takes := func(proc ...time.Duration) func(n int) time.Duration {
		return func(n int) time.Duration {
			p := proc[len(proc)-1]
			if n-1 < len(proc) {
				p = proc[n-1]
			}
			return 3600*us + p
		}
	}
	type rrCase struct {
		name      string
		card      *kerneltest.RelayResistance
		announce  bool
		proc      func(n int) time.Duration
		cfg       func(*kernel.Config)
		outcome   kernel.OutcomeType
		exchanges int
		set       []kernel.TVRBit
		clear     []kernel.TVRBit
		err       kernel.L2Error
		measured  []byte
	}
	normal := func() *kerneltest.RelayResistance {
		return &kerneltest.RelayResistance{Min: 10, Max: 50, Transmission: 18}
	}
	tests := []rrCase{
		{name: "card without relay resistance", card: nil, outcome: kernel.Approved,
			set: []kernel.TVRBit{kernel.TVRRRNotPerformed}},
		{name: "kernel without relay resistance", card: normal(), announce: true, proc: takes(2 * ms),
			cfg: func(c *kernel.Config) { mc(c).KernelConfiguration = kernel.HexBytes{0xA0} }, outcome: kernel.Approved,
			set: []kernel.TVRBit{kernel.TVRRRNotPerformed}},
		{name: "in time", card: normal(), announce: true, proc: takes(2 * ms), outcome: kernel.Approved, exchanges: 1,
			set: []kernel.TVRBit{kernel.TVRRRPerformed}, clear: []kernel.TVRBit{kernel.TVRRRTimeLimits, kernel.TVRRRThreshold, kernel.TVRRRNotPerformed},
			measured: []byte{0x00, 0x14}},
		{name: "at the maximum plus the grace period", card: normal(), announce: true, proc: takes(10 * ms), outcome: kernel.Approved, exchanges: 1,
			set: []kernel.TVRBit{kernel.TVRRRPerformed}, clear: []kernel.TVRBit{kernel.TVRRRTimeLimits}},
		{name: "slow once, then in time", card: normal(), announce: true, proc: takes(12*ms, 2*ms), outcome: kernel.Approved, exchanges: 2,
			set: []kernel.TVRBit{kernel.TVRRRPerformed}, clear: []kernel.TVRBit{kernel.TVRRRTimeLimits}},
		{name: "too slow three times", card: normal(), announce: true, proc: takes(20 * ms), outcome: kernel.OnlineRequest, exchanges: 3,
			set: []kernel.TVRBit{kernel.TVRRRPerformed, kernel.TVRRRTimeLimits}, clear: []kernel.TVRBit{kernel.TVRRRThreshold}},
		{name: "far too slow: threshold too", card: normal(), announce: true, proc: takes(50 * ms), outcome: kernel.OnlineRequest, exchanges: 3,
			set: []kernel.TVRBit{kernel.TVRRRTimeLimits, kernel.TVRRRThreshold}},
		{name: "too slow, denied by the TAC", card: normal(), announce: true, proc: takes(20 * ms),
			cfg:     func(c *kernel.Config) { mc(c).TACDenial = kernel.HexBytes{0, 0, 0, 0, 0x04} },
			outcome: kernel.Declined, exchanges: 3, set: []kernel.TVRBit{kernel.TVRRRTimeLimits}},
		{name: "faster than its minimum", card: &kerneltest.RelayResistance{Min: 50, Max: 80, Transmission: 18}, announce: true,
			proc: takes(0), outcome: kernel.EndApplication, exchanges: 1, err: kernel.L2CardDataError},
		{name: "transmission times mismatch", card: &kerneltest.RelayResistance{Min: 10, Max: 50, Transmission: 5}, announce: true,
			proc: func(int) time.Duration { return 2300*us + 2*ms }, outcome: kernel.OnlineRequest, exchanges: 1,
			set: []kernel.TVRBit{kernel.TVRRRThreshold}, clear: []kernel.TVRBit{kernel.TVRRRTimeLimits}},
		{name: "relay resistance data not signed", card: &kerneltest.RelayResistance{Min: 10, Max: 50, Transmission: 18, Unsigned: true},
			announce: true, proc: takes(2 * ms), outcome: kernel.EndApplication, exchanges: 1,
			set: []kernel.TVRBit{kernel.TVRRRPerformed, kernel.TVRCDAFailed}, err: kernel.L2CAMFailed},
		{name: "status word", card: &kerneltest.RelayResistance{Status: apdu.SW6A81}, announce: true, proc: takes(0),
			outcome: kernel.EndApplication, exchanges: 1, err: kernel.L2StatusBytes},
		{name: "short response", card: &kerneltest.RelayResistance{Response: []byte{1, 2, 3}}, announce: true, proc: takes(0),
			outcome: kernel.EndApplication, exchanges: 1, err: kernel.L2CardDataError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var now time.Duration
			m := newCard(t, func(m *kerneltest.MChip) {
				m.RelayResistance = tc.card
				if tc.announce {
					m.AIP = []byte{0x19, 0x81}
				}
				if tc.card != nil {
					tc.card.Elapse = func(n int) { now += tc.proc(n) }
				}
			})
			out := tap(t, m, 50000, func(c *kernel.Config) {
				c.Stopwatch = func() time.Duration { return now }
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			require.Equal(t, tc.outcome, out.Type, out.String())
			require.Equal(t, tc.exchanges, m.RRExchanges)
			for _, b := range tc.set {
				require.True(t, out.TVR.Has(b), "want %s in %s", b.Name(), out.TVR)
			}
			for _, b := range tc.clear {
				require.False(t, out.TVR.Has(b), "want %s clear in %s", b.Name(), out.TVR)
			}
			require.Equal(t, tc.err, out.Error, out.Reason)
			if tc.measured != nil {
				v, ok := out.DiscretionaryData.Find(0xDF8306)
				require.True(t, ok)
				require.Equal(t, tc.measured, v.Value)
			}
		})
	}
}

// TestMagStripeMode: a card without EMV mode on a kernel supporting
// mag-stripe mode: COMPUTE CRYPTOGRAPHIC CHECKSUM with the Unpredictable
// Number (Numeric), the dynamic digits written into track 2, online.
func TestMagStripeMode(t *testing.T) {
	msKernel := func(c *kernel.Config) { mc(c).KernelConfiguration = kernel.HexBytes{0x30} }
	stripe := func(ms *kerneltest.MagStripe) func(m *kerneltest.MChip) {
		return func(m *kerneltest.MChip) {
			m.AIP = []byte{0x18, 0x00}
			m.MagStripe = ms
		}
	}
	t.Run("kernel without mag-stripe mode", func(t *testing.T) {
		m := newCard(t, stripe(&kerneltest.MagStripe{}))
		out := tap(t, m, 50000, nil)
		require.Equal(t, kernel.EndApplication, out.Type)
		require.Equal(t, kernel.L2CardDataError, out.Error)
	})
	t.Run("online with the track filled", func(t *testing.T) {
		ms := &kerneltest.MagStripe{}
		m := newCard(t, stripe(ms))
		out := tap(t, m, 50000, msKernel)
		require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
		require.True(t, out.MagStripe)
		require.Equal(t, kernel.CVMNone, out.CVM)
		// UN A1B2C3D4 = 2712847316: nUN 5 digits 47316.
		require.Equal(t, kerneltest.MustHex("00047316"), ms.LastUDOLData)
		require.Equal(t, kerneltest.MustHex("00047316"), out.Record(0x9F6A))
		// CVC3 12345 -> 345, UN 47316 in the nUN lowest PUNATC positions,
		// ATC 0x21 = 33 -> 033 in the NATC highest, nUN 5.
		require.Equal(t, []byte{0x00, 0x21}, out.Record(0x9F36))
		require.Equal(t, kerneltest.MustHex("5413330089010012D30122010033473163455F"), out.Record(0x9F6B))
		require.Equal(t, "541333******0012", out.MaskedPAN())
		require.Nil(t, out.Record(0x9F26))
	})
	t.Run("on-device CVM successful: nUN'", func(t *testing.T) {
		// DF4B byte 2 b5 (OD-CVM verification successful): the last
		// digit is (5 + 5) mod 10 = 0; other PCII bits leave nUN.
		for pcii, want := range map[string]string{
			"001000": "5413330089010012D30122010033473163450F",
			"000400": "5413330089010012D30122010033473163455F",
			"000100": "5413330089010012D30122010033473163455F",
		} {
			ms := &kerneltest.MagStripe{PCII: kerneltest.MustHex(pcii)}
			out := tap(t, newCard(t, stripe(ms)), 50000, msKernel)
			require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
			require.Equal(t, kerneltest.MustHex(want), out.Record(0x9F6B), pcii)
		}
	})
	t.Run("above the CVM required limit", func(t *testing.T) {
		m := newCard(t, stripe(&kerneltest.MagStripe{}))
		out := tap(t, m, 300001, msKernel)
		require.Equal(t, kernel.CVMOnlinePIN, out.CVM)
		require.Equal(t, kernel.MsgEnterPIN, out.UIOnOutcome.Message)
		out = tap(t, newCard(t, stripe(&kerneltest.MagStripe{})), 300000, msKernel)
		require.Equal(t, kernel.CVMNone, out.CVM, "at the limit: not above it")
	})
	t.Run("checksum refused", func(t *testing.T) {
		m := newCard(t, stripe(&kerneltest.MagStripe{Status: apdu.SW6985}))
		out := tap(t, m, 50000, msKernel)
		require.Equal(t, kernel.EndApplication, out.Type)
		require.Equal(t, kernel.L2StatusBytes, out.Error)
	})
	t.Run("track data missing", func(t *testing.T) {
		m := newCard(t, func(m *kerneltest.MChip) {
			stripe(&kerneltest.MagStripe{})(m)
			m.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
				var out tlv.List
				for _, o := range objs {
					if o.Tag != 0x9F67 {
						out = append(out, o)
					}
				}
				return out
			}
		})
		out := tap(t, m, 50000, msKernel)
		require.Equal(t, kernel.EndApplication, out.Type)
		require.Equal(t, kernel.L2CardDataMissing, out.Error)
	})
}

// TestBalanceReading: GET DATA 9F50 before and after GENERATE AC as the
// combination asks, only for a card announcing balance reading; a malformed
// balance is left unread.
func TestBalanceReading(t *testing.T) {
	both := func(c *kernel.Config) { mc(c).BalanceReadBefore, mc(c).BalanceReadAfter = true, true }
	tests := []struct {
		name          string
		balance       []byte
		cfg           func(*kernel.Config)
		reads         int
		before, after []byte
	}{
		{"before and after", kerneltest.MustHex("000000012345"), both, 2, kerneltest.MustHex("000000012345"), kerneltest.MustHex("000000012345")},
		{"before only", kerneltest.MustHex("000000012345"), func(c *kernel.Config) { mc(c).BalanceReadBefore = true }, 1, kerneltest.MustHex("000000012345"), nil},
		{"not asked", kerneltest.MustHex("000000012345"), nil, 0, nil, nil},
		{"card without balance reading", nil, both, 0, nil, nil},
		{"malformed balance", kerneltest.MustHex("0000001234"), both, 2, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newCard(t, func(m *kerneltest.MChip) { m.Balance = tc.balance })
			out := tap(t, m, 50000, tc.cfg)
			require.Equal(t, kernel.Approved, out.Type, out.String())
			require.Equal(t, tc.reads, m.BalanceReads)
			for tag, want := range map[tlv.Tag][]byte{0xDF8104: tc.before, 0xDF8105: tc.after} {
				v, ok := out.DiscretionaryData.Find(tag)
				if want == nil {
					require.False(t, ok, "%s", tag)
					continue
				}
				require.True(t, ok, "%s", tag)
				require.Equal(t, want, v.Value)
			}
		})
	}
}

// TestDataExchange: the Tags To Read come from the records or GET DATA and
// go to the terminal (DEK) and the outcome (Data To Send); the terminal's
// DET updates terminal data but never the amounts.
func TestDataExchange(t *testing.T) {
	m := newCard(t, func(m *kerneltest.MChip) { m.Balance = kerneltest.MustHex("000000012345") })
	var got kernel.DEK
	out := tap(t, m, 50000, func(c *kernel.Config) {
		mc(c).TagsToRead = []kernel.HexBytes{{0x5F, 0x34}, {0x9F, 0x50}, {0x9F, 0x13}, {0x56}}
		c.DataExchange = func(d kernel.DEK) kernel.DET {
			got = d
			return kernel.DET{Data: tlv.List{{Tag: 0x9F35, Value: []byte{0x25}}, {Tag: 0x9F02, Value: kerneltest.MustHex("000000000001")}}}
		}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Len(t, got.DataToSend, 2)
	require.Equal(t, tlv.Tag(0x5F34), got.DataToSend[0].Tag)
	require.Equal(t, kerneltest.MustHex("000000012345"), got.DataToSend[1].Value)
	require.Equal(t, []tlv.Tag{0x9F13, 0x56}, got.DataNeeded)
	v, ok := out.DiscretionaryData.Find(0x9F50)
	require.True(t, ok, "Data To Send in the outcome")
	require.Equal(t, kerneltest.MustHex("000000012345"), v.Value)
	require.Equal(t, []byte{0x25}, out.Record(0x9F35), "the DET's terminal type")
	require.Equal(t, kerneltest.MustHex("000000050000"), out.Record(0x9F02), "the amount is not the DET's")
	require.Equal(t, 1, m.BalanceReads)
}

// TestTagsToWrite: the configuration's Tags To Write Before Gen AC go with
// PUT DATA just before GENERATE AC, those After Gen AC just after it, with
// their Put Data Status (DF810F, DF810E) in the discretionary data; a DET
// adds to them; a refusal stops the writes without changing the outcome; a
// card lost before GENERATE AC ends with Start B, after it changes nothing.
func TestTagsToWrite(t *testing.T) {
	status := func(out kernel.Outcome, tag tlv.Tag) []byte {
		v, ok := out.DiscretionaryData.Find(tag)
		if !ok {
			return nil
		}
		return v.Value
	}
	writable := func(m *kerneltest.MChip) { m.Writable = map[uint16][]byte{0xDF01: nil, 0xDF02: nil} }

	m := newCard(t, writable)
	out := tap(t, m, 50000, func(c *kernel.Config) {
		mc(c).TagsToWriteBeforeGenAC = kernel.HexBytes{0xDF, 0x01, 0x02, 0x00, 0x01}
		mc(c).TagsToWriteAfterGenAC = kernel.HexBytes{0xDF, 0x02, 0x01, 0xAA}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, []byte{0x80}, status(out, 0xDF810F))
	require.Equal(t, []byte{0x80}, status(out, 0xDF810E))
	require.Equal(t, []byte{0x00, 0x01}, m.Writable[0xDF01])
	require.Equal(t, []byte{0xAA}, m.Writable[0xDF02])
	seq := m.Sequence[len(m.Sequence)-3:]
	require.Equal(t, []byte{0xDA, 0xAE, 0xDA}, seq, "PUT DATA, GENERATE AC, PUT DATA")

	// Nothing to write: no command, no status.
	m = newCard(t, writable)
	out = tap(t, m, 50000, nil)
	require.NotContains(t, m.Sequence, byte(0xDA))
	require.Nil(t, status(out, 0xDF810F))
	require.Nil(t, status(out, 0xDF810E))

	// The POS's configured DET adds to the configuration's lists.
	m = newCard(t, writable)
	out = tap(t, m, 150000, func(c *kernel.Config) {
		c.DET = &kernel.DETConfig{TagsToWriteBeforeGenAC: kernel.HexBytes{0xDF, 0x01, 0x01, 0x07}}
	})
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, []byte{0x07}, m.Writable[0xDF01])
	require.Equal(t, []byte{0x80}, status(out, 0xDF810F))

	// A refused tag stops the writes; the sale goes on.
	m = newCard(t, writable)
	out = tap(t, m, 50000, func(c *kernel.Config) {
		mc(c).TagsToWriteBeforeGenAC = kernel.HexBytes{0xDF, 0x09, 0x01, 0x01, 0xDF, 0x01, 0x01, 0x02}
		mc(c).TagsToWriteAfterGenAC = kernel.HexBytes{0xDF, 0x09, 0x01, 0x01}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, []byte{0x00}, status(out, 0xDF810F))
	require.Equal(t, []byte{0x00}, status(out, 0xDF810E))
	require.Nil(t, m.Writable[0xDF01], "not written after the refusal")

	// The card lost on the PUT DATA before GENERATE AC: Start B.
	m = newCard(t, writable)
	var n int
	card := &kerneltest.Card{Apps: []kerneltest.App{m}}
	lose := kernel.ReaderFunc(func(ctx context.Context, capdu []byte) ([]byte, error) {
		if capdu[1] == 0xDA {
			n++
			return nil, kernel.ErrCardRemoved
		}
		return card.Transmit(ctx, capdu)
	})
	cfg := config(m, func(c *kernel.Config) { mc(c).TagsToWriteBeforeGenAC = kernel.HexBytes{0xDF, 0x01, 0x01, 0x01} })
	out, err := entry.Run(context.Background(), lose, cfg, kernel.Transaction{Amount: 50000})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.StartB, out.Start, out.String())
	require.Equal(t, kernel.L2CommunicationError, out.Error)
	require.Equal(t, 1, n)

	// Lost after GENERATE AC: the outcome stands, status 00.
	m = newCard(t, writable)
	card = &kerneltest.Card{Apps: []kerneltest.App{m}}
	cfg = config(m, func(c *kernel.Config) { mc(c).TagsToWriteAfterGenAC = kernel.HexBytes{0xDF, 0x01, 0x01, 0x01} })
	out, err = entry.Run(context.Background(), lose, cfg, kernel.Transaction{Amount: 50000})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type)
	require.Equal(t, []byte{0x00}, status(out, 0xDF810E))
}

// TestPDOLDataNeeded: a PDOL tag the kernel has no value for goes to the
// terminal as Data Needed in a DEK before GET PROCESSING OPTIONS, and the
// DET's value is sent in the PDOL related data; without an exchange it is
// zero-filled.
func TestPDOLDataNeeded(t *testing.T) {
	pdol := func(m *kerneltest.MChip) {
		m.PDOL = tlv.DOL{{Tag: 0x9F02, Len: 6}, {Tag: 0xDF70, Len: 2}}
	}
	m := newCard(t, pdol)
	var deks []kernel.DEK
	out := tap(t, m, 50000, func(c *kernel.Config) {
		c.DataExchange = func(d kernel.DEK) kernel.DET {
			deks = append(deks, d)
			return kernel.DET{Data: tlv.List{{Tag: 0xDF70, Value: []byte{0x12, 0x34}}}}
		}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.NotEmpty(t, deks)
	require.Equal(t, []tlv.Tag{0xDF70}, deks[0].DataNeeded)
	require.Equal(t, []byte{0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x12, 0x34}, m.LastPDOLData)

	// No exchange: zero-filled, no DEK.
	m = newCard(t, pdol)
	out = tap(t, m, 50000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, []byte{0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00}, m.LastPDOLData)

	// The POS's configured DET: its data fill the PDOL; its Tags To Write
	// are written once although the DET answers two DEKs.
	m = newCard(t, func(m *kerneltest.MChip) {
		pdol(m)
		m.Writable = map[uint16][]byte{0xDF01: nil}
	})
	out = tap(t, m, 50000, func(c *kernel.Config) {
		c.DET = &kernel.DETConfig{Data: kernel.HexBytes{0xDF, 0x70, 0x02, 0xAB, 0xCD}, TagsToWriteAfterGenAC: kernel.HexBytes{0xDF, 0x01, 0x01, 0x09}}
		mc(c).TagsToRead = []kernel.HexBytes{{0x5F, 0x34}}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, []byte{0xAB, 0xCD}, m.LastPDOLData[6:])
	var puts int
	for _, ins := range m.Sequence {
		if ins == 0xDA {
			puts++
		}
	}
	require.Equal(t, 1, puts)
}

// TestIntegratedDataStorage: with a DS Requested Operator ID and a card
// announcing data storage, the kernel reads the DS ID, slots and DS Summary
// 1, checks the DS Summary 2 of the CDA signature against it, and reports
// IDS Status and DS Summary Status; a different signed summary is an IDS
// read error; relay resistance data follow the summary in the signature.
func TestIntegratedDataStorage(t *testing.T) {
	sum := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	opID := func(c *kernel.Config) {
		mc(c).DSRequestedOperatorID = kernel.HexBytes{0x7A, 0x45, 0x12, 0x3E, 0xE5, 0x9C, 0x7F, 0x40}
	}
	disc := func(out kernel.Outcome, tag tlv.Tag) []byte {
		v, ok := out.DiscretionaryData.Find(tag)
		if !ok {
			return nil
		}
		return v.Value
	}

	m := newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum })
	out := tap(t, m, 50000, opID)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, []byte{0x80}, disc(out, 0xDF8128), "IDS Status: read")
	require.Equal(t, []byte{0x80}, disc(out, 0xDF810B), "DS Summary Status: successful read")
	require.Equal(t, sum, disc(out, 0xDF8101))
	require.Equal(t, kerneltest.MustHex("541333008901001200"), disc(out, 0x9F5E))
	dts, ok := out.DiscretionaryData.Find(0xFF8104)
	require.True(t, ok, "the slot's objects go to the terminal as Data To Send")
	require.Equal(t, []byte{0xCA, 0xFE}, tlv.List(dts.Children).Map()[0x9F54], "DS ODS Card")
	require.Len(t, tlv.List(dts.Children).Map()[0x9F7F], 4, "DS Unpredictable Number")

	// A DS ID that is not the PAN and PSN: the card's data are in error.
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum; m.DSID = kerneltest.MustHex("541333008901001201") })
	out = tap(t, m, 50000, opID)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2CardDataError, out.Error)

	// A different signed summary.
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum; m.DSSigned = []byte{1, 2, 3, 4, 5, 6, 7, 9} })
	out = tap(t, m, 50000, opID)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2IDSReadError, out.Error)
	require.Equal(t, []byte{0x00}, disc(out, 0xDF810B))
	require.Equal(t, kernel.ODAPassed, out.ODA.Status, "the signature itself verifies")

	// No operator ID: not read.
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum })
	out = tap(t, m, 50000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Nil(t, disc(out, 0xDF8128))

	// A write: the DS ODS Info and DS ODS Term configured, the card's
	// DSDOL asks for them; the DS Input (Term) becomes the DS Digest H by
	// OWHF2; the DS Summary 3 differs from the DS Summary 2.
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum })
	input := kernel.HexBytes{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	out = tap(t, m, 50000, func(c *kernel.Config) {
		opID(c)
		mc(c).DSInputTerm = input
		mc(c).DSODSInfo = kernel.HexBytes{0x80}
		mc(c).DSODSTerm = kernel.HexBytes("points=120")
		mc(c).DSACType = kernel.HexBytes{0x40}
		mc(c).DSODSInfoForReader = kernel.HexBytes{0x00}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	digest, err := datastorage.OWHF2(kerneltest.MustHex("541333008901001200"), kerneltest.MustHex("7A45123EE59C7F40"), input)
	require.NoError(t, err)
	want := append(append(append(make([]byte, 8), digest...), 0x80), "points=120"...)
	require.Equal(t, want, m.DSInput, "DS Input (Card) zeros, DS Digest H, DS ODS Info, the DS ODS Term at its own length")

	// The card's slot is permanent (9F6F b8) and the terminal asks for a
	// volatile one (DS ODS Info b7): OWHF2 takes a zero OID.
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum })
	out = tap(t, m, 50000, func(c *kernel.Config) {
		opID(c)
		mc(c).DSInputTerm = input
		mc(c).DSODSInfo = kernel.HexBytes{0x40}
		mc(c).DSODSTerm = kernel.HexBytes("points=120")
		mc(c).DSACType = kernel.HexBytes{0x40}
		mc(c).DSODSInfoForReader = kernel.HexBytes{0x00}
	})
	require.Equal(t, kernel.Approved, out.Type, out.String())
	digest, err = datastorage.OWHF2(kerneltest.MustHex("541333008901001200"), make([]byte, 8), input)
	require.NoError(t, err)
	require.Equal(t, digest, m.DSInput[8:16])
	require.Equal(t, []byte{0xC0}, disc(out, 0xDF8128), "IDS Status: read and write")
	require.Equal(t, []byte{0xC0}, disc(out, 0xDF810B), "DS Summary Status: read and write")
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 0xF7}, disc(out, 0xDF8102))

	// A write's signature with the DS Summary 2 alone: checked against the
	// DS Summary 1 first (IDS read error), else the DS Summary 3 is card
	// data missing.
	write := func(c *kernel.Config) {
		opID(c)
		mc(c).DSInputTerm = input
		mc(c).DSODSInfo = kernel.HexBytes{0x80}
		mc(c).DSODSTerm = kernel.HexBytes("points=120")
		mc(c).DSACType = kernel.HexBytes{0x40}
		mc(c).DSODSInfoForReader = kernel.HexBytes{0x00}
	}
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum; m.DSNoSummary3 = true })
	out = tap(t, m, 50000, write)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2CardDataMissing, out.Error)
	m = newCard(t, func(m *kerneltest.MChip) {
		m.DSSummary, m.DSSigned, m.DSNoSummary3 = sum, []byte{1, 2, 3, 4, 5, 6, 7, 9}, true
	})
	out = tap(t, m, 50000, write)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2IDSReadError, out.Error)
	require.Equal(t, []byte{0x00}, disc(out, 0xDF810B))
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 9}, disc(out, 0xDF8101))

	// A card signing no summary although it announced data storage: the
	// signature verifies, the summary is card data missing (S910.8-9).
	m = newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum; m.DSSigned = []byte{} })
	out = tap(t, m, 50000, opID)
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2CardDataMissing, out.Error)
	require.Equal(t, kernel.ODAPassed, out.ODA.Status)
	require.False(t, out.TVR.Has(kernel.TVRCDAFailed))
}

// TestProceedToFirstWrite: with the Proceed To First Write Flag at 00 the
// kernel asks the terminal for it after the records and writes nothing to
// the card (no PUT DATA, no GENERATE AC) until a DET sets it; a DET that
// comes after the Time Out Value, leaves the flag at 00, or never comes
// ends the transaction with the L3 error Time Out.
func TestProceedToFirstWrite(t *testing.T) {
	wait := func(det func(kernel.DEK) kernel.DET) func(*kernel.Config) {
		return func(c *kernel.Config) {
			mc(c).ProceedToFirstWriteFlag = kernel.HexBytes{0x00}
			mc(c).TimeOutValue = 300 * time.Millisecond
			c.DataExchange = det
		}
	}
	writes := func(m *kerneltest.MChip) int {
		n := 0
		for _, ins := range m.Sequence {
			if ins == 0xDA || ins == 0xAE {
				n++
			}
		}
		return n
	}

	// The DET sets the flag in time: the transaction goes on.
	m := newCard(t, nil)
	var deks []kernel.DEK
	out := tap(t, m, 50000, wait(func(d kernel.DEK) kernel.DET {
		deks = append(deks, d)
		return kernel.DET{Data: tlv.List{{Tag: 0xDF8110, Value: []byte{0x01}}}, Delay: 250 * time.Millisecond}
	}))
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.L3OK, out.L3)
	require.Len(t, deks, 1)
	require.Equal(t, []tlv.Tag{0xDF8110}, deks[0].DataNeeded)

	// Too late: End Application, L3 Time Out, nothing written.
	m = newCard(t, nil)
	out = tap(t, m, 50000, wait(func(kernel.DEK) kernel.DET {
		return kernel.DET{Data: tlv.List{{Tag: 0xDF8110, Value: []byte{0x01}}}, Delay: 301 * time.Millisecond}
	}))
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L3TimeOut, out.L3)
	require.Equal(t, kernel.L2OK, out.Error)
	require.Zero(t, writes(m))

	// The DET comes in time but leaves the flag at 00.
	m = newCard(t, nil)
	out = tap(t, m, 50000, wait(func(kernel.DEK) kernel.DET { return kernel.DET{} }))
	require.Equal(t, kernel.L3TimeOut, out.L3, out.String())
	require.Zero(t, writes(m))

	// The time is the stopwatch's: a terminal that takes 400 ms by it is
	// late too.
	m = newCard(t, nil)
	var now time.Duration
	out = tap(t, m, 50000, func(c *kernel.Config) {
		wait(func(kernel.DEK) kernel.DET {
			now += 400 * time.Millisecond
			return kernel.DET{Data: tlv.List{{Tag: 0xDF8110, Value: []byte{0x01}}}}
		})(c)
		c.Stopwatch = func() time.Duration { return now }
	})
	require.Equal(t, kernel.L3TimeOut, out.L3, out.String())

	// No terminal takes part in data exchange: the flag is never set.
	m = newCard(t, nil)
	out = tap(t, m, 50000, wait(nil))
	require.Equal(t, kernel.L3TimeOut, out.L3, out.String())
	require.Zero(t, writes(m))

	// A flag other than 00 does not wait.
	m = newCard(t, nil)
	out = tap(t, m, 50000, func(c *kernel.Config) { mc(c).ProceedToFirstWriteFlag = kernel.HexBytes{0x01} })
	require.Equal(t, kernel.Approved, out.Type, out.String())

	// The PDOL's Data Needed: a DET after the Time Out Value (500 ms by
	// default) ends the transaction before GET PROCESSING OPTIONS.
	m = newCard(t, func(m *kerneltest.MChip) { m.PDOL = tlv.DOL{{Tag: 0xDF70, Len: 2}} })
	out = tap(t, m, 50000, func(c *kernel.Config) {
		c.DataExchange = func(kernel.DEK) kernel.DET {
			return kernel.DET{Data: tlv.List{{Tag: 0xDF70, Value: []byte{1, 2}}}, Delay: 600 * time.Millisecond}
		}
	})
	require.Equal(t, kernel.L3TimeOut, out.L3, out.String())
	require.Nil(t, m.LastPDOLData)
}

// TestDSODSInfoForReader: the DS AC Type and the DS ODS Info For Reader
// decide whether the data storage write goes with the AC type (Book C-2
// GAC.5-13): a DS AC Type the AC type meets (lowering it), else the usable
// bit for the AC type, else left out or stopping with ids_no_matching_ac;
// without either object an IDS data error; a card that did not write stops
// the transaction with ids_write_error when asked.
func TestDSODSInfoForReader(t *testing.T) {
	sum := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	ids := func(acType, info []byte) func(*kernel.Config) {
		return func(c *kernel.Config) {
			mc(c).DSRequestedOperatorID = kernel.HexBytes{0x7A, 0x45, 0x12, 0x3E, 0xE5, 0x9C, 0x7F, 0x40}
			mc(c).DSODSInfo = kernel.HexBytes{0x80}
			mc(c).DSODSTerm = kernel.HexBytes{0x01, 0x02}
			mc(c).DSACType = acType
			mc(c).DSODSInfoForReader = info
		}
	}
	disc := func(out kernel.Outcome, tag tlv.Tag) []byte {
		v, _ := out.DiscretionaryData.Find(tag)
		return v.Value
	}
	card := func(fails bool) *kerneltest.MChip {
		return newCard(t, func(m *kerneltest.MChip) { m.DSSummary = sum; m.DSWriteFails = fails })
	}
	tc, arqc, aac := []byte{0x40}, []byte{0x80}, []byte{0x00}

	// DS AC Type TC with a TC decided: the write goes (GAC.7).
	m := card(false)
	out := tap(t, m, 50000, ids(tc, []byte{0x00}))
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.NotNil(t, m.DSInput)
	require.Equal(t, []byte{0xC0}, disc(out, 0xDF810B))

	// DS AC Type ARQC with a TC decided: the AC type becomes ARQC (GAC.8).
	m = card(false)
	out = tap(t, m, 50000, ids(arqc, []byte{0x00}))
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.NotNil(t, m.DSInput)

	// DS AC Type AAC: the write goes with an AAC.
	m = card(false)
	out = tap(t, m, 50000, ids(aac, []byte{0x00}))
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.NotNil(t, m.DSInput)

	// Above the floor limit an ARQC: DS AC Type TC does not meet it; the
	// DS ODS Info For Reader's 'usable for ARQC' lets the write go (GAC.9).
	m = card(false)
	out = tap(t, m, 150000, ids(tc, []byte{0x40}))
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.NotNil(t, m.DSInput)

	// Not usable for ARQC, no stop: read only, no DSDOL data sent.
	m = card(false)
	out = tap(t, m, 150000, ids(tc, []byte{0x80}))
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Nil(t, m.DSInput)
	require.Equal(t, []byte{0x80}, disc(out, 0xDF8128))
	require.Equal(t, []byte{0x80}, disc(out, 0xDF810B))

	// Not usable for ARQC, stop if no DS ODS Term: no GENERATE AC.
	m = card(false)
	out = tap(t, m, 150000, ids(tc, []byte{0x84}))
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2IDSNoMatchingAC, out.Error)
	require.NotContains(t, m.Sequence, byte(0xAE))

	// No DS AC Type: an IDS data error (GAC.5-6).
	m = card(false)
	out = tap(t, m, 50000, ids(nil, []byte{0x80}))
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2IDSDataError, out.Error)
	require.NotContains(t, m.Sequence, byte(0xAE))

	// No DS ODS Info: read only (GAC.3).
	m = card(false)
	out = tap(t, m, 50000, func(c *kernel.Config) { ids(tc, []byte{0x80})(c); mc(c).DSODSInfo = nil })
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Nil(t, m.DSInput)

	// The card does not write: stop if write failed.
	m = card(true)
	out = tap(t, m, 50000, ids(tc, []byte{0xC2}))
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2IDSWriteError, out.Error)
	require.Equal(t, []byte{0x80}, disc(out, 0xDF810B))

	// The card does not write, no stop: a successful read only.
	m = card(true)
	out = tap(t, m, 50000, ids(tc, []byte{0xC0}))
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, []byte{0x80}, disc(out, 0xDF810B))
}
