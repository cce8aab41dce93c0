package receipt

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sample() Data {
	return Data{
		Merchant:       "TAPSIM STORE TAIPEI TW",
		MerchantID:     "000000000000001",
		TerminalID:     "T0000001",
		Time:           time.Date(2026, 11, 24, 21, 20, 10, 0, time.UTC),
		Amount:         350000,
		Currency:       901,
		Exponent:       2,
		PAN:            "4761739001010010",
		Label:          "VISA CREDIT",
		AID:            []byte{0xA0, 0, 0, 0, 0x03, 0x10, 0x10},
		CryptogramType: "ARQC",
		Cryptogram:     []byte{0x8B, 0x78, 0xFE, 0x9E, 0xE4, 0x4D, 0xF6, 0x4A},
		ATC:            []byte{0x00, 0x01},
		TVR:            make([]byte, 5),
		STAN:           "000001",
		RRN:            "633021000001",
		AuthCode:       "A1B2C3",
		Approved:       true,
		ResponseCode:   "00",
	}
}

func TestCVMLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cvm      CVM
		approved bool
		want     []string
		absent   []string
	}{
		{"no cvm", CVMNone, true, []string{LineNoSignature}, []string{LinePIN, LineDevice, "X___"}},
		{"cdcvm", CVMDevice, true, []string{LineDevice}, []string{LineNoSignature, LinePIN, "X___"}},
		{"online pin", CVMPIN, true, []string{LinePIN}, []string{LineNoSignature, LineDevice, "X___"}},
		{"signature", CVMSignature, true, []string{LineSignature, "CARDHOLDER SIGNATURE"}, []string{LineNoSignature, LineDevice, LinePIN}},
		{"declined pin", CVMPIN, false, []string{"DECLINED"}, []string{LinePIN, LineNoSignature}},
		{"declined signature", CVMSignature, false, []string{"DECLINED"}, []string{"X___"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sample()
			d.CVM = tc.cvm
			d.Approved = tc.approved
			if !tc.approved {
				d.ResponseCode = "55"
				d.ResponseText = "Incorrect PIN"
				d.AuthCode = ""
			}
			out := Render(d)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			for _, a := range tc.absent {
				require.NotContains(t, out, a)
			}
		})
	}
}

func TestMasking(t *testing.T) {
	out := Render(sample())
	require.NotContains(t, out, "4761739001010010")
	require.Contains(t, out, "476173******0010")
	require.NotContains(t, out, "8B78FE9EE44DF64A")
	require.Contains(t, out, "************F64A")
	require.Contains(t, out, "ARQC")
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		require.LessOrEqual(t, len(l), Width, l)
	}
}

func TestRenderLayout(t *testing.T) {
	d := sample()
	d.CVM = CVMPIN
	want := `         TAPSIM STORE TAIPEI TW
MID 000000000000001         TID T0000001
2026-11-24                      21:20:10
----------------------------------------
SALE                         CONTACTLESS
VISA CREDIT
476173******0010
AID                       A0000000031010
ARQC                    ************F64A
ATC                                 0001
TVR                           0000000000
STAN                              000001
RRN                         633021000001
AUTH CODE                         A1B2C3
----------------------------------------
AMOUNT                      TWD 3,500.00
----------------------------------------
APPROVED                              00
              PIN VERIFIED

             CUSTOMER COPY
`
	require.Equal(t, want, Render(d))
}

func TestReversedAndRefund(t *testing.T) {
	d := sample()
	d.Approved = false
	d.ResponseCode = "91"
	d.ResponseText = "Issuer or switch inoperative"
	d.AuthCode = ""
	d.Notes = []string{"No answer from host: reversed"}
	out := Render(d)
	require.Contains(t, out, "NO ANSWER FROM HOST: REVERSED")
	require.Contains(t, out, "DECLINED")

	r := sample()
	r.Kind = Refund
	r.Copy = MerchantCopy
	r.CryptogramType = CryptogramType(0x00)
	out = Render(r)
	require.Contains(t, out, "REFUND")
	require.Contains(t, out, "-TWD 3,500.00")
	require.Contains(t, out, "AAC")
	require.Contains(t, out, "MERCHANT COPY")

	v := sample()
	v.Kind = Void
	require.Contains(t, Render(v), "VOID")
}

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		v        int64
		cur, exp int
		want     string
	}{
		{350000, 901, 2, "TWD 3,500.00"},
		{5, 901, 2, "TWD 0.05"},
		{0, 840, 2, "USD 0.00"},
		{123456789, 392, 0, "JPY 123,456,789"},
		{-1999, 978, 2, "EUR -19.99"},
		{100, 36, 2, "AUD 1.00"},
		{100, 999, 2, "999 1.00"},
		{100000000, 826, 2, "GBP 1,000,000.00"},
	} {
		require.Equal(t, tc.want, FormatAmount(tc.v, tc.cur, tc.exp))
	}
}

func TestCryptogramType(t *testing.T) {
	require.Equal(t, "AAC", CryptogramType(0x00))
	require.Equal(t, "TC", CryptogramType(0x40))
	require.Equal(t, "ARQC", CryptogramType(0x80))
	require.Equal(t, "AC", CryptogramType(0xC0))
	require.Equal(t, "****", MaskCryptogram([]byte{1, 2}))
	require.Equal(t, "", MaskCryptogram(nil))
}

func TestLongFieldsWrap(t *testing.T) {
	d := sample()
	d.Merchant = strings.Repeat("M", 60)
	d.RRN = strings.Repeat("9", 38)
	out := Render(d)
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		require.LessOrEqual(t, len(l), Width, l)
	}
	require.Contains(t, out, strings.Repeat("9", 38))
}
