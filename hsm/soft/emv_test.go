package soft_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// Published cryptograms (pyemv's HSM-checked CVN tests): IMK-AC
// 0123456789ABCDEFFEDCBA9876543210 (KCV 08D7), PAN 1234567890123456, PSN
// 00, ATC 001C.
const (
	katIMK = "0123456789ABCDEFFEDCBA9876543210"
	katPAN = "1234567890123456"
)

func visaTags(t testing.TB, iad string) cryptogram.Values {
	return cryptogram.Values{
		0x9F02: h(t, "000000004000"), 0x9F03: h(t, "000000000000"), 0x9F1A: h(t, "0124"),
		0x95: h(t, "8000048000"), 0x5F2A: h(t, "0124"), 0x9A: h(t, "191105"), 0x9C: h(t, "01"),
		0x9F37: h(t, "52BF4585"), 0x82: h(t, "1800"), 0x9F36: h(t, "001C"), 0x9F10: h(t, iad),
	}
}

func mcTags(t testing.TB, iad string) cryptogram.Values {
	return cryptogram.Values{
		0x9F02: h(t, "000000009999"), 0x9F03: h(t, "000000000000"), 0x9F1A: h(t, "0124"),
		0x95: h(t, "8000000000"), 0x5F2A: h(t, "0124"), 0x9A: h(t, "209906"), 0x9C: h(t, "00"),
		0x9F37: h(t, "ABCDEF12"), 0x82: h(t, "1800"), 0x9F36: h(t, "001C"), 0x9F10: h(t, iad),
	}
}

type arqcVector struct {
	cvn        string
	tags       cryptogram.Values
	arqc       string
	resp, arpc string
}

func arqcVectors(t testing.TB) []arqcVector {
	return []arqcVector{
		{"visa10", visaTags(t, "06010A03A06010"), "29CCA15AE665FA2E", "3030", "28993816AFAE4AEB"},
		{"visa18", visaTags(t, "06011203A0B800"), "7A788EA6B8A3E733", "00000000", "9AF514C1"},
		{"mc16", mcTags(t, "0110A00003220000 0000 00000000000000FF"), "24CCF3DEE3158C70", "0010", "73F6BBF389A6586C"},
		{"mc17", mcTags(t, "0111A00003220000 0000 00000000000322FF"), "EAE8A620A75648D8", "0010", "29CF11FBDB9CA650"},
		{"mc20", mcTags(t, "0114A00003220000 0000 00000000000000FF"), "CD29615D6452E70E", "0010", "DFD0956606B68D64"},
		{"mc21", mcTags(t, "0115A00003220000 0000 00000000000322FF"), "C30E54BE496CF5E5", "0010", "4F51F9CC63CE8B3C"},
	}
}

// The published ARQC verifies and the published ARPC comes out, through
// the module boundary, for every TDES CVN of the table.
func TestARQCARPCKnownAnswers(t *testing.T) {
	f := newHSM(t, "")
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	require.Equal(t, "08D7", imk.KCV[:4])
	for _, v := range arqcVectors(t) {
		t.Run(v.cvn, func(t *testing.T) {
			require.NoError(t, f.hsm.VerifyARQC(imk, v.cvn, katPAN, "00", v.tags, h(t, v.arqc)))
			arpc, err := f.hsm.GenerateARPC(imk, v.cvn, katPAN, "00", v.tags, h(t, v.arqc), h(t, v.resp), nil)
			require.NoError(t, err)
			require.Equal(t, v.arpc, hx(arpc))
		})
	}
}

// Any change to the data, the cryptogram, the card or the key is a
// verification failure (-> response code 82 upstream).
func TestVerifyARQCMismatch(t *testing.T) {
	f := newHSM(t, "")
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	other := mustImport(t, f.hsm, "iss/imk-ac-2", hsm.UsageIMKAC, keys.TDES, "FEDCBA98765432100123456789ABCDEF")
	v := arqcVectors(t)[1]
	arqc := h(t, v.arqc)

	flipped := append([]byte(nil), arqc...)
	flipped[7] ^= 1
	amount := visaTags(t, "06011203A0B800")
	amount[0x9F02] = h(t, "000000004001")
	atc := visaTags(t, "06011203A0B800")
	atc[0x9F36] = h(t, "001D")
	// The module keeps the card's key now: another card, PSN or issuer
	// key must not be served it.
	require.NoError(t, f.hsm.VerifyARQC(imk, "visa18", katPAN, "00", v.tags, arqc))

	cases := []struct {
		name string
		imk  hsm.Handle
		pan  string
		psn  string
		tags cryptogram.Values
		arqc []byte
	}{
		{"cryptogram altered", imk, katPAN, "00", v.tags, flipped},
		{"amount altered", imk, katPAN, "00", amount, arqc},
		{"ATC altered", imk, katPAN, "00", atc, arqc},
		{"another card", imk, "1234567890123464", "00", v.tags, arqc},
		{"another PSN", imk, katPAN, "01", v.tags, arqc},
		{"another issuer key", other, katPAN, "00", v.tags, arqc},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.hsm.VerifyARQC(tc.imk, "visa18", tc.pan, tc.psn, tc.tags, tc.arqc)
			require.ErrorIs(t, err, hsm.ErrVerify)
			require.ErrorIs(t, err, cryptogram.ErrMismatch)
			require.NotContains(t, err.Error(), v.arqc)
			require.NotContains(t, err.Error(), katPAN)
		})
	}
}

func TestEMVRefusals(t *testing.T) {
	f := newHSM(t, "")
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	smi := mustImport(t, f.hsm, "iss/imk-smi", hsm.UsageIMKSMI, keys.TDES, "FEDCBA98765432100123456789ABCDEF")
	v := arqcVectors(t)[1]
	noATC := visaTags(t, "06011203A0B800")
	delete(noATC, 0x9F36)

	tests := []struct {
		name   string
		imk    hsm.Handle
		cvn    string
		pan    string
		tags   cryptogram.Values
		arqc   []byte
		target error
	}{
		{"secure-messaging key", smi, "visa18", katPAN, v.tags, h(t, v.arqc), hsm.ErrUsage},
		{"unknown CVN", imk, "visa17", katPAN, v.tags, h(t, v.arqc), hsm.ErrInput},
		{"AES CVN with a TDES IMK", imk, "aes", katPAN, v.tags, h(t, v.arqc), hsm.ErrKeyType},
		{"bad PAN", imk, "visa18", "12345678901234AB", v.tags, h(t, v.arqc), hsm.ErrInput},
		{"missing ATC", imk, "visa18", katPAN, noATC, h(t, v.arqc), hsm.ErrInput},
		{"9F10 of another CVN", imk, "visa10", katPAN, v.tags, h(t, v.arqc), hsm.ErrInput},
		{"short ARQC", imk, "visa18", katPAN, v.tags, h(t, v.arqc)[:7], hsm.ErrInput},
		{"unknown key", hsm.Handle{ID: "k00"}, "visa18", katPAN, v.tags, h(t, v.arqc), hsm.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.hsm.VerifyARQC(tc.imk, tc.cvn, tc.pan, "00", tc.tags, tc.arqc)
			require.ErrorIs(t, err, tc.target)
			require.NotErrorIs(t, err, hsm.ErrVerify)
			_, err = f.hsm.GenerateARPC(tc.imk, tc.cvn, tc.pan, "00", tc.tags, tc.arqc, h(t, "00000000"), nil)
			require.Error(t, err)
		})
	}
	_, err := f.hsm.GenerateARPC(imk, "visa18", katPAN, "00", v.tags, h(t, v.arqc), h(t, "0000"), nil)
	require.ErrorIs(t, err, hsm.ErrInput) // method 2 takes a 4-byte CSU
}

// The AES CVN: no published vector exists, so the module is checked
// against the card side computed independently with emv/cryptogram.
func TestAESCVNAgreesWithCard(t *testing.T) {
	f := newHSM(t, "")
	imkHex := "000102030405060708090A0B0C0D0E0F"
	imk := mustImport(t, f.hsm, "iss/imk-aes", hsm.UsageIMKAC, keys.AES, imkHex)
	cvn, err := cryptogram.Lookup("aes")
	require.NoError(t, err)
	tags := visaTags(t, "0FA601A000000000 0000000000000001 0F000000000000000000000000000000")
	mk, err := cvn.DeriveMK(keys.MustHex(keys.AES, imkHex), "4761739001010010", "01")
	require.NoError(t, err)
	arqc, err := cvn.GenerateAC(mk, tags)
	require.NoError(t, err)
	require.NoError(t, f.hsm.VerifyARQC(imk, "aes", "4761739001010010", "01", tags, arqc))
	arpc, err := f.hsm.GenerateARPC(imk, "aes", "4761739001010010", "01", tags, arqc, h(t, "00000000"), h(t, "0102"))
	require.NoError(t, err)
	require.NoError(t, cvn.VerifyARPC(mk, tags, arqc, h(t, "00000000"), h(t, "0102"), arpc))
	arqc[0] ^= 0x80
	require.ErrorIs(t, f.hsm.VerifyARQC(imk, "aes", "4761739001010010", "01", tags, arqc), hsm.ErrVerify)
}

// TestVerifyCVC3: the module checks a mag-stripe mode CVC3 with the card's
// key derived inside; its digits only, as the track carries them.
func TestVerifyCVC3(t *testing.T) {
	f := newHSM(t, "")
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	cvn, err := cryptogram.Lookup("mc16")
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, katIMK), katPAN, "00")
	require.NoError(t, err)
	track := h(t, "1234567890123456D29122010000000000000F")
	un := h(t, "00012345")
	iv, err := cryptogram.CVC3IV(mk, track)
	require.NoError(t, err)
	cvc3, err := cryptogram.ComputeCVC3(mk, iv, un, 7)
	require.NoError(t, err)
	digits := (uint64(cvc3[0])<<8 | uint64(cvc3[1])) % 1000
	require.NoError(t, f.hsm.VerifyCVC3(imk, "mc16", katPAN, "00", track, un, 7, digits, 3))
	require.ErrorIs(t, f.hsm.VerifyCVC3(imk, "mc16", katPAN, "00", track, un, 8, digits, 3), hsm.ErrVerify)
	require.ErrorIs(t, f.hsm.VerifyCVC3(imk, "mc16", katPAN, "00", track, un, 7, (digits+1)%1000, 3), hsm.ErrVerify)
	require.ErrorIs(t, f.hsm.VerifyCVC3(imk, "mc16", katPAN, "00", track, un[:3], 7, digits, 3), hsm.ErrInput)
}
