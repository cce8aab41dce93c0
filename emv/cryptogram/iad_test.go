package cryptogram_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
)

func TestParseIAD(t *testing.T) {
	tests := []struct {
		name     string
		scheme   cryptogram.Scheme
		iad      string
		format   byte
		dki, cvn byte
		cvr      string
		dac      string
		counters string
	}{
		{"Visa format 0/1/3, CVN 10", cryptogram.SchemeVisa, "06010A03A06010", 0, 0x01, 0x0A, "03A06010", "", ""},
		{"Visa format 0/1/3 with IDD", cryptogram.SchemeVisa, "06011203A0B800 0F 0400000000000000000000000000", 0, 0x01, 0x12, "03A0B800", "", ""},
		{"Visa format 2, CVN 22", cryptogram.SchemeVisa, "1F 22 02 A000000000" + strings.Repeat("00", 24), 2, 0x02, 0x22, "A000000000", "", ""},
		{"Visa format 4, CVN 43", cryptogram.SchemeVisa, "1F 43 01 0000000000" + strings.Repeat("11", 24), 2, 0x01, 0x43, "0000000000", "", ""},
		{"Mastercard without counters", cryptogram.SchemeMastercard, "01 10 A04000000000 1234", 0, 0x01, 0x10, "A04000000000", "1234", ""},
		{"Mastercard with counters", cryptogram.SchemeMastercard, "02 11 A04000000000 1234 0102030405060708", 0, 0x02, 0x11, "A04000000000", "1234", "0102030405060708"},
		{"CCD 16 bytes", cryptogram.SchemeCCD, "0F A6 01 A000000000 0000000000000001", 'A', 0x01, 0xA6, "A000000000", "", "0000000000000001"},
		{"CCD 32 bytes", cryptogram.SchemeCCD, "0F A6 01 A000000000 0000000000000001 0F" + strings.Repeat("EE", 15), 'A', 0x01, 0xA6, "A000000000", "", "0000000000000001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := h(tc.iad)
			p, err := cryptogram.ParseIAD(tc.scheme, raw)
			require.NoError(t, err)
			require.Equal(t, tc.scheme, p.Scheme)
			require.Equal(t, tc.format, p.Format)
			require.Equal(t, tc.dki, p.DKI)
			require.Equal(t, tc.cvn, p.CVN)
			require.Equal(t, tc.cvr, hx(p.CVR))
			require.Equal(t, tc.dac, hx(p.DAC))
			require.Equal(t, tc.counters, hx(p.Counters))
			require.Equal(t, raw, p.Raw)
		})
	}
}

func TestParseIADErrors(t *testing.T) {
	tests := []struct {
		name   string
		scheme cryptogram.Scheme
		iad    string
	}{
		{"Visa empty", cryptogram.SchemeVisa, ""},
		{"Visa format 0/1/3 short", cryptogram.SchemeVisa, "06010A03A060"},
		{"Visa CVR length byte not 03", cryptogram.SchemeVisa, "06010A04A06010"},
		{"Visa format 2 short", cryptogram.SchemeVisa, "1F2202A000000000"},
		{"Visa unknown format", cryptogram.SchemeVisa, "07010A03A06010"},
		{"Mastercard short", cryptogram.SchemeMastercard, "0110A0400000000012"},
		{"CCD short", cryptogram.SchemeCCD, "0FA601A000000000" + "00000000000000"},
		{"CCD wrong first byte", cryptogram.SchemeCCD, "0EA601A000000000" + "0000000000000001"},
		{"CCD bad discretionary part", cryptogram.SchemeCCD, "0FA601A000000000" + "0000000000000001" + "0E01"},
		{"too long", cryptogram.SchemeMastercard, strings.Repeat("01", 33)},
		{"unknown scheme", cryptogram.Scheme(0), "06010A03A06010"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cryptogram.ParseIAD(tc.scheme, h(tc.iad))
			require.ErrorIs(t, err, cryptogram.ErrIAD)
		})
	}
}

func TestParseScheme(t *testing.T) {
	for _, s := range []cryptogram.Scheme{cryptogram.SchemeVisa, cryptogram.SchemeMastercard, cryptogram.SchemeCCD} {
		got, err := cryptogram.ParseScheme(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	got, err := cryptogram.ParseScheme("MC")
	require.NoError(t, err)
	require.Equal(t, cryptogram.SchemeMastercard, got)
	_, err = cryptogram.ParseScheme("amex")
	require.ErrorIs(t, err, cryptogram.ErrIAD)
}

func TestDetectCVN(t *testing.T) {
	tests := []struct {
		iad  string
		want string
	}{
		{"06010A03A06010", "visa10"},
		{"06011203A0B800", "visa18"},
		{"1F2201A000000000" + strings.Repeat("00", 24), "visa22"},
		{"0110A04000000000 1234 0000000000000000", "mc16"},
		{"0111A04000000000 1234 0000000000000000", "mc17"},
		{"0114A04000000000 1234", "mc20"},
		{"0115A04000000000 1234 0000000000000000", "mc21"},
		{"0FA601A000000000 0000000000000000 0F" + strings.Repeat("00", 15), "aes"},
		// A Visa IAD whose DKI happens to be a Mastercard CVN is still Visa.
		{"06100A03A06010", "visa10"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			c, err := cryptogram.DetectCVN(h(tc.iad))
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Name)
		})
	}
	for _, bad := range []string{"", "06010C03A06010", "0112A040000000001234", "FF"} {
		_, err := cryptogram.DetectCVN(h(bad))
		require.Error(t, err, bad)
	}
}
