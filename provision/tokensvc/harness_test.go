package tokensvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// Test cards (test PANs, Luhn-valid) and the wallet's requestor ID.
const (
	greenPAN  = "4761739001010010"
	yellowPAN = "4761739001010028"
	lostPAN   = "4761739001010036"
	requestor = "50110030273"
	expiry    = "2812"
	code      = "737"
)

var epoch = wiretest.Epoch

// phone is a wallet phone's app as far as the token service sees it.
type phone struct {
	party    *wire.Party
	deviceID string
}

// rig is a token service on loopback behind mutual TLS; the test plays
// the wallet provider, the phones and the issuer's back office.
type rig struct {
	t       *testing.T
	clock   *wiretest.Clock
	tsp     *wire.Party
	wallet  *wire.Party
	issuerP *wire.Party
	issuer  *tokensvc.MemoryIssuer
	vault   *tokensvc.MemoryVault
	pki     *tlstest.PKI
	addr    string
	client  *wire.Client // the wallet provider's
	iclient *wire.Client // the issuer's
	replay  *wire.MemoryReplayCache
	rnd     io.Reader
	log     *tlstest.LogBuffer
	trust   *wire.TrustList // the wallet provider's and issuer's: the token service
	seq     int
	// store is the token service's state, kept across restart; tspTrust
	// its trust list and stop stops the running service.
	store    tokensvc.Store
	tspTrust *wire.TrustList
	stop     func()
	restarts int
}

func newParty(t *testing.T, name string, seed byte) *wire.Party { return wiretest.Party(t, name, seed) }

func newSeeded(seed byte) *wiretest.Seeded { return wiretest.NewSeeded(seed) }

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, clock: wiretest.NewClock(epoch), replay: wire.NewMemoryReplayCache(0), rnd: newSeeded(9), log: &tlstest.LogBuffer{}}
	r.tsp = newParty(t, "token-service", 1)
	r.wallet = newParty(t, "wallet-provider", 2)
	r.issuerP = newParty(t, "issuer", 3)
	trust, err := wire.NewTrustList(r.wallet.Public(), r.issuerP.Public())
	require.NoError(t, err)
	r.trust, err = wire.NewTrustList(r.tsp.Public())
	require.NoError(t, err)
	r.issuer = tokensvc.NewMemoryIssuer(r.clock.Now, newSeeded(4))
	r.issuer.AddCard(greenPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Phone: "0912345678"})
	r.issuer.AddCard(yellowPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Phone: "0912345678", StepUp: true})
	r.issuer.AddCard(lostPAN, tokensvc.Card{Expiry: expiry, SecurityCode: code, Blocked: "CARD_LOST"})
	r.vault, err = tokensvc.NewMemoryVault(tokensvc.VaultConfig{Rand: newSeeded(5), Clock: r.clock.Now})
	require.NoError(t, err)
	r.store, r.tspTrust = tokensvc.NewMemoryStore(), trust
	r.pki = tlstest.NewPKI(t, "token-service", "wallet-provider", "issuer")
	r.start(6)
	r.client = r.newClient("wallet-provider")
	r.iclient = r.newClient("issuer")
	return r
}

// start runs a token service over the rig's vault, issuer and store on a
// fresh loopback port, its random source seeded with seed.
func (r *rig) start(seed byte) {
	t := r.t
	svc, err := tokensvc.New(tokensvc.Config{
		Me: r.tsp, Trust: r.tspTrust, IssuerParty: "issuer", Issuer: r.issuer, Vault: r.vault, Store: r.store,
		Requestors: []tokensvc.Requestor{{ID: requestor, Party: "wallet-provider"}},
		Clock:      r.clock.Now, Rand: newSeeded(seed),
		Log: slog.New(slog.NewTextHandler(r.log, nil)),
	})
	require.NoError(t, err)
	srv, err := wire.NewServer(svc.Handler(), r.pki.Server("token-service"), wire.Limits{})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	stopped := false
	r.stop = func() {
		if !stopped {
			stopped = true
			_ = srv.Close()
			<-done
		}
	}
	t.Cleanup(func() { r.stop() })
	r.addr = ln.Addr().String()
}

// restart stops the token service and starts a new one on the same
// store, vault and issuer: everything it kept in memory is gone.
func (r *rig) restart() {
	r.stop()
	r.client.CloseIdleConnections()
	r.iclient.CloseIdleConnections()
	r.restarts++
	r.start(byte(60 + r.restarts))
}

func (r *rig) newClient(name string) *wire.Client {
	c, err := wire.NewClient(r.pki.Client(name, ""), wire.ClientLimits{Timeout: 20 * time.Second})
	require.NoError(r.t, err)
	r.t.Cleanup(c.CloseIdleConnections)
	return c
}

func (r *rig) url(path string) string { return "https://" + r.addr + path }

func (r *rig) newPhone(deviceID string, seed byte) phone {
	return phone{party: newParty(r.t, "phone-"+deviceID, seed), deviceID: deviceID}
}

func (r *rig) seal(v any, from *wire.Party, typ string) string {
	r.t.Helper()
	env, err := wire.Seal(v, from, r.tsp.Public(), wire.Header{Type: typ, Clock: r.clock.Now, Rand: r.rnd})
	require.NoError(r.t, err)
	return env
}

// tokenizeRequest is the wallet provider's request for ph, with the card
// sealed by the phone.
func (r *rig) tokenizeRequest(ph phone, cardPAN, taskID string) wire.TokenizeRequest {
	r.t.Helper()
	keys, err := ph.party.Public().Keys()
	require.NoError(r.t, err)
	card := wire.CardData{PAN: cardPAN, Expiry: expiry, SecurityCode: code}
	return wire.TokenizeRequest{
		TaskID: taskID, TokenRequestorID: requestor, WalletAccountID: "acct-" + ph.deviceID,
		DeviceID: ph.deviceID, DevicePublicKeys: keys,
		FundingAccountInfo: wire.FundingAccountInfo{EncryptedPayload: r.seal(card, ph.party, wire.TypeCardData)},
		DecisioningData:    wire.RiskData{Recommendation: wire.DecisionApproved, DeviceScore: 4, AccountScore: 4},
		ConsumerLanguage:   "zh",
	}
}

// post sends an envelope as the wallet provider and opens the answer as typ.
func (r *rig) post(path, env, typ string, out any) error {
	r.t.Helper()
	ans, err := r.client.PostEnvelope(context.Background(), r.url(path), env)
	if err != nil {
		return err
	}
	_, err = wire.OpenInto(ans, r.wallet, r.trust, wire.Expect{Type: typ, From: "token-service", Replay: r.replay, Clock: r.clock.Now}, out)
	require.NoError(r.t, err)
	return nil
}

func (r *rig) tokenize(req wire.TokenizeRequest) (wire.TokenizeResponse, error) {
	r.t.Helper()
	var resp wire.TokenizeResponse
	err := r.post(tokensvc.PathTokenize, r.seal(req, r.wallet, wire.TypeTokenizeRequest), wire.TypeTokenizeResponse, &resp)
	if err == nil {
		require.NoError(r.t, resp.Validate())
	}
	return resp, err
}

func (r *rig) taskID() string {
	r.seq++
	return fmt.Sprintf("task-%04d", r.seq)
}

// openTokenData is the phone opening its token data.
func (r *rig) openTokenData(ph phone, env string) wire.TokenData {
	r.t.Helper()
	var td wire.TokenData
	_, err := wire.OpenInto(env, ph.party, r.trust, wire.Expect{Type: wire.TypeTokenData, From: "token-service", Replay: wire.NewMemoryReplayCache(0), Clock: r.clock.Now}, &td)
	require.NoError(r.t, err)
	require.NoError(r.t, td.Validate())
	return td
}

// ack is the phone's signed acknowledgement relayed by the wallet provider.
func (r *rig) ack(signer phone, tur, deviceID string) (wire.Notification, error) {
	r.t.Helper()
	var n wire.Notification
	err := r.post(tokensvc.PathTokenDataAck, r.seal(wire.TokenDataAck{TokenUniqueReference: tur, DeviceID: deviceID, Result: wire.AckInstalled}, signer.party, wire.TypeTokenDataAck), wire.TypeNotification, &n)
	return n, err
}

func (r *rig) requestOTP(tur string) (wire.RequestOTPResult, error) {
	r.t.Helper()
	var res wire.RequestOTPResult
	err := r.post(tokensvc.PathRequestOTP, r.seal(wire.RequestOTP{TaskID: r.taskID(), TokenUniqueReference: tur, AuthenticationMethodID: "1"}, r.wallet, wire.TypeRequestOTP), wire.TypeRequestOTPResult, &res)
	return res, err
}

func (r *rig) submitOTP(ph phone, tur, otp string) (wire.SubmitOTPResult, error) {
	r.t.Helper()
	var res wire.SubmitOTPResult
	err := r.post(tokensvc.PathSubmitOTP, r.seal(wire.SubmitOTP{TaskID: r.taskID(), TokenUniqueReference: tur, OTP: otp}, ph.party, wire.TypeSubmitOTP), wire.TypeSubmitOTPResult, &res)
	return res, err
}

// lifecycle posts a life-cycle request as the wallet provider (or, with
// asIssuer, as the issuer to the issuer's endpoint).
func (r *rig) lifecycle(req wire.LifecycleRequest, asIssuer bool) (wire.LifecycleResponse, error) {
	r.t.Helper()
	from, cl, path := r.wallet, r.client, tokensvc.PathLifecycle
	if asIssuer {
		from, cl, path = r.issuerP, r.iclient, tokensvc.PathIssuerLifecycle
	}
	ans, err := cl.PostEnvelope(context.Background(), r.url(path), r.seal(req, from, wire.TypeLifecycleRequest))
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	var resp wire.LifecycleResponse
	_, err = wire.OpenInto(ans, from, r.trust, wire.Expect{Type: wire.TypeLifecycleResponse, From: "token-service", Replay: r.replay, Clock: r.clock.Now}, &resp)
	require.NoError(r.t, err)
	return resp, nil
}

// provision runs the green path for ph and returns the TUR.
func (r *rig) provision(ph phone) string {
	r.t.Helper()
	resp, err := r.tokenize(r.tokenizeRequest(ph, greenPAN, r.taskID()))
	require.NoError(r.t, err)
	require.Equal(r.t, wire.DecisionApproved, resp.Decision)
	r.openTokenData(ph, resp.TokenData)
	_, err = r.ack(ph, resp.TokenUniqueReference, ph.deviceID)
	require.NoError(r.t, err)
	return resp.TokenUniqueReference
}

// refusedWith checks err is a Refusal with reason and status.
func refusedWith(t *testing.T, err error, status int, reason string) {
	t.Helper()
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Equal(t, reason, ref.Reason)
	require.Equal(t, status, ref.Code)
}
