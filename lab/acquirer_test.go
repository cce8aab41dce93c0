package lab

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The acquirer's sample configuration: the sample routes to its one
// issuer, the sample terminal and the load terminals, the sample keys;
// the sample routes cannot serve two issuers.
func TestAcquirerConfig(t *testing.T) {
	tests := []struct {
		name    string
		issuers map[string]string
		wantErr string
	}{
		{name: "one issuer", issuers: map[string]string{SampleIssuer: "127.0.0.1:1"}},
		{name: "two issuers", issuers: map[string]string{"a": "127.0.0.1:1", "b": "127.0.0.1:2"},
			wantErr: "acquirer: the sample routes need exactly one issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, closeHSM, err := AcquirerConfig(AcquirerOptions{Listen: "127.0.0.1:0", Issuers: tc.issuers,
				DataDir: t.TempDir(), AcquirerID: SampleAcquirerID, IssuerTimeout: time.Second})
			defer closeHSM()
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, []string{SampleIssuer}, cfg.Routes.Issuers())
			require.Len(t, cfg.Issuers, 1)
			require.Equal(t, "E5DF32", cfg.Issuers[0].ZAK.KCV)
			require.Equal(t, "830B72", cfg.Issuers[0].ZPK.KCV)
			require.Equal(t, "08D7B4", cfg.BDK.KCV)
			require.Len(t, cfg.Terminals, 1+LoadMaxTerminals)
			require.Equal(t, SampleTID, cfg.Terminals[0].TID)
			require.Equal(t, LoadTID(LoadMaxTerminals-1), cfg.Terminals[LoadMaxTerminals].TID)
		})
	}
}
