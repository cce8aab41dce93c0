// Package pan handles primary account numbers the way every role must show
// them: masked to the first 6 and last 4 digits at most (PCI DSS 3.4, the
// product's rule for logs, errors, traces, receipts and journals), and
// checked with the Luhn algorithm.
package pan

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotDigits is returned by CheckDigit for a body that is empty or holds
// anything but the digits 0 to 9. The wrapping error says which, never the
// digits themselves.
var ErrNotDigits = errors.New("pan: not a string of digits")

// Mask keeps the first 6 and last 4 digits of a PAN of 13 digits or more
// and replaces the rest with '*'. A shorter number keeps only its last 4
// digits; 4 characters or fewer, or anything that is not all digits, is
// hidden entirely. The result has the input's length.
func Mask(p string) string {
	n := len(p)
	switch {
	case n == 0:
		return ""
	case n <= 4 || strings.Trim(p, "0123456789") != "":
		return strings.Repeat("*", n)
	case n < 13:
		return strings.Repeat("*", n-4) + p[n-4:]
	}
	return p[:6] + strings.Repeat("*", n-10) + p[n-4:]
}

// Last4 returns the last 4 digits, or the whole string when shorter.
func Last4(p string) string {
	if len(p) <= 4 {
		return p
	}
	return p[len(p)-4:]
}

// LuhnValid reports whether p is all digits with a valid Luhn (mod 10)
// check digit.
func LuhnValid(p string) bool {
	if len(p) < 2 {
		return false
	}
	sum, ok := luhnSum(p, false)
	return ok && sum%10 == 0
}

// CheckDigit returns the Luhn (mod 10) check digit, '0' to '9', that
// completes body, the issuer identification number and individual account
// number of a PAN, so that body+digit passes LuhnValid (ISO/IEC 7812-1
// Annex B): from the rightmost digit of the body leftwards every other
// digit is doubled, starting with the rightmost, the digits of the products
// and the undoubled digits are added, and the check digit takes the sum up
// to the next multiple of ten. An empty body or one with anything but
// digits is an ErrNotDigits.
func CheckDigit(body string) (byte, error) {
	if body == "" {
		return 0, fmt.Errorf("%w: empty body", ErrNotDigits)
	}
	sum, ok := luhnSum(body, true)
	if !ok {
		i := strings.IndexFunc(body, func(r rune) bool { return r < '0' || r > '9' })
		return 0, fmt.Errorf("%w: character %d of %d is not a digit", ErrNotDigits, i+1, len(body))
	}
	return byte('0' + (10-sum%10)%10), nil
}

// luhnSum adds the digits of s the Luhn way from the right, doubling every
// other digit starting with the rightmost when doubleFirst is set (a body
// without its check digit) or with the second from the right otherwise (a
// whole number). ok is false when s holds a non-digit.
func luhnSum(s string, doubleFirst bool) (sum int, ok bool) {
	double := doubleFirst
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum, true
}
