package cloud

// CVRCDCVM is the bit of the first CVR byte a visa-cloud phone sets when
// the cardholder was verified on the device (CDCVM) for this transaction
// (MODEL: the schemes' cloud CVR bits are not public). The bit is inside
// the data the limited-use key's cryptogram covers, so the issuer takes
// it as authenticated only once that cryptogram verifies. The mc-cloud
// model needs no bit: the UMD cryptogram is the evidence.
const CVRCDCVM byte = 0x80

// CDCVM reports whether the CVR says the cardholder was verified on the
// device. It is a claim until the cryptogram over the IAD has verified.
func (p IAD) CDCVM() bool { return p.CVR[0]&CVRCDCVM != 0 }

// ACType is the type of the cryptogram the phone made, as its CVR records
// it in the second byte, bits 6-5 (MODEL, the layout of the contact
// cards' CVR): 0 an AAC, 1 a TC, 2 an ARQC. The CVR is inside what the
// cryptograms cover.
func (p IAD) ACType() byte { return p.CVR[1] >> 4 & 0x03 }
