package lab

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// seededRand is a deterministic random source safe for concurrent readers.
type seededRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func newSeededRand(seed byte) *seededRand {
	var s [32]byte
	s[0] = seed
	return &seededRand{r: rand.NewChaCha8(s)}
}

func (s *seededRand) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// startProvisioning starts the network and its provisioning services; a
// request whose wallet account starts with "stepup" is recommended for a
// step-up by the token service.
func startProvisioning(t *testing.T) (*Network, *Provisioning) {
	t.Helper()
	n := startNetwork(t)
	p, err := StartProvisioning(context.Background(), n, ProvisioningOptions{
		Rand: newSeededRand(7),
		Recommend: func(r tokensvc.IDVRequest) string {
			if strings.HasPrefix(r.WalletAccountID, "stepup") {
				return wire.DecisionRequireAuthN
			}
			return ""
		},
	})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return n, p
}

// tapper taps wallet phones at one sample terminal; each token's phone is
// built once from the app's token data and keeps its ATC.
type tapper struct {
	t      *testing.T
	term   *pos.Terminal
	phones map[string]cards.Card
}

func newTapper(t *testing.T, n *Network) *tapper {
	t.Helper()
	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	return &tapper{t: t, term: term, phones: map[string]cards.Card{}}
}

// tap taps the wallet phone of token tur of app, unlocked with its
// passcode (CDCVM).
func (x *tapper) tap(app *walletapp.App, tur string, amount int64) isospec.ResponseCode {
	t := x.t
	t.Helper()
	phone, ok := x.phones[tur]
	if !ok {
		c, err := app.Card(tur)
		require.NoError(t, err)
		tok, ok := app.Token(tur)
		require.True(t, ok)
		phone, err = WalletPhone(c, tok.AccountPanSuffix, time.Now)
		require.NoError(t, err)
		x.phones[tur] = phone
	}
	ph, ok := cards.Phone(phone)
	require.True(t, ok)
	require.NoError(t, ph.Unlock("2468"))
	res, err := x.term.Sale(context.Background(), amount, inproc.New(phone))
	require.NoError(t, err)
	return res.ResponseCode
}

// The wallet flow against the real issuer over real sockets (R-M4, R-M5):
// a sample card added to a new phone is stepped up with the OTP the issuer
// sent to the cardholder's registered phone (R-G3e), the token reaches the
// phone sealed to it (R-G1, R-G2), is acknowledged and the issuer notified
// (its card record shows the token, device and requestor); the phone pays
// with it, detokenised by the issuer; the issuer suspends the token and
// the next tap is declined; a lost-phone report suspends every token of
// the phone (R-C1); neither the wallet provider nor the phone keeps the PAN
// or expiry (R-G5g).
func TestProvisioningEndToEnd(t *testing.T) {
	ctx := context.Background()
	n, p := startProvisioning(t)
	tp := newTapper(t, n)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	mc, err := SampleFundingCard(ctx, n, "mc-plastic")
	require.NoError(t, err)
	require.NotEmpty(t, visa.Phone)
	const device = "35209900AABB0001"
	app, err := p.NewWalletApp(device, "stepup-acct-1")
	require.NoError(t, err)

	// Step-up: the issuer offers the registered contacts, masked.
	res, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res.Decision)
	require.Equal(t, wire.StatusInactive, res.Status)
	tur := res.TokenUniqueReference
	var sms string
	for _, m := range res.Methods {
		require.NotContains(t, m.Value, visa.Phone[2:], "contacts are masked")
		if m.Type == wire.AuthTextToCardholder {
			sms = m.ID
		}
	}
	require.NotEmpty(t, sms)
	_, err = app.RequestOTP(ctx, tur, sms)
	require.NoError(t, err)
	otp, ok, err := p.LastOTP(ctx, visa.Phone)
	require.NoError(t, err)
	require.True(t, ok, "the OTP is in the cardholder's inbox")
	got, err := app.SubmitOTP(ctx, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, got.Result)
	require.Equal(t, wire.StatusActive, got.Status)

	// The token is one of the issuer's vault: token BIN, check digit,
	// device-bound, the issuer notified of its creation and download.
	c, err := app.Card(tur)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(c.TokenPAN, TokenBIN))
	require.True(t, pan.LuhnValid(c.TokenPAN))
	require.Equal(t, TokenCVN, c.CVN)
	require.Equal(t, device, c.DeviceID)
	require.NoError(t, n.Issuer().Store().View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, tur)
		require.NoError(t, err)
		require.Equal(t, c.TokenPAN, k.Number)
		require.Equal(t, visa.CardID, k.CardID)
		require.True(t, k.DeviceBound)
		require.Equal(t, TokenIMKLabel, k.IMKRef)
		ds, err := tx.DevicesOfToken(ctx, tur)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, device, ds[0].DeviceID)
		return nil
	}))
	recs, err := p.CardTokens(ctx, visa.CardID)
	require.NoError(t, err)
	require.Equal(t, []CardToken{{CardID: visa.CardID, TokenRef: tur, DeviceID: device, RequestorID: SampleWalletRequestor,
		Created: true, Downloaded: true, Activated: true, VerifiedWith: "otp"}}, recs)

	// The phone pays with the token (detokenised at the issuer).
	require.Equal(t, isospec.RCApproved, tp.tap(app, tur, 150000))

	// The issuer suspends the token: the next tap is declined.
	lc, err := p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionSuspend, TokenUniqueReferences: []string{tur}, Reason: "FRAUD_SUSPECTED"})
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, lc.Tokens[0].Status)
	require.Equal(t, isospec.RCRestrictedCard, tp.tap(app, tur, 150000))
	_, err = p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionResume, TokenUniqueReferences: []string{tur}, Reason: "FRAUD_CLEARED"})
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, tp.tap(app, tur, 160000))

	// A second card on the same phone, approved outright.
	res2, err := app.AddCard(ctx, mc.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res2.Decision, "the same wallet account is stepped up again")
	_, err = app.RequestOTP(ctx, res2.TokenUniqueReference, res2.Methods[0].ID)
	require.NoError(t, err)
	otp2, ok, err := p.LastOTP(ctx, mc.Phone)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = app.SubmitOTP(ctx, res2.TokenUniqueReference, otp2)
	require.NoError(t, err)

	// Lost phone (R-C1): every token on it suspended at once.
	lc, err = p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionSuspend, DeviceID: device, Reason: "DEVICE_LOST"})
	require.NoError(t, err)
	require.Len(t, lc.Tokens, 2)
	for _, s := range lc.Tokens {
		require.Equal(t, wire.StatusSuspended, s.Status)
	}
	require.Equal(t, isospec.RCRestrictedCard, tp.tap(app, tur, 150000))
	require.Equal(t, isospec.RCRestrictedCard, tp.tap(app, res2.TokenUniqueReference, 150000))

	// No PAN or expiry at the wallet provider or on the phone (R-G5g).
	ws, err := json.Marshal(p.WalletStore().Dump())
	require.NoError(t, err)
	ps, err := app.Dump()
	require.NoError(t, err)
	for _, fc := range []FundingCard{visa, mc} {
		for name, dump := range map[string]string{"wallet provider": string(ws), "phone": string(ps)} {
			require.NotContains(t, dump, fc.Card.PAN, name)
			require.NotContains(t, dump, fc.Card.SecurityCode+`"`, name)
		}
	}
	require.NotContains(t, string(ws), c.TokenPAN, "the wallet provider has the token's last digits only")
}

// A green request (the wallet's risk data only) is approved outright, and
// the token taps (R-M5); a lost card is declined at ID&V.
func TestProvisioningGreenAndLostCard(t *testing.T) {
	ctx := context.Background()
	n, p := startProvisioning(t)
	tp := newTapper(t, n)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	app, err := p.NewWalletApp("35209900AABB0002", "acct-2")
	require.NoError(t, err)
	res, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionApproved, res.Decision)
	require.Equal(t, wire.StatusActive, res.Status)
	require.Equal(t, isospec.RCApproved, tp.tap(app, res.TokenUniqueReference, 150000))

	// R-G5b: the phone's key is the one the issuer's module derives from
	// the token IMK; it reached the phone wrapped for the phone's key.
	c, err := app.Card(res.TokenUniqueReference)
	require.NoError(t, err)
	cvn, err := cryptogram.Lookup(TokenCVN)
	require.NoError(t, err)
	want, err := cvn.DeriveMK(keys.MustHex(keys.TDES, TokenIMK), c.TokenPAN, c.PSN)
	require.NoError(t, err)
	require.Equal(t, want.Bytes(), c.MasterKey)

	_, err = markCardLost(ctx, n.Issuer(), visa.Card.PAN)
	require.NoError(t, err)
	app2, err := p.NewWalletApp("35209900AABB0003", "acct-3")
	require.NoError(t, err)
	res, err = app2.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionDeclined, res.Decision)
	require.Equal(t, "CARD_LOST", res.Reason)
}

// R-G3, R-M5: an expired card is declined by the issuer's ID&V with its
// own reason over the real services; no token is made for it, nothing
// reaches the phone or the wallet provider.
func TestProvisioningExpiredCardDeclined(t *testing.T) {
	ctx := context.Background()
	n, p := startProvisioning(t)
	exp, err := SampleFundingCard(ctx, n, "visa-expired")
	require.NoError(t, err)
	app, err := p.NewWalletApp("35209900AABB0E01", "acct-expired")
	require.NoError(t, err)
	res, err := app.AddCard(ctx, exp.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionDeclined, res.Decision)
	require.Equal(t, "CARD_EXPIRED", res.Reason)
	require.Empty(t, res.TokenUniqueReference)
	require.Empty(t, app.Tokens())
	toks, err := p.CardTokens(ctx, exp.CardID)
	require.NoError(t, err)
	require.Empty(t, toks)
}

// AddToWallet runs the flow headless and reports each step masked: a
// stepped-up request with the OTP read from the inbox ends with an
// approved tap; a wrong OTP leaves the token inactive.
func TestAddToWallet(t *testing.T) {
	ctx := context.Background()
	n, p := startProvisioning(t)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	tests := []struct {
		name, account, otp string
		tap                int64
		want               WalletResult
		steps              []string
	}{
		{name: "step-up, OTP from the inbox, tap", account: "stepup-1", otp: OTPAuto, tap: 150000,
			want:  WalletResult{Decision: wire.DecisionRequireAuthN, Status: wire.StatusActive, Tap: isospec.RCApproved},
			steps: []string{"card", "decision", "methods", "otp sent", "inbox", "otp", "token", "download ack", "issuer notified", "tap"}},
		{name: "wrong OTP", account: "stepup-2", otp: "000000",
			want:  WalletResult{Decision: wire.DecisionRequireAuthN, Status: wire.StatusInactive},
			steps: []string{"card", "decision", "methods", "otp sent", "otp"}},
		{name: "green", account: "acct-9",
			want:  WalletResult{Decision: wire.DecisionApproved, Status: wire.StatusActive},
			steps: []string{"card", "decision", "token", "download ack", "issuer notified"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var steps []string
			var text strings.Builder
			res, err := p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "35209900AABB01" + string(rune('0'+i)) + "0",
				Account: tc.account, OTP: tc.otp, TapAmount: tc.tap}, func(s Step) {
				steps = append(steps, s.Name)
				text.WriteString(s.Detail + "\n")
			})
			require.NoError(t, err)
			require.Equal(t, tc.steps, steps)
			require.Equal(t, tc.want.Decision, res.Decision)
			require.Equal(t, tc.want.Status, res.Status)
			require.Equal(t, tc.want.Tap, res.Tap)
			require.NotContains(t, text.String(), visa.Card.PAN)
			require.Contains(t, text.String(), pan.Mask(visa.Card.PAN))
		})
	}

	// A short device ID is the phone's 8-byte ID, zero-padded, as the
	// issuer binds the token to it: the token taps from that phone.
	res, err := p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "0a0b", Account: "short-id",
		TapAmount: 1000}, nil)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, res.Tap)
	require.Equal(t, "0A0B000000000000", res.App.DeviceID())
	_, err = p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "not-hex"}, nil)
	require.Error(t, err)
}

// The provisioning demo's rows all give what they should.
func TestProvisioningDemo(t *testing.T) {
	rows, err := ProvisioningDemo(context.Background(), t.TempDir(), nil)
	require.NoError(t, err)
	require.Len(t, rows, 39)
	for _, r := range rows {
		require.True(t, r.OK(), "%s: want %q, got %q (%v)", r.Case, r.Want, r.Got, r.Err)
	}
}

// The token's life cycle from both ends reaches the issuer's vault at
// once (R-M5, R-C1): the cardholder's and the issuer's suspensions stack,
// a suspension made in the issuer's own vault shows at the token service,
// a deleted token never pays again.
func TestProvisioningLifecycle(t *testing.T) {
	ctx := context.Background()
	n, p := startProvisioning(t)
	tp := newTapper(t, n)
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	app, err := p.NewWalletApp("35209900AABB0101", "acct-101")
	require.NoError(t, err)
	res, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	tur := res.TokenUniqueReference
	issuer := func(action string) func() (string, error) {
		return func() (string, error) {
			lc, err := p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: action, TokenUniqueReferences: []string{tur}, Reason: "ISSUER_DECISION"})
			if err != nil {
				return "", err
			}
			return lc.Tokens[0].Status, nil
		}
	}
	phone := func(f func(context.Context, string) (walletapp.Token, error)) func() (string, error) {
		return func() (string, error) {
			tok, err := f(ctx, tur)
			return tok.Status, err
		}
	}
	steps := []struct {
		name   string
		do     func() (string, error)
		status string
		tap    isospec.ResponseCode
	}{
		{"active", nil, "", isospec.RCApproved},
		{"cardholder suspends", phone(app.Suspend), wire.StatusSuspended, isospec.RCRestrictedCard},
		{"issuer suspends too", issuer(wire.ActionSuspend), wire.StatusSuspended, isospec.RCRestrictedCard},
		{"cardholder resumes: the issuer's suspension holds", phone(app.Resume), wire.StatusSuspended, isospec.RCRestrictedCard},
		{"issuer resumes", issuer(wire.ActionResume), wire.StatusActive, isospec.RCApproved},
		{"suspended in the issuer's own vault", func() (string, error) {
			if err := n.Issuer().Vault().Suspend(ctx, tur, LostReason); err != nil {
				return "", err
			}
			tok, err := p.bridge.Get(ctx, tur)
			return tok.Status, err
		}, wire.StatusSuspended, isospec.RCRestrictedCard},
		{"issuer resumes at the token service", issuer(wire.ActionResume), wire.StatusActive, isospec.RCApproved},
		{"cardholder deletes", phone(app.Delete), wire.StatusDeactivated, isospec.RCRestrictedCard},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.do != nil {
				got, err := s.do()
				require.NoError(t, err)
				require.Equal(t, s.status, got)
			}
			require.Equal(t, s.tap, tp.tap(app, tur, int64(100000+i*100)))
		})
	}
	_, err = app.Card(tur)
	require.ErrorIs(t, err, walletapp.ErrUnknownToken, "a deleted token's credentials leave the phone")
}

// R-S2a: a token is active at the issuer once its cardholder is verified.
// A stepped-up token whose OTP was verified is active in the issuer's
// vault, activated on the issuer's record with the OTP, and pays; a green
// token is active at once by the issuer's own decision. A stepped-up token
// whose verification never completed is inactive: no token data reached
// the phone, and its credentials made off the issuer's data (a clone) are
// refused at a tap with their own reason, token_inactive.
func TestTokenActivationRS2a(t *testing.T) {
	ctx := context.Background()
	n, p := startProvisioning(t)
	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	sale := func(phone cards.Card, amount int64) *pos.Result {
		t.Helper()
		ph, ok := cards.Phone(phone)
		require.True(t, ok)
		require.NoError(t, ph.Unlock(SampleWalletPasscode))
		res, err := term.Sale(ctx, amount, inproc.New(phone))
		require.NoError(t, err)
		return res
	}
	visa, err := SampleFundingCard(ctx, n, "visa-plastic")
	require.NoError(t, err)
	status := func(tur string) store.TokenStatus {
		var k store.Token
		require.NoError(t, n.Issuer().Store().View(ctx, func(tx *store.Tx) error {
			var err error
			k, err = tx.Token(ctx, tur)
			return err
		}))
		return k.Status
	}
	activated := func(tur string) bool {
		recs, err := p.CardTokens(ctx, visa.CardID)
		require.NoError(t, err)
		for _, r := range recs {
			if r.TokenRef == tur {
				return r.Activated
			}
		}
		t.Fatalf("no issuer record of token %s", tur)
		return false
	}

	// Verified with the OTP from the inbox: active, activated, approved.
	res, err := p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "35209900AABB0201", Account: "stepup-201",
		OTP: OTPAuto}, nil)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, res.OTP)
	require.Equal(t, store.TokenActive, status(res.TokenUniqueReference))
	require.True(t, activated(res.TokenUniqueReference))
	require.Equal(t, isospec.RCApproved, sale(res.Phone, 150000).ResponseCode)

	// Green on the phone's own cardholder verification (R-G3f): active at
	// once, activated at the issuer on the device CVM.
	var notified string
	res, err = p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "35209900AABB0202", Account: "acct-202"},
		func(s Step) {
			if s.Name == "issuer notified" {
				notified = s.Detail
			}
		})
	require.NoError(t, err)
	require.Contains(t, notified, "activated true (cardholder verified by device-cvm:passcode)")
	require.True(t, activated(res.TokenUniqueReference))
	require.Equal(t, wire.DecisionApproved, res.Decision)
	require.Equal(t, store.TokenActive, status(res.TokenUniqueReference))
	require.Equal(t, isospec.RCApproved, sale(res.Phone, 150000).ResponseCode)

	// The step-up never completed: inactive, nothing on the phone, a clone
	// refused as inactive.
	app, err := p.NewWalletApp("35209900AABB0203", "stepup-203")
	require.NoError(t, err)
	added, err := app.AddCard(ctx, visa.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, added.Decision)
	tur := added.TokenUniqueReference
	require.Equal(t, store.TokenInactive, status(tur))
	require.False(t, activated(tur))
	_, err = app.Card(tur)
	require.Error(t, err, "no token data before the cardholder is verified")

	var k store.Token
	require.NoError(t, n.Issuer().Store().View(ctx, func(tx *store.Tx) error {
		var err error
		k, err = tx.Token(ctx, tur)
		return err
	}))
	cvn, err := cryptogram.Lookup(k.CVN)
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, TokenIMK), k.Number, k.PSN)
	require.NoError(t, err)
	clone, err := WalletPhone(walletapp.Card{TokenPAN: k.Number, TokenExpiry: k.Expiry, PSN: k.PSN, CVN: k.CVN,
		MasterKey: mk.Bytes(), RequestorID: SampleWalletRequestor, DeviceID: "35209900AABB0203"}, "0010", time.Now)
	require.NoError(t, err)
	got := sale(clone, 150000)
	require.Equal(t, isospec.RCRestrictedCard, got.ResponseCode)
	require.Equal(t, isospec.DeclineReason("token_inactive"), got.DeclineReason)
}
