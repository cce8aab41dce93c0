package isospec_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

// noLines removes the line breaks of MaskedHex so values split across two
// lines are found too.
func noLines(s string) string { return strings.ReplaceAll(s, "\n", "") }

func asciiHex(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }

// The raw frame shows every byte as sent except cardholder data and keys:
// the PAN, track 2, expiry, PIN block, DE55's PAN and track 2 and a key
// change's key never appear; cryptograms do.
func TestMaskedHex(t *testing.T) {
	f0100 := packedWithMAC(t, sample0100(t))
	key, err := isospec.Pack(encode(t, sample0800KeyChange(t)))
	require.NoError(t, err)
	tests := []struct {
		name          string
		frame         []byte
		want, notWant []string
	}{
		{"0100", f0100,
			[]string{asciiHex("0100"), sampleARQC, sampleIAD, "****"},
			[]string{asciiHex(samplePAN), asciiHex(samplePAN[:12]), asciiHex(sampleTrack2[17:]), samplePINBlock, samplePAN, asciiHex(sampleExpiry + "5814")}},
		{"0800 key change", key, []string{asciiHex("0800")}, []string{sampleKeyUKEK, asciiHex(sampleKeyUKEK)}},
		{"truncated", f0100[:len(f0100)-30], []string{asciiHex("0100")}, []string{samplePINBlock}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := isospec.MaskedHex(tc.frame)
			flat := noLines(got)
			require.Len(t, flat, 2*len(tc.frame))
			for _, w := range tc.want {
				require.Contains(t, flat, w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, flat, w)
			}
			for _, line := range strings.Split(got, "\n") {
				require.LessOrEqual(t, len(line), 64)
			}
		})
	}
}

// FuzzMaskedHex: any frame gives two characters a byte, never panics.
func FuzzMaskedHex(f *testing.F) {
	for _, b := range seedFrames(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		require.Len(t, noLines(isospec.MaskedHex(b)), 2*len(b))
	})
}
