package cryptogram

import (
	"crypto/sha1" // EMV Book 2 option B specifies SHA-1.
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

// Option is an ICC master key derivation option of EMV Book 2 Annex A1.4.
type Option int

const (
	// OptionA derives a double-length TDES ICC master key from the rightmost
	// 16 digits of PAN || PSN (Annex A1.4.1).
	OptionA Option = iota + 1
	// OptionB is option A for PANs of up to 16 digits and, for longer PANs,
	// replaces the 16 digits with a decimalised SHA-1 hash of PAN || PSN
	// (Annex A1.4.2).
	OptionB
	// OptionC derives an AES ICC master key of the issuer master key's length
	// from the whole of PAN || PSN (Annex A1.4.3).
	OptionC
)

// String names the option ("A", "B" or "C").
func (o Option) String() string {
	switch o {
	case OptionA:
		return "A"
	case OptionB:
		return "B"
	case OptionC:
		return "C"
	}
	return fmt.Sprintf("Option(%d)", int(o))
}

// ParseOption reads "a", "b" or "c" (any case, "option-a" also accepted).
func ParseOption(s string) (Option, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "option"), "-")
	switch strings.TrimSpace(s) {
	case "a":
		return OptionA, nil
	case "b":
		return OptionB, nil
	case "c":
		return OptionC, nil
	}
	return 0, fmt.Errorf("%w: want a, b or c", ErrOption)
}

// DeriveICCMK derives the ICC master key from the issuer master key imk, the
// application PAN (decimal digits; trailing F padding nibbles are ignored)
// and the PAN sequence number psn (one or two digits; empty means "00", as
// Book 2 says when the PSN is absent).
//
// Options A and B take a double- or triple-length TDES imk and return a
// 16-byte TDES key with odd parity; option C takes an AES imk and returns an
// AES key of the same length.
func DeriveICCMK(opt Option, imk keys.Key, pan, psn string) (keys.Key, error) {
	digits, err := panPSN(pan, psn)
	if err != nil {
		return keys.Key{}, err
	}
	switch opt {
	case OptionA:
		return deriveTDES(imk, optionAY(digits))
	case OptionB:
		y := optionAY(digits)
		if len(digits)-2 > 16 {
			y = optionBY(digits)
		}
		return deriveTDES(imk, y)
	case OptionC:
		return deriveAES(imk, digits)
	}
	return keys.Key{}, fmt.Errorf("%w %d", ErrOption, int(opt))
}

// panPSN validates the PAN and PSN and returns their concatenated digits.
func panPSN(pan, psn string) (string, error) {
	pan = strings.TrimRight(strings.TrimSpace(pan), "Ff")
	if len(pan) == 0 || len(pan) > 19 || !isDigits(pan) {
		return "", fmt.Errorf("%w: want 1 to 19 decimal digits", ErrPAN)
	}
	psn = strings.TrimSpace(psn)
	switch {
	case psn == "":
		psn = "00"
	case len(psn) == 1 && isDigits(psn):
		psn = "0" + psn
	case len(psn) == 2 && isDigits(psn):
	default:
		return "", fmt.Errorf("%w: want 1 or 2 decimal digits", ErrPSN)
	}
	return pan + psn, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// bcd packs a string of an even number of decimal digits into bytes.
func bcd(digits string) []byte {
	out := make([]byte, len(digits)/2)
	for i := range out {
		out[i] = (digits[2*i]-'0')<<4 | (digits[2*i+1] - '0')
	}
	return out
}

// optionAY is Y of option A: the rightmost 16 digits of PAN || PSN, padded
// on the left with zeros when shorter, as 8 bytes of BCD.
func optionAY(digits string) []byte {
	if len(digits) > 16 {
		digits = digits[len(digits)-16:]
	}
	return bcd(strings.Repeat("0", 16-len(digits)) + digits)
}

// optionBY is Y of option B for PANs longer than 16 digits: SHA-1 over the
// BCD of PAN || PSN (a zero nibble in front when the digit count is odd);
// the first 16 decimal digits of the hash's hex form, left to right; when
// there are fewer than 16, the hex letters A..F of the hash, left to right,
// become 0..5 to complete the 16.
func optionBY(digits string) []byte {
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	sum := sha1.Sum(bcd(digits))
	return bcd(decimalise(sum[:]))
}

// decimalise picks 16 digits from the nibbles of h as option B says.
func decimalise(h []byte) string {
	nibbles := make([]byte, 0, 2*len(h))
	for _, b := range h {
		nibbles = append(nibbles, b>>4, b&0x0F)
	}
	out := make([]byte, 0, 16)
	for _, n := range nibbles {
		if len(out) == 16 {
			break
		}
		if n <= 9 {
			out = append(out, '0'+n)
		}
	}
	for _, n := range nibbles {
		if len(out) == 16 {
			break
		}
		if n > 9 {
			out = append(out, '0'+n-10)
		}
	}
	return string(out)
}

// deriveTDES is the common end of options A and B: ZL = TDES(IMK)[Y],
// ZR = TDES(IMK)[Y xor FF..FF], MK = ZL || ZR with odd parity.
func deriveTDES(imk keys.Key, y []byte) (keys.Key, error) {
	if imk.Alg() != keys.TDES || (imk.Len() != 16 && imk.Len() != 24) {
		return keys.Key{}, fmt.Errorf("%w: options A and B take a 16- or 24-byte TDES issuer master key, got %v", ErrKey, imk.Alg())
	}
	in := make([]byte, 0, 16)
	in = append(in, y...)
	for _, b := range y {
		in = append(in, ^b)
	}
	z, err := imk.EncryptECB(in)
	if err != nil {
		return keys.Key{}, fmt.Errorf("cryptogram: derive: %w", err)
	}
	return keys.New(keys.TDES, keys.OddParity(z))
}

// deriveAES is option C: Y is PAN || PSN padded on the left with zero digits
// to 32 digits (16 bytes). For a 128-bit IMK, MK = AES(IMK)[Y]; for 192 and
// 256 bits, MK is the leftmost bits of AES(IMK)[Y] || AES(IMK)[Y xor FF..FF].
func deriveAES(imk keys.Key, digits string) (keys.Key, error) {
	if imk.Alg() != keys.AES {
		return keys.Key{}, fmt.Errorf("%w: option C takes an AES issuer master key, got %v", ErrKey, imk.Alg())
	}
	y := bcd(strings.Repeat("0", 32-len(digits)) + digits)
	in := y
	if imk.Len() > 16 {
		in = append(append(make([]byte, 0, 32), y...), keys.XOR(y, ffBlock(16))...)
	}
	z, err := imk.EncryptECB(in)
	if err != nil {
		return keys.Key{}, fmt.Errorf("cryptogram: derive: %w", err)
	}
	return keys.New(keys.AES, z[:imk.Len()])
}

func ffBlock(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xFF
	}
	return b
}
