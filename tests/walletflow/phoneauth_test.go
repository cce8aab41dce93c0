package walletflow_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// refusedWith checks the reason and the HTTP status of a refusal.
func refusedWith(t *testing.T, err error, code int, reason string) {
	t.Helper()
	refused(t, err, reason)
	ref := wire.RefusalFor(err)
	require.Equal(t, code, ref.Code)
}

// victimAndThief are two phones, each with an active token in its own
// wallet account.
func victimAndThief(t *testing.T, w *world) (victim, thief *phone, vTUR, tTUR string) {
	t.Helper()
	victim = w.phone("0102030405060708", 40)
	thief = w.phone("1112131415161718", 41)
	v, err := victim.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	th, err := thief.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, v.Status)
	return victim, thief, v.TokenUniqueReference, th.TokenUniqueReference
}

// R-G2, R-C1: another phone, with its own valid keys and certificate,
// cannot suspend, delete or list the victim's token, whether it names the
// victim's wallet account (wrong_device) or its own (not_owner); the
// genuine phone still can.
func TestPhoneAuthOtherPhoneRefused(t *testing.T) {
	w := newWorld(t)
	victim, thief, tur, own := victimAndThief(t, w)

	for _, action := range []string{wire.ActionSuspend, wire.ActionDelete} {
		var out walletsvc.LifecycleResult
		err := w.postSigned(thief.device, walletsvc.PathLifecycle, walletsvc.TypeLifecycle, walletsvc.LifecycleRequest{
			WalletAccountID: victim.acct, TokenUniqueReference: tur, Action: action, Reason: "CARDHOLDER_REQUEST",
		}, &out)
		refusedWith(t, err, http.StatusForbidden, walletsvc.ReasonWrongDevice)
		err = w.postSigned(thief.device, walletsvc.PathLifecycle, walletsvc.TypeLifecycle, walletsvc.LifecycleRequest{
			WalletAccountID: thief.acct, TokenUniqueReference: tur, Action: action, Reason: "CARDHOLDER_REQUEST",
		}, &out)
		refusedWith(t, err, http.StatusForbidden, walletsvc.ReasonNotOwner)
	}
	var list walletsvc.TokensResult
	err := w.postSigned(thief.device, walletsvc.PathTokens, walletsvc.TypeTokens, walletsvc.TokensRequest{WalletAccountID: victim.acct}, &list)
	refusedWith(t, err, http.StatusForbidden, walletsvc.ReasonWrongDevice)
	require.NoError(t, w.postSigned(thief.device, walletsvc.PathTokens, walletsvc.TypeTokens, walletsvc.TokensRequest{WalletAccountID: thief.acct}, &list))
	require.Len(t, list.Tokens, 1)
	require.Equal(t, own, list.Tokens[0].TokenUniqueReference)

	// Nothing happened to the victim's token.
	require.Equal(t, wire.StatusActive, w.vaultStatus(tur))
	require.Equal(t, wire.StatusActive, w.walletStatus(tur).Status)
	log := w.wpLog.String()
	require.Contains(t, log, "reason=wrong_device")
	require.Contains(t, log, "reason=not_owner")
	require.NotContains(t, log, greenPAN)

	// The genuine phone still can.
	tok, err := victim.Suspend(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, tok.Status)
	tok, err = victim.Resume(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, tok.Status)
	require.NoError(t, victim.Refresh(ctx))
	tok, err = victim.Delete(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusDeactivated, tok.Status)
	require.Equal(t, wire.StatusDeactivated, w.vaultStatus(tur))
	require.Equal(t, wire.StatusActive, w.vaultStatus(own))
}

// R-G2: a request without the device's signature (plain JSON, or an
// envelope signed by a key bound to no wallet account) is refused.
func TestPhoneAuthUnsigned(t *testing.T) {
	w := newWorld(t)
	victim, _, tur, _ := victimAndThief(t, w)

	var out walletsvc.LifecycleResult
	for _, action := range []string{wire.ActionSuspend, wire.ActionDelete} {
		err := w.postWallet(walletsvc.PathLifecycle, walletsvc.LifecycleRequest{
			WalletAccountID: victim.acct, TokenUniqueReference: tur, Action: action, Reason: "CARDHOLDER_REQUEST",
		}, &out)
		refusedWith(t, err, http.StatusUnauthorized, walletsvc.ReasonUnauthenticated)
	}
	err := w.postWallet(walletsvc.PathTokens, walletsvc.TokensRequest{WalletAccountID: victim.acct}, &walletsvc.TokensResult{})
	refusedWith(t, err, http.StatusUnauthorized, walletsvc.ReasonUnauthenticated)
	err = w.postWallet(walletsvc.PathRequestOTP, walletsvc.OTPRequest{WalletAccountID: victim.acct, TokenUniqueReference: tur, MethodID: "1"}, &walletsvc.OTPRequestResult{})
	refusedWith(t, err, http.StatusUnauthorized, walletsvc.ReasonUnauthenticated)

	stranger := party(t, "phone-0102030405060708", 42) // the victim's name, not its keys
	err = w.postSigned(stranger, walletsvc.PathLifecycle, walletsvc.TypeLifecycle, walletsvc.LifecycleRequest{
		WalletAccountID: victim.acct, TokenUniqueReference: tur, Action: wire.ActionDelete, Reason: "CARDHOLDER_REQUEST",
	}, &out)
	refusedWith(t, err, http.StatusUnauthorized, walletsvc.ReasonUnauthenticated)

	require.Equal(t, wire.StatusActive, w.vaultStatus(tur))
	require.Contains(t, w.wpLog.String(), "reason=unauthenticated")
	require.NotContains(t, w.wpLog.String(), greenPAN)
}

// R-G4, R-C1: the genuine phone's signed suspension, captured and posted
// again, is refused; the token was suspended once.
func TestPhoneAuthReplay(t *testing.T) {
	w := newWorld(t)
	victim, _, tur, _ := victimAndThief(t, w)

	env := w.sealToWallet(victim.device, walletsvc.LifecycleRequest{
		WalletAccountID: victim.acct, TokenUniqueReference: tur, Action: wire.ActionSuspend, Reason: "CARDHOLDER_REQUEST",
	}, walletsvc.TypeLifecycle, 0)
	var out walletsvc.LifecycleResult
	require.NoError(t, w.postEnvelope(walletsvc.PathLifecycle, env, &out))
	require.Equal(t, wire.StatusSuspended, w.vaultStatus(tur))
	_, err := victim.Resume(ctx, tur)
	require.NoError(t, err)

	err = w.postEnvelope(walletsvc.PathLifecycle, env, &out)
	refusedWith(t, err, http.StatusConflict, walletsvc.ReasonReplay)
	require.Equal(t, wire.StatusActive, w.vaultStatus(tur))

	list := w.sealToWallet(victim.device, walletsvc.TokensRequest{WalletAccountID: victim.acct}, walletsvc.TypeTokens, 0)
	require.NoError(t, w.postEnvelope(walletsvc.PathTokens, list, &walletsvc.TokensResult{}))
	err = w.postEnvelope(walletsvc.PathTokens, list, &walletsvc.TokensResult{})
	refusedWith(t, err, http.StatusConflict, walletsvc.ReasonReplay)
	require.Contains(t, w.wpLog.String(), "reason=replay")
}

// R-G4, R-C1: a signed request posted after its expiry is refused, as is
// one of another message type; a fresh one from the genuine phone passes.
func TestPhoneAuthExpired(t *testing.T) {
	w := newWorld(t)
	victim, _, tur, _ := victimAndThief(t, w)

	del := walletsvc.LifecycleRequest{WalletAccountID: victim.acct, TokenUniqueReference: tur, Action: wire.ActionDelete, Reason: "CARDHOLDER_REQUEST"}
	env := w.sealToWallet(victim.device, del, walletsvc.TypeLifecycle, time.Minute)
	w.clock.Advance(2 * time.Minute)
	var out walletsvc.LifecycleResult
	err := w.postEnvelope(walletsvc.PathLifecycle, env, &out)
	refusedWith(t, err, http.StatusForbidden, walletsvc.ReasonExpired)
	require.Equal(t, wire.StatusActive, w.vaultStatus(tur))
	require.Contains(t, w.wpLog.String(), "reason=expired")

	// A signed list request is not a life-cycle request.
	err = w.postEnvelope(walletsvc.PathLifecycle, w.sealToWallet(victim.device, del, walletsvc.TypeTokens, 0), &out)
	refused(t, err, wire.ReasonType)
	require.Equal(t, wire.StatusActive, w.vaultStatus(tur))

	require.NoError(t, w.postSigned(victim.device, walletsvc.PathLifecycle, walletsvc.TypeLifecycle, del, &out))
	require.Equal(t, wire.StatusDeactivated, w.vaultStatus(tur))
}
