package idv_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

func reasonOf(t *testing.T, err error) idv.Reason {
	t.Helper()
	var e *idv.Error
	require.True(t, errors.As(err, &e), "%v", err)
	return e.Reason
}

// R-M6, R-S3c, R-G3c, R-G3e: the issuer's own SE download verifies the
// cardholder with an OTP sent by SMS to the card's registered phone, in a
// text that says what it is for; the right code verifies once, wrong codes
// count toward the card's lock, which then refuses even the right code and
// any new download until the service centre resets it.
func TestBeginSE(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.BeginSE(ctx, "se-order-1", "no-such-card", "SE-01")
	require.Equal(t, idv.ReasonCardNotFound, reasonOf(t, err))
	_, err = f.svc.BeginSE(ctx, "bad id!", issuertest.VisaPlastic, "SE-01")
	require.Equal(t, idv.ReasonInvalidRequest, reasonOf(t, err))

	ms, err := f.svc.BeginSE(ctx, "se-order-1", issuertest.VisaPlastic, "SE-01")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "sms", ms[0].ID)
	_, err = f.svc.BeginSE(ctx, "se-order-1", issuertest.VisaPlastic, "SE-01")
	require.Equal(t, idv.ReasonCorrelationReused, reasonOf(t, err))

	otp := f.sendOTP("se-order-1", issuertest.VisaPlastic)
	phone, _ := issuerhost.SampleContact(issuertest.VisaPlastic)
	in, err := f.svc.Inbox(ctx, phone)
	require.NoError(t, err)
	require.Contains(t, in[len(in)-1].Body, "secure element")
	require.NotContains(t, in[len(in)-1].Body, "wallet")

	_, err = f.svc.VerifyOTP(ctx, "se-order-1", wrongOTP(otp))
	require.Equal(t, idv.ReasonOTPWrong, reasonOf(t, err))
	var e *idv.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, idv.DefaultMaxFailures-1, e.TriesLeft)
	res, err := f.svc.VerifyOTP(ctx, "se-order-1", otp)
	require.NoError(t, err)
	require.True(t, res.Verified)
	_, err = f.svc.VerifyOTP(ctx, "se-order-1", otp)
	require.Equal(t, idv.ReasonOTPUsed, reasonOf(t, err), "R-G3e: once")

	// An expired code.
	_, err = f.svc.BeginSE(ctx, "se-order-2", issuertest.VisaPlastic, "SE-02")
	require.NoError(t, err)
	otp = f.sendOTP("se-order-2", issuertest.VisaPlastic)
	f.net.Clock.Advance(idv.DefaultOTPTTL + time.Second)
	_, err = f.svc.VerifyOTP(ctx, "se-order-2", otp)
	require.Equal(t, idv.ReasonOTPExpired, reasonOf(t, err))

	// Five wrong codes lock the card's provisioning (R-G3c).
	_, err = f.svc.BeginSE(ctx, "se-order-3", issuertest.VisaPlastic, "SE-03")
	require.NoError(t, err)
	otp = f.sendOTP("se-order-3", issuertest.VisaPlastic)
	for i := 1; i < idv.DefaultMaxFailures; i++ {
		_, err = f.svc.VerifyOTP(ctx, "se-order-3", wrongOTP(otp))
		require.Equal(t, idv.ReasonOTPWrong, reasonOf(t, err))
	}
	_, err = f.svc.VerifyOTP(ctx, "se-order-3", wrongOTP(otp))
	require.Equal(t, idv.ReasonIDVLocked, reasonOf(t, err))
	_, err = f.svc.VerifyOTP(ctx, "se-order-3", otp)
	require.Equal(t, idv.ReasonIDVLocked, reasonOf(t, err), "locked even with the right code")
	_, err = f.svc.BeginSE(ctx, "se-order-4", issuertest.VisaPlastic, "SE-04")
	require.Equal(t, idv.ReasonIDVLocked, reasonOf(t, err))
	require.True(t, f.provisioning(issuertest.VisaPlastic).Locked)
	require.NoError(t, f.svc.ResetProvisioning(ctx, issuertest.VisaPlastic, "service-centre-1"))
	_, err = f.svc.BeginSE(ctx, "se-order-5", issuertest.VisaPlastic, "SE-05")
	require.NoError(t, err)
	f.noSecrets()
}

// wrongOTP is a 6-digit code that is not otp.
func wrongOTP(otp string) string {
	if otp == "000000" {
		return "000001"
	}
	return "000000"
}
