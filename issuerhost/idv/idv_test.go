package idv_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// The yellow path of the wallet flow (R-M5): ID&V asks for a step-up, the
// cardholder gets an OTP by SMS and types it, the token service reports
// the token and its download (out of order, twice), and the token is
// activated on the verified OTP (R-S2a, R-G3e).
func TestYellowPath(t *testing.T) {
	f := newFixture(t)
	req := f.request("corr-yellow", issuertest.VisaPlastic)
	resp := f.authorize(req)
	require.Equal(t, idv.StepUp, resp.Decision)
	require.Equal(t, idv.ReasonLowDeviceScore, resp.Reason)
	require.Equal(t, "0010", resp.PANSuffix)
	phone, email := issuerhost.SampleContact(issuertest.VisaPlastic)
	require.Equal(t, []idv.Method{
		{ID: "sms", Type: idv.MethodSMS, Value: idv.MaskPhone(phone)},
		{ID: "email", Type: idv.MethodEmail, Value: idv.MaskEmail(email)},
		{ID: "app", Type: idv.MethodIssuerApp, Value: "issuer app"},
	}, resp.Methods)
	require.Equal(t, phone[len(phone)-4:], resp.Methods[0].Value[len(resp.Methods[0].Value)-4:])
	require.NotContains(t, resp.Methods[0].Value, phone[1:8])

	sent, err := f.svc.SendOTP(ctx, "corr-yellow", "sms")
	require.NoError(t, err)
	require.Equal(t, issuertest.Start.Add(idv.DefaultOTPTTL), sent.ExpiresAt)
	otp := f.sendOTP("corr-yellow", issuertest.VisaPlastic) // a second one replaces the first
	v, err := f.svc.VerifyOTP(ctx, "corr-yellow", otp)
	require.NoError(t, err)
	require.True(t, v.Verified)

	// Download complete first, then token created, each twice.
	for _, ev := range []idv.Event{idv.EventDownloadComplete, idv.EventTokenCreated, idv.EventDownloadComplete, idv.EventTokenCreated} {
		st, err := f.svc.Notify(ctx, idv.Notification{Event: ev, CorrelationID: "corr-yellow", TokenRef: "TUR-1",
			DeviceID: device, RequestorID: walletTR})
		require.NoError(t, err)
		require.Equal(t, idv.StatusInactive, st.Status)
	}
	st, err := f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-1", Method: idv.ProofOTP})
	require.NoError(t, err)
	require.Equal(t, idv.StatusActive, st.Status)
	require.Equal(t, "otp", st.VerifiedWith)
	again, err := f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-1", Method: idv.ProofOTP})
	require.NoError(t, err)
	require.Equal(t, st, again)

	// The card's record: one token, its device and requestor.
	require.NoError(t, f.net.DB.View(ctx, func(tx *store.Tx) error {
		ks, err := tx.CardTokens(ctx, issuertest.VisaPlastic)
		require.NoError(t, err)
		require.Len(t, ks, 1)
		require.Equal(t, device, ks[0].DeviceID)
		require.Equal(t, walletTR, ks[0].RequestorID)
		require.False(t, ks[0].CreatedAt.IsZero())
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Positive(t, n)
		return nil
	}))
	// The device and the cardholder got notices.
	in, err := f.svc.Inbox(ctx, device)
	require.NoError(t, err)
	require.Len(t, in, 1)
	require.Equal(t, "token-activated", in[0].Kind)
	in, err = f.svc.Inbox(ctx, phone)
	require.NoError(t, err)
	kinds := []string{}
	for _, m := range in {
		kinds = append(kinds, m.Kind)
	}
	require.Equal(t, []string{"otp", "otp", "token-downloaded", "token-activated"}, kinds)
	actions := map[string]int{}
	for _, e := range f.audit() {
		actions[e.Action]++
	}
	require.Equal(t, 1, actions["idv.decision"])
	require.Equal(t, 2, actions["idv.otp.sent"])
	require.Equal(t, 1, actions["idv.otp.verified"])
	require.Equal(t, 1, actions["idv.token.created"])
	require.Equal(t, 1, actions["idv.token.downloaded"])
	require.Equal(t, 1, actions["idv.token.activated"])
	f.noSecrets()
}

// Green: approved without step-up; the activation still needs the
// cardholder verified (R-S2a), here by the card's PIN, which travels as a
// PIN block under the zone PIN key (R-G1). A wrong PIN counts toward the
// lock (R-G3c).
func TestGreenPathPasscode(t *testing.T) {
	f := newFixture(t)
	req := f.request("corr-green", issuertest.VisaPlastic)
	req.Decisioning.DeviceScore = 5
	req.Decisioning.DeviceCVM = idv.DeviceCVMBiometric
	resp := f.authorize(req)
	require.Equal(t, idv.Approved, resp.Decision)
	require.Empty(t, resp.Reason)
	require.Empty(t, resp.Methods)
	_, err := f.svc.NotifyDownloadComplete(ctx, "corr-green", "TUR-G", device, walletTR)
	require.NoError(t, err)

	// R-S2a: no verification, no activation.
	_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-G", Method: idv.ProofOTP})
	require.ErrorIs(t, err, idv.ErrNotVerified)

	c := f.card(issuertest.VisaPlastic)
	_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-G", Method: idv.ProofPasscode,
		PINBlock: pinBlock(t, "9999", c.PAN)})
	var e *idv.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, idv.ReasonPasscodeWrong, e.Reason)
	require.Equal(t, idv.DefaultMaxFailures-1, e.TriesLeft)

	st, err := f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-G", Method: idv.ProofPasscode,
		PINBlock: pinBlock(t, issuertest.PIN, c.PAN)})
	require.NoError(t, err)
	require.Equal(t, idv.StatusActive, st.Status)
	require.Equal(t, "passcode", st.VerifiedWith)
	require.Zero(t, f.provisioning(issuertest.VisaPlastic).Failures, "a right passcode ends the run of wrong entries")
	f.noSecrets()
}

// Attacker tests: each control, with the requirement it serves.
func TestAttacks(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"wrong security code declines and counts (R-G3c)", func(t *testing.T, f *fixture) {
			req := f.request("corr-cvv", issuertest.VisaPlastic)
			req.SecurityCode = wrongCode(req.SecurityCode)
			f.secrets = append(f.secrets, req.SecurityCode)
			resp := f.authorize(req)
			require.Equal(t, idv.Declined, resp.Decision)
			require.Equal(t, idv.ReasonSecurityCodeWrong, resp.Reason)
			require.Equal(t, 4, resp.TriesLeft)
			require.Equal(t, 1, f.provisioning(issuertest.VisaPlastic).Failures)
			// A declined attempt goes no further.
			_, err := f.svc.SendOTP(ctx, "corr-cvv", "sms")
			require.ErrorIs(t, err, idv.ErrAttemptDeclined)
		}},
		{"wrong expiry declines and counts (R-G3c)", func(t *testing.T, f *fixture) {
			req := f.request("corr-exp", issuertest.VisaPlastic)
			req.Expiry = "3001"
			resp := f.authorize(req)
			require.Equal(t, idv.ReasonExpiryMismatch, resp.Reason)
			require.Equal(t, 1, f.provisioning(issuertest.VisaPlastic).Failures)
		}},
		{"five wrong security codes lock the card's provisioning until reset (R-G3c)", func(t *testing.T, f *fixture) {
			good := f.request("corr-ok", issuertest.VisaPlastic)
			for i := range 5 {
				req := f.request("corr-bad-"+string(rune('a'+i)), issuertest.VisaPlastic)
				req.SecurityCode = wrongCode(req.SecurityCode)
				resp := f.authorize(req)
				require.Equal(t, idv.Declined, resp.Decision)
				if i < 4 {
					require.Equal(t, idv.ReasonSecurityCodeWrong, resp.Reason)
					require.Equal(t, 4-i, resp.TriesLeft)
				} else {
					require.Equal(t, idv.ReasonIDVLocked, resp.Reason, "the fifth wrong entry locks")
				}
			}
			require.True(t, f.provisioning(issuertest.VisaPlastic).Locked)
			require.Equal(t, idv.ReasonIDVLocked, f.authorize(good).Reason, "the right code is refused once locked")
			require.NoError(t, f.svc.ResetProvisioning(ctx, issuertest.VisaPlastic, "agent-7"))
			good.CorrelationID = "corr-after-reset"
			require.Equal(t, idv.StepUp, f.authorize(good).Decision)
		}},
		{"wrong OTP five times locks; the right OTP is refused until reset (R-G3c, R-G3e)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-otp", issuertest.VisaPlastic))
			otp := f.sendOTP("corr-otp", issuertest.VisaPlastic)
			wrong := wrongCode(otp[3:])
			wrong = otp[:3] + wrong
			for i := range 4 {
				_, err := f.svc.VerifyOTP(ctx, "corr-otp", wrong)
				var e *idv.Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, idv.ReasonOTPWrong, e.Reason)
				require.Equal(t, 4-i, e.TriesLeft)
			}
			_, err := f.svc.VerifyOTP(ctx, "corr-otp", "abc") // malformed counts too
			require.ErrorIs(t, err, idv.ErrLocked)
			_, err = f.svc.VerifyOTP(ctx, "corr-otp", otp)
			require.ErrorIs(t, err, idv.ErrLocked)
			_, err = f.svc.SendOTP(ctx, "corr-otp", "sms")
			require.ErrorIs(t, err, idv.ErrLocked)
			// The card, not only the attempt, is locked.
			require.Equal(t, idv.ReasonIDVLocked, f.authorize(f.request("corr-otp-2", issuertest.VisaPlastic)).Reason)
			require.NoError(t, f.svc.ResetProvisioning(ctx, issuertest.VisaPlastic, "agent-7"))
			// The locked attempt stays locked; a new one works.
			_, err = f.svc.VerifyOTP(ctx, "corr-otp", otp)
			require.ErrorIs(t, err, idv.ErrLocked)
			f.authorize(f.request("corr-otp-3", issuertest.VisaPlastic))
			otp3 := f.sendOTP("corr-otp-3", issuertest.VisaPlastic)
			_, err = f.svc.VerifyOTP(ctx, "corr-otp-3", otp3)
			require.NoError(t, err)
			var reset bool
			for _, e := range f.audit() {
				if e.Action == "idv.reset" {
					reset = true
					require.Contains(t, e.Detail, "agent-7")
				}
			}
			require.True(t, reset, "the reset is audited")
		}},
		{"an OTP is used once (R-G3e)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-reuse", issuertest.VisaPlastic))
			otp := f.sendOTP("corr-reuse", issuertest.VisaPlastic)
			_, err := f.svc.VerifyOTP(ctx, "corr-reuse", otp)
			require.NoError(t, err)
			_, err = f.svc.VerifyOTP(ctx, "corr-reuse", otp)
			require.ErrorIs(t, err, idv.ErrOTPUsed)
			_, err = f.svc.SendOTP(ctx, "corr-reuse", "sms")
			require.ErrorIs(t, err, idv.ErrAlreadyVerified)
		}},
		{"an expired OTP is refused (R-G3e)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-late", issuertest.VisaPlastic))
			otp := f.sendOTP("corr-late", issuertest.VisaPlastic)
			f.net.Clock.Advance(idv.DefaultOTPTTL)
			_, err := f.svc.VerifyOTP(ctx, "corr-late", otp)
			require.ErrorIs(t, err, idv.ErrOTPExpired)
			// A new one works.
			otp = f.sendOTP("corr-late", issuertest.VisaPlastic)
			f.net.Clock.Advance(idv.DefaultOTPTTL - time.Second)
			_, err = f.svc.VerifyOTP(ctx, "corr-late", otp)
			require.NoError(t, err)
		}},
		{"the OTP of another attempt does not verify (R-G3e)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-a", issuertest.VisaPlastic))
			f.authorize(f.request("corr-b", issuertest.VisaPlastic))
			otpA := f.sendOTP("corr-a", issuertest.VisaPlastic)
			_ = f.sendOTP("corr-b", issuertest.VisaPlastic)
			_, err := f.svc.VerifyOTP(ctx, "corr-b", otpA)
			require.ErrorIs(t, err, idv.ErrOTPWrong)
		}},
		{"OTPs sent without end are refused", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-flood", issuertest.VisaPlastic))
			for range idv.DefaultMaxSends {
				_, err := f.svc.SendOTP(ctx, "corr-flood", "email")
				require.NoError(t, err)
			}
			_, err := f.svc.SendOTP(ctx, "corr-flood", "sms")
			require.ErrorIs(t, err, idv.ErrOTPSendLimit)
		}},
		{"verify before any OTP was sent", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-none", issuertest.VisaPlastic))
			_, err := f.svc.VerifyOTP(ctx, "corr-none", "123456")
			require.ErrorIs(t, err, idv.ErrOTPNotSent)
			_, err = f.svc.VerifyOTP(ctx, "corr-unknown", "123456")
			require.ErrorIs(t, err, idv.ErrUnknownCorrelation)
			_, err = f.svc.SendOTP(ctx, "corr-none", "fax")
			require.ErrorIs(t, err, idv.ErrUnknownMethod)
		}},
		{"lost card declined (R-C1)", func(t *testing.T, f *fixture) {
			require.NoError(t, f.net.DB.Update(ctx, func(tx *store.Tx) error {
				return tx.SetCardStatus(ctx, issuertest.VisaPlastic, store.CardLost)
			}))
			require.Equal(t, idv.ReasonCardLost, f.authorize(f.request("corr-lost", issuertest.VisaPlastic)).Reason)
		}},
		{"a card reported lost after the decision stops the step-up and the activation (R-C1)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-later", issuertest.VisaPlastic))
			otp := f.sendOTP("corr-later", issuertest.VisaPlastic)
			_, err := f.svc.NotifyDownloadComplete(ctx, "corr-later", "TUR-L", device, walletTR)
			require.NoError(t, err)
			require.NoError(t, f.net.DB.Update(ctx, func(tx *store.Tx) error {
				return tx.SetCardStatus(ctx, issuertest.VisaPlastic, store.CardLost)
			}))
			_, err = f.svc.VerifyOTP(ctx, "corr-later", otp)
			require.ErrorIs(t, err, idv.ErrCardNotActive)
			_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-L", Method: idv.ProofOTP})
			require.ErrorIs(t, err, idv.ErrCardNotActive)
		}},
		{"the right OTP sent at once from many places verifies once (R-G3e, R-G4)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-race", issuertest.VisaPlastic))
			otp := f.sendOTP("corr-race", issuertest.VisaPlastic)
			errs := make(chan error, 8)
			for range 8 {
				go func() {
					_, err := f.svc.VerifyOTP(ctx, "corr-race", otp)
					errs <- err
				}()
			}
			ok := 0
			for range 8 {
				if err := <-errs; err == nil {
					ok++
				} else {
					require.ErrorIs(t, err, idv.ErrOTPUsed)
				}
			}
			require.Equal(t, 1, ok)
		}},
		{"blocked card declined", func(t *testing.T, f *fixture) {
			require.NoError(t, f.net.DB.Update(ctx, func(tx *store.Tx) error {
				return tx.SetCardStatus(ctx, issuertest.VisaPlastic, store.CardBlocked)
			}))
			require.Equal(t, idv.ReasonCardBlocked, f.authorize(f.request("corr-blocked", issuertest.VisaPlastic)).Reason)
		}},
		{"expired card declined", func(t *testing.T, f *fixture) {
			require.Equal(t, idv.ReasonCardExpired, f.authorize(f.request("corr-expired", issuertest.VisaExpired)).Reason)
		}},
		{"closed account declined", func(t *testing.T, f *fixture) {
			require.NoError(t, f.net.DB.Update(ctx, func(tx *store.Tx) error {
				a, err := tx.Account(ctx, "acct-1")
				require.NoError(t, err)
				a.Status = store.AccountClosed
				return tx.PutAccount(ctx, a)
			}))
			require.Equal(t, idv.ReasonAccountClosed, f.authorize(f.request("corr-closed", issuertest.VisaPlastic)).Reason)
		}},
		{"unknown card declined", func(t *testing.T, f *fixture) {
			req := f.request("corr-nocard", issuertest.VisaPlastic)
			req.PAN = "4761739001019995"
			f.secrets = append(f.secrets, req.PAN)
			resp := f.authorize(req)
			require.Equal(t, idv.ReasonCardNotFound, resp.Reason)
			require.Empty(t, resp.PANSuffix)
		}},
		{"unknown token requestor declined", func(t *testing.T, f *fixture) {
			req := f.request("corr-tr", issuertest.VisaPlastic)
			req.RequestorID = "99999999999"
			require.Equal(t, idv.ReasonUnknownRequestor, f.authorize(req).Reason)
		}},
		{"the same request twice is one attempt, another under its ID is refused (R-G4)", func(t *testing.T, f *fixture) {
			req := f.request("corr-twice", issuertest.VisaPlastic)
			req.SecurityCode = wrongCode(req.SecurityCode)
			first := f.authorize(req)
			second := f.authorize(req)
			require.Equal(t, first, second)
			require.Equal(t, 1, f.provisioning(issuertest.VisaPlastic).Failures, "no second wrong entry")
			require.NoError(t, f.net.DB.View(ctx, func(tx *store.Tx) error {
				n, err := tx.CountIDVAttempts(ctx, issuertest.VisaPlastic)
				require.Equal(t, 1, n)
				return err
			}))
			other := f.request("corr-twice", issuertest.VisaPlastic)
			_, err := f.svc.Authorize(ctx, other)
			require.ErrorIs(t, err, idv.ErrCorrelationReused)
		}},
		{"no contact for a step-up declines", func(t *testing.T, f *fixture) {
			require.NoError(t, f.net.DB.Update(ctx, func(tx *store.Tx) error {
				return tx.PutCardContact(ctx, store.CardContact{CardID: issuertest.VisaPlastic})
			}))
			require.Equal(t, idv.ReasonNoStepUpMethod, f.authorize(f.request("corr-nocontact", issuertest.VisaPlastic)).Reason)
		}},
		{"activation without verification refused (R-S2a)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-act", issuertest.VisaPlastic))
			_, err := f.svc.NotifyTokenCreated(ctx, "corr-act", "TUR-X", device, walletTR)
			require.NoError(t, err)
			_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-X", Method: idv.ProofOTP})
			require.ErrorIs(t, err, idv.ErrNotDownloaded)
			_, err = f.svc.NotifyDownloadComplete(ctx, "corr-act", "TUR-X", device, walletTR)
			require.NoError(t, err)
			_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-X", Method: idv.ProofOTP})
			require.ErrorIs(t, err, idv.ErrNotVerified)
			_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-none", Method: idv.ProofOTP})
			require.ErrorIs(t, err, idv.ErrUnknownToken)
		}},
		{"notifications must match the attempt (R-S3e)", func(t *testing.T, f *fixture) {
			f.authorize(f.request("corr-n", issuertest.VisaPlastic))
			f.authorize(f.request("corr-m", issuertest.VisaPlastic))
			_, err := f.svc.NotifyTokenCreated(ctx, "corr-n", "TUR-N", "another-phone", walletTR)
			require.ErrorIs(t, err, idv.ErrDeviceMismatch)
			_, err = f.svc.NotifyTokenCreated(ctx, "corr-n", "TUR-N", device, "40010030273")
			require.ErrorIs(t, err, idv.ErrRequestorMismatch)
			_, err = f.svc.NotifyTokenCreated(ctx, "corr-n", "TUR-N", device, walletTR)
			require.NoError(t, err)
			_, err = f.svc.NotifyTokenCreated(ctx, "corr-m", "TUR-N", device, walletTR)
			require.ErrorIs(t, err, idv.ErrTokenConflict)
			_, err = f.svc.NotifyTokenCreated(ctx, "corr-zz", "TUR-Z", device, walletTR)
			require.ErrorIs(t, err, idv.ErrUnknownCorrelation)
		}},
		{"five wrong passcodes lock (R-G3c)", func(t *testing.T, f *fixture) {
			req := f.request("corr-pin", issuertest.VisaPlastic)
			req.Decisioning.DeviceScore = 5
			req.Decisioning.DeviceCVM = idv.DeviceCVMPasscode
			f.authorize(req)
			_, err := f.svc.NotifyDownloadComplete(ctx, "corr-pin", "TUR-P", device, walletTR)
			require.NoError(t, err)
			c := f.card(issuertest.VisaPlastic)
			for range 4 {
				_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-P", Method: idv.ProofPasscode, PINBlock: pinBlock(t, "4321", c.PAN)})
				require.ErrorIs(t, err, idv.ErrPasscodeWrong)
			}
			_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-P", Method: idv.ProofPasscode, PINBlock: pinBlock(t, "4321", c.PAN)})
			require.ErrorIs(t, err, idv.ErrLocked)
			_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-P", Method: idv.ProofPasscode, PINBlock: pinBlock(t, issuertest.PIN, c.PAN)})
			require.ErrorIs(t, err, idv.ErrLocked)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.run(t, f)
			f.noSecrets()
		})
	}
}

// Malformed requests are refused before anything is recorded; their
// errors name the field, never the value.
func TestInvalidRequests(t *testing.T) {
	f := newFixture(t)
	base := f.request("corr-valid", issuertest.VisaPlastic)
	tests := []struct {
		name string
		edit func(r *idv.AuthorizeRequest)
	}{
		{"no correlation", func(r *idv.AuthorizeRequest) { r.CorrelationID = "" }},
		{"correlation with spaces", func(r *idv.AuthorizeRequest) { r.CorrelationID = "a b" }},
		{"requestor", func(r *idv.AuthorizeRequest) { r.RequestorID = "4001" }},
		{"pan check digit", func(r *idv.AuthorizeRequest) { r.PAN = r.PAN[:15] + "1" }},
		{"pan letters", func(r *idv.AuthorizeRequest) { r.PAN = "47617390010100AB" }},
		{"expiry month", func(r *idv.AuthorizeRequest) { r.Expiry = "2913" }},
		{"code length", func(r *idv.AuthorizeRequest) { r.SecurityCode = "1234" }},
		{"device", func(r *idv.AuthorizeRequest) { r.DeviceID = "" }},
		{"score", func(r *idv.AuthorizeRequest) { r.Decisioning.DeviceScore = 6 }},
		{"recommendation", func(r *idv.AuthorizeRequest) { r.Decisioning.Recommendation = "MAYBE" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			_, err := f.svc.Authorize(ctx, r)
			require.ErrorIs(t, err, idv.ErrInvalidRequest)
			require.NotContains(t, err.Error(), base.PAN)
			require.NotContains(t, err.Error(), base.SecurityCode)
		})
	}
	require.NoError(t, f.net.DB.View(ctx, func(tx *store.Tx) error {
		n, err := tx.CountIDVAttempts(ctx, issuertest.VisaPlastic)
		require.Zero(t, n)
		return err
	}))
	// The request's String and GoString hide the card.
	require.NotContains(t, base.String(), base.PAN)
	require.NotContains(t, base.GoString(), base.SecurityCode)
	f.noSecrets()
}

// The OTP store holds only a keyed hash: no table holds the OTP itself.
func TestOTPNotStored(t *testing.T) {
	f := newFixture(t)
	f.authorize(f.request("corr-hash", issuertest.VisaPlastic))
	otp := f.sendOTP("corr-hash", issuertest.VisaPlastic)
	require.NoError(t, f.net.DB.View(ctx, func(tx *store.Tx) error {
		o, err := tx.OTP(ctx, "corr-hash")
		require.NoError(t, err)
		require.Len(t, o.Hash, 64)
		require.NotContains(t, o.Hash, otp)
		a, err := tx.IDVAttempt(ctx, "corr-hash")
		require.NoError(t, err)
		require.NotContains(t, a.Answer+a.RequestDigest, otp)
		return nil
	}))
	f.noSecrets()
}

// A custom TTL and failure limit.
func TestConfig(t *testing.T) {
	n := issuertest.New(t)
	_, err := idv.New(idv.Config{})
	require.Error(t, err)
	_, err = idv.New(idv.Config{DB: n.DB, HSM: n.HSM, CVKLabel: "no/such/key"})
	require.Error(t, err)
	svc, err := idv.New(idv.Config{DB: n.DB, HSM: n.HSM, Now: n.Clock.Now, OTPTTL: time.Minute, MaxFailures: 2,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	f := &fixture{t: t, net: n, svc: svc, log: &syncBuffer{}}
	f.authorize(f.request("corr-cfg", issuertest.VisaPlastic))
	res, err := svc.SendOTP(ctx, "corr-cfg", "email")
	require.NoError(t, err)
	require.Equal(t, issuertest.Start.Add(time.Minute), res.ExpiresAt)
	_, err = svc.VerifyOTP(ctx, "corr-cfg", "000000")
	require.ErrorIs(t, err, idv.ErrOTPWrong)
	_, err = svc.VerifyOTP(ctx, "corr-cfg", "000001")
	require.ErrorIs(t, err, idv.ErrLocked)
}

// R-G3f: the rules approve good scores only with the cardholder verified
// on the phone; without that claim the cardholder steps up, with it the
// token is activated on the device CVM after its download, and the
// card's record and the audit trail say so.
func TestGreenNeedsDeviceCVM(t *testing.T) {
	f := newFixture(t)
	req := f.request("corr-nocvm", issuertest.VisaPlastic)
	req.Decisioning.DeviceScore = 5
	resp := f.authorize(req)
	require.Equal(t, idv.StepUp, resp.Decision)
	require.Equal(t, idv.ReasonNoDeviceCVM, resp.Reason)
	require.NotEmpty(t, resp.Methods)
	_, err := f.svc.NotifyDownloadComplete(ctx, "corr-nocvm", "TUR-NC", device, walletTR)
	require.NoError(t, err)
	_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-NC", Method: idv.ProofDeviceCVM})
	require.ErrorIs(t, err, idv.ErrNotVerified)

	req = f.request("corr-cvm", issuertest.VisaPlastic)
	req.Decisioning.DeviceScore = 5
	req.Decisioning.DeviceCVM = idv.DeviceCVMBiometric
	resp = f.authorize(req)
	require.Equal(t, idv.Approved, resp.Decision)
	_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-C", Method: idv.ProofDeviceCVM})
	require.ErrorIs(t, err, idv.ErrUnknownToken)
	_, err = f.svc.NotifyTokenCreated(ctx, "corr-cvm", "TUR-C", device, walletTR)
	require.NoError(t, err)
	_, err = f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-C", Method: idv.ProofDeviceCVM})
	require.ErrorIs(t, err, idv.ErrNotDownloaded)
	_, err = f.svc.NotifyDownloadComplete(ctx, "corr-cvm", "TUR-C", device, walletTR)
	require.NoError(t, err)
	st, err := f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-C", Method: idv.ProofDeviceCVM})
	require.NoError(t, err)
	require.Equal(t, idv.StatusActive, st.Status)
	require.Equal(t, "device-cvm:biometric", st.VerifiedWith)

	bad := f.request("corr-badcvm", issuertest.VisaPlastic)
	bad.Decisioning.DeviceCVM = "FACE-ON-A-POSTER"
	_, err = f.svc.Authorize(ctx, bad)
	require.ErrorIs(t, err, idv.ErrInvalidRequest)

	found := false
	for _, e := range f.audit() {
		if e.Action == "idv.token.activated" && strings.Contains(e.Detail, "TUR-C") {
			found = strings.Contains(e.Detail, "device-cvm:biometric")
		}
	}
	require.True(t, found, "the audit trail records the device CVM")
	f.noSecrets()
}

// R-S2a, activation afterwards: a token whose step-up was never completed
// (never downloaded) is activated by the card's PIN.
func TestPasscodeBeforeDownload(t *testing.T) {
	f := newFixture(t)
	f.authorize(f.request("corr-later", issuertest.VisaPlastic))
	_, err := f.svc.NotifyTokenCreated(ctx, "corr-later", "TUR-LATER", device, walletTR)
	require.NoError(t, err)
	c := f.card(issuertest.VisaPlastic)
	st, err := f.svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-LATER", Method: idv.ProofPasscode,
		PINBlock: pinBlock(t, issuertest.PIN, c.PAN)})
	require.NoError(t, err)
	require.Equal(t, "passcode", st.VerifiedWith)
	require.False(t, st.Downloaded)
}
