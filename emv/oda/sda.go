package oda

import (
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
)

// SSAD layout (Book 2 Table 4): header, format '03', hash algorithm
// indicator, Data Authentication Code (2), pad pattern of 'BB', hash result,
// trailer.
const ssadOverhead = 1 + 1 + 1 + 2 + hashLen + 1

// SignStaticData signs the Signed Static Application Data (tag 93, format 03,
// Book 2 section 5.2) over the static data to be authenticated, with the Data
// Authentication Code dac (tag 9F45 once verified).
func (is *Issuer) SignStaticData(dac [2]byte, staticData []byte) ([]byte, error) {
	if is == nil || is.s == nil {
		return nil, fmt.Errorf("%w: issuer has no key", ErrInvalid)
	}
	n := is.s.size
	block := make([]byte, 0, n)
	block = append(block, headerByte, formatSSAD, HashSHA1, dac[0], dac[1])
	for len(block) < n-hashLen-1 {
		block = append(block, padByte)
	}
	h := sha1.New()
	h.Write(block[1:])
	h.Write(staticData)
	block = h.Sum(block)
	block = append(block, trailerByte)
	sig, err := is.s.sign(block)
	if err != nil {
		return nil, fmt.Errorf("oda: sign static data: %w", err)
	}
	return sig, nil
}

// VerifyStaticData verifies the Signed Static Application Data (tag 93) with
// the recovered issuer public key, making the checks of Book 2 section 5.4:
// length equal to the issuer modulus length, trailer 'BC', header '6A',
// format '03', hash algorithm SHA-1, and the hash over the signed fields and
// the static data to be authenticated. It returns the Data Authentication
// Code (tag 9F45).
func VerifyStaticData(issuer PublicKey, ssad, staticData []byte) ([2]byte, error) {
	const o = ObjectSSAD
	if issuer.Size() < ssadOverhead {
		if err := issuer.Validate(); err != nil {
			return [2]byte{}, &Error{Object: o, Err: err}
		}
		return [2]byte{}, fail(o, ErrLength, "%d-byte key is too short for the format", issuer.Size())
	}
	block, err := issuer.recoverBlock(o, ssad)
	if err != nil {
		return [2]byte{}, err
	}
	n := len(block)
	if block[n-1] != trailerByte {
		return [2]byte{}, fail(o, ErrTrailer, "got %02X", block[n-1])
	}
	if block[0] != headerByte {
		return [2]byte{}, fail(o, ErrHeader, "got %02X", block[0])
	}
	if block[1] != formatSSAD {
		return [2]byte{}, fail(o, ErrFormat, "got %02X, want %02X", block[1], formatSSAD)
	}
	if block[2] != HashSHA1 {
		return [2]byte{}, fail(o, ErrHashAlg, "got %02X", block[2])
	}
	hashAt := n - hashLen - 1
	h := sha1.New()
	h.Write(block[1:hashAt])
	h.Write(staticData)
	if subtle.ConstantTimeCompare(h.Sum(nil), block[hashAt:n-1]) != 1 {
		return [2]byte{}, fail(o, ErrHash, "")
	}
	return [2]byte{block[3], block[4]}, nil
}
