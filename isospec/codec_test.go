package isospec_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func TestSpecMatchesFieldTable(t *testing.T) {
	for _, d := range isospec.Fields() {
		f, ok := isospec.Spec.Fields[d.ID]
		require.True(t, ok, "field %d", d.ID)
		require.Equal(t, d.MaxLen, f.Spec().Length, "field %d", d.ID)
		require.Equal(t, d.Name, f.Spec().Description)
		require.GreaterOrEqual(t, d.MaxLen, d.MinLen)
		if d.Length == isospec.Fixed {
			require.Equal(t, d.MinLen, d.MaxLen, "field %d", d.ID)
		}
	}
	// MTI, bitmap and the dialect's fields, nothing else.
	require.Len(t, isospec.Spec.Fields, len(isospec.Fields())+2)
	_, ok := isospec.Field(65)
	require.False(t, ok)
	_, ok = isospec.Field(5)
	require.False(t, ok)
	d, ok := isospec.Field(55)
	require.True(t, ok)
	require.Equal(t, isospec.FormatB, d.Format)
	require.Equal(t, isospec.LLLVAR, d.Length)
	require.Equal(t, "b", d.Format.String())
	require.Equal(t, "LLLVAR", d.Length.String())
}

// The wire format, byte by byte, of a small message: ASCII MTI, binary
// primary and secondary bitmaps, ASCII fixed fields.
func TestPackEchoByteByByte(t *testing.T) {
	n := isospec.NewNetworkManagement(isospec.NetEcho, "000001", when)
	got := mustMarshal(t, n)
	want := append([]byte("0800"),
		0x82, 0x20, 0, 0, 0, 0, 0, 0, // bits 1 (secondary bitmap), 7, 11
		0x04, 0, 0, 0, 0, 0, 0, 0, // bit 70
	)
	want = append(want, "0315103000"+"000001"+"301"...)
	require.Equal(t, want, got)

	var back isospec.NetworkManagement
	require.NoError(t, isospec.Unmarshal(got, &back))
	require.Equal(t, *n, back)
}

// A 0100 with variable-length ASCII and binary fields: the length prefixes
// are ASCII digits counting characters, or bytes for binary fields.
func TestPack0100Layout(t *testing.T) {
	req := sample0100(t)
	b := mustMarshal(t, req)
	require.Equal(t, "0100", string(b[:4]))
	// Fields 2 3 4 7 11 12 13 14 18 22 23 25 32 35 37 41 42 43 48 49 52 53 55.
	require.Equal(t, h("72 3C 46 81 28 E1 9A 00"), b[4:12])
	require.True(t, bytes.HasPrefix(b[12:], []byte("16"+samplePAN+"000000"+"000000150000"+"0315103000")))
	require.Contains(t, string(b), "33"+sampleTrack2)                      // DE35 LLVAR
	require.Contains(t, string(b), "TERM0001000000000012345TAPSIM COFFEE") // DE41, 42, 43
	icc := req.ICCData
	require.True(t, bytes.HasSuffix(b, append([]byte(fmt.Sprintf("%03d", len(icc))), icc...)))
	ksn := h(sampleKSN)
	require.True(t, bytes.Contains(b, append([]byte("10"), ksn...))) // DE53: 10 bytes
	require.True(t, bytes.Contains(b, append([]byte("901"), h(samplePINBlock)...)))

	var back isospec.AuthorizationRequest
	require.NoError(t, isospec.Unmarshal(b, &back))
	require.Equal(t, *req, back)
}

func TestRoundTripEveryMessage(t *testing.T) {
	resp := sample0110(t)
	rev := sample0400(t)
	adv := rev.Advice(true)
	revResp, err := isospec.NewReversalResponse(adv, isospec.RCApproved)
	require.NoError(t, err)
	nm := sample0800KeyChange(t)
	nmResp, err := nm.Response(isospec.RCApproved)
	require.NoError(t, err)
	tests := []struct {
		name string
		in   any
		out  func() any
	}{
		{"0110", resp, func() any { return &isospec.AuthorizationResponse{} }},
		{"0400", rev, func() any { return &isospec.ReversalRequest{} }},
		{"0421", adv, func() any { return &isospec.ReversalAdvice{} }},
		{"0430", revResp, func() any { return &isospec.ReversalResponse{} }},
		{"0800", nm, func() any { return &isospec.NetworkManagement{} }},
		{"0810", nmResp, func() any { return &isospec.NetworkManagement{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, tc.in)
			require.Equal(t, tc.name, string(b[:4]))
			out := tc.out()
			require.NoError(t, isospec.Unmarshal(b, out))
			require.Equal(t, tc.in, out)
			msg, err := isospec.Unpack(b)
			require.NoError(t, err)
			require.NoError(t, isospec.Validate(msg))
			again, err := isospec.Pack(msg)
			require.NoError(t, err)
			require.Equal(t, b, again)
		})
	}
}

// Space-padded fields may be shorter on the Go side; amounts are
// zero-filled; a zero amount is still sent.
func TestPaddingAndZeroAmount(t *testing.T) {
	req := sample0100(t)
	req.TerminalID = "T1"
	req.MerchantID = "M1"
	req.Amount = 0
	b := mustMarshal(t, req)
	require.Contains(t, string(b), "T1      M1             ")
	require.Contains(t, string(b), "000000"+"000000000000"+"0315103000")
	var back isospec.AuthorizationRequest
	require.NoError(t, isospec.Unmarshal(b, &back))
	require.Equal(t, "T1", back.TerminalID)
	require.Equal(t, int64(0), back.Amount)
}

func requireFieldError(t *testing.T, err error, field int, reason error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, reason)
	var fe *isospec.FieldError
	require.True(t, errors.As(err, &fe), "%T %v", err, err)
	require.Equal(t, field, fe.Field, "%v", err)
	require.True(t, strings.HasPrefix(err.Error(), "isospec: "), err.Error())
}

func TestPackRejectsBadFields(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(r *isospec.AuthorizationRequest)
		field  int
		reason error
	}{
		{"short STAN", func(r *isospec.AuthorizationRequest) { r.STAN = "123" }, 11, isospec.ErrLength},
		{"PAN with a letter", func(r *isospec.AuthorizationRequest) { r.PAN = "4761739A01010119" }, 2, isospec.ErrCharset},
		{"PAN too long", func(r *isospec.AuthorizationRequest) { r.PAN = samplePAN + "1234" }, 2, isospec.ErrLength},
		{"PAN too short", func(r *isospec.AuthorizationRequest) { r.PAN = "4761739" }, 2, isospec.ErrLength},
		{"negative amount", func(r *isospec.AuthorizationRequest) { r.Amount = -1 }, 4, isospec.ErrValue},
		{"amount over n12", func(r *isospec.AuthorizationRequest) { r.Amount = 1_000_000_000_000 }, 4, isospec.ErrValue},
		{"PIN block of 7 bytes", func(r *isospec.AuthorizationRequest) { r.PINBlock = r.PINBlock[:7] }, 52, isospec.ErrLength},
		{"terminal ID of 9", func(r *isospec.AuthorizationRequest) { r.TerminalID = "TERM00012" }, 41, isospec.ErrLength},
		{"control character in DE43", func(r *isospec.AuthorizationRequest) { r.CardAcceptor = "SHOP\x07" }, 43, isospec.ErrCharset},
		{"track 2 with D", func(r *isospec.AuthorizationRequest) { r.Track2 = strings.Replace(sampleTrack2, "=", "D", 1) }, 35, isospec.ErrCharset},
		{"RRN with a space", func(r *isospec.AuthorizationRequest) { r.RRN = "50741800012 " }, 37, isospec.ErrCharset},
		{"DE55 too long", func(r *isospec.AuthorizationRequest) { r.ICCData = make([]byte, 256) }, 55, isospec.ErrLength},
		{"MTI of 5 digits", func(r *isospec.AuthorizationRequest) { r.MTI = "01000" }, 0, isospec.ErrLength},
		{"MTI with a letter", func(r *isospec.AuthorizationRequest) { r.MTI = "01A0" }, 0, isospec.ErrCharset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sample0100(t)
			tc.edit(r)
			_, err := isospec.Marshal(r)
			requireFieldError(t, err, tc.field, tc.reason)
			require.NotContains(t, err.Error(), "4761739")
		})
	}
}

func TestEncodeDecodeTypeErrors(t *testing.T) {
	_, err := isospec.Encode(42)
	require.ErrorIs(t, err, isospec.ErrType)
	_, err = isospec.Encode(struct {
		PAN []int `iso8583:"2"`
	}{PAN: []int{1}})
	requireFieldError(t, err, 2, isospec.ErrType)
	msg, err := isospec.Encode(sample0100(t))
	require.NoError(t, err)
	var notPtr isospec.AuthorizationRequest
	require.ErrorIs(t, isospec.Decode(msg, notPtr), isospec.ErrType)
	require.ErrorIs(t, isospec.Decode(nil, &notPtr), isospec.ErrType)
	_, err = isospec.Pack(nil)
	require.ErrorIs(t, err, isospec.ErrType)
}

// frame builds a frame from an MTI, bitmap hex and the rest.
func frame(mti, bitmap string, rest ...string) []byte {
	b := append([]byte(mti), h(bitmap)...)
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

func TestUnpackRejectsMalformedFrames(t *testing.T) {
	good := mustMarshal(t, sample0100(t))
	tests := []struct {
		name   string
		in     []byte
		field  int
		reason error
	}{
		{"empty", nil, 0, isospec.ErrTruncated},
		{"MTI only in part", []byte("010"), 0, isospec.ErrTruncated},
		{"MTI not numeric", []byte("01A0\x00\x00\x00\x00\x00\x00\x00\x00"), 0, isospec.ErrCharset},
		{"primary bitmap short", frame("0100", "40000000000000"), 1, isospec.ErrTruncated},
		{"secondary bitmap short", frame("0800", "8220000000000000 0400"), 1, isospec.ErrTruncated},
		{"tertiary bitmap", frame("0800", "8220000000000000 8400000000000000"), 1, isospec.ErrBitmap},
		{"empty secondary bitmap", frame("0800", "8220000000000000 0000000000000000", "0315103000000001"), 1, isospec.ErrBitmap},
		{"undefined field 5", frame("0100", "0800000000000000", "000000000000"), 5, isospec.ErrUndefinedField},
		{"undefined field 100", frame("0800", "8000000000000000 0000000010000000"), 100, isospec.ErrUndefinedField},
		{"LL prefix not digits", frame("0100", "4000000000000000", "1A4761739001010119"), 2, isospec.ErrLength},
		{"LL prefix over max", frame("0100", "4000000000000000", "2047617390010101191234"), 2, isospec.ErrLength},
		{"LL prefix under min", frame("0100", "4000000000000000", "074761739"), 2, isospec.ErrLength},
		{"LL prefix cut", frame("0100", "4000000000000000", "1"), 2, isospec.ErrTruncated},
		{"value cut", frame("0100", "4000000000000000", "16476173900101"), 2, isospec.ErrTruncated},
		{"letter in n field", frame("0100", "4000000000000000", "164761739A01010119"), 2, isospec.ErrCharset},
		{"sign in amount", frame("0100", "1000000000000000", "+00000150000"), 4, isospec.ErrCharset},
		{"D in track 2", frame("0100", "0000000020000000", "334761739001010119D2512201123400001"), 35, isospec.ErrCharset},
		{"control character in DE41", frame("0100", "0000000000800000", "TERM\x0001 "), 41, isospec.ErrCharset},
		{"DE55 over 255", frame("0100", "0000000000000200", "256"), 55, isospec.ErrLength},
		{"DE55 LLL cut", frame("0100", "0000000000000200", "25"), 55, isospec.ErrTruncated},
		{"DE64 short", frame("0100", "0000000000000001", "1234567"), 64, isospec.ErrTruncated},
		{"trailing byte", append(append([]byte(nil), good...), 0), -1, isospec.ErrTrailingData},
		{"last byte missing", good[:len(good)-1], 55, isospec.ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := isospec.Unpack(tc.in)
			require.Nil(t, msg)
			requireFieldError(t, err, tc.field, tc.reason)
			require.NotContains(t, err.Error(), "4761739")
			var back isospec.AuthorizationRequest
			require.Error(t, isospec.Unmarshal(tc.in, &back))
		})
	}
}

func TestFieldErrorText(t *testing.T) {
	_, err := isospec.Unpack(frame("0100", "4000000000000000", "164761739A01010119"))
	require.EqualError(t, err, "isospec: field 2 (primary account number): invalid character at offset 21: not n")
	_, err = isospec.Unpack(append(mustMarshal(t, isospec.NewNetworkManagement(isospec.NetEcho, "000001", when)), "xy"...))
	require.EqualError(t, err, "isospec: frame: data after the last field at offset 39: 2 bytes")
}
