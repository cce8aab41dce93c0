package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// syncBuffer is a log sink safe for the services' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// activationWorld is the provisioning world of the activation tests, its
// services' log lines kept.
func activationWorld(t *testing.T) (*Network, *Provisioning, *syncBuffer) {
	t.Helper()
	n := startNetwork(t)
	logs := &syncBuffer{}
	p, err := StartProvisioning(context.Background(), n, ProvisioningOptions{
		Rand:   newSeededRand(11),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Recommend: func(r tokensvc.IDVRequest) string {
			if strings.HasPrefix(r.WalletAccountID, "stepup") {
				return wire.DecisionRequireAuthN
			}
			return ""
		},
	})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return n, p, logs
}

// appWithCVM is a wallet app whose phone verifies the cardholder with cvm
// before add-card (walletapp.DeviceCVMNone: not at all).
func appWithCVM(t *testing.T, p *Provisioning, deviceID, account, cvm string) *walletapp.App {
	t.Helper()
	c, err := p.client(partyPhone)
	require.NoError(t, err)
	app, err := walletapp.New(walletapp.Config{DeviceID: deviceID, WalletAccountID: account, Trust: p.trust,
		TSPParty: PartyTokenService, WalletURL: "https://" + p.WalletAddr, Client: c, Clock: p.clock, Rand: p.rand,
		DeviceCVM: cvm})
	require.NoError(t, err)
	return app
}

func cardToken(t *testing.T, p *Provisioning, cardID, tur string) CardToken {
	t.Helper()
	recs, err := p.CardTokens(context.Background(), cardID)
	require.NoError(t, err)
	for _, r := range recs {
		if r.TokenRef == tur {
			return r
		}
	}
	t.Fatalf("no issuer record of token %s", tur)
	return CardToken{}
}

func tokenStatus(t *testing.T, n *Network, tur string) store.TokenStatus {
	t.Helper()
	var k store.Token
	require.NoError(t, n.Issuer().Store().View(context.Background(), func(tx *store.Tx) error {
		var err error
		k, err = tx.Token(context.Background(), tur)
		return err
	}))
	return k.Status
}

// cloneOf is a phone made off the issuer's own data of token tur: what
// the phone would hold had the token data reached it.
func cloneOf(t *testing.T, n *Network, tur, device string) cards.Card {
	t.Helper()
	var k store.Token
	require.NoError(t, n.Issuer().Store().View(context.Background(), func(tx *store.Tx) error {
		var err error
		k, err = tx.Token(context.Background(), tur)
		return err
	}))
	cvn, err := cryptogram.Lookup(k.CVN)
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, TokenIMK), k.Number, k.PSN)
	require.NoError(t, err)
	clone, err := WalletPhone(walletapp.Card{TokenPAN: k.Number, TokenExpiry: k.Expiry, PSN: k.PSN, CVN: k.CVN,
		MasterKey: mk.Bytes(), RequestorID: SampleWalletRequestor, DeviceID: device}, "0010", time.Now)
	require.NoError(t, err)
	return clone
}

// R-G3f, R-S2a: green only on the cardholder's verification on the phone.
// With it the token is active at once, activated on the issuer's record
// with the device CVM, and pays; the same request without it is stepped
// up (no_device_cvm) and its token stays inactive.
func TestGreenOnDeviceCVM(t *testing.T) {
	ctx := context.Background()
	n, p, _ := activationWorld(t)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)

	app := appWithCVM(t, p, "35209900AABB0301", "acct-301", wire.DeviceCVMBiometric)
	res, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionApproved, res.Decision)
	require.Equal(t, wire.StatusActive, res.Status)
	rec := cardToken(t, p, visa.CardID, res.TokenUniqueReference)
	require.True(t, rec.Activated)
	require.Equal(t, "device-cvm:biometric", rec.VerifiedWith)
	rc, err := p.Tap(ctx, app, res.TokenUniqueReference, 150000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, rc)

	bare := appWithCVM(t, p, "35209900AABB0302", "acct-302", walletapp.DeviceCVMNone)
	res, err = bare.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res.Decision)
	require.Equal(t, wire.StatusInactive, res.Status)
	require.NotEmpty(t, res.Methods)
	require.Equal(t, store.TokenInactive, tokenStatus(t, n, res.TokenUniqueReference))
	require.False(t, cardToken(t, p, visa.CardID, res.TokenUniqueReference).Activated)
}

// R-S2a (activation afterwards by phone), R-G1, R-G3c: a step-up
// abandoned leaves the token inactive (a tap is declined token_inactive);
// the cardholder activates it later with the card's PIN, sent as a PIN
// block sealed to the token service. A wrong PIN is a wrong entry; another
// phone cannot activate the token; once active it pays, and activating it
// again answers the same. The wallet provider never holds the PIN block.
func TestActivateAfterwardsWithPIN(t *testing.T) {
	ctx := context.Background()
	n, p, logs := activationWorld(t)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })

	const device = "35209900AABB0311"
	app, err := p.NewWalletApp(device, "stepup-311")
	require.NoError(t, err)
	added, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, added.Decision)
	tur := added.TokenUniqueReference
	require.Equal(t, store.TokenInactive, tokenStatus(t, n, tur))

	clone := cloneOf(t, n, tur, device)
	ph, _ := cards.Phone(clone)
	require.NoError(t, ph.Unlock(SampleWalletPasscode))
	got, err := term.Sale(ctx, 150000, inproc.New(clone))
	require.NoError(t, err)
	require.Equal(t, isospec.DeclineReason("token_inactive"), got.DeclineReason)

	// Another phone cannot activate it: unauthenticated before it is
	// bound to a wallet account, not the owner once it is.
	thief, err := p.NewWalletApp("35209900AABB0399", "acct-399")
	require.NoError(t, err)
	_, err = thief.Activate(ctx, tur, SamplePIN)
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Equal(t, walletsvc.ReasonUnauthenticated, ref.Reason)
	mc, err := SampleFundingCard(ctx, n, "mc-plastic")
	require.NoError(t, err)
	_, err = thief.AddCard(ctx, mc.Card)
	require.NoError(t, err)
	_, err = thief.Activate(ctx, tur, SamplePIN)
	require.ErrorAs(t, err, &ref)
	require.Equal(t, walletsvc.ReasonNotOwner, ref.Reason)

	_, err = app.Activate(ctx, tur, "12a4")
	require.ErrorIs(t, err, walletapp.ErrPasscode)

	r, err := app.Activate(ctx, tur, "9999")
	require.NoError(t, err)
	require.Equal(t, wire.ResultIncorrectCode, r.Result)
	require.Equal(t, 4, r.RetriesRemaining)
	require.Equal(t, store.TokenInactive, tokenStatus(t, n, tur))

	r, err = app.Activate(ctx, tur, SamplePIN)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
	require.Equal(t, wire.StatusActive, r.Status)
	require.Equal(t, store.TokenActive, tokenStatus(t, n, tur))
	rec := cardToken(t, p, visa.CardID, tur)
	require.True(t, rec.Activated)
	require.True(t, rec.Downloaded)
	require.Equal(t, "passcode", rec.VerifiedWith)
	// The token data reached the phone; the same credentials that were
	// declined inactive now pay (the next ATC: the first was used).
	_, err = app.Card(tur)
	require.NoError(t, err)
	got, err = term.Sale(ctx, 150000, inproc.New(clone))
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, got.ResponseCode)

	again, err := app.Activate(ctx, tur, SamplePIN)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, again.Result)
	require.Equal(t, wire.StatusActive, again.Status)

	// The wallet provider's store and every service's log: no PIN block
	// (format 1 with PIN 1234 starts 141234), no PIN field name.
	dump, err := json.Marshal(p.WalletStore().Dump())
	require.NoError(t, err)
	require.Contains(t, logs.String(), "op=activate", "the services logged the activations")
	require.Contains(t, string(dump), tur)
	for _, s := range []string{string(dump), logs.String()} {
		require.NotContains(t, strings.ToUpper(s), "141234")
		require.NotContains(t, strings.ToLower(s), "pinblock")
	}
}

// R-G3c: five wrong passcodes lock the card's provisioning; the right one
// then refuses too, with its own result, until the service centre resets
// it.
func TestActivatePINLock(t *testing.T) {
	ctx := context.Background()
	n, p, _ := activationWorld(t)
	mc, err := SampleFundingCard(ctx, n, "mc-plastic")
	require.NoError(t, err)
	app, err := p.NewWalletApp("35209900AABB0321", "stepup-321")
	require.NoError(t, err)
	added, err := app.AddCard(ctx, mc.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, added.Decision)
	tur := added.TokenUniqueReference
	for left := 4; left > 0; left-- {
		r, err := app.Activate(ctx, tur, "4321")
		require.NoError(t, err)
		require.Equal(t, wire.ResultIncorrectCode, r.Result)
		require.Equal(t, left, r.RetriesRemaining)
	}
	r, err := app.Activate(ctx, tur, "4321")
	require.NoError(t, err)
	require.Equal(t, wire.ResultRetriesExceeded, r.Result)
	r, err = app.Activate(ctx, tur, SamplePIN)
	require.NoError(t, err)
	require.Equal(t, wire.ResultRetriesExceeded, r.Result)
	require.Equal(t, store.TokenInactive, tokenStatus(t, n, tur))
	require.False(t, cardToken(t, p, mc.CardID, tur).Activated)
}

// R-C1, R-S2a: a card reported lost after its step-up began cannot be
// activated afterwards: the issuer's own reason reaches the phone.
func TestActivateLostCard(t *testing.T) {
	ctx := context.Background()
	n, p, _ := activationWorld(t)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	app, err := p.NewWalletApp("35209900AABB0331", "stepup-331")
	require.NoError(t, err)
	added, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, added.Decision)
	_, err = markCardLost(ctx, n.Issuer(), visa.Card.PAN)
	require.NoError(t, err)
	_, err = app.Activate(ctx, added.TokenUniqueReference, SamplePIN)
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Equal(t, "card_not_active", ref.Reason)
}
