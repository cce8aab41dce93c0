package emvapp_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// A qVSDC card answers the PPSE entry, the FCI with the C-3 PDOL, and a GPO
// whose ARQC verifies at the issuer from the issuer master key (option B
// for Visa CVN 18 and 22, option A... as the CVN table says).
func TestVisaOnlineARQCVerifiesAtIssuer(t *testing.T) {
	for _, tc := range []struct {
		cvn    string
		iadLen int
		iad    string // expected 9F10 prefix
	}{
		{"visa10", 7, "06010A03200000"},
		{"visa18", 7, "06011203200000"},
		{"visa22", 32, "1F2201200000000000"},
	} {
		t.Run(tc.cvn, func(t *testing.T) {
			cfg := visaConfig(t, tc.cvn)
			a := newApp(t, cfg)
			x := newTx("000000012500")
			x.ttq = h("36804000") // online cryptogram required, no CVM required
			_, resp := gpo(t, a, x)
			require.Equal(t, apdu.SW9000, resp.SW)
			l, err := tlv.Decode(resp.Data)
			require.NoError(t, err)
			require.Equal(t, tlv.Tag(0x77), l[0].Tag)
			m := l.Map()
			require.Equal(t, []byte{0x80}, m[0x9F27], "ARQC")
			require.Equal(t, []byte{0x00, 0x01}, m[0x9F36], "first ATC")
			require.Len(t, m[0x9F10], tc.iadLen)
			require.Equal(t, h(tc.iad), m[0x9F10][:len(h(tc.iad))])
			require.Equal(t, h("2000"), m[0x9F6C], "CTQ: no CVM asked")
			require.Equal(t, h("20700000"), m[0x9F6E])
			require.Equal(t, h("01"), m[0x5F34])
			require.NotContains(t, m, tlv.Tag(0x9F4B), "no fDDA for an online cryptogram")
			require.NotContains(t, m, tlv.Tag(0x9F69), "9F69 only with fDDA on a plastic card")
			require.Equal(t, h("2000"), m[0x82])
			require.Equal(t, h("4761739001010010D29122010000000000000F"), m[0x57])

			// Issuer side: derive the ICC MK from the IMK and check the ARQC.
			cvn := lookup(t, tc.cvn)
			mk, err := cvn.DeriveMK(imk, visaPAN, "01")
			require.NoError(t, err)
			tags := cryptoTags(x, m[0x82], m[0x9F36], m[0x9F10])
			require.NoError(t, cvn.VerifyARQC(mk, tags, m[0x9F26]))
			tags[0x9F02] = h("000000012600")
			require.Error(t, cvn.VerifyARQC(mk, tags, m[0x9F26]), "another amount does not verify")

			require.Equal(t, emvapp.Result{ATC: 1, CID: 0x80}, a.Last())
			require.Equal(t, uint16(1), a.State().LastOnlineATC)
		})
	}
}

// The longest GPO response (format 2 IAD, fDDA, form factor, 9F69) fits a
// short R-APDU, and a 19-digit PAN gives 19 bytes of track 2.
func TestVisaLongestResponse(t *testing.T) {
	for _, cvn := range []string{"visa10", "visa18", "visa22"} {
		cfg := visaConfig(t, cvn)
		cfg.PAN = "4761739001010010123"
		cfg.ODA = odaFor(t, cfg.PAN, "icc-a")
		cfg.Holder = &holder{verified: true}
		cfg.DeviceID = h("0102030405060708")
		a := newApp(t, cfg)
		x := newTx("000000010000")
		x.ttq = h("36004000")
		_, resp := gpo(t, a, x)
		require.Equal(t, apdu.SW9000, resp.SW, cvn)
		require.LessOrEqual(t, len(resp.Data), 256)
		m := decode(t, resp.Data)
		require.Contains(t, m, tlv.Tag(0x9F4B), cvn)
		require.Len(t, m[0x57], 19)
		require.Equal(t, h("4761739001010010123D2912201000000000"), m[0x57][:18])
	}
}

// Offline approval: the card returns a TC with an fDDA signature that the
// terminal verifies with the test CA's public key, the records and the AIP.
func TestVisaOfflineTCWithFDDA(t *testing.T) {
	a := newApp(t, visaConfig(t, "visa18"))
	x := newTx("000000050000")
	x.ttq = h("36004000")
	_, resp := gpo(t, a, x)
	require.Equal(t, apdu.SW9000, resp.SW)
	m := decode(t, resp.Data)
	require.Equal(t, []byte{0x40}, m[0x9F27], "TC")
	require.Len(t, m[0x9F69], 7)
	require.Equal(t, byte(0x01), m[0x9F69][0], "fDDA version 01")
	require.Equal(t, m[0x9F6C], m[0x9F69][5:7], "9F69 carries the CTQ")
	require.Equal(t, h("06011203100002"), m[0x9F10], "CVR: TC, DDA performed")

	recs, static := readRecords(t, a, m[0x94], m[0x82])
	require.Equal(t, h("4761739001010010"), recs[0x5A])
	require.Equal(t, h("291231"), recs[0x5F24])
	require.Equal(t, h("240101"), recs[0x5F25])
	require.Equal(t, []byte("TAPSIM/VISA"), recs[0x5F20])
	icc, err := recoverICC(t, recs, static, visaPAN)
	require.NoError(t, err)
	data, err := oda.FDDAData(x.un, x.amount, x.currency, m[0x9F69])
	require.NoError(t, err)
	dyn, err := oda.VerifyDDA(icc, m[0x9F4B], data)
	require.NoError(t, err)
	require.Equal(t, m[0x9F36], dyn.Number, "ICC dynamic number is the ATC")

	// Changing what the signature covers breaks it.
	data2, _ := oda.FDDAData(x.un, h("000000050001"), x.currency, m[0x9F69])
	_, err = oda.VerifyDDA(icc, m[0x9F4B], data2)
	require.ErrorIs(t, err, oda.ErrHash)

	// The TC verifies at the issuer too.
	cvn := lookup(t, "visa18")
	mk, _ := cvn.DeriveMK(imk, visaPAN, "01")
	require.NoError(t, cvn.VerifyARQC(mk, cryptoTags(x, m[0x82], m[0x9F36], m[0x9F10]), m[0x9F26]))
	require.Equal(t, emvapp.State{ATC: 1, ConsecutiveOffline: 1, CumulativeOffline: 50000}, a.State())
	require.True(t, a.Last().Signed)
}

// Card risk management: offline approvals stop at the consecutive limit and
// at the cumulative amount; an online cryptogram resets the counters.
func TestVisaOfflineLimits(t *testing.T) {
	a := newApp(t, visaConfig(t, "visa18"))
	x := newTx("000000040000")
	x.ttq = h("36004000")
	cids := []byte{}
	for range 4 {
		_, resp := gpo(t, a, x)
		require.Equal(t, apdu.SW9000, resp.SW)
		cids = append(cids, decode(t, resp.Data)[0x9F27][0])
	}
	require.Equal(t, []byte{0x40, 0x40, 0x40, 0x80}, cids, "3 offline approvals, then online")
	require.Equal(t, 0, a.State().ConsecutiveOffline)

	x.amount = h("000000150000")
	_, resp := gpo(t, a, x)
	require.Equal(t, []byte{0x40}, decode(t, resp.Data)[0x9F27])
	_, resp = gpo(t, a, x)
	require.Equal(t, []byte{0x80}, decode(t, resp.Data)[0x9F27], "cumulative offline amount would pass 2000.00")

	// An offline-only reader gets a decline instead of an ARQC.
	x.ttq = h("3E804000")
	_, resp = gpo(t, a, x)
	require.Equal(t, []byte{0x00}, decode(t, resp.Data)[0x9F27])
}

// CVM required: the card asks for online PIN, else signature, per what it
// and the terminal support (CTQ byte 1).
func TestVisaCVM(t *testing.T) {
	for _, tc := range []struct {
		name string
		cvms emvapp.CVMs
		ttq  string
		ctq  string
		cid  byte
	}{
		{"online PIN", emvapp.CVMs{OnlinePIN: true, Signature: true}, "36C04000", "A000", 0x80},
		{"signature when no online PIN on the card", emvapp.CVMs{Signature: true}, "36C04000", "6000", 0x80},
		{"signature when the terminal has no PIN pad", emvapp.CVMs{OnlinePIN: true, Signature: true}, "32C04000", "6000", 0x80},
		{"no common CVM", emvapp.CVMs{OnlinePIN: true}, "32C04000", "2000", 0x80},
		{"online PIN forces online", emvapp.CVMs{OnlinePIN: true}, "36404000", "A000", 0x80},
		{"no CVM required", emvapp.CVMs{OnlinePIN: true}, "36804000", "2000", 0x80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := visaConfig(t, "visa18")
			cfg.CVMs = tc.cvms
			a := newApp(t, cfg)
			x := newTx("000000350000")
			x.ttq = h(tc.ttq)
			_, resp := gpo(t, a, x)
			require.Equal(t, apdu.SW9000, resp.SW)
			m := decode(t, resp.Data)
			require.Equal(t, h(tc.ctq), m[0x9F6C])
			require.Equal(t, []byte{tc.cid}, m[0x9F27])
		})
	}
}

// A tampered certificate on the card makes the terminal's recovery fail.
func TestVisaTamperedCertificates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		issuer bool
		object oda.Object
	}{
		{"issuer certificate", true, oda.ObjectIssuerCert},
		{"ICC certificate", false, oda.ObjectICCCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := visaConfig(t, "visa18")
			cfg.ODA.TamperIssuerCert = tc.issuer
			cfg.ODA.TamperICCCert = !tc.issuer
			a := newApp(t, cfg)
			x := newTx("000000010000")
			x.ttq = h("36004000")
			_, resp := gpo(t, a, x)
			m := decode(t, resp.Data)
			require.Contains(t, m, tlv.Tag(0x9F4B), "the card still signs")
			recs, static := readRecords(t, a, m[0x94], m[0x82])
			_, err := recoverICC(t, recs, static, visaPAN)
			var oe *oda.Error
			require.ErrorAs(t, err, &oe)
			require.Equal(t, tc.object, oe.Object)
		})
	}
	cfg := visaConfig(t, "visa18")
	cfg.ODA.TamperICCCert = true
	cfg.ODA.Tamper = nil
	_, err := emvapp.New(cfg)
	require.ErrorIs(t, err, emvapp.ErrConfig)
}

// A card without ODA keys does not claim fDDA and signs nothing.
func TestVisaWithoutODA(t *testing.T) {
	cfg := visaConfig(t, "visa18")
	cfg.ODA = nil
	a := newApp(t, cfg)
	x := newTx("000000010000")
	x.ttq = h("36004000")
	_, resp := gpo(t, a, x)
	m := decode(t, resp.Data)
	require.Equal(t, h("0000"), m[0x82])
	require.Equal(t, h("10010100"), m[0x94])
	require.Equal(t, []byte{0x40}, m[0x9F27])
	require.NotContains(t, m, tlv.Tag(0x9F4B))
	require.NotContains(t, m, tlv.Tag(0x9F69))
	require.Nil(t, a.ICC())
}

func TestVisaCommandErrors(t *testing.T) {
	a := newApp(t, visaConfig(t, "visa18"))
	x := newTx("000000010000")
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GPO(nil)).SW, "nothing selected")
	sel := selectApp(t, a)
	require.Equal(t, apdu.SW9000, sel.SW)
	pdolData := tlv.BuildDOL(pdolOf(t, sel.Data), x.source)
	bad := apdu.GPO(pdolData)
	bad.P2 = 1
	require.Equal(t, apdu.SW6A86, run(t, a, bad).SW)
	require.Equal(t, apdu.SW6700, run(t, a, apdu.GPO(pdolData[:10])).SW)
	require.Equal(t, apdu.SW6700, run(t, a, apdu.Command{CLA: 0x80, INS: 0xA8, Data: []byte{0x83, 0x40}}).SW)
	x.ttq = h("80004000") // MSD only
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GPO(tlv.BuildDOL(pdolOf(t, sel.Data), x.source))).SW)
	require.Equal(t, uint16(0), a.State().ATC, "no transaction started")
	x.ttq = h("36004000")
	require.Equal(t, apdu.SW9000, run(t, a, apdu.GPO(tlv.BuildDOL(pdolOf(t, sel.Data), x.source))).SW)
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GPO(tlv.BuildDOL(pdolOf(t, sel.Data), x.source))).SW, "one GPO per selection")
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GenerateAC(apdu.ARQC, nil)).SW, "qVSDC has no GENERATE AC")
	require.Equal(t, apdu.SW6A83, run(t, a, apdu.ReadRecord(2, 9)).SW)
	require.Equal(t, apdu.SW6A82, run(t, a, apdu.ReadRecord(9, 1)).SW)
	require.Equal(t, apdu.SW6A86, run(t, a, apdu.Command{CLA: 0x00, INS: 0xB2, P1: 1, P2: 0x10}).SW)
	require.Equal(t, apdu.SW6A86, run(t, a, apdu.Command{CLA: 0x00, INS: 0xB2, P1: 0, P2: 0x14}).SW)
	require.Equal(t, apdu.SW6D00, run(t, a, apdu.Command{CLA: 0x80, INS: 0x2A}).SW)
	gd := run(t, a, apdu.GetData(0x9F36))
	require.Equal(t, apdu.SW9000, gd.SW)
	require.Equal(t, h("9F36020001"), gd.Data)
	require.Equal(t, apdu.SW6A88, run(t, a, apdu.GetData(0x9F17)).SW)
	a.Deselect()
	require.Equal(t, apdu.SW6985, run(t, a, apdu.ReadRecord(2, 1)).SW, "deselected")
}

func TestFaultsAndBlocked(t *testing.T) {
	cfg := visaConfig(t, "visa18")
	cfg.Faults = map[byte]uint16{0xA8: 0x6F00}
	a := newApp(t, cfg)
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	require.Equal(t, uint16(0x6F00), run(t, a, apdu.GPO(make([]byte, 33))).SW)

	cfg = visaConfig(t, "visa18")
	cfg.Faults = map[byte]uint16{0xA4: 0x6A81}
	a = newApp(t, cfg)
	require.Equal(t, apdu.SW6A81, selectApp(t, a).SW)

	cfg = visaConfig(t, "visa18")
	cfg.Blocked = true
	a = newApp(t, cfg)
	r := selectApp(t, a)
	require.Equal(t, apdu.SW6283, r.SW)
	require.NotEmpty(t, r.Data, "a blocked application still returns its FCI")
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GPO(make([]byte, 33))).SW)
}

func TestFCIAndDirectoryEntry(t *testing.T) {
	a := newApp(t, visaConfig(t, "visa18"))
	require.Equal(t, h("4F07A0000000031010500B56495341204352454449548701019F2A0103"), a.DirectoryEntry())
	fci := selectApp(t, a)
	require.Equal(t, h("6F3D8407A0000000031010A532500B56495341204352454449548701019F38189F66049F02069F03069F1A0295055F2A029A039C019F37045F2D047A68656E"), fci.Data)

	m := newApp(t, mcConfig(t, "mc16"))
	require.Equal(t, h("4F07A0000000041010500A4D4153544552434152448701019F2A0102"), m.DirectoryEntry())
	require.Nil(t, pdolOf(t, selectApp(t, m).Data), "no PDOL on an M/Chip plastic card")
}

func TestStateAndATC(t *testing.T) {
	a := newApp(t, visaConfig(t, "visa18"))
	a.SetState(emvapp.State{ATC: 0x00FF})
	x := newTx("000000010000")
	x.ttq = h("36804000")
	_, resp := gpo(t, a, x)
	require.Equal(t, h("0100"), decode(t, resp.Data)[0x9F36])
	a.SetState(emvapp.State{ATC: 0xFFFF})
	_, resp = gpo(t, a, x)
	require.Equal(t, apdu.SW6985, resp.SW, "ATC exhausted")
}
