package tokensvc_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-M5: green path. The token is made ACTIVE, its data is sealed to the
// device (R-G1) and signed by the token service (R-G2), the device's
// acknowledgement completes the download and the issuer is notified.
func TestGreenPath(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102030405060708", 10)
	resp, err := r.tokenize(r.tokenizeRequest(ph, greenPAN, "task-green"))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionApproved, resp.Decision)
	require.Equal(t, wire.StatusActive, resp.TokenInfo.Status)
	require.Equal(t, "0010", resp.TokenInfo.AccountPanSuffix)
	require.NotEmpty(t, resp.TokenData)

	// The wallet provider cannot open the token data: it is sealed to the phone.
	_, err = wire.Open(resp.TokenData, r.wallet, r.trust, wire.Expect{Type: wire.TypeTokenData, Replay: wire.NewMemoryReplayCache(0), Clock: r.clock.Now})
	require.ErrorIs(t, err, wire.ErrDecrypt)

	td := r.openTokenData(ph, resp.TokenData)
	require.Equal(t, resp.TokenUniqueReference, td.TokenUniqueReference)
	require.True(t, strings.HasPrefix(td.TokenPAN, "489537") && pan.LuhnValid(td.TokenPAN) && len(td.TokenPAN) == 16)
	require.NotEqual(t, greenPAN, td.TokenPAN)
	require.Equal(t, ph.deviceID, td.DomainControls.DeviceID)
	require.Equal(t, requestor, td.TokenRequestorID)

	n, err := r.ack(ph, resp.TokenUniqueReference, ph.deviceID)
	require.NoError(t, err)
	require.Equal(t, wire.EventDownloadComplete, n.Event)
	got, err := r.issuer.WaitNotification(context.Background(), wire.EventDownloadComplete, resp.TokenUniqueReference)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, got.Status)
	require.Equal(t, resp.PanUniqueReference, got.PanUniqueReference)
	tok, err := r.vault.Get(context.Background(), resp.TokenUniqueReference)
	require.NoError(t, err)
	require.Equal(t, greenPAN, tok.FundingPAN)
}

// R-G3e: step-up with an OTP. The token exists INACTIVE until the right
// OTP; then it is ACTIVE and its data delivered; the same OTP again is
// refused (single use).
func TestStepUpOTP(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0a0b0c0d", 11)
	resp, err := r.tokenize(r.tokenizeRequest(ph, yellowPAN, "task-yellow"))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, resp.Decision)
	require.Equal(t, wire.StatusInactive, resp.TokenInfo.Status)
	require.Empty(t, resp.TokenData)
	require.Equal(t, "*******5678", resp.AuthenticationMethods[0].Value)
	tur := resp.TokenUniqueReference

	// No acknowledgement before delivery.
	_, err = r.ack(ph, tur, ph.deviceID)
	refusedWith(t, err, http.StatusConflict, tokensvc.ReasonNotYetDelivered)

	sent, err := r.requestOTP(tur)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, sent.Result)
	require.Equal(t, epoch.Add(tokensvc.OTPValidity), sent.ExpiresAt.UTC())
	otp, ok := r.issuer.LastOTP(yellowPAN)
	require.True(t, ok)

	res, err := r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, res.Result)
	td := r.openTokenData(ph, res.TokenData)
	require.Equal(t, wire.StatusActive, td.Status)
	_, err = r.ack(ph, tur, ph.deviceID)
	require.NoError(t, err)
	_, err = r.issuer.WaitNotification(context.Background(), wire.EventDownloadComplete, tur)
	require.NoError(t, err)

	// R-G3e: the OTP served once.
	_, err = r.submitOTP(ph, tur, otp)
	refusedWith(t, err, http.StatusConflict, tokensvc.ReasonOTPUsed)
	// And a new one is not sent for an active token.
	_, err = r.requestOTP(tur)
	refusedWith(t, err, http.StatusConflict, tokensvc.ReasonNotAwaitingStepUp)
}

func (r *rig) stepUp(ph phone) string {
	r.t.Helper()
	resp, err := r.tokenize(r.tokenizeRequest(ph, yellowPAN, r.taskID()))
	require.NoError(r.t, err)
	require.Equal(r.t, wire.DecisionRequireAuthN, resp.Decision)
	_, err = r.requestOTP(resp.TokenUniqueReference)
	require.NoError(r.t, err)
	return resp.TokenUniqueReference
}

// wrongOTP is a code that differs from the right one.
func wrongOTP(right string) string {
	if right == "000000" {
		return "111111"
	}
	return "000000"
}

// R-G3e: a wrong OTP says how many tries are left and leaves the token
// INACTIVE.
func TestWrongOTP(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0a0b0c0e", 12)
	tur := r.stepUp(ph)
	otp, _ := r.issuer.LastOTP(yellowPAN)
	res, err := r.submitOTP(ph, tur, wrongOTP(otp))
	require.NoError(t, err)
	require.Equal(t, wire.ResultIncorrectCode, res.Result)
	require.Equal(t, tokensvc.MaxWrongOTP-1, res.RetriesRemaining)
	require.Empty(t, res.TokenData)
	tok, err := r.vault.Get(context.Background(), tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusInactive, tok.Status)
	require.Equal(t, 1, r.log.Count("op=submit-otp")) // audited...
	require.NotContains(t, r.log.String(), otp)       // ...without the code
}

// R-G3e: an OTP past its 5 minutes is refused, even the right one.
func TestOTPExpired(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0a0b0c0f", 13)
	tur := r.stepUp(ph)
	otp, _ := r.issuer.LastOTP(yellowPAN)
	r.clock.Advance(tokensvc.OTPValidity)
	res, err := r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultExpiredCode, res.Result)
	require.Empty(t, res.TokenData)
	// A fresh code works.
	_, err = r.requestOTP(tur)
	require.NoError(t, err)
	otp, _ = r.issuer.LastOTP(yellowPAN)
	res, err = r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, res.Result)
}

// R-G3c: five wrong OTPs lock the cardholder; the right code is then
// refused, and no new code is sent, until the service centre resets.
func TestOTPLockedAfterFiveWrong(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0a0b0c10", 14)
	tur := r.stepUp(ph)
	otp, _ := r.issuer.LastOTP(yellowPAN)
	for i := 1; i < tokensvc.MaxWrongOTP; i++ {
		res, err := r.submitOTP(ph, tur, wrongOTP(otp))
		require.NoError(t, err)
		require.Equal(t, wire.ResultIncorrectCode, res.Result)
		require.Equal(t, tokensvc.MaxWrongOTP-i, res.RetriesRemaining)
	}
	res, err := r.submitOTP(ph, tur, wrongOTP(otp))
	require.NoError(t, err)
	require.Equal(t, wire.ResultRetriesExceeded, res.Result)

	res, err = r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultRetriesExceeded, res.Result)
	require.Empty(t, res.TokenData)
	_, err = r.requestOTP(tur)
	refusedWith(t, err, http.StatusForbidden, tokensvc.ReasonOTPLocked)

	r.issuer.ResetOTP(yellowPAN)
	_, err = r.requestOTP(tur)
	require.NoError(t, err)
	otp, _ = r.issuer.LastOTP(yellowPAN)
	res, err = r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, res.Result)
}

// R-G3: a lost card is declined by the issuer with its reason; no token.
func TestLostCardDeclined(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 15)
	resp, err := r.tokenize(r.tokenizeRequest(ph, lostPAN, "task-lost"))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionDeclined, resp.Decision)
	require.Equal(t, "CARD_LOST", resp.Reason)
	require.Empty(t, resp.TokenUniqueReference)
	require.Empty(t, resp.TokenData)
	require.Zero(t, r.vault.Len())
	require.Contains(t, r.log.String(), "reason=CARD_LOST")
	require.Contains(t, r.log.String(), pan.Mask(lostPAN))
}

// R-G1, R-S5d: an acknowledgement signed by another device's key, or
// naming another device ID, does not complete the download.
func TestWrongDeviceAck(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102030405060708", 16)
	other := r.newPhone("1112131415161718", 17)
	r.provision(other) // the other phone's key is known to the service
	resp, err := r.tokenize(r.tokenizeRequest(ph, greenPAN, "task-dev"))
	require.NoError(t, err)
	tur := resp.TokenUniqueReference

	_, err = r.ack(other, tur, ph.deviceID)
	refusedWith(t, err, http.StatusForbidden, tokensvc.ReasonWrongDevice)
	_, err = r.ack(ph, tur, other.deviceID)
	refusedWith(t, err, http.StatusForbidden, tokensvc.ReasonWrongDevice)
	stranger := r.newPhone("2122", 18) // never registered
	_, err = r.ack(stranger, tur, ph.deviceID)
	refusedWith(t, err, http.StatusForbidden, wire.ReasonUnknownKey)
	for _, n := range r.issuer.Notifications() {
		require.False(t, n.Event == wire.EventDownloadComplete && n.TokenUniqueReference == tur)
	}
	require.GreaterOrEqual(t, r.log.Count("reason=wrong_device"), 2)

	_, err = r.ack(ph, tur, ph.deviceID)
	require.NoError(t, err)
}

// R-G1, R-G2: a tampered ciphertext is refused and nothing is made.
func TestTamperedCiphertext(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 19)
	env := r.seal(r.tokenizeRequest(ph, greenPAN, "task-tamper"), r.wallet, wire.TypeTokenizeRequest)
	parts := strings.Split(env, ".")
	c := []byte(parts[3])
	if c[10] == 'A' {
		c[10] = 'B'
	} else {
		c[10] = 'A'
	}
	parts[3] = string(c)
	_, err := r.client.PostEnvelope(context.Background(), r.url(tokensvc.PathTokenize), strings.Join(parts, "."))
	refusedWith(t, err, http.StatusBadRequest, wire.ReasonDecrypt)
	require.Zero(t, r.vault.Len())
	require.Contains(t, r.log.String(), "reason=decrypt_failed")

	// The card data nested inside, tampered, is refused too.
	req := r.tokenizeRequest(ph, greenPAN, "task-tamper-2")
	inner := strings.Split(req.FundingAccountInfo.EncryptedPayload, ".")
	inner[3] = inner[3][:len(inner[3])-2] + "AA"
	req.FundingAccountInfo.EncryptedPayload = strings.Join(inner, ".")
	_, err = r.tokenize(req)
	refusedWith(t, err, http.StatusBadRequest, wire.ReasonDecrypt)
	require.Zero(t, r.vault.Len())
}

// R-G4: the same envelope posted twice is refused the second time.
func TestReplayedRequest(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 20)
	env := r.seal(r.tokenizeRequest(ph, greenPAN, "task-replay"), r.wallet, wire.TypeTokenizeRequest)
	_, err := r.client.PostEnvelope(context.Background(), r.url(tokensvc.PathTokenize), env)
	require.NoError(t, err)
	_, err = r.client.PostEnvelope(context.Background(), r.url(tokensvc.PathTokenize), env)
	refusedWith(t, err, http.StatusConflict, wire.ReasonReplay)
	require.Equal(t, 1, r.vault.Len())
	require.Contains(t, r.log.String(), "reason=replayed")
}

// R-M5: a token requestor the service does not know is refused.
func TestUnknownRequestor(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 21)
	req := r.tokenizeRequest(ph, greenPAN, "task-unknown")
	req.TokenRequestorID = "99999999999"
	_, err := r.tokenize(req)
	refusedWith(t, err, http.StatusForbidden, tokensvc.ReasonUnknownRequestor)
	require.Zero(t, r.vault.Len())
	require.Contains(t, r.log.String(), "reason=unknown_requestor")

	// A party nobody trusts is refused at the envelope.
	rogue := newParty(t, "wallet-provider", 22)
	_, err = r.client.PostEnvelope(context.Background(), r.url(tokensvc.PathTokenize), r.seal(r.tokenizeRequest(ph, greenPAN, "task-rogue"), rogue, wire.TypeTokenizeRequest))
	refusedWith(t, err, http.StatusForbidden, wire.ReasonUnknownKey)
}

// R-M5, docs/provisioning.md pitfall 2: the same taskId twice is the same
// task: the same answer and one token; reused for another request it is
// refused.
func TestSameTaskIDTwice(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 23)
	req := r.tokenizeRequest(ph, greenPAN, "task-twice")
	first, err := r.tokenize(req)
	require.NoError(t, err)
	second, err := r.tokenize(req) // a new envelope, the same request
	require.NoError(t, err)
	require.Equal(t, first.TokenUniqueReference, second.TokenUniqueReference)
	require.Equal(t, first.Decision, second.Decision)
	// The same token data; the key is wrapped afresh each time (a new
	// ephemeral key), and is the same key.
	d1, d2 := r.openTokenData(ph, first.TokenData), r.openTokenData(ph, second.TokenData)
	require.NotEqual(t, d1.WrappedICCMasterKey, d2.WrappedICCMasterKey)
	k1, err := ph.party.UnwrapICCMasterKey(keys.TDES, d1.WrappedICCMasterKey, d1.ICCMasterKeyKCV)
	require.NoError(t, err)
	k2, err := ph.party.UnwrapICCMasterKey(keys.TDES, d2.WrappedICCMasterKey, d2.ICCMasterKeyKCV)
	require.NoError(t, err)
	require.True(t, k1.Equal(k2))
	d1.WrappedICCMasterKey, d2.WrappedICCMasterKey = nil, nil
	require.Equal(t, d1, d2)
	require.Equal(t, 1, r.vault.Len())

	other := r.tokenizeRequest(ph, greenPAN, "task-twice")
	_, err = r.tokenize(other)
	refusedWith(t, err, http.StatusConflict, tokensvc.ReasonTaskIDReused)
	require.Equal(t, 1, r.vault.Len())

	// Repeated after the token was deleted: its state now, no token data.
	_, err = r.lifecycle(wire.LifecycleRequest{TaskID: "del", Action: wire.ActionDelete, TokenUniqueReferences: []string{first.TokenUniqueReference}, Actor: wire.ActorCardholder, Reason: "TEST"}, false)
	require.NoError(t, err)
	third, err := r.tokenize(req)
	require.NoError(t, err)
	require.Equal(t, first.TokenUniqueReference, third.TokenUniqueReference)
	require.Equal(t, wire.StatusDeactivated, third.TokenInfo.Status)
	require.Empty(t, third.TokenData)
}

// Life cycle from both ends; suspensions stack and a resume clears only
// the caller's (docs/provisioning.md pitfall 4); each change is notified
// to the issuer when the wallet asked.
func TestLifecycleBothEnds(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 24)
	tur := r.provision(ph)
	lc := func(action, actor string, asIssuer bool) wire.TokenStatus {
		t.Helper()
		resp, err := r.lifecycle(wire.LifecycleRequest{TaskID: r.taskID(), Action: action, TokenUniqueReferences: []string{tur}, Actor: actor, Reason: "TEST"}, asIssuer)
		require.NoError(t, err)
		require.Len(t, resp.Tokens, 1)
		return resp.Tokens[0]
	}
	st := lc(wire.ActionSuspend, wire.ActorCardholder, false)
	require.Equal(t, wire.StatusSuspended, st.Status)
	_, err := r.issuer.WaitNotification(context.Background(), wire.EventSuspended, tur)
	require.NoError(t, err)
	st = lc(wire.ActionSuspend, wire.ActorIssuer, true)
	require.Equal(t, []string{wire.ActorCardholder, wire.ActorIssuer}, st.SuspendedBy)
	st = lc(wire.ActionResume, wire.ActorIssuer, true)
	require.Equal(t, wire.StatusSuspended, st.Status) // the cardholder's suspension holds
	st = lc(wire.ActionResume, wire.ActorIssuer, true)
	require.Equal(t, tokensvc.ReasonNotSuspendedBy, st.Reason)
	st = lc(wire.ActionResume, wire.ActorCardholder, false)
	require.Equal(t, wire.StatusActive, st.Status)
	_, err = r.issuer.WaitNotification(context.Background(), wire.EventResumed, tur)
	require.NoError(t, err)

	// The wallet provider may not act as the issuer.
	_, err = r.lifecycle(wire.LifecycleRequest{TaskID: r.taskID(), Action: wire.ActionResume, TokenUniqueReferences: []string{tur}, Actor: wire.ActorIssuer, Reason: "TEST"}, false)
	refusedWith(t, err, http.StatusForbidden, tokensvc.ReasonActorNotAllowed)

	st = lc(wire.ActionDelete, wire.ActorIssuer, true)
	require.Equal(t, wire.StatusDeactivated, st.Status)
	st = lc(wire.ActionResume, wire.ActorCardholder, false)
	require.Equal(t, tokensvc.ReasonTokenState, st.Reason)

	// Somebody else's token is unknown to the wallet provider.
	st = lc(wire.ActionSuspend, wire.ActorCardholder, false)
	require.Equal(t, tokensvc.ReasonTokenState, st.Reason)
	resp, err := r.lifecycle(wire.LifecycleRequest{TaskID: r.taskID(), Action: wire.ActionSuspend, TokenUniqueReferences: []string{"DWSPTSnope"}, Actor: wire.ActorCardholder, Reason: "TEST"}, false)
	require.NoError(t, err)
	require.Equal(t, tokensvc.ReasonUnknownToken, resp.Tokens[0].Reason)
}

// R-C1: a lost-phone report suspends every token on that phone at once,
// and no other phone's.
func TestLostPhoneSuspendsAllItsTokens(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102030405060708", 25)
	other := r.newPhone("1112131415161718", 26)
	a, b := r.provision(ph), r.provision(ph)
	c := r.provision(other)
	resp, err := r.lifecycle(wire.LifecycleRequest{TaskID: "lost-1", Action: wire.ActionSuspend, DeviceID: ph.deviceID, Actor: wire.ActorCardholder, Reason: "DEVICE_LOST"}, false)
	require.NoError(t, err)
	require.Len(t, resp.Tokens, 2)
	for _, tur := range []string{a, b} {
		tok, err := r.vault.Get(context.Background(), tur)
		require.NoError(t, err)
		require.Equal(t, wire.StatusSuspended, tok.Status)
		n, err := r.issuer.WaitNotification(context.Background(), wire.EventSuspended, tur)
		require.NoError(t, err)
		require.Equal(t, "DEVICE_LOST", n.Reason)
	}
	tok, err := r.vault.Get(context.Background(), c)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, tok.Status)

	// The issuer's service centre can do the same.
	resp, err = r.lifecycle(wire.LifecycleRequest{TaskID: "lost-2", Action: wire.ActionSuspend, DeviceID: other.deviceID, Actor: wire.ActorIssuer, Reason: "DEVICE_LOST"}, true)
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, resp.Tokens[0].Status)
	_, err = r.lifecycle(wire.LifecycleRequest{TaskID: "lost-3", Action: wire.ActionSuspend, DeviceID: "99", Actor: wire.ActorIssuer, Reason: "DEVICE_LOST"}, true)
	refusedWith(t, err, http.StatusNotFound, tokensvc.ReasonNoTokens)
}

// R-G5g, docs/provisioning.md pitfall 3: the audit trail shows masked
// PANs and references only: never a PAN, code, OTP or token PAN.
func TestAuditHasNoSensitiveData(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 27)
	resp, err := r.tokenize(r.tokenizeRequest(ph, greenPAN, "task-audit"))
	require.NoError(t, err)
	td := r.openTokenData(ph, resp.TokenData)
	mk, err := ph.party.UnwrapICCMasterKey(keys.TDES, td.WrappedICCMasterKey, td.ICCMasterKeyKCV)
	require.NoError(t, err)
	_, err = r.ack(ph, resp.TokenUniqueReference, ph.deviceID)
	require.NoError(t, err)
	tur := r.stepUp(ph)
	otp, _ := r.issuer.LastOTP(yellowPAN)
	_, err = r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	log := r.log.String()
	require.Contains(t, log, resp.TokenUniqueReference)
	for _, secret := range []string{greenPAN, yellowPAN, td.TokenPAN, hex.EncodeToString(mk.Bytes()), strings.ToUpper(hex.EncodeToString(mk.Bytes())), otp, "securityCode", "=" + code, expiry} {
		require.NotContains(t, log, secret)
	}
}

// Wrong OTP submitted by another device's key is refused before the
// issuer counts it.
func TestSubmitOTPFromAnotherDevice(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0a0b", 28)
	other := r.newPhone("0c0d", 29)
	r.provision(other)
	tur := r.stepUp(ph)
	otp, _ := r.issuer.LastOTP(yellowPAN)
	_, err := r.submitOTP(other, tur, otp)
	refusedWith(t, err, http.StatusForbidden, tokensvc.ReasonWrongDevice)
	res, err := r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, res.Result)
}

// R-G5b: the token data carries the ICC master key wrapped for the
// requesting phone only; another phone's key does not open it, and the
// vault gives the same key again for the same token.
func TestTokenDataKeyWrappedForThePhone(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0e0f", 30)
	other := r.newPhone("1e1f", 31)
	resp, err := r.tokenize(r.tokenizeRequest(ph, greenPAN, "task-wrap"))
	require.NoError(t, err)
	td := r.openTokenData(ph, resp.TokenData)
	require.NoError(t, td.Validate())
	mk, err := ph.party.UnwrapICCMasterKey(keys.TDES, td.WrappedICCMasterKey, td.ICCMasterKeyKCV)
	require.NoError(t, err)
	require.Equal(t, mk.KCVHex(), td.ICCMasterKeyKCV)
	_, err = other.party.UnwrapICCMasterKey(keys.TDES, td.WrappedICCMasterKey, td.ICCMasterKeyKCV)
	require.ErrorIs(t, err, wire.ErrKey)

	w, kcv, err := r.vault.WrapKey(context.Background(), resp.TokenUniqueReference, other.party.Public().Enc)
	require.NoError(t, err)
	again, err := other.party.UnwrapICCMasterKey(keys.TDES, w, kcv)
	require.NoError(t, err)
	require.True(t, again.Equal(mk))
	_, _, err = r.vault.WrapKey(context.Background(), "DWSPTSnone", ph.party.Public().Enc)
	require.ErrorIs(t, err, tokensvc.ErrUnknownToken)
}

// R-G3f: the cardholder's verification on the phone reaches the issuer
// only when the phone signed it in its card data and the wallet provider's
// risk data says the same: a wallet provider cannot add it on its own, nor
// can a phone's claim pass without the wallet provider's.
func TestDeviceCVMClaim(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name           string
		signed, risked string
		want           string
	}{
		{"both", wire.DeviceCVMBiometric, wire.DeviceCVMBiometric, wire.DeviceCVMBiometric},
		{"wallet provider only", "", wire.DeviceCVMPasscode, ""},
		{"phone only", wire.DeviceCVMPasscode, "", ""},
		{"contradiction", wire.DeviceCVMPasscode, wire.DeviceCVMBiometric, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ph := r.newPhone(fmt.Sprintf("0A0B0C0D000000%02X", 0x40+i), byte(60+i))
			keys, err := ph.party.Public().Keys()
			require.NoError(t, err)
			card := wire.CardData{PAN: greenPAN, Expiry: expiry, SecurityCode: code, DeviceCVM: tc.signed}
			req := wire.TokenizeRequest{
				TaskID: r.taskID(), TokenRequestorID: requestor, WalletAccountID: "acct-" + ph.deviceID,
				DeviceID: ph.deviceID, DevicePublicKeys: keys,
				FundingAccountInfo: wire.FundingAccountInfo{EncryptedPayload: r.seal(card, ph.party, wire.TypeCardData)},
				DecisioningData: wire.RiskData{Recommendation: wire.DecisionApproved, DeviceScore: 4, AccountScore: 4,
					DeviceCVM: tc.risked},
				ConsumerLanguage: "zh",
			}
			_, err = r.tokenize(req)
			require.NoError(t, err)
			require.Equal(t, tc.want, r.issuer.DeviceCVM(greenPAN))
		})
	}
}

// R-S2a, R-G3c: the activation afterwards with the card's PIN. Only the
// token's own phone may send it (wrong_device); a card without a PIN is
// refused with the issuer's reason; a wrong PIN leaves the token INACTIVE
// with the tries left; the right one activates it and delivers its data
// to the device; again, it answers SUCCESS without data. The PIN block is
// not in the token service's log.
func TestActivatePasscode(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0A0B0C0D00000077", 77)
	other := r.newPhone("0A0B0C0D00000078", 78)
	resp, err := r.tokenize(r.tokenizeRequest(ph, yellowPAN, r.taskID()))
	require.NoError(t, err)
	tur := resp.TokenUniqueReference
	activate := func(signer phone, block string) (wire.ActivateResult, error) {
		env := r.seal(wire.ActivatePasscode{TaskID: r.taskID(), TokenUniqueReference: tur, PINBlock: block},
			signer.party, wire.TypeActivate)
		var out wire.ActivateResult
		err := r.post(tokensvc.PathActivate, env, wire.TypeActivateResult, &out)
		return out, err
	}
	_, err = activate(ph, "141234FFFFFFFFFF")
	refusedWith(t, err, 409, tokensvc.ReasonPasscodeUnavailable)

	r.issuer.AddCard(yellowPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Phone: "0912345678", StepUp: true, PIN: "1234"})
	_, err = r.tokenize(r.tokenizeRequest(other, greenPAN, r.taskID()))
	require.NoError(t, err)
	_, err = activate(other, "141234FFFFFFFFFF")
	refusedWith(t, err, 403, tokensvc.ReasonWrongDevice)

	out, err := activate(ph, "149999FFFFFFFFFF")
	require.NoError(t, err)
	require.Equal(t, wire.ResultIncorrectCode, out.Result)
	require.Equal(t, tokensvc.MaxWrongOTP-1, out.RetriesRemaining)
	require.Empty(t, out.TokenData)
	tok, err := r.vault.Get(context.Background(), tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusInactive, tok.Status)

	out, err = activate(ph, "141234FFFFFFFFFF")
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, out.Result)
	td := r.openTokenData(ph, out.TokenData)
	require.Equal(t, tur, td.TokenUniqueReference)
	tok, err = r.vault.Get(context.Background(), tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, tok.Status)

	out, err = activate(ph, "141234FFFFFFFFFF")
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, out.Result)
	require.Empty(t, out.TokenData)
	require.NotContains(t, r.log.String(), "141234")
	require.NotContains(t, r.log.String(), "149999")
}
