// Package datastorage holds the terminal-side computations of EMV
// Contactless Book C-2 Integrated Data Storage: the Data Storage Partial Key
// a DS ID gives and the one-way function OWHF2 that turns the terminal's
// DS Input (Term) into the DS Digest H sent to the card with GENERATE AC
// (Book C-2 section 8.2). The card's own summary function is the issuer's
// and not part of the book.
package datastorage

import (
	"crypto/des"
	"errors"
	"fmt"
)

// ErrLength reports an input of the wrong length.
var ErrLength = errors.New("datastorage: wrong length")

// PartialKey is the Data Storage Partial Key (DSPK = DSPKL || DSPKR, 12
// bytes) of a DS ID (n, 8-11 bytes): DSPKL from the DS ID's first 6 bytes,
// DSPKR from its last 6, each byte's two digits read as a decimal number
// and doubled.
func PartialKey(dsID []byte) ([]byte, error) {
	if len(dsID) < 6 {
		return nil, fmt.Errorf("%w: DS ID of %d bytes, want at least 6", ErrLength, len(dsID))
	}
	out := make([]byte, 12)
	for i := range 6 {
		out[i] = twice(dsID[i])
		out[6+i] = twice(dsID[len(dsID)-6+i])
	}
	return out, nil
}

// twice reads b as two BCD digits and doubles the number (mod 256).
func twice(b byte) byte { return byte((int(b>>4)*10 + int(b&0x0F)) * 2) }

// OWHF2 is the DES-based one-way function of Book C-2 section 8.2 for Data
// Storage version 1: with KL = DSPKL || OID[5..6] and KR = DSPKR ||
// OID[7..8], R = DES(KL)[DES⁻¹(KR)[DES(KL)[OID ⊕ PD]]] ⊕ PD. dsID is the
// DS ID, oid the 8-byte object identifier (the DS Requested Operator ID, or
// zeros: see ObjectID) and pd the 8-byte DS Input (Term).
func OWHF2(dsID, oid, pd []byte) ([]byte, error) {
	if len(oid) != 8 || len(pd) != 8 {
		return nil, fmt.Errorf("%w: OID and DS Input are 8 bytes (got %d and %d)", ErrLength, len(oid), len(pd))
	}
	pk, err := PartialKey(dsID)
	if err != nil {
		return nil, err
	}
	kl := append(append(make([]byte, 0, 8), pk[:6]...), oid[4:6]...)
	kr := append(append(make([]byte, 0, 8), pk[6:]...), oid[6:8]...)
	l, err := des.NewCipher(kl)
	if err != nil {
		return nil, fmt.Errorf("datastorage: %w", err)
	}
	r, err := des.NewCipher(kr)
	if err != nil {
		return nil, fmt.Errorf("datastorage: %w", err)
	}
	x := make([]byte, 8)
	for i := range x {
		x[i] = oid[i] ^ pd[i]
	}
	l.Encrypt(x, x)
	r.Decrypt(x, x)
	l.Encrypt(x, x)
	for i := range x {
		x[i] ^= pd[i]
	}
	return x, nil
}

// DS Slot Management Control (9F6F) and DS ODS Info (DF62) bits.
const (
	SlotPermanent  = 0x80 // b8: permanent slot type
	SlotVolatile   = 0x40 // b7: volatile slot type
	LowVolatility  = 0x20 // b6: low volatility
	SlotLocked     = 0x10 // b5 of the Slot Management Control: locked slot
	DeclineOnError = 0x08 // b4 of the DS ODS Info: decline on a data storage error
	SlotDeactive   = 0x01 // b1 of the Slot Management Control: deactivated slot
)

// ObjectID is the OID OWHF2 uses: zeros when the card's slot is permanent
// (DS Slot Management Control b8) and the terminal asks for a volatile one
// (DS ODS Info b7), else the DS Requested Operator ID. A nil slot
// management control (the card gave none) keeps the operator ID.
func ObjectID(operatorID []byte, slotManagement []byte, odsInfo byte) []byte {
	if len(slotManagement) == 1 && slotManagement[0]&SlotPermanent != 0 && odsInfo&SlotVolatile != 0 {
		return make([]byte, 8)
	}
	return append([]byte(nil), operatorID...)
}
