package scp03

import "strings"

// SecurityLevel is the security level of a secure channel session, the P1
// of EXTERNAL AUTHENTICATE (Amendment D). Its bits are CMAC,
// CDecryption, RMAC and REncryption.
type SecurityLevel byte

// Security level bits and the levels SCP03 defines.
const (
	// CMAC (b1): every command carries a C-MAC.
	CMAC SecurityLevel = 0x01
	// CDecryption (b2): command data is enciphered by the host and
	// deciphered by the card (needs CMAC).
	CDecryption SecurityLevel = 0x02
	// RMAC (b5): every successful response carries an R-MAC (needs CMAC).
	RMAC SecurityLevel = 0x10
	// REncryption (b6): response data is enciphered by the card (needs
	// CDecryption and RMAC).
	REncryption SecurityLevel = 0x20

	// LevelNone ('00'): the session is authenticated but commands and
	// responses travel unprotected.
	LevelNone SecurityLevel = 0x00
	// LevelCMAC ('01'): C-MAC.
	LevelCMAC = CMAC
	// LevelCMACCDec ('03'): C-MAC and command encryption.
	LevelCMACCDec = CMAC | CDecryption
	// LevelCMACRMAC ('11'): C-MAC and R-MAC.
	LevelCMACRMAC = CMAC | RMAC
	// LevelCMACCDecRMAC ('13'): C-MAC, command encryption and R-MAC.
	LevelCMACCDecRMAC = CMAC | CDecryption | RMAC
	// LevelFull ('33'): C-MAC, command encryption, R-MAC and response
	// encryption.
	LevelFull = CMAC | CDecryption | RMAC | REncryption
)

// Valid reports whether l is one of the six levels SCP03 defines ('00',
// '01', '03', '11', '13', '33').
func (l SecurityLevel) Valid() bool {
	switch l {
	case LevelNone, LevelCMAC, LevelCMACCDec, LevelCMACRMAC, LevelCMACCDecRMAC, LevelFull:
		return true
	}
	return false
}

// Has reports whether every bit of bits is set in l.
func (l SecurityLevel) Has(bits SecurityLevel) bool { return l&bits == bits }

// String shows the level in hex and its protections, e.g. "33 (C-MAC,
// C-DECRYPTION, R-MAC, R-ENCRYPTION)" or "00 (none)".
func (l SecurityLevel) String() string {
	var p []string
	for _, b := range []struct {
		bit  SecurityLevel
		name string
	}{{CMAC, "C-MAC"}, {CDecryption, "C-DECRYPTION"}, {RMAC, "R-MAC"}, {REncryption, "R-ENCRYPTION"}} {
		if l&b.bit != 0 {
			p = append(p, b.name)
		}
	}
	if rest := l &^ (CMAC | CDecryption | RMAC | REncryption); rest != 0 {
		p = append(p, "RFU bits "+fmtLevel(rest))
	}
	if len(p) == 0 {
		return fmtLevel(l) + " (none)"
	}
	return fmtLevel(l) + " (" + strings.Join(p, ", ") + ")"
}

// Param is the SCP03 "i" parameter a card announces in its key information
// (Amendment D): what the card supports.
type Param byte

// "i" parameter bits.
const (
	// ParamS16 (b1): S16 mode (16-byte challenges, cryptograms and MACs);
	// clear for S8 mode.
	ParamS16 Param = 0x01
	// ParamPseudoRandom (b5): the card challenge is pseudo-random (derived
	// from K-ENC, the sequence counter and the AID) and the sequence counter
	// follows the card cryptogram in the INITIALIZE UPDATE response.
	ParamPseudoRandom Param = 0x10
	// ParamRMAC (b6): R-MAC supported.
	ParamRMAC Param = 0x20
	// ParamREnc (b7): R-ENCRYPTION supported (with R-MAC).
	ParamREnc Param = 0x40
)

// Mode is S16 when b1 is set, S8 otherwise.
func (p Param) Mode() Mode {
	if p&ParamS16 != 0 {
		return S16
	}
	return S8
}

// PseudoRandom reports b5: pseudo-random card challenge.
func (p Param) PseudoRandom() bool { return p&ParamPseudoRandom != 0 }

// Supports reports whether a card with this "i" parameter accepts security
// level l: R-MAC needs b6, R-ENCRYPTION needs b7.
func (p Param) Supports(l SecurityLevel) bool {
	if !l.Valid() {
		return false
	}
	if l.Has(RMAC) && p&(ParamRMAC|ParamREnc) == 0 {
		return false
	}
	if l.Has(REncryption) && p&ParamREnc == 0 {
		return false
	}
	return true
}
