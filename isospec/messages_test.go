package isospec_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func TestNewAuthorizationResponseEchoes(t *testing.T) {
	req := sample0100(t)
	r, err := isospec.NewAuthorizationResponse(req, isospec.RCApproved)
	require.NoError(t, err)
	require.Equal(t, isospec.MTIAuthorizationResponse, r.MTI)
	require.Equal(t, req.STAN, r.STAN)
	require.Equal(t, req.TransmissionDateTime, r.TransmissionDateTime)
	require.Equal(t, req.TerminalID, r.TerminalID)
	require.Equal(t, req.Amount, r.Amount)
	require.Equal(t, req.RRN, r.RRN)
	require.Equal(t, isospec.RCApproved, r.ResponseCode)
	require.Empty(t, r.ICCData)

	fin := sample0100(t)
	fin.MTI = isospec.MTIFinancialRequest
	r, err = isospec.NewAuthorizationResponse(fin, isospec.RCApproved)
	require.NoError(t, err)
	require.Equal(t, isospec.MTIFinancialResponse, r.MTI)

	req.MTI = isospec.MTIAuthorizationResponse
	_, err = isospec.NewAuthorizationResponse(req, isospec.RCApproved)
	require.ErrorIs(t, err, isospec.ErrValue)
}

// A reversal identifies the original by DE90 and carries the PAN, but no
// track 2, PIN block or ICC data.
func TestNewReversal(t *testing.T) {
	orig := sample0100(t)
	orig.PAN = "" // track 2 only: the PAN comes from it
	rev, err := isospec.NewReversal(orig, "000200", when.Add(time.Minute), isospec.RCResponseTooLate, "A1B2C3")
	require.NoError(t, err)
	require.Equal(t, isospec.MTIReversalRequest, rev.MTI)
	require.Equal(t, samplePAN, rev.PAN)
	require.Equal(t, "000200", rev.STAN)
	require.Equal(t, "0315103100", rev.TransmissionDateTime)
	require.Equal(t, "A1B2C3", rev.AuthCode)
	require.Equal(t, isospec.RCResponseTooLate, rev.ResponseCode)
	o, err := isospec.ParseOriginalData(rev.OriginalData)
	require.NoError(t, err)
	require.Equal(t, isospec.OriginalData{
		MTI: "0100", STAN: "000123", TransmissionDateTime: "0315103000", AcquirerID: "12345",
	}, o)
	packed := mustMarshal(t, rev)
	require.NotContains(t, string(packed), sampleTrack2)
	require.False(t, bytes.Contains(packed, h(samplePINBlock)))
	require.False(t, bytes.Contains(packed, h(sampleARQC)))

	bad := sample0100(t)
	bad.STAN = "12"
	_, err = isospec.NewReversal(bad, "000200", when, isospec.RCResponseTooLate, "")
	require.ErrorIs(t, err, isospec.ErrValue)
	bad = sample0100(t)
	bad.PAN, bad.Track2 = "", "garbage"
	_, err = isospec.NewReversal(bad, "000200", when, isospec.RCResponseTooLate, "")
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestReversalAdviceAndResponses(t *testing.T) {
	rev := sample0400(t)
	rev.MAC = make([]byte, 8)
	adv := rev.Advice(false)
	require.Equal(t, isospec.MTIReversalAdvice, adv.MTI)
	require.Nil(t, adv.MAC)
	require.NotNil(t, rev.MAC) // the original is untouched
	rep := rev.Advice(true)
	require.Equal(t, isospec.MTIReversalAdviceRepeat, rep.MTI)
	require.Equal(t, adv.OriginalData, rep.OriginalData)

	for _, tc := range []struct {
		req  *isospec.ReversalRequest
		want isospec.MTI
	}{{rev, isospec.MTIReversalResponse}, {adv, isospec.MTIReversalAdviceResponse}, {rep, isospec.MTIReversalAdviceResponse}} {
		r, err := isospec.NewReversalResponse(tc.req, isospec.RCApproved)
		require.NoError(t, err)
		require.Equal(t, tc.want, r.MTI)
		require.Equal(t, tc.req.STAN, r.STAN)
		require.Equal(t, tc.req.OriginalData, r.OriginalData)
	}
	resp := &isospec.ReversalRequest{MTI: isospec.MTIReversalResponse}
	_, err := isospec.NewReversalResponse(resp, isospec.RCApproved)
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestNetworkManagementResponse(t *testing.T) {
	n := sample0800KeyChange(t)
	r, err := n.Response(isospec.RCApproved)
	require.NoError(t, err)
	require.Equal(t, isospec.MTINetworkResponse, r.MTI)
	require.Equal(t, n.STAN, r.STAN)
	require.Equal(t, n.NetworkCode, r.NetworkCode)
	require.Empty(t, r.PrivateData)
	_, err = r.Response(isospec.RCApproved)
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestMessagesStringAndLogValue(t *testing.T) {
	resp := sample0110(t)
	rev := sample0400(t)
	revResp, err := isospec.NewReversalResponse(rev, isospec.RCApproved)
	require.NoError(t, err)
	nm := sample0800KeyChange(t)
	tests := []struct {
		s, log string
		want   string
	}{
		{sample0100(t).String(), sample0100(t).LogValue().String(), "0100 authorisation request STAN 000123"},
		{resp.String(), resp.LogValue().String(), "0110 authorisation response STAN 000123"},
		{rev.String(), rev.LogValue().String(), "0400 reversal request STAN 000124"},
		{revResp.String(), revResp.LogValue().String(), "0410 reversal response STAN 000124"},
		{nm.String(), nm.LogValue().String(), "0800 network management request STAN 000125 DE70 161 key change"},
	}
	for _, tc := range tests {
		require.Contains(t, tc.s, tc.want)
		require.Equal(t, tc.s, tc.log)
		requireNoSecret(t, "String", tc.s)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sent", "req", sample0100(t))
	require.Contains(t, buf.String(), "PAN 476173******0119")
}

func TestAuthorizationAdvice(t *testing.T) {
	require.True(t, isospec.MTIAuthorizationAdvice.IsRequest())
	rsp, err := isospec.MTIAuthorizationAdviceRepeat.Response()
	require.NoError(t, err)
	require.Equal(t, isospec.MTIAuthorizationAdviceResponse, rsp)
	pd, err := isospec.PrivateData{StandIn: true}.Encode()
	require.NoError(t, err)
	require.Equal(t, "100011", pd)
	back, err := isospec.ParsePrivateData(pd)
	require.NoError(t, err)
	require.True(t, back.StandIn)
	_, err = isospec.ParsePrivateData("100012")
	require.ErrorIs(t, err, isospec.ErrPrivateData)
}
