package tlv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

func TestParseN(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want int64
		ok   bool
	}{
		{[]byte{0, 0, 0, 0x15, 0, 0}, 150000, true}, // 9F02 NT$1,500.00
		{[]byte{0x09, 0x01}, 901, true},             // 5F2A TWD
		{[]byte{0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99}, 999999999999999999, true},
		{nil, 0, false},
		{[]byte{0x0A}, 0, false},
		{[]byte{0xA0}, 0, false},
		{make([]byte, 10), 0, false},
	} {
		got, ok := tlv.ParseN(tc.in)
		require.Equal(t, tc.ok, ok, "% X", tc.in)
		require.Equal(t, tc.want, got, "% X", tc.in)
	}
}
