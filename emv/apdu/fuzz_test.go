package apdu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
)

// FuzzParseCommand checks that ParseCommand never panics and that a parsed
// command codes to bytes that parse to the same command. Short APDUs code
// back to the very same bytes; extended ones whose Lc and Le fit short
// coding come back short.
func FuzzParseCommand(f *testing.F) {
	for _, c := range []apdu.Command{
		apdu.SelectPPSE(), apdu.Select(h("A0000000031010"), true), apdu.GPO(h("36004000000000030000")),
		apdu.ReadRecord(2, 1), apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, h("000000030000000000000000")),
		apdu.GetData(0x9F36), apdu.GetResponse(16), apdu.ExternalAuthenticate(h("11223344556677883030")),
		apdu.Verify(apdu.VerifyPlaintextPIN, h("241234FFFFFFFFFF")), apdu.ComputeCryptographicChecksum(h("00001234")),
		{CLA: 0x00, INS: 0xB0, Le: 65536},
		{CLA: 0x80, INS: 0xAE, Data: make([]byte, 300), Le: 256},
	} {
		b, err := c.Bytes()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(h("00A40400 07 A00000000410"))
	f.Add(h("00A40400 000003 0102"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := apdu.ParseCommand(b)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, c.Le, apdu.NoLe)
		require.LessOrEqual(t, c.Le, apdu.MaxExtendedLe)
		enc, err := c.Bytes()
		require.NoError(t, err)
		again, err := apdu.ParseCommand(enc)
		require.NoError(t, err)
		require.Equal(t, c, again)
		if len(b) <= 4 || b[4] != 0 || len(b) == 5 {
			require.Equal(t, b, enc, "short APDUs code back to the same bytes")
		}
	})
}
