package idv_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

// post sends body to path and decodes the answer into out; it returns the
// status and, for a refusal, its body.
func post(t *testing.T, h http.Handler, path, body string, out any) (int, idv.Refusal) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var ref idv.Refusal
	if rec.Code != http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ref), rec.Body.String())
		require.Equal(t, rec.Code, ref.Code)
		require.NotEmpty(t, ref.Reason)
		require.NotEmpty(t, ref.Message)
		return rec.Code, ref
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), rec.Body.String())
	}
	return rec.Code, ref
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// The whole yellow path over HTTP, and each refusal with its reason and
// status.
func TestHandler(t *testing.T) {
	f := newFixture(t)
	h := idv.Handler(f.svc)
	req := f.request("corr-http", issuertest.VisaPlastic)

	var resp idv.AuthorizeResponse
	code, _ := post(t, h, "/idv/authorize", mustJSON(t, req), &resp)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, idv.StepUp, resp.Decision)

	var sent idv.SendResult
	code, _ = post(t, h, "/idv/otp/send", `{"correlationId":"corr-http","methodId":"sms"}`, &sent)
	require.Equal(t, http.StatusOK, code)
	phone, _ := issuerhost.SampleContact(issuertest.VisaPlastic)
	var inbox idv.InboxResponse
	code, _ = post(t, h, "/idv/inbox", mustJSON(t, idv.InboxRequest{Recipient: phone}), &inbox)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, inbox.Messages, 1)
	otp := otpRE.FindStringSubmatch(inbox.Messages[0].Body)[1]
	f.secrets = append(f.secrets, otp)

	code, ref := post(t, h, "/idv/otp/verify", `{"correlationId":"corr-http","otp":"`+wrongCode(otp[3:])+otp[:3]+`"}`, nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, idv.ReasonOTPWrong, ref.Reason)
	require.NotNil(t, ref.TriesLeft)
	require.Equal(t, 4, *ref.TriesLeft)

	var ok idv.VerifyResult
	code, _ = post(t, h, "/idv/otp/verify", `{"correlationId":"corr-http","otp":"`+otp+`"}`, &ok)
	require.Equal(t, http.StatusOK, code)
	require.True(t, ok.Verified)
	code, ref = post(t, h, "/idv/otp/verify", `{"correlationId":"corr-http","otp":"`+otp+`"}`, nil)
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, idv.ReasonOTPUsed, ref.Reason)

	var st idv.TokenStatus
	n := idv.Notification{Event: idv.EventDownloadComplete, CorrelationID: "corr-http", TokenRef: "TUR-H", DeviceID: device, RequestorID: walletTR}
	code, _ = post(t, h, "/idv/notify", mustJSON(t, n), &st)
	require.Equal(t, http.StatusOK, code)
	code, _ = post(t, h, "/idv/activate", `{"tokenRef":"TUR-H","method":"OTP"}`, &st)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, idv.StatusActive, st.Status)

	refusals := []struct {
		name, path, body string
		status           int
		reason           idv.Reason
	}{
		{"unknown field", "/idv/otp/send", `{"correlationId":"corr-http","methodId":"sms","extra":1}`, 400, idv.ReasonInvalidRequest},
		{"not json", "/idv/authorize", `{"correlationId":`, 400, idv.ReasonInvalidRequest},
		{"two objects", "/idv/inbox", `{"recipient":"a"}{"recipient":"b"}`, 400, idv.ReasonInvalidRequest},
		{"wrong type", "/idv/authorize", `{"decisioningData":{"deviceScore":"five"}}`, 400, idv.ReasonInvalidRequest},
		{"bad fields", "/idv/authorize", `{"correlationId":"x"}`, 400, idv.ReasonInvalidRequest},
		{"too large", "/idv/inbox", `{"recipient":"` + strings.Repeat("a", idv.MaxBody) + `"}`, 413, idv.ReasonBodyTooLarge},
		{"unknown path", "/idv/nothing", `{}`, 404, idv.ReasonNotFound},
		{"unknown correlation", "/idv/otp/send", `{"correlationId":"corr-none","methodId":"sms"}`, 404, idv.ReasonUnknownCorrelation},
		{"reused correlation", "/idv/authorize", mustJSON(t, f.request("corr-http", issuertest.VisaSE)), 409, idv.ReasonCorrelationReused},
		{"already verified", "/idv/otp/send", `{"correlationId":"corr-http","methodId":"sms"}`, 409, idv.ReasonAlreadyVerified},
		{"unknown token", "/idv/activate", `{"tokenRef":"TUR-none","method":"OTP"}`, 404, idv.ReasonUnknownToken},
		{"bad method", "/idv/activate", `{"tokenRef":"TUR-H","method":"SMILE"}`, 400, idv.ReasonInvalidRequest},
		{"device mismatch", "/idv/notify", `{"event":"TOKEN_CREATED","correlationId":"corr-http","tokenRef":"TUR-H","deviceId":"other","tokenRequestorId":"` + walletTR + `"}`, 403, idv.ReasonDeviceMismatch},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			code, ref := post(t, h, tc.path, tc.body, nil)
			require.Equal(t, tc.status, code)
			require.Equal(t, tc.reason, ref.Reason)
		})
	}

	// GET is not served.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/idv/authorize", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
	f.noSecrets()
}

// A codec in place of plain JSON (as the provisioning envelope will be)
// sees every body; the handler does not change.
type countingCodec struct {
	idv.JSONCodec
	decoded, encoded int
}

func (c *countingCodec) Decode(w http.ResponseWriter, r *http.Request, v any) error {
	c.decoded++
	return c.JSONCodec.Decode(w, r, v)
}

func (c *countingCodec) Encode(w http.ResponseWriter, status int, v any) error {
	c.encoded++
	return c.JSONCodec.Encode(w, status, v)
}

func TestHandlerCodec(t *testing.T) {
	f := newFixture(t)
	c := &countingCodec{}
	h := idv.Handler(f.svc, idv.WithCodec(c))
	post(t, h, "/idv/inbox", `{"recipient":"nobody"}`, nil)
	post(t, h, "/idv/otp/send", `{"correlationId":"corr-none","methodId":"sms"}`, nil)
	require.Equal(t, 2, c.decoded)
	require.Equal(t, 2, c.encoded)

	code, ref := post(t, idv.Handler(f.svc, idv.WithoutInbox()), "/idv/inbox", `{"recipient":"nobody"}`, nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, idv.ReasonNotFound, ref.Reason)
}
