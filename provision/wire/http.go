package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Media types of request and response bodies.
const (
	// MediaJOSE is a compact JWE envelope (RFC 7515 §9.2.1): the body of
	// every message that carries card data, keys or codes.
	MediaJOSE = "application/jose"
	// MediaJSON is plain JSON: Refusal bodies, and requests an endpoint
	// documents as carrying nothing sensitive.
	MediaJSON = "application/json"
)

// Limits bound a provisioning server's connections and requests. Zero
// fields take the value of DefaultLimits.
type Limits struct {
	// MaxBody bounds a request body; a longer one gets 413.
	MaxBody int64
	// ReadHeaderTimeout bounds the request headers: it cuts a slow-loris
	// client. The TLS handshake is bounded by the least of it,
	// ReadTimeout and WriteTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the handling and the response.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection left idle.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request headers.
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once, TLS handshakes
	// included; a connection beyond it is closed as soon as it is
	// accepted.
	MaxConns int
	// MaxStreams bounds the requests an HTTP/2 connection runs at once.
	MaxStreams int
}

// DefaultLimits are the limits of a provisioning server.
var DefaultLimits = Limits{
	MaxBody:           MaxEnvelope,
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      15 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxHeaderBytes:    16 << 10,
	MaxConns:          256,
	MaxStreams:        16,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBody > 0 {
		d.MaxBody = l.MaxBody
	}
	if l.ReadHeaderTimeout > 0 {
		d.ReadHeaderTimeout = l.ReadHeaderTimeout
	}
	if l.ReadTimeout > 0 {
		d.ReadTimeout = l.ReadTimeout
	}
	if l.WriteTimeout > 0 {
		d.WriteTimeout = l.WriteTimeout
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.MaxConns > 0 {
		d.MaxConns = l.MaxConns
	}
	if l.MaxStreams > 0 {
		d.MaxStreams = l.MaxStreams
	}
	return d
}

// NewServer is the http.Server of a provisioning service: mutual TLS
// with cfg (build it with isospec/tlsconf.Server; a configuration that
// does not require and verify client certificates is refused) and every
// timeout, size and connection limit of lim set. A path h, when it is a
// *http.ServeMux, does not serve is refused 404 with the reason
// not_found. Serve it with srv.ServeTLS(listener, "", "") and stop it
// with Shutdown.
func NewServer(h http.Handler, cfg *tls.Config, lim Limits) (*http.Server, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: server: no handler", ErrConfig)
	}
	if cfg == nil || cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil {
		return nil, fmt.Errorf("%w: server: mutual TLS (client certificates required and verified) is required", ErrConfig)
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		return nil, fmt.Errorf("%w: server: no certificate", ErrConfig)
	}
	lim = lim.withDefaults()
	if mux, ok := h.(*http.ServeMux); ok {
		h = knownPaths{mux}
	}
	conns := connCap{max: int64(lim.MaxConns), open: new(atomic.Int64)}
	return &http.Server{
		Handler:           h,
		TLSConfig:         cfg.Clone(),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: lim.MaxStreams},
		ConnState:         conns.track,
		ErrorLog:          log.New(io.Discard, "", 0),
	}, nil
}

// knownPaths serves the paths its mux has a pattern for and refuses the
// others with a Refusal (not the mux's plain-text 404). A path the mux
// serves for other methods only is the mux's to answer (405).
type knownPaths struct{ mux *http.ServeMux }

func (k knownPaths) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := k.mux.Handler(r); pattern == "" && !k.otherMethod(r) {
		WriteRefusal(w, Refuse(http.StatusNotFound, ReasonNotFound, "no such endpoint"))
		return
	}
	k.mux.ServeHTTP(w, r)
}

// otherMethod tells whether the mux serves r's path for another method.
func (k knownPaths) otherMethod(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := k.mux.Handler(probe); pattern != "" {
			return true
		}
	}
	return false
}

// connCap counts a server's open connections (http.Server.ConnState) and
// closes a new one beyond max.
type connCap struct {
	max  int64
	open *atomic.Int64
}

func (c connCap) track(conn net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		if c.open.Add(1) > c.max {
			_ = conn.Close()
		}
	case http.StateClosed, http.StateHijacked:
		c.open.Add(-1)
	}
}

// Request is what a HandlerFunc gets: a POST whose body was read within
// the limit, of an accepted media type, from an authenticated client.
type Request struct {
	// HTTP is the underlying request; its body is already read.
	HTTP *http.Request
	// MediaType is MediaJOSE or MediaJSON.
	MediaType string
	// Body is the request body.
	Body []byte
	// Peer is the client's verified certificate.
	Peer *x509.Certificate
}

// Response is what a HandlerFunc answers with on success.
type Response struct {
	// Status is the HTTP status; 200 when 0.
	Status int
	// MediaType is MediaJOSE or MediaJSON.
	MediaType string
	// Body is the response body.
	Body []byte
}

// EnvelopeResponse is a 200 answer carrying an envelope.
func EnvelopeResponse(token string) Response {
	return Response{Status: http.StatusOK, MediaType: MediaJOSE, Body: []byte(token)}
}

// JSONResponse is an answer carrying v as JSON.
func JSONResponse(status int, v any) (Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Response{}, fmt.Errorf("%w: response does not marshal", ErrInvalid)
	}
	return Response{Status: status, MediaType: MediaJSON, Body: b}, nil
}

// HandlerFunc handles one request. An error is answered with RefusalFor
// it: return a *Refusal for a reason of the service's own, or an error
// wrapping one of the package's sentinels.
type HandlerFunc func(*Request) (Response, error)

// HandlerOptions configure Handle.
type HandlerOptions struct {
	// MaxBody bounds the body; DefaultLimits.MaxBody when 0.
	MaxBody int64
	// MediaTypes are the request media types accepted; MediaJOSE alone
	// when empty.
	MediaTypes []string
	// Log receives one line per refused request (reason, status, peer);
	// none when nil. Nothing of the body is logged.
	Log *slog.Logger
}

// Handle wraps fn so that every endpoint behaves alike: POST only (405),
// a client certificate required (403), Content-Type among the accepted
// media types (415), the body bounded before it is read (413), the body
// read within the server's timeouts (408), and every error answered as a
// Refusal JSON body with its status. Responses are never cached.
func Handle(fn HandlerFunc, opt HandlerOptions) http.Handler {
	max := opt.MaxBody
	if max <= 0 {
		max = DefaultLimits.MaxBody
	}
	types := opt.MediaTypes
	if len(types) == 0 {
		types = []string{MediaJOSE}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(ref *Refusal) {
			if opt.Log != nil {
				opt.Log.Warn("request refused", "path", r.URL.Path, "status", ref.Code, "reason", ref.Reason, "peer", r.RemoteAddr)
			}
			WriteRefusal(w, ref)
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			refuse(Refuse(http.StatusMethodNotAllowed, ReasonMethod, "only POST is accepted"))
			return
		}
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			refuse(Refuse(http.StatusForbidden, ReasonClientCertificate, "a client certificate is required"))
			return
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !contains(types, mt) {
			refuse(Refuse(http.StatusUnsupportedMediaType, ReasonMediaType, "Content-Type must be "+strings.Join(types, " or ")))
			return
		}
		if r.ContentLength > max {
			refuse(RefusalFor(ErrTooLarge))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			var tooLarge *http.MaxBytesError
			var ne net.Error
			switch {
			case errors.As(err, &tooLarge):
				refuse(RefusalFor(ErrTooLarge))
			case errors.As(err, &ne) && ne.Timeout():
				refuse(Refuse(http.StatusRequestTimeout, ReasonTimeout, "the request body came too slowly"))
			default:
				refuse(Refuse(http.StatusBadRequest, ReasonMalformed, "the request body could not be read"))
			}
			return
		}
		resp, err := fn(&Request{HTTP: r, MediaType: mt, Body: body, Peer: r.TLS.PeerCertificates[0]})
		if err != nil {
			refuse(RefusalFor(err))
			return
		}
		if resp.Status == 0 {
			resp.Status = http.StatusOK
		}
		h := w.Header()
		h.Set("Content-Type", resp.MediaType)
		h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
}

// WriteRefusal answers with ref as a JSON body and its status.
func WriteRefusal(w http.ResponseWriter, ref *Refusal) {
	b, _ := json.Marshal(ref)
	h := w.Header()
	h.Set("Content-Type", MediaJSON)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if ref.Code == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(ref.Code)
	_, _ = w.Write(b)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ClientLimits bound a Client. Zero fields take the value of
// DefaultClientLimits.
type ClientLimits struct {
	// Timeout bounds a whole exchange.
	Timeout time.Duration
	// DialTimeout bounds the TCP connect.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the answer's headers.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes an idle kept-alive connection.
	IdleConnTimeout time.Duration
	// MaxResponse bounds an answer's body.
	MaxResponse int64
}

// DefaultClientLimits are the limits of a Client.
var DefaultClientLimits = ClientLimits{
	Timeout:               15 * time.Second,
	DialTimeout:           5 * time.Second,
	TLSHandshakeTimeout:   5 * time.Second,
	ResponseHeaderTimeout: 10 * time.Second,
	IdleConnTimeout:       60 * time.Second,
	MaxResponse:           MaxEnvelope,
}

// Client posts to provisioning services over mutual TLS. It is safe for
// concurrent use.
type Client struct {
	hc          *http.Client
	maxResponse int64
}

// NewClient is a client presenting cfg's certificate and trusting cfg's
// roots only (build it with isospec/tlsconf.Client; a configuration
// without a certificate or roots is refused). No proxy is ever used.
func NewClient(cfg *tls.Config, lim ClientLimits) (*Client, error) {
	if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetClientCertificate == nil) || cfg.RootCAs == nil || cfg.InsecureSkipVerify {
		return nil, fmt.Errorf("%w: client: mutual TLS (a certificate and trusted roots) is required", ErrConfig)
	}
	d := DefaultClientLimits
	for _, p := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&d.Timeout, lim.Timeout}, {&d.DialTimeout, lim.DialTimeout},
		{&d.TLSHandshakeTimeout, lim.TLSHandshakeTimeout},
		{&d.ResponseHeaderTimeout, lim.ResponseHeaderTimeout},
		{&d.IdleConnTimeout, lim.IdleConnTimeout},
	} {
		if p.v > 0 {
			*p.dst = p.v
		}
	}
	if lim.MaxResponse > 0 {
		d.MaxResponse = lim.MaxResponse
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: d.DialTimeout}).DialContext,
		TLSClientConfig:       cfg.Clone(),
		TLSHandshakeTimeout:   d.TLSHandshakeTimeout,
		ResponseHeaderTimeout: d.ResponseHeaderTimeout,
		IdleConnTimeout:       d.IdleConnTimeout,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	return &Client{
		hc: &http.Client{
			Transport: tr,
			Timeout:   d.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a provisioning answer is never a redirect
			},
		},
		maxResponse: d.MaxResponse,
	}, nil
}

// Post sends body of mediaType to the https URL and returns the answer's
// media type and body. An HTTP error comes back as a *Refusal (decoded
// from the body, or made from the status when the body is not one); no
// answer at all as an error wrapping ErrTransport; an answer longer than
// the limit as ErrTooLarge.
func (c *Client) Post(ctx context.Context, rawURL, mediaType string, body []byte) (string, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", nil, fmt.Errorf("%w: client: the URL must be https://host/...", ErrConfig)
	}
	resp, err := c.do(ctx, u, mediaType, body)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResponse+1))
	if err != nil {
		return "", nil, fmt.Errorf("%w: post %s: reading the answer: %w", ErrTransport, u.Path, err)
	}
	if int64(len(b)) > c.maxResponse {
		return "", nil, fmt.Errorf("%w: post %s: answer longer than %d bytes", ErrTooLarge, u.Path, c.maxResponse)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var ref Refusal
		if mt == MediaJSON && strictJSON(b, &ref) == nil && ref.Reason != "" {
			ref.Code = resp.StatusCode
			return "", nil, &ref
		}
		return "", nil, Refuse(resp.StatusCode, "http_"+strconv.Itoa(resp.StatusCode), "the answer is not a refusal body")
	}
	return mt, b, nil
}

// do sends one POST. A connection kept from an earlier exchange may have
// been closed by the server meanwhile (it restarted, or its idle timer
// fired first): when such a reused connection ends before any answer, an
// envelope is sent once more on a new connection. An envelope the server
// did see is then refused as a replay by its own check, never acted on
// twice; a plain JSON body has no such check and is not sent again.
func (c *Client) do(ctx context.Context, u *url.URL, mediaType string, body []byte) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		var reused bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: client: %w", ErrConfig, err)
		}
		req.Header.Set("Content-Type", mediaType)
		req.Header.Set("Accept", MediaJOSE+", "+MediaJSON)
		resp, err := c.hc.Do(req)
		if err == nil {
			return resp, nil
		}
		if attempt == 0 && reused && mediaType == MediaJOSE && ctx.Err() == nil && staleConn(err) {
			continue
		}
		return nil, fmt.Errorf("%w: post %s: %w", ErrTransport, u.Path, unwrapURLError(err))
	}
}

// staleConn tells whether err is a connection that ended under the
// request: closed (EOF) or reset by the peer.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// PostEnvelope posts an envelope and returns the envelope answered.
func (c *Client) PostEnvelope(ctx context.Context, rawURL, token string) (string, error) {
	mt, b, err := c.Post(ctx, rawURL, MediaJOSE, []byte(token))
	if err != nil {
		return "", err
	}
	if mt != MediaJOSE {
		return "", fmt.Errorf("%w: the answer is %s, not %s", ErrMalformed, safeName(mt), MediaJOSE)
	}
	return string(b), nil
}

// PostJSON posts in as JSON and decodes the JSON answer into out (when
// not nil) strictly.
func (c *Client) PostJSON(ctx context.Context, rawURL string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%w: request does not marshal", ErrInvalid)
	}
	mt, b, err := c.Post(ctx, rawURL, MediaJSON, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if mt != MediaJSON {
		return fmt.Errorf("%w: the answer is %s, not %s", ErrMalformed, safeName(mt), MediaJSON)
	}
	if err := strictJSON(b, out); err != nil {
		return fmt.Errorf("%w: answer: %w", ErrMalformed, err)
	}
	return nil
}

// CloseIdleConnections closes the kept-alive connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// unwrapURLError drops the *url.Error layer, whose text repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
