package lab

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/issuerhost/vault"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// newIssuerServicesFor is a new instance of the issuer's provisioning
// services (a token service with nothing in memory) over n's issuer,
// notifying the wallet provider at wpAddr.
func newIssuerServicesFor(t *testing.T, n *Network, k ProvisioningPKI, wpAddr string, seed byte) http.Handler {
	t.Helper()
	tsp, err := k.Party(PartyTokenService)
	require.NoError(t, err)
	trust, err := k.Trust(PartyWallet, PartyIssuer)
	require.NoError(t, err)
	notifier, err := k.Client(PartyTokenService, time.Now())
	require.NoError(t, err)
	t.Cleanup(notifier.CloseIdleConnections)
	svcs, err := NewIssuerServices(n.issuer, IssuerServicesOptions{TokenService: tsp, Trust: trust,
		WalletNotifyURL: "https://" + wpAddr + walletsvc.PathNotify, Notifier: notifier, Rand: newSeededRand(seed),
		Recommend: func(tokensvc.IDVRequest) string { return wire.DecisionRequireAuthN }})
	require.NoError(t, err)
	return svcs.Handler()
}

// swappable serves the handler stored last: a restarted instance of the
// services takes over the same address.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

// The token service's state is in the issuer's database: after each
// restart of the hosts and the issuer's provisioning services on the same
// data directory (the wallet provider and the phone go on), the wallet's
// later requests work for the token made before, the OTP step-up that
// was waiting included; the issuer's own changes reach the wallet
// provider; a token deleted from the wallet no longer pays.
func TestProvisioningTokenServiceSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := Start(ctx, Options{Dir: dir, IssuerTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	k := writePKI(t, time.Now())
	wpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wpAddr := wpLn.Addr().String()
	services := &swappable{}
	services.set(newIssuerServicesFor(t, n, k, wpAddr, 31))
	tsAddr := serveTLS(t, k, PartyTokenService, services)
	stan := pos.NewCounter(0) // the terminal's STANs go on across restarts
	var term *pos.Terminal
	restart := func(seed byte) {
		t.Helper()
		require.NoError(t, n.Close())
		var err error
		n, err = Start(ctx, Options{Dir: dir, IssuerTimeout: 5 * time.Second})
		require.NoError(t, err)
		term = nil
		services.set(newIssuerServicesFor(t, n, k, wpAddr, seed))
	}

	wp, err := k.Party(PartyWallet)
	require.NoError(t, err)
	wpTrust, err := k.Trust(PartyTokenService)
	require.NoError(t, err)
	toTS, err := k.Client(PartyWallet, time.Now())
	require.NoError(t, err)
	t.Cleanup(toTS.CloseIdleConnections)
	w, err := NewWalletProvider(WalletProviderOptions{Me: wp, Trust: wpTrust, TokenServiceURL: "https://" + tsAddr,
		Client: toTS, Rand: newSeededRand(32)})
	require.NoError(t, err)
	cfg, err := k.ServerTLS(PartyWallet, time.Now())
	require.NoError(t, err)
	srv, err := wire.NewServer(w.Handler(), cfg, wire.Limits{})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(wpLn, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })

	trust, err := k.Trust(PartyTokenService, PartyWallet)
	require.NoError(t, err)
	phoneTLS, err := k.Client(PartyPhone, time.Now())
	require.NoError(t, err)
	t.Cleanup(phoneTLS.CloseIdleConnections)
	app, err := walletapp.New(walletapp.Config{DeviceID: "0A0B0C0D00000001", WalletAccountID: "wallet-durable", Trust: trust,
		TSPParty: PartyTokenService, WalletURL: "https://" + wpAddr, Client: phoneTLS, Rand: newSeededRand(33)})
	require.NoError(t, err)
	fc, err := PlasticCard("visa-plastic")
	require.NoError(t, err)

	res, err := app.AddCard(ctx, fc.Card)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res.Decision)
	tur := res.TokenUniqueReference
	_, err = app.RequestOTP(ctx, tur, res.Methods[0].ID)
	require.NoError(t, err)

	restart(34)
	code, err := lastOTPAt(ctx, n.dir, fc.Phone, nil)
	require.NoError(t, err)
	r, err := app.SubmitOTP(ctx, tur, code)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, r.Result)
	tok, ok := app.Token(tur)
	require.True(t, ok)
	require.True(t, tok.Installed, "the token data reached the phone and was acknowledged")
	require.Equal(t, wire.StatusActive, tok.Status)
	card, err := app.Card(tur)
	require.NoError(t, err)
	phone, err := WalletPhone(card, tok.AccountPanSuffix, time.Now)
	require.NoError(t, err)
	ph, ok := cards.Phone(phone)
	require.True(t, ok)
	require.NoError(t, ph.Unlock(SampleWalletPasscode))
	tap := func() string {
		t.Helper()
		if term == nil {
			tm, link, err := n.NewTerminal(pos.Options{STAN: stan})
			require.NoError(t, err)
			t.Cleanup(func() { _ = link.Close() })
			term = tm
		}
		res, err := term.Sale(ctx, 1000, inproc.New(phone))
		require.NoError(t, err)
		return string(res.ResponseCode) + "/" + string(res.DeclineReason)
	}
	require.Equal(t, "00/", tap())

	restart(35)
	tok, err = app.Suspend(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, tok.Status)
	require.Equal(t, "62/token_suspended", tap())
	restart(36)
	tok, err = app.Resume(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, tok.Status)
	require.Equal(t, "00/", tap())

	// The issuer's change in its own vault (no token service told) shows
	// as the issuer's suspension, which the wallet cannot lift.
	v := vault.New(n.issuer.DB, nil)
	require.NoError(t, v.Suspend(ctx, tur, "service centre"))
	restart(37)
	_, err = app.Resume(ctx, tur)
	require.ErrorContains(t, err, tokensvc.ReasonNotSuspendedBy)
	require.NoError(t, vault.New(n.issuer.DB, nil).Resume(ctx, tur, "service centre"))

	// The issuer's change through the token service reaches the wallet
	// provider.
	issuer, err := k.Party(PartyIssuer)
	require.NoError(t, err)
	lc, err := IssuerLifecycleAt(ctx, IssuerLifecycleOptions{TokenServiceAddr: tsAddr, PKI: k, Me: issuer, Rand: newSeededRand(38)},
		wire.LifecycleRequest{Action: wire.ActionSuspend, TokenUniqueReferences: []string{tur}, Reason: "FRAUD_SUSPECTED"})
	require.NoError(t, err)
	require.Equal(t, wire.StatusSuspended, lc.Tokens[0].Status)
	rec, ok := w.Store().Token(tur)
	require.True(t, ok)
	require.Equal(t, wire.StatusSuspended, rec.Status, "the wallet provider was notified")

	// An envelope the token service accepted before a restart is refused
	// after it (R-G4): the envelopes it accepted are in the issuer's data.
	tsp, err := k.Party(PartyTokenService)
	require.NoError(t, err)
	issuerTLS, err := k.Client(PartyIssuer, time.Now())
	require.NoError(t, err)
	t.Cleanup(issuerTLS.CloseIdleConnections)
	env, err := wire.Seal(wire.LifecycleRequest{TaskID: "issuer-replay", Action: wire.ActionResume, Actor: wire.ActorIssuer,
		Reason: "FRAUD_CLEARED", TokenUniqueReferences: []string{tur}}, issuer, tsp.Public(),
		wire.Header{Type: wire.TypeLifecycleRequest, Rand: newSeededRand(40)})
	require.NoError(t, err)
	_, err = issuerTLS.PostEnvelope(ctx, "https://"+tsAddr+tokensvc.PathIssuerLifecycle, env)
	require.NoError(t, err)
	restart(39)
	issuerTLS.CloseIdleConnections()
	_, err = issuerTLS.PostEnvelope(ctx, "https://"+tsAddr+tokensvc.PathIssuerLifecycle, env)
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Equal(t, wire.ReasonReplay, ref.Reason)

	tok, err = app.Delete(ctx, tur)
	require.NoError(t, err)
	require.Equal(t, wire.StatusDeactivated, tok.Status)
	require.Equal(t, "62/token_deleted", tap())
}
