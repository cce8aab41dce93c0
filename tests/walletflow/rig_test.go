package walletflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// Test cards (test PANs, Luhn-valid).
const (
	greenPAN  = "4761739001010010"
	yellowPAN = "4761739001010028"
	lostPAN   = "4761739001010036"
	requestor = "50110030273"
	expiry    = "2812"
	code      = "737"
)

var epoch = wiretest.Epoch

// world is a token service, a wallet provider and an issuer on loopback.
type world struct {
	t        *testing.T
	clock    *wiretest.Clock
	pki      *tlstest.PKI
	tsp      *wire.Party
	wallet   *wire.Party
	issuerP  *wire.Party
	issuer   *tokensvc.MemoryIssuer
	vault    *tokensvc.MemoryVault
	wp       *walletsvc.Service
	tspAddr  string
	wpAddr   string
	tspLog   *tlstest.LogBuffer
	wpLog    *tlstest.LogBuffer
	appTrust *wire.TrustList
	seq      int
	mu       sync.Mutex
	seeds    byte
}

func party(t *testing.T, name string, seed byte) *wire.Party {
	return wiretest.Party(t, name, seed, 0x77)
}

func newSeeded(seed byte) *wiretest.Seeded { return wiretest.NewSeeded(seed, 0x77) }

func serve(t *testing.T, h http.Handler, cfg *wire.Limits, tlsName string, pki *tlstest.PKI, ln net.Listener) {
	t.Helper()
	srv, err := wire.NewServer(h, pki.Server(tlsName), *cfg)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
}

func (w *world) client(name string) *wire.Client {
	c, err := wire.NewClient(w.pki.Client(name, ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(w.t, err)
	w.t.Cleanup(c.CloseIdleConnections)
	return c
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, clock: wiretest.NewClock(epoch), tspLog: &tlstest.LogBuffer{}, wpLog: &tlstest.LogBuffer{}}
	w.pki = tlstest.NewPKI(t, "token-service", "wallet-provider", "issuer", "phone")
	w.tsp, w.wallet, w.issuerP = party(t, "token-service", 1), party(t, "wallet-provider", 2), party(t, "issuer", 3)
	var err error
	w.appTrust, err = wire.NewTrustList(w.tsp.Public(), w.wallet.Public())
	require.NoError(t, err)

	w.issuer = tokensvc.NewMemoryIssuer(w.clock.Now, newSeeded(4))
	w.issuer.AddCard(greenPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Phone: "0912345678"})
	w.issuer.AddCard(yellowPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Phone: "0912345678", StepUp: true})
	w.issuer.AddCard(lostPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Blocked: "CARD_LOST"})
	w.vault, err = tokensvc.NewMemoryVault(tokensvc.VaultConfig{Rand: newSeeded(5), Clock: w.clock.Now})
	require.NoError(t, err)

	tspLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	w.tspAddr, w.wpAddr = tspLn.Addr().String(), wpLn.Addr().String()

	tspTrust, err := wire.NewTrustList(w.wallet.Public(), w.issuerP.Public())
	require.NoError(t, err)
	svc, err := tokensvc.New(tokensvc.Config{
		Me: w.tsp, Trust: tspTrust, IssuerParty: "issuer", Issuer: w.issuer, Vault: w.vault,
		Requestors: []tokensvc.Requestor{{ID: requestor, Party: "wallet-provider", NotifyURL: "https://" + w.wpAddr + walletsvc.PathNotify}},
		Notifier:   w.client("token-service"),
		Clock:      w.clock.Now, Rand: newSeeded(6), Log: slog.New(slog.NewTextHandler(w.tspLog, nil)),
	})
	require.NoError(t, err)
	serve(t, svc.Handler(), &wire.Limits{}, "token-service", w.pki, tspLn)

	w.wp = w.newWalletProvider(requestor, w.wpLog)
	serve(t, w.wp.Handler(), &wire.Limits{}, "wallet-provider", w.pki, wpLn)
	return w
}

func (w *world) newWalletProvider(reqID string, log *tlstest.LogBuffer) *walletsvc.Service {
	wpTrust, err := wire.NewTrustList(w.tsp.Public())
	require.NoError(w.t, err)
	wp, err := walletsvc.New(walletsvc.Config{
		Me: w.wallet, Trust: wpTrust, TSPParty: "token-service", TSPURL: "https://" + w.tspAddr,
		TSP: w.client("wallet-provider"), RequestorID: reqID,
		Clock: w.clock.Now, Rand: newSeeded(7), Log: slog.New(slog.NewTextHandler(log, nil)),
	})
	require.NoError(w.t, err)
	return wp
}

// phone is a wallet app with its keys in reach of the test.
type phone struct {
	*walletapp.App
	device *wire.Party
	acct   string
	url    string
}

func (w *world) phone(deviceID string, seed byte) *phone {
	return w.phoneAt(deviceID, seed, "https://"+w.wpAddr)
}

func (w *world) phoneAt(deviceID string, seed byte, url string) *phone {
	w.t.Helper()
	dev := party(w.t, "phone-"+deviceID, seed)
	acct := "acct-" + deviceID
	app, err := walletapp.New(walletapp.Config{
		DeviceID: deviceID, WalletAccountID: acct, Device: dev, Trust: w.appTrust, TSPParty: "token-service",
		WalletURL: url, Client: w.client("phone"), Clock: w.clock.Now, Rand: newSeeded(seed + 100),
	})
	require.NoError(w.t, err)
	return &phone{App: app, device: dev, acct: acct, url: url}
}

func card(p string) wire.CardData { return wire.CardData{PAN: p, Expiry: expiry, SecurityCode: code} }

// sealToTSP seals v as the phone would, for attacks the app would never
// make.
func (w *world) sealToTSP(from *wire.Party, v any, typ string) string {
	w.t.Helper()
	env, err := wire.Seal(v, from, w.tsp.Public(), wire.Header{Type: typ, Clock: w.clock.Now})
	require.NoError(w.t, err)
	return env
}

// postWallet posts plain JSON, unsigned, to the wallet provider as a
// phone.
func (w *world) postWallet(path string, in, out any) error {
	return w.client("phone").PostJSON(context.Background(), "https://"+w.wpAddr+path, in, out)
}

// sealToWallet seals v to the wallet provider, signed with from's key, as
// the app does for its requests; ttl 0 is the default validity.
func (w *world) sealToWallet(from *wire.Party, v any, typ string, ttl time.Duration) string {
	w.t.Helper()
	env, err := wire.Seal(v, from, w.wallet.Public(), wire.Header{Type: typ, TTL: ttl, Clock: w.clock.Now, Rand: newSeeded(w.nextSeed())})
	require.NoError(w.t, err)
	return env
}

// nextSeed is a fresh seed for each envelope the test seals itself.
func (w *world) nextSeed() byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seeds++
	return 200 + w.seeds
}

// postEnvelope posts a signed request to the wallet provider and decodes
// its JSON answer into out.
func (w *world) postEnvelope(path, env string, out any) error {
	mt, b, err := w.client("phone").Post(context.Background(), "https://"+w.wpAddr+path, wire.MediaJOSE, []byte(env))
	if err != nil {
		return err
	}
	require.Equal(w.t, wire.MediaJSON, mt)
	require.NoError(w.t, json.Unmarshal(b, out))
	return nil
}

// postSigned posts in to the wallet provider signed with from's key.
func (w *world) postSigned(from *wire.Party, path, typ string, in, out any) error {
	return w.postEnvelope(path, w.sealToWallet(from, in, typ, 0), out)
}

// issuerLifecycle is the issuer's service centre acting on tokens at the
// token service.
func (w *world) issuerLifecycle(req wire.LifecycleRequest) wire.LifecycleResponse {
	w.t.Helper()
	w.seq++
	req.TaskID = "issuer-task-" + string(rune('0'+w.seq%10)) + string(rune('a'+w.seq/10))
	env, err := wire.Seal(req, w.issuerP, w.tsp.Public(), wire.Header{Type: wire.TypeLifecycleRequest, Clock: w.clock.Now})
	require.NoError(w.t, err)
	ans, err := w.client("issuer").PostEnvelope(context.Background(), "https://"+w.tspAddr+tokensvc.PathIssuerLifecycle, env)
	require.NoError(w.t, err)
	trust, err := wire.NewTrustList(w.tsp.Public())
	require.NoError(w.t, err)
	var resp wire.LifecycleResponse
	_, err = wire.OpenInto(ans, w.issuerP, trust, wire.Expect{Type: wire.TypeLifecycleResponse, From: "token-service", Replay: wire.NewMemoryReplayCache(0), Clock: w.clock.Now}, &resp)
	require.NoError(w.t, err)
	return resp
}

func (w *world) vaultStatus(tur string) string {
	w.t.Helper()
	tok, err := w.vault.Get(context.Background(), tur)
	require.NoError(w.t, err)
	return tok.Status
}

func (w *world) walletStatus(tur string) walletsvc.TokenRecord {
	w.t.Helper()
	r, ok := w.wp.Store().Token(tur)
	require.True(w.t, ok)
	return r
}

func (w *world) downloads(tur string) int {
	n := 0
	for _, x := range w.issuer.Notifications() {
		if x.Event == wire.EventDownloadComplete && x.TokenUniqueReference == tur {
			n++
		}
	}
	return n
}

// refused checks err carries a Refusal with reason.
func refused(t *testing.T, err error, reason string) {
	t.Helper()
	var ref *wire.Refusal
	require.True(t, errors.As(err, &ref), "want a refusal %s, got %v", reason, err)
	require.Equal(t, reason, ref.Reason)
}

// stepUp adds the yellow card and asks for an OTP; it returns the TUR and
// the OTP the cardholder reads from the message centre.
func (w *world) stepUp(p *phone) (string, string) {
	w.t.Helper()
	res, err := p.AddCard(context.Background(), card(yellowPAN))
	require.NoError(w.t, err)
	require.Equal(w.t, wire.DecisionRequireAuthN, res.Decision)
	_, err = p.RequestOTP(context.Background(), res.TokenUniqueReference, res.Methods[0].ID)
	require.NoError(w.t, err)
	otp, ok := w.issuer.LastOTP(yellowPAN)
	require.True(w.t, ok)
	return res.TokenUniqueReference, otp
}

func wrongOTP(right string) string {
	if right == "000000" {
		return "111111"
	}
	return "000000"
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}
