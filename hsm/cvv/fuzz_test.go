package cvv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/cvv"
)

// FuzzVerify: any input gives a nil error, ErrMismatch or an input error,
// never a panic, and no error repeats the PAN or the code it was given.
func FuzzVerify(f *testing.F) {
	f.Add("1234567890123456", "9912", "220", "170")
	f.Add("4761739001010010", "2912", "000", "999")
	f.Add("", "", "", "")
	f.Add("4761739001010010123456", "29121", "0000", "12")
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	f.Fuzz(func(t *testing.T, pan, exp, sc, code string) {
		err := cvv.Verify(k, pan, exp, sc, code)
		if err == nil {
			return
		}
		known := false
		for _, e := range []error{cvv.ErrMismatch, cvv.ErrPAN, cvv.ErrExpiry, cvv.ErrServiceCode, cvv.ErrCode} {
			known = known || errors.Is(err, e)
		}
		if !known {
			t.Fatalf("unexpected error %v", err)
		}
		if len(pan) >= 6 && strings.Contains(err.Error(), pan) {
			t.Fatalf("error names the PAN")
		}
	})
}
