package oda

import "fmt"

// packDigits writes a string of decimal digits as BCD nibbles, left
// justified and padded with 'F' nibbles to n bytes.
func packDigits(s string, n int) ([]byte, bool) {
	if len(s) > 2*n {
		return nil, false
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = 0xFF
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return nil, false
		}
		d := c - '0'
		if i%2 == 0 {
			out[i/2] = d<<4 | 0x0F
		} else {
			out[i/2] = out[i/2]&0xF0 | d
		}
	}
	return out, true
}

// unpackDigits reads BCD digits followed only by 'F' padding nibbles.
func unpackDigits(b []byte) (string, bool) {
	digits := make([]byte, 0, 2*len(b))
	padding := false
	for _, x := range b {
		for _, nib := range [2]byte{x >> 4, x & 0x0F} {
			switch {
			case nib == 0x0F:
				padding = true
			case padding || nib > 9:
				return "", false
			default:
				digits = append(digits, '0'+nib)
			}
		}
	}
	return string(digits), true
}

// DecodePAN reads an Application PAN (tag 5A, format cn: BCD digits padded
// at the end with 'F') into its digits. The error never repeats the input.
func DecodePAN(b []byte) (string, error) {
	pan, ok := unpackDigits(b)
	if !ok || len(pan) == 0 || len(pan) > 19 {
		return "", fmt.Errorf("%w: PAN is not 1 to 19 BCD digits padded with F", ErrInvalid)
	}
	return pan, nil
}

// validPAN reports whether s is a PAN of 1 to 19 decimal digits.
func validPAN(s string) bool {
	if len(s) == 0 || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
