package authz_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// The attacker's matrix: genuine cryptograms from every sample card type,
// then the message around them changed. Every change is declined with its
// own reason, takes no hold and leaves open-to-buy as it was; the genuine
// message still approves.

// tamperCase is one attack (or its genuine control).
type tamperCase struct {
	name   string
	card   string
	tap    issuertest.Tap
	policy authz.Policy
	setup  func(t *testing.T, n *issuertest.Net)
	req    func(t *testing.T, r *authz.Request)
	pin    bool
	want   authz.Reason
}

// the sample credentials, one per card type and CVN.
var tamperCards = []string{
	issuertest.VisaPlastic, // Visa plastic, visa18
	issuertest.Visa10,      // Visa plastic, visa10 (CVR only)
	issuertest.Visa22,      // Visa plastic, visa22
	issuertest.MCPlastic,   // Mastercard plastic, mc16
	issuertest.MC21,        // Mastercard plastic, mc21
	issuertest.VisaSE,      // Visa SE phone, visa18
	"mc-se-phone",          // Mastercard SE phone, mc17
	issuertest.HCE,         // Visa HCE phone, visa-cloud limited-use keys
	issuertest.HCEMC,       // Mastercard HCE phone, mc-cloud single-use keys
	issuertest.Wallet,      // wallet phone token, visa22
}

func isPhoneCard(name string) bool {
	switch name {
	case issuertest.VisaSE, "mc-se-phone", issuertest.HCE, issuertest.HCEMC, issuertest.Wallet:
		return true
	}
	return false
}

// genuine is a NT$1,500 tap of card; phones verified their holder.
func genuine(card string) issuertest.Tap {
	return issuertest.Tap{Amount: 150000, CDCVM: isPhoneCard(card)}
}

// setTag sets (or adds) tag in DE55 to v, leaving the cryptogram as it
// was: what a man in the middle can do.
func setTag(t *testing.T, icc []byte, tag tlv.Tag, v []byte) []byte {
	t.Helper()
	l, err := tlv.Decode(icc)
	require.NoError(t, err)
	found := false
	for i := range l {
		if l[i].Tag == tag {
			l[i].Value, found = v, true
		}
	}
	if !found {
		l = append(l, tlv.TLV{Tag: tag, Value: v})
	}
	out, err := l.Encode()
	require.NoError(t, err)
	return out
}

// openToBuy is the open-to-buy of every account, by account ID.
func openToBuy(t *testing.T, n *issuertest.Net) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		for _, id := range []string{"acct-1", "acct-2", "acct-3", "acct-4"} {
			a, err := tx.Account(ctx, id)
			if err != nil {
				return err
			}
			out[id] = a.OpenToBuy()
		}
		return nil
	}))
	return out
}

// setControls gives token id the domain restriction controls c.
func setControls(t *testing.T, n *issuertest.Net, id string, c vault.Controls) {
	t.Helper()
	d, err := c.Encode()
	require.NoError(t, err)
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, id)
		if err != nil {
			return err
		}
		k.Domain = d
		return tx.PutToken(ctx, k)
	}))
}

// bindWallet makes the wallet token device-bound to walletDevice, its
// phone putting the binding in 9F10 (visa22 covers the whole of 9F10).
var walletDevice = []byte{0x35, 0x20, 0x99, 0x00, 0x17, 0x61, 0x48, 0x49}

func bindWallet(t *testing.T, n *issuertest.Net) {
	t.Helper()
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, issuertest.Wallet)
		if err != nil {
			return err
		}
		k.DeviceBound = true
		if err := tx.PutToken(ctx, k); err != nil {
			return err
		}
		return tx.PutDevice(ctx, store.Device{DeviceID: "3520990017614849", TokenID: issuertest.Wallet,
			Status: store.DeviceActive, RegisteredAt: n.Clock.Now(), StatusAt: n.Clock.Now()})
	}))
	n.Cards[issuertest.Wallet].DeviceID = walletDevice
}

func runTamper(t *testing.T, tc tamperCase) {
	t.Helper()
	n := issuertest.New(t)
	if tc.setup != nil {
		tc.setup(t, n)
	}
	e := engine(t, n, tc.policy)
	before := openToBuy(t, n)
	r := n.Request(tc.card, tc.tap)
	if tc.pin {
		r.PINBlock = issuertest.PINBlock(t, issuertest.PIN, r.PAN)
	}
	if tc.req != nil {
		tc.req(t, &r)
	}
	d := decide(t, e, r)
	require.Equal(t, tc.want, d.Reason, d.String())
	require.Equal(t, tc.want.Code(), d.Code)
	after := openToBuy(t, n)
	_, err := holdOf(t, n, r.Key())
	if tc.want != authz.Approved {
		require.Empty(t, d.AuthCode)
		require.Equal(t, before, after, "a decline takes no hold")
		require.True(t, errors.Is(err, store.ErrNotFound), "no hold for a decline: %v", err)
		return
	}
	require.Len(t, d.AuthCode, 6)
	if tc.tap.Refund {
		require.Equal(t, before, after, "a refund holds nothing")
		return
	}
	require.NoError(t, err, "an approval holds")
	var spent int64
	for id := range before {
		spent += before[id] - after[id]
	}
	require.Equal(t, r.Amount, spent, "the hold is the amount the card signed")
}

func holdOf(t *testing.T, n *issuertest.Net, key string) (store.Hold, error) {
	t.Helper()
	var h store.Hold
	err := n.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		h, err = tx.Hold(ctx, key)
		return err
	})
	return h, err
}

// R-G2: the amount, currency and type the issuer approves are the ones
// the cryptogram covers (9F02, 5F2A, 9C are in every CVN's minimum data
// set); R-G4: the local date (DE13) must be that of the cryptogram (9A),
// within a day, or an old cryptogram would pay for a new message.
func TestTamperTransactionData(t *testing.T) {
	for _, card := range tamperCards {
		tap := genuine(card)
		refund := tap
		refund.Refund = true
		for _, tc := range []tamperCase{
			{name: "genuine", tap: tap, want: authz.Approved},
			{name: "genuine with DE13 the same day", tap: tap, want: authz.Approved,
				req: func(t *testing.T, r *authz.Request) { r.LocalDate = "0315" }},
			{name: "genuine with DE13 a day later (time zones)", tap: tap, want: authz.Approved,
				req: func(t *testing.T, r *authz.Request) { r.LocalDate = "0316" }},
			{name: "genuine refund (DE3 20, 9C 20)", tap: refund, want: authz.Approved},
			// R-G2: DE4 is not 9F02.
			{name: "DE4 up to NT$2,900", tap: tap, want: authz.AmountMismatch,
				req: func(t *testing.T, r *authz.Request) { r.Amount = 290000 }},
			{name: "DE4 down to NT$0.01", tap: tap, want: authz.AmountMismatch,
				req: func(t *testing.T, r *authz.Request) { r.Amount = 1 }},
			// R-G2: DE49 is not 5F2A.
			{name: "DE49 USD", tap: tap, want: authz.CurrencyMismatch,
				req: func(t *testing.T, r *authz.Request) { r.Currency = 840 }},
			// R-G2: DE3 does not go with 9C.
			{name: "DE3 refund on a purchase cryptogram (9C 00)", tap: tap, want: authz.TypeMismatch,
				req: func(t *testing.T, r *authz.Request) { r.ProcessingCode = "200000" }},
			{name: "DE3 purchase on a refund cryptogram (9C 20)", tap: refund, want: authz.TypeMismatch,
				req: func(t *testing.T, r *authz.Request) { r.ProcessingCode = "000000" }},
			// R-G4: DE13 two days from 9A (26-03-15).
			{name: "DE13 two days later", tap: tap, want: authz.DateMismatch,
				req: func(t *testing.T, r *authz.Request) { r.LocalDate = "0317" }},
			{name: "DE13 two days earlier", tap: tap, want: authz.DateMismatch,
				req: func(t *testing.T, r *authz.Request) { r.LocalDate = "0313" }},
		} {
			tc.card = card
			t.Run(card+"/"+tc.name, func(t *testing.T) { runTamper(t, tc) })
		}
	}
}

// R-G4: the cryptogram's date (9A) must be within a day of the host's own
// date, whether DE13 is left out or agrees with 9A: a cryptogram harvested
// earlier (or made for a later day) does not pay now. A cloud phone's
// keys carry their own time to live, which refuses such a tap first.
func TestCryptogramDateAgainstHostClock(t *testing.T) {
	for _, card := range tamperCards {
		if card == issuertest.HCE || card == issuertest.HCEMC {
			continue
		}
		tap := genuine(card)
		for _, tc := range []tamperCase{
			{name: "cryptogram of the day before", tap: tap, want: authz.Approved,
				setup: func(t *testing.T, n *issuertest.Net) { n.Clock.Set(issuertest.Start.Add(20 * time.Hour)) }},
			{name: "cryptogram of two days ago, no DE13", tap: tap, want: authz.DateOutOfRange,
				setup: func(t *testing.T, n *issuertest.Net) { n.Clock.Set(issuertest.Start.AddDate(0, 0, 2)) },
				req:   func(t *testing.T, r *authz.Request) { r.LocalDate = "" }},
			{name: "cryptogram of 90 days ago, DE13 agreeing", tap: tap, want: authz.DateOutOfRange,
				setup: func(t *testing.T, n *issuertest.Net) { n.Clock.Set(issuertest.Start.AddDate(0, 0, 90)) },
				req:   func(t *testing.T, r *authz.Request) { r.LocalDate = "0315" }},
			{name: "cryptogram dated two days ahead", tap: tap, want: authz.DateOutOfRange,
				setup: func(t *testing.T, n *issuertest.Net) { n.Clock.Set(issuertest.Start.AddDate(0, 0, -2)) },
				req:   func(t *testing.T, r *authz.Request) { r.LocalDate = "" }},
		} {
			tc.card = card
			t.Run(card+"/"+tc.name, func(t *testing.T) { runTamper(t, tc) })
		}
	}
}

// R-G2: the cryptogram's type is the one the CVR it covers records, not
// 9F27, which no CVN covers: a card's AAC (it declined offline) sent for
// a purchase with 9F27 changed to an ARQC or left out is refused; a refund
// may carry the card's AAC, with or without 9F27, and gets no ARPC.
func TestTamperCryptogramType(t *testing.T) {
	dropCID := func(t *testing.T, r *authz.Request) {
		r.ICC = dropTag(t, r.ICC, tlv.Tag(cryptogram.TagCryptogramInfoData))
	}
	cid := func(v byte) func(t *testing.T, r *authz.Request) {
		return func(t *testing.T, r *authz.Request) {
			r.ICC = setTag(t, r.ICC, tlv.Tag(cryptogram.TagCryptogramInfoData), []byte{v})
		}
	}
	for _, card := range tamperCards {
		aac := genuine(card)
		aac.AAC = true
		refundAAC := aac
		refundAAC.Refund = true
		refund := genuine(card)
		refund.Refund = true
		for _, tc := range []tamperCase{
			{name: "AAC sent as an ARQC", tap: aac, req: cid(0x80), want: authz.ACTypeMismatch},
			{name: "AAC without 9F27", tap: aac, req: dropCID, want: authz.ACTypeMismatch},
			{name: "ARQC without 9F27", tap: genuine(card), req: dropCID, want: authz.Approved},
			{name: "refund with the card's AAC without 9F27", tap: refundAAC, req: dropCID, want: authz.Approved},
			{name: "refund ARQC sent as an AAC", tap: refund, req: cid(0x00), want: authz.ACTypeMismatch},
		} {
			tc.card = card
			t.Run(card+"/"+tc.name, func(t *testing.T) { runTamper(t, tc) })
		}
	}
}

// R-S2e: an HCE phone's cardholder is verified for every transaction, a
// refund too: a refund the phone's cryptograms do not show verified is
// declined, whatever the amount.
func TestHCERefundNeedsCardholder(t *testing.T) {
	for _, tc := range []tamperCase{
		{name: "visa-cloud refund, verified", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, Refund: true, CDCVM: true}, want: authz.Approved},
		{name: "visa-cloud refund, unverified", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, Refund: true}, want: authz.CDCVMRequired},
		{name: "mc-cloud refund, verified", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100, Refund: true, CDCVM: true}, want: authz.Approved},
		{name: "mc-cloud refund, wrong mobile PIN", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100, Refund: true}, want: authz.CloudUMDInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) { runTamper(t, tc) })
	}
}

// dropTag removes tag from DE55, leaving the cryptogram as it was.
func dropTag(t *testing.T, icc []byte, tag tlv.Tag) []byte {
	t.Helper()
	l, err := tlv.Decode(icc)
	require.NoError(t, err)
	var out tlv.List
	for _, o := range l {
		if o.Tag != tag {
			out = append(out, o)
		}
	}
	b, err := out.Encode()
	require.NoError(t, err)
	return b
}

// A refund's AAC sent without 9F27 gets no ARPC, whatever declines it: an
// ARPC answers an ARQC only.
func TestRefundAACGetsNoARPC(t *testing.T) {
	n := issuertest.New(t)
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 5000, AAC: true, Refund: true})
	r.ICC = dropTag(t, r.ICC, tlv.Tag(cryptogram.TagCryptogramInfoData))
	r.Amount = 4000
	d := decide(t, engine(t, n, authz.Policy{}), r)
	require.Equal(t, authz.AmountMismatch, d.Reason)
	require.Empty(t, d.IssuerAuthData)
}

// R-G2: an unauthenticated message cannot probe: with the cryptogram
// altered, every tamper gives the cryptogram failure, never the tamper's
// own reason.
func TestTamperNeedsAValidCryptogram(t *testing.T) {
	breakAC := func(t *testing.T, r *authz.Request) {
		i := bytes.Index(r.ICC, []byte{0x9F, 0x26, 0x08})
		require.GreaterOrEqual(t, i, 0)
		r.ICC = bytes.Clone(r.ICC)
		r.ICC[i+3] ^= 0x01
	}
	// An mc-cloud phone's data and keys are authenticated by the MD
	// cryptogram in 9F10 (9F26 is the UMD one, the cardholder's): breaking
	// it is that phone's cryptogram failure.
	breakMD := func(t *testing.T, r *authz.Request) {
		iad := issuertest.ICCValue(t, r.ICC, 0x9F10)
		iad[7] ^= 0x01
		r.ICC = setTag(t, r.ICC, 0x9F10, iad)
	}
	for _, tc := range []tamperCase{
		{name: "amount", card: issuertest.VisaPlastic, req: func(t *testing.T, r *authz.Request) { r.Amount++ }},
		{name: "date", card: issuertest.MCPlastic, req: func(t *testing.T, r *authz.Request) { r.LocalDate = "0101" }},
		{name: "CDCVM claim", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100},
			req: func(t *testing.T, r *authz.Request) { r.CVM = authz.CVMCDCVM }},
		{name: "device claim", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			req: func(t *testing.T, r *authz.Request) { r.DeviceID = "0102030405060708" }},
		{name: "mc-cloud CDCVM claim", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100}, want: authz.CloudMDInvalid,
			req: func(t *testing.T, r *authz.Request) { r.CVM = authz.CVMCDCVM }},
		{name: "mc-cloud device claim", card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100, CDCVM: true}, want: authz.CloudMDInvalid,
			req: func(t *testing.T, r *authz.Request) { r.DeviceID = "0102030405060708" }},
	} {
		if tc.tap.Amount == 0 {
			tc.tap = genuine(tc.card)
		}
		breaks := breakAC
		if tc.want == authz.CloudMDInvalid {
			breaks = breakMD
		} else {
			tc.want = authz.ARQCInvalid
		}
		inner := tc.req
		tc.req = func(t *testing.T, r *authz.Request) { inner(t, r); breaks(t, r) }
		t.Run(tc.name, func(t *testing.T) { runTamper(t, tc) })
	}
}

// R-S2d, R-S2e: cardholder verification is taken from the CVR the
// cryptogram covers and from an online PIN the issuer verified, never from
// 9F34, 9F6C or the private field; a claim they make (CDCVM or PIN
// performed) that the covered CVR contradicts declines whatever the
// amount.
func TestTamperCVMClaims(t *testing.T) {
	cdcvmCTQ := func(t *testing.T, r *authz.Request) {
		ctq := issuertest.ICCValue(t, r.ICC, 0x9F6C)
		ctq[1] |= 0x80
		r.ICC = setTag(t, r.ICC, 0x9F6C, ctq)
	}
	cdcvmResults := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x01, 0x00, 0x02}) }
	pinResults := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x02, 0x00, 0x00}) }
	privateCDCVM := func(t *testing.T, r *authz.Request) { r.CVM = authz.CVMCDCVM }
	signatureResults := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x1E, 0x00, 0x00}) }
	offlinePIN := func(method byte) func(t *testing.T, r *authz.Request) {
		return func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{method, 0x00, 0x02}) }
	}
	contact := func(f func(t *testing.T, r *authz.Request)) func(t *testing.T, r *authz.Request) {
		return func(t *testing.T, r *authz.Request) { r.EntryMode = "051"; f(t, r) }
	}

	hceUnverified := issuertest.Tap{Amount: 150000}
	plastic4000 := issuertest.Tap{Amount: 400000}
	tests := []tamperCase{
		// R-S2e: an HCE phone that never verified its holder.
		{name: "HCE visa unverified, genuine", card: issuertest.HCE, tap: hceUnverified, want: authz.CDCVMRequired},
		{name: "HCE visa unverified, 9F6C says CDCVM", card: issuertest.HCE, tap: hceUnverified, req: cdcvmCTQ, want: authz.CVMClaimUnverified},
		{name: "HCE visa unverified, 9F34 says CDCVM", card: issuertest.HCE, tap: hceUnverified, req: cdcvmResults, want: authz.CVMClaimUnverified},
		{name: "HCE visa unverified, private field says CDCVM", card: issuertest.HCE, tap: hceUnverified, req: privateCDCVM, want: authz.CVMClaimUnverified},
		// An online PIN selected without a PIN block is a bypass: no CVM.
		{name: "HCE visa unverified, 9F34 online PIN, no PIN block (bypass)", card: issuertest.HCE, tap: hceUnverified, req: pinResults, want: authz.CDCVMRequired},
		{name: "HCE visa verified, genuine", card: issuertest.HCE, tap: genuine(issuertest.HCE), want: authz.Approved},
		{name: "HCE visa verified, private field agrees", card: issuertest.HCE, tap: genuine(issuertest.HCE), req: privateCDCVM, want: authz.Approved},
		{name: "HCE visa online PIN instead", card: issuertest.HCE, tap: hceUnverified, pin: true, want: authz.Approved},
		// An mc-cloud phone that did not verify its holder cannot unlock
		// its single-use key: the UMD cryptogram fails.
		{name: "HCE mc unverified, genuine", card: issuertest.HCEMC, tap: hceUnverified, want: authz.CloudUMDInvalid},
		{name: "HCE mc unverified, 9F34 says CDCVM", card: issuertest.HCEMC, tap: hceUnverified, req: cdcvmResults, want: authz.CVMClaimUnverified},
		{name: "HCE mc unverified, private field says CDCVM", card: issuertest.HCEMC, tap: hceUnverified, req: privateCDCVM, want: authz.CVMClaimUnverified},
		{name: "HCE mc verified, genuine", card: issuertest.HCEMC, tap: genuine(issuertest.HCEMC), want: authz.Approved},
		// R-S2e holds below the limit too: a claim is checked whatever the amount.
		{name: "HCE visa NT$1 unverified, 9F6C says CDCVM", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100}, req: cdcvmCTQ, want: authz.CVMClaimUnverified},
		{name: "Visa plastic NT$15 (below the limit), 9F34 says CDCVM", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 1500}, req: cdcvmResults, want: authz.CVMClaimUnverified},

		// R-S2d: a Visa plastic at NT$4,000 without CVM.
		{name: "Visa plastic NT$4,000, genuine no CVM", card: issuertest.VisaPlastic, tap: plastic4000, want: authz.CVMRequired},
		{name: "Visa plastic NT$4,000, 9F34 says CDCVM", card: issuertest.VisaPlastic, tap: plastic4000, req: cdcvmResults, want: authz.CVMClaimUnverified},
		{name: "Visa plastic NT$4,000, 9F6C says CDCVM", card: issuertest.VisaPlastic, tap: plastic4000, req: cdcvmCTQ, want: authz.CVMClaimUnverified},
		{name: "Visa plastic NT$4,000, private field says CDCVM", card: issuertest.VisaPlastic, tap: plastic4000, req: privateCDCVM, want: authz.CVMClaimUnverified},
		{name: "Visa plastic NT$4,000, 9F34 online PIN, no PIN block (bypass)", card: issuertest.VisaPlastic, tap: plastic4000, req: pinResults, want: authz.CVMRequired},
		// A successful offline PIN claimed at a contact read: the covered
		// CVR records no offline PIN (the sample cards offer none).
		{name: "Visa plastic NT$4,000 contact, 9F34 says offline plaintext PIN verified", card: issuertest.VisaPlastic, tap: plastic4000,
			req: contact(offlinePIN(0x01)), want: authz.CVMClaimUnverified},
		{name: "Visa plastic NT$15 contact, 9F34 says offline enciphered PIN verified", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 1500},
			req: contact(offlinePIN(0x04)), want: authz.CVMClaimUnverified},
		{name: "Mastercard plastic NT$4,000, 9F34 says offline PIN and signature", card: issuertest.MCPlastic, tap: plastic4000,
			req: offlinePIN(0x03), want: authz.CVMClaimUnverified},
		{name: "Visa plastic NT$4,000 contact, 9F34 says offline PIN failed (no claim), no CVM", card: issuertest.VisaPlastic, tap: plastic4000,
			req: contact(func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x01, 0x00, 0x01}) }), want: authz.CVMRequired},
		{name: "Visa plastic NT$4,000, online PIN", card: issuertest.VisaPlastic, tap: plastic4000, pin: true, want: authz.Approved},
		{name: "Visa plastic NT$4,000, 9F34 online PIN with the PIN", card: issuertest.VisaPlastic, tap: plastic4000, pin: true, req: pinResults, want: authz.Approved},
		// Signature: no cryptogram covers it. Decision: the terminal's
		// word is taken for a plastic card (above the no-signature limit
		// the cardholder signs), unless the policy rejects signatures;
		// phones never sign (R-S2d).
		{name: "Visa plastic NT$4,000, signature (advisory, accepted)", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 400000, Signature: true}, want: authz.Approved},
		{name: "Visa plastic NT$4,000, 9F34 says signature (advisory, accepted)", card: issuertest.VisaPlastic, tap: plastic4000, req: signatureResults, want: authz.Approved},
		{name: "Visa plastic NT$4,000, signature rejected by policy", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 400000, Signature: true},
			policy: authz.Policy{RejectSignature: true}, want: authz.CVMRequired},
		{name: "Mastercard plastic NT$4,000, 9F34 says CDCVM", card: issuertest.MCPlastic, tap: plastic4000, req: cdcvmResults, want: authz.CVMClaimUnverified},
		{name: "Visa CVN 10 plastic NT$4,000, 9F6C says CDCVM", card: issuertest.Visa10, tap: plastic4000, req: cdcvmCTQ, want: authz.CVMClaimUnverified},

		// R-S2d: SE phones and the wallet phone above the limit.
		{name: "Visa SE phone NT$4,000 unverified, genuine", card: issuertest.VisaSE, tap: plastic4000, want: authz.CVMRequired},
		{name: "Visa SE phone NT$4,000 unverified, 9F6C says CDCVM", card: issuertest.VisaSE, tap: plastic4000, req: cdcvmCTQ, want: authz.CVMClaimUnverified},
		{name: "Visa SE phone NT$4,000 unverified, 9F34 signature", card: issuertest.VisaSE, tap: plastic4000, req: signatureResults, want: authz.CVMRequired},
		{name: "Visa SE phone NT$4,000 verified", card: issuertest.VisaSE, tap: issuertest.Tap{Amount: 400000, CDCVM: true}, want: authz.Approved},
		{name: "Mastercard SE phone NT$4,000 unverified, 9F34 says CDCVM", card: "mc-se-phone", tap: plastic4000, req: cdcvmResults, want: authz.CVMClaimUnverified},
		{name: "Mastercard SE phone NT$4,000 verified", card: "mc-se-phone", tap: issuertest.Tap{Amount: 400000, CDCVM: true}, want: authz.Approved},
		{name: "wallet phone NT$4,000 unverified, private field says CDCVM", card: issuertest.Wallet, tap: plastic4000, req: privateCDCVM, want: authz.CVMClaimUnverified},
		{name: "wallet phone NT$4,000 unverified, 9F6C says CDCVM", card: issuertest.Wallet, tap: plastic4000, req: cdcvmCTQ, want: authz.CVMClaimUnverified},
		{name: "wallet phone NT$4,000 verified", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 400000, CDCVM: true}, want: authz.Approved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runTamper(t, tc) })
	}
}

// R-S5d: the device of a transaction rests on authenticated data: the
// phone the cloud key ledger issued an HCE phone's key to (R-S5b; a cloud
// 9F10 names no device), or for another device-bound token a 9F10 that
// its CVN covers whole. The device IDs of 9F10 and the private field are
// claims that must agree.
func TestTamperDevice(t *testing.T) {
	other := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	privateOther := func(t *testing.T, r *authz.Request) { r.DeviceID = "0102030405060708" }
	// editIAD puts another device in 9F10's binding after the cryptogram
	// was computed; editKeyIndex names the HCE phone's key of ATC 2 in a
	// visa-cloud 9F10, editMD changes an mc-cloud MD cryptogram.
	editIAD := func(t *testing.T, r *authz.Request) {
		iad := issuertest.ICCValue(t, r.ICC, 0x9F10)
		i := bytes.IndexByte(iad, 0xD1)
		require.GreaterOrEqual(t, i, 0)
		copy(iad[i+1:], other)
		r.ICC = setTag(t, r.ICC, 0x9F10, iad)
	}
	editKeyIndex := func(t *testing.T, r *authz.Request) {
		iad := issuertest.ICCValue(t, r.ICC, 0x9F10)
		copy(iad[7:11], issuertest.KeyIndex(t, 2).BCD())
		r.ICC = setTag(t, r.ICC, 0x9F10, iad)
	}
	editMD := func(t *testing.T, r *authz.Request) {
		iad := issuertest.ICCValue(t, r.ICC, 0x9F10)
		iad[10] ^= 0x80
		r.ICC = setTag(t, r.ICC, 0x9F10, iad)
	}
	tests := []tamperCase{
		{name: "HCE visa genuine", card: issuertest.HCE, want: authz.Approved},
		{name: "HCE visa genuine, private field agrees", card: issuertest.HCE, want: authz.Approved,
			req: func(t *testing.T, r *authz.Request) { r.DeviceID = "3520990017614823" }},
		{name: "HCE visa, another device in the private field", card: issuertest.HCE, req: privateOther, want: authz.DeviceMismatch},
		// visa-cloud covers the whole of 9F10: naming another issued key
		// of the phone there breaks the cryptogram.
		{name: "HCE visa, 9F10 key index edited in transit", card: issuertest.HCE, req: editKeyIndex, want: authz.ARQCInvalid},
		{name: "HCE mc genuine", card: issuertest.HCEMC, want: authz.Approved},
		{name: "HCE mc genuine, private field agrees", card: issuertest.HCEMC, want: authz.Approved,
			req: func(t *testing.T, r *authz.Request) { r.DeviceID = "3520990017614831" }},
		{name: "HCE mc, another device in the private field", card: issuertest.HCEMC, req: privateOther, want: authz.DeviceMismatch},
		{name: "HCE mc, MD cryptogram in 9F10 edited in transit", card: issuertest.HCEMC, req: editMD, want: authz.CloudMDInvalid},

		// A device-bound wallet token on visa22 (covers 9F10 whole).
		{name: "bound wallet genuine", card: issuertest.Wallet, setup: bindWallet, want: authz.Approved},
		{name: "bound wallet, another device in the private field", card: issuertest.Wallet, setup: bindWallet, req: privateOther, want: authz.DeviceMismatch},
		{name: "bound wallet, the phone names an unregistered device in 9F10", card: issuertest.Wallet, setup: bindWallet,
			tap: issuertest.Tap{Device: other}, want: authz.DeviceNotBound},
		{name: "bound wallet, 9F10 device edited in transit", card: issuertest.Wallet, setup: bindWallet, req: editIAD, want: authz.ARQCInvalid},
		{name: "bound wallet, no binding in 9F10", card: issuertest.Wallet, setup: bindWallet, tap: issuertest.Tap{NoBinding: true}, want: authz.DeviceNotBound},
		// A device-bound token that is not HCE on a CVN that does not cover
		// the binding (mc21) cannot be bound on authenticated data.
		{name: "device-bound non-HCE token on mc21", card: issuertest.HCEMC, want: authz.DeviceBindingUnauthenticated,
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					k, err := tx.Token(ctx, issuertest.HCEMC)
					if err != nil {
						return err
					}
					k.FormFactor, k.CVN = "wallet-phone", "mc21"
					return tx.PutToken(ctx, k)
				}))
				// The phone computes mc21 cryptograms with the token's own
				// master key, its binding in 9F10.
				c := n.Cards[issuertest.HCEMC]
				cvn, err := cryptogram.Lookup("mc21")
				require.NoError(t, err)
				mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, issuertest.IMKTok), c.PAN, c.PSN)
				require.NoError(t, err)
				n.Cards[issuertest.HCEMC] = &issuertest.Card{Name: c.Name, PAN: c.PAN, PSN: c.PSN, Expiry: c.Expiry, CVN: cvn, MK: mk,
					DeviceID: c.DeviceID}
			}},
		// An HCE token must be a cloud card: with a CVN of its own keys
		// (visa18) the issuer has no authenticated phone for it.
		{name: "HCE token on visa18, no cloud keys", card: issuertest.HCE, want: authz.DeviceBindingUnauthenticated,
			setup: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					k, err := tx.Token(ctx, issuertest.HCE)
					if err != nil {
						return err
					}
					k.CVN = "visa18"
					return tx.PutToken(ctx, k)
				}))
				c := n.Cards[issuertest.HCE]
				cvn, err := cryptogram.Lookup("visa18")
				require.NoError(t, err)
				mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, issuertest.IMKTok), c.PAN, c.PSN)
				require.NoError(t, err)
				n.Cards[issuertest.HCE] = &issuertest.Card{Name: c.Name, PAN: c.PAN, PSN: c.PSN, Expiry: c.Expiry, CVN: cvn, MK: mk,
					DeviceID: c.DeviceID}
			}},
		// Credentials bound to no device: a device claim has nothing to
		// contradict and is ignored.
		{name: "unbound wallet, device in the private field", card: issuertest.Wallet, req: privateOther, want: authz.Approved},
		{name: "Visa SE phone, device in the private field", card: issuertest.VisaSE, req: privateOther, want: authz.Approved},
		{name: "Visa plastic, device in the private field", card: issuertest.VisaPlastic, req: privateOther, want: authz.Approved},
	}
	for _, tc := range tests {
		if tc.tap.Amount == 0 {
			dev, nb := tc.tap.Device, tc.tap.NoBinding
			tc.tap = genuine(tc.card)
			tc.tap.Device, tc.tap.NoBinding = dev, nb
		}
		t.Run(tc.name, func(t *testing.T) { runTamper(t, tc) })
	}
}

// R-S5d: a token serves only where its domain restriction controls allow:
// entry mode, channel, token requestor, merchant, merchant category; each
// refusal has its own reason.
func TestTamperTokenDomain(t *testing.T) {
	strict := func(id string) func(t *testing.T, n *issuertest.Net) {
		return func(t *testing.T, n *issuertest.Net) {
			c := vault.MobileControls()
			c.RequireRequestor = true
			c.Merchants = []string{"M00000000000001"}
			c.MCCs = []string{"5411", "5812"}
			setControls(t, n, id, c)
		}
	}
	for _, tok := range []struct{ card, requestor string }{
		{issuertest.HCE, "40010030273"}, {issuertest.HCEMC, "50120834693"}, {issuertest.Wallet, "40010075001"},
	} {
		ok := func(t *testing.T, r *authz.Request) { r.TokenRequestorID, r.MCC = tok.requestor, "5411" }
		with := func(f func(r *authz.Request)) func(t *testing.T, r *authz.Request) {
			return func(t *testing.T, r *authz.Request) { ok(t, r); f(r) }
		}
		trid9F19 := func(id string) []byte { return packDigits("0" + id) }
		for _, tc := range []tamperCase{
			{name: "genuine, mobile domain", want: authz.Approved},
			{name: "genuine, strict controls", setup: strict(tok.card), req: ok, want: authz.Approved},
			{name: "genuine, requestor in 9F19 only", setup: strict(tok.card), want: authz.Approved,
				req: func(t *testing.T, r *authz.Request) {
					r.MCC = "5812"
					r.ICC = setTag(t, r.ICC, 0x9F19, trid9F19(tok.requestor))
				}},
			{name: "contact chip entry", req: func(t *testing.T, r *authz.Request) { r.EntryMode = "051" }, want: authz.TokenDomainEntryMode},
			{name: "customer not present (e-commerce channel)", req: func(t *testing.T, r *authz.Request) { r.ConditionCode = "01" },
				want: authz.TokenDomainChannel},
			{name: "another requestor in the private field", req: func(t *testing.T, r *authz.Request) { r.TokenRequestorID = "40010099999" },
				want: authz.TokenDomainRequestor},
			{name: "another requestor in 9F19", want: authz.TokenDomainRequestor,
				req: func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F19, trid9F19("40010099999")) }},
			{name: "9F19 and the private field disagree", setup: strict(tok.card), want: authz.TokenDomainRequestor,
				req: func(t *testing.T, r *authz.Request) {
					ok(t, r)
					r.TokenRequestorID = "40010099999"
					r.ICC = setTag(t, r.ICC, 0x9F19, trid9F19(tok.requestor))
				}},
			{name: "requestor required, none named", setup: strict(tok.card), want: authz.TokenDomainRequestor,
				req: func(t *testing.T, r *authz.Request) { r.MCC = "5411" }},
			{name: "merchant outside the list", setup: strict(tok.card), want: authz.TokenDomainMerchant,
				req: with(func(r *authz.Request) { r.MerchantID = "M00000000000999" })},
			{name: "MCC outside the list", setup: strict(tok.card), want: authz.TokenDomainMCC,
				req: with(func(r *authz.Request) { r.MCC = "7995" })},
			{name: "MCC absent where a list is set", setup: strict(tok.card), want: authz.TokenDomainMCC,
				req: with(func(r *authz.Request) { r.MCC = "" })},
		} {
			tc.card, tc.tap = tok.card, genuine(tok.card)
			t.Run(tok.card+"/"+tc.name, func(t *testing.T) { runTamper(t, tc) })
		}
	}
}

// packDigits packs an even number of decimal digits in BCD.
func packDigits(s string) []byte {
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return out
}

// The new reasons, their response codes (DE39), stages and rules, as
// documented in COVERAGE.md.
func TestBindingReasons(t *testing.T) {
	for _, tc := range []struct {
		r     authz.Reason
		code  string
		stage authz.Stage
		rule  string
	}{
		{authz.AmountMismatch, "13", authz.StageBinding, "R-G2"},
		{authz.CurrencyMismatch, "12", authz.StageBinding, "R-G2"},
		{authz.TypeMismatch, "12", authz.StageBinding, "R-G2"},
		{authz.DateMismatch, "12", authz.StageBinding, "R-G4"},
		{authz.DateOutOfRange, "12", authz.StageBinding, "R-G4"},
		{authz.ACTypeMismatch, "12", authz.StageBinding, "R-G2"},
		{authz.CVMClaimUnverified, "63", authz.StageCVM, "R-S2d"},
		{authz.DeviceMismatch, "63", authz.StageDevice, "R-S5d"},
		{authz.DeviceBindingUnauthenticated, "57", authz.StageDevice, "R-S5d"},
		{authz.DeviceNotBound, "63", authz.StageDevice, "R-S5d"},
		{authz.TokenDomainEntryMode, "57", authz.StageLookup, "R-S5d"},
		{authz.TokenDomainChannel, "57", authz.StageLookup, "R-S5d"},
		{authz.TokenDomainRequestor, "57", authz.StageLookup, "R-S5d"},
		{authz.TokenDomainMerchant, "57", authz.StageLookup, "R-S5d"},
		{authz.TokenDomainMCC, "57", authz.StageLookup, "R-S5d"},
	} {
		require.True(t, tc.r.Known(), tc.r)
		require.Contains(t, authz.Reasons(), tc.r)
		require.Equal(t, tc.code, tc.r.Code(), tc.r)
		require.Equal(t, tc.stage, tc.r.Stage(), tc.r)
		require.Equal(t, tc.rule, tc.r.Rule(), tc.r)
		require.True(t, tc.r.Declines())
	}
}
