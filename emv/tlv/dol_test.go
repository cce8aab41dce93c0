package tlv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

// The PDOL of the select_visa record.
const visaPDOL = "9F66049F02069F03069F1A0295055F2A029A039C019F3704"

func TestParseDOL(t *testing.T) {
	d, err := tlv.ParseDOL(h(visaPDOL))
	require.NoError(t, err)
	require.Equal(t, tlv.DOL{
		{0x9F66, 4}, {0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5},
		{0x5F2A, 2}, {0x9A, 3}, {0x9C, 1}, {0x9F37, 4},
	}, d)
	require.Equal(t, 33, d.DataLen())
	require.Equal(t, "9F66(4) 9F02(6) 9F03(6) 9F1A(2) 95(5) 5F2A(2) 9A(3) 9C(1) 9F37(4)", d.String())

	enc, err := d.Encode()
	require.NoError(t, err)
	require.Equal(t, h(visaPDOL), enc)

	// The length is one byte, even above 127 (no BER length forms).
	d, err = tlv.ParseDOL(h("DF8129 08 9F4E 81 9F4E 00"))
	require.NoError(t, err)
	require.Equal(t, tlv.DOL{{0xDF8129, 8}, {0x9F4E, 0x81}, {0x9F4E, 0}}, d)

	d, err = tlv.ParseDOL(nil)
	require.NoError(t, err)
	require.Empty(t, d)
}

func TestParseDOLErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		err    error
		offset int
	}{
		{"tag cut short", "9F0206 9F", tlv.ErrTruncated, 3},
		{"length missing", "9F0206 9F37", tlv.ErrTruncated, 5},
		{"tag too long", "9F8181818101 04", tlv.ErrTag, 0},
		{"zero tag byte", "9F0206 00 04", tlv.ErrTag, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tlv.ParseDOL(h(tc.in))
			require.ErrorIs(t, err, tc.err)
			var de *tlv.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, tc.offset, de.Offset)
		})
	}
}

func TestDOLEncodeErrors(t *testing.T) {
	_, err := tlv.DOL{{0x9F02, 256}}.Encode()
	require.ErrorIs(t, err, tlv.ErrLength)
	_, err = tlv.DOL{{0x9F02, -1}}.Encode()
	require.ErrorIs(t, err, tlv.ErrLength)
	_, err = tlv.DOL{{0x9F, 1}}.Encode()
	require.ErrorIs(t, err, tlv.ErrTag)
}

// Each rule of EMV Book 3 section 5.4, one entry at a time.
func TestBuildDOLRules(t *testing.T) {
	src := tlv.Map{
		0x9F02: h("000000012345"),     // n 12
		0x5A:   h("5413330089020011"), // cn
		0x9F33: h("E0F8C8"),           // b
		0x9F37: h("1A2B3C4D"),         // b
		0x9F1C: []byte("1234"),        // an 8
		0x9F4E: []byte("MERCHANT"),    // ans
		0x70:   h("5A0112"),           // a template
		0xDF7F: h("010203"),           // not in the dictionary
		0x9F5D: h("0123"),             // b in general and C-2, n in C-3
	}
	tests := []struct {
		name   string
		kernel tlv.Kernel
		entry  tlv.DOLEntry
		want   string
	}{
		{"same length", tlv.KernelAny, tlv.DOLEntry{0x9F37, 4}, "1A2B3C4D"},
		{"absent: zeros", tlv.KernelAny, tlv.DOLEntry{0x95, 5}, "0000000000"},
		{"constructed: zeros", tlv.KernelAny, tlv.DOLEntry{0x70, 3}, "000000"},
		{"n longer: leftmost bytes dropped", tlv.KernelAny, tlv.DOLEntry{0x9F02, 4}, "00012345"},
		{"n shorter: leading zeros", tlv.KernelAny, tlv.DOLEntry{0x9F02, 8}, "0000000000012345"},
		{"cn longer: rightmost bytes dropped", tlv.KernelAny, tlv.DOLEntry{0x5A, 5}, "5413330089"},
		{"cn shorter: trailing FF", tlv.KernelAny, tlv.DOLEntry{0x5A, 10}, "5413330089020011FFFF"},
		{"b longer: rightmost bytes dropped", tlv.KernelAny, tlv.DOLEntry{0x9F33, 2}, "E0F8"},
		{"b shorter: trailing zeros", tlv.KernelAny, tlv.DOLEntry{0x9F37, 6}, "1A2B3C4D0000"},
		{"an shorter: trailing zeros", tlv.KernelAny, tlv.DOLEntry{0x9F1C, 8}, "3132333400000000"},
		{"ans longer: rightmost bytes dropped", tlv.KernelAny, tlv.DOLEntry{0x9F4E, 4}, "4D455243"},
		{"unknown tag is binary, shorter", tlv.KernelAny, tlv.DOLEntry{0xDF7F, 4}, "01020300"},
		{"unknown tag is binary, longer", tlv.KernelAny, tlv.DOLEntry{0xDF7F, 1}, "01"},
		{"zero length", tlv.KernelAny, tlv.DOLEntry{0x9F02, 0}, ""},
		{"kernel format: b in C-2", tlv.Kernel2, tlv.DOLEntry{0x9F5D, 3}, "012300"},
		{"kernel format: n in C-3", tlv.Kernel3, tlv.DOLEntry{0x9F5D, 6}, "000000000123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tlv.BuildDOLFor(tc.kernel, tlv.DOL{tc.entry}, src.Lookup)
			require.Equal(t, h(tc.want), got)
		})
	}
}

// The PDOL related data of a C-3 GET PROCESSING OPTIONS for NT$300.00 on a
// Taiwanese terminal; the TVR is not known yet, so it is zeros.
func TestBuildDOLPDOL(t *testing.T) {
	d, err := tlv.ParseDOL(h(visaPDOL))
	require.NoError(t, err)
	term := tlv.Map{
		0x9F66: h("36004000"),
		0x9F02: h("000000030000"),
		0x9F03: h("000000000000"),
		0x9F1A: h("0158"),
		0x5F2A: h("0901"),
		0x9A:   h("251124"),
		0x9C:   h("00"),
		0x9F37: h("1A2B3C4D"),
	}
	got := tlv.BuildDOL(d, term.Lookup)
	require.Equal(t, h("36004000 000000030000 000000000000 0158 0000000000 0901 251124 00 1A2B3C4D"), got)
	require.Len(t, got, d.DataLen())

	// Without a source, every entry is zeros.
	require.Equal(t, make([]byte, 33), tlv.BuildDOL(d, nil))

	// The card splits the data back into its data objects.
	parts, err := d.Split(got)
	require.NoError(t, err)
	require.Len(t, parts, 9)
	m := parts.Map()
	for tag, v := range term {
		require.Equal(t, v, m[tag], "%v", tag)
	}
	require.Equal(t, make([]byte, 5), m[0x95])
}

func TestDOLSplitErrors(t *testing.T) {
	d := tlv.DOL{{0x9F02, 6}, {0x9F37, 4}}
	_, err := d.Split(make([]byte, 9))
	require.ErrorIs(t, err, tlv.ErrLength)
	_, err = d.Split(make([]byte, 11))
	require.ErrorIs(t, err, tlv.ErrLength)
	_, err = tlv.DOL{{0x9F02, 3}, {0x9F37, -1}}.Split(make([]byte, 2))
	require.ErrorIs(t, err, tlv.ErrLength)
}
