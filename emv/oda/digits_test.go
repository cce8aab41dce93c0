package oda

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPackDigits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
		ok   bool
	}{
		{"476173", 4, "476173FF", true},
		{"476", 4, "476FFFFF", true},
		{"47617390", 4, "47617390", true},
		{"476173900", 4, "", false},
		{"4761739001010010", 10, "4761739001010010FFFF", true},
		{"4761739001010010123", 10, "4761739001010010123F", true},
		{"47A", 4, "", false},
		{"", 2, "FFFF", true},
	} {
		got, ok := packDigits(tc.in, tc.n)
		require.Equal(t, tc.ok, ok, tc.in)
		if ok {
			require.Equal(t, hx(tc.want), got, tc.in)
		}
	}
}

func TestDecodePAN(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"4761739001010010", "4761739001010010", true},
		{"476173900101001F", "476173900101001", true},
		{"4761739001010010123F", "4761739001010010123", true},
		{"4761739001010010FFFF", "4761739001010010", true},
		{"47617390010100101234", "", false}, // 20 digits
		{"47F1", "", false},
		{"4A", "", false},
		{"FF", "", false},
		{"", "", false},
	} {
		got, err := DecodePAN(hx(tc.in))
		if !tc.ok {
			require.ErrorIs(t, err, ErrInvalid, tc.in)
			if tc.in != "" {
				require.NotContains(t, err.Error(), tc.in)
			}
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}
