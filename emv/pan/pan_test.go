package pan_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/pan"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"4761739001010010", "476173******0010"},
		{"4012345678909", "401234***8909"},
		{"4761739001010010123", "476173*********0123"},
		{"123456789012", "********9012"},
		{"1234", "****"},
		{"4761D2912", "*********"},
	}
	for _, tc := range tests {
		got := pan.Mask(tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Len(t, got, len(tc.in))
	}
}

func TestLuhn(t *testing.T) {
	require.True(t, pan.LuhnValid("4012345678909"))
	require.True(t, pan.LuhnValid("79927398713"))
	require.False(t, pan.LuhnValid("79927398710"))
	require.False(t, pan.LuhnValid("4012x45678909"))
	require.False(t, pan.LuhnValid("0"))
	require.Equal(t, "0010", pan.Last4("4761739001010010"))
	require.Equal(t, "12", pan.Last4("12"))
}

// The check digit completes a PAN body (ISO/IEC 7812-1 Annex B).
func TestCheckDigit(t *testing.T) {
	tests := []struct {
		name, body string
		want       byte
	}{
		// The ISO/IEC 7812-1 worked example: 7992739871 -> 3; the doubled
		// digits 1, 8, 3, 2, 9 give 2, 7, 6, 4, 9, the others 7, 9, 7, 9,
		// 7: 67, and 3 makes it 70.
		{"iso 7812 example", "7992739871", '3'},
		// IBM mod 10 worked example: 6 2 8 doubled, 1+2+1+4+4+1+6 = 19.
		{"ibm example", "61248", '1'},
		{"one digit", "0", '0'},
		{"one digit doubled past 9", "5", '9'},
		{"sum already a multiple of ten", "00", '0'},
		// Published test card numbers.
		{"visa test card", "411111111111111", '1'},
		{"visa test card 2", "401288888888188", '1'},
		{"mastercard test card", "555555555555444", '4'},
		{"amex test card (15 digits)", "37828224631000", '5'},
		{"13 digits", "401234567890", '9'},
		// The sample cards of this emulator.
		{"sample visa", "476173900101001", '0'},
		{"sample mastercard", "541333008901001", '2'},
		// 19 digits.
		{"19 digits", "622126000000000000", '1'},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pan.CheckDigit(tc.body)
			require.NoError(t, err)
			require.Equal(t, string(tc.want), string(got))
			require.True(t, pan.LuhnValid(tc.body+string(got)))
			// Any other digit fails the check.
			for d := byte('0'); d <= '9'; d++ {
				if d != got {
					require.False(t, pan.LuhnValid(tc.body+string(d)), "%c", d)
				}
			}
		})
	}
}

// Anything but digits is refused without echoing the body.
func TestCheckDigitErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"", "empty body"},
		{"47617390010100x", "character 15 of 15"},
		{" 476173", "character 1 of 7"},
		{"4761-7390", "character 5 of 9"},
		{"٤٧٦", "character 1 of"},
	}
	for _, tc := range tests {
		_, err := pan.CheckDigit(tc.body)
		require.ErrorIs(t, err, pan.ErrNotDigits, tc.body)
		require.Contains(t, err.Error(), tc.want)
		if tc.body != "" {
			require.NotContains(t, err.Error(), tc.body)
		}
	}
}

// For random bodies of every PAN length, body+CheckDigit(body) passes the
// Luhn check, and changing one digit of the body changes the check digit.
func TestCheckDigitRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7812, 1))
	for range 2000 {
		n := 1 + rng.IntN(24)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		body := string(b)
		d, err := pan.CheckDigit(body)
		require.NoError(t, err)
		require.True(t, d >= '0' && d <= '9')
		require.True(t, pan.LuhnValid(body+string(d)), body)

		i := rng.IntN(n)
		b[i] = byte('0' + (int(b[i]-'0')+1+rng.IntN(9))%10)
		d2, err := pan.CheckDigit(string(b))
		require.NoError(t, err)
		require.NotEqual(t, d, d2, "single-digit change at %d of %s", i, body)
	}
}

func FuzzCheckDigit(f *testing.F) {
	for _, s := range []string{"", "7992739871", "476173900101001", "12a4", "\xff\x00", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		d, err := pan.CheckDigit(body)
		if err != nil {
			require.ErrorIs(t, err, pan.ErrNotDigits)
			if len(body) > 1 {
				require.False(t, pan.LuhnValid(body))
			}
			return
		}
		require.True(t, d >= '0' && d <= '9')
		require.True(t, pan.LuhnValid(body+string(d)))
	})
}
