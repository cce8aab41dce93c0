package dgi

// The DGI numbers tapsim uses. FACT marks a number whose meaning the public
// EMV CPS text gives; MODEL marks tapsim's own choice where the public facts
// stop (scheme profiles are licensed): the SP TSM's data preparation and
// the card applet share this one table, and nothing else should be read
// into the MODEL numbers.
const (
	// KeysDES (FACT) is '8000': the application's symmetric keys,
	// enciphered. MODEL: tapsim puts the ICC master key for application
	// cryptograms alone in it (no secure messaging keys), as the CVN's
	// algorithm wants it (16 bytes, TDES or AES).
	KeysDES uint16 = 0x8000
	// KeyCheckValues (FACT) is '9000': the check values of the keys in
	// '8000', 3 bytes each, in clear.
	KeyCheckValues uint16 = 0x9000
	// ICCCRTQInv (FACT) is '8201': q⁻¹ mod p of the ICC RSA key, enciphered.
	ICCCRTQInv uint16 = 0x8201
	// ICCCRTDQ (FACT) is '8202': d mod (q−1), enciphered.
	ICCCRTDQ uint16 = 0x8202
	// ICCCRTDP (FACT) is '8203': d mod (p−1), enciphered.
	ICCCRTDP uint16 = 0x8203
	// ICCCRTQ (FACT) is '8204': the prime q, enciphered.
	ICCCRTQ uint16 = 0x8204
	// ICCCRTP (FACT) is '8205': the prime p, enciphered.
	ICCCRTP uint16 = 0x8205

	// FCI (MODEL) is 'A001': the application's SELECT response (the 6F
	// template), as the data preparation built it.
	FCI uint16 = 0xA001
	// DirectoryEntry (MODEL) is 'A002': the value of the application's PPSE
	// directory entry (61: 4F, 50, 87, 9F2A).
	DirectoryEntry uint16 = 0xA002
	// AppParams (MODEL) is 'A003': the application's internal parameters as
	// a BER-TLV list: EMV tags where EMV has one (82 AIP, 94 AFL, 57 track
	// 2 equivalent data, 5F34 PSN, 9F38 PDOL, 8C CDOL1, 9F6C CTQ, 9F6E form
	// factor) and tapsim's private tags DF01-DF0F for the rest (see the
	// card applet's documentation).
	AppParams uint16 = 0xA003
)

// Record is the DGI of record rec of file sfi (FACT): SFI || record number,
// e.g. Record(1, 1) = '0101'. Its data is the record as READ RECORD returns
// it (the 70 template).
func Record(sfi, rec byte) uint16 { return uint16(sfi)<<8 | uint16(rec) }

// IsRecord reports whether tag names a record: SFI 1 to 30, record 1 to
// 254.
func IsRecord(tag uint16) (sfi, rec byte, ok bool) {
	sfi, rec = byte(tag>>8), byte(tag)
	return sfi, rec, sfi >= 1 && sfi <= 30 && rec >= 1 && rec != 0xFF
}

// Sensitive reports whether a DGI must travel enciphered (R-S3b): the
// '8xxx' range, as CPS uses it for keys and PINs.
func Sensitive(tag uint16) bool { return tag&0xF000 == 0x8000 }
