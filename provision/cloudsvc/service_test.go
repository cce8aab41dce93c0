package cloudsvc_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// noVerifier refuses every registration.
type noVerifier struct{}

func (noVerifier) Begin(context.Context, string, string, string, string, string) ([]string, error) {
	return nil, wire.Refuse(http.StatusForbidden, "declined", "declined")
}
func (noVerifier) SendOTP(context.Context, string, string) (string, error) { return "", nil }
func (noVerifier) VerifyOTP(context.Context, string, string) error         { return nil }

// nullLedger accepts every key.
type nullLedger struct{}

func (nullLedger) IssueLUK(string, string, cloud.KeyIndex, uint16) error { return nil }
func (nullLedger) SuspendDevice(string, string) error                    { return nil }
func (nullLedger) IssueSUK(string, string, uint16) error                 { return nil }
func (nullLedger) Served(string, string) ([]string, error)               { return nil, nil }

// build is a platform over a soft security module with one card
// account, on the test kit's clock and random source.
func build() (*cloudsvc.Service, func(), error) {
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
		Rand: wiretest.NewSeeded(1)})
	if err != nil {
		return nil, nil, err
	}
	closeHSM := func() { _ = m.Close() }
	if _, err = m.GenerateKey(cloudsvc.DefaultDEKLabel, hsm.UsageDEK, keys.AES, 32); err != nil {
		return nil, closeHSM, err
	}
	if _, err = m.ImportKey("imk", hsm.UsageIMKAC, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")); err != nil {
		return nil, closeHSM, err
	}
	me, err := wire.NewParty("cloud-platform", wiretest.NewSeeded(3))
	if err != nil {
		return nil, closeHSM, err
	}
	clock := wiretest.NewClock(wiretest.Epoch)
	s, err := cloudsvc.New(cloudsvc.Config{Me: me, HSM: m, Verifier: noVerifier{},
		Ledger: nullLedger{}, Clock: clock.Now, Rand: wiretest.NewSeeded(4), CardReaders: []string{"staff-7"}})
	if err != nil {
		return nil, closeHSM, err
	}
	err = s.AddCard("staff", cloudsvc.CardAccount{Ref: "card-1", Holder: "alice", PAN: "4761739001010010",
		Expiry: "2912", CloudPAN: "4895370012345671", CloudExpiry: "2812", PSN: "01", IMK: "imk", API: 1})
	return s, closeHSM, err
}

func newService(t testing.TB) *cloudsvc.Service {
	t.Helper()
	s, done, err := build()
	if done != nil {
		t.Cleanup(done)
	}
	require.NoError(t, err)
	return s
}

// post serves one request as if it came over mutual TLS.
func post(h http.Handler, path, mediaType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", mediaType)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{}}}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNewNeedsConfig(t *testing.T) {
	_, err := cloudsvc.New(cloudsvc.Config{})
	require.ErrorIs(t, err, cloudsvc.ErrConfig)
}

// A card account is checked before it is enrolled, enrolled once, and
// kept sealed.
func TestAddCard(t *testing.T) {
	s := newService(t)
	c := cloudsvc.CardAccount{Ref: "card-2", Holder: "bob", PAN: "4761739001010028", Expiry: "2912",
		CloudPAN: "4895370087654320", CloudExpiry: "2812", PSN: "01", IMK: "imk"}
	require.NotContains(t, c.String()+c.GoString(), c.PAN)
	for _, tc := range []struct {
		name string
		edit func(*cloudsvc.CardAccount)
	}{
		{"bad PAN", func(c *cloudsvc.CardAccount) { c.PAN = "4761739001010011" }},
		{"bad expiry", func(c *cloudsvc.CardAccount) { c.Expiry = "2913" }},
		{"no IMK", func(c *cloudsvc.CardAccount) { c.IMK = "" }},
		{"bad ref", func(c *cloudsvc.CardAccount) { c.Ref = "card 2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := c
			tc.edit(&bad)
			require.ErrorIs(t, s.AddCard("staff", bad), cloudsvc.ErrInput)
		})
	}
	require.NoError(t, s.AddCard("staff", c))
	require.ErrorIs(t, s.AddCard("staff", c), cloudsvc.ErrExists)
	for _, d := range s.Dump().Cards {
		require.NotContains(t, string(d.Sealed), "4761739001010028")
	}
	_, err := s.ReportLost("staff", "card-2", "nobody")
	require.ErrorIs(t, err, cloudsvc.ErrUnknown)
	_, err = s.ReadCard("staff-7", "card-9", "why")
	require.ErrorIs(t, err, cloudsvc.ErrUnknown)
}

// Requests that are not well-formed, signed envelopes get their refusal
// and never reach the issuer.
func TestHandlerRefusals(t *testing.T) {
	h := newService(t).Handler()
	for _, tc := range []struct {
		name, path, media, body, reason string
		code                            int
	}{
		{"register not JSON", wire.PathHCERegister, wire.MediaJSON, "{", wire.ReasonMalformed, 400},
		{"register unknown field", wire.PathHCERegister, wire.MediaJSON, `{"x":1}`, wire.ReasonMalformed, 400},
		{"register without keys", wire.PathHCERegister, wire.MediaJSON, `{"envelope":"a.b.c.d.e"}`, wire.ReasonInvalid, 422},
		{"challenge as JSON", wire.PathHCEChallenge, wire.MediaJSON, `{}`, cloudsvc.ReasonNotBound, 401},
		{"download garbage", wire.PathHCEDownload, wire.MediaJOSE, "a.b.c.d.e", wire.ReasonMalformed, 400},
		{"replenish as JSON", wire.PathHCEReplenish, wire.MediaJSON, `{}`, cloudsvc.ReasonNotBound, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(h, tc.path, tc.media, []byte(tc.body))
			require.Equal(t, tc.code, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), `"reason":"`+tc.reason+`"`)
		})
	}
}

// Any body on any path is answered, never with an internal error.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{`{"devicePublicKeys":{"name":"x","keys":[]},"envelope":"a.b.c.d.e"}`, "a.b.c.d.e", "{}", ""} {
		f.Add([]byte(s), uint8(0))
	}
	s := newService(f)
	h := s.Handler()
	paths := []string{wire.PathHCERegister, wire.PathHCEVerify, wire.PathHCEChallenge, wire.PathHCEDownload, wire.PathHCEReplenish}
	f.Fuzz(func(t *testing.T, body []byte, p uint8) {
		path := paths[int(p)%len(paths)]
		for _, mt := range []string{wire.MediaJSON, wire.MediaJOSE} {
			w := post(h, path, mt, body)
			require.NotEqual(t, http.StatusInternalServerError, w.Code, "%s %s", path, w.Body.String())
		}
	})
}

// A snapshot read back from disk: any bytes restore or are refused
// without panicking, into a fresh platform.
func FuzzRestore(f *testing.F) {
	s := newService(f)
	snap, err := s.Snapshot()
	require.NoError(f, err)
	f.Add(snap)
	f.Add([]byte(`{"version":1,"bindings":[{"id":"b","cardRef":"card-1","deviceId":"p","status":"ACTIVE"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, done, err := build()
		if done != nil {
			defer done()
		}
		require.NoError(t, err)
		err = p.Restore(b)
		if err != nil {
			require.True(t, errors.Is(err, cloudsvc.ErrInput) || errors.Is(err, cloudsvc.ErrExists), "%v", err)
		}
	})
}

// R-G3a: a registration by passcode on a platform whose issuer
// verification takes no passcode is refused passcode_not_offered before
// the issuer is asked; the passcode never shows in the answer.
func TestPasscodeNotOffered(t *testing.T) {
	s := newService(t)
	phone, err := wire.NewParty("hce-phone-1", wiretest.NewSeeded(9))
	require.NoError(t, err)
	reg := wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1", SecurityCode: "123",
		Method: wire.HCEMethodPasscode, Passcode: "1412347A5C1E9B30"}
	require.NoError(t, reg.Validate())
	env, err := wire.Seal(reg, phone, s.Public(), wire.Header{Type: wire.TypeHCERegister, Clock: wiretest.NewClock(wiretest.Epoch).Now})
	require.NoError(t, err)
	body, err := json.Marshal(wire.HCERegisterRequest{DevicePublicKeys: phone.Public(), Envelope: env})
	require.NoError(t, err)
	w := post(s.Handler(), wire.PathHCERegister, wire.MediaJSON, body)
	require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `"reason":"`+cloudsvc.ReasonPasscodeNotOffered+`"`)
	require.NotContains(t, w.Body.String(), "1412347A5C1E9B30")
}
