package walletflow_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

var ctx = context.Background()

// R-M5: the cardholder types the card into the wallet app; the token
// service gets the issuer's approval, makes the token, and its data goes
// through the wallet provider to the phone, which installs and
// acknowledges it; the issuer is told the download completed.
func TestGreenPath(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102030405060708", 10)
	res, err := p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionApproved, res.Decision)
	require.Equal(t, wire.StatusActive, res.Status)
	tur := res.TokenUniqueReference

	n, err := w.issuer.WaitNotification(ctx, wire.EventDownloadComplete, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, n.Status)
	require.Equal(t, 1, w.downloads(tur))

	tok, ok := p.Token(tur)
	require.True(t, ok)
	require.True(t, tok.Installed)
	require.Equal(t, wire.StatusActive, tok.Status)
	require.Equal(t, "0010", tok.AccountPanSuffix)
	c, err := p.Card(tur)
	require.NoError(t, err)
	require.NotEqual(t, greenPAN, c.TokenPAN)
	require.True(t, pan.LuhnValid(c.TokenPAN))
	require.Len(t, c.MasterKey, 16)
	require.Equal(t, "0102030405060708", c.DeviceID)
	require.Equal(t, requestor, c.RequestorID)
	require.Equal(t, "00", c.PSN)
	require.Equal(t, "visa18", c.CVN)
	require.NotContains(t, c.String(), c.TokenPAN)
	require.Equal(t, pan.Mask(c.TokenPAN), tok.Masked)

	rec := w.walletStatus(tur)
	require.Equal(t, wire.StatusActive, rec.Status)
	require.Equal(t, "0010", rec.AccountPanSuffix)
}

// R-G3e: yellow path. The token is INACTIVE and nothing is on the phone
// until the cardholder gives the OTP sent by the issuer; then it is
// installed, ACTIVE, and the issuer learns the download completed.
func TestStepUpOTP(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0a0b0c0d", 11)
	res, err := p.AddCard(ctx, card(yellowPAN))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res.Decision)
	require.Equal(t, wire.AuthTextToCardholder, res.Methods[0].Type)
	require.Equal(t, "*******5678", res.Methods[0].Value)
	tur := res.TokenUniqueReference
	require.Equal(t, wire.StatusInactive, w.vaultStatus(tur))
	require.Equal(t, wire.StatusInactive, w.walletStatus(tur).Status)
	tok, _ := p.Token(tur)
	require.False(t, tok.Installed)
	_, err = p.Card(tur)
	require.ErrorIs(t, err, walletapp.ErrUnknownToken)

	exp, err := p.RequestOTP(ctx, tur, res.Methods[0].ID)
	require.NoError(t, err)
	require.Equal(t, epoch.Add(tokensvc.OTPValidity), exp.UTC())
	otp, _ := w.issuer.LastOTP(yellowPAN)
	r, err := p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
	require.Equal(t, wire.StatusActive, r.Status)
	_, err = w.issuer.WaitNotification(ctx, wire.EventDownloadComplete, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, w.walletStatus(tur).Status)
	_, err = p.Card(tur)
	require.NoError(t, err)
	// The OTP never reached the wallet provider's log.
	require.NotContains(t, w.wpLog.String(), otp)
}

// R-G3e: a wrong OTP activates nothing and says how many tries are left.
func TestWrongOTP(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0a0b0c0e", 12)
	tur, otp := w.stepUp(p)
	r, err := p.SubmitOTP(ctx, tur, wrongOTP(otp))
	require.NoError(t, err)
	require.Equal(t, wire.ResultIncorrectCode, r.Result)
	require.Equal(t, tokensvc.MaxWrongOTP-1, r.RetriesRemaining)
	require.Equal(t, wire.StatusInactive, w.vaultStatus(tur))
	tok, _ := p.Token(tur)
	require.False(t, tok.Installed)
}

// R-G3e: each OTP serves once; the code used again is refused.
func TestOTPReused(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0a0b0c0f", 13)
	tur, otp := w.stepUp(p)
	r, err := p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
	_, err = p.SubmitOTP(ctx, tur, otp)
	refused(t, err, tokensvc.ReasonOTPUsed)
	require.Equal(t, 1, w.downloads(tur))
}

// R-G3e: an OTP past its validity is refused, even the right code.
func TestOTPExpired(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0a0b0c10", 14)
	tur, otp := w.stepUp(p)
	w.clock.Advance(tokensvc.OTPValidity + 1)
	r, err := p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultExpiredCode, r.Result)
	require.Equal(t, wire.StatusInactive, w.vaultStatus(tur))
}

// R-G3c: five wrong OTPs lock; the right code is then refused until the
// issuer's service centre resets the cardholder.
func TestOTPLockedAfterFiveWrong(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0a0b0c11", 15)
	tur, otp := w.stepUp(p)
	for i := 1; i <= tokensvc.MaxWrongOTP; i++ {
		r, err := p.SubmitOTP(ctx, tur, wrongOTP(otp))
		require.NoError(t, err)
		if i < tokensvc.MaxWrongOTP {
			require.Equal(t, wire.ResultIncorrectCode, r.Result)
		} else {
			require.Equal(t, wire.ResultRetriesExceeded, r.Result)
		}
	}
	r, err := p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultRetriesExceeded, r.Result)
	require.Equal(t, wire.StatusInactive, w.vaultStatus(tur))
	_, err = p.RequestOTP(ctx, tur, "1")
	refused(t, err, tokensvc.ReasonOTPLocked)

	w.issuer.ResetOTP(yellowPAN)
	_, err = p.RequestOTP(ctx, tur, "1")
	require.NoError(t, err)
	otp, _ = w.issuer.LastOTP(yellowPAN)
	r, err = p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
}

// R-G3: a card reported lost is declined by the issuer, with its reason;
// no token anywhere.
func TestLostCardDeclined(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102", 16)
	res, err := p.AddCard(ctx, card(lostPAN))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionDeclined, res.Decision)
	require.Equal(t, "CARD_LOST", res.Reason)
	require.Empty(t, res.TokenUniqueReference)
	require.Zero(t, w.vault.Len())
	require.Empty(t, w.wp.Store().Dump())
	require.Empty(t, p.Tokens())
}

// R-G1, R-G2, R-S5d: another phone cannot acknowledge a download: its
// signed acknowledgement of this phone's token is refused by the wallet
// provider, whether it names the victim's account (wrong_device) or its
// own (not_owner).
func TestWrongDeviceAck(t *testing.T) {
	w := newWorld(t)
	victim := w.phone("0102030405060708", 17)
	thief := w.phone("1112131415161718", 18)
	_, err := thief.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	tur, _ := w.stepUp(victim) // not delivered yet: the thief tries first

	for _, deviceID := range []string{victim.DeviceID(), thief.DeviceID()} {
		ack := w.sealToTSP(thief.device, wire.TokenDataAck{TokenUniqueReference: tur, DeviceID: deviceID, Result: wire.AckInstalled}, wire.TypeTokenDataAck)
		err = w.postSigned(thief.device, walletsvc.PathAck, walletsvc.TypeAck, walletsvc.AckRequest{WalletAccountID: victim.acct, TokenUniqueReference: tur, Ack: ack}, &walletsvc.AckResult{})
		refused(t, err, walletsvc.ReasonWrongDevice)
		ack = w.sealToTSP(thief.device, wire.TokenDataAck{TokenUniqueReference: tur, DeviceID: deviceID, Result: wire.AckInstalled}, wire.TypeTokenDataAck)
		err = w.postSigned(thief.device, walletsvc.PathAck, walletsvc.TypeAck, walletsvc.AckRequest{WalletAccountID: thief.acct, TokenUniqueReference: tur, Ack: ack}, &walletsvc.AckResult{})
		refused(t, err, walletsvc.ReasonNotOwner)
	}
	require.Zero(t, w.downloads(tur))
	require.Contains(t, w.wpLog.String(), "reason=wrong_device")
	require.Contains(t, w.wpLog.String(), "reason=not_owner")
}

// R-G1, R-G2: card data whose ciphertext was tampered with is refused;
// nothing is made.
func TestTamperedCiphertext(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102", 19)
	req, err := p.NewAddCardRequest(card(greenPAN))
	require.NoError(t, err)
	parts := strings.Split(req.CardData, ".")
	// Another base64url letter at position 5: a different ciphertext byte
	// whatever the original letter.
	b := []byte(parts[3])
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	parts[3] = string(b)
	req.CardData = strings.Join(parts, ".")
	_, err = p.Submit(ctx, req)
	refused(t, err, wire.ReasonDecrypt)
	require.Zero(t, w.vault.Len())
	require.Empty(t, w.wp.Store().Dump())
}

// R-G4: a captured envelope posted again is refused: the OTP submission
// and the acknowledgement alike.
func TestReplayedRequest(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0a0b", 20)
	tur, otp := w.stepUp(p)
	env := w.sealToTSP(p.device, wire.SubmitOTP{TaskID: "captured", TokenUniqueReference: tur, OTP: wrongOTP(otp)}, wire.TypeSubmitOTP)
	in := walletsvc.OTPSubmit{WalletAccountID: p.acct, TokenUniqueReference: tur, SubmitOTP: env}
	var out walletsvc.OTPSubmitResult
	require.NoError(t, w.postSigned(p.device, walletsvc.PathSubmitOTP, walletsvc.TypeSubmitOTP, in, &out))
	require.Equal(t, wire.ResultIncorrectCode, out.Result)
	// Newly signed for the wallet provider, the captured submission is
	// still refused by the token service.
	err := w.postSigned(p.device, walletsvc.PathSubmitOTP, walletsvc.TypeSubmitOTP, in, &out)
	refused(t, err, wire.ReasonReplay)

	r, err := p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
	require.Equal(t, tokensvc.MaxWrongOTP-1, out.RetriesRemaining) // the replay was not counted
}

// R-M5: a wallet provider using a token requestor ID the token service
// does not know is refused.
func TestUnknownRequestor(t *testing.T) {
	w := newWorld(t)
	rogue := w.newWalletProvider("99999999999", w.wpLog)
	ln := listen(t)
	serve(t, rogue.Handler(), &wire.Limits{}, "wallet-provider", w.pki, ln)
	p := w.phoneAt("0102", 21, "https://"+ln.Addr().String())
	_, err := p.AddCard(ctx, card(greenPAN))
	refused(t, err, tokensvc.ReasonUnknownRequestor)
	require.Zero(t, w.vault.Len())
	require.Contains(t, w.tspLog.String(), "reason=unknown_requestor")
}

// R-M5, docs/provisioning.md pitfall 2: the phone retrying the same
// request (same taskId) gets the same answer and one token.
func TestSameTaskIDTwice(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102", 22)
	req, err := p.NewAddCardRequest(card(greenPAN))
	require.NoError(t, err)
	first, err := p.Submit(ctx, req)
	require.NoError(t, err)
	second, err := p.Submit(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.TokenUniqueReference, second.TokenUniqueReference)
	require.Equal(t, 1, w.vault.Len())
	require.Len(t, w.wp.Store().Dump(), 1)
	require.Len(t, p.Tokens(), 1)
	require.Equal(t, 1, w.downloads(first.TokenUniqueReference))
}

// Life cycle from both ends: the cardholder through the wallet, the
// issuer at the token service (its changes reach the wallet provider as
// notifications); suspensions stack, and deletion removes the
// credentials from the phone (docs/provisioning.md pitfalls 4 and 12).
func TestLifecycleFromBothEnds(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102", 23)
	res, err := p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	tur := res.TokenUniqueReference

	tok, err := p.Suspend(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, tok.Status)
	require.Equal(t, wire.StatusSuspended, w.vaultStatus(tur))
	require.Equal(t, wire.StatusSuspended, w.walletStatus(tur).Status)
	_, err = w.issuer.WaitNotification(ctx, wire.EventSuspended, tur)
	require.NoError(t, err)

	lc := w.issuerLifecycle(wire.LifecycleRequest{Action: wire.ActionSuspend, Actor: wire.ActorIssuer, Reason: "FRAUD_SUSPECTED", TokenUniqueReferences: []string{tur}})
	require.Equal(t, []string{wire.ActorCardholder, wire.ActorIssuer}, lc.Tokens[0].SuspendedBy)
	require.Contains(t, w.walletStatus(tur).SuspendedBy, wire.ActorIssuer)

	tok, err = p.Resume(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, tok.Status) // the issuer's suspension holds
	require.Equal(t, []string{wire.ActorIssuer}, tok.SuspendedBy)

	lc = w.issuerLifecycle(wire.LifecycleRequest{Action: wire.ActionResume, Actor: wire.ActorIssuer, Reason: "CLEARED", TokenUniqueReferences: []string{tur}})
	require.Equal(t, wire.StatusActive, lc.Tokens[0].Status)
	require.Equal(t, wire.StatusActive, w.walletStatus(tur).Status) // notified
	require.NoError(t, p.Refresh(ctx))
	tok, _ = p.Token(tur)
	require.Equal(t, wire.StatusActive, tok.Status)

	tok, err = p.Delete(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusDeactivated, tok.Status)
	require.False(t, tok.Installed)
	_, err = p.Card(tur)
	require.ErrorIs(t, err, walletapp.ErrUnknownToken)
	require.Equal(t, wire.StatusDeactivated, w.vaultStatus(tur))
	_, err = w.issuer.WaitNotification(ctx, wire.EventDeleted, tur)
	require.NoError(t, err)

	// The issuer deletes another token: the phone learns it on refresh.
	res, err = p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	w.issuerLifecycle(wire.LifecycleRequest{Action: wire.ActionDelete, Actor: wire.ActorIssuer, Reason: "ACCOUNT_CLOSED", TokenUniqueReferences: []string{res.TokenUniqueReference}})
	require.Equal(t, wire.StatusDeactivated, w.walletStatus(res.TokenUniqueReference).Status)
	require.NoError(t, p.Refresh(ctx))
	tok, _ = p.Token(res.TokenUniqueReference)
	require.Equal(t, wire.StatusDeactivated, tok.Status)
	require.False(t, tok.Installed)
}

// R-C1: the cardholder reports the phone lost: every token on it is
// suspended at once; another phone's token is not touched.
func TestLostPhone(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102030405060708", 24)
	other := w.phone("1112131415161718", 25)
	a, err := p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	b, err := p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	c, err := other.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)

	var out walletsvc.LifecycleResult
	require.NoError(t, w.postSigned(p.device, walletsvc.PathLifecycle, walletsvc.TypeLifecycle, walletsvc.LifecycleRequest{
		WalletAccountID: p.acct, DeviceID: p.DeviceID(), Action: wire.ActionSuspend, Reason: "DEVICE_LOST",
	}, &out))
	require.Len(t, out.Tokens, 2)
	for _, tur := range []string{a.TokenUniqueReference, b.TokenUniqueReference} {
		require.Equal(t, wire.StatusSuspended, w.vaultStatus(tur))
		require.Equal(t, wire.StatusSuspended, w.walletStatus(tur).Status)
		n, err := w.issuer.WaitNotification(ctx, wire.EventSuspended, tur)
		require.NoError(t, err)
		require.Equal(t, "DEVICE_LOST", n.Reason)
	}
	require.Equal(t, wire.StatusActive, w.vaultStatus(c.TokenUniqueReference))

	// Somebody else's account cannot report this phone.
	err = w.postSigned(other.device, walletsvc.PathLifecycle, walletsvc.TypeLifecycle, walletsvc.LifecycleRequest{
		WalletAccountID: other.acct, DeviceID: p.DeviceID(), Action: wire.ActionSuspend, Reason: "DEVICE_LOST",
	}, &out)
	refused(t, err, walletsvc.ReasonDeviceMismatch)
}

// R-G5g: neither the wallet provider nor the phone keeps the funding PAN,
// its expiry or its code; the wallet provider keeps no token PAN or key
// either. Their logs hold none of it.
func TestNoSensitiveDataStored(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102", 26)
	g, err := p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	tur, otp := w.stepUp(p)
	_, err = p.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)

	wpDump, err := json.Marshal(w.wp.Store().Dump())
	require.NoError(t, err)
	appDump, err := p.Dump()
	require.NoError(t, err)
	require.Contains(t, string(wpDump), g.TokenUniqueReference)
	require.Contains(t, string(appDump), g.TokenUniqueReference)
	for _, s := range []string{greenPAN, yellowPAN, `"` + expiry + `"`, `"` + code + `"`, "securityCode", "accountNumber"} {
		require.NotContains(t, string(wpDump), s)
		require.NotContains(t, string(appDump), s)
		require.NotContains(t, w.wpLog.String(), strings.Trim(s, `"`))
	}
	for _, tr := range []string{g.TokenUniqueReference, tur} {
		c, err := p.Card(tr)
		require.NoError(t, err)
		require.NotContains(t, string(wpDump), c.TokenPAN)
		require.NotContains(t, w.wpLog.String(), c.TokenPAN)
		require.NotContains(t, w.tspLog.String(), c.TokenPAN)
		require.Contains(t, string(appDump), c.TokenPAN) // the phone keeps its token
	}
	require.NotContains(t, w.tspLog.String(), greenPAN)
	require.NotContains(t, w.tspLog.String(), otp)
}
