package scp03

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Derivation constants of Amendment D (table 4-1), the last byte of the
// 12-byte label of the key derivation function.
const (
	// ConstCardCryptogram derives the card authentication cryptogram.
	ConstCardCryptogram byte = 0x00
	// ConstHostCryptogram derives the host authentication cryptogram.
	ConstHostCryptogram byte = 0x01
	// ConstCardChallenge derives a pseudo-random card challenge.
	ConstCardChallenge byte = 0x02
	// ConstSENC derives the session encryption key S-ENC from K-ENC.
	ConstSENC byte = 0x04
	// ConstSMAC derives the session command MAC key S-MAC from K-MAC.
	ConstSMAC byte = 0x06
	// ConstSRMAC derives the session response MAC key S-RMAC from K-MAC.
	ConstSRMAC byte = 0x07
)

// MaxKDFBits is the longest output KDF gives: the block counter i is one
// byte, so at most 255 CMAC blocks of 128 bits.
const MaxKDFBits = 255 * 128

// labelLen is the length of the label: 11 zero bytes and the constant.
const labelLen = 12

// DerivationData returns the input of one KDF iteration (Amendment D
// section 4.1.5; NIST SP 800-108 counter mode, with the counter placed
// between L and the context): label (11 bytes '00' then the derivation constant), a '00'
// separation indicator, L (the output length in bits, 2 bytes big-endian),
// the iteration counter i (1 byte) and the context.
func DerivationData(constant byte, context []byte, lBits int, i byte) []byte {
	d := make([]byte, labelLen, labelLen+4+len(context))
	d[labelLen-1] = constant
	d = append(d, 0x00, byte(lBits>>8), byte(lBits), i)
	return append(d, context...)
}

// KDF is the SCP03 data derivation function: NIST SP 800-108 KDF in counter
// mode with AES-CMAC as the PRF, keyed by key. It computes CMAC(key,
// DerivationData(constant, context, lBits, i)) for i = 1, 2, ... and keeps
// the leftmost lBits bits of their concatenation (a partial last byte keeps
// its high bits, the rest are zero). lBits runs from 1 to MaxKDFBits.
func KDF(key keys.Key, constant byte, context []byte, lBits int) ([]byte, error) {
	if key.Alg() != keys.AES {
		return nil, fmt.Errorf("%w: KDF takes an AES key, got %v", ErrKey, key)
	}
	if lBits < 1 || lBits > MaxKDFBits {
		return nil, fmt.Errorf("%w: KDF output of %d bits (1 to %d)", ErrLength, lBits, MaxKDFBits)
	}
	n := (lBits + 127) / 128
	var out bytes.Buffer
	for i := 1; i <= n; i++ {
		block, err := mac.CMAC(key, DerivationData(constant, context, lBits, byte(i)))
		if err != nil {
			return nil, fmt.Errorf("scp03: KDF: %w", err)
		}
		out.Write(block)
	}
	nBytes := (lBits + 7) / 8
	res := out.Bytes()[:nBytes:nBytes]
	if r := lBits % 8; r != 0 {
		res[nBytes-1] &= byte(0xFF << (8 - r))
	}
	return res, nil
}
