package emvapp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// SFIs of the application's files.
const (
	sfiTrack = 1 // Mastercard: track 2 and name, not signed
	sfiCard  = 2 // PAN, dates, lists: signed for ODA
	sfiCerts = 3 // certificates and keys
)

// packDigits packs decimal digits into BCD, padding an odd count with a
// trailing 'F'.
func packDigits(s string) []byte {
	if len(s)%2 == 1 {
		s += "F"
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = nibble(s[2*i])<<4 | nibble(s[2*i+1])
	}
	return out
}

func nibble(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c == 'D' || c == 'd':
		return 0x0D
	}
	return 0x0F
}

// n3 codes a 3-digit numeric code in 2 bytes ('0158').
func n3(v int) []byte { return packDigits(fmt.Sprintf("%04d", v%10000)) }

// yymmdd codes a date as 3 BCD bytes; last picks the month's last day.
func yymmdd(d Date, last bool) []byte {
	day := 1
	if last {
		day = time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	}
	return packDigits(fmt.Sprintf("%02d%02d%02d", d.Year%100, int(d.Month), day))
}

// track2 builds the Track 2 Equivalent Data (57): PAN, separator 'D',
// expiry YYMM, service code, discretionary data (zeros, up to the 37
// characters of track 2, at most 13), 'F' padding: 19 bytes at most.
func track2(pan string, exp Date, service string) ([]byte, error) {
	if _, err := exp.MMYY(); err != nil {
		return nil, fmt.Errorf("%w: expiry: %w", ErrConfig, err)
	}
	dd := min(13, 37-len(pan)-8)
	s := fmt.Sprintf("%sD%02d%02d%s%s", pan, exp.Year%100, int(exp.Month), service, strings.Repeat("0", max(dd, 0)))
	return packDigits(s), nil
}

// track1 builds Track 1 Data (56) in format B: "B", PAN, "^", name, "^",
// expiry YYMM, service code, 15 discretionary digits (zeros).
func track1(pan, name string, exp Date, service string) []byte {
	if name == "" {
		name = "/"
	}
	if len(name) > 26 {
		name = name[:26]
	}
	return []byte(fmt.Sprintf("B%s^%s^%02d%02d%s%s", pan, name, exp.Year%100, int(exp.Month), service, strings.Repeat("0", 15)))
}

// obj is a shorthand for a primitive TLV.
func obj(tag tlv.Tag, v []byte) tlv.TLV { return tlv.TLV{Tag: tag, Value: v} }

func encodeDOL(d tlv.DOL) []byte {
	b, err := d.Encode()
	if err != nil {
		return nil
	}
	return b
}

func (a *App) addRecord(sfi, num byte, objs ...tlv.TLV) error {
	body, err := tlv.EncodeConstructed(0x70, objs...)
	if err != nil {
		return fmt.Errorf("%w: record %d of SFI %d: %w", ErrConfig, num, sfi, err)
	}
	if len(body) > 254 {
		return fmt.Errorf("%w: record %d of SFI %d is %d bytes, too long for a short R-APDU", ErrConfig, num, sfi, len(body))
	}
	a.records = append(a.records, record{sfi: sfi, num: num, body: body})
	return nil
}

// build makes the FCI, the PPSE entry, the records, the AFL and the ICC
// certificate.
func (a *App) build() error {
	c := &a.cfg
	// PPSE directory entry.
	entry := []tlv.TLV{obj(0x4F, c.AID)}
	if c.Label != "" {
		entry = append(entry, obj(0x50, []byte(c.Label)))
	}
	if c.Priority != 0 {
		entry = append(entry, obj(0x87, []byte{c.Priority}))
	}
	entry = append(entry, obj(0x9F2A, []byte{c.KernelID}))
	e, err := tlv.List(entry).Encode()
	if err != nil {
		return fmt.Errorf("%w: directory entry: %w", ErrConfig, err)
	}
	a.entry = e

	// FCI.
	var prop []tlv.TLV
	if c.Label != "" {
		prop = append(prop, obj(0x50, []byte(c.Label)))
	}
	if c.Priority != 0 {
		prop = append(prop, obj(0x87, []byte{c.Priority}))
	}
	if len(a.pdol) > 0 {
		prop = append(prop, obj(0x9F38, encodeDOL(a.pdol)))
	}
	prop = append(prop, obj(0x5F2D, []byte(c.Language)))
	if c.Scheme == Mastercard && c.DataStorage != nil {
		// Book C-2 reads the Application Capabilities Information and the
		// DS ID from the FCI's Issuer Discretionary Data, before GET
		// PROCESSING OPTIONS, to decide on data storage.
		id := dsID(c.PAN, c.PSN)
		if c.DataStorage.DSID != nil {
			id = c.DataStorage.DSID
		}
		prop = append(prop, tlv.TLV{Tag: 0xBF0C, Children: []tlv.TLV{obj(0x9F5D, []byte{0x01, aciByte2(c), 0x00}), obj(0x9F5E, id)}})
	}
	fciProp := tlv.TLV{Tag: 0xA5, Value: []byte{}}
	if len(prop) > 0 {
		fciProp = tlv.TLV{Tag: 0xA5, Children: prop}
	}
	fci, err := tlv.EncodeConstructed(0x6F, obj(0x84, c.AID), fciProp)
	if err != nil {
		return fmt.Errorf("%w: FCI: %w", ErrConfig, err)
	}
	a.fci = fci

	// The signed card record.
	card := []tlv.TLV{obj(0x5A, packDigits(c.PAN)), obj(0x5F24, yymmdd(c.Expiry, true))}
	if c.Effective != (Date{}) {
		card = append(card, obj(0x5F25, yymmdd(c.Effective, false)))
	}
	card = append(card, obj(0x5F28, n3(c.IssuerCountry)))
	if c.Scheme == Mastercard && c.PSN != "" {
		card = append(card, obj(0x5F34, psn(c.PSN)))
	}
	if c.Scheme == Mastercard {
		cvm := c.CVMList
		if cvm == nil {
			cvm = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0x42, 0x03, 0x1E, 0x03, 0x1F, 0x03}
		}
		card = append(card,
			obj(0x8C, encodeDOL(a.cdol1)),
			obj(0x8D, encodeDOL(defaultCDOL2)),
			obj(0x8E, cvm),
		)
	}
	auc := c.AUC
	if auc == nil {
		auc = []byte{0xFF, 0x00}
	}
	card = append(card, obj(0x9F07, auc))
	if c.Scheme == Mastercard && c.TornRecovery {
		card = append(card, obj(0x9F51, []byte{0x9F, 0x37, 0x04, 0x9F, 0x02, 0x06}))
	}
	if c.Scheme == Mastercard && (c.BalanceReading || c.CDAOverAAC || c.DataStorage != nil) {
		// Application Capabilities Information: byte 1 b4-b1 the Data
		// Storage version, byte 2 b2 balance reading, b1 CDA over TC, ARQC
		// and AAC.
		// With data storage it is in the FCI (Data Storage version 1), and
		// the records carry the DSDOL.
		if c.DataStorage != nil {
			card = append(card, obj(0x9F5B, encodeDOL(DSDOL)))
		} else {
			card = append(card, obj(0x9F5D, []byte{0x00, aciByte2(c), 0x00}))
		}
	}
	if c.Scheme == Mastercard {
		card = append(card,
			obj(0x9F08, []byte{0x00, 0x02}),
			obj(0x9F0D, orDefault(c.IACDefault, "\xF4\x50\x84\x80\x0C")),
			obj(0x9F0E, orDefault(c.IACDenial, "\x00\x00\x00\x00\x00")),
			obj(0x9F0F, orDefault(c.IACOnline, "\xF4\x50\x84\x80\x0C")),
		)
	} else {
		card = append(card, obj(0x9F08, []byte{0x00, 0x96}))
	}
	card = append(card, obj(0x9F42, n3(c.Currency)))
	if c.Scheme == Visa && c.Name != "" {
		card = append(card, obj(0x5F20, []byte(c.Name)))
	}
	if t := c.Token; t != nil {
		card = append(card, obj(0x9F19, packDigits("0"+t.RequestorID)), obj(0x9F25, packDigits(t.PANLast4)))
	}
	if c.ODA != nil {
		card = append(card, obj(0x9F4A, []byte{0x82}))
	}

	if c.Scheme == Mastercard {
		track := []tlv.TLV{obj(0x57, a.track2)}
		if c.Name != "" {
			track = append(track, obj(0x5F20, []byte(c.Name)))
		}
		if ms := c.MagStripe; ms != nil {
			a.msTrack2 = a.track2
			track = append(track,
				obj(0x9F6C, []byte{0x00, 0x01}),
				obj(0x9F6B, a.msTrack2),
				obj(0x9F65, []byte{0x00, 0x0E}),
				obj(0x9F66, []byte{0x0F, 0xF0}),
				obj(0x9F67, []byte{0x03}),
			)
			if ms.Track1 {
				a.msTrack1 = track1(c.PAN, c.Name, c.Expiry, c.ServiceCode)
				track = append(track,
					obj(0x56, a.msTrack1),
					obj(0x9F62, []byte{0, 0, 0, 0, 0x00, 0x0E}),
					obj(0x9F63, []byte{0, 0, 0, 0, 0x0F, 0xF0}),
					obj(0x9F64, []byte{0x03}),
				)
			}
		}
		if err := a.addRecord(sfiTrack, 1, track...); err != nil {
			return err
		}
		a.afl = append(a.afl, sfiTrack<<3, 1, 1, 0)
	}
	if err := a.addRecord(sfiCard, 1, card...); err != nil {
		return err
	}
	odaRecords := byte(0)
	if c.ODA != nil {
		odaRecords = 1
	}
	a.afl = append(a.afl, sfiCard<<3, 1, 1, odaRecords)
	if c.ODA == nil {
		return nil
	}
	return a.buildODA()
}

// psn codes the PAN Sequence Number (n2, one byte).
func psn(s string) []byte {
	if len(s) == 1 {
		s = "0" + s
	}
	return packDigits(s)
}

func orDefault(v []byte, def string) []byte {
	if v != nil {
		return v
	}
	return []byte(def)
}

// buildODA certifies the ICC key over the static data (the signed record's
// value, then the AIP named by the SDA tag list 9F4A) and adds the
// certificate records.
func (a *App) buildODA() error {
	o := a.cfg.ODA
	var signed []byte
	for _, r := range a.records {
		if r.sfi == sfiCard {
			// Files with SFI 1 to 10: the record's value, without tag 70
			// and its length (EMV Book 3 section 10.3).
			l, err := tlv.Decode(r.body)
			if err != nil || len(l) != 1 {
				return fmt.Errorf("%w: signed record does not parse", ErrConfig)
			}
			signed = append(signed, l[0].Value...)
		}
	}
	static := append(signed, a.aip...)
	pub, err := oda.NewPublicKey(&o.ICCKey.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: ICC key: %w", ErrConfig, err)
	}
	exp := o.ICCExpiry
	if exp == (Date{}) {
		exp = a.cfg.Expiry
	}
	cert, err := o.Issuer.CertifyICC(pub, oda.ICCTemplate{PAN: a.cfg.PAN, Expiry: exp, Serial: o.ICCSerial, StaticData: static})
	if err != nil {
		return fmt.Errorf("%w: ICC certificate: %w", ErrConfig, err)
	}
	icc, err := oda.NewICC(o.ICCKey, cert)
	if err != nil {
		return fmt.Errorf("%w: ICC key: %w", ErrConfig, err)
	}
	a.icc = icc
	issuerCert, iccCert := o.Issuer.Certificate, cert
	if o.TamperIssuerCert {
		issuerCert = o.Tamper(issuerCert)
	}
	if o.TamperICCCert {
		iccCert = o.Tamper(iccCert)
	}
	rec2 := []tlv.TLV{obj(0x8F, []byte{o.CAIndex}), obj(0x9F32, issuerCert.Exponent)}
	if len(issuerCert.Remainder) > 0 {
		rec2 = append(rec2, obj(0x92, issuerCert.Remainder))
	}
	rec4 := []tlv.TLV{obj(0x9F47, iccCert.Exponent)}
	if len(iccCert.Remainder) > 0 {
		rec4 = append(rec4, obj(0x9F48, iccCert.Remainder))
	}
	for i, objs := range [][]tlv.TLV{{obj(0x90, issuerCert.Data)}, rec2, {obj(0x9F46, iccCert.Data)}, rec4} {
		if err := a.addRecord(sfiCerts, byte(i+1), objs...); err != nil {
			return err
		}
	}
	a.afl = append(a.afl, sfiCerts<<3, 1, 4, 0)
	return nil
}

// Records returns the application's records as READ RECORD returns them
// (70 templates), by SFI and record number, for tests and traces.
func (a *App) Records() map[[2]byte][]byte {
	out := make(map[[2]byte][]byte, len(a.records))
	for _, r := range a.records {
		out[[2]byte{r.sfi, r.num}] = bytes.Clone(r.body)
	}
	return out
}

// AFL returns the Application File Locator.
func (a *App) AFL() []byte { return bytes.Clone(a.afl) }

// aciByte2 is byte 2 of the Application Capabilities Information: b2
// balance reading, b1 CDA over TC, ARQC and AAC.
func aciByte2(c *Config) byte {
	var b byte
	if c.BalanceReading {
		b |= 0x02
	}
	if c.CDAOverAAC {
		b |= 0x01
	}
	return b
}

// dsID is the DS ID (9F5E) of a PAN and PSN: their digits, left-padded with
// zeros to at least 16 digits and to an even count, as packed BCD.
func dsID(pan, psn string) []byte {
	for len(psn) < 2 {
		psn = "0" + psn
	}
	digits := pan + psn
	for len(digits) < 16 || len(digits)%2 != 0 {
		digits = "0" + digits
	}
	b, err := hex.DecodeString(digits)
	if err != nil {
		return nil
	}
	return b
}
