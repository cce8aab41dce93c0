package walletflow_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-G3f: the wallet app verifies the cardholder on the phone before it
// adds a card and says so, signed; the wallet provider forwards the claim
// and the token service passes it to the issuer.
func TestDeviceCVMReachesIssuer(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102030405060777", 31)
	res, err := p.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionApproved, res.Decision)
	require.Equal(t, wire.DeviceCVMPasscode, w.issuer.DeviceCVM(greenPAN))
}

// R-S2a, R-G1, R-G3c: the activation afterwards with the card's PIN goes
// through the wallet provider sealed to the token service: the wallet
// provider cannot open it, keeps and logs no PIN block, refuses a token of
// another account and passes on the issuer's refusal of a card without a
// PIN; a wrong PIN leaves the token inactive, the right one installs it.
func TestActivationSealedThroughWalletProvider(t *testing.T) {
	w := newWorld(t)
	p := w.phone("0102030405060778", 32)
	res, err := p.AddCard(ctx, card(yellowPAN))
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res.Decision)
	tur := res.TokenUniqueReference

	_, err = p.Activate(ctx, tur, "1234")
	refused(t, err, tokensvc.ReasonPasscodeUnavailable)
	w.issuer.AddCard(yellowPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Phone: "0912345678", StepUp: true, PIN: "1234"})

	r, err := p.Activate(ctx, tur, "9999")
	require.NoError(t, err)
	require.Equal(t, wire.ResultIncorrectCode, r.Result)
	require.Equal(t, tokensvc.MaxWrongOTP-1, r.RetriesRemaining)
	require.Equal(t, wire.StatusInactive, w.walletStatus(tur).Status)
	r, err = p.Activate(ctx, tur, "1234")
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
	require.Equal(t, wire.StatusActive, r.Status)
	tok, ok := p.Token(tur)
	require.True(t, ok)
	require.True(t, tok.Installed)
	require.Equal(t, wire.StatusActive, w.walletStatus(tur).Status)

	thief := w.phone("0102030405060779", 33)
	_, err = thief.AddCard(ctx, card(greenPAN))
	require.NoError(t, err)
	_, err = thief.Activate(ctx, tur, "1234")
	refused(t, err, walletsvc.ReasonNotOwner)

	env := w.sealToTSP(p.device, wire.ActivatePasscode{TaskID: "t-1", TokenUniqueReference: tur, PINBlock: "141234FFFFFFFFFF"}, wire.TypeActivate)
	_, err = wire.Open(env, w.wallet, w.appTrust, wire.Expect{Type: wire.TypeActivate, Clock: w.clock.Now})
	require.Error(t, err, "the wallet provider cannot open the phone's activation")

	dump, err := json.Marshal(w.wp.Store().Dump())
	require.NoError(t, err)
	require.Contains(t, w.wpLog.String(), "op=activate")
	for _, s := range []string{string(dump), w.wpLog.String(), w.tspLog.String()} {
		require.NotContains(t, strings.ToUpper(s), "141234")
		require.NotContains(t, strings.ToLower(s), "pinblock")
	}
}
