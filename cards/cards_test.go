package cards

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/apdu"
	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var testTime = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func opts() Options {
	return Options{Rand: bytes.NewReader(bytes.Repeat([]byte{0xA5}, 1<<20)), Clock: func() time.Time { return testTime }}
}

func build(t testing.TB, name string) (Profile, Card) {
	t.Helper()
	p, err := Builtin(name)
	require.NoError(t, err)
	c, err := FromProfile(p, opts())
	require.NoError(t, err)
	return p, c
}

// terminal is the little reader these tests tap with: the data a C-2 or C-3
// kernel would send, and what it saw.
type terminal struct {
	amount     string
	ttq        string // C-3
	cvmResults string // C-2 9F34
	msi        string // C-2 9F7E
	un         string
}

func defaultTerminal(amount string) terminal {
	return terminal{amount: amount, ttq: "36804000", cvmResults: "3F0002", msi: "01", un: "0BADCAFE"}
}

func (x terminal) source(tag tlv.Tag) ([]byte, bool) {
	v, ok := map[tlv.Tag]string{
		0x9F02: x.amount, 0x9F03: "000000000000", 0x9F1A: "0158", 0x95: "0000000000", 0x5F2A: "0901",
		0x9A: "261124", 0x9C: "00", 0x9F37: x.un, 0x9F66: x.ttq, 0x9F35: "22", 0x9F34: x.cvmResults,
		0x9F1D: "0000000000000000", 0x9F7E: x.msi,
	}[tag]
	if !ok {
		return nil, false
	}
	return h(v), true
}

type tapResult struct {
	sw       uint16 // status of the last command
	step     string // where it stopped
	aid      []byte
	fci      tlv.Map
	gpo      tlv.Map
	recs     tlv.Map
	static   []byte
	ac       tlv.Map
	acRaw    []byte
	pdolData []byte
	cdolData []byte
}

func send(t testing.TB, c Card, cmd apdu.Command) apdu.Response {
	t.Helper()
	b, err := cmd.Bytes()
	require.NoError(t, err)
	r, err := apdu.ParseResponse(c.Process(b))
	require.NoError(t, err)
	return r
}

func dec(t testing.TB, b []byte) tlv.Map {
	t.Helper()
	l, err := tlv.Decode(b)
	require.NoError(t, err)
	return l.Map()
}

// tap runs one contactless transaction: PPSE, SELECT of the highest
// priority entry, GPO, READ RECORDs, and for kernel 2 GENERATE AC (ARQC with
// CDA).
func tap(t testing.TB, c Card, x terminal) tapResult {
	t.Helper()
	c.Reset()
	var res tapResult
	r := send(t, c, apdu.SelectPPSE())
	if res.sw, res.step = r.SW, "ppse"; r.SW != apdu.SW9000 {
		return res
	}
	l, err := tlv.Decode(r.Data)
	require.NoError(t, err)
	best, kernel := []byte(nil), byte(0)
	prio := 16
	for _, e := range l.FindAll(0x61) {
		m := tlv.List(e.Children).Map()
		p := 15
		if v, ok := m[0x87]; ok {
			p = int(v[0] & 0x0F)
		}
		if p < prio {
			prio, best, kernel = p, m[0x4F], m[0x9F2A][0]
		}
	}
	res.aid = best
	r = send(t, c, apdu.Select(best, true))
	if res.sw, res.step = r.SW, "select"; r.SW != apdu.SW9000 {
		return res
	}
	res.fci = dec(t, r.Data)
	var pdol tlv.DOL
	if v, ok := res.fci[0x9F38]; ok {
		pdol, err = tlv.ParseDOL(v)
		require.NoError(t, err)
	}
	res.pdolData = tlv.BuildDOL(pdol, x.source)
	r = send(t, c, apdu.GPO(res.pdolData))
	if res.sw, res.step = r.SW, "gpo"; r.SW != apdu.SW9000 {
		return res
	}
	res.gpo = dec(t, r.Data)
	res.recs = tlv.Map{}
	afl := res.gpo[0x94]
	for i := 0; i+3 < len(afl); i += 4 {
		for n := afl[i+1]; n <= afl[i+2]; n++ {
			r = send(t, c, apdu.ReadRecord(afl[i]>>3, n))
			if res.sw, res.step = r.SW, "read record"; r.SW != apdu.SW9000 {
				return res
			}
			rl, err := tlv.Decode(r.Data)
			require.NoError(t, err)
			if n < afl[i+1]+afl[i+3] {
				res.static = append(res.static, rl[0].Value...)
			}
			for k, v := range rl.Map() {
				res.recs[k] = v
			}
		}
	}
	if v := res.recs[0x9F4A]; bytes.Equal(v, []byte{0x82}) {
		res.static = append(res.static, res.gpo[0x82]...)
	}
	if kernel != 2 {
		return res
	}
	cdol, err := tlv.ParseDOL(res.recs[0x8C])
	require.NoError(t, err)
	res.cdolData = tlv.BuildDOL(cdol, x.source)
	r = send(t, c, apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, res.cdolData))
	if res.sw, res.step = r.SW, "generate ac"; r.SW != apdu.SW9000 {
		return res
	}
	res.acRaw = r.Data
	res.ac = dec(t, r.Data)
	return res
}

// cryptogramOf returns CID, AC, ATC, IAD of the transaction, checking the
// CDA signature when there is one.
func (res tapResult) check(t testing.TB, x terminal, pan string) (cid byte, ac, atc, iad []byte) {
	t.Helper()
	m := res.gpo
	if res.ac != nil {
		m = res.ac
	}
	cid, atc, iad, ac = m[0x9F27][0], m[0x9F36], m[0x9F10], m[0x9F26]
	if sdad, ok := m[0x9F4B]; ok {
		icc := recoverICC(t, res, pan)
		if res.ac != nil {
			l, err := tlv.Decode(res.acRaw)
			require.NoError(t, err)
			d, err := oda.VerifyCDA(icc, sdad, oda.CDAInput{UnpredictableNumber: h(x.un), CID: cid,
				Transaction: oda.TransactionData{PDOL: res.pdolData, CDOL1: res.cdolData, Response: l[0].Value}})
			require.NoError(t, err, "CDA")
			ac = d.AC
		} else {
			data, err := oda.FDDAData(h(x.un), h(x.amount), h("0901"), m[0x9F69])
			require.NoError(t, err)
			_, err = oda.VerifyDDA(icc, sdad, data)
			require.NoError(t, err, "fDDA")
		}
	}
	return cid, ac, atc, iad
}

func recoverICC(t testing.TB, res tapResult, pan string) oda.PublicKey {
	t.Helper()
	pubs, err := testca.CAPublicKeys()
	require.NoError(t, err)
	store, err := oda.NewCAStore(pubs...)
	require.NoError(t, err)
	capk, err := store.Lookup(oda.TestRID, res.recs[0x8F][0], testTime)
	require.NoError(t, err)
	ipk, err := oda.RecoverIssuerPublicKey(capk, oda.Certificate{Data: res.recs[0x90], Remainder: res.recs[0x92], Exponent: res.recs[0x9F32]}, pan, testTime)
	require.NoError(t, err)
	cpk, err := oda.RecoverICCPublicKey(ipk.PublicKey, oda.Certificate{Data: res.recs[0x9F46], Remainder: res.recs[0x9F48], Exponent: res.recs[0x9F47]}, pan, res.static, testTime)
	require.NoError(t, err)
	return cpk.PublicKey
}

// The sample cloud master keys every issuer instance loads (the lab's
// CloudIMK and CloudUMDIMK), from which the sample HCE phones' keys derive.
const (
	sampleCloudIMK    = "8A3F51C2D4E6079B1C2D3E4F50617283"
	sampleCloudUMDIMK = "3E7A19C5B2D40F6E81A7C3D95B0E2F46"
)

// issuerVerify checks a cryptogram as the issuer host does: from the
// profile's issuer master key, by the CVN named in 9F10; an HCE phone's
// from the sample cloud master keys, its mc-cloud UMD cryptogram
// verifying the cardholder.
func issuerVerify(t testing.TB, ap AppProfile, x terminal, aip, atc, iad, ac []byte) {
	t.Helper()
	tags := cryptogram.Values{}
	for _, tag := range cryptogram.MinimumDataSet() {
		if v, ok := x.source(tlv.Tag(tag)); ok {
			tags[tag] = v
		}
	}
	tags[cryptogram.TagAIP], tags[cryptogram.TagATC], tags[cryptogram.TagIssuerAppData] = aip, atc, iad
	if ap.CVN == "visa-cloud" || ap.CVN == "mc-cloud" {
		mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, sampleCloudIMK), ap.PAN, ap.PSN)
		require.NoError(t, err)
		parsed, err := emvcloud.ParseIAD(iad)
		require.NoError(t, err)
		if ap.CVN == "visa-cloud" {
			// The sample platform's account parameters index is 1.
			require.NoError(t, emvcloud.VerifyLUKAC(mk, 1, parsed.KeyIndex, tags, ac))
			return
		}
		mkUMD, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, sampleCloudUMDIMK), ap.PAN, ap.PSN)
		require.NoError(t, err)
		v, err := emvcloud.VerifyMC(mk, mkUMD, tags, ac)
		require.NoError(t, err)
		require.True(t, v.CardholderVerified(), "the UMD cryptogram of the profile's mobile PIN")
		return
	}
	cvn, err := cryptogram.DetectCVN(iad)
	require.NoError(t, err)
	require.Equal(t, ap.CVN, cvn.Name)
	imk, err := keys.New(keys.TDES, ap.IMK)
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(imk, ap.PAN, ap.PSN)
	require.NoError(t, err)
	require.NoError(t, cvn.VerifyARQC(mk, tags, ac))
}

// Every sample profile builds, answers a full tap (or the error it is made
// to give), and its cryptograms verify at the issuer and its signatures
// with the test CA.
func TestBuiltinProfiles(t *testing.T) {
	names := BuiltinNames()
	require.GreaterOrEqual(t, len(names), 20)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, c := build(t, name)
			require.NotEmpty(t, c.ATR())
			if ph, ok := Phone(c); ok {
				require.NoError(t, ph.UnlockBiometric(true))
			}
			x := defaultTerminal("000000012500")
			res := tap(t, c, x)
			switch name {
			case "visa-no-ppse", "visa-gpo-error", "mc-genac-error", "visa-blocked":
				want := map[string]string{"visa-no-ppse": "ppse", "visa-gpo-error": "gpo", "mc-genac-error": "generate ac", "visa-blocked": "select"}[name]
				require.Equal(t, want, res.step)
				require.NotEqual(t, apdu.SW9000, res.sw)
				return
			case "recorded-visa":
				require.Equal(t, "read record", res.step, "the trace covers PPSE to READ RECORD")
				require.Equal(t, apdu.SW9000, res.sw)
				return
			}
			require.Equal(t, apdu.SW9000, res.sw, "stopped at %s", res.step)
			aps := p.Apps
			if p.App != nil {
				aps = append([]AppProfile{*p.App}, aps...)
			}
			var ap AppProfile
			for _, a := range aps {
				if bytes.Equal(aidOf(a), res.aid) {
					ap = a
				}
			}
			require.NotEmpty(t, ap.PAN)
			if strings.Contains(name, "tampered") {
				_, err := recoverAnyway(res, ap.PAN)
				require.Error(t, err, "a tampered certificate does not recover")
				return
			}
			if strings.Contains(name, "expired") {
				require.Equal(t, h("240630"), res.recs[0x5F24])
			}
			cid, ac, atc, iad := res.check(t, x, ap.PAN)
			require.Contains(t, []byte{0x40, 0x80}, cid)
			issuerVerify(t, ap, x, res.gpo[0x82], atc, iad, ac)
		})
	}
}

// aidOf is the application's AID, the scheme's when the profile gives none.
func aidOf(a AppProfile) []byte {
	if a.AID != nil {
		return a.AID
	}
	if a.Scheme == "visa" {
		return h("A0000000031010")
	}
	return h("A0000000041010")
}

func recoverAnyway(res tapResult, pan string) (oda.PublicKey, error) {
	pubs, err := testca.CAPublicKeys()
	if err != nil {
		return oda.PublicKey{}, err
	}
	capk := pubs[res.recs[0x8F][0]-1]
	ipk, err := oda.RecoverIssuerPublicKey(capk, oda.Certificate{Data: res.recs[0x90], Remainder: res.recs[0x92], Exponent: res.recs[0x9F32]}, pan, testTime)
	if err != nil {
		return oda.PublicKey{}, err
	}
	cpk, err := oda.RecoverICCPublicKey(ipk.PublicKey, oda.Certificate{Data: res.recs[0x9F46], Remainder: res.recs[0x9F48], Exponent: res.recs[0x9F47]}, pan, res.static, testTime)
	if err != nil {
		return oda.PublicKey{}, err
	}
	return cpk.PublicKey, nil
}

// Same profile, same sources: the same card, answer for answer.
func TestDeterministic(t *testing.T) {
	for _, name := range []string{"visa-plastic", "mc-se-phone", "hce-phone"} {
		_, a := build(t, name)
		_, b := build(t, name)
		for _, c := range []Card{a, b} {
			if ph, ok := Phone(c); ok {
				ph.SetVerified(true)
			}
		}
		x := defaultTerminal("000000350000")
		require.Equal(t, tap(t, a, x), tap(t, b, x), name)
	}
}

func TestApplicationsHelper(t *testing.T) {
	_, c := build(t, "dual-brand")
	apps := Applications(c)
	require.Len(t, apps, 2)
	require.Equal(t, emvapp.Mastercard, apps[0].Scheme())
	_, ph := build(t, "visa-se-phone")
	require.Len(t, Applications(ph), 1)
	_, rec := build(t, "recorded-visa")
	require.Empty(t, Applications(rec))
	_, ok := Phone(rec)
	require.False(t, ok)
}

// cvrCDCVM reads this project's CDCVM flag of the CVR in 9F10 (Visa format
// 0/1/3: CVR byte 4 bit 1; Visa format 2: CVR byte 3 bit 4; Mastercard:
// CVR byte 6 bit 1), the only cardholder verification the issuer takes
// from a phone, because every CVN's cryptogram covers the CVR.
func cvrCDCVM(t testing.TB, iad []byte) bool {
	t.Helper()
	switch {
	case len(iad) == emvcloud.IADLength && iad[0] == 0x0A:
		p, err := emvcloud.ParseIAD(iad)
		require.NoError(t, err)
		return p.CDCVM()
	case len(iad) >= 7 && iad[0] == 0x06 && iad[3] == 0x03:
		return iad[6]&0x01 != 0
	case len(iad) == 32 && iad[0] == 0x1F:
		return iad[5]&0x08 != 0
	case len(iad) >= 8:
		return iad[7]&0x01 != 0
	}
	t.Fatalf("9F10 of unknown layout: %X", iad)
	return false
}

// Every phone sets the CVR's CDCVM flag when, and only when, its holder
// verified on the phone for this tap: an unverified phone either declines
// (See Phone, or an AAC) or goes online with the flag clear; a verified one
// goes online with it set, so that an issuer trusting only the
// cryptogram-covered CVR sees the truth (R-S2d, R-S2e).
func TestPhoneCVRCDCVMOnlyWhenVerified(t *testing.T) {
	for _, name := range []string{"visa-se-phone", "mc-se-phone", "hce-phone", "hce-phone-mc", "wallet-phone"} {
		t.Run(name, func(t *testing.T) {
			p, c := build(t, name)
			ph, ok := Phone(c)
			require.True(t, ok)
			ap := *p.App
			x := defaultTerminal("000000012500")

			res := tap(t, c, x)
			if res.sw == apdu.SW9000 {
				cid, _, _, iad := res.check(t, x, ap.PAN)
				require.False(t, cvrCDCVM(t, iad), "unverified: CVR %X (CID %02X)", iad, cid)
			} else {
				require.Equal(t, apdu.SW6986, res.sw, "unverified: See Phone at %s", res.step)
			}

			require.NoError(t, ph.UnlockBiometric(true))
			res = tap(t, c, x)
			require.Equal(t, apdu.SW9000, res.sw, "stopped at %s", res.step)
			cid, ac, atc, iad := res.check(t, x, ap.PAN)
			require.Equal(t, byte(0x80), cid, "verified: online")
			if ap.CVN != "mc-cloud" {
				// An mc-cloud card's verification is its UMD
				// cryptogram (issuerVerify), not a CVR flag.
				require.True(t, cvrCDCVM(t, iad), "verified: CVR %X", iad)
			}
			issuerVerify(t, ap, x, res.gpo[0x82], atc, iad, ac)
		})
	}
}
