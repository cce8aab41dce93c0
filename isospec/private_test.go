package isospec_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func TestPrivateDataWireFormat(t *testing.T) {
	p := isospec.PrivateData{
		DeclineReason: isospec.ReasonHCEKeyUsed,
		DeviceID:      "dev-1",
		CDCVM:         true,
		HCEKeyATC:     7,
		HasHCEKeyATC:  true,
		Extra:         []isospec.Subelement{{Tag: "99", Value: "x"}, {Tag: "50", Value: "abc"}},
	}
	s, err := p.Encode()
	require.NoError(t, err)
	// Tag (2 digits), length (3 digits), value; ascending tags.
	require.Equal(t, "01012hce_key_used"+"04005dev-1"+"050011"+"06005"+"00007"+"50003abc"+"99001x", s)
	back, err := isospec.ParsePrivateData(s)
	require.NoError(t, err)
	p.Extra = []isospec.Subelement{{Tag: "50", Value: "abc"}, {Tag: "99", Value: "x"}}
	require.Equal(t, p, back)
}

func TestPrivateDataEveryField(t *testing.T) {
	p := isospec.PrivateData{
		DeclineReason:    isospec.ReasonTokenSuspended,
		TokenRequestorID: "40010030273",
		TokenAssurance:   "05",
		DeviceID:         "phone-7f3a",
		CDCVM:            true,
		HCEKeyATC:        65535,
		HasHCEKeyATC:     true,
		KeyType:          "ZPK",
		KeyUnderKEK:      sampleKeyUKEK,
		KeyCheckValue:    "08D7B4",
	}
	s, err := p.Encode()
	require.NoError(t, err)
	back, err := isospec.ParsePrivateData(s)
	require.NoError(t, err)
	require.Equal(t, p, back)
	require.False(t, back.IsZero())

	empty, err := isospec.PrivateData{}.Encode()
	require.NoError(t, err)
	require.Equal(t, "", empty)
	z, err := isospec.ParsePrivateData("")
	require.NoError(t, err)
	require.True(t, z.IsZero())

	// An ATC of 0 is a real ATC.
	s, err = isospec.PrivateData{HasHCEKeyATC: true}.Encode()
	require.NoError(t, err)
	require.Equal(t, "0600500000", s)
}

func TestPrivateDataRejects(t *testing.T) {
	encodeBad := []isospec.PrivateData{
		{TokenRequestorID: "123"},
		{TokenAssurance: "5"},
		{DeviceID: strings.Repeat("d", 65)},
		{DeclineReason: "tab\there"},
		{KeyUnderKEK: "0f1e"},
		{KeyUnderKEK: "ABC"},
		{KeyCheckValue: "08D7B4AA"},
		{KeyType: "Z-PK"},
		{DeclineReason: "x", Extra: []isospec.Subelement{{Tag: "01", Value: "y"}}},
		{Extra: []isospec.Subelement{{Tag: "7", Value: "y"}}},
		{Extra: []isospec.Subelement{{Tag: "77", Value: ""}}},
		{Extra: []isospec.Subelement{{Tag: "77", Value: strings.Repeat("v", 995)}}},
	}
	for _, p := range encodeBad {
		_, err := p.Encode()
		require.ErrorIs(t, err, isospec.ErrPrivateData, "%+v", p)
	}
	parseBad := []string{
		"0",                   // header cut
		"0100",                // header cut
		"01005abc",            // value runs past the end
		"0A003abc",            // tag not numeric
		"01x03abc",            // length not numeric
		"06005700000",         // ATC over 65535
		"050012",              // CDCVM neither 0 nor 1
		"01001a01001b",        // duplicate
		"04001a01001b",        // out of order
		"01003a\x01b",         // control character
		"02011400100302730",   // trailing header cut
		"0300205" + "0200140", // out of order
	}
	for _, s := range parseBad {
		_, err := isospec.ParsePrivateData(s)
		require.ErrorIs(t, err, isospec.ErrPrivateData, "%q", s)
	}
	// Errors name the tag, never the value.
	_, err := isospec.ParsePrivateData("02005SECRET")
	require.ErrorIs(t, err, isospec.ErrPrivateData)
	require.NotContains(t, err.Error(), "SECRET")
}
