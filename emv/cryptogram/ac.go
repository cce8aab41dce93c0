package cryptogram

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Lengths of the cryptograms and of the issuer's response inputs.
const (
	ACLength     = 8 // ARQC, TC and AAC (9F26)
	ARPC1Length  = 8 // ARPC by method 1
	ARPC2Length  = 4 // ARPC by method 2
	ARCLength    = 2 // Authorisation Response Code used by ARPC method 1
	CSULength    = 4 // Card Status Update used by ARPC method 2
	MaxPropAuth  = 8 // longest Proprietary Authentication Data of ARPC method 2
	maxIADLength = 32
)

// MAC is the MAC of EMV Book 2 Annex A1.2 truncated to size bytes: for a
// TDES key, ISO/IEC 9797-1 MAC algorithm 3 with padding p (A1.2.1); for an
// AES key, CMAC (A1.2.2), where p is not used since CMAC pads by itself.
func MAC(k keys.Key, data []byte, p mac.Padding, size int) ([]byte, error) {
	var (
		full []byte
		err  error
	)
	switch k.Alg() {
	case keys.TDES:
		full, err = mac.Alg3(k, data, p)
	case keys.AES:
		full, err = mac.CMAC(k, data)
	default:
		return nil, fmt.Errorf("%w: no key", ErrKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if size < 1 || size > len(full) {
		return nil, fmt.Errorf("%w: MAC of %d bytes asked, the cipher gives %d", ErrLength, size, len(full))
	}
	return full[:size], nil
}

// ComputeAC computes an 8-byte application cryptogram (ARQC, TC or AAC)
// over data with the session key sk (EMV Book 2 section 8.1.2): MAC
// algorithm 3 with padding p for TDES keys, CMAC for AES keys.
func ComputeAC(sk keys.Key, data []byte, p mac.Padding) ([]byte, error) {
	return MAC(sk, data, p, ACLength)
}

// ARPCMethod1 is ARPC method 1 of EMV Book 2 section 8.2.1: the 8-byte ARQC
// is XORed with the 2-byte Authorisation Response Code followed by six zero
// bytes and enciphered with k. For AES keys the 8-byte value is padded with
// zeros to a 16-byte block and the leftmost 8 bytes of the result are kept.
func ARPCMethod1(k keys.Key, arqc, arc []byte) ([]byte, error) {
	if len(arqc) != ACLength {
		return nil, fmt.Errorf("%w: ARQC is %d bytes, want %d", ErrLength, len(arqc), ACLength)
	}
	if len(arc) != ARCLength {
		return nil, fmt.Errorf("%w: ARC is %d bytes, want %d", ErrLength, len(arc), ARCLength)
	}
	if k.IsZero() {
		return nil, fmt.Errorf("%w: no key", ErrKey)
	}
	block := make([]byte, k.BlockSize())
	copy(block, arqc)
	block[0] ^= arc[0]
	block[1] ^= arc[1]
	out, err := k.EncryptECB(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return out[:ARPC1Length], nil
}

// ARPCMethod2 is ARPC method 2 of EMV Book 2 section 8.2.2: the leftmost 4
// bytes of the MAC (Annex A1.2, padding method 2 for TDES) under k over
// ARQC || CSU || Proprietary Authentication Data (0 to 8 bytes).
func ARPCMethod2(k keys.Key, arqc, csu, prop []byte) ([]byte, error) {
	if len(arqc) != ACLength {
		return nil, fmt.Errorf("%w: ARQC is %d bytes, want %d", ErrLength, len(arqc), ACLength)
	}
	if len(csu) != CSULength {
		return nil, fmt.Errorf("%w: CSU is %d bytes, want %d", ErrLength, len(csu), CSULength)
	}
	if len(prop) > MaxPropAuth {
		return nil, fmt.Errorf("%w: proprietary authentication data is %d bytes, at most %d", ErrLength, len(prop), MaxPropAuth)
	}
	data := make([]byte, 0, len(arqc)+len(csu)+len(prop))
	data = append(append(append(data, arqc...), csu...), prop...)
	return MAC(k, data, mac.Method2, ARPC2Length)
}
