// Package cvv computes the Visa card verification value: the 3-digit code
// of the magnetic stripe (CVV, CVC), of the back of the card (CVV2, CVC2:
// service code "000") and of the chip's track 2 equivalent (iCVV: service
// code "999"), all made the same way under a double-length TDES card
// verification key (CVK), the pair CVK A ‖ CVK B.
//
// The PAN, the expiry date (4 digits, YYMM as tapsim keeps it; some
// issuers use MMYY) and the service code are written one after the other
// as decimal digits and padded on the right with zeros to 32 digits, two
// 8-byte blocks. Block 1 is enciphered with single DES under CVK A, the
// result is XORed with block 2, enciphered under CVK A, deciphered under
// CVK B and enciphered under CVK A again (that is ISO/IEC 9797-1 MAC
// algorithm 3 over the two blocks). The 16 hex digits of the result are
// decimalised as for the PVV (hsm/pvv.Decimalise) and the 3 leftmost
// digits kept.
//
// No PAN, expiry or code ever appears in an error.
package cvv

import (
	"crypto/des"
	"crypto/subtle"
	"errors"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/pvv"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrKey reports a CVK that is not a double-length TDES key.
	ErrKey = errors.New("cvv: CVK must be a double-length TDES key")
	// ErrPAN reports a PAN that is not 12 to 19 decimal digits.
	ErrPAN = errors.New("cvv: PAN must be 12 to 19 decimal digits")
	// ErrExpiry reports an expiry date that is not 4 decimal digits.
	ErrExpiry = errors.New("cvv: expiry must be 4 decimal digits")
	// ErrServiceCode reports a service code that is not 3 decimal digits.
	ErrServiceCode = errors.New("cvv: service code must be 3 decimal digits")
	// ErrCode reports a reference code that is not 3 decimal digits.
	ErrCode = errors.New("cvv: code must be 3 decimal digits")
	// ErrMismatch reports a code that is not the one the card carries.
	ErrMismatch = errors.New("cvv: code does not match")
)

// Len is the number of digits of a CVV.
const Len = 3

// The service codes of the codes that are not on the magnetic stripe.
const (
	// ServiceCodeCVV2 is the service code of the code printed on the card
	// (CVV2, CVC2).
	ServiceCodeCVV2 = "000"
	// ServiceCodeICVV is the service code of the chip's iCVV.
	ServiceCodeICVV = "999"
)

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Input returns the two 8-byte blocks the algorithm enciphers: PAN,
// expiry and service code as packed decimal digits, padded with zeros.
func Input(pan, expiry, serviceCode string) ([16]byte, error) {
	var out [16]byte
	switch {
	case len(pan) < 12 || len(pan) > 19 || !digits(pan):
		return out, ErrPAN
	case len(expiry) != 4 || !digits(expiry):
		return out, ErrExpiry
	case len(serviceCode) != 3 || !digits(serviceCode):
		return out, ErrServiceCode
	}
	s := pan + expiry + serviceCode
	for i := 0; i < len(s); i++ {
		out[i/2] |= (s[i] - '0') << (4 * (1 - i%2))
	}
	return out, nil
}

// Compute returns the 3-digit code of pan, expiry and serviceCode under
// cvk (ServiceCodeCVV2 for the code printed on the card).
func Compute(cvk keys.Key, pan, expiry, serviceCode string) (string, error) {
	if cvk.Alg() != keys.TDES || cvk.Len() != 16 {
		return "", ErrKey
	}
	in, err := Input(pan, expiry, serviceCode)
	if err != nil {
		return "", err
	}
	k := cvk.Bytes()
	defer clear(k)
	a, err := des.NewCipher(k[:8])
	if err != nil {
		return "", ErrKey
	}
	b, err := des.NewCipher(k[8:])
	if err != nil {
		return "", ErrKey
	}
	var x [8]byte
	a.Encrypt(x[:], in[:8])
	subtle.XORBytes(x[:], x[:], in[8:])
	a.Encrypt(x[:], x[:])
	b.Decrypt(x[:], x[:])
	a.Encrypt(x[:], x[:])
	return pvv.Decimalise(x[:], Len), nil
}

// Verify computes the code and compares it with code in constant time. A
// different code is ErrMismatch.
func Verify(cvk keys.Key, pan, expiry, serviceCode, code string) error {
	if len(code) != Len || !digits(code) {
		return ErrCode
	}
	got, err := Compute(cvk, pan, expiry, serviceCode)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(code)) != 1 {
		return ErrMismatch
	}
	return nil
}
