package idv_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tapsim/tapsim/issuerhost/idv"
)

// FuzzHandler posts arbitrary bodies to every operation of the handler
// over the sample issuer: it never panics, and every answer is a JSON
// object, a refusal naming its reason with the status it says (design:
// every refusal has a machine-readable reason). Seeds: testdata/fuzz and
// the bodies below.
func FuzzHandler(f *testing.F) {
	paths := []string{"/idv/authorize", "/idv/otp/send", "/idv/otp/verify", "/idv/notify", "/idv/activate", "/idv/inbox"}
	for i, b := range []string{
		`{"correlationId":"c1","tokenRequestorId":"40010075001","pan":"4761739001010010","expiry":"2912","securityCode":"123","deviceId":"d","decisioningData":{"deviceScore":3}}`,
		`{"correlationId":"c1","methodId":"sms"}`,
		`{"correlationId":"c1","otp":"123456"}`,
		`{"event":"TOKEN_CREATED","correlationId":"c1","tokenRef":"T","deviceId":"d","tokenRequestorId":"40010075001"}`,
		`{"tokenRef":"T","method":"PASSCODE","pinBlock":"0011223344556677"}`,
		`{"recipient":"+886900000000"}`,
		`null`, `[]`, `{"pan":1e999}`, "\x00\xff", `{"correlationId":"\u0000"}`,
	} {
		f.Add(uint8(i), []byte(b))
	}
	fx := newFixture(f)
	h := idv.Handler(fx.svc)
	f.Fuzz(func(t *testing.T, p uint8, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, paths[int(p)%len(paths)], bytes.NewReader(body)))
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("answer is not a JSON object: %q", rec.Body.String())
		}
		if rec.Code != http.StatusOK {
			if v["reason"] == nil || v["reason"] == "" || v["code"] != float64(rec.Code) {
				t.Fatalf("refusal without reason or with another code: %q", rec.Body.String())
			}
			if rec.Code == http.StatusInternalServerError {
				t.Fatalf("internal error on input: %q", rec.Body.String())
			}
		}
	})
}
