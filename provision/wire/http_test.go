package wire_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/wire"
)

// service is a token service endpoint on loopback behind mutual TLS.
type service struct {
	w       *world
	pki     *tlstest.PKI
	addr    string
	calls   atomic.Int64
	closed  chan struct{} // one value per connection the server closed
	handler atomic.Pointer[wire.HandlerFunc]
}

// setHandler sets what /other does.
func (s *service) setHandler(fn wire.HandlerFunc) { s.handler.Store(&fn) }

// tokenize is the endpoint under test: open a TokenizeRequest from the
// wallet provider, answer a sealed TokenizeResponse.
func (s *service) tokenize(r *wire.Request) (wire.Response, error) {
	var req wire.TokenizeRequest
	c, err := wire.OpenInto(string(r.Body), s.w.tsp.Party, s.w.trust, wire.Expect{
		Type: wire.TypeTokenizeRequest, From: "wallet-provider", Replay: s.w.replay, Clock: s.w.clock,
	}, &req)
	if err != nil {
		return wire.Response{}, err
	}
	if err := req.Validate(); err != nil {
		return wire.Response{}, err
	}
	resp := approved(req.TaskID)
	tok, err := wire.Seal(resp, s.w.tsp.Party, c.Sender, wire.Header{Type: wire.TypeTokenizeResponse, Clock: s.w.clock})
	if err != nil {
		return wire.Response{}, err
	}
	return wire.EnvelopeResponse(tok), nil
}

func approved(taskID string) wire.TokenizeResponse {
	return wire.TokenizeResponse{
		TaskID: taskID, Decision: wire.DecisionApproved,
		TokenUniqueReference: "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45",
		PanUniqueReference:   "FWSPMC000000000159f71f703d2141efaf04dd26803f922b",
		TokenInfo:            &wire.TokenInfo{TokenPanSuffix: "0011", AccountPanSuffix: "0010", TokenExpiry: "1228", Status: wire.StatusActive},
	}
}

// startService serves the endpoints with lim on a free loopback port.
func startService(t *testing.T, lim wire.Limits) *service {
	t.Helper()
	s := &service{w: newWorld(t), pki: tlstest.NewPKI(t, "token-service", "wallet-provider"), closed: make(chan struct{}, 64)}
	mux := http.NewServeMux()
	count := func(fn wire.HandlerFunc) wire.HandlerFunc {
		return func(r *wire.Request) (wire.Response, error) { s.calls.Add(1); return fn(r) }
	}
	mux.Handle("/tokenize", wire.Handle(count(s.tokenize), wire.HandlerOptions{MaxBody: lim.MaxBody}))
	mux.Handle("/other", wire.Handle(count(func(r *wire.Request) (wire.Response, error) { return (*s.handler.Load())(r) }),
		wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}}))
	srv, err := wire.NewServer(mux, s.pki.Server("token-service"), lim)
	require.NoError(t, err)
	capped := srv.ConnState // the server's connection cap
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		capped(c, st)
		if st == http.StateClosed {
			s.closed <- struct{}{}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	s.addr = ln.Addr().String()
	return s
}

func (s *service) url(path string) string { return "https://" + s.addr + path }

func (s *service) client(t *testing.T, cfg *tls.Config) *wire.Client {
	t.Helper()
	c, err := wire.NewClient(cfg, wire.ClientLimits{Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// tokenizeRequest is a valid request of the wallet provider, with the
// card sealed by the phone to the token service.
func (w *world) tokenizeRequest(t testing.TB) wire.TokenizeRequest {
	t.Helper()
	keys, err := w.phone.Public().Keys()
	require.NoError(t, err)
	return wire.TokenizeRequest{
		TaskID: "task-0001", TokenRequestorID: "50110030273", WalletAccountID: "wallet-acct-1",
		DeviceID: "0102030405060708", DevicePublicKeys: keys,
		FundingAccountInfo: wire.FundingAccountInfo{EncryptedPayload: w.seal(t, cardData(), w.phone, w.tsp, wire.TypeCardData)},
		DecisioningData:    wire.RiskData{Recommendation: wire.DecisionApproved, DeviceScore: 5, AccountScore: 4},
		ConsumerLanguage:   "zh",
	}
}

// R-G1, R-G2 over the network: a sealed request over mutual TLS gets a
// sealed answer only the wallet provider opens.
func TestHTTPEnvelopeRoundTrip(t *testing.T) {
	s := startService(t, wire.Limits{})
	w := s.w
	tok := w.seal(t, w.tokenizeRequest(t), w.wallet, w.tsp, wire.TypeTokenizeRequest)
	answer, err := s.client(t, s.pki.Client("wallet-provider", "")).PostEnvelope(context.Background(), s.url("/tokenize"), tok)
	require.NoError(t, err)
	var resp wire.TokenizeResponse
	_, err = wire.OpenInto(answer, w.wallet.Party, w.trust, wire.Expect{
		Type: wire.TypeTokenizeResponse, From: "token-service", Replay: wire.NewMemoryReplayCache(10), Clock: w.clock,
	}, &resp)
	require.NoError(t, err)
	require.NoError(t, resp.Validate())
	require.Equal(t, approved("task-0001"), resp)
}

// R-G4 over the network: the same envelope posted again is refused with
// 409 and a Refusal the client recognises.
func TestHTTPReplayRefused(t *testing.T) {
	s := startService(t, wire.Limits{})
	w := s.w
	c := s.client(t, s.pki.Client("wallet-provider", ""))
	tok := w.seal(t, w.tokenizeRequest(t), w.wallet, w.tsp, wire.TypeTokenizeRequest)
	_, err := c.PostEnvelope(context.Background(), s.url("/tokenize"), tok)
	require.NoError(t, err)
	_, err = c.PostEnvelope(context.Background(), s.url("/tokenize"), tok)
	require.ErrorIs(t, err, wire.ErrRefused)
	require.ErrorIs(t, err, wire.ErrReplay)
	var ref *wire.Refusal
	require.True(t, errors.As(err, &ref))
	require.Equal(t, wire.Refusal{Code: http.StatusConflict, Reason: wire.ReasonReplay, Message: "this message was already accepted"}, *ref)
}

// Every envelope refusal maps to its status and reason.
func TestHTTPEnvelopeRefusals(t *testing.T) {
	s := startService(t, wire.Limits{})
	w := s.w
	c := s.client(t, s.pki.Client("wallet-provider", ""))
	for _, tc := range []struct {
		name   string
		tok    string
		code   int
		reason string
		err    error
	}{
		{"garbage", "a.b.c.d.e", 400, wire.ReasonMalformed, wire.ErrMalformed},
		{"untrusted signer", w.seal(t, w.tokenizeRequest(t), w.rogue, w.tsp, wire.TypeTokenizeRequest), 403, wire.ReasonUnknownKey, wire.ErrUnknownKey},
		{"wrong sender", w.seal(t, w.tokenizeRequest(t), w.phone, w.tsp, wire.TypeTokenizeRequest), 403, wire.ReasonIssuer, wire.ErrIssuer},
		{"wrong type", w.seal(t, w.tokenizeRequest(t), w.wallet, w.tsp, wire.TypeLifecycleRequest), 400, wire.ReasonType, wire.ErrType},
		{"for another", w.seal(t, w.tokenizeRequest(t), w.wallet, w.phone, wire.TypeTokenizeRequest), 400, wire.ReasonDecrypt, wire.ErrDecrypt},
		{"invalid", w.seal(t, wire.TokenizeRequest{TaskID: "x"}, w.wallet, w.tsp, wire.TypeTokenizeRequest), 422, wire.ReasonInvalid, wire.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PostEnvelope(context.Background(), s.url("/tokenize"), tc.tok)
			var ref *wire.Refusal
			require.True(t, errors.As(err, &ref), "%v", err)
			require.Equal(t, tc.code, ref.Code)
			require.Equal(t, tc.reason, ref.Reason)
			require.ErrorIs(t, err, tc.err)
		})
	}
}

// A handler's own refusal goes through as is; any other error is a 500
// that says nothing of it.
func TestHTTPHandlerErrors(t *testing.T) {
	s := startService(t, wire.Limits{})
	c := s.client(t, s.pki.Client("wallet-provider", ""))
	s.setHandler(func(*wire.Request) (wire.Response, error) {
		return wire.Response{}, wire.Refuse(http.StatusConflict, "task_id_reused", "taskId was used for another request")
	})
	err := c.PostJSON(context.Background(), s.url("/other"), map[string]int{"a": 1}, nil)
	var ref *wire.Refusal
	require.True(t, errors.As(err, &ref))
	require.Equal(t, "task_id_reused", ref.Reason)
	require.NotErrorIs(t, err, wire.ErrReplay)

	s.setHandler(func(*wire.Request) (wire.Response, error) {
		return wire.Response{}, errors.New("vault: row for " + testPAN + " locked")
	})
	err = c.PostJSON(context.Background(), s.url("/other"), map[string]int{"a": 1}, nil)
	require.True(t, errors.As(err, &ref))
	require.Equal(t, http.StatusInternalServerError, ref.Code)
	require.Equal(t, wire.ReasonInternal, ref.Reason)
	require.NotContains(t, err.Error(), testPAN)

	s.setHandler(func(r *wire.Request) (wire.Response, error) {
		if r.Peer.Subject.CommonName != "wallet-provider" {
			return wire.Response{}, wire.Refuse(http.StatusForbidden, "wrong_peer", "unexpected client")
		}
		return wire.JSONResponse(http.StatusOK, map[string]string{"echo": string(r.Body)})
	})
	var out map[string]string
	require.NoError(t, c.PostJSON(context.Background(), s.url("/other"), map[string]int{"a": 1}, &out))
	require.Equal(t, `{"a":1}`, out["echo"])
}

// A client without a certificate, or with one of another CA, is refused at
// the handshake: no handler runs.
func TestHTTPClientCertificateRequired(t *testing.T) {
	s := startService(t, wire.Limits{})
	noCert := &tls.Config{RootCAs: s.pki.Pool(), MinVersion: tls.VersionTLS12}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: noCert}, Timeout: 5 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	resp, err := hc.Post(s.url("/tokenize"), wire.MediaJOSE, strings.NewReader("a.b.c.d.e"))
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "no certificate, no request")

	_, err = wire.NewClient(noCert, wire.ClientLimits{})
	require.ErrorIs(t, err, wire.ErrConfig, "the client helper never goes without a certificate")

	rogue := s.client(t, s.pki.RogueClient("wallet-provider", ""))
	_, err = rogue.PostEnvelope(context.Background(), s.url("/tokenize"), "a.b.c.d.e")
	require.ErrorIs(t, err, wire.ErrTransport)

	// R-S6a: a client trusting another CA refuses the server.
	distrust := s.client(t, s.pki.DistrustingClient("wallet-provider", ""))
	_, err = distrust.PostEnvelope(context.Background(), s.url("/tokenize"), "a.b.c.d.e")
	require.ErrorIs(t, err, wire.ErrTransport)
	require.Zero(t, s.calls.Load())
}

// A body over the limit gets 413 and a Refusal, whether its length is
// announced or not; the handler never runs.
func TestHTTPOversizeBody(t *testing.T) {
	s := startService(t, wire.Limits{MaxBody: 1024})
	c := s.client(t, s.pki.Client("wallet-provider", ""))
	_, err := c.PostEnvelope(context.Background(), s.url("/tokenize"), strings.Repeat("A", 1025))
	var ref *wire.Refusal
	require.True(t, errors.As(err, &ref), "%v", err)
	require.Equal(t, http.StatusRequestEntityTooLarge, ref.Code)
	require.Equal(t, wire.ReasonTooLarge, ref.Reason)
	require.ErrorIs(t, err, wire.ErrTooLarge)

	// Chunked: no Content-Length, cut while reading.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.pki.Client("wallet-provider", "")}, Timeout: 5 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	body := io.MultiReader(strings.NewReader(strings.Repeat("A", 1000)), strings.NewReader(strings.Repeat("A", 1000)))
	resp, err := hc.Post(s.url("/tokenize"), wire.MediaJOSE, body)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, wire.MediaJSON, resp.Header.Get("Content-Type"))
	var got wire.Refusal
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Equal(t, wire.ReasonTooLarge, got.Reason)
	require.Zero(t, s.calls.Load())
}

// Only POST of the endpoint's media type is handled.
func TestHTTPMethodAndMediaType(t *testing.T) {
	s := startService(t, wire.Limits{})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.pki.Client("wallet-provider", "")}, Timeout: 5 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	for _, tc := range []struct {
		method, ctype string
		code          int
		reason        string
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed, wire.ReasonMethod},
		{http.MethodPost, "text/plain", http.StatusUnsupportedMediaType, wire.ReasonMediaType},
		{http.MethodPost, wire.MediaJSON, http.StatusUnsupportedMediaType, wire.ReasonMediaType},
		{http.MethodPost, "", http.StatusUnsupportedMediaType, wire.ReasonMediaType},
	} {
		req, err := http.NewRequest(tc.method, s.url("/tokenize"), bytes.NewReader([]byte("a.b.c.d.e")))
		require.NoError(t, err)
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		var got wire.Refusal
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		resp.Body.Close()
		require.Equal(t, tc.code, resp.StatusCode)
		require.Equal(t, wire.Refusal{Code: tc.code, Reason: tc.reason, Message: got.Message}, got)
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	}
	require.Zero(t, s.calls.Load())
}

// slowLimits are short timeouts for the slow-client tests.
// (The handshake shares the header timeout: it must not be so short that
// a loaded machine fails it.)
var slowLimits = wire.Limits{ReadHeaderTimeout: time.Second, ReadTimeout: 1500 * time.Millisecond, WriteTimeout: 5 * time.Second, IdleTimeout: time.Second}

// dialTLS opens an authenticated connection and completes the handshake.
func (s *service) dialTLS(t *testing.T) *tls.Conn {
	t.Helper()
	d := &tls.Dialer{Config: s.pki.Client("wallet-provider", "")}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	require.NoError(t, err)
	tc := nc.(*tls.Conn)
	t.Cleanup(func() { _ = tc.Close() })
	return tc
}

// waitClosed waits for the server to close a connection, failing after a
// bound far above the configured timeouts.
func (s *service) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept the slow connection open")
	}
}

// A slow-loris client that never finishes its headers is cut by the
// header timeout.
func TestHTTPSlowHeadersCut(t *testing.T) {
	s := startService(t, slowLimits)
	tc := s.dialTLS(t)
	_, err := io.WriteString(tc, "POST /tokenize HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/jose\r\n")
	require.NoError(t, err)
	s.waitClosed(t)
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(tc)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the connection, not the client's deadline")
	require.Zero(t, s.calls.Load())
}

// A client that sends its headers and then trickles the body is cut by
// the read timeout.
func TestHTTPSlowBodyCut(t *testing.T) {
	s := startService(t, slowLimits)
	tc := s.dialTLS(t)
	_, err := io.WriteString(tc, "POST /tokenize HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/jose\r\nContent-Length: 1000\r\n\r\nabc")
	require.NoError(t, err)
	s.waitClosed(t)
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err == nil { // the refusal made it out before the close
		defer resp.Body.Close()
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	}
	require.Zero(t, s.calls.Load())
}

// A kept-alive connection left idle is closed.
func TestHTTPIdleConnectionClosed(t *testing.T) {
	s := startService(t, slowLimits)
	tc := s.dialTLS(t)
	_, err := io.WriteString(tc, "POST /tokenize HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n")
	require.NoError(t, err)
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	s.waitClosed(t)
}

// NewServer insists on mutual TLS; NewClient on a certificate, roots and
// https.
func TestHTTPConfigRefused(t *testing.T) {
	p := tlstest.NewPKI(t, "token-service")
	_, err := wire.NewServer(http.NotFoundHandler(), nil, wire.Limits{})
	require.ErrorIs(t, err, wire.ErrConfig)
	oneWay := p.Server("token-service").Clone()
	oneWay.ClientAuth = tls.VerifyClientCertIfGiven
	_, err = wire.NewServer(http.NotFoundHandler(), oneWay, wire.Limits{})
	require.ErrorIs(t, err, wire.ErrConfig)
	srv, err := wire.NewServer(http.NotFoundHandler(), p.Server("token-service"), wire.Limits{})
	require.NoError(t, err)
	require.Equal(t, wire.DefaultLimits.ReadHeaderTimeout, srv.ReadHeaderTimeout)
	require.Equal(t, wire.DefaultLimits.ReadTimeout, srv.ReadTimeout)
	require.Equal(t, wire.DefaultLimits.WriteTimeout, srv.WriteTimeout)
	require.Equal(t, wire.DefaultLimits.IdleTimeout, srv.IdleTimeout)
	require.Equal(t, wire.DefaultLimits.MaxHeaderBytes, srv.MaxHeaderBytes)

	insecure := p.Client("token-service", "").Clone()
	insecure.InsecureSkipVerify = true
	_, err = wire.NewClient(insecure, wire.ClientLimits{})
	require.ErrorIs(t, err, wire.ErrConfig)
	c, err := wire.NewClient(p.Client("token-service", ""), wire.ClientLimits{})
	require.NoError(t, err)
	_, err = c.PostEnvelope(context.Background(), "http://127.0.0.1:1/x", "a.b.c.d.e")
	require.ErrorIs(t, err, wire.ErrConfig)
}

// A kept connection the server drops under the next request (it restarted,
// or timed the connection out first) costs one new connection, not the
// envelope: the client sends it again once, on a fresh connection, where a
// replay would be refused by the envelope's own check. A plain JSON body
// has no such check and is not sent again.
func TestHTTPStaleConnectionRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mediaType string
		retried   bool
	}{
		{"envelope sent again", wire.MediaJOSE, true},
		{"JSON not sent again", wire.MediaJSON, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := tlstest.NewPKI(t, "token-service", "wallet-provider")
			var calls atomic.Int32
			srv := &http.Server{
				TLSConfig:    pki.Server("token-service"),
				TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1: one request at a time per connection
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if calls.Add(1) == 2 {
						conn, _, err := http.NewResponseController(w).Hijack()
						if err == nil {
							_ = conn.Close()
						}
						return
					}
					w.Header().Set("Content-Type", wire.MediaJSON)
					_, _ = w.Write([]byte(`{"ok":true}`))
				}),
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			done := make(chan struct{})
			go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
			t.Cleanup(func() { _ = srv.Close(); <-done })
			c, err := wire.NewClient(pki.Client("wallet-provider", ""), wire.ClientLimits{Timeout: 5 * time.Second})
			require.NoError(t, err)
			t.Cleanup(c.CloseIdleConnections)
			u := "https://" + ln.Addr().String() + "/x"
			_, b, err := c.Post(context.Background(), u, tc.mediaType, []byte(`{}`))
			require.NoError(t, err)
			require.JSONEq(t, `{"ok":true}`, string(b))
			_, b, err = c.Post(context.Background(), u, tc.mediaType, []byte(`{}`))
			if tc.retried {
				require.NoError(t, err)
				require.JSONEq(t, `{"ok":true}`, string(b))
				require.Equal(t, int32(3), calls.Load(), "the dropped envelope was sent once more")
				return
			}
			require.ErrorIs(t, err, wire.ErrTransport)
			require.Equal(t, int32(2), calls.Load(), "the JSON body was not sent again")
		})
	}
}

// A path the service does not serve is refused with a Refusal, not the
// plain text of Go's mux; a path served for another method only is
// answered 405 by the mux.
func TestHTTPUnknownPath(t *testing.T) {
	s := startService(t, wire.Limits{})
	c := s.client(t, s.pki.Client("wallet-provider", ""))
	_, _, err := c.Post(context.Background(), s.url("/nothing-here"), wire.MediaJSON, []byte("{}"))
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Equal(t, http.StatusNotFound, ref.Code)
	require.Equal(t, wire.ReasonNotFound, ref.Reason)
	require.Zero(t, s.calls.Load())
}

// Connections beyond the cap are closed as soon as they are accepted,
// before any handshake; once one of those within the cap ends, a client
// is served again.
func TestHTTPConnectionCap(t *testing.T) {
	// Every timeout far above the read deadline below, which only a
	// server without the cap would reach.
	long := time.Minute
	s := startService(t, wire.Limits{MaxConns: 2, ReadHeaderTimeout: long, ReadTimeout: long, WriteTimeout: long, IdleTimeout: long})
	held := make([]net.Conn, 2)
	for i := range held {
		nc, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = nc.Close() })
		held[i] = nc
	}
	// Past the cap: closed by the server at once; without the cap this
	// read would end at its deadline, before any of the server's
	// timeouts.
	over, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	defer over.Close()
	_ = over.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = over.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	s.waitClosed(t)

	// One held connection goes: its slot is free once the server saw it
	// close, and a real client is served.
	require.NoError(t, held[0].Close())
	s.waitClosed(t)
	c := s.client(t, s.pki.Client("wallet-provider", ""))
	s.setHandler(func(*wire.Request) (wire.Response, error) {
		return wire.JSONResponse(http.StatusOK, map[string]string{"ok": "yes"})
	})
	_, body, err := c.Post(context.Background(), s.url("/other"), wire.MediaJSON, []byte("{}"))
	require.NoError(t, err)
	require.JSONEq(t, `{"ok":"yes"}`, string(body))
}
