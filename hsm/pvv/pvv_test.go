package pvv_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/pvv"
)

// Published values (the cardutil project's Visa PVV tests): PVK
// 5CA64B3C22BEC347CA7E6609904BAAED, PAN 4564320000980369, PVKI 1.
var publishedPVK = keys.MustHex(keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED")

func TestPublishedVectors(t *testing.T) {
	tests := []struct {
		name, pin, want string
	}{
		{"four decimal digits in the first scan", "2205", "3856"},
		{"second scan over A-F needed", "0654", "0885"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pvv.Compute(publishedPVK, "4564320000980369", tc.pin, 1)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NoError(t, pvv.Verify(publishedPVK, "4564320000980369", tc.pin, 1, tc.want))
		})
	}
}

// The same vectors step by step: TSP, TDES encipherment, decimalisation.
func TestSteps(t *testing.T) {
	tsp, err := pvv.TSP("4564320000980369", "2205", 1)
	require.NoError(t, err)
	// PAN without check digit 456432000098036, rightmost 11: 32000098036.
	require.Equal(t, "3200009803612205", tsp)

	b, _ := hex.DecodeString(tsp)
	ct, err := publishedPVK.EncryptECB(b)
	require.NoError(t, err)
	require.Equal(t, "3856", pvv.Decimalise(ct, 4))

	// The published TSP example of the same project: PAN
	// 4441234567890123, PIN 1234, PVKI 1.
	tsp, err = pvv.TSP("4441234567890123", "1234", 1)
	require.NoError(t, err)
	require.Equal(t, "2345678901211234", tsp)

	// Only the 4 leftmost PIN digits take part.
	tsp6, err := pvv.TSP("4441234567890123", "123499", 1)
	require.NoError(t, err)
	require.Equal(t, tsp, tsp6)
}

func TestDecimalise(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"0123456789ABCDEF", 4, "0123"},
		{"A1B2C3D4E5F60718", 4, "1234"},
		{"ABCDEF0ABCDEFABC", 4, "0012"}, // one decimal digit, then A, B, C
		{"FEDCBAFEDCBAFEDC", 4, "5432"}, // no decimal digit at all
		{"9AAAAAAAAAAAAAAA", 4, "9000"}, // the second scan starts over
		{"FFFFFFFFFFFFFFF7", 4, "7555"}, // a decimal digit at the very end
		{"0000000000000000", 16, "0000000000000000"},
	}
	for _, tc := range tests {
		b, _ := hex.DecodeString(tc.in)
		require.Equal(t, tc.want, pvv.Decimalise(b, tc.n), tc.in)
	}
}

func TestErrors(t *testing.T) {
	aes := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
	triple := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567")
	tests := []struct {
		name     string
		pvk      keys.Key
		pan, pin string
		pvki     int
		ref      string
		wantErr  error
	}{
		{"AES key", aes, "4564320000980369", "2205", 1, "3856", pvv.ErrKey},
		{"triple-length key", triple, "4564320000980369", "2205", 1, "3856", pvv.ErrKey},
		{"short PAN", publishedPVK, "45643200009", "2205", 1, "3856", pvv.ErrPAN},
		{"PAN with a letter", publishedPVK, "45643200009803A9", "2205", 1, "3856", pvv.ErrPAN},
		{"long PAN", publishedPVK, "45643200009803690123", "2205", 1, "3856", pvv.ErrPAN},
		{"short PIN", publishedPVK, "4564320000980369", "220", 1, "3856", pvv.ErrPIN},
		{"PIN with a letter", publishedPVK, "4564320000980369", "22A5", 1, "3856", pvv.ErrPIN},
		{"PVKI 10", publishedPVK, "4564320000980369", "2205", 10, "3856", pvv.ErrPVKI},
		{"negative PVKI", publishedPVK, "4564320000980369", "2205", -1, "3856", pvv.ErrPVKI},
		{"short PVV", publishedPVK, "4564320000980369", "2205", 1, "385", pvv.ErrPVV},
		{"wrong PIN", publishedPVK, "4564320000980369", "2206", 1, "3856", pvv.ErrMismatch},
		{"wrong PVKI", publishedPVK, "4564320000980369", "2205", 2, "3856", pvv.ErrMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pvv.Verify(tc.pvk, tc.pan, tc.pin, tc.pvki, tc.ref)
			require.ErrorIs(t, err, tc.wantErr)
			require.NotContains(t, err.Error(), tc.pin)
			require.NotContains(t, err.Error(), tc.pan)
		})
	}
}
