package cloud

import (
	"bytes"
	"fmt"
)

// The tapsim cloud Cryptogram Version Numbers (MODEL: the schemes' cloud
// CVNs and IAD layouts are not public).
const (
	// CVNVisaCloud is the limited-use key cryptogram.
	CVNVisaCloud byte = 0xC1
	// CVNMCCloud is the pair of MD and UMD cryptograms.
	CVNMCCloud byte = 0xC2
)

// Lengths of the cloud Issuer Application Data (9F10) and its fields.
const (
	IADLength    = 16 // the whole 9F10 value
	CVRLength    = 4  // Card Verification Results
	MDLength     = 4  // the MD cryptogram carried in the IAD
	iadSignature = 0x0A
	// macHeader is the part of the IAD both cryptograms of mc-cloud
	// cover: length, CVN, DKI, CVR.
	macHeader = 3 + CVRLength
)

// IAD is cloud Issuer Application Data (MODEL layout, 16 bytes):
//
//	byte 0      0A, the length of what follows up to the padding
//	byte 1      CVN: C1 visa-cloud, C2 mc-cloud
//	byte 2      DKI, derivation key index
//	bytes 3-6   CVR, card verification results (4 bytes)
//	bytes 7-10  visa-cloud: key index, BCD 0YHHHHCC; mc-cloud: MD cryptogram
//	bytes 11-15 00 padding
type IAD struct {
	CVN      byte            // CVNVisaCloud or CVNMCCloud
	DKI      byte            // derivation key index, carried for the issuer
	CVR      [CVRLength]byte // card verification results, covered by the cryptograms
	KeyIndex KeyIndex        // visa-cloud only: the limited-use key's index
	MD       [MDLength]byte  // mc-cloud only: the MD cryptogram
}

// ParseIAD reads cloud Issuer Application Data. It never reads past b and
// returns ErrIAD (or ErrKeyIndex) for anything but the exact layout.
func ParseIAD(b []byte) (IAD, error) {
	if len(b) != IADLength {
		return IAD{}, fmt.Errorf("%w: %d bytes, want %d", ErrIAD, len(b), IADLength)
	}
	if b[0] != iadSignature {
		return IAD{}, fmt.Errorf("%w: starts with %02X, want %02X", ErrIAD, b[0], iadSignature)
	}
	if !bytes.Equal(b[11:], make([]byte, IADLength-11)) {
		return IAD{}, fmt.Errorf("%w: padding is not zero", ErrIAD)
	}
	p := IAD{CVN: b[1], DKI: b[2]}
	copy(p.CVR[:], b[3:7])
	switch p.CVN {
	case CVNVisaCloud:
		ki, err := KeyIndexFromBCD(b[7:11])
		if err != nil {
			return IAD{}, fmt.Errorf("%w: %w", ErrIAD, err)
		}
		p.KeyIndex = ki
	case CVNMCCloud:
		copy(p.MD[:], b[7:11])
	default:
		return IAD{}, fmt.Errorf("%w: CVN %02X is not a cloud cryptogram version", ErrIAD, p.CVN)
	}
	return p, nil
}

// Bytes is the 16-byte 9F10 value.
func (p IAD) Bytes() []byte {
	b := make([]byte, IADLength)
	b[0], b[1], b[2] = iadSignature, p.CVN, p.DKI
	copy(b[3:7], p.CVR[:])
	if p.CVN == CVNVisaCloud {
		copy(b[7:11], p.KeyIndex.BCD())
	} else {
		copy(b[7:11], p.MD[:])
	}
	return b
}

// VisaIAD is the IAD of a visa-cloud cryptogram made with the key of index
// ki.
func VisaIAD(dki byte, cvr [CVRLength]byte, ki KeyIndex) []byte {
	return IAD{CVN: CVNVisaCloud, DKI: dki, CVR: cvr, KeyIndex: ki}.Bytes()
}

// MCIAD is the IAD of an mc-cloud cryptogram with its MD cryptogram.
func MCIAD(dki byte, cvr [CVRLength]byte, md [MDLength]byte) []byte {
	return IAD{CVN: CVNMCCloud, DKI: dki, CVR: cvr, MD: md}.Bytes()
}
