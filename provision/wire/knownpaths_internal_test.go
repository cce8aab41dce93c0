package wire

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// knownPaths refuses a path its mux has no pattern for with a Refusal,
// lets the mux answer 405 for a path it serves for another method only,
// and serves the rest.
func TestKnownPaths(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /only-get", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/any", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	h := knownPaths{mux}
	for _, tc := range []struct {
		method, path string
		code         int
		refused      bool
	}{
		{http.MethodPost, "/any", http.StatusAccepted, false},
		{http.MethodGet, "/only-get", http.StatusNoContent, false},
		{http.MethodPost, "/only-get", http.StatusMethodNotAllowed, false},
		{http.MethodPost, "/nothing", http.StatusNotFound, true},
		{http.MethodGet, "/", http.StatusNotFound, true},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.code, w.Code)
			if !tc.refused {
				return
			}
			var ref Refusal
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &ref))
			require.Equal(t, ReasonNotFound, ref.Reason)
			require.Equal(t, MediaJSON, w.Header().Get("Content-Type"))
		})
	}
}
