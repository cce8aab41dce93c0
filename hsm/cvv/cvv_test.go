package cvv_test

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/cvv"
	"github.com/tapsim/tapsim/hsm/pvv"
)

// Published known answers.
//   - CVK 0123456789ABCDEF FEDCBA9876543210, PAN 1234567890123456, 9912,
//     220 -> 170: the docstring example of the psec library (Python).
//   - CVK 9999999999999999 8888888888888888, PAN 2222222222222222, 3333,
//     111 -> 361: psec's own unit test.
//   - CVK D676DCF3AFB73505 32EAF00EA253D875, PAN 4123450990122129, 0721,
//     202: a worked example with every intermediate block (block 1 under
//     CVK A 4DC867AA9BCE665B, XOR block 2 4AE9478A9BCE665B, after TDES
//     24E1A05574051BBF, decimalised 2410557405140115), first 3 digits 241.
func TestKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		cvk, pan, exp, sc, want string
	}{
		{"0123456789ABCDEFFEDCBA9876543210", "1234567890123456", "9912", "220", "170"},
		{"99999999999999998888888888888888", "2222222222222222", "3333", "111", "361"},
		{"D676DCF3AFB7350532EAF00EA253D875", "4123450990122129", "0721", "202", "241"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			k := keys.MustHex(keys.TDES, tc.cvk)
			got, err := cvv.Compute(k, tc.pan, tc.exp, tc.sc)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NoError(t, cvv.Verify(k, tc.pan, tc.exp, tc.sc, tc.want))
			// Another code: ErrMismatch.
			other := []byte(tc.want)
			other[2] = '0' + (other[2]-'0'+1)%10
			require.ErrorIs(t, cvv.Verify(k, tc.pan, tc.exp, tc.sc, string(other)), cvv.ErrMismatch)
		})
	}
}

// The intermediate blocks of the worked example, computed a second way:
// single DES then the standard library's two-key TDES (EDE) in CBC mode.
func TestIntermediates(t *testing.T) {
	key, _ := hex.DecodeString("D676DCF3AFB7350532EAF00EA253D875")
	in, err := cvv.Input("4123450990122129", "0721", "202")
	require.NoError(t, err)
	require.Equal(t, "41234509901221290721202000000000", hex.EncodeToString(in[:]))
	a, err := des.NewCipher(key[:8])
	require.NoError(t, err)
	var b1 [8]byte
	a.Encrypt(b1[:], in[:8])
	require.Equal(t, "4dc867aa9bce665b", hex.EncodeToString(b1[:]))
	ede, err := des.NewTripleDESCipher(append(append([]byte{}, key...), key[:8]...))
	require.NoError(t, err)
	out := make([]byte, 8)
	cipher.NewCBCEncrypter(ede, b1[:]).CryptBlocks(out, in[8:])
	require.Equal(t, "24e1a05574051bbf", hex.EncodeToString(out))
	require.Equal(t, "241", pvv.Decimalise(out, 3))
}

// CVV2 is the code under the service code 000, iCVV under 999: each
// differs from the stripe's for the same card.
func TestServiceCodes(t *testing.T) {
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	got := map[string]string{}
	for _, sc := range []string{"101", cvv.ServiceCodeCVV2, cvv.ServiceCodeICVV} {
		c, err := cvv.Compute(k, "4761739001010010", "2912", sc)
		require.NoError(t, err)
		require.Len(t, c, cvv.Len)
		got[sc] = c
	}
	require.Len(t, got, 3)
}

func TestBadInput(t *testing.T) {
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	for _, tc := range []struct {
		name               string
		key                keys.Key
		pan, exp, sc, code string
		want               error
	}{
		{"aes key", keys.MustHex(keys.AES, "0123456789ABCDEFFEDCBA9876543210"), "4761739001010010", "2912", "000", "123", cvv.ErrKey},
		{"triple length", keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"), "4761739001010010", "2912", "000", "123", cvv.ErrKey},
		{"short pan", k, "47617390010", "2912", "000", "123", cvv.ErrPAN},
		{"long pan", k, "47617390010100100000", "2912", "000", "123", cvv.ErrPAN},
		{"letters in pan", k, "476173900101001A", "2912", "000", "123", cvv.ErrPAN},
		{"expiry", k, "4761739001010010", "291", "000", "123", cvv.ErrExpiry},
		{"expiry letters", k, "4761739001010010", "29-2", "000", "123", cvv.ErrExpiry},
		{"service code", k, "4761739001010010", "2912", "00", "123", cvv.ErrServiceCode},
		{"code length", k, "4761739001010010", "2912", "000", "1234", cvv.ErrCode},
		{"code letters", k, "4761739001010010", "2912", "000", "12a", cvv.ErrCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cvv.Verify(tc.key, tc.pan, tc.exp, tc.sc, tc.code)
			require.ErrorIs(t, err, tc.want)
			require.NotContains(t, err.Error(), "4761739001010010")
		})
	}
}
