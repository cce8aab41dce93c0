package apdu

// Names a terminal selects: the Proximity Payment System Environment of
// contactless Entry Point and the contact Payment System Environment.
const (
	// PPSE is the Proximity Payment System Environment.
	PPSE = "2PAY.SYS.DDF01"
	// PSE is the Payment System Environment of contact cards.
	PSE = "1PAY.SYS.DDF01"
)

// Reference control parameter (P1) of GENERATE AC (EMV Book 3 section
// 6.5.5): the cryptogram type asked for, with CDARequest added to ask for a
// CDA signature.
const (
	// AAC asks for an Application Authentication Cryptogram (decline).
	AAC byte = 0x00
	// TC asks for a Transaction Certificate (offline approval).
	TC byte = 0x40
	// ARQC asks for an Authorisation Request Cryptogram (go online).
	ARQC byte = 0x80
	// CDARequest (bit 5) asks for a CDA signature with the cryptogram.
	CDARequest byte = 0x10
)

// P2 of VERIFY (EMV Book 3 section 6.5.12): the PIN is plaintext or
// enciphered.
const (
	// VerifyPlaintextPIN is P2 for a plaintext offline PIN block.
	VerifyPlaintextPIN byte = 0x80
	// VerifyEncipheredPIN is P2 for an offline PIN enciphered under the
	// card's public key.
	VerifyEncipheredPIN byte = 0x88
)

// Select is SELECT by name (00 A4 04 P2 Lc name 00): P2 '00' for the first
// or only occurrence, '02' for the next one.
func Select(aidOrName []byte, first bool) Command {
	p2 := byte(0x02)
	if first {
		p2 = 0x00
	}
	return Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: p2, Data: aidOrName, Le: MaxShortLe}
}

// SelectPPSE selects 2PAY.SYS.DDF01.
func SelectPPSE() Command { return Select([]byte(PPSE), true) }

// SelectPSE selects 1PAY.SYS.DDF01.
func SelectPSE() Command { return Select([]byte(PSE), true) }

// GPO is GET PROCESSING OPTIONS (80 A8 00 00 Lc 83 L data 00): the PDOL
// related data inside the Command Template '83' (empty when the card has no
// PDOL).
func GPO(pdolData []byte) Command {
	data := []byte{0x83}
	switch n := len(pdolData); {
	case n < 0x80:
		data = append(data, byte(n))
	case n <= 0xFF:
		data = append(data, 0x81, byte(n))
	default:
		data = append(data, 0x82, byte(n>>8), byte(n))
	}
	data = append(data, pdolData...)
	return Command{CLA: 0x80, INS: 0xA8, P1: 0x00, P2: 0x00, Data: data, Le: MaxShortLe}
}

// ReadRecord is READ RECORD (00 B2 record P2 00) with P2 = SFI << 3 | 4
// ("P1 is a record number"). sfi is 1 to 30; higher bits are dropped.
func ReadRecord(sfi, record byte) Command {
	return Command{CLA: 0x00, INS: 0xB2, P1: record, P2: (sfi&0x1F)<<3 | 0x04, Le: MaxShortLe}
}

// GenerateAC is GENERATE APPLICATION CRYPTOGRAM (80 AE P1 00 Lc data 00):
// ref is AAC, TC or ARQC, plus CDARequest for a CDA signature; cdolData is
// the CDOL1 or CDOL2 related data.
func GenerateAC(ref byte, cdolData []byte) Command {
	return Command{CLA: 0x80, INS: 0xAE, P1: ref, P2: 0x00, Data: cdolData, Le: MaxShortLe}
}

// GetData is GET DATA (80 CA P1 P2 00) for a primitive data object with a
// one- or two-byte tag, e.g. 0x9F36 (ATC), 0x9F17 (PIN Try Counter).
func GetData(tag uint16) Command {
	return Command{CLA: 0x80, INS: 0xCA, P1: byte(tag >> 8), P2: byte(tag), Le: MaxShortLe}
}

// GetResponse is GET RESPONSE (00 C0 00 00 Le), fetching le bytes a card
// announced with 61xx.
func GetResponse(le int) Command {
	return Command{CLA: 0x00, INS: 0xC0, Le: le}
}

// ExternalAuthenticate is EXTERNAL AUTHENTICATE (00 82 00 00 Lc data) with
// the Issuer Authentication Data.
func ExternalAuthenticate(issuerAuthData []byte) Command {
	return Command{CLA: 0x00, INS: 0x82, Data: issuerAuthData, Le: NoLe}
}

// InternalAuthenticate is INTERNAL AUTHENTICATE (00 88 00 00 Lc data 00)
// with the DDOL related data, for DDA.
func InternalAuthenticate(ddolData []byte) Command {
	return Command{CLA: 0x00, INS: 0x88, Data: ddolData, Le: MaxShortLe}
}

// GetChallenge is GET CHALLENGE (00 84 00 00 00): an 8-byte unpredictable
// number for offline enciphered PIN.
func GetChallenge() Command {
	return Command{CLA: 0x00, INS: 0x84, Le: MaxShortLe}
}

// Verify is VERIFY (00 20 00 P2 Lc data) with a plaintext PIN block or an
// enciphered PIN (p2 VerifyPlaintextPIN or VerifyEncipheredPIN).
func Verify(p2 byte, pinData []byte) Command {
	return Command{CLA: 0x00, INS: 0x20, P1: 0x00, P2: p2, Data: pinData, Le: NoLe}
}

// ComputeCryptographicChecksum is COMPUTE CRYPTOGRAPHIC CHECKSUM (80 2A 8E
// 80 Lc data 00) of the Book C-2 mag-stripe mode, with the UDOL related data.
func ComputeCryptographicChecksum(udolData []byte) Command {
	return Command{CLA: 0x80, INS: 0x2A, P1: 0x8E, P2: 0x80, Data: udolData, Le: MaxShortLe}
}

// ExchangeRelayResistanceData is EXCHANGE RELAY RESISTANCE DATA (80 EA 00
// 00 04 data 00) of Book C-2, with the terminal relay resistance entropy.
func ExchangeRelayResistanceData(entropy [4]byte) Command {
	return Command{CLA: 0x80, INS: 0xEA, Data: entropy[:], Le: MaxShortLe}
}

// RecoverAC is RECOVER AC (80 D0 00 00 Lc data 00) with the DRDOL related
// data of a torn transaction (EMV Contactless Book C-2): the card answers
// the GENERATE AC response the reader did not receive.
func RecoverAC(drdolData []byte) Command {
	return Command{CLA: 0x80, INS: 0xD0, Data: drdolData, Le: MaxShortLe}
}
