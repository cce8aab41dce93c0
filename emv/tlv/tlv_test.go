package tlv_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

// The PPSE answer decodes into the template tree of EMV Book 1 section 12.3.
func TestDecodePPSE(t *testing.T) {
	l, err := tlv.Decode(record("ppse"))
	require.NoError(t, err)
	require.Len(t, l, 1)
	fci := l[0]
	require.Equal(t, tlv.Tag(0x6F), fci.Tag)
	require.Len(t, fci.Value, 0x4E)
	require.Len(t, fci.Children, 2)
	require.Equal(t, tlv.Tag(0x84), fci.Children[0].Tag)
	require.Equal(t, []byte("2PAY.SYS.DDF01"), fci.Children[0].Value)

	prop := fci.Children[1]
	require.Equal(t, tlv.Tag(0xA5), prop.Tag)
	require.Len(t, prop.Children, 1)
	disc := prop.Children[0]
	require.Equal(t, tlv.Tag(0xBF0C), disc.Tag)
	require.Len(t, disc.Children, 2)

	apps := l.FindAll(0x61)
	require.Len(t, apps, 2)
	mc := tlv.List(apps[0].Children).Map()
	require.Equal(t, h("A0000000041010"), mc[0x4F])
	require.Equal(t, []byte("MASTERCARD"), mc[0x50])
	require.Equal(t, []byte{1}, mc[0x87])
	visa := tlv.List(apps[1].Children).Map()
	require.Equal(t, h("A0000000031010"), visa[0x4F])
	require.Equal(t, []byte{3}, visa[0x9F2A])
}

func TestDecodeGPOFormats(t *testing.T) {
	l, err := tlv.Decode(record("gpo_format1"))
	require.NoError(t, err)
	require.Equal(t, tlv.List{{Tag: 0x80, Value: h("1980 08010100 10010301 18010200")}}, l)

	l, err = tlv.Decode(record("gpo_format2"))
	require.NoError(t, err)
	m := l.Map()
	require.Equal(t, h("2000"), m[0x82])
	require.Equal(t, h("18010100"), m[0x94])
	require.Equal(t, h("4761739001010010D22122011143804400000F"), m[0x57])
	require.Equal(t, h("1234567890ABCDEF"), m[0x9F26])
	require.Equal(t, h("80"), m[0x9F27])
	require.Equal(t, h("0001"), m[0x9F36])
	require.Len(t, m, 10)
}

// A 187-byte record uses the two-byte length '81 BA'; the '00' bytes inside
// the template and the 'FF' bytes after it are padding (Book 3 Annex B).
func TestDecodeRecordWithPadding(t *testing.T) {
	l, err := tlv.Decode(record("read_record"))
	require.NoError(t, err)
	require.Len(t, l, 1)
	require.Len(t, l[0].Value, 0xBA)
	var tags []string
	for _, c := range l[0].Children {
		tags = append(tags, c.Tag.String())
	}
	require.Equal(t, "57 5A 5F20 5F24 5F25 5F28 5F34 8C 8D 8E 9F07 9F08 9F0D 9F0E 9F0F 9F42 9F4A", strings.Join(tags, " "))
	m := l.Map()
	require.Equal(t, h("5413330089020011"), m[0x5A])
	require.Equal(t, h("251231"), m[0x5F24])

	l, err = tlv.Decode(record("gen_ac"))
	require.NoError(t, err)
	require.Len(t, l, 1)
	require.Equal(t, tlv.Tag(0x77), l[0].Tag)
	require.Len(t, l[0].Children, 4)
}

func TestDecodeLengthForms(t *testing.T) {
	v127 := bytes.Repeat([]byte{0xAB}, 127)
	v128 := bytes.Repeat([]byte{0xCD}, 128)
	v300 := bytes.Repeat([]byte{0xEF}, 300)
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"short form 0", h("9F0300"), []byte{}},
		{"short form 127", append(h("9F4E7F"), v127...), v127},
		{"81 form", append(h("9F4E8180"), v128...), v128},
		{"82 form", append(h("9F4E82012C"), v300...), v300},
		{"81 form, not minimal", h("5A81021234"), h("1234")},
		{"82 form, not minimal", h("5A8200021234"), h("1234")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tlv.Decode(tc.in)
			require.NoError(t, err)
			require.Len(t, l, 1)
			require.Equal(t, tc.want, l[0].Value)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := []byte{0x5A, 0x00}
	for range tlv.DefaultMaxDepth + 1 {
		deep = append([]byte{0x70, byte(len(deep))}, deep...)
	}
	tests := []struct {
		name   string
		in     []byte
		err    error
		offset int
		tag    tlv.Tag
	}{
		{"indefinite length", h("70 80 5A01 01 0000"), tlv.ErrIndefiniteLength, 1, 0x70},
		{"four length bytes", h("5A 83 000001 11"), tlv.ErrLength, 1, 0x5A},
		{"length byte 84", h("9F02 84 00000001 11"), tlv.ErrLength, 2, 0x9F02},
		{"length byte FF", h("9F02 FF"), tlv.ErrLength, 2, 0x9F02},
		{"tag cut short", h("5A0111 9F"), tlv.ErrTruncated, 3, 0},
		{"tag cut short in subsequent bytes", h("DF81"), tlv.ErrTruncated, 0, 0},
		{"tag longer than 4 bytes", h("9F81818181 01 00"), tlv.ErrTag, 0, 0},
		{"length missing", h("9F02"), tlv.ErrTruncated, 2, 0x9F02},
		{"81 form cut short", h("5A81"), tlv.ErrTruncated, 1, 0x5A},
		{"82 form cut short", h("5A8201"), tlv.ErrTruncated, 1, 0x5A},
		{"value cut short", h("5A05 1234"), tlv.ErrTruncated, 2, 0x5A},
		{"value past template end", h("7004 5A05 1234 5678 90"), tlv.ErrTruncated, 4, 0x5A},
		{"error deep in a template", h("6F08 A506 5001 41 9F02 81"), tlv.ErrTruncated, 9, 0x9F02},
		{"after padding", h("0000FF 5A09 11"), tlv.ErrTruncated, 5, 0x5A},
		{"nesting too deep", deep, tlv.ErrDepth, 2 * tlv.DefaultMaxDepth, 0x70},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tlv.Decode(tc.in)
			require.Nil(t, l)
			require.ErrorIs(t, err, tc.err)
			var de *tlv.DecodeError
			require.True(t, errors.As(err, &de))
			require.Equal(t, tc.offset, de.Offset, "offset: %v", err)
			require.Equal(t, tc.tag, de.Tag)
			require.True(t, strings.HasPrefix(err.Error(), "tlv: "), err.Error())
		})
	}
}

// The depth limit is configurable and applies to templates only.
func TestDecoderMaxDepth(t *testing.T) {
	in := h("70 06 A5 04 BF0C 01 00")
	_, err := tlv.Decoder{MaxDepth: 2}.Decode(in)
	require.ErrorIs(t, err, tlv.ErrDepth)
	l, err := tlv.Decoder{MaxDepth: 3}.Decode(in)
	require.NoError(t, err)
	require.Equal(t, tlv.Tag(0xBF0C), l[0].Children[0].Children[0].Tag)
}

// Error messages carry offsets and tags only, never values.
func TestDecodeErrorHidesValues(t *testing.T) {
	_, err := tlv.Decode(h("5A 09 5413330089020011"))
	require.Error(t, err)
	require.Equal(t, "tlv: truncated at offset 2 (tag 5A): value needs 9 bytes, 8 left", err.Error())
}

func TestDecodeCopiesInput(t *testing.T) {
	in := h("5A085413330089020011")
	l, err := tlv.Decode(in)
	require.NoError(t, err)
	for i := range in {
		in[i] = 0
	}
	require.Equal(t, h("5413330089020011"), l[0].Value)
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range [][]byte{nil, {}, h("0000FFFF00")} {
		l, err := tlv.Decode(in)
		require.NoError(t, err)
		require.Empty(t, l)
	}
	// An empty template has no children.
	l, err := tlv.Decode(h("7000"))
	require.NoError(t, err)
	require.Equal(t, tlv.List{{Tag: 0x70, Value: []byte{}}}, l)
}

// Book C-2 kernel data uses tags starting 'FF'; by default 'FF' is padding.
func TestDecoderFFTags(t *testing.T) {
	in := h("FF8105 08 DF8129 00 9F02 01 01")
	l, err := tlv.Decoder{FFTags: true}.Decode(in)
	require.NoError(t, err)
	require.Len(t, l, 1)
	require.Equal(t, tlv.Tag(0xFF8105), l[0].Tag)
	require.Equal(t, tlv.List{{Tag: 0xDF8129, Value: []byte{}}, {Tag: 0x9F02, Value: []byte{1}}}, tlv.List(l[0].Children))

	l, err = tlv.Decode(in)
	require.NoError(t, err)
	_, found := l.Find(0xFF8105)
	require.False(t, found)
	require.Equal(t, tlv.Tag(0x81), l[0].Tag)
}

func TestEncodeLengths(t *testing.T) {
	tests := []struct {
		n      int
		header string
	}{
		{0, "9F4E00"},
		{1, "9F4E01"},
		{127, "9F4E7F"},
		{128, "9F4E8180"},
		{255, "9F4E81FF"},
		{256, "9F4E820100"},
		{65535, "9F4E82FFFF"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			v := bytes.Repeat([]byte{0x41}, tc.n)
			got, err := tlv.Encode(0x9F4E, v)
			require.NoError(t, err)
			require.Equal(t, append(h(tc.header), v...), got)
		})
	}
	_, err := tlv.Encode(0x9F4E, make([]byte, 65536))
	require.ErrorIs(t, err, tlv.ErrLength)
}

func TestEncodeBadTag(t *testing.T) {
	for _, tag := range []tlv.Tag{0, 0x9F, 0x9F82, 0x5A02} {
		_, err := tlv.Encode(tag, []byte{1})
		require.ErrorIs(t, err, tlv.ErrTag, "%v", tag)
	}
	_, err := tlv.EncodeConstructed(0x9F02, tlv.TLV{Tag: 0x5A})
	require.ErrorIs(t, err, tlv.ErrTag)
	_, err = tlv.TLV{Tag: 0x9F02, Children: []tlv.TLV{{Tag: 0x5A}}}.Encode()
	require.ErrorIs(t, err, tlv.ErrTag)
	_, err = tlv.EncodeConstructed(0x70, tlv.TLV{Tag: 0x9F})
	require.ErrorIs(t, err, tlv.ErrTag)
}

// Building the GENERATE AC response of the gen_ac record gives its bytes
// without the padding.
func TestEncodeConstructed(t *testing.T) {
	got, err := tlv.EncodeConstructed(0x77,
		tlv.TLV{Tag: 0x9F27, Value: h("80")},
		tlv.TLV{Tag: 0x9F36, Value: h("001C")},
		tlv.TLV{Tag: 0x9F26, Value: h("3B76CF10FECD8789")},
		tlv.TLV{Tag: 0x9F10, Value: h("0110A00003220000000000000000000000FF")},
	)
	require.NoError(t, err)
	require.Equal(t, bytes.Trim(record("gen_ac"), "\x00"), got)

	empty, err := tlv.EncodeConstructed(0xA5)
	require.NoError(t, err)
	require.Equal(t, h("A500"), empty)

	// A constructed object without children keeps its raw value.
	raw, err := tlv.TLV{Tag: 0x70, Value: h("5A0112")}.Encode()
	require.NoError(t, err)
	require.Equal(t, h("70035A0112"), raw)

	// Nested templates with a long child use the '81' length form.
	long := bytes.Repeat([]byte{0x11}, 130)
	nested, err := tlv.EncodeConstructed(0x6F, tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{{Tag: 0x9F4E, Value: long}}})
	require.NoError(t, err)
	require.Equal(t, append(h("6F8189 A58186 9F4E8182"), long...), nested)
}

// Re-encoding a decoded record gives the record without padding and with
// the shortest lengths; decoding that gives the same objects.
func TestRoundTrip(t *testing.T) {
	for _, r := range records {
		t.Run(r.name, func(t *testing.T) {
			l, err := tlv.Decode(h(r.hex))
			require.NoError(t, err)
			enc, err := l.Encode()
			require.NoError(t, err)
			l2, err := tlv.Decode(enc)
			require.NoError(t, err)
			enc2, err := l2.Encode()
			require.NoError(t, err)
			require.Equal(t, enc, enc2)
			require.Equal(t, shape(l), shape(l2))
		})
	}
	// Padding and non-minimal lengths are dropped.
	l, err := tlv.Decode(h("00 70 07 5A 81 02 1234 0000 FF"))
	require.NoError(t, err)
	enc, err := l.Encode()
	require.NoError(t, err)
	require.Equal(t, h("7004 5A02 1234"), enc)
}

// shape renders tags and primitive values, ignoring the raw value of
// templates (which keeps padding and length forms).
func shape(l tlv.List) string {
	var sb strings.Builder
	for _, t := range l {
		if t.Tag.Constructed() {
			fmt.Fprintf(&sb, "%v{%s}", t.Tag, shape(t.Children))
			continue
		}
		fmt.Fprintf(&sb, "%v=%X;", t.Tag, t.Value)
	}
	return sb.String()
}

func TestFind(t *testing.T) {
	l, err := tlv.Decode(h("6F0A 8401AA A505 5001 41 8700 5001 42"))
	require.NoError(t, err)
	got, ok := l.Find(0x50)
	require.True(t, ok)
	require.Equal(t, []byte("A"), got.Value, "depth first: the nested 50 comes first")
	all := l.FindAll(0x50)
	require.Len(t, all, 2)
	require.Equal(t, []byte("B"), all[1].Value)
	a5, ok := l.Find(0xA5)
	require.True(t, ok)
	require.Len(t, a5.Children, 2)
	_, ok = l.Find(0x9F02)
	require.False(t, ok)
	require.Empty(t, l.FindAll(0x9F02))
}

func TestMap(t *testing.T) {
	l, err := tlv.Decode(h("6F0A 8401AA A505 5001 41 8700 5001 42"))
	require.NoError(t, err)
	m := l.Map()
	require.Equal(t, tlv.Map{0x84: h("AA"), 0x50: []byte("A"), 0x87: {}}, m)
	v, ok := m.Lookup(0x84)
	require.True(t, ok)
	require.Equal(t, h("AA"), v)
	_, ok = m.Lookup(0x6F)
	require.False(t, ok, "templates are not in the map")
	require.Equal(t, []tlv.Tag{0x50, 0x84, 0x87}, m.Tags())
}

// Formatting a TLV, List or Map never shows a PAN or track 2 in clear.
func TestFormattingMasksCardholderData(t *testing.T) {
	l, err := tlv.Decode(record("read_record"))
	require.NoError(t, err)
	m := l.Map()
	for name, v := range map[string]any{"TLV": l[0], "List": l, "Map": m} {
		for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%x", "%q"} {
			out := fmt.Sprintf(verb, v)
			require.NotContains(t, out, "5413330089020011", "%s %s", name, verb)
			require.NotContains(t, out, "CARDHOLDER", "%s %s", name, verb)
			require.NotContains(t, out, "D2512", "%s %s", name, verb)
		}
	}
	require.Contains(t, l.String(), "5A [8] Application Primary Account Number (PAN): 541333******0011 (masked)")
	require.Contains(t, m.String(), "5A=541333******0011 (masked)")
	require.Contains(t, m.String(), "9F42=0901")
}
