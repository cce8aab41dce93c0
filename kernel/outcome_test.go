package kernel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

func TestTVR(t *testing.T) {
	var v TVR
	require.True(t, v.IsZero())
	v.Set(TVRODANotPerformed)
	v.Set(TVRFloorLimitExceeded)
	v.Set(TVRCDAFailed)
	require.Equal(t, TVR{0x84, 0, 0, 0x80, 0}, v)
	require.True(t, v.Has(TVRCDAFailed))
	require.False(t, v.Has(TVRDDAFailed))
	require.Equal(t, []TVRBit{TVRODANotPerformed, TVRCDAFailed, TVRFloorLimitExceeded}, v.Bits())
	require.Equal(t, "8400008000 (oda_not_performed, cda_failed, floor_limit_exceeded)", v.String())

	// Relay resistance "not performed" is the value 01 of b2-b1.
	var rr TVR
	rr.Set(TVRRRNotPerformed)
	require.Equal(t, TVR{0, 0, 0, 0, 0x01}, rr)
	require.Equal(t, []TVRBit{TVRRRNotPerformed}, rr.Bits())
	rr[4] = 0x03 // 11 is RFU, not "not performed"
	require.Empty(t, rr.Bits())
}

func TestParseTVRBit(t *testing.T) {
	for _, b := range []TVRBit{TVRODANotPerformed, TVRExpired, TVRCVMFailed, TVROnlinePINEntered, TVRFloorLimitExceeded, TVRIssuerAuthFailed} {
		got, err := ParseTVRBit(b.Name())
		require.NoError(t, err)
		require.Equal(t, b, got)
	}
	got, err := ParseTVRBit("0240")
	require.NoError(t, err)
	require.Equal(t, TVRExpired, got)
	require.Equal(t, "Expired application", got.String())
	for _, bad := range []string{"", "nope", "0640", "0100"} {
		_, err := ParseTVRBit(bad)
		require.ErrorIs(t, err, ErrConfig, bad)
	}
}

func TestNames(t *testing.T) {
	for o := Approved; o <= EndApplication; o++ {
		got, err := ParseOutcomeType(o.Name())
		require.NoError(t, err)
		require.Equal(t, o, got)
		got, err = ParseOutcomeType(o.String())
		require.NoError(t, err)
		require.Equal(t, o, got)
	}
	for c := CVMNA; c <= CVMConfirmationCode; c++ {
		got, err := ParseCVM(c.Name())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	c, err := ParseCVM("confirmation_code")
	require.NoError(t, err)
	require.Equal(t, CVMConfirmationCode, c)
	_, err = ParseCVM("retina")
	require.ErrorIs(t, err, ErrConfig)

	m, err := ParseMessageID("see_phone")
	require.NoError(t, err)
	require.Equal(t, MsgSeePhone, m)
	m, err = ParseMessageID("Present Card Again")
	require.NoError(t, err)
	require.Equal(t, MsgPresentCardAgain, m)
	m, err = ParseMessageID("1b")
	require.NoError(t, err)
	require.Equal(t, MsgAuthorising, m)
	_, err = ParseMessageID("xyz")
	require.ErrorIs(t, err, ErrConfig)

	s, err := ParseStatus("ready_to_read")
	require.NoError(t, err)
	require.Equal(t, StatusReadyToRead, s)
	require.Equal(t, "Ready to Read", s.String())
	require.Equal(t, "B", StartB.String())
	require.Equal(t, "N/A", StartNA.String())
}

func TestMaskPAN(t *testing.T) {
	tests := map[string]string{
		"":                    "",
		"1234":                "****",
		"123456789":           "*****6789",
		"4761739001010119":    "476173******0119",
		"5413330089010012345": "541333*********2345",
	}
	for in, want := range tests {
		require.Equal(t, want, MaskPAN(in), in)
	}
}

// TestOutcomeStringMasksPAN checks that neither the PAN of 5A nor the track
// 2 equivalent data shows in String.
func TestOutcomeStringMasksPAN(t *testing.T) {
	o := Outcome{
		Type: OnlineRequest,
		CVM:  CVMOnlinePIN,
		AID:  []byte{0xA0, 0, 0, 0, 0x03, 0x10, 0x10},
		DataRecord: tlv.List{
			{Tag: 0x57, Value: []byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19, 0xD3, 0x01, 0x22, 0x01}},
			{Tag: 0x5A, Value: []byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19}},
		},
		Reason: "card returned ARQC",
	}
	s := o.String()
	require.Contains(t, s, "476173******0119")
	require.NotContains(t, s, "4761739001010119")
	require.True(t, strings.HasPrefix(s, "Online Request, CVM Online PIN"))
	require.Equal(t, "476173******0119", o.MaskedPAN())

	// Track 2 alone.
	o.DataRecord = o.DataRecord[:1]
	require.Equal(t, "476173******0119", o.MaskedPAN())
	require.NotContains(t, o.String(), "4761739001010119")
	require.Equal(t, []byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19, 0xD3, 0x01, 0x22, 0x01}, o.Record(0x57))
	require.Nil(t, o.Record(0x9F26))
}

// TestL3Error: the L3 error's names and its place in the outcome's line.
func TestL3Error(t *testing.T) {
	require.Equal(t, "ok", L3OK.String())
	require.Equal(t, "time_out", L3TimeOut.String())
	require.Equal(t, "l3_7", L3Error(7).String())
	o := Outcome{Type: EndApplication, L3: L3TimeOut, Reason: "time out"}
	require.Contains(t, o.String(), "L3 error time_out: time out")
	require.NotContains(t, Outcome{Type: Approved}.String(), "L3")
}
