// Package pan handles primary account numbers the way every role must show
// them: masked to the first 6 and last 4 digits at most (PCI DSS 3.4, the
// product's rule for logs, errors, traces, receipts and journals), and
// checked with the Luhn algorithm.
package pan

import "strings"

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
	sum := 0
	double := false
	for i := len(p) - 1; i >= 0; i-- {
		c := p[i]
		if c < '0' || c > '9' {
			return false
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
	return sum%10 == 0
}
