package apdu

import "fmt"

// Status words of ISO/IEC 7816-4 (section 5.1.3) and EMV Book 1 and 3.
const (
	// SW9000 is normal processing.
	SW9000 uint16 = 0x9000
	// SW6200 is a warning: state of non-volatile memory unchanged.
	SW6200 uint16 = 0x6200
	// SW6281 is a warning: part of the returned data may be corrupted.
	SW6281 uint16 = 0x6281
	// SW6282 is a warning: end of file or record reached before Le bytes.
	SW6282 uint16 = 0x6282
	// SW6283 is a warning: selected file invalidated (EMV: application
	// blocked).
	SW6283 uint16 = 0x6283
	// SW6284 is a warning: FCI not formatted as ISO/IEC 7816-4 says.
	SW6284 uint16 = 0x6284
	// SW6300 is a warning: verification failed (state of non-volatile
	// memory changed).
	SW6300 uint16 = 0x6300
	// SW63C0 is the first of the 63Cx family: verification failed, x
	// further tries allowed.
	SW63C0 uint16 = 0x63C0
	// SW6400 is an execution error, non-volatile memory unchanged.
	SW6400 uint16 = 0x6400
	// SW6581 is an execution error: memory failure.
	SW6581 uint16 = 0x6581
	// SW6700 is a checking error: wrong length.
	SW6700 uint16 = 0x6700
	// SW6881 is a checking error: logical channel not supported.
	SW6881 uint16 = 0x6881
	// SW6882 is a checking error: secure messaging not supported.
	SW6882 uint16 = 0x6882
	// SW6981 is command not allowed: incompatible with file structure.
	SW6981 uint16 = 0x6981
	// SW6982 is command not allowed: security status not satisfied.
	SW6982 uint16 = 0x6982
	// SW6983 is command not allowed: authentication method blocked (EMV:
	// PIN try limit exceeded).
	SW6983 uint16 = 0x6983
	// SW6984 is command not allowed: reference data not usable.
	SW6984 uint16 = 0x6984
	// SW6985 is command not allowed: conditions of use not satisfied.
	SW6985 uint16 = 0x6985
	// SW6986 is command not allowed: no current EF.
	SW6986 uint16 = 0x6986
	// SW6987 is command not allowed: expected secure messaging data
	// objects missing.
	SW6987 uint16 = 0x6987
	// SW6988 is command not allowed: incorrect secure messaging data objects.
	SW6988 uint16 = 0x6988
	// SW6A80 is wrong parameters: incorrect data field.
	SW6A80 uint16 = 0x6A80
	// SW6A81 is wrong parameters: function not supported (EMV: card or
	// application blocked, on SELECT).
	SW6A81 uint16 = 0x6A81
	// SW6A82 is wrong parameters: file or application not found.
	SW6A82 uint16 = 0x6A82
	// SW6A83 is wrong parameters: record not found.
	SW6A83 uint16 = 0x6A83
	// SW6A84 is wrong parameters: not enough memory space in the file.
	SW6A84 uint16 = 0x6A84
	// SW6A86 is wrong parameters: incorrect P1-P2.
	SW6A86 uint16 = 0x6A86
	// SW6A88 is wrong parameters: referenced data or reference data not
	// found.
	SW6A88 uint16 = 0x6A88
	// SW6B00 is wrong parameters P1-P2.
	SW6B00 uint16 = 0x6B00
	// SW6C00 is the first of the 6Cxx family: wrong Le, xx is the exact
	// number of bytes available.
	SW6C00 uint16 = 0x6C00
	// SW6100 is the first of the 61xx family: xx more response bytes
	// available with GET RESPONSE.
	SW6100 uint16 = 0x6100
	// SW6D00 is instruction code not supported or invalid.
	SW6D00 uint16 = 0x6D00
	// SW6E00 is class not supported.
	SW6E00 uint16 = 0x6E00
	// SW6F00 is no precise diagnosis.
	SW6F00 uint16 = 0x6F00
)

var swNames = map[uint16]string{
	SW9000: "normal processing",
	SW6200: "warning: state of non-volatile memory unchanged",
	SW6281: "warning: part of returned data may be corrupted",
	SW6282: "warning: end of file or record reached before reading Le bytes",
	SW6283: "warning: selected file invalidated",
	SW6284: "warning: FCI not formatted according to ISO/IEC 7816-4",
	SW6300: "warning: verification failed",
	SW6400: "execution error: state of non-volatile memory unchanged",
	SW6581: "execution error: memory failure",
	SW6700: "wrong length",
	SW6881: "logical channel not supported",
	SW6882: "secure messaging not supported",
	SW6981: "command incompatible with file structure",
	SW6982: "security status not satisfied",
	SW6983: "authentication method blocked",
	SW6984: "reference data not usable",
	SW6985: "conditions of use not satisfied",
	SW6986: "command not allowed (no current EF)",
	SW6987: "expected secure messaging data objects missing",
	SW6988: "incorrect secure messaging data objects",
	SW6A80: "incorrect parameters in the data field",
	SW6A81: "function not supported",
	SW6A82: "file or application not found",
	SW6A83: "record not found",
	SW6A84: "not enough memory space in the file",
	SW6A86: "incorrect parameters P1-P2",
	SW6A88: "referenced data not found",
	SW6B00: "wrong parameters P1-P2",
	SW6D00: "instruction code not supported or invalid",
	SW6E00: "class not supported",
	SW6F00: "no precise diagnosis",
}

// SWName gives the meaning of a status word: its own name, else the meaning
// of its family (61xx, 6Cxx, 63Cx, then by SW1), else "unknown status".
func SWName(sw uint16) string {
	if s, ok := swNames[sw]; ok {
		return s
	}
	sw1, sw2 := byte(sw>>8), byte(sw)
	switch {
	case sw1 == 0x61:
		return fmt.Sprintf("%d more bytes available", leFromSW2(sw2))
	case sw1 == 0x6C:
		return fmt.Sprintf("wrong Le: %d bytes available", leFromSW2(sw2))
	case sw1 == 0x63 && sw2&0xF0 == 0xC0:
		return fmt.Sprintf("verification failed, %d tries left", sw2&0x0F)
	case sw1 == 0x62:
		return "warning: state of non-volatile memory unchanged"
	case sw1 == 0x63:
		return "warning: state of non-volatile memory changed"
	case sw1 == 0x64:
		return "execution error: state of non-volatile memory unchanged"
	case sw1 == 0x65:
		return "execution error: state of non-volatile memory changed"
	case sw1 == 0x66:
		return "execution error: security related"
	case sw1 == 0x67:
		return "wrong length"
	case sw1 == 0x68:
		return "functions in CLA not supported"
	case sw1 == 0x69:
		return "command not allowed"
	case sw1 == 0x6A:
		return "wrong parameters"
	}
	return "unknown status"
}

// Describe gives a status word in hex with its meaning:
// "6A82: file or application not found", "6110: 16 more bytes available".
func Describe(sw uint16) string { return fmt.Sprintf("%04X: %s", sw, SWName(sw)) }

// leFromSW2 reads SW2 of 61xx and 6Cxx as a byte count ('00' means 256).
func leFromSW2(sw2 byte) int { return shortLe(sw2) }
