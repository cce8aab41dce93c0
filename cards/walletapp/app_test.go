package walletapp_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

var epoch = wiretest.Epoch

func clock() time.Time { return epoch }

func newSeeded(seed byte) *wiretest.Seeded { return wiretest.NewSeeded(seed, 0, 0x42) }

// fake is a wallet provider and token service in one, which answers an
// add-card request with the token data its test chose: what a
// compromised wallet provider could send the phone.
type fake struct {
	t      *testing.T
	tsp    *wire.Party
	wp     *wire.Party
	forge  func(dev wire.PublicKeys, td wire.TokenData) string
	mu     sync.Mutex
	acks   []wire.TokenDataAck
	device wire.PublicKeys
}

const tur = "DWSPTS0001"

func tokenData(deviceID string) wire.TokenData {
	return wire.TokenData{
		TokenUniqueReference: tur, TokenPAN: "4895370012345671", TokenExpiry: "2912", PSN: "00", CVN: "visa18",
		TokenRequestorID: "50110030273",
		DomainControls:   wire.DomainControls{POSEntryModes: []string{"07"}, DeviceID: deviceID}, Status: wire.StatusActive,
	}
}

// testMK is the token's ICC master key in the tests.
var testMK = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")

// withKey adds testMK wrapped for the device key, as the issuer's
// security module does (hsm.DeviceExport).
func withKey(t *testing.T, td wire.TokenData, device *ecdsa.PublicKey) wire.TokenData {
	t.Helper()
	w, err := devicekey.Wrap(newSeeded(9), device, testMK)
	require.NoError(t, err)
	td.WrappedICCMasterKey, td.ICCMasterKeyKCV = w, testMK.KCVHex()
	return td
}

func (f *fake) cards(r *wire.Request) (wire.Response, error) {
	var in walletapp.AddCardRequest
	require.NoError(f.t, json.Unmarshal(r.Body, &in))
	dev, err := in.DevicePublicKeys.PublicKeys()
	require.NoError(f.t, err)
	f.mu.Lock()
	f.device = dev
	f.mu.Unlock()
	return wire.JSONResponse(200, map[string]string{
		"decision": wire.DecisionApproved, "tokenUniqueReference": tur, "status": wire.StatusActive,
		"accountPanSuffix": "0010", "tokenPanSuffix": "5671", "tokenData": f.forge(dev, withKey(f.t, tokenData(in.DeviceID), dev.Enc)),
	})
}

func (f *fake) ack(r *wire.Request) (wire.Response, error) {
	var in struct {
		WalletAccountID      string `json:"walletAccountId"`
		TokenUniqueReference string `json:"tokenUniqueReference"`
		Ack                  string `json:"ack"`
	}
	f.mu.Lock()
	dev := f.device
	f.mu.Unlock()
	trust, err := wire.NewTrustList(dev)
	require.NoError(f.t, err)
	// The request is signed by the device and sealed to the wallet
	// provider; the acknowledgement inside to the token service.
	require.Equal(f.t, wire.MediaJOSE, r.MediaType)
	_, err = wire.OpenInto(string(r.Body), f.wp, trust, wire.Expect{Type: "wallet.ack", Replay: wire.NewMemoryReplayCache(0), Clock: clock}, &in)
	require.NoError(f.t, err)
	var a wire.TokenDataAck
	_, err = wire.OpenInto(in.Ack, f.tsp, trust, wire.Expect{Type: wire.TypeTokenDataAck, Replay: wire.NewMemoryReplayCache(0), Clock: clock}, &a)
	require.NoError(f.t, err) // signed by the device, sealed to the token service
	f.mu.Lock()
	f.acks = append(f.acks, a)
	f.mu.Unlock()
	return wire.JSONResponse(200, map[string]string{"status": wire.StatusActive})
}

func (f *fake) ackCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acks)
}

// start serves the fake on loopback and returns an app pointed at it.
func start(t *testing.T, forge func(dev wire.PublicKeys, td wire.TokenData) string) (*walletapp.App, *fake) {
	t.Helper()
	pki := tlstest.NewPKI(t, "wallet-provider", "phone")
	tsp, err := wire.NewParty("token-service", newSeeded(1))
	require.NoError(t, err)
	wp, err := wire.NewParty("wallet-provider", newSeeded(2))
	require.NoError(t, err)
	f := &fake{t: t, tsp: tsp, wp: wp, forge: forge}
	mux := newMux(f)
	srv, err := wire.NewServer(mux, pki.Server("wallet-provider"), wire.Limits{})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	cl, err := wire.NewClient(pki.Client("phone", ""), wire.ClientLimits{Timeout: 20 * time.Second})
	require.NoError(t, err)
	t.Cleanup(cl.CloseIdleConnections)
	trust, err := wire.NewTrustList(tsp.Public(), wp.Public())
	require.NoError(t, err)
	app, err := walletapp.New(walletapp.Config{
		DeviceID: "0102030405060708", WalletAccountID: "acct-1", Trust: trust, TSPParty: "token-service",
		WalletURL: "https://" + ln.Addr().String(), Client: cl, Clock: clock, Rand: newSeeded(3),
	})
	require.NoError(t, err)
	return app, f
}

var card = wire.CardData{PAN: "4761739001010010", Expiry: "2812", SecurityCode: "737"}

// R-M5, R-G5g: genuine token data is installed, acknowledged with the
// device's signature, and only the token data is kept.
func TestInstallGenuineTokenData(t *testing.T) {
	app, f := start(t, func(dev wire.PublicKeys, td wire.TokenData) string {
		env, err := wire.Seal(td, f0(t), dev, wire.Header{Type: wire.TypeTokenData, Clock: clock})
		require.NoError(t, err)
		return env
	})
	res, err := app.AddCard(context.Background(), card)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, res.Status)
	require.Equal(t, 1, f.ackCount())
	require.Equal(t, "0102030405060708", f.acks[0].DeviceID)
	c, err := app.Card(tur)
	require.NoError(t, err)
	require.Equal(t, "4895370012345671", c.TokenPAN)
	require.Equal(t, testMK.Bytes(), c.MasterKey, "the key unwrapped with the device's key")
	tok, ok := app.Token(tur)
	require.True(t, ok)
	require.Equal(t, "489537******5671", tok.Masked)
	dump, err := app.Dump()
	require.NoError(t, err)
	require.NotContains(t, string(dump), card.PAN)
	require.NotContains(t, string(dump), `"2812"`)
	require.NotContains(t, string(dump), `"737"`)
}

// f0 is the genuine token service's party (the same seed as start's).
func f0(t *testing.T) *wire.Party {
	p, err := wire.NewParty("token-service", newSeeded(1))
	require.NoError(t, err)
	return p
}

// R-G2: token data signed by anybody but the trusted token service is
// refused: nothing installed, nothing acknowledged.
func TestTokenDataFromUntrustedSigner(t *testing.T) {
	app, f := start(t, func(dev wire.PublicKeys, td wire.TokenData) string {
		rogue, err := wire.NewParty("token-service", newSeeded(66))
		require.NoError(t, err)
		env, err := wire.Seal(td, rogue, dev, wire.Header{Type: wire.TypeTokenData, Clock: clock})
		require.NoError(t, err)
		return env
	})
	_, err := app.AddCard(context.Background(), card)
	require.ErrorIs(t, err, walletapp.ErrTokenData)
	require.ErrorIs(t, err, wire.ErrUnknownKey)
	require.Zero(t, f.ackCount())
	_, err = app.Card(tur)
	require.ErrorIs(t, err, walletapp.ErrUnknownToken)
}

// R-S5d: token data bound to another device ID is refused.
func TestTokenDataForAnotherDeviceID(t *testing.T) {
	app, f := start(t, func(dev wire.PublicKeys, td wire.TokenData) string {
		td.DomainControls.DeviceID = "1112131415161718"
		env, err := wire.Seal(td, f0(t), dev, wire.Header{Type: wire.TypeTokenData, Clock: clock})
		require.NoError(t, err)
		return env
	})
	_, err := app.AddCard(context.Background(), card)
	require.ErrorIs(t, err, walletapp.ErrTokenData)
	require.Zero(t, f.ackCount())
}

// R-G1: token data sealed to another device's key cannot be opened.
func TestTokenDataSealedToAnotherDevice(t *testing.T) {
	app, f := start(t, func(_ wire.PublicKeys, td wire.TokenData) string {
		other, err := wire.NewParty("phone-1112", newSeeded(77))
		require.NoError(t, err)
		env, err := wire.Seal(td, f0(t), other.Public(), wire.Header{Type: wire.TypeTokenData, Clock: clock})
		require.NoError(t, err)
		return env
	})
	_, err := app.AddCard(context.Background(), card)
	require.ErrorIs(t, err, walletapp.ErrTokenData)
	require.Zero(t, f.ackCount())
}

// R-G5b: the ICC master key is wrapped for the phone inside the envelope.
// A key wrapped for another phone, an altered wrapped key or a check value
// that does not match is refused: nothing installed, nothing acknowledged.
func TestTokenDataKeyRefused(t *testing.T) {
	other, err := wire.NewParty("phone-1112", newSeeded(77))
	require.NoError(t, err)
	tests := []struct {
		name   string
		change func(td wire.TokenData) wire.TokenData
		target error
	}{
		{"wrapped for another phone", func(td wire.TokenData) wire.TokenData {
			return withKey(t, td, other.Public().Enc)
		}, devicekey.ErrWrapped},
		{"altered", func(td wire.TokenData) wire.TokenData {
			td.WrappedICCMasterKey = append([]byte(nil), td.WrappedICCMasterKey...)
			td.WrappedICCMasterKey[len(td.WrappedICCMasterKey)-3] ^= 0x10
			return td
		}, devicekey.ErrWrapped},
		{"check value mismatch", func(td wire.TokenData) wire.TokenData {
			td.ICCMasterKeyKCV = "000000"
			return td
		}, devicekey.ErrKCV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, f := start(t, func(dev wire.PublicKeys, td wire.TokenData) string {
				env, err := wire.Seal(tc.change(td), f0(t), dev, wire.Header{Type: wire.TypeTokenData, Clock: clock})
				require.NoError(t, err)
				return env
			})
			_, err := app.AddCard(context.Background(), card)
			require.ErrorIs(t, err, walletapp.ErrTokenData)
			require.ErrorIs(t, err, tc.target)
			require.Zero(t, f.ackCount())
			_, err = app.Card(tur)
			require.ErrorIs(t, err, walletapp.ErrUnknownToken)
		})
	}
}

// R-S2a: a passcode that cannot be a card's PIN is refused on the phone,
// before anything is sent.
func TestActivateRefusesBadPasscode(t *testing.T) {
	app, f := start(t, nil)
	for _, p := range []string{"", "123", "12a4", "1234567890123", "12 34"} {
		_, err := app.Activate(context.Background(), tur, p)
		require.ErrorIs(t, err, walletapp.ErrPasscode, p)
		require.Equal(t, walletapp.ErrPasscode.Error(), err.Error(), "the refusal never quotes the passcode")
	}
	require.Zero(t, f.ackCount())
}
