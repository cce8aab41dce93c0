package lab

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The sample keys have the check values their comments give, and are
// keys the module accepts.
func TestSampleKeys(t *testing.T) {
	tests := []struct {
		name string
		alg  keys.Alg
		hex  string
		kcv  string
	}{
		{"BDK", keys.TDES, BDK, "08D7B4"},
		{"TAK", keys.TDES, TAK, "3B7D3D"},
		{"ZPK", keys.TDES, ZPK, "830B72"},
		{"ZAK", keys.TDES, ZAK, "E5DF32"},
		{"PVK", keys.TDES, PVK, "8721EF"},
		{"KEK", keys.AES, KEK, "C2C25BD7A9"},
		{"LMK", keys.AES, LMK, "AAEF5C6F42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keys.ParseHex(tc.alg, tc.hex)
			require.NoError(t, err)
			require.Equal(t, tc.kcv, k.KCVHex())
		})
	}
}

// OpenSoftHSM uses the sample LMK unless TAPSIM_HSM_LMK is set, and
// reports an unusable one as soft.ErrLMK without repeating it.
func TestOpenSoftHSM(t *testing.T) {
	tests := []struct {
		name    string
		env     *string
		wantErr error
	}{
		{name: "sample LMK"},
		{name: "LMK from the environment", env: new(string(LMK))},
		{name: "unusable LMK", env: new(string("0123")), wantErr: soft.ErrLMK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				t.Setenv(soft.EnvLMK, *tc.env)
			}
			m, err := OpenSoftHSM("test", t.TempDir(), "keys.json", nil)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), *tc.env)
				return
			}
			require.NoError(t, err)
			require.NoError(t, m.Close())
		})
	}
}
