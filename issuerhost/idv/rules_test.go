package idv_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
)

// The default rule table (MODEL), row by row.
func TestDefaultRules(t *testing.T) {
	tests := []struct {
		name   string
		d      idv.DecisioningData
		want   idv.Decision
		reason idv.Reason
	}{
		{"good scores", idv.DecisioningData{Recommendation: "APPROVED", DeviceScore: 5, AccountScore: 4}, idv.Approved, ""},
		{"good scores, no recommendation", idv.DecisioningData{DeviceScore: 4, AccountScore: 4}, idv.Approved, ""},
		{"one score only, good", idv.DecisioningData{DeviceScore: 4}, idv.Approved, ""},
		{"token service declines", idv.DecisioningData{Recommendation: "DECLINED", DeviceScore: 5, AccountScore: 5}, idv.Declined, idv.ReasonRecommendDecline},
		{"device score 1", idv.DecisioningData{DeviceScore: 1, AccountScore: 5}, idv.Declined, idv.ReasonRiskTooHigh},
		{"account score 1", idv.DecisioningData{DeviceScore: 5, AccountScore: 1}, idv.Declined, idv.ReasonRiskTooHigh},
		{"no scores", idv.DecisioningData{Recommendation: "APPROVED"}, idv.StepUp, idv.ReasonNoRiskData},
		{"token service steps up", idv.DecisioningData{Recommendation: "REQUIRE_ADDITIONAL_AUTHENTICATION", DeviceScore: 5, AccountScore: 5}, idv.StepUp, idv.ReasonRecommendStepUp},
		{"device score 2", idv.DecisioningData{DeviceScore: 2, AccountScore: 5}, idv.StepUp, idv.ReasonLowDeviceScore},
		{"device score 3", idv.DecisioningData{DeviceScore: 3, AccountScore: 5}, idv.StepUp, idv.ReasonLowDeviceScore},
		{"account score 3", idv.DecisioningData{DeviceScore: 4, AccountScore: 3}, idv.StepUp, idv.ReasonLowAccountScore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, r := idv.Evaluate(idv.DefaultRules(), tc.d)
			require.Equal(t, tc.want, d)
			require.Equal(t, tc.reason, r)
		})
	}
	d, r := idv.Evaluate(nil, idv.DecisioningData{DeviceScore: 1})
	require.Equal(t, idv.Approved, d, "an empty table approves")
	require.Empty(t, r)
}

// The service's default CVK is the sample issuer's.
func TestLabels(t *testing.T) {
	require.Equal(t, issuerhost.CVKLabel, idv.DefaultCVKLabel)
	require.Equal(t, issuerhost.DefaultKeys().ZPK, idv.DefaultZPKLabel)
	require.Equal(t, issuerhost.DefaultKeys().PVK, idv.DefaultPVKLabel)
}

func TestMasks(t *testing.T) {
	require.Equal(t, "+********5678", idv.MaskPhone("+886912345678"))
	require.Equal(t, "1234", idv.MaskPhone("1234"))
	require.Equal(t, "h***@example.test", idv.MaskEmail("holder@example.test"))
	require.Equal(t, "***", idv.MaskEmail("nobody"))
}

// Each refusal has its own status.
func TestReasonStatus(t *testing.T) {
	require.Equal(t, http.StatusLocked, idv.ReasonIDVLocked.HTTPStatus())
	require.Equal(t, http.StatusGone, idv.ReasonOTPExpired.HTTPStatus())
	require.Equal(t, http.StatusInternalServerError, idv.ReasonCardLost.HTTPStatus(), "a decline is not a refusal")
	e := &idv.Error{Reason: idv.ReasonOTPWrong, Message: "wrong OTP, 3 tries left", TriesLeft: 3}
	require.ErrorIs(t, e, idv.ErrOTPWrong)
	require.NotErrorIs(t, e, idv.ErrOTPUsed)
	require.Equal(t, "idv: wrong OTP, 3 tries left", e.Error())
	require.Equal(t, "idv: otp_used", idv.ErrOTPUsed.Error())
}
