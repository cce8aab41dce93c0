package emvapp_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
)

// holder is a phone's verification state for the tests.
type holder struct {
	verified, always bool
	done             []bool
}

func (h *holder) Verified() bool       { return h.verified }
func (h *holder) AlwaysVerify() bool   { return h.always }
func (h *holder) Done(r emvapp.Result) { h.done = append(h.done, r.CDCVM) }

// Visa-like phone: above the CVM limit, an unverified phone answers GPO with
// '6986' (Book C-3: See Phone, try again) and spends no ATC; once verified
// the second tap goes online with "Consumer Device CVM Performed" and the
// CTQ copy in 9F69.
func TestVisaPhoneSeePhoneThenCDCVM(t *testing.T) {
	hd := &holder{}
	cfg := visaConfig(t, "visa18")
	cfg.Holder = hd
	cfg.FormFactor = h("23880000")
	a := newApp(t, cfg)
	x := newTx("000000350000")
	x.ttq = h("36C04000") // online, CVM required, CDCVM supported

	_, resp := gpo(t, a, x)
	require.Equal(t, apdu.SW6986, resp.SW, "first tap: See Phone")
	require.Empty(t, resp.Data)
	require.True(t, a.Last().SeePhone)
	require.Equal(t, uint16(0), a.State().ATC, "no transaction started")
	require.Equal(t, []bool{false}, hd.done)

	hd.verified = true
	_, resp = gpo(t, a, x)
	m := decode(t, resp.Data)
	require.Equal(t, []byte{0x80}, m[0x9F27], "second tap: ARQC")
	require.Equal(t, h("2080"), m[0x9F6C], "CDCVM performed")
	require.Equal(t, m[0x9F6C], m[0x9F69][5:7], "9F69 carries the same CTQ")
	require.Equal(t, h("06011203200001"), m[0x9F10], "CVR: ARQC, CDCVM")
	require.Equal(t, emvapp.Result{ATC: 1, CID: 0x80, CDCVM: true}, a.Last())
	require.Equal(t, []bool{false, true}, hd.done)

	cvn := lookup(t, "visa18")
	mk, _ := cvn.DeriveMK(imk, visaPAN, "01")
	require.NoError(t, cvn.VerifyARQC(mk, cryptoTags(x, m[0x82], m[0x9F36], m[0x9F10]), m[0x9F26]))
}

func TestVisaPhoneCases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		verified bool
		always   bool
		ttq      string
		cid      byte // 0xFF: GPO answered 6986
		ctq      string
		seePhone bool
	}{
		{"below the CVM limit, not verified: no CVM", false, false, "36804000", 0x80, "2000", false},
		{"HCE below the CVM limit, not verified: See Phone (R-S2e)", false, true, "36804000", 0xFF, "", true},
		{"terminal without CDCVM: the card falls back to online PIN", false, false, "36C00000", 0x80, "A000", false},
		{"HCE, terminal without CDCVM: decline", false, true, "36C00000", 0x00, "2000", false},
		{"verified, terminal without CDCVM: online PIN", true, false, "36C00000", 0x80, "A000", false},
		{"verified below the limit: CDCVM reported", true, false, "36804000", 0x80, "2080", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := visaConfig(t, "visa18")
			cfg.Holder = &holder{verified: tc.verified, always: tc.always}
			a := newApp(t, cfg)
			x := newTx("000000100000")
			x.ttq = h(tc.ttq)
			_, resp := gpo(t, a, x)
			require.Equal(t, tc.seePhone, a.Last().SeePhone)
			if tc.cid == 0xFF {
				require.Equal(t, apdu.SW6986, resp.SW)
				return
			}
			m := decode(t, resp.Data)
			require.Equal(t, []byte{tc.cid}, m[0x9F27])
			require.Equal(t, h(tc.ctq), m[0x9F6C])
		})
	}
}

func mcPhoneConfig(t *testing.T, hd emvapp.Holder) emvapp.Config {
	cfg := mcConfig(t, "mc16")
	cfg.Holder = hd
	return cfg
}

// Mastercard-like phone: above the CVM limit (CVM Results name CDCVM) and
// unverified, GENERATE AC returns an AAC with DF4B '000100' (OD-CVM
// required); verified, an ARQC with DF4B '001000'.
func TestMChipPhoneSeePhoneThenCDCVM(t *testing.T) {
	hd := &holder{}
	a := newApp(t, mcPhoneConfig(t, hd))
	x := newTx("000000350000")
	x.cvmResults = h("010002")

	r := mcTap(t, a, x, apdu.ARQC|apdu.CDARequest)
	require.Equal(t, h("1B80"), r.gpo[0x82], "AIP: on-device CVM supported")
	require.Equal(t, h("9F02069F03069F1A0295055F2A029A039C019F37049F35019F34039F1D089F7E01"), r.recs[0x8C])
	m := decode(t, r.resp.Data)
	require.Equal(t, []byte{0x00}, m[0x9F27])
	require.Equal(t, h("000100"), m[0xDF4B])
	require.Contains(t, m, tlv.Tag(0x9F26), "an AAC is not signed")
	require.True(t, a.Last().SeePhone)

	hd.verified = true
	r = mcTap(t, a, x, apdu.ARQC|apdu.CDARequest)
	m = decode(t, r.resp.Data)
	require.Equal(t, []byte{0x80}, m[0x9F27])
	require.Equal(t, h("001000"), m[0xDF4B])
	require.Equal(t, byte(0x01), m[0x9F10][7], "CVR byte 6 bit 1: CDCVM")
	require.True(t, a.Last().CDCVM)
	require.Equal(t, []bool{false, true}, hd.done)
}

func TestMChipPhoneCases(t *testing.T) {
	for _, tc := range []struct {
		name       string
		always     bool
		cvmResults string
		trmd       string
		msi        string
		cid        byte
		pcii       string
	}{
		{"low value, no CVM: approved without CDCVM", false, "3F0002", "0000000000000000", "01", 0x80, "000000"},
		{"MSI: OD-CVM required", false, "3F0002", "0000000000000000", "03", 0x00, "000100"},
		{"TRMD says the CVM limit is exceeded", false, "3F0002", "0080000000000000", "01", 0x00, "000100"},
		{"kernel without mobile support: the card lets the kernel do its CVM", false, "420300", "0080000000000000", "00", 0x80, "000000"},
		{"HCE low value: OD-CVM required (R-S2e)", true, "3F0002", "0000000000000000", "01", 0x00, "000100"},
		{"HCE, kernel without mobile support: decline", true, "3F0002", "0000000000000000", "00", 0x00, "000100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd := &holder{always: tc.always}
			a := newApp(t, mcPhoneConfig(t, hd))
			x := newTx("000000050000")
			x.cvmResults, x.trmd, x.msi = h(tc.cvmResults), h(tc.trmd), h(tc.msi)
			r := mcTap(t, a, x, apdu.ARQC|apdu.CDARequest)
			m := decode(t, r.resp.Data)
			require.Equal(t, []byte{tc.cid}, m[0x9F27])
			require.Equal(t, h(tc.pcii), m[0xDF4B])
		})
	}
}

func TestTokenData(t *testing.T) {
	cfg := visaConfig(t, "visa18")
	cfg.Token = &emvapp.Token{RequestorID: "40010030273", PANLast4: "0010"}
	a := newApp(t, cfg)
	recs := a.Records()
	m := decode(t, recs[[2]byte{2, 1}])
	require.Equal(t, h("040010030273"), m[0x9F19])
	require.Equal(t, h("0010"), m[0x9F25])
}
