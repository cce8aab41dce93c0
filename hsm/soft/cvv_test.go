package soft_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// Known answers of the Visa CVV (see hsm/cvv for the sources), computed
// inside the module under a CVK; a wrong code is ErrCVV and nothing of the
// card reaches the module's log.
func TestCVVKnownAnswers(t *testing.T) {
	f := newHSM(t, "")
	for _, tc := range []struct {
		label, cvk, pan, exp, sc, want string
	}{
		{"psec", "0123456789ABCDEFFEDCBA9876543210", "1234567890123456", "9912", "220", "170"},
		{"psec-test", "99999999999999998888888888888888", "2222222222222222", "3333", "111", "361"},
		{"worked", "D676DCF3AFB7350532EAF00EA253D875", "4123450990122129", "0721", "202", "241"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			cvk := mustImport(t, f.hsm, "cvk/"+tc.label, hsm.UsageCVK, keys.TDES, tc.cvk)
			got, err := f.hsm.GenerateCVV(cvk, tc.pan, tc.exp, tc.sc)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NoError(t, f.hsm.VerifyCVV(cvk, tc.pan, tc.exp, tc.sc, tc.want))
			err = f.hsm.VerifyCVV(cvk, tc.pan, tc.exp, tc.sc, "999")
			require.ErrorIs(t, err, hsm.ErrCVV)
			require.NotContains(t, err.Error(), tc.pan)
			require.NotContains(t, f.log.String(), tc.pan)
		})
	}
}

// A CVK serves the CVV operations only, and only a CVK does (R-G5).
func TestCVVUsage(t *testing.T) {
	f := newHSM(t, "")
	pvk := mustImport(t, f.hsm, "pvk", hsm.UsagePVK, keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	cvk := mustImport(t, f.hsm, "cvk", hsm.UsageCVK, keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	_, err := f.hsm.GenerateCVV(pvk, "4761739001010010", "2912", "000")
	require.ErrorIs(t, err, hsm.ErrUsage)
	require.ErrorIs(t, f.hsm.VerifyCVV(pvk, "4761739001010010", "2912", "000", "123"), hsm.ErrUsage)
	_, err = f.hsm.GeneratePVV(cvk, "4761739001010010", "1234", 1)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.ImportKey("cvk-aes", hsm.UsageCVK, keys.MustHex(keys.AES, "0123456789ABCDEFFEDCBA9876543210"))
	require.ErrorIs(t, err, hsm.ErrKeyType)
	// Malformed input is ErrInput, never ErrCVV.
	for _, in := range [][3]string{{"47617390", "2912", "000"}, {"4761739001010010", "29", "000"}, {"4761739001010010", "2912", "0"}} {
		require.ErrorIs(t, f.hsm.VerifyCVV(cvk, in[0], in[1], in[2], "123"), hsm.ErrInput)
	}
	require.ErrorIs(t, f.hsm.VerifyCVV(cvk, "4761739001010010", "2912", "000", "12"), hsm.ErrInput)
}
