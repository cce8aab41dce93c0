package cryptogram

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestPANPSN(t *testing.T) {
	tests := []struct {
		name, pan, psn, want string
		err                  error
	}{
		{"16 digits", "5413330089600010", "01", "541333008960001001", nil},
		{"absent PSN is 00", "5413330089600010", "", "541333008960001000", nil},
		{"one-digit PSN", "5413330089600010", "3", "541333008960001003", nil},
		{"F padding of tag 5A dropped", "43219876543210987F", "00", "4321987654321098700", nil},
		{"spaces trimmed", " 4111111111111111 ", " 01 ", "411111111111111101", nil},
		{"19 digits", "6011000990139424123", "00", "601100099013942412300", nil},
		{"empty PAN", "", "00", "", ErrPAN},
		{"20 digits", "60110009901394241234", "00", "", ErrPAN},
		{"letters in PAN", "54133300896A0010", "00", "", ErrPAN},
		{"three-digit PSN", "5413330089600010", "001", "", ErrPSN},
		{"hex PSN", "5413330089600010", "0A", "", ErrPSN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := panPSN(tc.pan, tc.psn)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				// R-S2c / DESIGN: a PAN is never echoed in an error.
				if len(tc.pan) > 6 {
					require.NotContains(t, err.Error(), strings.TrimSpace(tc.pan))
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// Option A's Y: rightmost 16 digits of PAN || PSN, left-padded with zeros.
func TestOptionAY(t *testing.T) {
	tests := []struct{ digits, want string }{
		{"4321987654321098700", "1987654321098700"},
		{"541333008960001001", "1333008960001001"},
		{"1234567890123401", "1234567890123401"},
		{"12345678901201", "0012345678901201"},
		{"00", "0000000000000000"},
	}
	for _, tc := range tests {
		require.Equal(t, unhex(tc.want), optionAY(tc.digits), tc.digits)
	}
}

// Option B's decimalisation: decimal nibbles first, left to right; then the
// letters A..F, left to right, as 0..5.
func TestDecimalise(t *testing.T) {
	tests := []struct {
		name, hash, want string
	}{
		{"enough digits", "0123456789ABCDEF0123456789ABCDEF01234567", "0123456789012345"},
		{"digits skip letters", "A1B2C3D4E5F6A7B8C9D0A1B2C3D4E5F6A7B8C9D0", "1234567890123456"},
		{"letters complete the digits", "ABCDEF12ABCDEF34ABCDEF56ABCDEFABCDEFABCD", "1234560123450123"},
		{"no digits at all", "ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD", "0123450123450123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, decimalise(unhex(tc.hash)))
		})
	}
}

// Option B's Y for a 17-digit PAN, step by step: odd PAN||PSN gets a zero
// nibble in front, the BCD is hashed, the hash decimalised.
func TestOptionBY(t *testing.T) {
	digits := "1234567890123456701" // PAN 12345678901234567, PSN 01
	sum := sha1.Sum(unhex("0" + digits))
	require.Equal(t, unhex(decimalise(sum[:])), optionBY(digits))
	// even-length input is hashed as is
	digits = "12345678901234567800" // PAN of 18 digits, PSN 00
	sum = sha1.Sum(unhex(digits))
	require.Equal(t, unhex(decimalise(sum[:])), optionBY(digits))
}

func TestTagName(t *testing.T) {
	require.Equal(t, "95", TagName(0x95))
	require.Equal(t, "9F37", TagName(0x9F37))
	require.Equal(t, "5F2A", TagName(0x5F2A))
	require.Equal(t, "DF8101", TagName(0xDF8101))
	require.Equal(t, "01020304", TagName(0x01020304))
}

func TestMinimumDataIsTheSetInOrder(t *testing.T) {
	tags := Values{}
	var want []byte
	for i, tag := range MinimumDataSet() {
		n, _ := ElementLength(tag)
		v := make([]byte, n)
		for j := range v {
			v[j] = byte(i + 1)
		}
		tags[tag] = v
		want = append(want, v...)
	}
	got, err := MinimumData(tags, 16)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("MinimumData = %X, %v; want %X", got, err, want)
	}
	delete(tags, TagATC)
	if _, err := MinimumData(tags, 0); !errors.Is(err, ErrMissingTag) {
		t.Fatalf("without 9F36: %v, want ErrMissingTag", err)
	}
}
