package authz_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// R-S2e, R-S2d: an HCE phone of a cloud card is "cardholder verified" only
// when its cryptography says so: the CDCVM bit of the CVR a visa-cloud
// limited-use key signed, or an mc-cloud UMD cryptogram that only the
// mobile PIN unlocks. 9F6C, 9F34 and the private field are claims a man
// in the middle can write; a claim of CDCVM (or of an offline PIN, which
// no cloud card performs) that the cryptograms do not bear out declines
// with CVMClaimUnverified, whatever the amount, and takes no hold.
func TestTamperCloudCVMClaims(t *testing.T) {
	ctqCDCVM := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F6C, []byte{0x20, 0x80}) }
	resCDCVM := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x01, 0x00, 0x02}) }
	resOnlinePIN := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x02, 0x00, 0x00}) }
	resOfflinePIN := func(t *testing.T, r *authz.Request) { r.ICC = setTag(t, r.ICC, 0x9F34, []byte{0x04, 0x00, 0x02}) }
	privateCDCVM := func(t *testing.T, r *authz.Request) { r.CVM = authz.CVMCDCVM }
	const nt1, nt4000 = 100, 400000
	for _, tc := range []struct {
		name     string
		mc       bool  // an mc-cloud tap, else visa-cloud
		verified bool  // visa: CDCVM in the signed CVR; mc: the right mobile PIN
		amount   int64 // minor units
		req      func(*testing.T, *authz.Request)
		want     authz.Reason
	}{
		{name: "visa-cloud unverified NT$1, genuine", amount: nt1, want: authz.CDCVMRequired},
		{name: "visa-cloud unverified NT$1, 9F6C says CDCVM", amount: nt1, req: ctqCDCVM, want: authz.CVMClaimUnverified},
		{name: "visa-cloud unverified NT$1, 9F34 says CDCVM", amount: nt1, req: resCDCVM, want: authz.CVMClaimUnverified},
		{name: "visa-cloud unverified NT$1, private field says CDCVM", amount: nt1, req: privateCDCVM, want: authz.CVMClaimUnverified},
		{name: "visa-cloud unverified NT$4,000, 9F6C says CDCVM", amount: nt4000, req: ctqCDCVM, want: authz.CVMClaimUnverified},
		{name: "visa-cloud unverified NT$4,000, 9F34 says CDCVM", amount: nt4000, req: resCDCVM, want: authz.CVMClaimUnverified},
		{name: "visa-cloud unverified NT$4,000, private field says CDCVM", amount: nt4000, req: privateCDCVM, want: authz.CVMClaimUnverified},
		// An online PIN selected in 9F34 without a PIN block is no CVM: not
		// a claim of CDCVM, and the phone still needs one.
		{name: "visa-cloud unverified NT$1, 9F34 online PIN, no PIN block (bypass)", amount: nt1, req: resOnlinePIN, want: authz.CDCVMRequired},
		{name: "visa-cloud verified NT$1, 9F34 says offline PIN verified", verified: true, amount: nt1, req: resOfflinePIN, want: authz.CVMClaimUnverified},
		{name: "visa-cloud verified NT$1, genuine", verified: true, amount: nt1, want: authz.Approved},
		{name: "visa-cloud verified NT$4,000, 9F6C and private field agree", verified: true, amount: nt4000,
			req: func(t *testing.T, r *authz.Request) { ctqCDCVM(t, r); privateCDCVM(t, r) }, want: authz.Approved},
		{name: "mc-cloud wrong mobile PIN NT$1, genuine", mc: true, amount: nt1, want: authz.CloudUMDInvalid},
		{name: "mc-cloud wrong mobile PIN NT$1, 9F34 says CDCVM", mc: true, amount: nt1, req: resCDCVM, want: authz.CVMClaimUnverified},
		{name: "mc-cloud wrong mobile PIN NT$1, 9F6C says CDCVM", mc: true, amount: nt1, req: ctqCDCVM, want: authz.CVMClaimUnverified},
		{name: "mc-cloud wrong mobile PIN NT$1, private field says CDCVM", mc: true, amount: nt1, req: privateCDCVM, want: authz.CVMClaimUnverified},
		{name: "mc-cloud wrong mobile PIN NT$4,000, 9F34 says CDCVM", mc: true, amount: nt4000, req: resCDCVM, want: authz.CVMClaimUnverified},
		{name: "mc-cloud wrong mobile PIN NT$4,000, private field says CDCVM", mc: true, amount: nt4000, req: privateCDCVM, want: authz.CVMClaimUnverified},
		{name: "mc-cloud right mobile PIN NT$1, 9F34 says offline PIN verified", mc: true, verified: true, amount: nt1, req: resOfflinePIN, want: authz.CVMClaimUnverified},
		{name: "mc-cloud right mobile PIN NT$1, genuine", mc: true, verified: true, amount: nt1, want: authz.Approved},
		{name: "mc-cloud right mobile PIN NT$4,000, 9F34 and private field agree", mc: true, verified: true, amount: nt4000,
			req: func(t *testing.T, r *authz.Request) { resCDCVM(t, r); privateCDCVM(t, r) }, want: authz.Approved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCloudRig(t)
			var req authz.Request
			if tc.mc {
				require.NoError(t, r.ledger.IssueSUK(mcCloudTok, cloudPhone1, 1))
				pin := "1357"
				if tc.verified {
					pin = mobilePIN
				}
				req = r.mc(1, tc.amount, pin, nil)
			} else {
				req = r.visa(r.issue(cloudPhone1, 0), 1, tc.amount, tc.verified, "")
			}
			if tc.req != nil {
				tc.req(t, &req)
			}
			d := decide(t, r.e, req)
			require.Equal(t, tc.want, d.Reason, d.String())
			require.Equal(t, tc.want.Code(), d.Code)
			_, err := holdOf(t, r.n, req.Key())
			if tc.want != authz.Approved {
				require.Empty(t, d.AuthCode)
				require.True(t, errors.Is(err, store.ErrNotFound), "no hold for a decline: %v", err)
				return
			}
			require.NoError(t, err, "an approval holds")
			require.Equal(t, authz.CVMCDCVM, d.CVM, "cardholder verified by the cryptograms")
			require.Equal(t, cloudPhone1, d.DeviceID)
		})
	}
}
