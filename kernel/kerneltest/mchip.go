package kerneltest

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// MChipCDOL1 is the CDOL1 of the test M/Chip application: amounts,
// country, TVR, currency, date, type, Unpredictable Number, terminal type,
// CVM Results and the Mobile Support Indicator.
var MChipCDOL1 = tlv.DOL{
	{Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6}, {Tag: 0x9F1A, Len: 2}, {Tag: 0x95, Len: 5},
	{Tag: 0x5F2A, Len: 2}, {Tag: 0x9A, Len: 3}, {Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4},
	{Tag: 0x9F35, Len: 1}, {Tag: 0x9F34, Len: 3}, {Tag: 0x9F7E, Len: 1},
}

// MChip is a test application modelled on a Mastercard-like M/Chip card or
// phone (Book C-2): GET PROCESSING OPTIONS returns the AIP and AFL; records
// in SFI 1 (card data, signed for ODA) and SFI 2 (certificates); GENERATE
// AC returns the cryptogram type asked for unless Decide says otherwise,
// with a CDA signature when asked.
type MChip struct {
	// PAN, PSN and Expiry (YYMMDD) identify the card.
	PAN    string
	PSN    byte
	Expiry string
	// Effective is the application effective date (YYMMDD), "" for none.
	Effective string
	// AIDBytes defaults to A0000000041010.
	AIDBytes []byte
	// AIP defaults to 1980: cardholder verification, terminal risk
	// management and CDA supported, EMV mode. A phone adds 02
	// (on-device cardholder verification).
	AIP []byte
	// PDOL is the card's PDOL; nil means none.
	PDOL tlv.DOL
	// CVMList is tag 8E; nil gives X = Y = 0, online PIN, then signature,
	// then no CVM, each "if the terminal supports it".
	CVMList []byte
	// Currency is the Application Currency Code (9F42); nil means 0901.
	Currency []byte
	// IACDefault, IACDenial and IACOnline are 9F0D, 9F0E and 9F0F; nil
	// leaves them out.
	IACDefault, IACDenial, IACOnline []byte
	// Verified is the phone's holder verification state. A phone (AIP with
	// 02) that is asked for OD-CVM (Mobile Support Indicator b2) and is not
	// verified answers AAC with POS Cardholder Interaction Information
	// 000100: "See Phone".
	Verified bool
	// AlwaysCDCVM makes the phone ask for verification whatever the
	// amount, as an HCE phone must (R-S2e).
	AlwaysCDCVM bool
	// Decide, when set, chooses the cryptogram type from the requested
	// one and the CDOL1 data.
	Decide func(requested byte, cdol tlv.Map) byte
	// GACStatus, when set, is the only answer to GENERATE AC.
	GACStatus uint16
	// MutateGPO may change the GET PROCESSING OPTIONS response objects.
	MutateGPO func(objs tlv.List) tlv.List
	// MutateGAC may change the GENERATE AC response objects just before
	// they are sent, after any CDA signature (so that a change breaks it).
	MutateGAC func(objs tlv.List) tlv.List
	// MutateRecord may change a record before it is sent.
	MutateRecord func(sfi, rec byte, objs tlv.List) tlv.List
	// ATC is the Application Transaction Counter, incremented at each
	// GENERATE AC.
	ATC uint16
	// Balance, when set, makes the card announce balance reading (9F5D
	// 000200 in its first record) and answer GET DATA 9F50 with it;
	// BalanceReads counts those commands.
	Balance      []byte
	BalanceReads int
	// CDAOverAAC makes the card announce CDA over TC, ARQC and AAC (9F5D
	// byte 2 b1) and sign an AAC asked for with CDA; a card with data
	// storage (DSSummary) signs its AACs too.
	CDAOverAAC bool
	// MagStripe, when set, adds mag-stripe mode data to the first record
	// (9F6B with 13 discretionary digits, 9F65 000E, 9F66 0FF0, 9F67 03)
	// and makes the card answer COMPUTE CRYPTOGRAPHIC CHECKSUM with it
	// (clear AIP byte 2 b8 for a card without EMV mode).
	MagStripe *MagStripe
	// RelayResistance, when set, makes the card answer EXCHANGE RELAY
	// RESISTANCE DATA (add 01 to AIP byte 2 to announce it).
	RelayResistance *RelayResistance
	// RRExchanges counts the EXCHANGE RELAY RESISTANCE DATA commands.
	RRExchanges int
	// Writable, when not nil, makes the card accept PUT DATA (80 DA, C-2
	// Tags To Write) of the tags it holds as keys, storing the values
	// there; any other tag is refused with 6A88.
	Writable map[uint16][]byte
	// DSSummary, when set (8 bytes), gives the card Integrated Data
	// Storage: 9F5D announcing Data Storage version 1, its DS ID (9F5E: PAN
	// and PSN digits), a permanent slot (9F5F, 9F6F) holding a DS ODS
	// Card (9F54), a DS Unpredictable Number (9F7F) and DS Summary 1
	// (9F7D) in its first record, and the DS Summary 2 at the start of
	// every CDA signature's extra data: DSSigned when set, else DSSummary.
	DSSummary, DSSigned []byte
	// DSNoSummary3 makes the card leave the DS Summary 3 out of a write's
	// CDA signature (the DS Summary 2 stays).
	DSNoSummary3 bool
	// DSID, when set, is the card's DS ID instead of its PAN and PSN
	// digits.
	DSID []byte
	// DSInput is the DSDOL related data of the last GENERATE AC that wrote
	// the data storage: the card's DSDOL (9F5B) is the book's (DS Input
	// (Card), DS Digest H, DS ODS Info, DS ODS Term), and DSDOL related
	// data after the CDOL1 data make a write whose DS Summary 3 is the DS
	// Summary 2 with its last byte inverted.
	DSInput []byte
	// DSWriteFails makes a write leave the slot as it was: the DS Summary
	// 3 is the DS Summary 2.
	DSWriteFails bool
	// Sequence lists the instruction byte of every command, in order.
	Sequence []byte

	// LastPDOLData, LastCDOL1 and LastP1 record what the terminal sent in
	// the latest GET PROCESSING OPTIONS and GENERATE AC.
	LastPDOLData []byte
	LastCDOL1    tlv.Map
	LastP1       byte

	pki     *PKI
	icc     *oda.ICC
	records []record
	pdolVal []byte
}

// NewMChip returns an M/Chip test application certified by the test PKI.
func NewMChip(pan, expiry string) (*MChip, error) {
	m := &MChip{PAN: pan, Expiry: expiry, PSN: 0x00, ATC: 0x0020}
	if err := m.Build(); err != nil {
		return nil, err
	}
	return m, nil
}

// Build (re)creates the records and certificates from the fields.
func (m *MChip) Build() error {
	if len(m.AIP) != 2 {
		m.AIP = []byte{0x19, 0x80}
	}
	cvm := m.CVMList
	if cvm == nil {
		cvm = MustHex("00000000 00000000 4203 1E03 1F03")
	}
	cur := m.Currency
	if cur == nil {
		cur = []byte{0x09, 0x01}
	}
	p, err := NewPKI(m.PAN[:6])
	if err != nil {
		return err
	}
	m.pki = p
	cdol, _ := MChipCDOL1.Encode()
	objs := tlv.List{
		{Tag: 0x57, Value: track2(m.PAN, m.Expiry)},
		{Tag: 0x5A, Value: bcdPAN(m.PAN)},
		{Tag: 0x5F24, Value: ymd(m.Expiry)},
		{Tag: 0x5F28, Value: []byte{0x01, 0x58}},
		{Tag: 0x5F34, Value: []byte{m.PSN}},
		{Tag: 0x8C, Value: cdol},
		{Tag: 0x8D, Value: MustHex("8A029F3704")},
		{Tag: 0x8E, Value: cvm},
		{Tag: 0x9F07, Value: []byte{0xFF, 0xC0}},
		{Tag: 0x9F08, Value: []byte{0x00, 0x02}},
		{Tag: 0x9F42, Value: cur},
	}
	if m.Effective != "" {
		objs = append(objs, tlv.TLV{Tag: 0x5F25, Value: ymd(m.Effective)})
	}
	for _, iac := range []struct {
		tag tlv.Tag
		v   []byte
	}{{0x9F0D, m.IACDefault}, {0x9F0E, m.IACDenial}, {0x9F0F, m.IACOnline}} {
		if iac.v != nil {
			objs = append(objs, tlv.TLV{Tag: iac.tag, Value: iac.v})
		}
	}
	if m.Balance != nil || m.DSSummary != nil || m.CDAOverAAC {
		aci := []byte{0x00, 0x00, 0x00}
		if m.Balance != nil {
			aci[1] |= 0x02
		}
		if m.CDAOverAAC {
			aci[1] |= 0x01
		}
		if m.DSSummary != nil {
			aci[0] = 0x01
			dsID := MustHex(fmt.Sprintf("%s%02X", m.PAN, m.PSN))
			if m.DSID != nil {
				dsID = m.DSID
			}
			objs = append(objs,
				tlv.TLV{Tag: 0x9F5E, Value: dsID},
				tlv.TLV{Tag: 0x9F5F, Value: []byte{0x80}},
				tlv.TLV{Tag: 0x9F6F, Value: []byte{0x80}},
				tlv.TLV{Tag: 0x9F7F, Value: []byte{0x0D, 0x5E, 0xED, 0x01}},
				tlv.TLV{Tag: 0x9F7D, Value: m.DSSummary},
				tlv.TLV{Tag: 0x9F54, Value: []byte{0xCA, 0xFE}},
				tlv.TLV{Tag: 0x9F5B, Value: MustHex("DF6008DF6108DF6201DF63A0")})
		}
		objs = append(objs, tlv.TLV{Tag: 0x9F5D, Value: aci})
	}
	if ms := m.MagStripe; ms != nil {
		objs = append(objs,
			tlv.TLV{Tag: 0x9F6B, Value: MustHex(m.PAN + "D" + m.Expiry[:4] + "201" + "0000000000000F")},
			tlv.TLV{Tag: 0x9F65, Value: []byte{0x00, 0x0E}},
			tlv.TLV{Tag: 0x9F66, Value: []byte{0x0F, 0xF0}},
			tlv.TLV{Tag: 0x9F67, Value: []byte{0x03}},
		)
	}
	rec1 := record{1, 1, objs}
	static := staticFor([]record{rec1}, map[[2]byte]bool{{1, 1}: true}, m.AIP, true)
	icc, err := p.ICC(m.PAN, static)
	if err != nil {
		return err
	}
	m.icc = icc
	iss, cert := certObjects(p, icc)
	m.records = []record{rec1, {2, 1, iss}, {2, 2, cert}}
	return nil
}

// PKI returns the test PKI the application is certified by.
func (m *MChip) PKI() *PKI { return m.pki }

// AID returns the ADF Name.
func (m *MChip) AID() []byte {
	if m.AIDBytes != nil {
		return m.AIDBytes
	}
	return []byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10}
}

// DirectoryEntry is the PPSE entry: AID, label, priority 1, kernel 2.
func (m *MChip) DirectoryEntry() tlv.List {
	return tlv.List{
		{Tag: 0x4F, Value: m.AID()},
		{Tag: 0x50, Value: []byte("MASTERCARD TEST")},
		{Tag: 0x87, Value: []byte{0x01}},
		{Tag: 0x9F2A, Value: []byte{0x02}},
	}
}

// Command answers SELECT, GET PROCESSING OPTIONS, READ RECORD and GENERATE
// AC.
func (m *MChip) Command(cmd apdu.Command) apdu.Response {
	m.Sequence = append(m.Sequence, cmd.INS)
	switch {
	case cmd.CLA == 0x80 && cmd.INS == 0xDA && m.Writable != nil:
		tag := uint16(cmd.P1)<<8 | uint16(cmd.P2)
		if _, ok := m.Writable[tag]; !ok {
			return apdu.Response{SW: apdu.SW6A88}
		}
		m.Writable[tag] = append([]byte(nil), cmd.Data...)
		return apdu.Response{SW: apdu.SW9000}
	case cmd.CLA == 0x00 && cmd.INS == 0xA4:
		prop := []tlv.TLV{
			{Tag: 0x50, Value: []byte("MASTERCARD TEST")},
			{Tag: 0x87, Value: []byte{0x01}},
		}
		if m.PDOL != nil {
			p, _ := m.PDOL.Encode()
			prop = append(prop, tlv.TLV{Tag: 0x9F38, Value: p})
		}
		b, _ := tlv.EncodeConstructed(0x6F, tlv.TLV{Tag: 0x84, Value: m.AID()}, tlv.TLV{Tag: 0xA5, Children: prop})
		return apdu.Response{Data: b, SW: apdu.SW9000}
	case cmd.CLA == 0x80 && cmd.INS == 0xA8:
		l, err := tlv.Decode(cmd.Data)
		if err != nil || len(l) != 1 || l[0].Tag != 0x83 {
			return apdu.Response{SW: apdu.SW6A80}
		}
		m.pdolVal = append([]byte(nil), l[0].Value...)
		m.LastPDOLData = m.pdolVal
		objs := tlv.List{
			{Tag: 0x82, Value: m.AIP},
			{Tag: 0x94, Value: []byte{0x08, 0x01, 0x01, 0x01, 0x10, 0x01, 0x02, 0x00}},
		}
		if m.MutateGPO != nil {
			objs = m.MutateGPO(objs)
		}
		b, err := tlv.EncodeConstructed(0x77, objs...)
		if err != nil {
			return apdu.Response{SW: apdu.SW6F00}
		}
		return apdu.Response{Data: b, SW: apdu.SW9000}
	case cmd.CLA == 0x00 && cmd.INS == 0xB2:
		return answerRecord(m.records, cmd, m.MutateRecord)
	case cmd.CLA == 0x80 && cmd.INS == 0xAE:
		return m.gac(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xCA && cmd.P1 == 0x9F && cmd.P2 == 0x50 && m.Balance != nil:
		m.BalanceReads++
		b, err := tlv.Encode(0x9F50, m.Balance)
		if err != nil {
			return apdu.Response{SW: apdu.SW6F00}
		}
		return apdu.Response{Data: b, SW: apdu.SW9000}
	case cmd.CLA == 0x80 && cmd.INS == 0x2A && m.MagStripe != nil:
		return m.MagStripe.answer(cmd, &m.ATC)
	case cmd.CLA == 0x80 && cmd.INS == 0xEA && m.RelayResistance != nil:
		return m.RelayResistance.answer(cmd, &m.RRExchanges)
	}
	return apdu.Response{SW: apdu.SW6D00}
}

// MagStripe is a test card's mag-stripe mode: COMPUTE CRYPTOGRAPHIC
// CHECKSUM answers CVC3(Track2) (a fixed 12345 unless CVC3 says otherwise)
// and the ATC, or Status.
type MagStripe struct {
	CVC3   []byte
	Status uint16
	// PCII, when set, is the POS Cardholder Interaction Information
	// (DF4B) in the response.
	PCII []byte
	// LastUDOLData is the data of the latest command.
	LastUDOLData []byte
}

func (ms *MagStripe) answer(cmd apdu.Command, atc *uint16) apdu.Response {
	ms.LastUDOLData = append([]byte(nil), cmd.Data...)
	if ms.Status != 0 {
		return apdu.Response{SW: ms.Status}
	}
	*atc++
	cvc := ms.CVC3
	if cvc == nil {
		cvc = []byte{0x30, 0x39}
	}
	objs := []tlv.TLV{{Tag: 0x9F61, Value: cvc}, {Tag: 0x9F36, Value: u16(*atc)}}
	if ms.PCII != nil {
		objs = append(objs, tlv.TLV{Tag: 0xDF4B, Value: ms.PCII})
	}
	b, err := tlv.EncodeConstructed(0x77, objs...)
	if err != nil {
		return apdu.Response{SW: apdu.SW6F00}
	}
	return apdu.Response{Data: b, SW: apdu.SW9000}
}

// RelayResistance is a test card's side of the Relay Resistance Protocol:
// the times it announces (units of 100 microseconds) and, through Elapse,
// how long each exchange takes on the test's stopwatch.
type RelayResistance struct {
	// Min, Max and Transmission are DF8303, DF8304 and DF8305.
	Min, Max, Transmission uint16
	// Elapse, when set, is called with the exchange's number (1 for the
	// first) to advance the test's stopwatch by the time it takes.
	Elapse func(n int)
	// Status, when set, is the only answer.
	Status uint16
	// Response, when set, replaces the response data.
	Response []byte
	// Unsigned leaves the relay resistance data out of the CDA
	// signature, as a card behind a tampering relay would.
	Unsigned bool

	last []byte // the last exchange's entropies and times, for CDA
}

func (rr *RelayResistance) answer(cmd apdu.Command, n *int) apdu.Response {
	*n++
	if rr.Elapse != nil {
		rr.Elapse(*n)
	}
	if rr.Status != 0 {
		return apdu.Response{SW: rr.Status}
	}
	if len(cmd.Data) != 4 {
		return apdu.Response{SW: apdu.SW6700}
	}
	v := rr.Response
	if v == nil {
		v = append([]byte{0xCA, 0xFE, byte(*n), 0x01}, u16(rr.Min)...)
		v = append(v, u16(rr.Max)...)
		v = append(v, u16(rr.Transmission)...)
	}
	rr.last = append(append([]byte(nil), cmd.Data...), v...)
	b, err := tlv.Encode(0x80, v)
	if err != nil {
		return apdu.Response{SW: apdu.SW6F00}
	}
	return apdu.Response{Data: b, SW: apdu.SW9000}
}

func (m *MChip) gac(cmd apdu.Command) apdu.Response {
	if m.GACStatus != 0 {
		return apdu.Response{SW: m.GACStatus}
	}
	var ds3 []byte
	if n := MChipCDOL1.DataLen(); m.DSSummary != nil && len(cmd.Data) > n {
		m.DSInput = append([]byte(nil), cmd.Data[n:]...)
		cmd.Data = cmd.Data[:n]
		ds3 = append([]byte(nil), m.DSSummary...)
		if !m.DSWriteFails {
			ds3[7] ^= 0xFF
		}
	}
	objs, err := MChipCDOL1.Split(cmd.Data)
	if err != nil {
		return apdu.Response{SW: apdu.SW6700}
	}
	in := objs.Map()
	m.LastCDOL1 = in
	m.LastP1 = cmd.P1
	m.ATC++
	requested := cmd.P1 & 0xC0
	cid := requested
	if m.Decide != nil {
		cid = m.Decide(requested, in)
	}
	var pcii []byte
	msi := in[0x9F7E]
	if m.AIP[0]&0x02 != 0 {
		switch {
		case ((len(msi) == 1 && msi[0]&0x02 != 0) || m.AlwaysCDCVM) && !m.Verified:
			cid = 0x00
			pcii = []byte{0x00, 0x01, 0x00}
		case m.Verified:
			pcii = []byte{0x00, 0x10, 0x00}
		}
	}
	un := in[0x9F37]
	ac := fakeAC(u16(m.ATC), un, in[0x9F02])
	iad := []byte{0x01, 0x10, 0xA0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	resp := tlv.List{
		{Tag: 0x9F27, Value: []byte{cid}},
		{Tag: 0x9F36, Value: u16(m.ATC)},
	}
	cda := cmd.P1&apdu.CDARequest != 0 && (cid != 0x00 || m.CDAOverAAC || m.DSSummary != nil)
	if !cda {
		resp = append(resp, tlv.TLV{Tag: 0x9F26, Value: ac})
	}
	resp = append(resp, tlv.TLV{Tag: 0x9F10, Value: iad})
	if pcii != nil {
		resp = append(resp, tlv.TLV{Tag: 0xDF4B, Value: pcii})
	}
	if cda {
		enc, _ := resp.Encode()
		var pdol []byte
		if m.PDOL != nil {
			pdol = m.pdolVal
		}
		hash, err := oda.TransactionData{PDOL: pdol, CDOL1: cmd.Data, Response: enc}.Hash()
		if err != nil {
			return apdu.Response{SW: apdu.SW6F00}
		}
		var extra []byte
		if m.DSSummary != nil {
			extra = append(extra, m.DSSummary...)
			if m.DSSigned != nil {
				extra = append(extra[:0], m.DSSigned...)
			}
			if !m.DSNoSummary3 {
				extra = append(extra, ds3...)
			}
		}
		if rr := m.RelayResistance; rr != nil && !rr.Unsigned {
			extra = append(extra, rr.last...)
		}
		sdad, err := m.icc.SignCDA(oda.DynamicData{Number: dynamicNumber(m.ATC, un), CID: cid, AC: ac, TransactionDataHash: hash, Extra: extra}, un)
		if err != nil {
			return apdu.Response{SW: apdu.SW6F00}
		}
		resp = append(resp[:2], append(tlv.List{{Tag: 0x9F4B, Value: sdad}}, resp[2:]...)...)
	}
	if m.MutateGAC != nil {
		resp = m.MutateGAC(resp)
	}
	b, err := tlv.EncodeConstructed(0x77, resp...)
	if err != nil {
		return apdu.Response{SW: apdu.SW6F00}
	}
	return apdu.Response{Data: b, SW: apdu.SW9000}
}
