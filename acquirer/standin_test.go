package acquirer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
)

func standInRig(t *testing.T) *rig {
	t.Helper()
	rs, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: stand-in\n    match: {pan: {prefix: \"476173\"}}\n    stand_in: {limit: 200000}\n"))
	require.NoError(t, err)
	return newRig(t, func(c *acquirer.Config) { c.Rules = rules.New(rs, rules.Options{}) })
}

func requireStandIn(t *testing.T, resp isospec.AuthorizationResponse) {
	t.Helper()
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	require.Regexp(t, `^S\d{5}$`, resp.AuthCode)
	pd, err := isospec.ParsePrivateData(resp.PrivateData)
	require.NoError(t, err)
	require.True(t, pd.StandIn, "stand-in marker")
}

// The issuer silent: under the limit the acquirer approves in its stead;
// the reversal of the original and then the stand-in advice (0120, then
// 0121) go to the issuer when it answers again.
func TestStandInIssuerSilent(t *testing.T) {
	r := standInRig(t)
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Silent)

	resp := r.authorise(r.authReq(visaPAN, 150000))
	requireStandIn(t, resp)
	require.Equal(t, 2, r.pending(), "the reversal advice and the stand-in advice")
	j := r.journal()
	require.Equal(t, "00", j[0].Code)
	require.Equal(t, "stand_in", j[0].Reason)
	require.Equal(t, "answered", j[0].State)

	// Over the limit: 91 as without stand-in.
	resp = r.authorise(r.authReq(visaPAN, 250000))
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
	// Another card range: no rule, no stand-in.
	resp = r.authorise(r.authReq(mcPAN, 1000))
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)

	ctx := context.Background()
	_, err := r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(r.iss.ReceivedMTI(isospec.MTIAuthorizationAdvice)) == 1 }, 5*time.Second, 5*time.Millisecond)
	r.iss.SetAdvice(fakeissuer.Answer)
	r.clock.Advance(time.Hour)
	n, err := r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n, "two reversals of timed-out requests, one of the stand-in's original, its advice")
	require.Zero(t, r.pending())

	reps := r.iss.ReceivedMTI(isospec.MTIAuthorizationAdviceRepeat)
	require.Len(t, reps, 1)
	var adv isospec.AuthorizationAdvice
	require.NoError(t, isospec.Decode(reps[0], &adv))
	require.Equal(t, isospec.RCApproved, adv.ResponseCode)
	require.Equal(t, int64(150000), adv.Amount)
	require.Regexp(t, `^S\d{5}$`, adv.AuthCode)
	require.Empty(t, adv.PAN, "the acquirer kept no PAN to send")
	pd, err := isospec.ParsePrivateData(adv.PrivateData)
	require.NoError(t, err)
	require.True(t, pd.StandIn)
	require.True(t, r.iss.MACOK(reps[0]))
}

// The issuer down: the stand-in approval is given at once, its advice
// queued.
func TestStandInIssuerDown(t *testing.T) {
	r := standInRig(t)
	r.iss.Close()
	require.Eventually(t, func() bool { return !r.acq.LinkUp("issuer") }, 5*time.Second, 5*time.Millisecond)
	requireStandIn(t, r.authorise(r.authReq(visaPAN, 200000)))
	require.Equal(t, 1, r.pending(), "the stand-in advice only: nothing was sent")
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(r.authReq(visaPAN, 200001)).ResponseCode)
}
