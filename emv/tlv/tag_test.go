package tlv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

func TestTagString(t *testing.T) {
	tests := []struct {
		tag  tlv.Tag
		want string
		len  int
	}{
		{0x5A, "5A", 1},
		{0x01, "01", 1},
		{0x9F02, "9F02", 2},
		{0x5F2A, "5F2A", 2},
		{0xDF8129, "DF8129", 3},
		{0xFF8105, "FF8105", 3},
		{0x1F818101, "1F818101", 4},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, tc.tag.String())
			require.Equal(t, tc.len, tc.tag.Len())
			require.Equal(t, h(tc.want), tc.tag.Bytes())
		})
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		in   string
		want tlv.Tag
		ok   bool
	}{
		{"9F02", 0x9F02, true},
		{"9f02", 0x9F02, true},
		{" df 81 29 ", 0xDF8129, true},
		{"5A", 0x5A, true},
		{"BF0C", 0xBF0C, true},
		{"FF8101", 0xFF8101, true},
		{"", 0, false},
		{"zz", 0, false},
		{"9F0", 0, false},
		{"00", 0, false},
		{"9F", 0, false},           // needs a subsequent byte
		{"9F82", 0, false},         // last byte has bit 8 set
		{"5A02", 0, false},         // single-byte tag followed by another byte
		{"9F8102", 0x9F8102, true}, // three bytes
		{"9F81818101", 0, false},   // five bytes
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := tlv.ParseTag(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, tlv.ErrTag)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestTagClassAndConstructed(t *testing.T) {
	tests := []struct {
		tag         tlv.Tag
		class       tlv.Class
		constructed bool
	}{
		{0x5A, tlv.ClassApplication, false},
		{0x6F, tlv.ClassApplication, true},
		{0x70, tlv.ClassApplication, true},
		{0x77, tlv.ClassApplication, true},
		{0x80, tlv.ClassContextSpecific, false},
		{0x9F02, tlv.ClassContextSpecific, false},
		{0xA5, tlv.ClassContextSpecific, true},
		{0xBF0C, tlv.ClassContextSpecific, true},
		{0xDF8129, tlv.ClassPrivate, false},
		{0xFF8105, tlv.ClassPrivate, true},
		{0x02, tlv.ClassUniversal, false},
		{0x30, tlv.ClassUniversal, true},
	}
	for _, tc := range tests {
		t.Run(tc.tag.String(), func(t *testing.T) {
			require.Equal(t, tc.class, tc.tag.Class())
			require.Equal(t, tc.constructed, tc.tag.Constructed())
		})
	}
	require.Equal(t, "context-specific", tlv.ClassContextSpecific.String())
	require.Equal(t, "private", tlv.ClassPrivate.String())
}

func TestTagValid(t *testing.T) {
	for _, tag := range []tlv.Tag{0x5A, 0x9F02, 0xDF8129, 0xFF8101, 0x1F818101} {
		require.True(t, tag.Valid(), "%v", tag)
	}
	for _, tag := range []tlv.Tag{0, 0x1F, 0x9F, 0x9F82, 0x5A02, 0x9F0201, 0x9F828283} {
		require.False(t, tag.Valid(), "%v", tag)
	}
}
