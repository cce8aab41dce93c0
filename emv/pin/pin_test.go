package pin_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func upper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// Published format 0 clear PIN blocks (ISO 9564-1; the first is the
// project's known-answer vector, the others appear in public calculator
// documentation and in ANSI X9.24-1 annex A).
func TestFormat0KnownAnswers(t *testing.T) {
	tests := []struct{ pin, pan, want string }{
		{"1234", "5544332211009966", "041277CDDEEFF669"},
		{"1234", "43219876543210987", "0412AC89ABCDEF67"},
		{"123456", "43219876543210987", "0612AC20ABCDEF67"},
		{"1234", "5432101234567891", "041215FEDCBA9876"},
		{"1234", "4012345678909", "041274EDCBA9876F"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			b, err := pin.Encode(pin.Format0, tc.pin, tc.pan, nil)
			require.NoError(t, err)
			require.Equal(t, tc.want, upper(b))
			got, err := pin.Decode(pin.Format0, b, tc.pan)
			require.NoError(t, err)
			require.Equal(t, tc.pin, got)
		})
	}
}

// Step by step: the PIN field and the PAN field of format 0, and their XOR.
func TestFormat0Steps(t *testing.T) {
	field, err := pin.PINField(pin.Format0, "1234", nil)
	require.NoError(t, err)
	require.Equal(t, "041234FFFFFFFFFF", upper(field))

	panField, err := pin.PANField(pin.Format0, "5544332211009966")
	require.NoError(t, err)
	// 12 rightmost digits without the check digit 6: 433221100996.
	require.Equal(t, "0000433221100996", upper(panField))

	block, err := pin.Encode(pin.Format0, "1234", "5544332211009966", nil)
	require.NoError(t, err)
	require.Equal(t, keys.XOR(field, panField), block)
}

func TestPANField(t *testing.T) {
	tests := []struct {
		f    pin.Format
		pan  string
		want string
	}{
		// Formats 0/3: the check digit is dropped, 12 digits kept, short PANs padded left.
		{pin.Format0, "4012345678909", "0000401234567890"},
		{pin.Format0, "1234567890123456789", "0000789012345678"},
		{pin.Format3, "12345678", "0000000001234567"},
		// Format 4: M = length-12, the whole PAN left-justified (X9.24-3 supplement).
		{pin.Format4, "4111111111111111", "44111111111111111000000000000000"},
		{pin.Format4, "411111111111111", "34111111111111110000000000000000"},
		{pin.Format4, "1234567890123456789", "71234567890123456789000000000000"},
		{pin.Format4, "123456789012", "01234567890120000000000000000000"},
		// Shorter than 12 digits: M = 0, right-justified in 12 digits.
		{pin.Format4, "123456789", "00001234567890000000000000000000"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d/%s", tc.f, tc.pan), func(t *testing.T) {
			got, err := pin.PANField(tc.f, tc.pan)
			require.NoError(t, err)
			require.Equal(t, tc.want, upper(got))
		})
	}
	for _, f := range []pin.Format{pin.Format1, pin.Format2} {
		_, err := pin.PANField(f, "4111111111111111")
		require.ErrorIs(t, err, pin.ErrFormat)
	}
}

func TestPINFieldSteps(t *testing.T) {
	tests := []struct {
		f    pin.Format
		pin  string
		rnd  string
		want string
	}{
		{pin.Format0, "1234", "", "041234FFFFFFFFFF"},
		{pin.Format0, "123456789012", "", "0C123456789012FF"},
		{pin.Format2, "12345", "", "2512345FFFFFFFFF"},
		// Format 1: fill digits are the random nibbles in order, high first.
		{pin.Format1, "12345", "9A33C56F87", "15123459A33C56F8"},
		{pin.Format1, "1234", "0011223344", "1412340011223344"},
		// Format 3: nibbles 0-9 are skipped, A-F kept.
		{pin.Format3, "1234", "0A1B2C3D4E5F6789ABCDEF", "341234ABCDEFABCD"},
		{pin.Format3, "123456789012", "FA", "3C123456789012FA"},
		// Format 4: fill A to 8 bytes, then 8 random bytes (X9.24-3 supplement).
		{pin.Format4, "1234", "2F69ADDE2E9E7ACE", "441234AAAAAAAAAA2F69ADDE2E9E7ACE"},
		{pin.Format4, "12345", "517F9481BA5275FA", "4512345AAAAAAAAA517F9481BA5275FA"},
		{pin.Format4, "123456789012", "0001020304050607", "4C123456789012AA0001020304050607"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got, err := pin.PINField(tc.f, tc.pin, bytes.NewReader(unhex(t, tc.rnd)))
			require.NoError(t, err)
			require.Equal(t, tc.want, upper(got))
		})
	}
}

func TestFormat1And3Blocks(t *testing.T) {
	// Format 1 has no PAN: the block is the PIN field.
	b, err := pin.Encode(pin.Format1, "12345", "", bytes.NewReader(unhex(t, "9A33C56F87")))
	require.NoError(t, err)
	require.Equal(t, "15123459A33C56F8", upper(b))
	got, err := pin.Decode(pin.Format1, b, "")
	require.NoError(t, err)
	require.Equal(t, "12345", got)

	// Format 3: PIN field 341234ABCDEFABCD XOR PAN field 0000433221100996.
	b, err = pin.Encode(pin.Format3, "1234", "5544332211009966",
		bytes.NewReader(unhex(t, "0A1B2C3D4E5F6789ABCDEF")))
	require.NoError(t, err)
	require.Equal(t, "34127799ECFFA25B", upper(b))
	got, err = pin.Decode(pin.Format3, b, "5544332211009966")
	require.NoError(t, err)
	require.Equal(t, "1234", got)
}

// Format 3 fill must be spread over A-F, and formats 1/3 must differ from
// one block to the next (ISO 9564-1: fill unlikely to repeat).
func TestRandomFill(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{1})
	counts := map[byte]int{}
	seen := map[string]bool{}
	for range 600 {
		b, err := pin.Encode(pin.Format3, "1234", "4111111111111111", rnd)
		require.NoError(t, err)
		field := keys.XOR(b, must(pin.PANField(pin.Format3, "4111111111111111")))
		for _, c := range strings.ToUpper(hex.EncodeToString(field))[6:] {
			counts[byte(c)]++
		}
		seen[upper(b)] = true
	}
	require.Len(t, counts, 6, "only A-F: %v", counts)
	for c, n := range counts {
		require.True(t, c >= 'A' && c <= 'F')
		require.InDelta(t, 1000, n, 150, "digit %c", c) // 6000 fill digits
	}
	require.Greater(t, len(seen), 590)

	a, err := pin.Encode(pin.Format1, "1234", "", rnd)
	require.NoError(t, err)
	b, err := pin.Encode(pin.Format1, "1234", "", rnd)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestRandomSourceErrors(t *testing.T) {
	_, err := pin.Encode(pin.Format1, "1234", "", bytes.NewReader(nil))
	require.ErrorIs(t, err, pin.ErrRandom)
	_, err = pin.Encode(pin.Format1, "1234", "", bytes.NewReader([]byte{1, 2}))
	require.ErrorIs(t, err, pin.ErrRandom, "5 bytes of fill needed for a 4-digit PIN")
	// A source that never yields A-F must not loop for ever.
	_, err = pin.Encode(pin.Format3, "1234", "4111111111111111", bytes.NewReader(make([]byte, 10000)))
	require.ErrorIs(t, err, pin.ErrRandom)
	_, err = pin.EncipherFormat4(keys.MustHex(keys.AES, strings.Repeat("11", 16)), "1234",
		"4111111111111111", bytes.NewReader(make([]byte, 7)))
	require.ErrorIs(t, err, pin.ErrRandom)
	// Formats 0 and 2 read nothing.
	_, err = pin.Encode(pin.Format0, "1234", "4111111111111111", bytes.NewReader(nil))
	require.NoError(t, err)
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name     string
		f        pin.Format
		pin, pan string
		want     error
	}{
		{"short PIN", pin.Format0, "123", "4111111111111111", pin.ErrPINLength},
		{"long PIN", pin.Format1, "1234567890123", "", pin.ErrPINLength},
		{"empty PIN", pin.Format2, "", "", pin.ErrPINLength},
		{"letter in PIN", pin.Format3, "12a4", "4111111111111111", pin.ErrPINDigits},
		{"space in PIN", pin.Format1, "12 34", "", pin.ErrPINDigits},
		{"short PAN", pin.Format0, "1234", "1234567", pin.ErrPAN},
		{"long PAN", pin.Format0, "1234", "12345678901234567890", pin.ErrPAN},
		{"letter in PAN", pin.Format3, "1234", "41111111111X1111", pin.ErrPAN},
		{"empty PAN", pin.Format0, "1234", "", pin.ErrPAN},
		{"format 4 without key", pin.Format4, "1234", "4111111111111111", pin.ErrFormat},
		{"unknown format", pin.Format(5), "1234", "4111111111111111", pin.ErrFormat},
		{"negative format", pin.Format(-1), "1234", "4111111111111111", pin.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pin.Encode(tc.f, tc.pin, tc.pan, bytes.NewReader(bytes.Repeat([]byte{0xAB}, 16)))
			require.ErrorIs(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "pin: "), err.Error())
		})
	}
	// Format 1 ignores the PAN entirely.
	_, err := pin.Encode(pin.Format1, "1234", "not a pan", bytes.NewReader(make([]byte, 5)))
	require.NoError(t, err)
}

func TestDecodeErrors(t *testing.T) {
	const pan = "5544332211009966"
	tests := []struct {
		name  string
		f     pin.Format
		block string
		pan   string
		want  error
	}{
		{"short block", pin.Format0, "041277CDDEEFF6", pan, pin.ErrBlock},
		{"long block", pin.Format1, "141234FFFFFFFFFF00", "", pin.ErrBlock},
		{"wrong control field", pin.Format1, "041234FFFFFFFFFF", "", pin.ErrFormat},
		{"format 0 as 3", pin.Format3, "041277CDDEEFF669", pan, pin.ErrFormat},
		{"length field 3", pin.Format1, "13123FFFFFFFFFFF", "", pin.ErrBlock},
		{"length field D", pin.Format1, "1D1234567890123F", "", pin.ErrBlock},
		{"non-digit in PIN", pin.Format1, "14123AFFFFFFFFFF", "", pin.ErrBlock},
		{"format 0 fill not F", pin.Format2, "241234FFFFFFFFFE", "", pin.ErrBlock},
		{"format 3 without PAN", pin.Format3, "341234ABCDEFABCD", "", pin.ErrPAN},
		{"wrong PAN", pin.Format0, "041277CDDEEFF669", "5544332211009974", pin.ErrBlock},
		{"format 4 needs key", pin.Format4, "441234AAAAAAAAAA2F69ADDE2E9E7ACE", pan, pin.ErrFormat},
		{"other short PAN", pin.Format0, "041277CDDEEFF669", "55443322", pin.ErrBlock},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pin.Decode(tc.f, unhex(t, tc.block), tc.pan)
			require.ErrorIs(t, err, tc.want)
		})
	}
	// Format 3 fill below A after removing the PAN field.
	field := unhex(t, "341234ABCDEFABC9")
	block := keys.XOR(field, must(pin.PANField(pin.Format3, pan)))
	_, err := pin.Decode(pin.Format3, block, pan)
	require.ErrorIs(t, err, pin.ErrBlock)
}

// A PIN, a PAN or a PIN block never appears in an error.
func TestErrorsDoNotLeak(t *testing.T) {
	const p, pan = "987654", "4761739001010119"
	block := must(pin.Encode(pin.Format0, p, pan, nil))
	aes := keys.MustHex(keys.AES, "AF8CB133A78F8DC2D1359F18527593FB")
	tdes := keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36")
	enc4 := must(pin.EncipherFormat4(aes, p, pan, nil))
	var errs []error
	_, err := pin.Decode(pin.Format0, block, "4761739001010127")
	errs = append(errs, err)
	_, err = pin.Decode(pin.Format3, block, pan)
	errs = append(errs, err)
	_, err = pin.DecipherFormat4(aes, enc4, "4761739001010127")
	errs = append(errs, err)
	_, err = pin.Translate(must(pin.Encrypt(tdes, block)), tdes, tdes, pin.Format0, pin.Format0, "4761739001010127")
	errs = append(errs, err)
	_, err = pin.Encode(pin.Format0, "98765x", pan, nil)
	errs = append(errs, err)
	_, err = pin.Encode(pin.Format0, p, pan+"X", nil)
	errs = append(errs, err)
	_, err = pin.Encrypt(aes, block)
	errs = append(errs, err)
	for _, err := range errs {
		require.Error(t, err)
		msg := strings.ToUpper(err.Error())
		require.NotContains(t, msg, p)
		require.NotContains(t, msg, pan[:10])
		require.NotContains(t, msg, upper(block)[:8])
		require.NotContains(t, msg, "AF8CB133")
		require.NotContains(t, msg, "042666B4")
	}
}

func TestFormatParseAndString(t *testing.T) {
	for in, want := range map[string]pin.Format{
		"0": pin.Format0, "iso0": pin.Format0, "ISO-1": pin.Format1, "format 2": pin.Format2,
		" 3 ": pin.Format3, "ISO 9564-1 format 4": pin.Format4, "iso_4": pin.Format4,
	} {
		got, err := pin.ParseFormat(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "5", "iso", "01", "x"} {
		_, err := pin.ParseFormat(in)
		require.ErrorIs(t, err, pin.ErrFormat, in)
	}
	require.Equal(t, "ISO 9564-1 format 3", pin.Format3.String())
	require.Equal(t, "Format(9)", pin.Format(9).String())
	require.Equal(t, 16, pin.Format4.BlockSize())
	require.Equal(t, 8, pin.Format1.BlockSize())
	require.True(t, pin.Format3.UsesPAN())
	require.False(t, pin.Format1.UsesPAN())
}

func TestDetectFormat(t *testing.T) {
	for block, want := range map[string]pin.Format{
		"041277CDDEEFF669":                 pin.Format0,
		"15123459A33C56F8":                 pin.Format1,
		"2512345FFFFFFFFF":                 pin.Format2,
		"34127799ECFFA25B":                 pin.Format3,
		"441234AAAAAAAAAA2F69ADDE2E9E7ACE": pin.Format4,
	} {
		got, err := pin.DetectFormat(unhex(t, block))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, block := range []string{"", "0412", "441234AAAAAAAAAA", "041277CDDEEFF669041277CDDEEFF669", "541277CDDEEFF669"} {
		_, err := pin.DetectFormat(unhex(t, block))
		require.Error(t, err, block)
	}
}

// ANSI X9.24-1:2009 annex A: PIN 1234, PAN 4012345678909, format 0 block
// 041274EDCBA9876F enciphered under the DUKPT PIN keys (PIN variants of
// the transaction keys 042666B4...7BC9 and C46551CE...3BC7) of counters 1
// and 2.
func TestEncryptKnownAnswer(t *testing.T) {
	clear := must(pin.Encode(pin.Format0, "1234", "4012345678909", nil))
	tests := []struct{ key, want string }{
		{"042666B49184CF5C68DE9628D0397B36", "1B9C1845EB993A7A"},
		{"C46551CEF9FD244FAA9AD834130D3B38", "10A01C8D02C69107"},
	}
	for _, tc := range tests {
		k := keys.MustHex(keys.TDES, tc.key)
		enc, err := pin.Encrypt(k, clear)
		require.NoError(t, err)
		require.Equal(t, tc.want, upper(enc))
		dec, err := pin.Decrypt(k, enc)
		require.NoError(t, err)
		require.Equal(t, clear, dec)
	}
}

func TestEncryptKeyChecks(t *testing.T) {
	clear := unhex(t, "041274EDCBA9876F")
	for _, k := range []keys.Key{
		keys.MustHex(keys.AES, "AF8CB133A78F8DC2D1359F18527593FB"),
		keys.MustHex(keys.TDES, "0123456789ABCDEF"),
		{},
	} {
		_, err := pin.Encrypt(k, clear)
		require.ErrorIs(t, err, pin.ErrKey)
		_, err = pin.Decrypt(k, clear)
		require.ErrorIs(t, err, pin.ErrKey)
	}
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA98765432100123456789ABCDEF")
	_, err := pin.Encrypt(k, clear[:7])
	require.ErrorIs(t, err, pin.ErrBlock)
	_, err = pin.Decrypt(k, append(clear, 0))
	require.ErrorIs(t, err, pin.ErrBlock)
	enc, err := pin.Encrypt(k, clear)
	require.NoError(t, err, "triple-length keys are accepted")
	require.NotEqual(t, clear, enc)
}

// ANSI X9.24-3:2017 supplement: AES-128 BDK FEDCBA9876543210F1F1F1F1F1F1F1F1,
// DUKPT PIN keys of the first eight transactions, PIN 1234, PAN
// 4111111111111111, random PIN-field bytes 2F69ADDE2E9E7ACE.
var format4Vectors = []struct{ key, block string }{
	{"AF8CB133A78F8DC2D1359F18527593FB", "A912150391AB65A67E52883D81CE2D15"},
	{"D30BDC73EC9714B000BEC66BDB7B6D09", "52A00503BD34BA1383F6A7EE9FE2547F"},
	{"7D69F01F3B45449F62C7816ECE723268", "A5A27E82B43A9A866A93D7ABE89CEF93"},
	{"91A0588318EC2673214271F70137896E", "71B3D0528669498777555A8BE6698E44"},
	{"35A43BC9EFEB09C756204B57E3FB7D4D", "881A7F77A2E04E5BEA985E342FD0B628"},
	{"02DCC6CD1201A3A2CA7099559C862123", "BDC1C3871AFB0B340AA5B5CEFD08695E"},
	{"6ECF912F3B18CA11A7A27BB60705FD09", "4A8E6B8C7DBEE6CBA6DC774F0CB83396"},
	{"4D9DF3FBEE3448FC3E676D04320A90F5", "8308BB857C17F390369F761F8EB358FA"},
}

func TestFormat4KnownAnswers(t *testing.T) {
	for i, tc := range format4Vectors {
		t.Run(fmt.Sprint("counter ", i+1), func(t *testing.T) {
			k := keys.MustHex(keys.AES, tc.key)
			got, err := pin.EncipherFormat4(k, "1234", "4111111111111111",
				bytes.NewReader(unhex(t, "2F69ADDE2E9E7ACE")))
			require.NoError(t, err)
			require.Equal(t, tc.block, upper(got))
			p, err := pin.DecipherFormat4(k, got, "4111111111111111")
			require.NoError(t, err)
			require.Equal(t, "1234", p)
		})
	}
}

// Step by step: the format 4 encipherment is AES(K, AES(K, PIN field) XOR PAN field).
func TestFormat4Steps(t *testing.T) {
	k := keys.MustHex(keys.AES, format4Vectors[0].key)
	field := must(pin.PINField(pin.Format4, "1234", bytes.NewReader(unhex(t, "2F69ADDE2E9E7ACE"))))
	panField := must(pin.PANField(pin.Format4, "4111111111111111"))
	a := must(k.EncryptECB(field))
	b := keys.XOR(a, panField)
	want := must(k.EncryptECB(b))
	require.Equal(t, format4Vectors[0].block, upper(want))
	// Going back: D(K, block) XOR PAN field = A, D(K, A) = PIN field.
	back := must(k.DecryptECB(want))
	require.Equal(t, a, keys.XOR(back, panField))
	require.Equal(t, field, must(k.DecryptECB(a)))
}

func TestFormat4Errors(t *testing.T) {
	k := keys.MustHex(keys.AES, format4Vectors[0].key)
	block := unhex(t, format4Vectors[0].block)
	tests := []struct {
		name  string
		k     keys.Key
		block []byte
		pan   string
		want  error
	}{
		{"TDES key", keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36"), block, "4111111111111111", pin.ErrKey},
		{"short block", k, block[:15], "4111111111111111", pin.ErrBlock},
		{"8-byte block", k, block[:8], "4111111111111111", pin.ErrBlock},
		{"wrong PAN", k, block, "4111111111111112", pin.ErrFormat},
		{"bad PAN", k, block, "411111", pin.ErrPAN},
		{"wrong key", keys.MustHex(keys.AES, format4Vectors[1].key), block, "4111111111111111", pin.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pin.DecipherFormat4(tc.k, tc.block, tc.pan)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := pin.EncipherFormat4(keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36"), "1234", "4111111111111111", nil)
	require.ErrorIs(t, err, pin.ErrKey)
	_, err = pin.EncipherFormat4(k, "12", "4111111111111111", nil)
	require.ErrorIs(t, err, pin.ErrPINLength)

	// A field whose fill is not A after the PIN is refused.
	field := unhex(t, "441234AAAAAAAAAB2F69ADDE2E9E7ACE")
	a := keys.XOR(must(k.EncryptECB(field)), must(pin.PANField(pin.Format4, "4111111111111111")))
	_, err = pin.DecipherFormat4(k, must(k.EncryptECB(a)), "4111111111111111")
	require.ErrorIs(t, err, pin.ErrBlock)
}

func TestFormat4AllKeyLengthsAndPINs(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{4})
	for _, n := range []int{16, 24, 32} {
		k, err := keys.Generate(keys.AES, n, rnd)
		require.NoError(t, err)
		for _, p := range []string{"0000", "12345", "123456789012"} {
			for _, pan := range []string{"12345678", "4111111111111111", "1234567890123456789"} {
				enc, err := pin.EncipherFormat4(k, p, pan, rnd)
				require.NoError(t, err)
				require.Len(t, enc, 16)
				got, err := pin.DecipherFormat4(k, enc, pan)
				require.NoError(t, err)
				require.Equal(t, p, got)
			}
		}
	}
}

func TestTranslate(t *testing.T) {
	const p, pan = "1234", "4012345678909"
	k1 := keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36")
	k2 := keys.MustHex(keys.TDES, "C46551CEF9FD244FAA9AD834130D3B38")
	aes := keys.MustHex(keys.AES, "AF8CB133A78F8DC2D1359F18527593FB")
	in := unhex(t, "1B9C1845EB993A7A") // X9.24-1 annex A, counter 1

	// Format 0 is deterministic: the result is annex A's block for counter 2.
	out, err := pin.Translate(in, k1, k2, pin.Format0, pin.Format0, pan)
	require.NoError(t, err)
	require.Equal(t, "10A01C8D02C69107", upper(out))

	// Format 0 under TDES to format 4 under AES, and back.
	rnd := rand.NewChaCha8([32]byte{7})
	out4, err := pin.TranslateRand(in, k1, aes, pin.Format0, pin.Format4, pan, rnd)
	require.NoError(t, err)
	require.Len(t, out4, 16)
	got, err := pin.DecipherFormat4(aes, out4, pan)
	require.NoError(t, err)
	require.Equal(t, p, got)
	back, err := pin.TranslateRand(out4, aes, k1, pin.Format4, pin.Format0, pan, rnd)
	require.NoError(t, err)
	require.Equal(t, in, back)

	// Format 0 to 3 and format 1 to 0 are allowed.
	out3, err := pin.TranslateRand(in, k1, k2, pin.Format0, pin.Format3, pan, rnd)
	require.NoError(t, err)
	got, err = pin.Decode(pin.Format3, must(pin.Decrypt(k2, out3)), pan)
	require.NoError(t, err)
	require.Equal(t, p, got)
	in1 := must(pin.Encrypt(k1, must(pin.Encode(pin.Format1, p, "", rnd))))
	out, err = pin.Translate(in1, k1, k2, pin.Format1, pin.Format0, pan)
	require.NoError(t, err)
	require.Equal(t, "10A01C8D02C69107", upper(out))

	// Forbidden and failing translations.
	tests := []struct {
		name     string
		block    []byte
		from, to pin.Format
		fk, tk   keys.Key
		pan      string
		want     error
	}{
		{"0 to 1 loses the PAN", in, pin.Format0, pin.Format1, k1, k2, pan, pin.ErrTranslation},
		{"4 to 1 loses the PAN", out4, pin.Format4, pin.Format1, aes, k2, pan, pin.ErrTranslation},
		{"format 2 in", in, pin.Format2, pin.Format0, k1, k2, pan, pin.ErrTranslation},
		{"format 2 out", in1, pin.Format1, pin.Format2, k1, k2, pan, pin.ErrTranslation},
		{"unknown format", in, pin.Format(7), pin.Format0, k1, k2, pan, pin.ErrFormat},
		{"wrong source key", in, pin.Format0, pin.Format0, k2, k1, pan, pin.ErrBlock},
		{"wrong PAN", in, pin.Format0, pin.Format0, k1, k2, "4012345678917", pin.ErrBlock},
		{"AES key for format 0", in, pin.Format0, pin.Format0, aes, k2, pan, pin.ErrKey},
		{"TDES key for format 4 out", in, pin.Format0, pin.Format4, k1, k2, pan, pin.ErrKey},
		{"format 1 read as 0", in1, pin.Format0, pin.Format0, k1, k2, pan, pin.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pin.TranslateRand(tc.block, tc.fk, tc.tk, tc.from, tc.to, tc.pan, rnd)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func BenchmarkEncodeFormat0(b *testing.B) {
	for b.Loop() {
		if _, err := pin.Encode(pin.Format0, "1234", "5544332211009966", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncipherFormat4(b *testing.B) {
	k := keys.MustHex(keys.AES, format4Vectors[0].key)
	rnd := rand.NewChaCha8([32]byte{})
	for b.Loop() {
		if _, err := pin.EncipherFormat4(k, "1234", "4111111111111111", rnd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslate0To4(b *testing.B) {
	k1 := keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36")
	aes := keys.MustHex(keys.AES, format4Vectors[0].key)
	in, _ := hex.DecodeString("1B9C1845EB993A7A")
	rnd := rand.NewChaCha8([32]byte{})
	for b.Loop() {
		if _, err := pin.TranslateRand(in, k1, aes, pin.Format0, pin.Format4, "4012345678909", rnd); err != nil {
			b.Fatal(err)
		}
	}
}
