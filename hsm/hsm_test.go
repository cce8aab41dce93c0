package hsm_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

func TestParseUsage(t *testing.T) {
	tests := []struct {
		in   string
		want hsm.Usage
	}{
		{"zpk", hsm.UsageZPK},
		{" IMK-AC ", hsm.UsageIMKAC},
		{"imk_smi", hsm.UsageIMKSMI},
		{"Kek", hsm.UsageKEK},
		{"sk-ac", hsm.UsageSessionAC},
	}
	for _, tc := range tests {
		got, err := hsm.ParseUsage(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
	got, err := hsm.ParseUsage("cvk")
	require.NoError(t, err)
	require.Equal(t, hsm.UsageCVK, got)
	_, err = hsm.ParseUsage("cvk2")
	require.ErrorIs(t, err, hsm.ErrUsage)
	require.Len(t, hsm.Usages(), 16)
	for _, u := range hsm.Usages() {
		require.True(t, u.Valid())
		require.NotEqual(t, "unknown usage", u.Summary())
		back, ok := hsm.UsageFromCode(u.Code())
		require.True(t, ok)
		require.Equal(t, u, back)
		require.Equal(t, u != hsm.UsageSessionAC, u.Storable())
		require.Equal(t, u == hsm.UsageECSign || u == hsm.UsageECDH, u.P256())
	}
	_, ok := hsm.UsageFromCode(0)
	require.False(t, ok)
	require.False(t, hsm.Usage("X").Valid())
	require.Equal(t, byte(0), hsm.Usage("X").Code())
}

// Each usage takes the algorithms and lengths its operations need.
func TestAdmits(t *testing.T) {
	type c struct {
		alg keys.Alg
		n   int
	}
	allow := map[hsm.Usage][]c{
		hsm.UsageIMKAC:     {{keys.TDES, 16}, {keys.TDES, 24}, {keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}},
		hsm.UsageBDK:       {{keys.TDES, 16}, {keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}},
		hsm.UsageZPK:       {{keys.TDES, 16}, {keys.TDES, 24}, {keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}},
		hsm.UsagePVK:       {{keys.TDES, 16}},
		hsm.UsageCVK:       {{keys.TDES, 16}},
		hsm.UsageKEK:       {{keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}},
		hsm.UsageSessionAC: {{keys.TDES, 16}, {keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}},
		hsm.UsageECSign:    nil,
		hsm.UsageECDH:      nil,
	}
	all := []c{{keys.TDES, 8}, {keys.TDES, 16}, {keys.TDES, 24}, {keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}, {keys.AES, 8}, {keys.Alg(0), 16}}
	for u, ok := range allow {
		for _, x := range all {
			err := u.Admits(x.alg, x.n)
			want := false
			for _, y := range ok {
				want = want || x == y
			}
			if want {
				require.NoError(t, err, "%s %v %d", u, x.alg, x.n)
			} else {
				require.ErrorIs(t, err, hsm.ErrKeyType, "%s %v %d", u, x.alg, x.n)
			}
		}
	}
	require.ErrorIs(t, hsm.Usage("X").Admits(keys.TDES, 16), hsm.ErrUsage)
	err := hsm.UsagePVK.Admits(keys.AES, 16)
	require.Contains(t, err.Error(), "PVK takes TDES 16 bytes")
	err = hsm.UsageECSign.Admits(keys.AES, 32)
	require.Contains(t, err.Error(), "EC-SIGN takes a P-256 key pair")
}

func TestHandle(t *testing.T) {
	h := hsm.Handle{ID: "k1", Label: "acq/zpk", Usage: hsm.UsageZPK, Alg: keys.TDES, Len: 16, KCV: "08D7B4"}
	require.Equal(t, `ZPK "acq/zpk" TDES-128 KCV 08D7B4`, h.String())
	require.False(t, h.IsZero())
	require.True(t, hsm.Handle{}.IsZero())
	require.Equal(t, "no key", hsm.Handle{}.String())
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "key", h)
	require.Contains(t, b.String(), "key.label=acq/zpk key.usage=ZPK key.kcv=08D7B4")
	require.NotContains(t, b.String(), "k1")
	ec := hsm.Handle{ID: "k2", Label: "svc/sign", Usage: hsm.UsageECSign, Len: 32, KCV: "0A1B2C3D4E"}
	require.Equal(t, `EC-SIGN "svc/sign" P-256 KCV 0A1B2C3D4E`, ec.String())
}

func TestUsageError(t *testing.T) {
	var err error = &hsm.UsageError{Op: "verify-pin", Label: "acq/tak", Have: hsm.UsageTAK, Want: []hsm.Usage{hsm.UsageZPK, hsm.UsageTPK}}
	require.ErrorIs(t, err, hsm.ErrUsage)
	require.Equal(t, `hsm: key usage does not allow the operation: verify-pin needs a ZPK or TPK key, "acq/tak" is TAK`, err.Error())
	var ue *hsm.UsageError
	require.True(t, errors.As(err, &ue))
	require.ErrorIs(t, hsm.ErrWeakKey, keys.ErrWeakKey)
}
