package authz_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
)

func hexb(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'A') + 10
			}
		}
		b[i] = v
	}
	return b
}

func TestDeviceFromIAD(t *testing.T) {
	tests := []struct {
		name   string
		scheme cryptogram.Scheme
		iad    string
		want   string
	}{
		{"visa format 0 with binding", cryptogram.SchemeVisa,
			"06011203A00000" + "0F" + "D13520990017614823" + "000000000000", "3520990017614823"},
		{"visa format 0 without IDD", cryptogram.SchemeVisa, "06011203A00000", ""},
		{"visa format 0, IDD without binding", cryptogram.SchemeVisa, "06011203A00000" + "0F" + strings.Repeat("00", 15), ""},
		{"visa format 0, IDD cut short", cryptogram.SchemeVisa, "06011203A00000" + "0F" + "D1352099", ""},
		{"visa format 2 with binding", cryptogram.SchemeVisa,
			"1F220120000000" + "00" + "D10102030405060708" + strings.Repeat("00", 15), "0102030405060708"},
		{"mastercard with binding", cryptogram.SchemeMastercard,
			"0115" + "200000000001" + "0000" + "0000000000000000" + "D13520990017614831", "3520990017614831"},
		{"mastercard without binding", cryptogram.SchemeMastercard, "0115" + "200000000001" + "0000" + "0000000000000000", ""},
		{"ccd with binding", cryptogram.SchemeCCD,
			"0FA601" + "2000000000" + "0000000000000000" + "0F" + "D1AABBCCDDEEFF0011" + "000000000000", "AABBCCDDEEFF0011"},
		{"empty", cryptogram.SchemeVisa, "", ""},
		{"unknown scheme", cryptogram.Scheme(9), "D10102030405060708", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, authz.DeviceFromIAD(hexb(t, tc.iad), tc.scheme))
		})
	}
}

func TestNormaliseDeviceID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"3520990017614823", "3520990017614823", true},
		{"35209900176148", "3520990017614800", true},
		{"abcdef", "ABCDEF0000000000", true},
		{"", "", false},
		{"123", "", false},
		{"zz", "", false},
		{"000102030405060708", "", false},
	}
	for _, tc := range tests {
		got, err := authz.NormaliseDeviceID(tc.in)
		if !tc.ok {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
}

func TestOriginalKey(t *testing.T) {
	od, err := isospec.OriginalData{MTI: "0100", STAN: "000123", TransmissionDateTime: "0315100000", AcquirerID: "12345"}.Encode()
	require.NoError(t, err)
	key, err := authz.ParseOriginalData(od)
	require.NoError(t, err)
	req := authz.Request{MTI: "0100", STAN: "000123", TransmissionTime: "0315100000", AcquirerID: "0012345"}
	require.Equal(t, req.Key(), key, "DE90 names the request whatever the acquirer ID's leading zeros")
	require.Equal(t, "0100/000123/0315100000/00000012345", key)

	for _, bad := range []string{"", "0100", strings.Repeat("1", 41), strings.Repeat("1", 41) + "x", strings.Repeat("1", 43)} {
		_, err := authz.ParseOriginalData(bad)
		require.Error(t, err, bad)
	}
}

// The decline reasons of the network vocabulary take isospec's response
// codes; the engine's own have theirs.
func TestReasonCodes(t *testing.T) {
	for _, r := range authz.Reasons() {
		code := r.Code()
		require.Len(t, code, 2, r)
		require.True(t, isospec.ResponseCode(code).Known(), "%s gives %s", r, code)
		if r.Declines() {
			require.Equal(t, isospec.DeclineReason(r), r.DeclineReason())
		} else {
			require.Equal(t, "00", code)
			require.Empty(t, r.DeclineReason())
		}
		if knownToIsospec[isospec.DeclineReason(r)] {
			require.Equal(t, string(isospec.DeclineReason(r).ResponseCode()), code, r)
		}
	}
	require.Equal(t, "96", authz.Reason("no_such_reason").Code())
	require.Equal(t, authz.StageSystem, authz.Reason("no_such_reason").Stage())
	require.Equal(t, "82", authz.KeyUsed.Code())
	require.Equal(t, "R-S5b", authz.KeyUsed.Rule())
	require.Equal(t, "R-G3c", authz.PINTriesExceeded.Rule())
	require.Equal(t, "75", authz.PINTriesExceeded.Code())
	require.Equal(t, "57", authz.CVMRequired.Code())
	require.Equal(t, "R-S2e", authz.CDCVMRequired.Rule())
}

var knownToIsospec = func() map[isospec.DeclineReason]bool {
	m := map[isospec.DeclineReason]bool{}
	for _, r := range isospec.DeclineReasons() {
		m[r] = true
	}
	return m
}()

func FuzzDeviceFromIAD(f *testing.F) {
	f.Add([]byte{0x06, 0x01, 0x12, 0x03, 0xA0, 0, 0, 0x0F, 0xD1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0}, uint8(1))
	f.Add(make([]byte, 32), uint8(2))
	f.Add([]byte{0x1F}, uint8(1))
	f.Add([]byte{}, uint8(3))
	f.Fuzz(func(t *testing.T, iad []byte, scheme uint8) {
		id := authz.DeviceFromIAD(iad, cryptogram.Scheme(scheme))
		if id != "" {
			require.Len(t, id, 16)
			require.Contains(t, strings.ToUpper(string(hexEncode(iad))), id)
		}
	})
}

func hexEncode(b []byte) []byte {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0x0F])
	}
	return out
}

func FuzzParseOriginalData(f *testing.F) {
	f.Add("010000012303151000000000001234500000000000")
	f.Add("")
	f.Add("0100")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := authz.ParseOriginalData(s)
		if err != nil {
			require.Empty(t, key)
			return
		}
		require.Len(t, s, 42)
		require.Equal(t, s[:4]+"/"+s[4:10]+"/"+s[10:20]+"/", key[:23])
	})
}
