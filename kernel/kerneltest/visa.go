package kerneltest

import (
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// VisaPDOL is the PDOL of the test qVSDC application: TTQ, amounts,
// country, TVR, currency, date, type and Unpredictable Number.
var VisaPDOL = tlv.DOL{
	{Tag: 0x9F66, Len: 4}, {Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6}, {Tag: 0x9F1A, Len: 2},
	{Tag: 0x95, Len: 5}, {Tag: 0x5F2A, Len: 2}, {Tag: 0x9A, Len: 3}, {Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4},
}

// Visa is a test application modelled on a Visa-like qVSDC card (Book
// C-3): GET PROCESSING OPTIONS returns the decision, the cryptogram and,
// when the AIP announces DDA, the fDDA signature; three records in SFI 2
// hold the card data (the first signed for ODA) and the certificates.
type Visa struct {
	// PAN, PSN and Expiry (YYMMDD) identify the card.
	PAN    string
	PSN    byte
	Expiry string
	// AIDBytes defaults to A0000000031010.
	AIDBytes []byte
	// AIP defaults to 2000 (DDA supported: fDDA).
	AIP []byte
	// CTQ is the Card Transaction Qualifiers; nil leaves 9F6C out.
	CTQ []byte
	// CDCVM marks a phone whose holder has verified: CTQ byte 2 b8 is set
	// and 9F69 carries the CTQ copy.
	CDCVM bool
	// CID decides the cryptogram type (0x00 AAC, 0x40 TC, 0x80 ARQC) from
	// the PDOL data; nil means: ARQC when the TTQ asks for an online
	// cryptogram or a CVM, else TC.
	CID func(pdol tlv.Map) byte
	// GPOStatus, when set, is the only answer to GET PROCESSING OPTIONS
	// (e.g. 6986 for "see phone").
	GPOStatus uint16
	// NoRecords leaves out the AFL and the records (no fDDA possible).
	NoRecords bool
	// MutateGPO may change the GPO response objects after they are built
	// and signed (to tamper or drop data).
	MutateGPO func(objs tlv.List) tlv.List
	// MutateRecord may change a record before it is sent.
	MutateRecord func(sfi, rec byte, objs tlv.List) tlv.List
	// ATC is the Application Transaction Counter, incremented at each GPO.
	ATC uint16

	pki     *PKI
	icc     *oda.ICC
	records []record
	built   bool
	// Other, when set, answers the commands the test card does not know
	// (EXTERNAL AUTHENTICATE, issuer script commands).
	Other func(cmd apdu.Command) apdu.Response
}

// NewVisa returns a qVSDC test application certified by the test PKI.
func NewVisa(pan, expiry string) (*Visa, error) {
	v := &Visa{PAN: pan, Expiry: expiry, PSN: 0x01, AIP: []byte{0x20, 0x00}, ATC: 0x0010}
	if err := v.Build(); err != nil {
		return nil, err
	}
	return v, nil
}

// Build (re)creates the records and certificates from the fields.
func (v *Visa) Build() error {
	if len(v.AIP) != 2 {
		v.AIP = []byte{0x20, 0x00}
	}
	p, err := NewPKI(v.PAN[:6])
	if err != nil {
		return err
	}
	v.pki = p
	rec1 := record{2, 1, tlv.List{
		{Tag: 0x5A, Value: bcdPAN(v.PAN)},
		{Tag: 0x5F24, Value: ymd(v.Expiry)},
		{Tag: 0x5F28, Value: []byte{0x01, 0x58}},
	}}
	static := staticFor([]record{rec1}, map[[2]byte]bool{{2, 1}: true}, v.AIP, true)
	icc, err := p.ICC(v.PAN, static)
	if err != nil {
		return err
	}
	v.icc = icc
	iss, cert := certObjects(p, icc)
	v.records = []record{rec1, {2, 2, iss}, {2, 3, cert}}
	v.built = true
	return nil
}

// PKI returns the test PKI the application is certified by.
func (v *Visa) PKI() *PKI { return v.pki }

// AID returns the ADF Name.
func (v *Visa) AID() []byte {
	if v.AIDBytes != nil {
		return v.AIDBytes
	}
	return []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
}

// DirectoryEntry is the PPSE entry: AID, label, priority 1, kernel 3.
func (v *Visa) DirectoryEntry() tlv.List {
	return tlv.List{
		{Tag: 0x4F, Value: v.AID()},
		{Tag: 0x50, Value: []byte("VISA TEST")},
		{Tag: 0x87, Value: []byte{0x01}},
		{Tag: 0x9F2A, Value: []byte{0x03}},
	}
}

// Command answers SELECT, GET PROCESSING OPTIONS and READ RECORD.
func (v *Visa) Command(cmd apdu.Command) apdu.Response {
	switch {
	case cmd.CLA == 0x00 && cmd.INS == 0xA4:
		pdol, _ := VisaPDOL.Encode()
		b, _ := tlv.EncodeConstructed(0x6F,
			tlv.TLV{Tag: 0x84, Value: v.AID()},
			tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{
				{Tag: 0x50, Value: []byte("VISA TEST")},
				{Tag: 0x87, Value: []byte{0x01}},
				{Tag: 0x9F38, Value: pdol},
				{Tag: 0x5F2D, Value: []byte("zhen")},
			}})
		return apdu.Response{Data: b, SW: apdu.SW9000}
	case cmd.CLA == 0x80 && cmd.INS == 0xA8:
		return v.gpo(cmd.Data)
	case cmd.CLA == 0x00 && cmd.INS == 0xB2:
		if v.NoRecords {
			return apdu.Response{SW: apdu.SW6A83}
		}
		return answerRecord(v.records, cmd, v.MutateRecord)
	}
	if v.Other != nil {
		return v.Other(cmd)
	}
	return apdu.Response{SW: apdu.SW6D00}
}

func (v *Visa) gpo(data []byte) apdu.Response {
	if v.GPOStatus != 0 {
		return apdu.Response{SW: v.GPOStatus}
	}
	l, err := tlv.Decode(data)
	if err != nil || len(l) != 1 || l[0].Tag != 0x83 {
		return apdu.Response{SW: apdu.SW6A80}
	}
	objs, err := VisaPDOL.Split(l[0].Value)
	if err != nil {
		return apdu.Response{SW: apdu.SW6700}
	}
	in := objs.Map()
	v.ATC++
	cid := byte(0x40)
	if v.CID != nil {
		cid = v.CID(in)
	} else if ttq := in[0x9F66]; len(ttq) == 4 && ttq[1]&0xC0 != 0 {
		cid = 0x80
	}
	ctq := v.CTQ
	if v.CDCVM {
		if ctq == nil {
			ctq = []byte{0x00, 0x00}
		}
		ctq = []byte{ctq[0], ctq[1] | 0x80}
	}
	un := in[0x9F37]
	ac := fakeAC(u16(v.ATC), un, in[0x9F02])
	// Visa IAD format 0/1/3: 06 DKI CVN CVR(03 + 3 bytes); CVR byte 2
	// b6-b5 carry the cryptogram type.
	cvr2 := map[byte]byte{0x00: 0x00, 0x40: 0x10, 0x80: 0x20}[cid&0xC0]
	iad := []byte{0x06, 0x01, 0x12, 0x03, cvr2, 0x00, 0x00}
	out := tlv.List{{Tag: 0x82, Value: v.AIP}}
	if !v.NoRecords {
		out = append(out, tlv.TLV{Tag: 0x94, Value: []byte{0x10, 0x01, 0x03, 0x01}})
	}
	out = append(out,
		tlv.TLV{Tag: 0x57, Value: track2(v.PAN, v.Expiry)},
		tlv.TLV{Tag: 0x5F20, Value: []byte("TEST/CARDHOLDER")},
		tlv.TLV{Tag: 0x9F10, Value: iad},
		tlv.TLV{Tag: 0x9F26, Value: ac},
		tlv.TLV{Tag: 0x9F27, Value: []byte{cid}},
		tlv.TLV{Tag: 0x9F36, Value: u16(v.ATC)},
		tlv.TLV{Tag: 0x5F34, Value: []byte{v.PSN}},
		tlv.TLV{Tag: 0x9F6E, Value: []byte{0x20, 0x70, 0x00, 0x00}},
	)
	if ctq != nil {
		out = append(out, tlv.TLV{Tag: 0x9F6C, Value: ctq})
	}
	sign := v.AIP[0]&0x20 != 0 && !v.NoRecords && cid&0xC0 != 0x00
	if sign || v.CDCVM {
		cq := ctq
		if cq == nil {
			cq = []byte{0, 0}
		}
		cardUN := dynamicNumber(v.ATC, un)
		cad := append([]byte{0x01}, cardUN...)
		cad = append(cad, cq...)
		out = append(out, tlv.TLV{Tag: 0x9F69, Value: cad})
		if sign {
			td, err := oda.FDDAData(un, in[0x9F02], in[0x5F2A], cad)
			if err == nil {
				if sdad, err := v.icc.SignDDA(dynamicNumber(v.ATC+1, un), td); err == nil {
					out = append(out, tlv.TLV{Tag: 0x9F4B, Value: sdad})
				}
			}
		}
	}
	if v.MutateGPO != nil {
		out = v.MutateGPO(out)
	}
	b, err := tlv.EncodeConstructed(0x77, out...)
	if err != nil {
		return apdu.Response{SW: apdu.SW6F00}
	}
	return apdu.Response{Data: b, SW: apdu.SW9000}
}
