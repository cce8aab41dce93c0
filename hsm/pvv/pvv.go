// Package pvv computes the Visa PIN Verification Value: the 4-digit value
// an issuer keeps (or writes on the card) instead of the PIN.
//
// The transformed security parameter (TSP) is 16 digits: the 11 rightmost
// digits of the PAN excluding its check digit, the PIN verification key
// index (PVKI, one digit) and the 4 leftmost PIN digits. It is enciphered
// under the double-length TDES PIN verification key (PVK), and the result
// is decimalised: its 16 hex digits are scanned left to right for decimal
// digits; when fewer than 4 are found, a second scan takes the digits A-F
// and subtracts 10, until there are 4.
//
// Only the 4 leftmost digits of a longer PIN take part, as the algorithm
// says. No PIN, PAN or PVV ever appears in an error.
package pvv

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrKey reports a PVK that is not a double-length TDES key.
	ErrKey = errors.New("pvv: PVK must be a double-length TDES key")
	// ErrPAN reports a PAN that is not 12 to 19 decimal digits.
	ErrPAN = errors.New("pvv: PAN must be 12 to 19 decimal digits")
	// ErrPIN reports a PIN that is not 4 to 12 decimal digits.
	ErrPIN = errors.New("pvv: PIN must be 4 to 12 decimal digits")
	// ErrPVKI reports a key index that is not one decimal digit.
	ErrPVKI = errors.New("pvv: PVKI must be a digit 0-9")
	// ErrPVV reports a reference value that is not 4 decimal digits.
	ErrPVV = errors.New("pvv: PVV must be 4 decimal digits")
	// ErrMismatch reports a PIN whose PVV is not the reference one.
	ErrMismatch = errors.New("pvv: PIN does not match")
)

// Len is the number of digits of a PVV.
const Len = 4

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TSP returns the transformed security parameter as 16 decimal digits.
func TSP(pan, pin string, pvki int) (string, error) {
	if len(pan) < 12 || len(pan) > 19 || !digits(pan) {
		return "", ErrPAN
	}
	if len(pin) < 4 || len(pin) > 12 || !digits(pin) {
		return "", ErrPIN
	}
	if pvki < 0 || pvki > 9 {
		return "", ErrPVKI
	}
	body := pan[:len(pan)-1] // the check digit is not used
	return body[len(body)-11:] + string(rune('0'+pvki)) + pin[:4], nil
}

// Decimalise picks n decimal digits from the hex digits of b as the Visa
// PVV algorithm does: first the digits 0-9 left to right, then, if more
// are needed, the digits A-F left to right, each less 10.
func Decimalise(b []byte, n int) string {
	nib := make([]byte, 0, 2*len(b))
	for _, v := range b {
		nib = append(nib, v>>4, v&0x0F)
	}
	out := make([]byte, 0, n)
	for _, x := range nib {
		if len(out) == n {
			break
		}
		if x <= 9 {
			out = append(out, '0'+x)
		}
	}
	for _, x := range nib {
		if len(out) == n {
			break
		}
		if x > 9 {
			out = append(out, '0'+x-10)
		}
	}
	return string(out)
}

// Compute returns the PVV of pin for pan under pvk with key index pvki.
func Compute(pvk keys.Key, pan, pin string, pvki int) (string, error) {
	if pvk.Alg() != keys.TDES || pvk.Len() != 16 {
		return "", ErrKey
	}
	tsp, err := TSP(pan, pin, pvki)
	if err != nil {
		return "", err
	}
	in := make([]byte, 8)
	for i := range in {
		in[i] = (tsp[2*i]-'0')<<4 | (tsp[2*i+1] - '0')
	}
	ct, err := pvk.EncryptECB(in)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	return Decimalise(ct, Len), nil
}

// Verify computes the PVV of pin and compares it with the reference pvv in
// constant time. A different value is ErrMismatch.
func Verify(pvk keys.Key, pan, pin string, pvki int, pvv string) error {
	if len(pvv) != Len || !digits(pvv) {
		return ErrPVV
	}
	got, err := Compute(pvk, pan, pin, pvki)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(pvv)) != 1 {
		return ErrMismatch
	}
	return nil
}
