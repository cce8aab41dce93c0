package magstripe_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/magstripe"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// layout2: CVC3 in discretionary positions 1-3, UN (5 digits) in the
// lowest PUNATC positions 4-8 and ATC (3) in the highest 9-11, nUN in
// position 0.
var layout2 = magstripe.Layout{PCVC3: 0x000E, PUNATC: 0x0FF0, NATC: 3}

func TestFillAndReadTrack2(t *testing.T) {
	static := h("5413330089010012 D2912201 0000000000000 F")
	tr, err := magstripe.ParseTrack2(static)
	require.NoError(t, err)
	require.Equal(t, static, tr.Bytes(), "parse and code back")

	d := magstripe.Dynamic{CVC3: []byte{0x30, 0x39}, UN: h("00012345"), ATC: 0x0123}
	filled, err := magstripe.Fill(tr, layout2, d)
	require.NoError(t, err)
	// CVC3 0x3039 = 12345: digits 345 in positions 1-3; UN 12345 in 4-8;
	// ATC 291 in 9-11; nUN 5 last.
	require.Equal(t, h("5413330089010012 D2912201 0291123453455 F"), filled.Bytes())

	st, cvc3, un, atc, err := magstripe.Read(filled, layout2)
	require.NoError(t, err)
	require.Equal(t, static, st.Bytes(), "the track as personalised")
	require.Equal(t, uint64(345), cvc3)
	require.Equal(t, magstripe.CVC3Digits(d.CVC3, layout2), cvc3)
	require.Equal(t, h("00012345"), un)
	require.Equal(t, uint64(291), atc)
	require.Equal(t, magstripe.ATCDigits(0x0123, layout2), atc)
}

func TestFillAndReadTrack1(t *testing.T) {
	static := []byte("B5413330089010012^TAPSIM/MC^2912201000000000000000")
	tr, err := magstripe.ParseTrack1(static)
	require.NoError(t, err)
	require.Equal(t, static, tr.Bytes())
	l := magstripe.Layout{PCVC3: 0x0000000E, PUNATC: 0x00003FF0, NATC: 3}
	filled, err := magstripe.Fill(tr, l, magstripe.Dynamic{CVC3: []byte{0x00, 0x07}, UN: h("87654321"), ATC: 7})
	require.NoError(t, err)
	// UN 7654321 in positions 4-10 (the nUN lowest PUNATC ones), ATC 007
	// in 11-13 (the NATC highest).
	require.Equal(t, "B5413330089010012^TAPSIM/MC^2912201000776543210077", string(filled.Bytes()))
	st, cvc3, un, atc, err := magstripe.Read(filled, l)
	require.NoError(t, err)
	require.Equal(t, static, st.Bytes())
	require.Equal(t, uint64(7), cvc3)
	require.Equal(t, h("07654321"), un)
	require.Equal(t, uint64(7), atc)
}

// TestOnDeviceCVMDigit: after a successful on-device CVM the last digit is
// nUN' = (nUN + 5) mod 10 on both tracks; Read accepts it, reads the same
// numbers and OnDeviceCVM reports it; any other last digit is refused.
func TestOnDeviceCVMDigit(t *testing.T) {
	tr2, err := magstripe.ParseTrack2(h("5413330089010012 D2912201 0000000000000 F"))
	require.NoError(t, err)
	d := magstripe.Dynamic{CVC3: []byte{0x30, 0x39}, UN: h("00012345"), ATC: 0x0123, ODCVM: true}
	filled, err := magstripe.Fill(tr2, layout2, d)
	require.NoError(t, err)
	require.Equal(t, 0, layout2.NUNPrime(), "nUN 5: (5 + 5) mod 10")
	require.Equal(t, h("5413330089010012 D2912201 0291123453450 F"), filled.Bytes())
	require.True(t, magstripe.OnDeviceCVM(filled, layout2))
	_, cvc3, un, atc, err := magstripe.Read(filled, layout2)
	require.NoError(t, err)
	require.Equal(t, uint64(345), cvc3)
	require.Equal(t, h("00012345"), un)
	require.Equal(t, uint64(291), atc)

	d.ODCVM = false
	plain, err := magstripe.Fill(tr2, layout2, d)
	require.NoError(t, err)
	require.False(t, magstripe.OnDeviceCVM(plain, layout2))

	bad, err := magstripe.ParseTrack2(h("5413330089010012 D2912201 0291123453453 F"))
	require.NoError(t, err)
	_, _, _, _, err = magstripe.Read(bad, layout2)
	require.ErrorIs(t, err, magstripe.ErrTrack)

	// Track 1: nUN 7, nUN' 2.
	tr1, err := magstripe.ParseTrack1([]byte("B5413330089010012^TAPSIM/MC^2912201000000000000000"))
	require.NoError(t, err)
	l := magstripe.Layout{PCVC3: 0x0000000E, PUNATC: 0x00003FF0, NATC: 3}
	f1, err := magstripe.Fill(tr1, l, magstripe.Dynamic{CVC3: []byte{0x00, 0x07}, UN: h("87654321"), ATC: 7, ODCVM: true})
	require.NoError(t, err)
	require.Equal(t, "B5413330089010012^TAPSIM/MC^2912201000776543210072", string(f1.Bytes()))
	require.True(t, magstripe.OnDeviceCVM(f1, l))
}

func TestLayoutErrors(t *testing.T) {
	tr, err := magstripe.ParseTrack2(h("5413330089010012 D2912201 0000000000000 F"))
	require.NoError(t, err)
	d := magstripe.Dynamic{CVC3: []byte{0, 1}, UN: h("00000001"), ATC: 1}
	for _, tc := range []struct {
		name string
		l    magstripe.Layout
	}{
		{"nUN's digit", magstripe.Layout{PCVC3: 0x0001, PUNATC: 0x0FF0, NATC: 3}},
		{"overlap", magstripe.Layout{PCVC3: 0x0030, PUNATC: 0x0FF0, NATC: 3}},
		{"beyond the data", magstripe.Layout{PCVC3: 0x000E, PUNATC: 0xFF00, NATC: 3}},
		{"more ATC digits than positions", magstripe.Layout{PCVC3: 0x000E, PUNATC: 0x0030, NATC: 3}},
		{"more than 8 UN digits", magstripe.Layout{PCVC3: 0x000E, PUNATC: 0x1FF0, NATC: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := magstripe.Fill(tr, tc.l, d)
			require.ErrorIs(t, err, magstripe.ErrTrack)
		})
	}
	filled, err := magstripe.Fill(tr, layout2, d)
	require.NoError(t, err)
	_, _, _, _, err = magstripe.Read(filled, magstripe.Layout{PCVC3: 0x000E, PUNATC: 0x0FF0, NATC: 4})
	require.ErrorIs(t, err, magstripe.ErrTrack, "nUN disagrees with the layout")
}

func TestParseErrors(t *testing.T) {
	for _, b := range [][]byte{nil, h("5413"), h("5413330089010012 D2912F"), h("5413330089010012 D2912201 0A0F")} {
		_, err := magstripe.ParseTrack2(b)
		require.ErrorIs(t, err, magstripe.ErrTrack, "%X", b)
	}
	for _, s := range []string{"", "A123", "B5413330089010012^NAME", "B5413330089010012^N^2912201X"} {
		_, err := magstripe.ParseTrack1([]byte(s))
		require.ErrorIs(t, err, magstripe.ErrTrack, s)
	}
}

// FuzzParse: track data from a card or a network never crash the parsers,
// and what parses codes back and fills without panicking.
func FuzzParse(f *testing.F) {
	f.Add(h("5413330089010012D29122010000000000000F"), false)
	f.Add([]byte("B5413330089010012^TAPSIM/MC^2912201000000000000000"), true)
	f.Add([]byte{0xD0}, false)
	f.Add([]byte("B^^"), true)
	f.Fuzz(func(t *testing.T, b []byte, one bool) {
		var (
			tr  *magstripe.Track
			err error
		)
		if one {
			tr, err = magstripe.ParseTrack1(b)
		} else {
			tr, err = magstripe.ParseTrack2(b)
		}
		if err != nil {
			return
		}
		_ = tr.Bytes()
		if f, err := magstripe.Fill(tr, layout2, magstripe.Dynamic{CVC3: []byte{1, 2}, UN: []byte{0, 0, 0, 1}, ATC: 1}); err == nil {
			_, _, _, _, _ = magstripe.Read(f, layout2)
		}
	})
}
