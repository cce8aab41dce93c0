package c3_test

import (
	"bytes"
	"context"
	"encoding/hex"
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

const (
	pan    = "4761739001010119"
	expiry = "301231"
)

var today = time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)

func newVisa(t *testing.T, change func(v *kerneltest.Visa)) *kerneltest.Visa {
	t.Helper()
	v, err := kerneltest.NewVisa(pan, expiry)
	require.NoError(t, err)
	if change != nil {
		change(v)
		require.NoError(t, v.Build())
	}
	return v
}

func config(v *kerneltest.Visa) kernel.Config {
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = v.PKI().CAPublicKeys()
	cfg.Clock = kernel.FixedClock(today)
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{0x11, 0x22, 0x33, 0x44})
	return cfg
}

// tap presents the card once for amount with the default configuration,
// changed by change.
func tap(t *testing.T, v *kerneltest.Visa, amount int64, change func(*kernel.Config)) kernel.Outcome {
	t.Helper()
	cfg := config(v)
	if change != nil {
		change(&cfg)
	}
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{v}}, cfg, kernel.Transaction{Amount: amount})
	require.NoError(t, err)
	return out
}

// withContact gives the reader a contact chip interface, announced in its
// TTQ (byte 1 b5); the default terminal is contactless only.
func withContact(c *kernel.Config) {
	c.ContactChip = true
	c.Combinations[0].TTQ[0] |= 0x10
}

func setTTQ(ttq ...byte) func(*kernel.Config) {
	return func(c *kernel.Config) { c.Combinations[0].TTQ = ttq }
}

func messages(o kernel.Outcome) []kernel.MessageID {
	var out []kernel.MessageID
	for _, u := range o.UIRequests {
		out = append(out, u.Message)
	}
	return out
}

// TestOfflineApprovalWithFDDA: below the floor limit the card approves
// offline (TC); the kernel verifies fDDA and approves.
func TestOfflineApprovalWithFDDA(t *testing.T) {
	v := newVisa(t, nil)
	out := tap(t, v, 50000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.CVMNone, out.CVM)
	require.Equal(t, kernel.ODAResult{Method: "fDDA", Status: kernel.ODAPassed}, out.ODA)
	require.True(t, out.TVR.IsZero())
	require.Equal(t, byte(3), out.KernelID)
	require.Equal(t, []kernel.MessageID{kernel.MsgPresentCard, kernel.MsgCardReadOK, kernel.MsgApproved}, messages(out))
	// The data record carries what field 55 needs.
	for _, tag := range []tlv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F66, 0x57, 0x5A, 0x5F34, 0x9F6E, 0x84, 0x9F33, 0x9F35} {
		require.NotNil(t, out.Record(tag), "data record tag %s", tag)
	}
	require.Equal(t, []byte{0x11, 0x22, 0x33, 0x44}, out.Record(0x9F37))
	require.Equal(t, []byte{0x25, 0x03, 0x01}, out.Record(0x9A))
	require.Equal(t, []byte{0, 0, 0, 0x05, 0, 0}, out.Record(0x9F02))
	require.Equal(t, []byte{0x26, 0x00, 0x40, 0x00}, out.Record(0x9F66), "TTQ below every limit")
}

// TestTTQFromPreProcessing: the Copy of TTQ the card receives carries
// "online cryptogram required" above the floor limit and "CVM required" at
// or above the CVM required limit (Book B 3.1.1.9, 3.1.1.12).
func TestTTQFromPreProcessing(t *testing.T) {
	tests := []struct {
		amount int64
		ttq2   byte
	}{
		{100000, 0x00},  // at the floor limit: not exceeded (amount > limit)
		{100001, 0x80},  // above the floor limit
		{299999, 0x80},  // just below the CVM required limit
		{300000, 0xC0},  // at the CVM required limit: CVM required (amount >= limit)
		{4999999, 0xC0}, // just below the transaction limit
	}
	for _, tt := range tests {
		var seen []byte
		v := newVisa(t, nil)
		v.CID = func(p tlv.Map) byte { seen = p[0x9F66]; return 0x80 }
		v.CTQ = []byte{0x80, 0x00} // online PIN required, so a CVM exists
		tap(t, v, tt.amount, nil)
		require.Equal(t, []byte{0x26, tt.ttq2, 0x40, 0x00}, seen, "amount %d", tt.amount)
	}
}

func TestOnlineRequest(t *testing.T) {
	v := newVisa(t, nil)
	out := tap(t, v, 150000, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, kernel.CVMNone, out.CVM)
	require.Equal(t, kernel.MsgAuthorising, out.UIOnOutcome.Message)
	require.Equal(t, kernel.ODANotPerformed, out.ODA.Status, "no ODA for online without TTQ b1")
	require.Equal(t, []byte{0x80}, out.Record(0x9F27))
	require.Equal(t, kernel.StartNA, out.Start)
}

func TestDeclinedAAC(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CID = func(tlv.Map) byte { return 0x00 } })
	out := tap(t, v, 50000, nil)
	require.Equal(t, kernel.Declined, out.Type)
	require.Equal(t, kernel.MsgNotAuthorised, out.UIOnOutcome.Message)
	require.Equal(t, "card returned AAC", out.Reason)
	require.NotNil(t, out.DataRecord)
}

// TestCVM covers each CVM the kernel can reach (Book C-3 5.7).
func TestCVM(t *testing.T) {
	arqc := func(tlv.Map) byte { return 0x80 }
	tc := func(tlv.Map) byte { return 0x40 }
	tests := []struct {
		name    string
		amount  int64
		card    func(v *kerneltest.Visa)
		cfg     func(*kernel.Config)
		outcome kernel.OutcomeType
		cvm     kernel.CVM
		msg     kernel.MessageID
		receipt bool
	}{
		{"below CVM limit no CTQ", 150000, func(v *kerneltest.Visa) { v.CID = arqc }, nil, kernel.OnlineRequest, kernel.CVMNone, kernel.MsgAuthorising, false},
		// R-S2d: above the no-signature limit a CVM is mandatory.
		{"R-S2d CTQ online PIN", 400000, func(v *kerneltest.Visa) { v.CID = arqc; v.CTQ = []byte{0x80, 0x00} }, nil, kernel.OnlineRequest, kernel.CVMOnlinePIN, kernel.MsgEnterPIN, false},
		{"R-S2d CTQ signature", 400000, func(v *kerneltest.Visa) { v.CID = arqc; v.CTQ = []byte{0x40, 0x00} }, nil, kernel.OnlineRequest, kernel.CVMSignature, kernel.MsgAuthorising, true},
		{"R-S2d CDCVM phone", 400000, func(v *kerneltest.Visa) { v.CID = arqc; v.CDCVM = true }, nil, kernel.OnlineRequest, kernel.CVMConfirmationCode, kernel.MsgAuthorising, false},
		{"R-S2d no CTQ: signature", 400000, func(v *kerneltest.Visa) { v.CID = arqc }, nil, kernel.OnlineRequest, kernel.CVMSignature, kernel.MsgAuthorising, true},
		{"R-S2d no CTQ no signature: online PIN", 400000, func(v *kerneltest.Visa) { v.CID = arqc }, setTTQ(0x34, 0x00, 0x40, 0x00), kernel.OnlineRequest, kernel.CVMOnlinePIN, kernel.MsgEnterPIN, false},
		{"R-S2d no CVM possible: decline", 400000, func(v *kerneltest.Visa) { v.CID = arqc }, setTTQ(0x30, 0x00, 0x40, 0x00), kernel.Declined, kernel.CVMNA, kernel.MsgNotAuthorised, false},
		{"R-S2d CTQ asks nothing: decline", 400000, func(v *kerneltest.Visa) { v.CID = arqc; v.CTQ = []byte{0x00, 0x00} }, nil, kernel.Declined, kernel.CVMNA, kernel.MsgNotAuthorised, false},
		{"online PIN turns TC online", 50000, func(v *kerneltest.Visa) { v.CID = tc; v.CTQ = []byte{0x80, 0x00} }, nil, kernel.OnlineRequest, kernel.CVMOnlinePIN, kernel.MsgEnterPIN, false},
		{"offline CDCVM with matching copy", 50000, func(v *kerneltest.Visa) { v.CID = tc; v.CDCVM = true }, nil, kernel.Approved, kernel.CVMConfirmationCode, kernel.MsgApproved, false},
		{"offline signature", 50000, func(v *kerneltest.Visa) { v.CID = tc; v.CTQ = []byte{0x40, 0x00} }, nil, kernel.Approved, kernel.CVMSignature, kernel.MsgApprovedSign, true},
		{"CTQ signature unsupported by reader", 50000, func(v *kerneltest.Visa) { v.CID = tc; v.CTQ = []byte{0x40, 0x00} }, setTTQ(0x34, 0x00, 0x40, 0x00), kernel.Approved, kernel.CVMNone, kernel.MsgApproved, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisa(t, tt.card)
			out := tap(t, v, tt.amount, tt.cfg)
			require.Equal(t, tt.outcome, out.Type, out.String())
			require.Equal(t, tt.cvm, out.CVM, out.String())
			require.Equal(t, tt.msg, out.UIOnOutcome.Message)
			require.Equal(t, tt.receipt, out.Receipt)
		})
	}
}

// TestHCEPhoneCDCVMBelowLimit (R-S2e): an HCE phone verifies its holder
// before every tap; below the CVM required limit the kernel honours the
// CTQ and reports CDCVM.
func TestHCEPhoneCDCVMBelowLimit(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CDCVM = true })
	out := tap(t, v, 5000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.CVMConfirmationCode, out.CVM)
	require.Equal(t, []byte{0x26, 0x00, 0x40, 0x00}, out.Record(0x9F66), "the reader did not require a CVM")
}

// TestCDCVMCopyMismatch: a CTQ claiming CDCVM whose copy in 9F69 differs
// is declined (the CTQ was altered on the way).
func TestCDCVMCopyMismatch(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) {
		v.CDCVM = true
		v.CID = func(tlv.Map) byte { return 0x80 }
		v.MutateGPO = func(objs tlv.List) tlv.List {
			for i := range objs {
				if objs[i].Tag == 0x9F69 {
					cad := append([]byte(nil), objs[i].Value...)
					cad[6] = 0x00 // CTQ copy byte 2 without "CDCVM performed"
					objs[i].Value = cad
				}
			}
			return objs
		}
	})
	out := tap(t, v, 400000, nil)
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.Contains(t, out.Reason, "CTQ copy")
}

// TestCDCVMWithoutCardAuthData: CDCVM claimed without 9F69 is accepted for
// an online transaction only.
func TestCDCVMWithoutCardAuthData(t *testing.T) {
	drop := func(objs tlv.List) tlv.List {
		var out tlv.List
		for _, o := range objs {
			if o.Tag != 0x9F69 && o.Tag != 0x9F4B {
				out = append(out, o)
			}
		}
		return out
	}
	v := newVisa(t, func(v *kerneltest.Visa) {
		v.CDCVM = true
		v.CID = func(tlv.Map) byte { return 0x80 }
		v.MutateGPO = drop
	})
	out := tap(t, v, 400000, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, kernel.CVMConfirmationCode, out.CVM)

	v = newVisa(t, func(v *kerneltest.Visa) {
		v.CDCVM = true
		v.NoRecords = true
		v.CID = func(tlv.Map) byte { return 0x40 }
		v.MutateGPO = drop
	})
	out = tap(t, v, 50000, func(c *kernel.Config) { c.Combinations[0].FloorLimit = nil })
	require.Equal(t, kernel.Declined, out.Type, out.String())
}

func tamperIssuerCert(v *kerneltest.Visa) {
	v.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
		for i := range objs {
			if objs[i].Tag == 0x90 {
				c := append([]byte(nil), objs[i].Value...)
				c[20] ^= 0xFF
				objs[i].Value = c
			}
		}
		return objs
	}
}

// TestFDDAFailure: a tampered certificate makes fDDA fail; the CTQ says
// what follows (Book C-3 5.6).
func TestFDDAFailure(t *testing.T) {
	tests := []struct {
		name    string
		ctq     []byte
		cfg     func(*kernel.Config)
		outcome kernel.OutcomeType
	}{
		{"decline", nil, nil, kernel.Declined},
		{"go online", []byte{0x20, 0x00}, nil, kernel.OnlineRequest},
		{"go online but offline-only reader", []byte{0x20, 0x00}, setTTQ(0x3E, 0x00, 0x40, 0x00), kernel.Declined},
		{"switch interface", []byte{0x10, 0x00}, withContact, kernel.TryAnotherInterface},
		{"switch interface without contact", []byte{0x10, 0x00}, nil, kernel.Declined},
		{"switch interface, contact reader not in the TTQ", []byte{0x10, 0x00}, func(c *kernel.Config) { c.ContactChip = true }, kernel.Declined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisa(t, func(v *kerneltest.Visa) { v.CTQ = tt.ctq })
			tamperIssuerCert(v)
			out := tap(t, v, 50000, tt.cfg)
			require.Equal(t, tt.outcome, out.Type, out.String())
			require.Equal(t, kernel.ODAFailed, out.ODA.Status)
			require.Equal(t, "fDDA", out.ODA.Method)
			require.NotEmpty(t, out.ODA.Reason)
			if tt.outcome == kernel.TryAnotherInterface {
				require.Equal(t, kernel.InterfaceContact, out.AlternateInterface)
				require.Equal(t, kernel.MsgInsertCard, out.UIOnOutcome.Message)
				return
			}
			require.True(t, out.TVR.Has(kernel.TVRDDAFailed))
		})
	}
}

// TestFDDAFailureCauses: each way fDDA can fail declines an offline TC.
func TestFDDAFailureCauses(t *testing.T) {
	dropTag := func(tag tlv.Tag) func(objs tlv.List) tlv.List {
		return func(objs tlv.List) tlv.List {
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
		card func(v *kerneltest.Visa)
		cfg  func(*kernel.Config)
	}{
		{"no CA key", nil, func(c *kernel.Config) { c.CAPublicKeys = nil }},
		{"test CA not accepted", nil, func(c *kernel.Config) { c.AcceptTestCA = false }},
		{"no signature", func(v *kerneltest.Visa) { v.MutateGPO = dropTag(0x9F4B) }, nil},
		{"signature over other data", func(v *kerneltest.Visa) {
			v.MutateGPO = func(objs tlv.List) tlv.List {
				for i := range objs {
					if objs[i].Tag == 0x9F69 {
						cad := append([]byte(nil), objs[i].Value...)
						cad[1] ^= 1 // card UN changed after signing
						objs[i].Value = cad
					}
				}
				return objs
			}
		}, nil},
		{"AIP without DDA", func(v *kerneltest.Visa) {
			v.MutateGPO = func(objs tlv.List) tlv.List {
				objs[0].Value = []byte{0x00, 0x00}
				return objs
			}
		}, nil},
		{"static data changed", func(v *kerneltest.Visa) {
			v.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
				if rec == 1 {
					objs[2].Value = []byte{0x08, 0x40}
				}
				return objs
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisa(t, tt.card)
			out := tap(t, v, 50000, tt.cfg)
			require.Equal(t, kernel.Declined, out.Type, out.String())
			require.Equal(t, kernel.ODAFailed, out.ODA.Status, out.String())
			require.True(t, out.TVR.Has(kernel.TVRDDAFailed))
		})
	}
}

// TestCertificateExpired: in 2050 the test certificates (valid through
// December 2049) have expired; fDDA of an online transaction fails with the
// expiry.
func TestCertificateExpired(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CID = func(tlv.Map) byte { return 0x80 } })
	out := tap(t, v, 50000, func(c *kernel.Config) {
		c.Clock = kernel.FixedClock(time.Date(2050, 2, 1, 0, 0, 0, 0, time.UTC))
		c.Combinations[0].TTQ = []byte{0x37, 0x00, 0x40, 0x00}
	})
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, kernel.ODAFailed, out.ODA.Status)
	require.Contains(t, out.ODA.Reason, "expired")
	require.True(t, out.TVR.Has(kernel.TVRDDAFailed))
}

// TestODAForOnline: with TTQ byte 1 b1 the reader checks fDDA of an online
// transaction too; a failure is reported in the TVR, the transaction still
// goes online.
func TestODAForOnline(t *testing.T) {
	odaOnline := setTTQ(0x37, 0x00, 0x40, 0x00)
	v := newVisa(t, nil)
	out := tap(t, v, 150000, odaOnline)
	require.Equal(t, kernel.OnlineRequest, out.Type)
	require.Equal(t, kernel.ODAPassed, out.ODA.Status)

	v = newVisa(t, nil)
	tamperIssuerCert(v)
	out = tap(t, v, 150000, odaOnline)
	require.Equal(t, kernel.OnlineRequest, out.Type)
	require.Equal(t, kernel.ODAFailed, out.ODA.Status)
	require.True(t, out.TVR.Has(kernel.TVRDDAFailed))
	require.Equal(t, []byte{0x08, 0, 0, 0, 0}, out.Record(0x95))
}

// TestExpiredCard: an expired application is declined offline, or goes
// online when the CTQ allows (Book C-3 5.5.1.1).
func TestExpiredCard(t *testing.T) {
	v, err := kerneltest.NewVisa(pan, "250228")
	require.NoError(t, err)
	out := tap(t, v, 50000, nil)
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.True(t, out.TVR.Has(kernel.TVRExpired))
	require.Equal(t, "application expired", out.Reason)

	v.CTQ = []byte{0x08, 0x00}
	out = tap(t, v, 50000, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())

	// The last day of validity is fine.
	v, err = kerneltest.NewVisa(pan, "250301")
	require.NoError(t, err)
	out = tap(t, v, 50000, nil)
	require.Equal(t, kernel.Approved, out.Type, out.String())
}

// TestGPOStatusWords follows Book C-3 5.2.2.
func TestGPOStatusWords(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.GPOStatus = apdu.SW6986 })
	out := tap(t, v, 50000, nil)
	require.Equal(t, kernel.TryAgain, out.Type)
	require.Equal(t, kernel.StartB, out.Start)
	require.Equal(t, kernel.MsgSeePhone, out.UIOnOutcome.Message)
	require.Equal(t, 1300*time.Millisecond, out.UIOnOutcome.Hold)
	require.Equal(t, kernel.MsgPresentCardAgain, out.UIOnRestart.Message)
	require.Equal(t, uint16(0x6986), out.SW)

	v.GPOStatus = apdu.SW6984
	out = tap(t, v, 50000, withContact)
	require.Equal(t, kernel.TryAnotherInterface, out.Type)
	require.Equal(t, kernel.InterfaceContact, out.AlternateInterface)
	// Without a contact interface (the default terminal) 6984 ends the
	// application as any other status word does.
	out = tap(t, v, 50000, nil)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.MsgTryAnotherCard, out.UIOnOutcome.Message)

	// 6985 asks for the next application: with none left the Entry Point
	// ends the transaction.
	v.GPOStatus = apdu.SW6985
	out = tap(t, v, 50000, nil)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.MsgTryAnotherCard, out.UIOnOutcome.Message)

	v.GPOStatus = apdu.SW6A81
	out = tap(t, v, 50000, nil)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.L2StatusBytes, out.Error)
	require.Equal(t, uint16(0x6A81), out.SW)
}

// TestSeePhoneSecondTap: the phone answers 6986 until the holder verifies;
// the second tap is approved with CDCVM.
func TestSeePhoneSecondTap(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.GPOStatus = apdu.SW6986 })
	card := &kerneltest.Card{Apps: []kerneltest.App{v}}
	e, err := entry.New(config(v))
	require.NoError(t, err)
	out, err := e.Start(context.Background(), card, kernel.Transaction{Amount: 400000})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAgain, out.Type)

	// The holder verifies on the phone, then taps again.
	v.GPOStatus = 0
	v.CDCVM = true
	card.Reset()
	out, err = e.Restart(context.Background(), card)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Equal(t, kernel.CVMConfirmationCode, out.CVM)
	require.Equal(t, kernel.MsgPresentCardAgain, out.UIRequests[0].Message, "the retained UI Request on Restart")
}

// TestCardDataErrors: malformed or missing card data ends the transaction
// with a clear reason.
func TestCardDataErrors(t *testing.T) {
	replace := func(tag tlv.Tag, val []byte) func(objs tlv.List) tlv.List {
		return func(objs tlv.List) tlv.List {
			var out tlv.List
			for _, o := range objs {
				if o.Tag == tag {
					if val == nil {
						continue
					}
					o.Value = val
				}
				out = append(out, o)
			}
			return out
		}
	}
	tests := []struct {
		name   string
		mutate func(objs tlv.List) tlv.List
		err    kernel.L2Error
	}{
		{"no AC", replace(0x9F26, nil), kernel.L2CardDataMissing},
		{"no ATC", replace(0x9F36, nil), kernel.L2CardDataMissing},
		{"no IAD", replace(0x9F10, nil), kernel.L2CardDataMissing},
		{"no track 2", replace(0x57, nil), kernel.L2CardDataMissing},
		{"short AC", replace(0x9F26, []byte{1, 2, 3}), kernel.L2CardDataError},
		{"long CID", replace(0x9F27, []byte{0x40, 0x00}), kernel.L2CardDataError},
		{"duplicate tag", func(objs tlv.List) tlv.List { return append(objs, tlv.TLV{Tag: 0x9F36, Value: []byte{0, 1}}) }, kernel.L2CardDataError},
		{"PAN mismatch", replace(0x57, []byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x27, 0xD3, 0x01, 0x22, 0x01}), kernel.L2CardDataError},
		{"bad AFL", replace(0x94, []byte{0x10, 0x00, 0x01, 0x00}), kernel.L2CardDataError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisa(t, func(v *kerneltest.Visa) { v.MutateGPO = tt.mutate })
			out := tap(t, v, 50000, nil)
			require.Equal(t, kernel.EndApplication, out.Type, out.String())
			require.Equal(t, tt.err, out.Error, out.String())
			require.Equal(t, kernel.MsgTryAnotherCard, out.UIOnOutcome.Message)
		})
	}
}

func prim(tag tlv.Tag, h string) tlv.TLV { return tlv.TLV{Tag: tag, Value: kerneltest.MustHex(h)} }

func tmpl(tag tlv.Tag, children ...tlv.TLV) string {
	b, err := tlv.EncodeConstructed(tag, children...)
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// TestRawResponses drives the kernel with scripted responses that the test
// card cannot produce.
func TestRawResponses(t *testing.T) {
	ppse := tmpl(0x6F, prim(0x84, "325041592E5359532E4444463031"), tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{{Tag: 0xBF0C, Children: []tlv.TLV{
		{Tag: 0x61, Children: []tlv.TLV{prim(0x4F, "A0000000031010"), prim(0x87, "01")}},
	}}}})
	fci := tmpl(0x6F, prim(0x84, "A0000000031010"), tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{
		prim(0x50, "56495341"), prim(0x9F38, "9F66049F3704"),
	}})
	run := func(gpo string) kernel.Outcome {
		r := kerneltest.Table(map[string]string{
			"00A404000E325041592E5359532E444446303100": ppse + "9000",
			"00A4040007A000000003101000":               fci + "9000",
			"80A8*":                                    gpo,
		})
		cfg := kernel.DefaultConfig()
		cfg.Clock = kernel.FixedClock(today)
		out, err := entry.Run(context.Background(), r, cfg, kernel.Transaction{Amount: 500})
		require.NoError(t, err)
		return out
	}
	// A response that is not well-formed BER-TLV.
	out := run("7705820220 9000")
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.L2ParsingError, out.Error)
	// Format 1 is not qVSDC.
	out = run("8006200008010100 9000")
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.L2CardDataError, out.Error)

	body := func(iad string) string {
		return tmpl(0x77, prim(0x82, "0000"), prim(0x9F36, "0001"), prim(0x9F26, "0102030405060708"),
			prim(0x9F10, iad), prim(0x57, "4761739001010119D30122010000"), prim(0x5F24, "301231")) + "9000"
	}
	// No 9F27: the cryptogram type comes from the CVR in the Issuer
	// Application Data (b6-b5 of CVR byte 2 = 10: ARQC).
	out = run(body("06011203200000"))
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Nil(t, out.Record(0x9F27))
	// TC in the CVR: an offline approval needs fDDA, which this card
	// cannot give: declined.
	out = run(body("06011203100000"))
	require.Equal(t, kernel.Declined, out.Type, out.String())
	require.Equal(t, kernel.ODAFailed, out.ODA.Status)
	// AAC in the CVR.
	out = run(body("06011203000000"))
	require.Equal(t, kernel.Declined, out.Type, out.String())
	// Visa format 2 (CVN '22'): the type is in CVR byte 1.
	out = run(body("1F2201" + "2000000000" + strings.Repeat("00", 24)))
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	// An IAD of unknown layout: card data missing.
	out = run(body("01020304"))
	require.Equal(t, kernel.L2CardDataMissing, out.Error, out.String())
}

// TestCommunicationError: the card leaves during READ RECORD: Try Again.
func TestCommunicationError(t *testing.T) {
	v := newVisa(t, nil)
	card := &kerneltest.Card{Apps: []kerneltest.App{v}, RemoveAfter: 4}
	out, err := entry.Run(context.Background(), card, config(v), kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAgain, out.Type, out.String())
	require.Equal(t, kernel.StartB, out.Start)
	require.Equal(t, kernel.L2CommunicationError, out.Error)
	require.Equal(t, kernel.MsgPresentCardAgain, out.UIOnRestart.Message)
}

// TestRecordErrors: READ RECORD failures end the transaction.
func TestRecordErrors(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) {
		v.MutateRecord = func(sfi, rec byte, objs tlv.List) tlv.List {
			if rec == 2 {
				return append(objs, tlv.TLV{Tag: 0x5A, Value: []byte{0x47}})
			}
			return objs
		}
	})
	out := tap(t, v, 500, nil)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.L2CardDataError, out.Error, "5A twice")

	v = newVisa(t, func(v *kerneltest.Visa) {
		v.MutateGPO = func(objs tlv.List) tlv.List {
			for i := range objs {
				if objs[i].Tag == 0x94 {
					objs[i].Value = []byte{0x10, 0x01, 0x04, 0x01} // record 4 does not exist
				}
			}
			return objs
		}
	})
	out = tap(t, v, 500, nil)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, kernel.L2StatusBytes, out.Error)
	require.Equal(t, uint16(0x6A83), out.SW)
}

// TestRefund: the card answers a refund with an AAC; the kernel ends with
// the data record for the terminal to complete the refund.
func TestRefund(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CID = func(tlv.Map) byte { return 0x00 } })
	cfg := config(v)
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{v}}, cfg, kernel.Transaction{Amount: 20000, Type: kernel.Refund})
	require.NoError(t, err)
	require.Equal(t, kernel.EndApplication, out.Type)
	require.Equal(t, []byte{0x20}, out.Record(0x9C))
	require.NotNil(t, out.Record(0x9F26))
}

// TestCashbackSwitchInterface: CTQ byte 1 b2 sends cashback to the contact
// interface.
func TestCashbackSwitchInterface(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CTQ = []byte{0x02, 0x00} })
	cfg := config(v)
	withContact(&cfg)
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{v}}, cfg,
		kernel.Transaction{Amount: 20000, Other: 10000, Type: kernel.PurchaseWithCashback})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAnotherInterface, out.Type)
	// A contactless-only reader (the default) does not switch.
	out, err = entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{v}}, config(v),
		kernel.Transaction{Amount: 20000, Other: 10000, Type: kernel.PurchaseWithCashback})
	require.NoError(t, err)
	require.NotEqual(t, kernel.TryAnotherInterface, out.Type, out.String())
}

// TestIssuerUpdateSignalled: both TTQ and CTQ support Issuer Update
// Processing: the online outcome asks for a restart with EMV data.
func TestIssuerUpdateSignalled(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CTQ = []byte{0x00, 0x40} })
	out := tap(t, v, 150000, setTTQ(0x36, 0x00, 0xC0, 0x00))
	require.Equal(t, kernel.OnlineRequest, out.Type)
	require.Equal(t, kernel.StartB, out.Start)
	require.Equal(t, kernel.OnlineResponseEMV, out.OnlineResponseData)

	out = tap(t, v, 150000, nil)
	require.Equal(t, kernel.StartNA, out.Start, "the reader does not support it")
}

// TestTCWithOnlineRequired: a card returning a TC although the TTQ asked
// for an online cryptogram is sent online.
func TestTCWithOnlineRequired(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) { v.CID = func(tlv.Map) byte { return 0x40 } })
	out := tap(t, v, 150000, nil)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
	require.Contains(t, out.Reason, "online cryptogram")
}

// TestNoTTQ: a combination without TTQ cannot run C-3.
func TestNoTTQ(t *testing.T) {
	v := newVisa(t, nil)
	out := tap(t, v, 500, func(c *kernel.Config) { c.Combinations[0].TTQ = nil })
	require.Equal(t, kernel.EndApplication, out.Type)
	require.True(t, bytes.Contains([]byte(out.Reason), []byte("TTQ")), out.Reason)
}

// TestOfflineOnlyReaderGivenARQC: a reader that cannot go online declines
// an ARQC (Book C-3 5.4.3, 5.9) instead of handing the terminal an Online
// Request it cannot send: an offline-only TTQ, or an offline-only terminal
// type.
func TestOfflineOnlyReaderGivenARQC(t *testing.T) {
	arqc := func(v *kerneltest.Visa) { v.CID = func(tlv.Map) byte { return 0x80 } }
	for _, tc := range []struct {
		name   string
		change func(*kernel.Config)
		want   kernel.OutcomeType
	}{
		{"online capable reader", nil, kernel.OnlineRequest},
		{"offline-only TTQ", setTTQ(0x3E, 0x00, 0x40, 0x00), kernel.Declined},
		{"offline-only terminal type", func(c *kernel.Config) { c.TerminalType = kernel.HexBytes{0x23} }, kernel.Declined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVisa(t, arqc)
			out := tap(t, v, 50000, tc.change)
			require.Equal(t, tc.want, out.Type, out.String())
			if tc.want == kernel.Declined {
				require.Equal(t, kernel.MsgNotAuthorised, out.UIOnOutcome.Message)
				require.Contains(t, out.Reason, "offline only")
				require.Equal(t, []byte{0x80}, out.Record(0x9F27), "the data record keeps the card's ARQC")
				require.Equal(t, kernel.StartNA, out.Start)
			}
		})
	}
}

// TestIssuerUpdateProcessing: after an Online Request with Online Response
// Data, the Entry Point restarts at Start B with the issuer's response; the
// kernel sends EXTERNAL AUTHENTICATE and the script commands, and the
// outcome is the host's decision with the Issuer Script Results.
func TestIssuerUpdateProcessing(t *testing.T) {
	script := func(tag tlv.Tag, id string, cmds ...string) []byte {
		ch := []tlv.TLV{}
		if id != "" {
			ch = append(ch, tlv.TLV{Tag: 0x9F18, Value: h(id)})
		}
		for _, c := range cmds {
			ch = append(ch, tlv.TLV{Tag: 0x86, Value: h(c)})
		}
		b, err := tlv.EncodeConstructed(tag, ch...)
		require.NoError(t, err)
		return b
	}
	block := "841E000004AABBCCDD"
	tests := []struct {
		name     string
		resp     kernel.OnlineResponse
		eaSW     uint16
		scriptSW map[byte]uint16
		want     kernel.OutcomeType
		results  string
		set      []kernel.TVRBit
		cmds     []string
	}{
		{name: "ARPC accepted, approved", resp: kernel.OnlineResponse{Approved: true, ARC: []byte("00"), IssuerAuthData: h("11223344 00820000")},
			eaSW: 0x9000, want: kernel.Approved, cmds: []string{"SELECT PPSE", "SELECT", "EXTERNAL AUTHENTICATE"}},
		{name: "ARPC refused", resp: kernel.OnlineResponse{Approved: true, ARC: []byte("00"), IssuerAuthData: h("11223344 00820000")},
			eaSW: 0x6300, want: kernel.Approved, set: []kernel.TVRBit{kernel.TVRIssuerAuthFailed}},
		{name: "declined with a block script", resp: kernel.OnlineResponse{ARC: []byte("05"), IssuerAuthData: h("11223344 00820000"), Scripts: script(0x72, "00000001", block)},
			eaSW: 0x9000, want: kernel.Declined, results: "2000000001", cmds: []string{"SELECT PPSE", "SELECT", "EXTERNAL AUTHENTICATE", "84 1E"}},
		{name: "script command refused", resp: kernel.OnlineResponse{Approved: true, Scripts: script(0x71, "", "04DA9F580103", block)},
			scriptSW: map[byte]uint16{0x1E: 0x6985}, want: kernel.Approved, results: "1200000000", set: []kernel.TVRBit{kernel.TVRScriptBeforeFailed}},
		{name: "two scripts", resp: kernel.OnlineResponse{Approved: true, Scripts: append(script(0x71, "0000000A", block), script(0x72, "0000000B", block)...)},
			scriptSW: map[byte]uint16{}, want: kernel.Approved, results: "200000000A200000000B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent []string
			v := newVisa(t, func(v *kerneltest.Visa) {
				v.CTQ = []byte{0x00, 0x40}
				v.CID = func(tlv.Map) byte { return 0x80 }
				v.Other = func(cmd apdu.Command) apdu.Response {
					switch {
					case cmd.INS == 0x82:
						sent = append(sent, "EXTERNAL AUTHENTICATE")
						return apdu.Response{SW: tc.eaSW}
					case cmd.CLA == 0x84 || cmd.CLA == 0x04:
						sent = append(sent, strings.ToUpper(hex.EncodeToString([]byte{cmd.CLA}))+" "+strings.ToUpper(hex.EncodeToString([]byte{cmd.INS})))
						if sw, ok := tc.scriptSW[cmd.INS]; ok {
							return apdu.Response{SW: sw}
						}
						return apdu.Response{SW: apdu.SW9000}
					}
					return apdu.Response{SW: apdu.SW6D00}
				}
			})
			cfg := config(v)
			setTTQ(0x26, 0x00, 0xC0, 0x00)(&cfg)
			ep, err := entry.New(cfg)
			require.NoError(t, err)
			card := &kerneltest.Card{Apps: []kerneltest.App{v}}
			out, err := ep.Start(context.Background(), card, kernel.Transaction{Amount: 150000})
			require.NoError(t, err)
			require.Equal(t, kernel.OnlineRequest, out.Type, out.String())
			require.Equal(t, kernel.StartB, out.Start)
			require.Equal(t, kernel.OnlineResponseEMV, out.OnlineResponseData)

			var cmds []string
			cfg2 := ep.Config()
			cfg2.Trace = func(x kernel.Exchange) {
				switch x.C[1] {
				case 0xA4:
					if bytes.Contains(x.C, []byte("2PAY")) {
						cmds = append(cmds, "SELECT PPSE")
					} else {
						cmds = append(cmds, "SELECT")
					}
				case 0x82:
					cmds = append(cmds, "EXTERNAL AUTHENTICATE")
				default:
					cmds = append(cmds, strings.ToUpper(hex.EncodeToString(x.C[:1]))+" "+strings.ToUpper(hex.EncodeToString(x.C[1:2])))
				}
			}
			out, err = ep.RestartOnline(context.Background(), card, tc.resp)
			require.NoError(t, err)
			require.Equal(t, tc.want, out.Type, out.String())
			require.Equal(t, kernel.StartNA, out.Start)
			if tc.results != "" {
				require.Equal(t, h(tc.results), out.Record(0x9F5B))
			}
			for _, b := range tc.set {
				require.True(t, out.TVR.Has(b), "want %s in %s", b.Name(), out.TVR)
			}
			if tc.cmds != nil {
				require.Equal(t, tc.cmds, cmds)
			}
			require.NotContains(t, cmds, "80 A8", "no new GET PROCESSING OPTIONS")
			require.Equal(t, tc.resp.ARC, out.Record(0x8A))
			// A second restart is refused: the transaction is over.
			_, err = ep.RestartOnline(context.Background(), card, tc.resp)
			require.ErrorIs(t, err, entry.ErrNoOnlineRestart)
		})
	}
}

// TestIssuerUpdateNotNeeded: a response without EMV data ends the
// transaction with the host's decision at once; an outcome without Online
// Response Data refuses the restart.
func TestIssuerUpdateNotNeeded(t *testing.T) {
	v := newVisa(t, func(v *kerneltest.Visa) {
		v.CTQ = []byte{0x00, 0x40}
		v.CID = func(tlv.Map) byte { return 0x80 }
	})
	cfg := config(v)
	setTTQ(0x26, 0x00, 0xC0, 0x00)(&cfg)
	ep, err := entry.New(cfg)
	require.NoError(t, err)
	card := &kerneltest.Card{Apps: []kerneltest.App{v}}
	_, err = ep.Start(context.Background(), card, kernel.Transaction{Amount: 150000})
	require.NoError(t, err)
	out, err := ep.RestartOnline(context.Background(), card, kernel.OnlineResponse{ARC: []byte("51")})
	require.NoError(t, err)
	require.Equal(t, kernel.Declined, out.Type)
	require.Equal(t, kernel.MsgNotAuthorised, out.UIOnOutcome.Message)

	// Without issuer update support in the TTQ: no restart.
	ep, err = entry.New(config(v))
	require.NoError(t, err)
	out, err = ep.Start(context.Background(), card, kernel.Transaction{Amount: 150000})
	require.NoError(t, err)
	require.Equal(t, kernel.StartNA, out.Start)
	_, err = ep.RestartOnline(context.Background(), card, kernel.OnlineResponse{Approved: true})
	require.ErrorIs(t, err, entry.ErrNoOnlineRestart)
}

// h decodes hex, spaces allowed; it panics on bad test data.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}
