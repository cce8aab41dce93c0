package acquirer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/isospec"
)

// reversalOf builds the terminal's 0400 of an authorisation, as the
// terminal does when it got no answer in time.
func (r *rig) reversalOf(orig *isospec.AuthorizationRequest) *isospec.ReversalRequest {
	r.t.Helper()
	rev, err := isospec.NewReversal(orig, r.nextSTAN(), r.clock.Now(), isospec.RCResponseTooLate, "")
	require.NoError(r.t, err)
	return rev
}

func (r *rig) reverse(rev *isospec.ReversalRequest) isospec.ReversalResponse {
	r.t.Helper()
	resp := r.send(r.encode(rev))
	r.requireTerminalMAC(resp)
	var rr isospec.ReversalResponse
	require.NoError(r.t, isospec.Decode(resp, &rr))
	return rr
}

func TestTerminalReversalForwarded(t *testing.T) {
	r := newRig(t, nil)
	orig := r.authReq(visaPAN, 150000)
	require.Equal(t, isospec.RCApproved, r.authorise(orig).ResponseCode)
	var issuerOrig isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest)[0], &issuerOrig))

	r.clock.Advance(30 * time.Second)
	rev := r.reversalOf(orig)
	resp := r.reverse(rev)
	require.Equal(t, isospec.MTIReversalResponse, resp.MTI)
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	require.Equal(t, rev.STAN, resp.STAN, "terminal's STAN restored")
	require.Equal(t, rev.OriginalData, resp.OriginalData, "terminal's DE90 restored")

	got := r.iss.ReceivedMTI(isospec.MTIReversalRequest)
	require.Len(t, got, 1)
	require.True(t, r.iss.MACOK(got[0]))
	var fwd isospec.ReversalRequest
	require.NoError(t, isospec.Decode(got[0], &fwd))
	od, err := isospec.ParseOriginalData(fwd.OriginalData)
	require.NoError(t, err)
	require.Equal(t, isospec.OriginalData{MTI: "0100", STAN: issuerOrig.STAN, TransmissionDateTime: issuerOrig.TransmissionDateTime, AcquirerID: "400001"}, od,
		"DE90 translated to the issuer link's numbers")
	require.Equal(t, issuerOrig.RRN, fwd.RRN)
	require.NotEqual(t, rev.STAN, fwd.STAN)
	require.Equal(t, int64(150000), fwd.Amount)

	// A repeat of the same reversal is answered from the journal.
	again := r.reverse(rev)
	require.Equal(t, isospec.RCApproved, again.ResponseCode)
	// A new reversal of the same original is not forwarded again.
	r.clock.Advance(time.Second)
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(orig)).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest), 1)

	j := r.journal()
	require.Equal(t, "reversed", j[0].State)
	require.Equal(t, "0400", j[1].MTI)
	require.Equal(t, "00", j[1].Code)
	require.Equal(t, "476173******0010", j[1].Masked)
}

// A reversal the issuer cannot take is stored as a 0420 advice and
// delivered later; the terminal's reversal is accepted at once.
func TestTerminalReversalIssuerSilent(t *testing.T) {
	r := newRig(t, nil)
	orig := r.authReq(visaPAN, 2500)
	require.Equal(t, isospec.RCApproved, r.authorise(orig).ResponseCode)
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Silent)
	resp := r.reverse(r.reversalOf(orig))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	require.Equal(t, 1, r.pending())
	require.Equal(t, "reversed", r.journal()[0].State)

	r.iss.SetAdvice(fakeissuer.Answer)
	r.clock.Advance(time.Hour)
	_, err := r.acq.RetryAdvices(context.Background())
	require.NoError(t, err)
	require.Zero(t, r.pending())
	advs := append(r.iss.ReceivedMTI(isospec.MTIReversalAdvice), r.iss.ReceivedMTI(isospec.MTIReversalAdviceRepeat)...)
	require.NotEmpty(t, advs)
	var adv isospec.ReversalRequest
	require.NoError(t, isospec.Decode(advs[len(advs)-1], &adv))
	require.Equal(t, int64(2500), adv.Amount)
	require.Equal(t, isospec.RCResponseTooLate, adv.ResponseCode)
}

func TestTerminalReversalIssuerDown(t *testing.T) {
	r := newRig(t, nil)
	orig := r.authReq(visaPAN, 2500)
	require.Equal(t, isospec.RCApproved, r.authorise(orig).ResponseCode)
	r.iss.Close()
	require.Eventually(t, func() bool { return !r.acq.LinkUp("issuer") }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(orig)).ResponseCode)
	require.Equal(t, 1, r.pending(), "stored as an advice for when the issuer is back")
}

func TestReversalWithoutForwardedOriginal(t *testing.T) {
	r := newRig(t, nil)
	// Never seen by the acquirer.
	ghost := r.authReq(visaPAN, 100)
	resp := r.reverse(r.reversalOf(ghost))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	// Refused by the acquirer (no route): the issuer never saw it.
	unrouted := r.authReq(otherPAN, 100)
	require.Equal(t, isospec.RCInvalidCardNumber, r.authorise(unrouted).ResponseCode)
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(unrouted)).ResponseCode)
	// Already reversed by the acquirer after a timeout.
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Silent)
	late := r.authReq(visaPAN, 100)
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(late).ResponseCode)
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(late)).ResponseCode)
	require.Equal(t, 1, r.pending(), "one advice, not two")

	require.Empty(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest))
	reasons := map[string]string{}
	for _, e := range r.journal() {
		if e.MTI == "0400" {
			reasons[e.STAN] = e.Reason
		}
	}
	require.ElementsMatch(t, []string{"original_not_found", "original_not_forwarded", "already_reversed"}, values(reasons))
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestReversalBadMAC(t *testing.T) {
	r := newRig(t, nil)
	orig := r.authReq(visaPAN, 100)
	require.Equal(t, isospec.RCApproved, r.authorise(orig).ResponseCode)
	msg, err := isospec.Encode(r.reversalOf(orig))
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(msg, func(d []byte) ([]byte, error) { return make([]byte, 8), nil }))
	resp := r.send(msg)
	require.Equal(t, "63", de(t, resp, isospec.FieldResponseCode))
	require.Empty(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest))
	require.Equal(t, "answered", r.journal()[0].State)
}

// A refused duplicate does not hide its original from a later reversal.
func TestReversalAfterDuplicate(t *testing.T) {
	r := newRig(t, nil)
	orig := r.authReq(visaPAN, 100)
	require.Equal(t, isospec.RCApproved, r.authorise(orig).ResponseCode)
	require.Equal(t, isospec.RCDuplicateTransmission, r.authorise(orig).ResponseCode)
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(orig)).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest), 1, "forwarded to the issuer")
}

func TestHandleFrameBeforeStartAndAfterClose(t *testing.T) {
	r := newRig(t, nil)
	good, err := isospec.Pack(r.encode(r.authReq(visaPAN, 100)))
	require.NoError(t, err)
	fresh, err := acquirer.New(r.cfg)
	require.NoError(t, err)
	reply, hang := fresh.HandleFrame(context.Background(), good)
	require.False(t, hang)
	m, err := isospec.Unpack(reply)
	require.NoError(t, err)
	require.Equal(t, "96", de(t, m, isospec.FieldResponseCode))
	require.Equal(t, isospec.ReasonSystemError, reason(t, de(t, m, isospec.FieldPrivateData)))

	require.NoError(t, r.acq.Close())
	reply, _ = r.acq.HandleFrame(context.Background(), good)
	m, err = isospec.Unpack(reply)
	require.NoError(t, err)
	require.Equal(t, "96", de(t, m, isospec.FieldResponseCode))
}

// A reversal undoes its original whole: one with another amount, currency
// or card is refused 12 (reversal_mismatch), neither forwarded nor queued,
// and the original stays reversible; a reversal of a declined sale has
// nothing to undo (00, original_declined) and is not forwarded either.
func TestReversalMustMatchItsOriginal(t *testing.T) {
	r := newRig(t, nil)
	orig := r.authReq(visaPAN, 150000)
	require.Equal(t, isospec.RCApproved, r.authorise(orig).ResponseCode)
	r.iss.SetAdvice(fakeissuer.Silent)
	for name, change := range map[string]func(*isospec.ReversalRequest){
		"amount":   func(rev *isospec.ReversalRequest) { rev.Amount = 10 },
		"currency": func(rev *isospec.ReversalRequest) { rev.Currency = "840" },
		"card":     func(rev *isospec.ReversalRequest) { rev.PAN = mcPAN },
	} {
		rev := r.reversalOf(orig)
		change(rev)
		resp := r.reverse(rev)
		require.Equal(t, isospec.RCInvalidTransaction, resp.ResponseCode, name)
		require.Equal(t, isospec.DeclineReason("reversal_mismatch"), reason(t, resp.PrivateData), name)
	}
	require.Empty(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest))
	require.Zero(t, r.pending())
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(orig)).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest), 1, "the genuine reversal goes")

	r.iss.SetAuthFunc(func(*isospec.AuthorizationRequest) (isospec.ResponseCode, string, isospec.PrivateData, []byte) {
		return isospec.RCInsufficientFunds, "", isospec.PrivateData{DeclineReason: isospec.ReasonInsufficientFunds}, nil
	})
	declined := r.authReq(visaPAN, 200)
	require.Equal(t, isospec.RCInsufficientFunds, r.authorise(declined).ResponseCode)
	resp := r.reverse(r.reversalOf(declined))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest), 1, "nothing to undo at the issuer")
	var reasons []string
	for _, e := range r.journal() {
		if e.MTI == "0400" {
			reasons = append(reasons, e.Reason)
		}
	}
	require.Contains(t, reasons, "original_declined")
	require.Contains(t, reasons, "reversal_mismatch")
}

// The void of a partial approval (10) carries the smaller amount
// approved: it is taken; more than the original's amount is not.
func TestVoidOfPartialApproval(t *testing.T) {
	r := newRig(t, nil)
	r.iss.SetAuthFunc(func(*isospec.AuthorizationRequest) (isospec.ResponseCode, string, isospec.PrivateData, []byte) {
		return isospec.RCPartialApproval, "A1B2C3", isospec.PrivateData{}, nil
	})
	orig := r.authReq(visaPAN, 150000)
	require.Equal(t, isospec.RCPartialApproval, r.authorise(orig).ResponseCode)
	over := r.reversalOf(orig)
	over.Amount = 150001
	require.Equal(t, isospec.RCInvalidTransaction, r.reverse(over).ResponseCode)
	void := r.reversalOf(orig)
	void.Amount = 75000
	require.Equal(t, isospec.RCApproved, r.reverse(void).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalRequest), 1)
}
