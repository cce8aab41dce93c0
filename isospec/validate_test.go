package isospec_test

import (
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func encode(t *testing.T, v any) *iso8583.Message {
	t.Helper()
	msg, err := isospec.Encode(v)
	require.NoError(t, err)
	return msg
}

func TestValidateAcceptsSamples(t *testing.T) {
	for _, v := range []any{sample0100(t), sample0110(t), sample0400(t), sample0400(t).Advice(false), sample0800KeyChange(t)} {
		require.NoError(t, isospec.Validate(encode(t, v)))
	}
	// Track 2 alone identifies the card.
	r := sample0100(t)
	r.PAN = ""
	require.NoError(t, isospec.Validate(encode(t, r)))
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		msg    func(t *testing.T) any
		field  int
		reason error
	}{
		{"unknown MTI", func(t *testing.T) any { r := sample0100(t); r.MTI = "0500"; return r }, 0, isospec.ErrValue},
		{"0100 without STAN", func(t *testing.T) any { r := sample0100(t); r.STAN = ""; return r }, 11, isospec.ErrMissing},
		{"0100 without amount", func(t *testing.T) any {
			r := sample0100(t)
			msg := encode(t, r)
			msg.UnsetField(4)
			return msg
		}, 4, isospec.ErrMissing},
		{"0100 without PAN or track 2", func(t *testing.T) any { r := sample0100(t); r.PAN, r.Track2 = "", ""; return r }, 2, isospec.ErrMissing},
		{"contactless chip without DE55", func(t *testing.T) any { r := sample0100(t); r.ICCData = nil; return r }, 55, isospec.ErrMissing},
		{"DE7 month 13", func(t *testing.T) any { r := sample0100(t); r.TransmissionDateTime = "1315103000"; return r }, 7, isospec.ErrValue},
		{"DE7 hour 24", func(t *testing.T) any { r := sample0100(t); r.TransmissionDateTime = "0315243000"; return r }, 7, isospec.ErrValue},
		{"DE12 second 60", func(t *testing.T) any { r := sample0100(t); r.LocalTime = "183060"; return r }, 12, isospec.ErrValue},
		{"DE13 31 April", func(t *testing.T) any { r := sample0100(t); r.LocalDate = "0431"; return r }, 13, isospec.ErrValue},
		{"DE14 month 13", func(t *testing.T) any { r := sample0100(t); r.Expiry = "2513"; return r }, 14, isospec.ErrValue},
		{"track 2 of another PAN", func(t *testing.T) any {
			r := sample0100(t)
			r.Track2 = "4761739001010127=2512201123400001"
			return r
		}, 35, isospec.ErrValue},
		{"track 2 without separator", func(t *testing.T) any { r := sample0100(t); r.Track2 = samplePAN; return r }, 35, isospec.ErrValue},
		{"DE55 not BER-TLV", func(t *testing.T) any { r := sample0100(t); r.ICCData = h("9F2608 0102"); return r }, 55, isospec.ErrValue},
		{"DE48 malformed", func(t *testing.T) any { r := sample0100(t); r.PrivateData = "01"; return r }, 48, isospec.ErrValue},
		{"DE70 unknown", func(t *testing.T) any { n := sample0800KeyChange(t); n.NetworkCode = "999"; return n }, 70, isospec.ErrValue},
		{"0800 without DE70", func(t *testing.T) any {
			n := sample0800KeyChange(t)
			n.NetworkCode = ""
			n.MAC = make([]byte, 8) // keeps a secondary-bitmap field
			return n
		}, 70, isospec.ErrMissing},
		{"0400 without DE90", func(t *testing.T) any { r := sample0400(t); r.OriginalData = ""; return r }, 90, isospec.ErrMissing},
		{"DE90 naming a reversal", func(t *testing.T) any {
			r := sample0400(t)
			r.OriginalData = "0400" + r.OriginalData[4:]
			return r
		}, 90, isospec.ErrValue},
		{"DE90 with a bad date", func(t *testing.T) any {
			r := sample0400(t)
			r.OriginalData = r.OriginalData[:10] + "1399103000" + r.OriginalData[20:]
			return r
		}, 90, isospec.ErrValue},
		{"DE64 with a secondary bitmap", func(t *testing.T) any {
			msg := encode(t, sample0400(t))
			require.NoError(t, msg.BinaryField(64, make([]byte, 8)))
			return msg
		}, 64, isospec.ErrUnexpected},
		{"DE64 and DE128", func(t *testing.T) any {
			msg := encode(t, sample0100(t))
			require.NoError(t, msg.BinaryField(64, make([]byte, 8)))
			require.NoError(t, msg.BinaryField(128, make([]byte, 8)))
			return msg
		}, 64, isospec.ErrUnexpected},
		{"0110 without DE39", func(t *testing.T) any { r := sample0110(t); r.ResponseCode = ""; return r }, 39, isospec.ErrMissing},
		{"bad field format", func(t *testing.T) any { r := sample0100(t); r.STAN = "12"; return r }, 11, isospec.ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.msg(t)
			msg, ok := v.(*iso8583.Message)
			if !ok {
				msg = isospec.NewMessage()
				require.NoError(t, msg.Marshal(v))
			}
			err := isospec.Validate(msg)
			requireFieldError(t, err, tc.field, tc.reason)
			require.NotContains(t, err.Error(), "4761739")
		})
	}
}
