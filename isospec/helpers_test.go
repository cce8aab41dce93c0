package isospec_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
)

// Sensitive values of the samples: none of them may appear in any printed
// form of a message.
const (
	samplePAN      = "4761739001010119"
	sampleTrack2   = "4761739001010119=2512201123400001"
	sampleExpiry   = "2512"
	samplePINBlock = "A1C2E3F405162738"
	sampleARQC     = "8E19BF0A27D4F331"
	sampleIAD      = "06010A03A4B800"
	sampleARPC     = "3A4B5C6D7E8F9012"
	sampleKeyUKEK  = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
	sampleKSN      = "FFFF9876543210E00001"
)

// when is the fixed clock of the samples.
var when = time.Date(2025, 3, 15, 10, 30, 0, 0, time.UTC)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func tlvs(t testing.TB, objs ...[2]string) []byte {
	t.Helper()
	var out []byte
	for _, o := range objs {
		b, err := tlv.Encode(tlv.MustTag(o[0]), h(o[1]))
		require.NoError(t, err)
		out = append(out, b...)
	}
	return out
}

// sampleICC is a contactless ARQC's data record as the kernel sends it in
// DE55, with the PAN and track 2 equivalent included to prove they are
// masked.
func sampleICC(t testing.TB) []byte {
	return tlvs(t,
		[2]string{"82", "0020"},
		[2]string{"95", "0000000000"},
		[2]string{"9A", "250315"},
		[2]string{"9C", "00"},
		[2]string{"5F2A", "0901"},
		[2]string{"9F02", "000000150000"},
		[2]string{"9F03", "000000000000"},
		[2]string{"9F10", sampleIAD},
		[2]string{"9F1A", "0158"},
		[2]string{"9F26", sampleARQC},
		[2]string{"9F27", "80"},
		[2]string{"9F33", "E0F8C8"},
		[2]string{"9F34", "420300"},
		[2]string{"9F35", "22"},
		[2]string{"9F36", "0042"},
		[2]string{"9F37", "9BADBCAB"},
		[2]string{"5F34", "01"},
		[2]string{"5A", samplePAN},
		[2]string{"57", "4761739001010119D2512201123400001F"},
	)
}

func samplePrivate(t testing.TB) string {
	s, err := isospec.PrivateData{
		TokenRequestorID: "40010030273",
		TokenAssurance:   "05",
		DeviceID:         "hce-phone-0001",
		CDCVM:            true,
		HCEKeyATC:        66,
		HasHCEKeyATC:     true,
	}.Encode()
	require.NoError(t, err)
	return s
}

func sampleAcceptor(t testing.TB) string {
	s, err := isospec.CardAcceptorLocation{Name: "TAPSIM COFFEE", City: "TAIPEI", Country: "TW"}.Encode()
	require.NoError(t, err)
	return s
}

// sample0100 is an online-PIN contactless authorisation request.
func sample0100(t testing.TB) *isospec.AuthorizationRequest {
	return &isospec.AuthorizationRequest{
		MTI:                  isospec.MTIAuthorizationRequest,
		PAN:                  samplePAN,
		ProcessingCode:       isospec.ProcPurchase,
		Amount:               150000,
		TransmissionDateTime: isospec.TransmissionDateTime(when),
		STAN:                 "000123",
		LocalTime:            "183000",
		LocalDate:            "0315",
		Expiry:               sampleExpiry,
		MCC:                  "5814",
		POSEntryMode:         isospec.ContactlessEntry(true),
		CardSequenceNumber:   "001",
		POSConditionCode:     isospec.POSConditionNormal,
		AcquirerID:           "12345",
		Track2:               sampleTrack2,
		RRN:                  "507418000123",
		TerminalID:           "TERM0001",
		MerchantID:           "000000000012345",
		CardAcceptor:         sampleAcceptor(t),
		PrivateData:          samplePrivate(t),
		Currency:             "901",
		PINBlock:             h(samplePINBlock),
		SecurityControl:      h(sampleKSN),
		ICCData:              sampleICC(t),
	}
}

// sample0110 is a decline of sample0100 with an ARPC and an issuer script.
func sample0110(t testing.TB) *isospec.AuthorizationResponse {
	r, err := isospec.NewAuthorizationResponse(sample0100(t), isospec.RCCryptogramFailure)
	require.NoError(t, err)
	pd, err := isospec.PrivateData{DeclineReason: isospec.ReasonARQCInvalid}.Encode()
	require.NoError(t, err)
	r.PrivateData = pd
	script, err := tlv.EncodeConstructed(tlv.MustTag("72"),
		tlv.TLV{Tag: tlv.MustTag("9F18"), Value: h("00000001")},
		tlv.TLV{Tag: tlv.MustTag("86"), Value: h("8424000008A1B2C3D4E5F60718")},
	)
	require.NoError(t, err)
	r.ICCData = append(tlvs(t, [2]string{"91", sampleARPC + "0012"}), script...)
	return r
}

func sample0400(t testing.TB) *isospec.ReversalRequest {
	r, err := isospec.NewReversal(sample0100(t), "000124", when.Add(30*time.Second), isospec.RCResponseTooLate, "")
	require.NoError(t, err)
	return r
}

func sample0800KeyChange(t testing.TB) *isospec.NetworkManagement {
	n := isospec.NewNetworkManagement(isospec.NetKeyChange, "000125", when)
	n.AcquirerID = "12345"
	pd, err := isospec.PrivateData{KeyType: "ZPK", KeyUnderKEK: sampleKeyUKEK, KeyCheckValue: "08D7B4"}.Encode()
	require.NoError(t, err)
	n.PrivateData = pd
	return n
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := isospec.Marshal(v)
	require.NoError(t, err)
	return b
}
