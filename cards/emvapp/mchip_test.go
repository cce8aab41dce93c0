package emvapp_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// mcTap runs SELECT, GPO, the records and GENERATE AC as a C-2 kernel does;
// it returns the records, the static data, the PDOL and CDOL1 data and the
// GENERATE AC response.
type mcResult struct {
	gpo      tlv.Map
	recs     tlv.Map
	static   []byte
	pdolData []byte
	cdolData []byte
	resp     apdu.Response
}

func mcTap(t *testing.T, a *emvapp.App, x txData, p1 byte) mcResult {
	t.Helper()
	var r mcResult
	var g apdu.Response
	r.pdolData, g = gpo(t, a, x)
	require.Equal(t, apdu.SW9000, g.SW)
	l, err := tlv.Decode(g.Data)
	require.NoError(t, err)
	require.Equal(t, tlv.Tag(0x77), l[0].Tag)
	r.gpo = l.Map()
	r.recs, r.static = readRecords(t, a, r.gpo[0x94], r.gpo[0x82])
	cdol, err := tlv.ParseDOL(r.recs[0x8C])
	require.NoError(t, err)
	r.cdolData = tlv.BuildDOL(cdol, x.source)
	r.resp = run(t, a, apdu.GenerateAC(p1, r.cdolData))
	return r
}

// M/Chip with CDA: the signature verifies with emv/oda (transaction data
// hash over PDOL, CDOL1 and response data) and the ARQC inside it verifies
// at the issuer, for each Mastercard CVN.
func TestMChipCDAAndIssuerCheck(t *testing.T) {
	for _, name := range []string{"mc16", "mc17", "mc20", "mc21"} {
		t.Run(name, func(t *testing.T) {
			a := newApp(t, mcConfig(t, name))
			x := newTx("000000350000")
			r := mcTap(t, a, x, apdu.ARQC|apdu.CDARequest)
			require.Equal(t, apdu.SW9000, r.resp.SW)
			require.Equal(t, h("1980"), r.gpo[0x82], "AIP: CVM, TRM, CDA; EMV mode")
			require.Equal(t, h("08010100100101011801040000"[:24]), r.gpo[0x94])
			require.Equal(t, h("9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403"), r.recs[0x8C])
			require.Equal(t, h("000000000000000042031E031F03"), r.recs[0x8E])
			require.Equal(t, h("F45084800C"), r.recs[0x9F0D])
			require.Equal(t, h("01"), r.recs[0x5F34])
			require.Equal(t, h("5413330089010012D29122010000000000000F"), r.recs[0x57])

			l, err := tlv.Decode(r.resp.Data)
			require.NoError(t, err)
			require.Len(t, l, 1)
			m := l.Map()
			require.Equal(t, []byte{0x80}, m[0x9F27])
			require.NotContains(t, m, tlv.Tag(0x9F26), "with CDA the AC is inside the signature")
			require.NotContains(t, m, tlv.Tag(0xDF4B), "plastic cards send no PCII")
			require.Equal(t, h("01"), m[0x9F10][:1])
			require.Equal(t, byte(0x20), m[0x9F10][2], "CVR byte 1: ARQC")
			require.Equal(t, byte(0x40), m[0x9F10][3], "CVR byte 2: CDA")

			icc, err := recoverICC(t, r.recs, r.static, mcPAN)
			require.NoError(t, err)
			dyn, err := oda.VerifyCDA(icc, m[0x9F4B], oda.CDAInput{
				UnpredictableNumber: x.un, CID: 0x80,
				Transaction: oda.TransactionData{PDOL: r.pdolData, CDOL1: r.cdolData, Response: l[0].Value},
			})
			require.NoError(t, err)
			require.Len(t, dyn.Number, 8)
			require.Equal(t, dyn.Number[:2], m[0x9F10][8:10], "IAD carries the ICC dynamic number's first bytes")

			cvn := lookup(t, name)
			mk, err := cvn.DeriveMK(imk, mcPAN, "01")
			require.NoError(t, err)
			require.NoError(t, cvn.VerifyARQC(mk, cryptoTags(x, r.gpo[0x82], m[0x9F36], m[0x9F10]), dyn.AC))

			// A terminal that changed the CDOL1 data sees the hash fail.
			bad := append([]byte(nil), r.cdolData...)
			bad[5] ^= 1
			_, err = oda.VerifyCDA(icc, m[0x9F4B], oda.CDAInput{
				UnpredictableNumber: x.un, CID: 0x80,
				Transaction: oda.TransactionData{PDOL: r.pdolData, CDOL1: bad, Response: l[0].Value},
			})
			require.ErrorIs(t, err, oda.ErrTransactionHash)
		})
	}
}

func TestMChipCryptogramTypes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		p1         byte
		amount     string
		cid        byte
		signed     bool
		cdaOverAAC bool
	}{
		{"TC asked, offline allowed", apdu.TC | apdu.CDARequest, "000000010000", 0x40, true, false},
		{"TC asked above the card's offline limit", apdu.TC | apdu.CDARequest, "000000250000", 0x80, true, false},
		{"AAC asked", apdu.AAC | apdu.CDARequest, "000000010000", 0x00, false, false},
		{"AAC asked, CDA over AAC", apdu.AAC | apdu.CDARequest, "000000010000", 0x00, true, true},
		{"AAC without CDA, CDA over AAC", apdu.AAC, "000000010000", 0x00, false, true},
		{"ARQC without CDA", apdu.ARQC, "000000010000", 0x80, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mcConfig(t, "mc16")
			cfg.CDAOverAAC = tc.cdaOverAAC
			a := newApp(t, cfg)
			x := newTx(tc.amount)
			r := mcTap(t, a, x, tc.p1)
			require.Equal(t, apdu.SW9000, r.resp.SW)
			m := decode(t, r.resp.Data)
			require.Equal(t, []byte{tc.cid}, m[0x9F27])
			if tc.cdaOverAAC {
				require.Equal(t, byte(0x01), r.recs[0x9F5D][1]&0x01, "9F5D byte 2 b1")
			}
			if tc.signed {
				require.Contains(t, m, tlv.Tag(0x9F4B))
				require.NotContains(t, m, tlv.Tag(0x9F26))
			} else {
				require.NotContains(t, m, tlv.Tag(0x9F4B))
				cvn := lookup(t, "mc16")
				mk, _ := cvn.DeriveMK(imk, mcPAN, "01")
				require.NoError(t, cvn.VerifyARQC(mk, cryptoTags(x, r.gpo[0x82], m[0x9F36], m[0x9F10]), m[0x9F26]))
			}
			require.Equal(t, tc.signed, a.Last().Signed)
		})
	}
}

func TestMChipCommandErrors(t *testing.T) {
	a := newApp(t, mcConfig(t, "mc16"))
	x := newTx("000000010000")
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	cdol := tlv.BuildDOL(emvapp.DefaultCDOL1(false), x.source)
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GenerateAC(apdu.ARQC, cdol)).SW, "GENERATE AC before GPO")
	require.Equal(t, apdu.SW6700, run(t, a, apdu.GPO([]byte{1})).SW, "no PDOL: the data must be 83 00")
	require.Equal(t, apdu.SW9000, run(t, a, apdu.GPO(nil)).SW)
	require.Equal(t, apdu.SW6A86, run(t, a, apdu.GenerateAC(0xC0, cdol)).SW)
	require.Equal(t, apdu.SW6A86, run(t, a, apdu.GenerateAC(0x81, cdol)).SW)
	bad := apdu.GenerateAC(apdu.ARQC, cdol)
	bad.P2 = 1
	require.Equal(t, apdu.SW6A86, run(t, a, bad).SW)
	require.Equal(t, apdu.SW6700, run(t, a, apdu.GenerateAC(apdu.ARQC, cdol[1:])).SW)
	require.Equal(t, apdu.SW9000, run(t, a, apdu.GenerateAC(apdu.ARQC, cdol)).SW)
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GenerateAC(apdu.ARQC, cdol)).SW, "one GENERATE AC per transaction")
}

func TestMChipTamperedICCCertificate(t *testing.T) {
	cfg := mcConfig(t, "mc16")
	cfg.ODA.TamperICCCert = true
	a := newApp(t, cfg)
	r := mcTap(t, a, newTx("000000010000"), apdu.ARQC|apdu.CDARequest)
	_, err := recoverICC(t, r.recs, r.static, mcPAN)
	require.Error(t, err)
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*emvapp.Config)
	}{
		{"scheme", func(c *emvapp.Config) { c.Scheme = 0 }},
		{"AID", func(c *emvapp.Config) { c.AID = []byte{1, 2} }},
		{"label", func(c *emvapp.Config) { c.Label = "A LABEL LONGER THAN 16" }},
		{"PAN", func(c *emvapp.Config) { c.PAN = "12345" }},
		{"PSN", func(c *emvapp.Config) { c.PSN = "1A" }},
		{"expiry", func(c *emvapp.Config) { c.Expiry = emvapp.Date{} }},
		{"service code", func(c *emvapp.Config) { c.ServiceCode = "20" }},
		{"no CVN", func(c *emvapp.Config) { c.CVN = nil }},
		{"CVN of the other scheme", func(c *emvapp.Config) { c.CVN = lookup(t, "visa18") }},
		{"no keys", func(c *emvapp.Config) { c.Keys = nil }},
		{"no rand", func(c *emvapp.Config) { c.Rand = nil }},
		{"device ID", func(c *emvapp.Config) { c.DeviceID = make([]byte, 9) }},
		{"CTQ", func(c *emvapp.Config) { c.CTQ = []byte{1} }},
		{"AIP", func(c *emvapp.Config) { c.AIP = []byte{1} }},
		{"IAC", func(c *emvapp.Config) { c.IACDenial = []byte{1} }},
		{"token", func(c *emvapp.Config) { c.Token = &emvapp.Token{RequestorID: "1", PANLast4: "0012"} }},
		{"ODA without issuer", func(c *emvapp.Config) { c.ODA.Issuer = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mcConfig(t, "mc16")
			tc.edit(&cfg)
			_, err := emvapp.New(cfg)
			require.ErrorIs(t, err, emvapp.ErrConfig)
		})
	}
	s, err := emvapp.ParseScheme("MC")
	require.NoError(t, err)
	require.Equal(t, emvapp.Mastercard, s)
	require.Equal(t, "mastercard", s.String())
	_, err = emvapp.ParseScheme("amex")
	require.ErrorIs(t, err, emvapp.ErrConfig)
}

// TestMChipRelayResistance: the application announces the Relay Resistance
// Protocol in its AIP and answers EXCHANGE RELAY RESISTANCE DATA between GET
// PROCESSING OPTIONS and GENERATE AC with its entropy and times, telling
// Elapse how long each exchange takes (slow for the first SlowCount).
func TestMChipRelayResistance(t *testing.T) {
	cfg := mcConfig(t, "mc16")
	var took []time.Duration
	cfg.RelayResistance = &emvapp.RelayResistance{Min: time.Millisecond, Max: 5 * time.Millisecond,
		Transmission: 1800 * time.Microsecond, Processing: 2 * time.Millisecond, Slow: 20 * time.Millisecond, SlowCount: 1}
	cfg.Elapse = func(d time.Duration) { took = append(took, d) }
	a := newApp(t, cfg)
	errd := apdu.ExchangeRelayResistanceData([4]byte{1, 2, 3, 4})

	// Before GET PROCESSING OPTIONS: conditions of use not satisfied.
	selectApp(t, a)
	require.Equal(t, apdu.SW6985, run(t, a, errd).SW)

	x := newTx("000000050000")
	_, g := gpo(t, a, x)
	require.Equal(t, apdu.SW9000, g.SW)
	require.Equal(t, h("1981"), decode(t, g.Data)[0x82], "AIP byte 2 b1: relay resistance supported")
	for i := 0; i < 2; i++ {
		r := run(t, a, errd)
		require.Equal(t, apdu.SW9000, r.SW)
		l, err := tlv.Decode(r.Data)
		require.NoError(t, err)
		require.Equal(t, tlv.Tag(0x80), l[0].Tag)
		require.Len(t, l[0].Value, 10)
		require.Equal(t, h("000A 0032 0012"), l[0].Value[4:], "min 1 ms, max 5 ms, transmission 1.8 ms in 100 us")
	}
	require.Equal(t, []time.Duration{23600 * time.Microsecond, 5600 * time.Microsecond}, took, "slow once, then in time")
	bad := errd
	bad.Data = []byte{1, 2}
	require.Equal(t, apdu.SW6700, run(t, a, bad).SW)

	// Visa applications have no relay resistance.
	v := visaConfig(t, "visa18")
	v.RelayResistance = cfg.RelayResistance
	_, err := emvapp.New(v)
	require.ErrorIs(t, err, emvapp.ErrConfig)
}

// TestMChipMagStripe: a card without M/Chip answers COMPUTE CRYPTOGRAPHIC
// CHECKSUM once per transaction with CVC3s the issuer verifies over the
// tracks as personalised.
func TestMChipMagStripe(t *testing.T) {
	cfg := mcConfig(t, "mc16")
	cfg.MagStripe = &emvapp.MagStripe{Track1: true}
	mk := cfg.Keys.(emvapp.MasterKey).MK
	a := newApp(t, cfg)
	ccc := apdu.ComputeCryptographicChecksum(h("00012345"))
	selectApp(t, a)
	require.Equal(t, apdu.SW6985, run(t, a, ccc).SW, "before GET PROCESSING OPTIONS")

	x := newTx("000000050000")
	_, g := gpo(t, a, x)
	m := decode(t, g.Data)
	require.Equal(t, byte(0x00), m[0x82][1], "AIP: no EMV mode")
	recs, _ := readRecords(t, a, m[0x94], m[0x82])
	require.Equal(t, h("000E"), recs[0x9F65])
	require.Equal(t, h("0FF0"), recs[0x9F66])
	require.Equal(t, h("03"), recs[0x9F67])
	require.Equal(t, h("0001"), recs[0x9F6C])
	r := run(t, a, ccc)
	require.Equal(t, apdu.SW9000, r.SW)
	resp := decode(t, r.Data)
	atc := uint16(resp[0x9F36][0])<<8 | uint16(resp[0x9F36][1])
	require.NoError(t, cryptogram.VerifyCVC3(mk, recs[0x9F6B], h("00012345"), atc, resp[0x9F61]))
	require.NoError(t, cryptogram.VerifyCVC3(mk, recs[0x56], h("00012345"), atc, resp[0x9F60]))
	require.ErrorIs(t, cryptogram.VerifyCVC3(mk, recs[0x9F6B], h("00012346"), atc, resp[0x9F61]), cryptogram.ErrMismatch)
	require.Equal(t, apdu.SW6985, run(t, a, ccc).SW, "once per transaction")
	require.Equal(t, atc, a.State().LastOnlineATC, "counted as online")
}

// TestMChipMagStripePhone: a phone's COMPUTE CRYPTOGRAPHIC CHECKSUM response
// carries its POS Cardholder Interaction Information: 001000 (OD-CVM
// verification successful) when its holder is verified, 000000 otherwise;
// a plastic card gives none.
func TestMChipMagStripePhone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		holder emvapp.Holder
		pcii   []byte
	}{
		{"verified", &holder{verified: true}, h("001000")},
		{"not verified", &holder{}, h("000000")},
		{"plastic", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mcConfig(t, "mc16")
			cfg.MagStripe = &emvapp.MagStripe{}
			cfg.Holder = tc.holder
			a := newApp(t, cfg)
			selectApp(t, a)
			_, g := gpo(t, a, newTx("000000050000"))
			m := decode(t, g.Data)
			readRecords(t, a, m[0x94], m[0x82])
			r := run(t, a, apdu.ComputeCryptographicChecksum(h("00012345")))
			require.Equal(t, apdu.SW9000, r.SW)
			require.Equal(t, tc.pcii, decode(t, r.Data)[0xDF4B])
		})
	}
}

// TestMChipRecoverAC: a card with torn recovery announces its DRDOL and
// answers RECOVER AC with its last GENERATE AC response, once, for the same
// DRDOL related data only.
func TestMChipRecoverAC(t *testing.T) {
	cfg := mcConfig(t, "mc16")
	cfg.TornRecovery = true
	a := newApp(t, cfg)
	x := newTx("000000050000")
	r := mcTap(t, a, x, apdu.ARQC|apdu.CDARequest)
	require.Equal(t, apdu.SW9000, r.resp.SW)
	require.Equal(t, h("9F37049F0206"), r.recs[0x9F51])

	// The next presentation: a new GET PROCESSING OPTIONS, then RECOVER AC.
	_, g := gpo(t, a, x)
	require.Equal(t, apdu.SW9000, g.SW)
	require.Equal(t, apdu.SW6A88, run(t, a, apdu.RecoverAC(h("00000000 000000050000"))).SW, "other DRDOL data")
	got := run(t, a, apdu.RecoverAC(append(h("A1B2C3D4"), h("000000050000")...)))
	require.Equal(t, apdu.SW9000, got.SW)
	require.Equal(t, r.resp.Data, got.Data, "the torn response again")
	require.Equal(t, apdu.SW6985, run(t, a, apdu.GenerateAC(apdu.ARQC, r.cdolData)).SW, "the transaction is over")

	_, g = gpo(t, a, x)
	require.Equal(t, apdu.SW9000, g.SW)
	require.Equal(t, apdu.SW6A88, run(t, a, apdu.RecoverAC(append(h("A1B2C3D4"), h("000000050000")...))).SW, "once")
}

// TestMChipPutData: a Mastercard application takes PUT DATA (80 DA) of its
// writable tags, keeps the value across presentations and returns it with
// GET DATA; any other tag is refused with 6A88.
func TestMChipPutData(t *testing.T) {
	cfg := mcConfig(t, "mc16")
	cfg.WritableTags = []uint16{0xDF01}
	a := newApp(t, cfg)
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	require.Equal(t, apdu.SW6A88, run(t, a, apdu.GetData(0xDF01)).SW, "nothing written yet")
	put := apdu.Command{CLA: 0x80, INS: 0xDA, P1: 0xDF, P2: 0x01, Data: []byte{0x00, 0x07}}
	require.Equal(t, apdu.SW9000, run(t, a, put).SW)
	other := apdu.Command{CLA: 0x80, INS: 0xDA, P1: 0xDF, P2: 0x02, Data: []byte{0x01}}
	require.Equal(t, apdu.SW6A88, run(t, a, other).SW)
	a.Deselect()
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	r := run(t, a, apdu.GetData(0xDF01))
	require.Equal(t, apdu.SW9000, r.SW)
	require.Equal(t, []byte{0xDF, 0x01, 0x02, 0x00, 0x07}, r.Data)

	// Without writable tags every PUT DATA is refused.
	b := newApp(t, mcConfig(t, "mc16"))
	require.Equal(t, apdu.SW9000, selectApp(t, b).SW)
	require.Equal(t, apdu.SW6A88, run(t, b, put).SW)
}

// dsTerm is DSDOL related data: DS Input (Card), DS Digest H, DS ODS Info
// (permanent slot) and the DS ODS Term, as long as term.
func dsTerm(term []byte) []byte {
	d := append(make([]byte, 16), 0x80)
	return append(d, term...)
}

// fciData is the FCI's Issuer Discretionary Data (BF0C) by tag.
func fciData(t *testing.T, fci []byte) tlv.Map {
	t.Helper()
	l, err := tlv.Decode(fci)
	require.NoError(t, err)
	m := tlv.Map{}
	var walk func(tlv.List)
	walk = func(l tlv.List) {
		for _, o := range l {
			if o.Tag.Constructed() {
				walk(o.Children)
			} else {
				m[o.Tag] = o.Value
			}
		}
	}
	walk(l)
	return m
}

// TestMChipDataStorage: an application with Integrated Data Storage
// announces Data Storage version 1 (9F5D byte 1) with its DS ID in the FCI,
// the DSDOL in its records, and gives the slot's objects in the GET
// PROCESSING OPTIONS response; balance reading keeps its own bit.
func TestMChipDataStorage(t *testing.T) {
	cfg := mcConfig(t, "mc16")
	cfg.DataStorage = &emvapp.DataStorage{ODSCard: []byte("loyalty:0001"), Summary: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	cfg.BalanceReading = true
	a := newApp(t, cfg)
	fci := fciData(t, a.Select())
	require.Equal(t, []byte{0x01, 0x02, 0x00}, fci[0x9F5D])
	require.Equal(t, []byte{0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x00, 0x12, 0x01}, fci[0x9F5E], "DS ID: PAN and PSN digits")
	op := []byte{0x7A, 0x45, 0x12, 0x3E, 0xE5, 0x9C, 0x7F, 0x40}
	withOp := func(x txData) txData { x.opID = op; return x }
	r := mcTap(t, a, withOp(newTx("000000010000")), apdu.TC|apdu.CDARequest)
	require.Equal(t, apdu.SW9000, r.resp.SW)
	require.Nil(t, r.recs[0x9F5D], "not in the records as well")
	require.Equal(t, []byte{0x80}, r.gpo[0x9F5F], "a permanent slot")
	require.Equal(t, []byte{0x80}, r.gpo[0x9F6F])
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, r.gpo[0x9F7D], "DS Summary 1 in the GPO response")
	require.Len(t, r.gpo[0x9F7F], 4, "DS Unpredictable Number")
	require.Equal(t, []byte("loyalty:0001"), r.gpo[0x9F54])
	require.Equal(t, []byte{0xDF, 0x60, 0x08, 0xDF, 0x61, 0x08, 0xDF, 0x62, 0x01, 0xDF, 0x63, 0xA0}, r.recs[0x9F5B], "the book's example DSDOL")

	// A GENERATE AC carrying the DSDOL related data after the CDOL1 data
	// writes the slot: the next GET PROCESSING OPTIONS gives the new DS
	// ODS Card and summary.
	a.Deselect()
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	x := withOp(newTx("000000010000"))
	_, g := gpo(t, a, x)
	require.Equal(t, apdu.SW9000, g.SW)
	cdol, err := tlv.ParseDOL(r.recs[0x8C])
	require.NoError(t, err)
	data := append(tlv.BuildDOL(cdol, x.source), dsTerm([]byte("loyalty:0002"))...)
	require.Equal(t, apdu.SW9000, run(t, a, apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, data)).SW)
	a.Deselect()
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	_, g = gpo(t, a, x)
	l, err := tlv.Decode(g.Data)
	require.NoError(t, err)
	require.NotEqual(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, l.Map()[0x9F7D])
	require.Len(t, l.Map()[0x9F7D], 8)
	require.Equal(t, []byte("loyalty:0002"), l.Map()[0x9F54])

	// An empty slot gives a zero summary and no DS ODS Card; a volatile one
	// says so.
	cfg.DataStorage = &emvapp.DataStorage{Volatile: true}
	a = newApp(t, cfg)
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	_, g = gpo(t, a, withOp(newTx("000000010000")))
	l, err = tlv.Decode(g.Data)
	require.NoError(t, err)
	require.Equal(t, make([]byte, 8), l.Map()[0x9F7D])
	require.Nil(t, l.Map()[0x9F54])
	require.Equal(t, []byte{0x40}, l.Map()[0x9F5F])
}

// TestMChipDataStorageOperator: the PDOL asks for the DS Requested Operator
// ID; a reader without one, or with another operator's when the slot has
// an owner, gets no summary and cannot write; a locked slot keeps its
// summary after a write and, when the DS ODS Info asks for it, declines.
func TestMChipDataStorageOperator(t *testing.T) {
	op := []byte{0x7A, 0x45, 0x12, 0x3E, 0xE5, 0x9C, 0x7F, 0x40}
	summary := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	gpoSummary := func(a *emvapp.App, opID []byte) []byte {
		a.Deselect()
		require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
		x := newTx("000000010000")
		x.opID = opID
		_, g := gpo(t, a, x)
		require.Equal(t, apdu.SW9000, g.SW)
		l, err := tlv.Decode(g.Data)
		require.NoError(t, err)
		return l.Map()[0x9F7D]
	}
	cfg := mcConfig(t, "mc16")
	cfg.DataStorage = &emvapp.DataStorage{ODSCard: []byte{0xAA}, Summary: summary, OperatorID: op}
	a := newApp(t, cfg)
	require.Nil(t, gpoSummary(a, nil), "no operator ID")
	require.Nil(t, gpoSummary(a, make([]byte, 8)), "a zero operator ID")
	require.Nil(t, gpoSummary(a, []byte{1, 1, 1, 1, 1, 1, 1, 1}), "another operator")
	require.Equal(t, summary, gpoSummary(a, op))

	// A write without an operator ID is not one: the DSDOL data are not
	// expected, so the GENERATE AC data are the wrong length.
	a.Deselect()
	require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
	x := newTx("000000010000")
	_, g := gpo(t, a, x)
	require.Equal(t, apdu.SW9000, g.SW)
	data := append(tlv.BuildDOL(emvapp.DefaultCDOL1(false), x.source), dsTerm([]byte{0xBB})...)
	require.Equal(t, apdu.SW6700, run(t, a, apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, data)).SW)
	require.Equal(t, summary, gpoSummary(a, op))

	// A locked slot: the write leaves the summary as it was; with DS ODS
	// Info b4 (decline on a data storage error) the card gives an AAC.
	for _, odsInfo := range []byte{0x80, 0x88} {
		cfg.DataStorage = &emvapp.DataStorage{ODSCard: []byte{0xAA}, Summary: summary, Locked: true}
		a = newApp(t, cfg)
		require.Equal(t, apdu.SW9000, selectApp(t, a).SW)
		x = newTx("000000010000")
		x.opID = op
		_, g = gpo(t, a, x)
		require.Equal(t, apdu.SW9000, g.SW)
		l, err := tlv.Decode(g.Data)
		require.NoError(t, err)
		require.Equal(t, []byte{0x90}, l.Map()[0x9F6F], "permanent and locked")
		ds := dsTerm([]byte{0xBB})
		ds[16] = odsInfo
		data = append(tlv.BuildDOL(emvapp.DefaultCDOL1(false), x.source), ds...)
		resp := run(t, a, apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, data))
		require.Equal(t, apdu.SW9000, resp.SW)
		gl, err := tlv.Decode(resp.Data)
		require.NoError(t, err)
		cid := tlv.List(gl[0].Children).Map()[0x9F27]
		if odsInfo&0x08 != 0 {
			require.Equal(t, []byte{0x00}, cid, "AAC on the failed write")
		} else {
			require.Equal(t, []byte{0x80}, cid)
		}
		require.Equal(t, summary, gpoSummary(a, op))
	}
}
