package apdu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
)

// Each builder gives the bytes EMV Book 3 section 6.5 (and Book C-2) lays out.
func TestBuilders(t *testing.T) {
	pdolData := h("36004000 000000030000 000000000000 0158 0000000000 0901 251124 00 1A2B3C4D")
	tests := []struct {
		name string
		cmd  apdu.Command
		want string
	}{
		{"SELECT PPSE", apdu.SelectPPSE(), "00A40400 0E 325041592E5359532E4444463031 00"},
		{"SELECT PSE", apdu.SelectPSE(), "00A40400 0E 315041592E5359532E4444463031 00"},
		{"SELECT AID", apdu.Select(h("A0000000041010"), true), "00A40400 07 A0000000041010 00"},
		{"SELECT next", apdu.Select(h("A000000004"), false), "00A40402 05 A000000004 00"},
		{"GPO without PDOL", apdu.GPO(nil), "80A80000 02 8300 00"},
		{"GPO with PDOL data", apdu.GPO(pdolData), "80A80000 23 8321 36004000000000030000000000000000015800000000000901251124001A2B3C4D 00"},
		{"READ RECORD SFI 1 rec 1", apdu.ReadRecord(1, 1), "00B2010C 00"},
		{"READ RECORD SFI 2 rec 3", apdu.ReadRecord(2, 3), "00B20314 00"},
		{"READ RECORD SFI 30", apdu.ReadRecord(30, 1), "00B201F4 00"},
		{"GENERATE AC ARQC", apdu.GenerateAC(apdu.ARQC, h("000000030000")), "80AE8000 06 000000030000 00"},
		{"GENERATE AC TC with CDA", apdu.GenerateAC(apdu.TC|apdu.CDARequest, h("01")), "80AE5000 01 01 00"},
		{"GENERATE AC AAC", apdu.GenerateAC(apdu.AAC, h("01")), "80AE0000 01 01 00"},
		{"GET DATA ATC", apdu.GetData(0x9F36), "80CA9F36 00"},
		{"GET DATA PIN try counter", apdu.GetData(0x9F17), "80CA9F17 00"},
		{"GET RESPONSE", apdu.GetResponse(0x1A), "00C00000 1A"},
		{"EXTERNAL AUTHENTICATE", apdu.ExternalAuthenticate(h("1122334455667788 3030")), "00820000 0A 11223344556677883030"},
		{"INTERNAL AUTHENTICATE", apdu.InternalAuthenticate(h("1A2B3C4D")), "00880000 04 1A2B3C4D 00"},
		{"GET CHALLENGE", apdu.GetChallenge(), "00840000 00"},
		{"VERIFY plaintext", apdu.Verify(apdu.VerifyPlaintextPIN, h("241234FFFFFFFFFF")), "00200080 08 241234FFFFFFFFFF"},
		{"COMPUTE CRYPTOGRAPHIC CHECKSUM", apdu.ComputeCryptographicChecksum(h("00001234")), "802A8E80 04 00001234 00"},
		{"EXCHANGE RELAY RESISTANCE DATA", apdu.ExchangeRelayResistanceData([4]byte{1, 2, 3, 4}), "80EA0000 04 01020304 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Bytes()
			require.NoError(t, err)
			require.Equal(t, h(tc.want), got)
		})
	}
}

// The Command Template '83' uses the BER length forms for long PDOL data.
func TestGPOLongPDOLData(t *testing.T) {
	c := apdu.GPO(make([]byte, 200))
	require.Equal(t, h("8381C8"), c.Data[:3])
	require.Len(t, c.Data, 203)
	c = apdu.GPO(make([]byte, 300))
	require.Equal(t, h("8382012C"), c.Data[:4])
	b, err := c.Bytes()
	require.NoError(t, err)
	require.Equal(t, h("80A80000 000130"), b[:7], "extended length above 255 bytes")
}
