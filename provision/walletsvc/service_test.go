package walletsvc_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

const (
	testPAN   = "4761739001010010"
	requestor = "50110030273"
)

var epoch = wiretest.Epoch

func clock() time.Time { return epoch }

func newSeeded(seed byte) *wiretest.Seeded { return wiretest.NewSeeded(seed, 0, 0, 0x21) }

func party(t *testing.T, name string, seed byte) *wire.Party {
	return wiretest.Party(t, name, seed, 0, 0, 0x21)
}

// rig is a wallet provider in front of a real token service, both on
// loopback behind mutual TLS; the test plays the phones.
type rig struct {
	t      *testing.T
	pki    *tlstest.PKI
	tsp    *wire.Party
	wp     *walletsvc.Service
	wpAddr string
	log    *tlstest.LogBuffer
	phone  *wire.Client
}

func serve(t *testing.T, h http.Handler, tlsName string, pki *tlstest.PKI) string {
	t.Helper()
	srv, err := wire.NewServer(h, pki.Server(tlsName), wire.Limits{})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

func client(t *testing.T, pki *tlstest.PKI, name string) *wire.Client {
	t.Helper()
	c, err := wire.NewClient(pki.Client(name, ""), wire.ClientLimits{Timeout: 20 * time.Second})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// newRig starts the services; tspURL overrides the token service's
// address (a dead one) when not empty.
func newRig(t *testing.T, tspURL string) *rig {
	t.Helper()
	r := &rig{t: t, pki: tlstest.NewPKI(t, "token-service", "wallet-provider", "phone"), log: &tlstest.LogBuffer{}}
	r.tsp = party(t, "token-service", 1)
	wallet := party(t, "wallet-provider", 2)
	issuer := tokensvc.NewMemoryIssuer(clock, newSeeded(3))
	issuer.AddCard(testPAN, tokensvc.Card{Expiry: "2812", SecurityCode: "737"})
	vault, err := tokensvc.NewMemoryVault(tokensvc.VaultConfig{Rand: newSeeded(4), Clock: clock})
	require.NoError(t, err)
	tspTrust, err := wire.NewTrustList(wallet.Public())
	require.NoError(t, err)
	svc, err := tokensvc.New(tokensvc.Config{
		Me: r.tsp, Trust: tspTrust, Issuer: issuer, Vault: vault, Clock: clock, Rand: newSeeded(5),
		Requestors: []tokensvc.Requestor{{ID: requestor, Party: "wallet-provider"}},
	})
	require.NoError(t, err)
	if tspURL == "" {
		tspURL = "https://" + serve(t, svc.Handler(), "token-service", r.pki)
	}
	wpTrust, err := wire.NewTrustList(r.tsp.Public())
	require.NoError(t, err)
	r.wp, err = walletsvc.New(walletsvc.Config{
		Me: wallet, Trust: wpTrust, TSPParty: "token-service", TSPURL: tspURL, TSP: client(t, r.pki, "wallet-provider"),
		RequestorID: requestor, Clock: clock, Rand: newSeeded(6), Log: slog.New(slog.NewTextHandler(r.log, nil)),
	})
	require.NoError(t, err)
	r.wpAddr = serve(t, r.wp.Handler(), "wallet-provider", r.pki)
	r.phone = client(t, r.pki, "phone")
	return r
}

func (r *rig) post(path string, in, out any) error {
	return r.phone.PostJSON(context.Background(), "https://"+r.wpAddr+path, in, out)
}

// addCard is what a phone's app posts.
func (r *rig) addCard(dev *wire.Party, deviceID, account, requestID string) (walletsvc.AddCardResponse, error) {
	r.t.Helper()
	env, err := wire.Seal(wire.CardData{PAN: testPAN, Expiry: "2812", SecurityCode: "737"}, dev, r.tsp.Public(), wire.Header{Type: wire.TypeCardData, Clock: clock})
	require.NoError(r.t, err)
	keys, err := dev.Public().Keys()
	require.NoError(r.t, err)
	var out walletsvc.AddCardResponse
	err = r.post(walletsvc.PathCards, walletsvc.AddCardRequest{
		RequestID: requestID, WalletAccountID: account, DeviceID: deviceID, DevicePublicKeys: keys, CardData: env, Language: "zh",
	}, &out)
	return out, err
}

func refused(t *testing.T, err error, reason string) {
	t.Helper()
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Equal(t, reason, ref.Reason)
}

// R-G5g: the wallet provider forwards the card but keeps only the
// reference, the state and last digits; its log has no PAN either.
func TestStoreKeepsNoSensitiveData(t *testing.T) {
	r := newRig(t, "")
	dev := party(t, "phone-0102", 10)
	out, err := r.addCard(dev, "0102", "acct-1", "req-1")
	require.NoError(t, err)
	require.Equal(t, wire.DecisionApproved, out.Decision)
	require.NotEmpty(t, out.TokenData)
	dump := r.wp.Store().Dump()
	require.Equal(t, []walletsvc.TokenRecord{{
		WalletAccountID: "acct-1", DeviceID: "0102", TokenUniqueReference: out.TokenUniqueReference,
		Status: wire.StatusActive, AccountPanSuffix: "0010", TokenPanSuffix: out.TokenPanSuffix,
	}}, dump)
	b, err := json.Marshal(dump)
	require.NoError(t, err)
	for _, s := range []string{testPAN, "2812", "737"} {
		require.NotContains(t, string(b), s)
		require.NotContains(t, r.log.String(), s)
	}
}

// A wallet account is bound to its phone and that phone's keys (first
// use): another device ID is refused device_mismatch, other keys for the
// same device ID device_key_mismatch, the same keys for another account
// too; an unsigned request is unauthenticated.
func TestAccountBoundToDevice(t *testing.T) {
	r := newRig(t, "")
	dev := party(t, "phone-0102", 11)
	out, err := r.addCard(dev, "0102", "acct-1", "req-1")
	require.NoError(t, err)
	_, err = r.addCard(party(t, "phone-0304", 12), "0304", "acct-1", "req-2")
	refused(t, err, walletsvc.ReasonDeviceMismatch)
	_, err = r.addCard(party(t, "phone-0102", 15), "0102", "acct-1", "req-3")
	refused(t, err, walletsvc.ReasonDeviceKeyMismatch)
	_, err = r.addCard(dev, "0102", "acct-2", "req-4")
	refused(t, err, walletsvc.ReasonDeviceKeyMismatch)
	_, err = r.addCard(dev, "0102", "acct-1", "req-5") // the genuine phone again
	require.NoError(t, err)
	err = r.post(walletsvc.PathLifecycle, walletsvc.LifecycleRequest{WalletAccountID: "acct-1", TokenUniqueReference: out.TokenUniqueReference, Action: wire.ActionSuspend, Reason: "TEST"}, &walletsvc.LifecycleResult{})
	refused(t, err, walletsvc.ReasonUnauthenticated)
	require.Len(t, r.wp.Store().Dump(), 2)
	for _, rec := range r.wp.Store().Dump() {
		require.Equal(t, wire.StatusActive, rec.Status)
	}
	require.Contains(t, r.log.String(), "reason=device_key_mismatch")
	require.Contains(t, r.log.String(), "reason=unauthenticated")
}

// docs/provisioning.md pitfall 2: a notification handled once; a repeat
// is acknowledged as a duplicate; one signed by somebody else is refused.
func TestNotificationsIdempotent(t *testing.T) {
	r := newRig(t, "")
	out, err := r.addCard(party(t, "phone-0102", 13), "0102", "acct-1", "req-1")
	require.NoError(t, err)
	wallet := party(t, "wallet-provider", 2)
	n := wire.Notification{CorrelationID: "N1", Event: wire.EventSuspended, TokenUniqueReference: out.TokenUniqueReference, Status: wire.StatusSuspended, Reason: "FRAUD", OccurredAt: epoch}
	notify := func(from *wire.Party) (wire.NotificationAck, error) {
		env, err := wire.Seal(n, from, wallet.Public(), wire.Header{Type: wire.TypeNotification, Clock: clock})
		require.NoError(t, err)
		ans, err := client(t, r.pki, "token-service").PostEnvelope(context.Background(), "https://"+r.wpAddr+walletsvc.PathNotify, env)
		if err != nil {
			return wire.NotificationAck{}, err
		}
		trust, _ := wire.NewTrustList(wallet.Public())
		var ack wire.NotificationAck
		_, err = wire.OpenInto(ans, r.tsp, trust, wire.Expect{Type: wire.TypeNotificationAck, Replay: wire.NewMemoryReplayCache(0), Clock: clock}, &ack)
		require.NoError(t, err)
		return ack, nil
	}
	ack, err := notify(r.tsp)
	require.NoError(t, err)
	require.False(t, ack.Duplicate)
	rec, _ := r.wp.Store().Token(out.TokenUniqueReference)
	require.Equal(t, wire.StatusSuspended, rec.Status)
	require.Equal(t, []string{wire.ActorIssuer}, rec.SuspendedBy)
	ack, err = notify(r.tsp)
	require.NoError(t, err)
	require.True(t, ack.Duplicate)
	_, err = notify(party(t, "token-service", 99))
	refused(t, err, wire.ReasonUnknownKey)
}

// The token service not answering is a refusal of its own.
func TestTokenServiceUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "https://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	r := newRig(t, dead)
	_, err = r.addCard(party(t, "phone-0102", 14), "0102", "acct-1", "req-1")
	refused(t, err, walletsvc.ReasonTokenServiceDown)
	require.Empty(t, r.wp.Store().Dump())
}
