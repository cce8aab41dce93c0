package apdu_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The seven cases of ISO/IEC 7816-3 12.1.3, coded and parsed back.
func TestCommandCases(t *testing.T) {
	data300 := bytes.Repeat([]byte{0x5A}, 300)
	tests := []struct {
		name string
		cmd  apdu.Command
		enc  []byte
	}{
		{"case 1", apdu.Command{CLA: 0x00, INS: 0x82, P1: 0x01, P2: 0x02, Le: apdu.NoLe}, h("00820102")},
		{"case 2S", apdu.Command{CLA: 0x00, INS: 0xC0, Le: 16}, h("00C00000 10")},
		{"case 2S Le 256", apdu.Command{CLA: 0x00, INS: 0xB2, P1: 1, P2: 0x0C, Le: 256}, h("00B2010C 00")},
		{"case 3S", apdu.Command{CLA: 0x00, INS: 0x20, P2: 0x80, Data: h("241234FFFFFFFFFF"), Le: apdu.NoLe}, h("00200080 08 241234FFFFFFFFFF")},
		{"case 4S", apdu.Command{CLA: 0x80, INS: 0xA8, Data: h("8300"), Le: 256}, h("80A80000 02 8300 00")},
		{"case 4S Le 255, Lc 255", apdu.Command{CLA: 0x80, INS: 0xAE, Data: data300[:255], Le: 255}, append(append(h("80AE0000 FF"), data300[:255]...), 0xFF)},
		{"case 2E", apdu.Command{CLA: 0x00, INS: 0xB0, Le: 65536}, h("00B00000 000000")},
		{"case 2E Le 257", apdu.Command{CLA: 0x00, INS: 0xB0, Le: 257}, h("00B00000 000101")},
		{"case 3E", apdu.Command{CLA: 0x00, INS: 0xD6, Data: data300, Le: apdu.NoLe}, append(h("00D60000 00012C"), data300...)},
		{"case 4E", apdu.Command{CLA: 0x80, INS: 0xAE, Data: data300, Le: 256}, append(append(h("80AE0000 00012C"), data300...), 0x01, 0x00)},
		{"case 4E Le 65536", apdu.Command{CLA: 0x80, INS: 0xAE, Data: h("01"), Le: 65536}, h("80AE0000 000001 01 0000")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Bytes()
			require.NoError(t, err)
			require.Equal(t, tc.enc, got)
			back, err := apdu.ParseCommand(got)
			require.NoError(t, err)
			require.Equal(t, tc.cmd, back)
		})
	}
}

// Le 0 is coded as the maximum, and parses back as 256.
func TestCommandLeZero(t *testing.T) {
	got, err := apdu.Command{CLA: 0x00, INS: 0x84, Le: 0}.Bytes()
	require.NoError(t, err)
	require.Equal(t, h("00840000 00"), got)
	c, err := apdu.ParseCommand(got)
	require.NoError(t, err)
	require.Equal(t, 256, c.Le)
}

func TestCommandBytesErrors(t *testing.T) {
	_, err := apdu.Command{Data: make([]byte, 65536), Le: apdu.NoLe}.Bytes()
	require.ErrorIs(t, err, apdu.ErrDataTooLong)
	_, err = apdu.Command{Le: -2}.Bytes()
	require.ErrorIs(t, err, apdu.ErrLe)
	_, err = apdu.Command{Le: 65537}.Bytes()
	require.ErrorIs(t, err, apdu.ErrLe)
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"empty", "", apdu.ErrCommandTooShort},
		{"three bytes", "00A404", apdu.ErrCommandTooShort},
		{"Lc larger than data", "00A40400 07 A00000000410", apdu.ErrLcMismatch},
		{"Lc smaller than data", "00A40400 02 A0000000041010", apdu.ErrLcMismatch},
		{"Lc with two bytes too many", "00A40400 01 A0 00 00", apdu.ErrLcMismatch},
		{"extended marker only", "00A40400 00 01", apdu.ErrLcMismatch},
		{"extended Lc 0", "00A40400 000000 01", apdu.ErrLcMismatch},
		{"extended Lc larger than data", "00A40400 000003 0102", apdu.ErrLcMismatch},
		{"extended Lc with one byte Le", "00A40400 000002 0102 00", apdu.ErrLcMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apdu.ParseCommand(h(tc.in))
			require.ErrorIs(t, err, tc.err)
			require.True(t, strings.HasPrefix(err.Error(), "apdu: "))
		})
	}
}

func TestParseCommandCopies(t *testing.T) {
	in := h("00A40400 07 A0000000041010 00")
	c, err := apdu.ParseCommand(in)
	require.NoError(t, err)
	in[5] = 0xFF
	require.Equal(t, h("A0000000041010"), c.Data)
}

func TestResponse(t *testing.T) {
	r, err := apdu.ParseResponse(h("6F07 8405 A000000004 9000"))
	require.NoError(t, err)
	require.Equal(t, h("6F078405A000000004"), r.Data)
	require.Equal(t, apdu.SW9000, r.SW)
	require.True(t, r.OK())
	require.NoError(t, r.Err())
	require.Equal(t, h("6F078405A0000000049000"), r.Bytes())

	r, err = apdu.ParseResponse(h("6A82"))
	require.NoError(t, err)
	require.Empty(t, r.Data)
	require.Equal(t, byte(0x6A), r.SW1())
	require.Equal(t, byte(0x82), r.SW2())
	require.False(t, r.OK())
	var se *apdu.StatusError
	require.ErrorAs(t, r.Err(), &se)
	require.Equal(t, apdu.SW6A82, se.SW)
	require.Equal(t, "apdu: status 6A82: file or application not found", r.Err().Error())

	for _, in := range []string{"", "90"} {
		_, err = apdu.ParseResponse(h(in))
		require.ErrorIs(t, err, apdu.ErrResponseTooShort)
	}
}

// Neither String nor %#v shows command or response data.
func TestStringHidesData(t *testing.T) {
	c := apdu.Verify(apdu.VerifyPlaintextPIN, h("241234FFFFFFFFFF"))
	r := apdu.Response{Data: h("5A085413330089020011"), SW: 0x9000}
	for _, verb := range []string{"%v", "%s", "%#v", "%+v"} {
		require.NotContains(t, fmt.Sprintf(verb, c), "1234", verb)
		require.NotContains(t, strings.ToUpper(fmt.Sprintf(verb, r)), "5413330089020011", verb)
	}
	require.Equal(t, "00200080 Lc=8", c.String())
	require.Equal(t, "00A40400 Lc=14 Le=256", apdu.SelectPPSE().String())
	require.Equal(t, "9000: normal processing, 10 data bytes", r.String())
}
