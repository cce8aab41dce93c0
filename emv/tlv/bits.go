package tlv

import "fmt"

// A bit names one bit of a bit-coded data element: the byte (1-based, as the
// EMV books count) and the bit (8 is the most significant, 1 the least).
type bit struct {
	byte, bit int
	name      string
}

func (b bit) set(v []byte) bool {
	return b.byte <= len(v) && v[b.byte-1]&(1<<(b.bit-1)) != 0
}

// Explain decodes a bit-coded data element for people: one line for each bit
// that is set (or field that has a value), "byte 1 bit 8: name", with the
// names of EMV Book 3, Book A and Books C-2 and C-3 for kernel k. It knows
// TVR (95), TSI (9B), AIP (82), AUC (9F07), CVM Results (9F34), TTQ (9F66),
// CTQ (9F6C) and the CVR inside Issuer Application Data (9F10); for any
// other tag, or a value of the wrong length, it returns nil. Under C-2, the
// 2-byte 9F66 (PUNATC) and 9F6C (Mag-stripe Application Version Number) are
// not bit-coded and give nil.
func Explain(tag Tag, v []byte, k Kernel) []string {
	switch tag {
	case 0x95:
		if len(v) != 5 {
			return nil
		}
		bits := tvrBits
		if k == Kernel2 {
			bits = append(append([]bit(nil), tvrBits...), tvrC2Bits...)
		}
		lines := named(v, bits)
		if k == Kernel2 {
			lines = append(lines, relayResistance(v[4]))
		}
		return orNone(lines)
	case 0x9B:
		if len(v) != 2 {
			return nil
		}
		return orNone(named(v, tsiBits))
	case 0x82:
		if len(v) != 2 {
			return nil
		}
		bits := aipBits
		switch k {
		case Kernel2:
			bits = append(append([]bit(nil), aipBits...), aipC2Bits...)
		case Kernel3:
			bits = append(append([]bit(nil), aipBits...), aipC3Bits...)
		}
		return orNone(named(v, bits))
	case 0x9F07:
		if len(v) != 2 {
			return nil
		}
		return orNone(named(v, aucBits))
	case 0x9F34:
		if len(v) != 3 {
			return nil
		}
		return cvmResults(v)
	case 0x9F66:
		if len(v) != 4 || k == Kernel2 {
			return nil
		}
		return orNone(named(v, ttqBits))
	case 0x9F6C:
		if len(v) != 2 || k == Kernel2 {
			return nil
		}
		return orNone(named(v, ctqBits))
	case 0x9F10:
		return explainIAD(v)
	}
	return nil
}

// named lists the set bits of v that have a name, then the set bits that
// have none as RFU.
func named(v []byte, bits []bit) []string {
	var out []string
	known := make([]byte, len(v))
	for _, b := range bits {
		if b.byte > len(v) {
			continue
		}
		known[b.byte-1] |= 1 << (b.bit - 1)
		if b.set(v) && b.name != "" {
			out = append(out, fmt.Sprintf("byte %d bit %d: %s", b.byte, b.bit, b.name))
		}
	}
	for i, c := range v {
		for n := 8; n >= 1; n-- {
			m := byte(1) << (n - 1)
			if c&m != 0 && known[i]&m == 0 {
				out = append(out, fmt.Sprintf("byte %d bit %d: RFU (set)", i+1, n))
			}
		}
	}
	return out
}

func orNone(lines []string) []string {
	if len(lines) == 0 {
		return []string{"no bit set"}
	}
	return lines
}

// Terminal Verification Results, EMV Book 3 Annex C5.
var tvrBits = []bit{
	{1, 8, "Offline data authentication was not performed"},
	{1, 7, "SDA failed"},
	{1, 6, "ICC data missing"},
	{1, 5, "Card appears on terminal exception file"},
	{1, 4, "DDA failed"},
	{1, 3, "CDA failed"},
	{1, 2, "SDA selected"},
	{2, 8, "ICC and terminal have different application versions"},
	{2, 7, "Expired application"},
	{2, 6, "Application not yet effective"},
	{2, 5, "Requested service not allowed for card product"},
	{2, 4, "New card"},
	{3, 8, "Cardholder verification was not successful"},
	{3, 7, "Unrecognised CVM"},
	{3, 6, "PIN Try Limit exceeded"},
	{3, 5, "PIN entry required and PIN pad not present or not working"},
	{3, 4, "PIN entry required, PIN pad present, but PIN was not entered"},
	{3, 3, "Online PIN entered"},
	{4, 8, "Transaction exceeds floor limit"},
	{4, 7, "Lower consecutive offline limit exceeded"},
	{4, 6, "Upper consecutive offline limit exceeded"},
	{4, 5, "Transaction selected randomly for online processing"},
	{4, 4, "Merchant forced transaction online"},
	{5, 8, "Default TDOL used"},
	{5, 7, "Issuer authentication failed"},
	{5, 6, "Script processing failed before final GENERATE AC"},
	{5, 5, "Script processing failed after final GENERATE AC"},
}

// The relay resistance bits Book C-2 adds to the TVR's fifth byte; bits 2-1
// are a field (relayResistance).
var tvrC2Bits = []bit{
	{5, 4, "Relay resistance threshold exceeded"},
	{5, 3, "Relay resistance time limits exceeded"},
	{5, 2, ""}, {5, 1, ""},
}

func relayResistance(b byte) string {
	s := [...]string{"not supported", "not performed", "performed", "RFU"}[b&0x03]
	return "byte 5 bits 2-1: Relay resistance performed: " + s
}

// Transaction Status Information, EMV Book 3 Annex C6.
var tsiBits = []bit{
	{1, 8, "Offline data authentication was performed"},
	{1, 7, "Cardholder verification was performed"},
	{1, 6, "Card risk management was performed"},
	{1, 5, "Issuer authentication was performed"},
	{1, 4, "Terminal risk management was performed"},
	{1, 3, "Script processing was performed"},
}

// Application Interchange Profile, EMV Book 3 Annex C1.
var aipBits = []bit{
	{1, 7, "SDA supported"},
	{1, 6, "DDA supported"},
	{1, 5, "Cardholder verification is supported"},
	{1, 4, "Terminal risk management is to be performed"},
	{1, 3, "Issuer authentication is supported"},
	{1, 1, "CDA supported"},
}

// The AIP bits Book C-2 adds.
var aipC2Bits = []bit{
	{1, 2, "On device cardholder verification is supported"},
	{2, 8, "EMV mode is supported"},
	{2, 1, "Relay Resistance Protocol is supported"},
}

// The AIP bit Book C-3 adds.
var aipC3Bits = []bit{
	{2, 8, "MSD is supported"},
}

// Application Usage Control, EMV Book 3 Annex C2.
var aucBits = []bit{
	{1, 8, "Valid for domestic cash transactions"},
	{1, 7, "Valid for international cash transactions"},
	{1, 6, "Valid for domestic goods"},
	{1, 5, "Valid for international goods"},
	{1, 4, "Valid for domestic services"},
	{1, 3, "Valid for international services"},
	{1, 2, "Valid at ATMs"},
	{1, 1, "Valid at terminals other than ATMs"},
	{2, 8, "Domestic cashback allowed"},
	{2, 7, "International cashback allowed"},
}

// Terminal Transaction Qualifiers, Book A and Book C-3.
var ttqBits = []bit{
	{1, 8, "Mag-stripe mode supported"},
	{1, 6, "EMV mode supported"},
	{1, 5, "EMV contact chip supported"},
	{1, 4, "Offline-only reader"},
	{1, 3, "Online PIN supported"},
	{1, 2, "Signature supported"},
	{1, 1, "Offline Data Authentication for Online Authorizations supported"},
	{2, 8, "Online cryptogram required"},
	{2, 7, "CVM required"},
	{2, 6, "(Contact Chip) Offline PIN supported"},
	{3, 8, "Issuer Update Processing supported"},
	{3, 7, "Consumer Device CVM supported"},
}

// Card Transaction Qualifiers, Book C-3.
var ctqBits = []bit{
	{1, 8, "Online PIN Required"},
	{1, 7, "Signature Required"},
	{1, 6, "Go Online if Offline Data Authentication Fails and Reader is online capable"},
	{1, 5, "Switch Interface if Offline Data Authentication fails and Reader supports contact chip"},
	{1, 4, "Go Online if Application Expired"},
	{1, 3, "Switch Interface for Cash Transactions"},
	{1, 2, "Switch Interface for Cashback Transactions"},
	{2, 8, "Consumer Device CVM Performed"},
	{2, 7, "Card supports Issuer Update Processing at the POS"},
}

// cvmResults decodes CVM Results (EMV Book 3 Annex A and C3): the CVM
// performed, its condition and its result.
func cvmResults(v []byte) []string {
	code := v[0] & 0x3F
	method := fmt.Sprintf("unknown method %02X", code)
	switch code {
	case 0x00:
		method = "Fail CVM processing"
	case 0x01:
		method = "Plaintext PIN verification performed by ICC"
	case 0x02:
		method = "Enciphered PIN verified online"
	case 0x03:
		method = "Plaintext PIN verification performed by ICC and signature (paper)"
	case 0x04:
		method = "Enciphered PIN verification performed by ICC"
	case 0x05:
		method = "Enciphered PIN verification performed by ICC and signature (paper)"
	case 0x1E:
		method = "Signature (paper)"
	case 0x1F:
		method = "No CVM required"
	case 0x3F:
		method = "No CVM performed"
	default:
		if code >= 0x20 && code <= 0x2F {
			method = fmt.Sprintf("method %02X, reserved for the payment systems", code)
		} else if code >= 0x30 && code <= 0x3E {
			method = fmt.Sprintf("method %02X, reserved for the issuer", code)
		}
	}
	lines := []string{"byte 1: CVM performed: " + method}
	if v[0]&0x40 != 0 {
		lines = append(lines, "byte 1 bit 7: Apply succeeding CV Rule if this CVM is unsuccessful")
	}
	cond := fmt.Sprintf("condition %02X", v[1])
	if int(v[1]) < len(cvmConditions) {
		cond = cvmConditions[v[1]]
	}
	lines = append(lines, "byte 2: CVM condition: "+cond)
	res := fmt.Sprintf("result %02X", v[2])
	switch v[2] {
	case 0x00:
		res = "unknown"
	case 0x01:
		res = "failed"
	case 0x02:
		res = "successful"
	}
	return append(lines, "byte 3: CVM result: "+res)
}

// CVM condition codes, EMV Book 3 Annex C3.
var cvmConditions = []string{
	"Always",
	"If unattended cash",
	"If not unattended cash and not manual cash and not purchase with cashback",
	"If terminal supports the CVM",
	"If manual cash",
	"If purchase with cashback",
	"If transaction is in the application currency and is under X value",
	"If transaction is in the application currency and is over X value",
	"If transaction is in the application currency and is under Y value",
	"If transaction is in the application currency and is over Y value",
}
