package pan_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/pan"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"4761739001010010", "476173******0010"},
		{"4012345678909", "401234***8909"},
		{"4761739001010010123", "476173*********0123"},
		{"123456789012", "********9012"},
		{"1234", "****"},
		{"4761D2912", "*********"},
	}
	for _, tc := range tests {
		got := pan.Mask(tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Len(t, got, len(tc.in))
	}
}

func TestLuhn(t *testing.T) {
	require.True(t, pan.LuhnValid("4012345678909"))
	require.True(t, pan.LuhnValid("79927398713"))
	require.False(t, pan.LuhnValid("79927398710"))
	require.False(t, pan.LuhnValid("4012x45678909"))
	require.False(t, pan.LuhnValid("0"))
	require.Equal(t, "0010", pan.Last4("4761739001010010"))
	require.Equal(t, "12", pan.Last4("12"))
}
