package idv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// API is what Handler serves: *Service, or a stand-in in tests.
type API interface {
	Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResponse, error)
	SendOTP(ctx context.Context, correlationID, methodID string) (SendResult, error)
	VerifyOTP(ctx context.Context, correlationID, otp string) (VerifyResult, error)
	Notify(ctx context.Context, n Notification) (TokenStatus, error)
	Activate(ctx context.Context, req ActivateRequest) (TokenStatus, error)
	Inbox(ctx context.Context, recipient string) ([]Message, error)
}

var _ API = (*Service)(nil)

// SendOTPRequest is the body of POST /idv/otp/send.
type SendOTPRequest struct {
	CorrelationID string `json:"correlationId"`
	MethodID      string `json:"methodId"`
}

// VerifyOTPRequest is the body of POST /idv/otp/verify.
type VerifyOTPRequest struct {
	CorrelationID string `json:"correlationId"`
	OTP           string `json:"otp"`
}

// String shows the request without its OTP.
func (r VerifyOTPRequest) String() string { return "OTP check for " + r.CorrelationID }

// GoString is String.
func (r VerifyOTPRequest) GoString() string { return r.String() }

// InboxRequest is the body of POST /idv/inbox.
type InboxRequest struct {
	Recipient string `json:"recipient"`
}

// InboxResponse is the answer of POST /idv/inbox.
type InboxResponse struct {
	Messages []Message `json:"messages"`
}

// Refusal is the body of every refused call: the HTTP status as code, the
// machine-readable reason and a message that names no sensitive data;
// TriesLeft for a wrong OTP or passcode.
type Refusal struct {
	Code      int    `json:"code"`
	Reason    Reason `json:"reason"`
	Message   string `json:"message"`
	TriesLeft *int   `json:"triesLeft,omitempty"`
}

// MaxBody is the largest request body the JSON codec reads.
const MaxBody = 16 << 10

// Codec turns request bodies into values and values into responses. The
// default, JSONCodec, is plain JSON; the provisioning envelope (JWE/JWS)
// can replace it without touching the handler or the bodies.
type Codec interface {
	// Decode reads the body of r into v; any error is a refusal
	// (invalid_request, or body_too_large when it wraps
	// *http.MaxBytesError).
	Decode(w http.ResponseWriter, r *http.Request, v any) error
	// Encode writes v with status.
	Encode(w http.ResponseWriter, status int, v any) error
}

// JSONCodec reads one JSON object of at most MaxBody bytes, refusing
// unknown fields and anything after the object, and writes JSON.
type JSONCodec struct{}

// Decode reads one strict JSON object into v.
func (JSONCodec) Decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// Encode writes v as JSON.
func (JSONCodec) Encode(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Option sets up a Handler.
type Option func(*handler)

// WithCodec makes the handler read and write bodies with c.
func WithCodec(c Codec) Option { return func(h *handler) { h.codec = c } }

// WithoutInbox leaves /idv/inbox out: the message centre is a test and
// admin view, not for the token service.
func WithoutInbox() Option { return func(h *handler) { h.noInbox = true } }

type handler struct {
	api     API
	codec   Codec
	mux     *http.ServeMux
	noInbox bool
}

// Handler serves api over HTTP: POST with a JSON body to
//
//	/idv/authorize    AuthorizeRequest -> AuthorizeResponse (a decline is a 200 answer)
//	/idv/otp/send     SendOTPRequest   -> SendResult
//	/idv/otp/verify   VerifyOTPRequest -> VerifyResult
//	/idv/notify       Notification     -> TokenStatus
//	/idv/activate     ActivateRequest  -> TokenStatus
//	/idv/inbox        InboxRequest     -> InboxResponse (test and admin; WithoutInbox leaves it out)
//
// Every refusal is a Refusal body with its own reason and HTTP status
// (Reason.HTTPStatus); internal errors are 500 internal_error without
// detail. It has no TLS of its own: the listener (mutual TLS) and the
// envelope (Codec) are the caller's.
func Handler(api API, opts ...Option) http.Handler {
	h := &handler{api: api, codec: JSONCodec{}, mux: http.NewServeMux()}
	for _, o := range opts {
		o(h)
	}
	h.mux.HandleFunc("/idv/authorize", serve(h, func(ctx context.Context, req AuthorizeRequest) (any, error) {
		return h.api.Authorize(ctx, req)
	}))
	h.mux.HandleFunc("/idv/otp/send", serve(h, func(ctx context.Context, req SendOTPRequest) (any, error) {
		return h.api.SendOTP(ctx, req.CorrelationID, req.MethodID)
	}))
	h.mux.HandleFunc("/idv/otp/verify", serve(h, func(ctx context.Context, req VerifyOTPRequest) (any, error) {
		return h.api.VerifyOTP(ctx, req.CorrelationID, req.OTP)
	}))
	h.mux.HandleFunc("/idv/notify", serve(h, func(ctx context.Context, req Notification) (any, error) {
		return h.api.Notify(ctx, req)
	}))
	h.mux.HandleFunc("/idv/activate", serve(h, func(ctx context.Context, req ActivateRequest) (any, error) {
		return h.api.Activate(ctx, req)
	}))
	if !h.noInbox {
		h.mux.HandleFunc("/idv/inbox", serve(h, func(ctx context.Context, req InboxRequest) (any, error) {
			ms, err := h.api.Inbox(ctx, req.Recipient)
			if ms == nil {
				ms = []Message{}
			}
			return InboxResponse{Messages: ms}, err
		}))
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		h.refuse(w, &Error{Reason: ReasonNotFound, Message: "no such operation"})
	})
	return h.mux
}

// serve decodes a body of type T, calls fn and writes its answer or
// refusal.
func serve[T any](h *handler, fn func(context.Context, T) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			h.refuse(w, &Error{Reason: ReasonMethodNotAllowed, Message: "use POST"})
			return
		}
		var req T
		if err := h.codec.Decode(w, r, &req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				h.refuse(w, &Error{Reason: ReasonBodyTooLarge, Message: fmt.Sprintf("body over %d bytes", tooBig.Limit)})
				return
			}
			h.refuse(w, &Error{Reason: ReasonInvalidRequest, Message: "body is not one JSON object of the expected fields"})
			return
		}
		out, err := fn(r.Context(), req)
		if err != nil {
			h.refuse(w, err)
			return
		}
		_ = h.codec.Encode(w, http.StatusOK, out)
	}
}

// refuse writes err as a Refusal; an error that is not a refusal is 500
// without detail.
func (h *handler) refuse(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Reason: ReasonInternal, Message: "internal error"}
	}
	body := Refusal{Code: e.Reason.HTTPStatus(), Reason: e.Reason, Message: e.Message}
	if body.Message == "" {
		body.Message = string(e.Reason)
	}
	if e.Reason == ReasonOTPWrong || e.Reason == ReasonPasscodeWrong {
		left := e.TriesLeft
		body.TriesLeft = &left
	}
	_ = h.codec.Encode(w, body.Code, body)
}
