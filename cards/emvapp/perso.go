package emvapp

import (
	"bytes"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// The payment applet as a secure element module: its personalisation data
// are EMV CPS DGIs (package dgi), made by DGIs (the issuer's data
// preparation) and read by FromDGIs (the applet in the SE, after the last
// STORE DATA). The records travel as record DGIs (SFI || record number),
// the SELECT response, the PPSE entry and the internal parameters in
// tapsim's own DGIs (dgi.FCI, dgi.DirectoryEntry, dgi.AppParams), the ICC
// master key in '8000' with its check value in '9000', the ICC private key
// as its CRT components in '8201'-'8205'. The issuer's private key never
// reaches the card: the ICC certificate is made by the data preparation and
// travels in the records.
//
// MODEL: the AIDs of the load file and module, and the private tags of the
// internal parameters DGI:
//
//	DF01 scheme (1 = Visa, 2 = Mastercard)
//	DF02 CVN name (as cryptogram.Lookup knows it)
//	DF03 derivation key index
//	DF05 terminal CVMs accepted: b1 online PIN, b2 signature
//	DF06 offline policy: allowed (1), max consecutive (4), limit (8)
//	DF07 the phone's own CVM limit (8)
//	DF08 device binding ID
var (
	// LoadFileAID is the executable load file of the payment applet
	// (MODEL, a proprietary 'F' AID).
	LoadFileAID = dgi.PaymentLoadFile
	// ModuleAID is the payment applet's executable module (MODEL).
	ModuleAID = dgi.PaymentModule
)

// Private tags of the internal parameters DGI.
const (
	tagScheme   tlv.Tag = 0xDF01
	tagCVN      tlv.Tag = 0xDF02
	tagDKI      tlv.Tag = 0xDF03
	tagCVMs     tlv.Tag = 0xDF05
	tagOffline  tlv.Tag = 0xDF06
	tagCVMLimit tlv.Tag = 0xDF07
	tagDeviceID tlv.Tag = 0xDF08
)

// DGIs is the data preparation of the application: the personalisation
// data an SE applet instance needs to answer as this application does,
// sensitive DGIs (dgi.Sensitive) in clear (the TSM enciphers them for the
// card). The application must hold its ICC master key (MasterKey).
func (a *App) DGIs() ([]dgi.DGI, error) {
	mk, ok := a.cfg.Keys.(MasterKey)
	if !ok {
		return nil, fmt.Errorf("%w: only an application with its master key can be personalised into an SE", ErrConfig)
	}
	var out []dgi.DGI
	for _, r := range a.records {
		out = append(out, dgi.DGI{Tag: dgi.Record(r.sfi, r.num), Data: bytes.Clone(r.body)})
	}
	out = append(out,
		dgi.DGI{Tag: dgi.FCI, Data: bytes.Clone(a.fci)},
		dgi.DGI{Tag: dgi.DirectoryEntry, Data: bytes.Clone(a.entry)},
	)
	c := &a.cfg
	cvms := byte(0)
	if c.CVMs.OnlinePIN {
		cvms |= 1
	}
	if c.CVMs.Signature {
		cvms |= 2
	}
	off := make([]byte, 13)
	if c.Offline.Allowed {
		off[0] = 1
	}
	binary.BigEndian.PutUint32(off[1:], uint32(max(0, c.Offline.MaxConsecutive)))
	binary.BigEndian.PutUint64(off[5:], uint64(max(0, c.Offline.Limit)))
	limit := binary.BigEndian.AppendUint64(nil, uint64(max(0, c.CVMLimit)))
	params := []tlv.TLV{
		obj(tagScheme, []byte{byte(c.Scheme)}),
		obj(tagCVN, []byte(c.CVN.Name)),
		obj(tagDKI, []byte{c.DKI}),
		obj(0x82, a.aip),
		obj(0x94, a.afl),
		obj(0x57, a.track2),
		obj(0x9F6C, c.CTQ),
		obj(tagCVMs, []byte{cvms}),
		obj(tagOffline, off),
		obj(tagCVMLimit, limit),
	}
	if c.PSN != "" {
		params = append(params, obj(0x5F34, psn(c.PSN)))
	}
	if len(a.pdol) > 0 {
		params = append(params, obj(0x9F38, encodeDOL(a.pdol)))
	}
	if len(a.cdol1) > 0 {
		params = append(params, obj(0x8C, encodeDOL(a.cdol1)))
	}
	if c.FormFactor != nil {
		params = append(params, obj(0x9F6E, c.FormFactor))
	}
	if c.DeviceID != nil {
		params = append(params, obj(tagDeviceID, c.DeviceID))
	}
	p, err := tlv.List(params).Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: application parameters: %w", ErrConfig, err)
	}
	out = append(out, dgi.DGI{Tag: dgi.AppParams, Data: p})
	out = append(out, dgi.DGI{Tag: dgi.KeysDES, Data: mk.MK.Bytes()})
	kcv := mk.MK.KCV()
	out = append(out, dgi.DGI{Tag: dgi.KeyCheckValues, Data: kcv[:min(3, len(kcv))]})
	if o := c.ODA; o != nil && a.icc != nil {
		k := o.ICCKey
		if len(k.Primes) != 2 {
			return nil, fmt.Errorf("%w: the ICC key must have two primes", ErrConfig)
		}
		k.Precompute()
		n := (k.N.BitLen() + 15) / 16
		for _, part := range []struct {
			tag uint16
			v   *big.Int
		}{
			{dgi.ICCCRTQInv, k.Precomputed.Qinv}, {dgi.ICCCRTDQ, k.Precomputed.Dq},
			{dgi.ICCCRTDP, k.Precomputed.Dp}, {dgi.ICCCRTQ, k.Primes[1]}, {dgi.ICCCRTP, k.Primes[0]},
		} {
			out = append(out, dgi.DGI{Tag: part.tag, Data: part.v.FillBytes(make([]byte, n))})
		}
	}
	return out, nil
}

// Env is what the SE gives an applet instance besides its personalisation
// data: the phone's cardholder verification and a random source.
type Env struct {
	// Holder is the phone's CDCVM.
	Holder Holder
	// Rand supplies card unpredictable numbers and ICC dynamic numbers.
	Rand io.Reader
}

// FromDGIs is the applet's personalisation: it makes the application
// instance aid from the DGIs of DGIs (sensitive ones deciphered). Missing
// or malformed data is ErrConfig; the error never names a key.
func FromDGIs(aid []byte, data []dgi.DGI, env Env) (*App, error) {
	if env.Rand == nil {
		return nil, fmt.Errorf("%w: no random source", ErrConfig)
	}
	need := func(tag uint16) ([]byte, error) {
		v, ok := dgi.Find(data, tag)
		if !ok {
			return nil, fmt.Errorf("%w: personalisation data lacks DGI %04X", ErrConfig, tag)
		}
		return v, nil
	}
	fci, err := need(dgi.FCI)
	if err != nil {
		return nil, err
	}
	entry, err := need(dgi.DirectoryEntry)
	if err != nil {
		return nil, err
	}
	pv, err := need(dgi.AppParams)
	if err != nil {
		return nil, err
	}
	mkb, err := need(dgi.KeysDES)
	if err != nil {
		return nil, err
	}
	l, err := tlv.Decode(pv)
	if err != nil {
		return nil, fmt.Errorf("%w: application parameters: %w", ErrConfig, err)
	}
	p := l.Map()
	a := &App{fci: bytes.Clone(fci), entry: bytes.Clone(entry)}
	c := &a.cfg
	c.AID, c.Holder, c.Rand = bytes.Clone(aid), env.Holder, env.Rand
	if v := p[tagScheme]; len(v) == 1 && (Scheme(v[0]) == Visa || Scheme(v[0]) == Mastercard) {
		c.Scheme = Scheme(v[0])
	} else {
		return nil, fmt.Errorf("%w: scheme", ErrConfig)
	}
	if c.CVN, err = cryptogram.Lookup(string(p[tagCVN])); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	mk, err := keys.New(c.CVN.Alg, mkb)
	if err != nil {
		return nil, fmt.Errorf("%w: ICC master key does not fit the CVN", ErrConfig)
	}
	if kcv, ok := dgi.Find(data, dgi.KeyCheckValues); ok && !bytes.HasPrefix(mk.KCV(), kcv) {
		return nil, fmt.Errorf("%w: ICC master key check value mismatch", ErrConfig)
	}
	c.Keys = MasterKey{MK: mk}
	fixed := []struct {
		tag tlv.Tag
		n   int
	}{{tagDKI, 1}, {0x82, 2}, {0x9F6C, 2}, {tagCVMs, 1}, {tagOffline, 13}, {tagCVMLimit, 8}}
	for _, f := range fixed {
		if len(p[f.tag]) != f.n {
			return nil, fmt.Errorf("%w: application parameter %v", ErrConfig, f.tag)
		}
	}
	c.DKI = p[tagDKI][0]
	a.aip, a.afl, a.track2 = bytes.Clone(p[0x82]), bytes.Clone(p[0x94]), bytes.Clone(p[0x57])
	if len(a.afl) == 0 || len(a.afl)%4 != 0 || len(a.track2) == 0 {
		return nil, fmt.Errorf("%w: AFL or track 2 data", ErrConfig)
	}
	c.CTQ = bytes.Clone(p[0x9F6C])
	c.CVMs = CVMs{OnlinePIN: p[tagCVMs][0]&1 != 0, Signature: p[tagCVMs][0]&2 != 0}
	off := p[tagOffline]
	c.Offline = Offline{Allowed: off[0] == 1, MaxConsecutive: int(binary.BigEndian.Uint32(off[1:5])),
		Limit: int64(binary.BigEndian.Uint64(off[5:]) & (1<<63 - 1))}
	c.CVMLimit = int64(binary.BigEndian.Uint64(p[tagCVMLimit]) & (1<<63 - 1))
	if v, ok := p[0x5F34]; ok && len(v) == 1 {
		c.PSN = fmt.Sprintf("%02X", v[0])
	}
	if v, ok := p[0x9F38]; ok {
		if a.pdol, err = tlv.ParseDOL(v); err != nil {
			return nil, fmt.Errorf("%w: PDOL: %w", ErrConfig, err)
		}
	}
	if v, ok := p[0x8C]; ok {
		if a.cdol1, err = tlv.ParseDOL(v); err != nil {
			return nil, fmt.Errorf("%w: CDOL1: %w", ErrConfig, err)
		}
	}
	if c.Scheme == Mastercard && len(a.cdol1) == 0 {
		return nil, fmt.Errorf("%w: no CDOL1", ErrConfig)
	}
	if v, ok := p[0x9F6E]; ok && len(v) == 4 {
		c.FormFactor = bytes.Clone(v)
	}
	if v, ok := p[tagDeviceID]; ok && len(v) <= 8 {
		c.DeviceID = bytes.Clone(v)
	}
	recTags := tlv.Map{}
	for _, d := range data {
		sfi, num, ok := dgi.IsRecord(d.Tag)
		if !ok {
			continue
		}
		rl, err := tlv.Decode(d.Data)
		if err != nil || len(rl) != 1 || rl[0].Tag != 0x70 || len(d.Data) > 254 {
			return nil, fmt.Errorf("%w: record %d of SFI %d", ErrConfig, num, sfi)
		}
		for _, o := range rl[0].Children {
			recTags[o.Tag] = o.Value
		}
		a.records = append(a.records, record{sfi: sfi, num: num, body: bytes.Clone(d.Data)})
	}
	if len(a.records) == 0 {
		return nil, fmt.Errorf("%w: no records", ErrConfig)
	}
	c.PAN = unpackDigits(recTags[0x5A])
	if e := recTags[0x5F24]; len(e) == 3 {
		c.Expiry = Date{Year: 2000 + int(bcd(e[0])), Month: time.Month(bcd(e[1]))}
	}
	if _, ok := dgi.Find(data, dgi.ICCCRTP); ok {
		if a.icc, err = iccFromDGIs(data, recTags); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// iccFromDGIs rebuilds the ICC private key from its CRT components and the
// public exponent of the ICC certificate (9F47), and pairs it with the
// certificate from the records.
func iccFromDGIs(data []dgi.DGI, rec tlv.Map) (*oda.ICC, error) {
	part := func(tag uint16) (*big.Int, error) {
		v, ok := dgi.Find(data, tag)
		if !ok || len(v) == 0 {
			return nil, fmt.Errorf("%w: personalisation data lacks DGI %04X", ErrConfig, tag)
		}
		return new(big.Int).SetBytes(v), nil
	}
	p, err := part(dgi.ICCCRTP)
	if err != nil {
		return nil, err
	}
	q, err := part(dgi.ICCCRTQ)
	if err != nil {
		return nil, err
	}
	ev := rec[0x9F47]
	if len(ev) == 0 || len(ev) > 3 || len(rec[0x9F46]) == 0 {
		return nil, fmt.Errorf("%w: no ICC certificate in the records", ErrConfig)
	}
	e := int(new(big.Int).SetBytes(ev).Int64())
	one := big.NewInt(1)
	pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	phi := new(big.Int).Mul(pm, qm)
	d := new(big.Int).ModInverse(big.NewInt(int64(e)), phi)
	if d == nil {
		return nil, fmt.Errorf("%w: ICC key components", ErrConfig)
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: e}, D: d, Primes: []*big.Int{p, q}}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%w: ICC key components", ErrConfig)
	}
	k.Precompute()
	for _, c := range []struct {
		tag  uint16
		want *big.Int
	}{{dgi.ICCCRTDP, k.Precomputed.Dp}, {dgi.ICCCRTDQ, k.Precomputed.Dq}, {dgi.ICCCRTQInv, k.Precomputed.Qinv}} {
		got, err := part(c.tag)
		if err != nil {
			return nil, err
		}
		if got.Cmp(c.want) != 0 {
			return nil, fmt.Errorf("%w: ICC key components disagree", ErrConfig)
		}
	}
	cert := oda.Certificate{Data: bytes.Clone(rec[0x9F46]), Exponent: bytes.Clone(ev), Remainder: bytes.Clone(rec[0x9F48])}
	icc, err := oda.NewICC(k, cert)
	if err != nil {
		return nil, fmt.Errorf("%w: ICC key: %w", ErrConfig, err)
	}
	return icc, nil
}

func bcd(b byte) byte { return (b>>4)*10 + b&0x0F }

// unpackDigits reads BCD digits up to the first 'F' nibble.
func unpackDigits(b []byte) string {
	var s []byte
	for _, c := range b {
		for _, n := range []byte{c >> 4, c & 0x0F} {
			if n > 9 {
				return string(s)
			}
			s = append(s, '0'+n)
		}
	}
	return string(s)
}
