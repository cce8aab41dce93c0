package tlv_test

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

// FuzzDecode checks that Decode never panics, reports errors as
// *DecodeError with an offset inside the input, and that what decodes
// re-encodes to bytes that decode to the same objects and encode again to
// the same bytes. Describe must not panic either.
func FuzzDecode(f *testing.F) {
	for _, r := range records {
		f.Add(h(r.hex))
	}
	f.Add(h("70 80 5A01 01 0000"))
	f.Add(h("FF8105 08 DF8129 00 9F02 01 01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, d := range []tlv.Decoder{{}, {FFTags: true}} {
			l, err := d.Decode(b)
			_ = tlv.Printer{Decoder: d}.Fprint(io.Discard, b)
			if err != nil {
				var de *tlv.DecodeError
				require.True(t, errors.As(err, &de))
				require.GreaterOrEqual(t, de.Offset, 0)
				require.LessOrEqual(t, de.Offset, len(b))
				require.Nil(t, l)
				continue
			}
			enc, err := l.Encode()
			require.NoError(t, err)
			require.LessOrEqual(t, len(enc), len(b))
			l2, err := d.Decode(enc)
			require.NoError(t, err)
			require.Equal(t, shape(l), shape(l2))
			enc2, err := l2.Encode()
			require.NoError(t, err)
			require.Equal(t, enc, enc2)
		}
	})
}

// FuzzParseDOL checks that ParseDOL never panics and that what parses
// encodes back to the same bytes, and builds and splits data of its length.
func FuzzParseDOL(f *testing.F) {
	f.Add(h(visaPDOL))
	f.Add(h("9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F34039F21039F7C14"))
	f.Add(h("910A8A0295059F37049F4C08"))
	f.Add(h("9F6A04"))
	f.Add(h("DF8129 08 9F4E 81"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := tlv.ParseDOL(b)
		if err != nil {
			var de *tlv.DecodeError
			require.True(t, errors.As(err, &de))
			require.LessOrEqual(t, de.Offset, len(b))
			return
		}
		enc, err := d.Encode()
		require.NoError(t, err)
		require.Equal(t, b, enc)
		data := tlv.BuildDOL(d, func(tlv.Tag) ([]byte, bool) { return b, true })
		require.Len(t, data, d.DataLen())
		parts, err := d.Split(data)
		require.NoError(t, err)
		require.Len(t, parts, len(d))
	})
}
