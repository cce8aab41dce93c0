package tlv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

func TestCheck(t *testing.T) {
	for _, r := range records {
		_, err := tlv.Decode(h(r.hex))
		require.Equal(t, err, tlv.Check(h(r.hex)), r.hex)
	}
	require.NoError(t, tlv.Check(nil))
	require.ErrorIs(t, tlv.Check(h("9F26 09 0102")), tlv.ErrTruncated)
}

// FuzzCheck checks that Check gives Decode's error, or none, on any input
// and with every decoder option.
func FuzzCheck(f *testing.F) {
	for _, r := range records {
		f.Add(h(r.hex), uint8(0))
	}
	f.Add(h("70 80 5A01 01 0000"), uint8(1))
	f.Add(h("FF8105 08 DF8129 00 9F02 01 01"), uint8(2))
	f.Add(h("70 06 70 04 70 02 70 00"), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, opts uint8) {
		d := tlv.Decoder{FFTags: opts&1 != 0, MaxDepth: int(opts >> 1 & 7)}
		_, want := d.Decode(b)
		require.Equal(t, want, d.Check(b))
	})
}
