package apdu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
)

func TestDescribeSW(t *testing.T) {
	tests := []struct {
		sw   uint16
		want string
	}{
		{apdu.SW9000, "9000: normal processing"},
		{apdu.SW6283, "6283: warning: selected file invalidated"},
		{apdu.SW6300, "6300: warning: verification failed"},
		{0x63C2, "63C2: verification failed, 2 tries left"},
		{apdu.SW63C0, "63C0: verification failed, 0 tries left"},
		{apdu.SW6700, "6700: wrong length"},
		{apdu.SW6982, "6982: security status not satisfied"},
		{apdu.SW6983, "6983: authentication method blocked"},
		{apdu.SW6984, "6984: reference data not usable"},
		{apdu.SW6985, "6985: conditions of use not satisfied"},
		{apdu.SW6986, "6986: command not allowed (no current EF)"},
		{apdu.SW6A80, "6A80: incorrect parameters in the data field"},
		{apdu.SW6A81, "6A81: function not supported"},
		{apdu.SW6A82, "6A82: file or application not found"},
		{apdu.SW6A83, "6A83: record not found"},
		{apdu.SW6A86, "6A86: incorrect parameters P1-P2"},
		{apdu.SW6A88, "6A88: referenced data not found"},
		{apdu.SW6B00, "6B00: wrong parameters P1-P2"},
		{0x6C10, "6C10: wrong Le: 16 bytes available"},
		{apdu.SW6C00, "6C00: wrong Le: 256 bytes available"},
		{apdu.SW6D00, "6D00: instruction code not supported or invalid"},
		{apdu.SW6E00, "6E00: class not supported"},
		{apdu.SW6F00, "6F00: no precise diagnosis"},
		{0x6110, "6110: 16 more bytes available"},
		{apdu.SW6100, "6100: 256 more bytes available"},
		{0x6285, "6285: warning: state of non-volatile memory unchanged"},
		{0x6381, "6381: warning: state of non-volatile memory changed"},
		{0x6999, "6999: command not allowed"},
		{0x6A87, "6A87: wrong parameters"},
		{0x9001, "9001: unknown status"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, apdu.Describe(tc.sw))
		})
	}
	require.Equal(t, "file or application not found", apdu.SWName(0x6A82))
}
