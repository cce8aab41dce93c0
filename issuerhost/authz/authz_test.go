package authz_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

var ctx = context.Background()

// fixedRand gives the same bytes every time (authorisation codes).
type fixedRand struct{}

func (fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 7)
	}
	return len(p), nil
}

func engine(t *testing.T, n *issuertest.Net, p authz.Policy) *authz.Engine {
	t.Helper()
	e, err := authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Policy: p, Now: n.Clock.Now, Rand: fixedRand{}, Cloud: n.Cloud})
	require.NoError(t, err)
	return e
}

func decide(t *testing.T, e *authz.Engine, r authz.Request) authz.Decision {
	t.Helper()
	d, err := e.Authorize(ctx, r)
	require.NoError(t, err)
	return d
}

// iccTags maps DE55 to a cryptogram source.
func iccTags(t *testing.T, icc []byte) cryptogram.Values {
	t.Helper()
	l, err := tlv.Decode(icc)
	require.NoError(t, err)
	out := cryptogram.Values{}
	for _, o := range l {
		out[uint32(o.Tag)] = o.Value
	}
	return out
}

// checkARPC verifies tag 91 as the card does, for response code code.
func checkARPC(t *testing.T, c *issuertest.Card, r authz.Request, d authz.Decision) {
	t.Helper()
	tags := iccTags(t, r.ICC)
	arqc := tags[0x9F26]
	iad := d.IssuerAuthData
	switch c.CVN.ARPCMethod {
	case cryptogram.ARPC1:
		require.Len(t, iad, 10)
		require.Equal(t, []byte(d.Code), iad[8:], "ARC is the response code")
		require.NoError(t, c.CVN.VerifyARPC(c.MK, tags, arqc, iad[8:], nil, iad[:8]))
	case cryptogram.ARPC2:
		require.Len(t, iad, 8)
		csu := iad[4:]
		require.Equal(t, d.Approved(), csu[1]&0x80 != 0, "CSU byte 2 bit 8: issuer approves")
		require.NoError(t, c.CVN.VerifyARPC(c.MK, tags, arqc, csu, nil, iad[:4]))
	}
}

func mutate(f func(*authz.Request)) func(authz.Request) authz.Request {
	return func(r authz.Request) authz.Request { f(&r); return r }
}

// TestPipeline runs one request per stage and decline reason, each on a
// fresh sample issuer, and checks the reason, its response code and stage.
func TestPipeline(t *testing.T) {
	tests := []struct {
		name   string
		card   string
		tap    issuertest.Tap
		policy authz.Policy
		setup  func(t *testing.T, n *issuertest.Net)
		req    func(authz.Request) authz.Request
		// pin, when set, is entered on the PIN pad.
		pin     string
		want    authz.Reason
		code    string
		stage   authz.Stage
		hasARPC bool
	}{
		{name: "approved below the limit, no CVM", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 15000},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "format: unknown MTI", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.MTI = "0300" }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: PAN not digits", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.PAN = "47617390010100AB" }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: no ICC data", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.ICC = nil }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: ICC data not TLV", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.ICC = []byte{0x9F, 0x26, 0x08, 1, 2} }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: a TC, not an ARQC", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) {
				r.ICC = bytes.Replace(r.ICC, []byte{0x9F, 0x27, 0x01, 0x80}, []byte{0x9F, 0x27, 0x01, 0x40}, 1)
			}),
			want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: PSN differs from 5F34", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.PSN = "02" }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: bad expiry", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.Expiry = "2913" }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "format: private field names another key's ATC", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true, ATC: 2},
			req: mutate(func(r *authz.Request) { r.KeyATC, r.HasKeyATC = 3, true }), want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "private field names the key's ATC", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true, ATC: 2},
			req: mutate(func(r *authz.Request) {
				r.KeyATC, r.HasKeyATC, r.DeviceID, r.CVM = 2, true, "3520990017614823", authz.CVMCDCVM
			}),
			want: authz.Approved, code: "00", stage: authz.StageApprove},
		{name: "cash not offered", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.ProcessingCode = "010000" }), want: authz.ProcessingCodeNotSupported, code: "57", stage: authz.StageFormat},
		{name: "magnetic stripe not accepted", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.EntryMode = "021" }), want: authz.EntryModeNotAccepted, code: "57", stage: authz.StageFormat},
		{name: "check digit wrong", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.PAN = "4761739001010011" }), want: authz.UnknownCard, code: "14", stage: authz.StageLookup},
		{name: "no such card", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.PAN = "4761739001010085" }), want: authz.UnknownCard, code: "14", stage: authz.StageLookup},
		{name: "card blocked", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetCardStatus(ctx, issuertest.VisaPlastic, store.CardBlocked)
				}))
			}, want: authz.CardBlocked, code: "62", stage: authz.StageLookup},
		{name: "expiry sent is not the card's", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) { r.Expiry = "3012" }), want: authz.ExpiryMismatch, code: "54", stage: authz.StageLookup},
		{name: "token suspended (R-C1)", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetTokenStatus(ctx, issuertest.Wallet, store.TokenSuspended, n.Clock.Now())
				}))
			}, want: authz.TokenSuspended, code: "62", stage: authz.StageLookup},
		{name: "token never activated (R-S2a)", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetTokenStatus(ctx, issuertest.Wallet, store.TokenInactive, n.Clock.Now())
				}))
			}, want: authz.TokenInactive, code: "62", stage: authz.StageLookup},
		{name: "token deleted", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetTokenStatus(ctx, issuertest.Wallet, store.TokenDeleted, n.Clock.Now())
				}))
			}, want: authz.TokenDeleted, code: "62", stage: authz.StageLookup},
		{name: "token expired", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			setup: func(t *testing.T, n *issuertest.Net) { n.Clock.Set(time.Date(2027, 10, 1, 0, 0, 0, 0, time.UTC)) },
			want:  authz.TokenExpired, code: "54", stage: authz.StageLookup},
		{name: "mobile token at a contact chip reader (R-S5d)", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			req: mutate(func(r *authz.Request) { r.EntryMode = "051" }), want: authz.TokenDomainEntryMode, code: "57", stage: authz.StageLookup},
		// An HCE phone's device is the one the cloud key ledger issued the
		// key to; a device named in the private field is a claim.
		{name: "private field names another phone (R-S5d)", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			req:  mutate(func(r *authz.Request) { r.DeviceID = "0102030405060708" }),
			want: authz.DeviceMismatch, code: "63", stage: authz.StageDevice},
		{name: "phone reported lost to the cloud platform (R-C1)", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.Ledger.SuspendDevice(issuertest.HCE, "3520990017614823"))
			}, want: authz.DeviceLost, code: "62", stage: authz.StageDevice},
		{name: "cryptogram altered", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			req: mutate(func(r *authz.Request) {
				i := bytes.Index(r.ICC, []byte{0x9F, 0x26, 0x08})
				r.ICC = bytes.Clone(r.ICC)
				r.ICC[i+3] ^= 0x01
			}), want: authz.ARQCInvalid, code: "82", stage: authz.StageARQC},
		{name: "amount in the cryptogram altered", card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 1000},
			req: mutate(func(r *authz.Request) {
				r.ICC = bytes.Replace(r.ICC, []byte{0x9F, 0x02, 0x06, 0, 0, 0, 0, 0x10, 0x00}, []byte{0x9F, 0x02, 0x06, 0, 0, 0, 0, 0x01, 0x00}, 1)
			}), want: authz.ARQCInvalid, code: "82", stage: authz.StageARQC},
		{name: "ATC too far ahead (R-G4)", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100, ATC: 65},
			want: authz.ATCOutOfWindow, code: "82", stage: authz.StageReplay, hasARPC: true},
		{name: "ATC within the window", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100, ATC: 64},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "HCE key never issued (R-S5b)", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true, ATC: issuertest.HCEKeys + 1},
			want: authz.KeyNotIssued, code: "82", stage: authz.StageSingleUse},
		{name: "Mastercard HCE key never issued (R-S5b)", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100, CDCVM: true, ATC: issuertest.HCEKeys + 1},
			want: authz.KeyNotIssued, code: "82", stage: authz.StageSingleUse},
		{name: "HCE key past its day (R-S5b)", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			setup: func(t *testing.T, n *issuertest.Net) { n.Clock.Advance(25 * time.Hour) },
			want:  authz.KeyExpired, code: "82", stage: authz.StageSingleUse},
		{name: "just above the no-signature limit without CVM (R-S2d)", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 300001},
			want: authz.CVMRequired, code: "57", stage: authz.StageCVM, hasARPC: true},
		{name: "at the no-signature limit without CVM: not above it (R-S2d)", card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 300000},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "phone at the no-signature limit without CVM (R-S2d)", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 300000},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "phone just above the limit without CVM (R-S2d)", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 300001},
			want: authz.CVMRequired, code: "57", stage: authz.StageCVM, hasARPC: true},
		{name: "just below the limit without CVM", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 299999},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "plastic signs above the limit", card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 400000, Signature: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "signature refused by policy (R-S2d)", card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 400000, Signature: true},
			policy: authz.Policy{RejectSignature: true}, want: authz.CVMRequired, code: "57", stage: authz.StageCVM, hasARPC: true},
		{name: "phone may not sign above the limit (R-S2d)", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 400000, Signature: true},
			want: authz.CVMRequired, code: "57", stage: authz.StageCVM, hasARPC: true},
		{name: "phone verified its holder above the limit", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 400000, CDCVM: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		// The cloud model has no ARPC.
		{name: "HCE below the limit without CDCVM (R-S2e)", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100},
			want: authz.CDCVMRequired, code: "57", stage: authz.StageCVM},
		{name: "HCE with online PIN instead of CDCVM (R-S2e)", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100},
			pin: issuertest.PIN, want: authz.Approved, code: "00", stage: authz.StageApprove},
		{name: "Mastercard HCE with CDCVM", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove},
		{name: "Mastercard HCE with a wrong mobile PIN (R-S2e)", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100},
			want: authz.CloudUMDInvalid, code: "55", stage: authz.StageCVM},
		{name: "online PIN correct", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 500000},
			pin: issuertest.PIN, want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "online PIN wrong (R-G3c)", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 500000},
			pin: "4321", want: authz.PINIncorrect, code: "55", stage: authz.StagePIN, hasARPC: true},
		{name: "PIN block under another key", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 500000},
			req:  mutate(func(r *authz.Request) { r.PINBlock = []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88} }),
			want: authz.PINBlockInvalid, code: "55", stage: authz.StagePIN, hasARPC: true},
		{name: "no PIN on file", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 500000}, pin: issuertest.PIN,
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					c, err := tx.Card(ctx, issuertest.VisaPlastic)
					if err != nil {
						return err
					}
					c.PVV = ""
					return tx.PutCard(ctx, c)
				}))
			}, want: authz.PINNotSet, code: "55", stage: authz.StagePIN, hasARPC: true},
		{name: "card expired", card: issuertest.VisaExpired, tap: issuertest.Tap{Amount: 100},
			want: authz.CardExpired, code: "54", stage: authz.StageLimits, hasARPC: true},
		{name: "currency not the account's", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100, Currency: 840},
			want: authz.AccountCurrencyMismatch, code: "57", stage: authz.StageLimits, hasARPC: true},
		{name: "above the card's limit", card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 2_000_001},
			pin: issuertest.PIN, want: authz.AmountLimitExceeded, code: "61", stage: authz.StageLimits, hasARPC: true},
		{name: "open-to-buy exceeded", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 1_000_001, CDCVM: true},
			want: authz.InsufficientFunds, code: "51", stage: authz.StageLimits, hasARPC: true},
		{name: "open-to-buy exactly used up", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 1_000_000, CDCVM: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "refund needs no CVM nor open-to-buy", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 2_000_000, Refund: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "refund with the card's AAC: no ARPC", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 5000, AAC: true, Refund: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove},
		{name: "format: purchase with an AAC", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 5000, AAC: true},
			want: authz.FormatError, code: "30", stage: authz.StageFormat},
		{name: "refund with an altered AAC", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 5000, AAC: true, Refund: true},
			req: mutate(func(r *authz.Request) {
				r.ICC = bytes.Replace(r.ICC, []byte{0x9F, 0x02, 0x06, 0, 0, 0, 0, 0x50, 0x00}, []byte{0x9F, 0x02, 0x06, 0, 0, 0, 0, 0x05, 0x00}, 1)
			}), want: authz.ARQCInvalid, code: "82", stage: authz.StageARQC},
		{name: "Visa CVN 10, ARPC method 1", card: issuertest.Visa10, tap: issuertest.Tap{Amount: 100},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "Visa CVN 22", card: issuertest.Visa22, tap: issuertest.Tap{Amount: 100},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "Mastercard CVN 21", card: issuertest.MC21, tap: issuertest.Tap{Amount: 100},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
		{name: "wallet token with CDCVM", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 450000, CDCVM: true},
			want: authz.Approved, code: "00", stage: authz.StageApprove, hasARPC: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := issuertest.New(t)
			if tc.setup != nil {
				tc.setup(t, n)
			}
			e := engine(t, n, tc.policy)
			r := n.Request(tc.card, tc.tap)
			if tc.pin != "" {
				r.PINBlock = issuertest.PINBlock(t, tc.pin, r.PAN)
			}
			if tc.req != nil {
				r = tc.req(r)
			}
			d := decide(t, e, r)
			require.Equal(t, tc.want, d.Reason, d.String())
			require.Equal(t, tc.code, d.Code)
			require.Equal(t, tc.stage, d.Reason.Stage())
			require.True(t, d.Reason.Known())
			if tc.code == "00" {
				require.Len(t, d.AuthCode, 6)
				require.Empty(t, d.Reason.DeclineReason())
			} else {
				require.Empty(t, d.AuthCode)
				require.Equal(t, isospec.DeclineReason(tc.want), d.Reason.DeclineReason())
			}
			if tc.hasARPC {
				checkARPC(t, n.Cards[tc.card], r, d)
			} else {
				require.Nil(t, d.IssuerAuthData)
			}
			// Every decision is logged with the PAN masked, and audited.
			require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
				log, err := tx.AuthLog(ctx, 1)
				require.NoError(t, err)
				require.Len(t, log, 1)
				require.Equal(t, tc.code, log[0].ResponseCode)
				require.Equal(t, string(tc.want), log[0].Reason)
				require.NotContains(t, log[0].MaskedPAN, r.PAN[6:12])
				_, err = tx.VerifyAudit(ctx)
				return err
			}))
		})
	}
}
