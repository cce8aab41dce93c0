package emvapp_test

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

var (
	imk      = keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF")
	visaPAN  = "4761739001010010"
	mcPAN    = "5413330089010012"
	testNow  = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	expiry   = emvapp.Date{Year: 2029, Month: 12}
	visaAID  = h("A0000000031010")
	mcAID    = h("A0000000041010")
	zeroRand = func() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0x5C}, 1<<16)) }
)

func lookup(t testing.TB, name string) *cryptogram.CVN {
	t.Helper()
	c, err := cryptogram.Lookup(name)
	require.NoError(t, err)
	return c
}

// odaFor returns an ODA configuration from the test CA.
func odaFor(t testing.TB, pan string, iccKey string) *emvapp.ODA {
	t.Helper()
	is, err := testca.Issuer(testca.CAIndex1408, "issuer-a", oda.IssuerTemplate{IssuerID: pan[:6], Expiry: oda.Date{Year: 2031, Month: 12}, Serial: [3]byte{0, 0, 1}})
	require.NoError(t, err)
	k, err := testca.ICCKey(iccKey)
	require.NoError(t, err)
	return &emvapp.ODA{CAIndex: testca.CAIndex1408, Issuer: is, ICCKey: k, ICCSerial: [3]byte{0, 0, 2}, Tamper: testca.Tamper}
}

// visaConfig is a Visa plastic card with fDDA.
func visaConfig(t testing.TB, cvn string) emvapp.Config {
	t.Helper()
	c := lookup(t, cvn)
	mk, err := c.DeriveMK(imk, visaPAN, "01")
	require.NoError(t, err)
	return emvapp.Config{
		Scheme: emvapp.Visa, AID: visaAID, Label: "VISA CREDIT", Priority: 1,
		PAN: visaPAN, PSN: "01", Expiry: expiry, Effective: emvapp.Date{Year: 2024, Month: 1},
		Name: "TAPSIM/VISA", CVN: c, DKI: 1, Keys: emvapp.MasterKey{MK: mk},
		CVMs:       emvapp.CVMs{OnlinePIN: true, Signature: true},
		FormFactor: h("20700000"),
		Offline:    emvapp.Offline{Allowed: true, MaxConsecutive: 3, Limit: 200000},
		ODA:        odaFor(t, visaPAN, "icc-a"),
		Rand:       zeroRand(),
	}
}

// mcConfig is a Mastercard plastic card with CDA.
func mcConfig(t testing.TB, cvn string) emvapp.Config {
	t.Helper()
	c := lookup(t, cvn)
	mk, err := c.DeriveMK(imk, mcPAN, "01")
	require.NoError(t, err)
	return emvapp.Config{
		Scheme: emvapp.Mastercard, AID: mcAID, Label: "MASTERCARD", Priority: 1,
		PAN: mcPAN, PSN: "01", Expiry: expiry, Name: "TAPSIM/MC", CVN: c, DKI: 1,
		Keys:    emvapp.MasterKey{MK: mk},
		Offline: emvapp.Offline{Allowed: true, MaxConsecutive: 3, Limit: 200000},
		ODA:     odaFor(t, mcPAN, "icc-b"),
		Rand:    zeroRand(),
	}
}

func newApp(t testing.TB, cfg emvapp.Config) *emvapp.App {
	t.Helper()
	a, err := emvapp.New(cfg)
	require.NoError(t, err)
	return a
}

// run sends a command to the application and splits the answer.
func run(t testing.TB, a *emvapp.App, c apdu.Command) apdu.Response {
	t.Helper()
	r, err := apdu.ParseResponse(a.Process(c))
	require.NoError(t, err)
	return r
}

func selectApp(t testing.TB, a *emvapp.App) apdu.Response {
	t.Helper()
	r, err := apdu.ParseResponse(a.Select())
	require.NoError(t, err)
	return r
}

// txData is the terminal's side of one transaction.
type txData struct {
	amount, other, country, tvr, currency, date, ttype, un, ttq []byte
	termType, cvmResults, trmd, msi                             []byte
	// opID is the DS Requested Operator ID (9F5C); nil: none.
	opID []byte
}

func newTx(amount string) txData {
	return txData{
		amount: h(amount), other: h("000000000000"), country: h("0158"), tvr: h("0000000000"),
		currency: h("0901"), date: h("261124"), ttype: h("00"), un: h("A1B2C3D4"),
		ttq: h("36004000"), termType: h("22"), cvmResults: h("3F0002"), trmd: make([]byte, 8), msi: h("03"),
	}
}

func (x txData) source(tag tlv.Tag) ([]byte, bool) {
	m := map[tlv.Tag][]byte{
		0x9F02: x.amount, 0x9F03: x.other, 0x9F1A: x.country, 0x95: x.tvr, 0x5F2A: x.currency,
		0x9A: x.date, 0x9C: x.ttype, 0x9F37: x.un, 0x9F66: x.ttq, 0x9F35: x.termType,
		0x9F34: x.cvmResults, 0x9F1D: x.trmd, 0x9F7E: x.msi, 0x9F5C: x.opID,
	}
	v, ok := m[tag]
	return v, ok
}

// pdolOf reads the PDOL from an FCI.
func pdolOf(t testing.TB, fci []byte) tlv.DOL {
	t.Helper()
	l, err := tlv.Decode(fci)
	require.NoError(t, err)
	p, ok := l.Find(0x9F38)
	if !ok {
		return nil
	}
	d, err := tlv.ParseDOL(p.Value)
	require.NoError(t, err)
	return d
}

// gpo selects the application and sends GPO with the PDOL data; it returns
// the PDOL data and the response.
func gpo(t testing.TB, a *emvapp.App, x txData) ([]byte, apdu.Response) {
	t.Helper()
	sel := selectApp(t, a)
	require.Equal(t, apdu.SW9000, sel.SW)
	pdolData := tlv.BuildDOL(pdolOf(t, sel.Data), x.source)
	return pdolData, run(t, a, apdu.GPO(pdolData))
}

func decode(t testing.TB, b []byte) tlv.Map {
	t.Helper()
	l, err := tlv.Decode(b)
	require.NoError(t, err)
	return l.Map()
}

// readRecords reads every record the AFL names and returns the data found
// and the static data to be authenticated (EMV Book 3 section 10.3).
func readRecords(t testing.TB, a *emvapp.App, afl []byte, aip []byte) (tlv.Map, []byte) {
	t.Helper()
	require.Zero(t, len(afl)%4)
	all := tlv.Map{}
	var static []byte
	for i := 0; i < len(afl); i += 4 {
		sfi, first, last, odaN := afl[i]>>3, afl[i+1], afl[i+2], afl[i+3]
		for r := first; r <= last; r++ {
			resp := run(t, a, apdu.ReadRecord(sfi, r))
			require.Equal(t, apdu.SW9000, resp.SW, "SFI %d record %d", sfi, r)
			l, err := tlv.Decode(resp.Data)
			require.NoError(t, err)
			require.Len(t, l, 1)
			require.Equal(t, tlv.Tag(0x70), l[0].Tag)
			if r < first+odaN {
				static = append(static, l[0].Value...)
			}
			for k, v := range l.Map() {
				all[k] = v
			}
		}
	}
	if tl, ok := all[0x9F4A]; ok && bytes.Equal(tl, []byte{0x82}) {
		static = append(static, aip...)
	}
	return all, static
}

// recoverICC recovers the ICC public key from the records as a terminal does.
func recoverICC(t testing.TB, recs tlv.Map, static []byte, pan string) (oda.PublicKey, error) {
	t.Helper()
	pubs, err := testca.CAPublicKeys()
	require.NoError(t, err)
	store, err := oda.NewCAStore(pubs...)
	require.NoError(t, err)
	idx := recs[0x8F]
	require.Len(t, idx, 1)
	capk, err := store.Lookup(oda.TestRID, idx[0], testNow)
	require.NoError(t, err)
	ipk, err := oda.RecoverIssuerPublicKey(capk, oda.Certificate{Data: recs[0x90], Remainder: recs[0x92], Exponent: recs[0x9F32]}, pan, testNow)
	if err != nil {
		return oda.PublicKey{}, err
	}
	cpk, err := oda.RecoverICCPublicKey(ipk.PublicKey, oda.Certificate{Data: recs[0x9F46], Remainder: recs[0x9F48], Exponent: recs[0x9F47]}, pan, static, testNow)
	if err != nil {
		return oda.PublicKey{}, err
	}
	return cpk.PublicKey, nil
}

// cryptoTags assembles the cryptogram inputs an issuer would get in DE 55.
func cryptoTags(x txData, aip, atc, iad []byte) cryptogram.Values {
	return cryptogram.Values{
		0x9F02: x.amount, 0x9F03: x.other, 0x9F1A: x.country, 0x95: x.tvr, 0x5F2A: x.currency,
		0x9A: x.date, 0x9C: x.ttype, 0x9F37: x.un, 0x82: aip, 0x9F36: atc, 0x9F10: iad,
	}
}
