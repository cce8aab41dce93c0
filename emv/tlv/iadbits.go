package tlv

import "fmt"

// explainIAD recognises the layout of Issuer Application Data (9F10) from
// its first bytes and decodes the Card Verification Results in it:
//
//	Visa format 0/1/3 (CVN 10, 18): 06 | DKI | CVN | 03 | CVR (3)
//	Visa format 2 (CVN 22):         1F | CVN | DKI | CVR (5) | ...
//	EMV CCD (Book 3 Annex C7):      0F | CCI | DKI | CVR (5) | counters (8)
//	M/Chip (CVN 10, 11, 14, 15):    DKI | CVN | CVR (6) | DAC/IDN (2) [| counters (8)]
//
// Visa format 2 uses the CCD's CVR. Bits that tapsim's virtual cards give a
// meaning of their own are labelled as tapsim's.
func explainIAD(v []byte) []string {
	switch {
	case len(v) >= 7 && v[0] == 0x06 && v[3] == 0x03:
		lines := []string{fmt.Sprintf("Visa format 0/1/3: DKI %02X, CVN %02X, CVR %X", v[1], v[2], v[3:7])}
		return append(lines, cvrLines(v[3:7], visaCVRBits, visaCVRFields)...)
	case len(v) == 32 && v[0] == 0x1F:
		lines := []string{fmt.Sprintf("Visa format 2: CVN %02X, DKI %02X, CVR %X", v[1], v[2], v[3:8])}
		return append(lines, cvrLines(v[3:8], ccdCVRBits, ccdCVRFields)...)
	case len(v) >= 16 && v[0] == 0x0F:
		lines := []string{fmt.Sprintf("EMV Common Core Definitions: CCI %02X, DKI %02X, CVR %X, counters %X", v[1], v[2], v[3:8], v[8:16])}
		return append(lines, cvrLines(v[3:8], ccdCVRBits, ccdCVRFields)...)
	case len(v) >= 10 && isMChipCVN(v[1]):
		head := fmt.Sprintf("M/Chip: DKI %02X, CVN %02X, CVR %X, DAC/IDN %X", v[0], v[1], v[2:8], v[8:10])
		if len(v) >= 18 {
			head += fmt.Sprintf(", counters %X", v[10:18])
		}
		return append([]string{head}, cvrLines(v[2:8], mchipCVRBits, mchipCVRFields)...)
	}
	return nil
}

func isMChipCVN(b byte) bool { return b == 0x10 || b == 0x11 || b == 0x14 || b == 0x15 }

// A cvrField is a group of bits read as one value.
type cvrField func(cvr []byte) (string, bool)

func cvrLines(cvr []byte, bits []bit, fields []cvrField) []string {
	var out []string
	for _, f := range fields {
		if s, ok := f(cvr); ok {
			out = append(out, "CVR "+s)
		}
	}
	for _, l := range named(cvr, bits) {
		out = append(out, "CVR "+l)
	}
	if len(out) == 0 {
		return []string{"CVR: no bit set"}
	}
	return out
}

var secondAC = [...]string{"AAC", "TC", "second GENERATE AC not requested", "RFU"}
var firstAC = [...]string{"AAC", "TC", "ARQC", "RFU"}

// acTypes reads the AC types of the CVR byte at index i (bits 8-7 and 6-5).
func acTypes(i int) cvrField {
	return func(cvr []byte) (string, bool) {
		c := cvr[i]
		return fmt.Sprintf("byte %d bits 8-5: 2nd GENERATE AC returned %s; 1st GENERATE AC returned %s",
			i+1, secondAC[c>>6], firstAC[c>>4&3]), true
	}
}

// nibble reads a 4-bit counter of the CVR, shown only when not zero.
func nibble(i int, high bool, name string) cvrField {
	return func(cvr []byte) (string, bool) {
		n, bits := cvr[i]&0x0F, "4-1"
		if high {
			n, bits = cvr[i]>>4, "8-5"
		}
		if n == 0 {
			return "", false
		}
		return fmt.Sprintf("byte %d bits %s: %s: %d", i+1, bits, name, n), true
	}
}

// Visa format 0/1/3 CVR (Visa Integrated Circuit Card Specification):
// byte 1 is the CVR length.
var visaCVRFields = []cvrField{acTypes(1), nibble(3, true, "Number of issuer script commands containing secure messaging processed")}

var visaCVRBits = []bit{
	{1, 8, ""}, {1, 7, ""}, {1, 6, ""}, {1, 5, ""}, {1, 4, ""}, {1, 3, ""}, {1, 2, ""}, {1, 1, ""},
	{2, 8, ""}, {2, 7, ""}, {2, 6, ""}, {2, 5, ""},
	{2, 4, "Issuer authentication performed and failed"},
	{2, 3, "Offline PIN verification performed"},
	{2, 2, "Offline PIN verification failed"},
	{2, 1, "Unable to go online"},
	{3, 8, "Last online transaction not completed"},
	{3, 7, "PIN try limit exceeded"},
	{3, 6, "Exceeded velocity checking counters"},
	{3, 5, "New card"},
	{3, 4, "Issuer authentication failure on last online transaction"},
	{3, 3, "Issuer authentication not performed after online authorisation"},
	{3, 2, "Application blocked by card because PIN try limit exceeded"},
	{3, 1, "Offline static data authentication failed on last transaction and transaction declined offline"},
	{4, 8, ""}, {4, 7, ""}, {4, 6, ""}, {4, 5, ""},
	{4, 4, "Issuer script processing failed"},
	{4, 3, "Offline dynamic data authentication failed on last transaction and transaction declined offline"},
	{4, 2, "Offline dynamic data authentication performed"},
	{4, 1, "RFU (tapsim: cardholder verified on the device, CDCVM)"},
}

// EMV Common Core Definitions CVR (Book 3 Annex C7.3), also Visa format 2.
var ccdCVRFields = []cvrField{acTypes(0), nibble(1, true, "PIN Try Counter"), nibble(3, true, "Number of issuer script commands containing secure messaging processed")}

var ccdCVRBits = []bit{
	{1, 8, ""}, {1, 7, ""}, {1, 6, ""}, {1, 5, ""},
	{1, 4, "CDA performed"},
	{1, 3, "Offline DDA performed"},
	{1, 2, "Issuer authentication not performed"},
	{1, 1, "Issuer authentication failed"},
	{2, 8, ""}, {2, 7, ""}, {2, 6, ""}, {2, 5, ""},
	{2, 4, "Offline PIN verification performed"},
	{2, 3, "Offline PIN verification performed and PIN not successfully verified"},
	{2, 2, "PIN Try Limit exceeded"},
	{2, 1, "Last online transaction not completed"},
	{3, 8, "Lower offline transaction count limit exceeded"},
	{3, 7, "Upper offline transaction count limit exceeded"},
	{3, 6, "Lower cumulative offline amount limit exceeded"},
	{3, 5, "Upper cumulative offline amount limit exceeded"},
	{3, 4, "Issuer-discretionary bit 1 (tapsim: cardholder verified on the device, CDCVM)"},
	{3, 3, "Issuer-discretionary bit 2"},
	{3, 2, "Issuer-discretionary bit 3"},
	{3, 1, "Issuer-discretionary bit 4"},
	{4, 8, ""}, {4, 7, ""}, {4, 6, ""}, {4, 5, ""},
	{4, 4, "Issuer script processing failed"},
	{4, 3, "Offline data authentication failed on previous transaction"},
	{4, 2, "Go online on next transaction was set"},
	{4, 1, "Unable to go online"},
}

// M/Chip CVR (6 bytes), as far as Mastercard's public descriptions name
// the bits; byte 3 holds two counters.
var mchipCVRFields = []cvrField{acTypes(0), nibble(2, true, "Right nibble of Script Counter"), nibble(2, false, "Right nibble of PIN Try Counter")}

var mchipCVRBits = []bit{
	{1, 8, ""}, {1, 7, ""}, {1, 6, ""}, {1, 5, ""},
	{1, 4, "Date check failed"},
	{1, 3, "Offline PIN verification performed"},
	{1, 2, "Offline encrypted PIN verification performed"},
	{1, 1, "Offline PIN verification successful"},
	{2, 8, "DDA returned"},
	{2, 7, "Combined DDA/AC Generation returned in first GENERATE AC"},
	{2, 6, "Combined DDA/AC Generation returned in second GENERATE AC"},
	{2, 5, "Issuer authentication performed"},
	{2, 4, "CIAC-Default skipped on CAT3"},
	{3, 8, ""}, {3, 7, ""}, {3, 6, ""}, {3, 5, ""}, {3, 4, ""}, {3, 3, ""}, {3, 2, ""}, {3, 1, ""},
	{4, 8, "Last online transaction not completed"},
	{4, 7, "Unable to go online"},
	{4, 6, "Offline PIN verification not performed"},
	{4, 5, "Offline PIN verification failed"},
	{4, 4, "PTL exceeded"},
	{4, 3, "International transaction"},
	{4, 2, "Domestic transaction"},
	{4, 1, "Terminal erroneously considers offline PIN OK"},
	{5, 8, "Lower consecutive offline limit exceeded"},
	{5, 7, "Upper consecutive offline limit exceeded"},
	{5, 6, "Lower cumulative offline limit exceeded"},
	{5, 5, "Upper cumulative offline limit exceeded"},
	{5, 4, "Go online on next transaction was set"},
	{5, 3, "Issuer authentication failed"},
	{5, 2, "Script received"},
	{5, 1, "Script failed"},
	{6, 2, "Match found in additional check table"},
	{6, 1, "No match found in additional check table (tapsim: cardholder verified on the device, CDCVM)"},
}
