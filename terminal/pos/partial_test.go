package pos_test

import (
	"context"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// answerWith answers an authorisation with code rc, then lets edit change
// the response before it is encoded.
func answerWith(rc isospec.ResponseCode, edit func(*isospec.AuthorizationResponse)) func(*iso8583.Message) *iso8583.Message {
	return func(req *iso8583.Message) *iso8583.Message {
		if mti, _ := req.GetMTI(); mti != string(isospec.MTIAuthorizationRequest) {
			return approveAll(req)
		}
		var ar isospec.AuthorizationRequest
		if err := isospec.Decode(req, &ar); err != nil {
			return nil
		}
		resp, err := isospec.NewAuthorizationResponse(&ar, rc)
		if err != nil {
			return nil
		}
		edit(resp)
		msg, err := isospec.Encode(resp)
		if err != nil {
			return nil
		}
		return msg
	}
}

func de54(t *testing.T, amount int64) string {
	t.Helper()
	s, err := isospec.AdditionalAmount{Currency: "901", Amount: amount}.Encode()
	require.NoError(t, err)
	return s
}

// A partial approval (DE39 10) approves the amount of the answer's DE4:
// the receipt shows APPROVED, the requested and the approved amounts and
// the balance, and a void reverses the approved amount.
func TestPartialApproval(t *testing.T) {
	r := newRig(t, answerWith(isospec.RCPartialApproval, func(a *isospec.AuthorizationResponse) {
		a.Amount = 75000
		a.AuthCode = "P00001"
		a.AdditionalAmounts = de54(t, 0)
	}), pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.True(t, res.Approved())
	require.Equal(t, pos.MsgApprovedPartial, res.Message)
	require.Equal(t, int64(150000), res.Amount)
	require.Equal(t, int64(75000), res.ApprovedAmount)
	require.NotNil(t, res.Balance)
	require.Equal(t, int64(0), *res.Balance)
	require.Contains(t, res.Receipt, "AMOUNT REQUESTED")
	require.Contains(t, res.Receipt, "TWD 1,500.00")
	require.Contains(t, res.Receipt, "AMOUNT APPROVED")
	require.Contains(t, res.Receipt, "TWD 750.00")
	require.Contains(t, res.Receipt, "APPROVED")
	require.NotContains(t, res.Receipt, "DECLINED")
	require.Contains(t, res.Receipt, "APPROVED FOR PARTIAL AMOUNT")
	require.Contains(t, res.Receipt, "AVAILABLE BALANCE")

	v, err := r.term.Void(context.Background(), pos.Ref{STAN: res.STAN})
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, v.Status, v.String())
	reqs := r.acq.waitRequests(t, 2)
	var rev isospec.ReversalRequest
	require.NoError(t, isospec.Decode(reqs[1], &rev))
	require.Equal(t, int64(75000), rev.Amount, "the void reverses what was approved")
}

// A partial approval for more than was asked is not one: declined.
func TestPartialApprovalOverTheAmountDeclines(t *testing.T) {
	r := newRig(t, answerWith(isospec.RCPartialApproval, func(a *isospec.AuthorizationResponse) { a.Amount = 200000 }), pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusDeclined, res.Status, res.String())
	require.Zero(t, res.ApprovedAmount)
}

// A referral (01) tells the operator to call the issuer.
func TestReferral(t *testing.T) {
	r := newRig(t, answerWith(isospec.RCReferToIssuer, func(*isospec.AuthorizationResponse) {}), pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusDeclined, res.Status)
	require.Equal(t, pos.MsgReferral, res.Message)
	require.Contains(t, res.Receipt, "REFER TO")
}

// A balance in DE54 of an approval is on the receipt.
func TestApprovalWithBalance(t *testing.T) {
	r := newRig(t, answerWith(isospec.RCApproved, func(a *isospec.AuthorizationResponse) {
		a.AuthCode = "A00001"
		a.AdditionalAmounts = de54(t, 1234500)
	}), pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.Equal(t, int64(1234500), *res.Balance)
	require.Contains(t, res.Receipt, "AVAILABLE BALANCE")
	require.Contains(t, res.Receipt, "TWD 12,345.00")
	require.Contains(t, res.Receipt, "AMOUNT ")
	require.NotContains(t, res.Receipt, "AMOUNT APPROVED")
}

// An approval the acquirer gave in the issuer's stead says so to the
// operator; the cardholder reads Approved.
func TestStandInApproval(t *testing.T) {
	r := newRig(t, answerWith(isospec.RCApproved, func(a *isospec.AuthorizationResponse) {
		a.AuthCode = "S00001"
		pd, err := isospec.PrivateData{StandIn: true}.Encode()
		require.NoError(t, err)
		a.PrivateData = pd
	}), pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.True(t, res.StandIn)
	require.Equal(t, pos.MsgApprovedStandIn, res.Message)
	seq := r.uiSequence()
	require.Equal(t, "approved/not_ready", seq[len(seq)-1])
}
