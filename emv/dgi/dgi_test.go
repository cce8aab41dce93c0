package dgi_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/keys"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEncodeParse(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	tests := []struct {
		name string
		ds   []dgi.DGI
		want []byte
	}{
		{"short", []dgi.DGI{{Tag: 0x0101, Data: h("7003570100")}}, h("0101057003570100")},
		{"empty", []dgi.DGI{{Tag: 0x9000, Data: nil}}, h("900000")},
		{"254", []dgi.DGI{{Tag: 0x0201, Data: bytes.Repeat([]byte{1}, 254)}}, append(h("0201FE"), bytes.Repeat([]byte{1}, 254)...)},
		{"long", []dgi.DGI{{Tag: 0x8201, Data: long}}, append(h("8201FF012C"), long...)},
		{"two", []dgi.DGI{{Tag: 0xA001, Data: h("01")}, {Tag: 0xA002, Data: h("0203")}}, h("A0010101A002020203")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := dgi.Encode(tc.ds...)
			require.NoError(t, err)
			require.Equal(t, tc.want, b)
			got, err := dgi.Parse(b)
			require.NoError(t, err)
			require.Len(t, got, len(tc.ds))
			for i := range got {
				require.Equal(t, tc.ds[i].Tag, got[i].Tag)
				require.Equal(t, len(tc.ds[i].Data), len(got[i].Data))
			}
		})
	}
	_, err := dgi.Encode(dgi.DGI{Tag: 1, Data: make([]byte, 0x10000)})
	require.ErrorIs(t, err, dgi.ErrTooLong)
}

func TestSplitAndMalformed(t *testing.T) {
	b := h("0101037001AA0201FF0005")
	ds, rest := dgi.Split(b)
	require.Len(t, ds, 1)
	require.Equal(t, h("0201FF0005"), rest)
	for _, bad := range []string{"01", "0101", "010105AA", "0101FF00", "0101FF0002AA"} {
		_, err := dgi.Parse(h(bad))
		require.ErrorIs(t, err, dgi.ErrMalformed, bad)
	}
}

func TestCipher(t *testing.T) {
	dek := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	other := keys.MustHex(keys.AES, "505152535455565758595A5B5C5D5E5F")
	for _, n := range []int{0, 1, 15, 16, 17, 64} {
		data := bytes.Repeat([]byte{0x5A}, n)
		enc, err := dgi.Encipher(dek, data)
		require.NoError(t, err)
		require.Zero(t, len(enc)%16)
		got, err := dgi.Decipher(dek, enc)
		require.NoError(t, err)
		require.Equal(t, len(data), len(got))
		if n > 0 {
			require.Equal(t, data, got)
		}
		if _, err := dgi.Decipher(other, enc); err == nil {
			// A wrong key may leave valid-looking padding by chance; it
			// must never give back the data.
			got2, _ := dgi.Decipher(other, enc)
			require.NotEqual(t, data, got2)
		}
	}
	_, err := dgi.Decipher(dek, h("0102"))
	require.ErrorIs(t, err, dgi.ErrCipher)
	_, err = dgi.Encipher(keys.MustHex(keys.TDES, "404142434445464748494A4B4C4D4E4F"), nil)
	require.ErrorIs(t, err, dgi.ErrCipher)
}

func TestModel(t *testing.T) {
	require.Equal(t, uint16(0x0201), dgi.Record(2, 1))
	sfi, rec, ok := dgi.IsRecord(0x0304)
	require.True(t, ok)
	require.Equal(t, [2]byte{3, 4}, [2]byte{sfi, rec})
	_, _, ok = dgi.IsRecord(dgi.FCI)
	require.False(t, ok)
	require.True(t, dgi.Sensitive(dgi.KeysDES))
	require.True(t, dgi.Sensitive(dgi.ICCCRTP))
	require.False(t, dgi.Sensitive(dgi.KeyCheckValues))
	require.False(t, dgi.Sensitive(dgi.AppParams))
	require.Equal(t, "DGI 8000 (16 bytes)", dgi.DGI{Tag: 0x8000, Data: make([]byte, 16)}.String())
	require.Equal(t, "0101 8000", dgi.Names([]dgi.DGI{{Tag: 0x0101}, {Tag: 0x8000}}))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0101037001AA", "8201FF0002AABB", "", "01", "0101FF"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := dgi.Parse(b)
		if err != nil {
			return
		}
		out, err := dgi.Encode(ds...)
		require.NoError(t, err)
		again, err := dgi.Parse(out)
		require.NoError(t, err)
		require.Equal(t, len(ds), len(again))
	})
}
