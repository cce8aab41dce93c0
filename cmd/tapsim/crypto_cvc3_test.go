package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// TestCryptoCVC3: the calculator's CVC3 is the library's, --verify matches
// it and refuses another; bad input exits 2.
func TestCryptoCVC3(t *testing.T) {
	const (
		imk   = "1F2E3D4C5B6A79880102030405060708"
		track = "5413330089010012D29122010000000000000F"
	)
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, imk), "5413330089010012", "01")
	require.NoError(t, err)
	iv, err := cryptogram.CVC3IV(mk, mustUnhex(track))
	require.NoError(t, err)
	cvc3, err := cryptogram.ComputeCVC3(mk, iv, mustUnhex("00012345"), 1)
	require.NoError(t, err)
	args := []string{"crypto", "cvc3", "--imk", imk, "--pan", "5413330089010012", "--psn", "01", "--track", track, "--un", "00012345", "--atc", "0001"}

	code, out, errOut := runCLI(t, args...)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fmt.Sprintf("IVCVC3 %X\nCVC3   %X (%05d)\n", iv, cvc3, int(cvc3[0])<<8|int(cvc3[1])), out)

	code, out, _ = runCLI(t, append(args, "--verify", upperHex(cvc3))...)
	require.Equal(t, 0, code)
	require.Contains(t, out, "match")
	code, _, _ = runCLI(t, append(args, "--verify", "0000")...)
	require.Equal(t, 1, code, "mismatch")

	code, _, _ = runCLI(t, "crypto", "cvc3", "--mk", upperHex(mk.Bytes()), "--track", track, "--un", "00012345", "--atc", "0001", "--verify", upperHex(cvc3))
	require.Equal(t, 0, code, "the card's key given directly")
	code, _, _ = runCLI(t, "crypto", "cvc3", "--track", track, "--un", "00012345", "--atc", "0001")
	require.Equal(t, 2, code, "no key")
	code, _, _ = runCLI(t, "crypto", "cvc3", "--mk", upperHex(mk.Bytes()), "--track", track, "--un", "0001", "--atc", "0001")
	require.Equal(t, 2, code, "a 2-byte number")
}
