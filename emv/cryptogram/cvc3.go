package cryptogram

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// ErrTrack reports track data or bitmaps that cannot carry the dynamic
// digits of a mag-stripe mode transaction.
var ErrTrack = errors.New("cryptogram: unusable track data")

// CVC3 (Card Verification Code 3) is the dynamic card verification value of
// a contactless mag-stripe mode transaction (EMV Contactless Book C-2, mag-
// stripe mode): the card computes it over its track data, the reader's
// Unpredictable Number (Numeric) and its ATC; the reader writes it, the
// number and the ATC into the discretionary data of the track it sends;
// the issuer recomputes it.
//
// IVCVC3 is the two rightmost bytes of the ISO 9797-1 MAC algorithm 3
// (the retail MAC, padding method 2) of the static track data under the
// CVC3 key KDCVC3; CVC3 is the two rightmost bytes of the triple-DES
// encryption of the block IVCVC3 || UN (4 bytes, BCD) || ATC (2 bytes).
// The track data for IVCVC3 are the data as personalised (the track
// template), before the reader writes any dynamic digit.

// CVC3IV returns IVCVC3 for static track data under kd, a double-length
// TDES key (as the scheme's cards hold; a triple-length one works too).
func CVC3IV(kd keys.Key, track []byte) ([]byte, error) {
	if len(track) == 0 {
		return nil, fmt.Errorf("%w: no track data", ErrTrack)
	}
	if kd.BlockSize() == 0 {
		return nil, fmt.Errorf("%w: no key", ErrLength)
	}
	m, err := mac.Alg3(kd, track, mac.Method2)
	if err != nil {
		return nil, fmt.Errorf("cryptogram: IVCVC3: %w", err)
	}
	return m[len(m)-2:], nil
}

// ComputeCVC3 returns the 2-byte CVC3 for iv (IVCVC3), the Unpredictable
// Number (Numeric, 4 bytes of BCD) and the ATC.
func ComputeCVC3(kd keys.Key, iv, un []byte, atc uint16) ([]byte, error) {
	if len(iv) != 2 || len(un) != 4 {
		return nil, fmt.Errorf("%w: IVCVC3 is 2 bytes and the unpredictable number 4", ErrLength)
	}
	block := make([]byte, 0, 16)
	block = append(block, iv...)
	block = append(block, un...)
	block = append(block, byte(atc>>8), byte(atc))
	if bs := kd.BlockSize(); bs > len(block) {
		block = append(block, make([]byte, bs-len(block))...)
	}
	enc, err := kd.EncryptECB(block)
	if err != nil {
		return nil, fmt.Errorf("cryptogram: CVC3: %w", err)
	}
	return enc[len(enc)-2:], nil
}

// VerifyCVC3 is the issuer's check of a mag-stripe mode transaction: it
// recomputes the CVC3 over the static track data with the numbers the
// reader wrote in the track and compares. It fails with ErrMismatch.
func VerifyCVC3(kd keys.Key, staticTrack []byte, un []byte, atc uint16, cvc3 []byte) error {
	iv, err := CVC3IV(kd, staticTrack)
	if err != nil {
		return err
	}
	want, err := ComputeCVC3(kd, iv, un, atc)
	if err != nil {
		return err
	}
	if len(cvc3) != 2 || want[0] != cvc3[0] || want[1] != cvc3[1] {
		return fmt.Errorf("%w: CVC3", ErrMismatch)
	}
	return nil
}
