package scp03

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error of this package wraps one of them. None of
// them carries key material, challenges or command data.
var (
	// ErrKey reports a key unsuitable for SCP03 (SCP03 runs on AES-128,
	// AES-192 or AES-256 only).
	ErrKey = errors.New("scp03: unsuitable key")
	// ErrLength reports a challenge, AID, cryptogram or KDF output of a
	// length the protocol does not allow.
	ErrLength = errors.New("scp03: bad length")
	// ErrCryptogram reports a card or host authentication cryptogram that
	// does not verify.
	ErrCryptogram = errors.New("scp03: authentication cryptogram mismatch")
	// ErrMAC reports a C-MAC or R-MAC that does not verify, or a command that
	// lacks the C-MAC the security level requires. Errors that wrap it are
	// *MACError values.
	ErrMAC = errors.New("scp03: MAC verification failed")
	// ErrCommand reports a command APDU that is malformed or not the one
	// expected (wrong class, instruction, parameters or length).
	ErrCommand = errors.New("scp03: malformed command APDU")
	// ErrResponse reports a response APDU that is malformed (too short,
	// enciphered data not a whole number of blocks).
	ErrResponse = errors.New("scp03: malformed response APDU")
	// ErrPadding reports deciphered data whose ISO/IEC 9797-1 method 2
	// padding ('80' then '00's) is wrong, as a wrong key or counter gives.
	ErrPadding = errors.New("scp03: bad padding")
	// ErrSecurityLevel reports a security level SCP03 does not define, or
	// one the card's "i" parameter does not support.
	ErrSecurityLevel = errors.New("scp03: unsupported security level")
	// ErrKeyVersion reports an INITIALIZE UPDATE for a key version the card
	// does not hold.
	ErrKeyVersion = errors.New("scp03: key version not found")
	// ErrState reports a call out of protocol order: EXTERNAL AUTHENTICATE
	// without a pending INITIALIZE UPDATE, a card-side call on a host
	// channel or the reverse.
	ErrState = errors.New("scp03: command out of sequence")
	// ErrClosed reports use of a secure channel session that was ended,
	// by Close or by a failed verification (Amendment D: a C-MAC or R-MAC
	// failure terminates the session).
	ErrClosed = errors.New("scp03: secure channel session closed")
	// ErrSequenceCounter reports a key set whose 24-bit sequence counter
	// has reached its maximum: no further session may be opened with it.
	ErrSequenceCounter = errors.New("scp03: sequence counter exhausted")
	// ErrRandom reports a random source that failed or ran dry.
	ErrRandom = errors.New("scp03: random source unavailable")
)

// MACError is a failed C-MAC or R-MAC check. It wraps ErrMAC.
type MACError struct {
	// What names the check: "C-MAC", "R-MAC" or "C-MAC missing".
	What string
}

// Error names the failed check without printing any MAC value.
func (e *MACError) Error() string { return fmt.Sprintf("scp03: %s verification failed", e.What) }

// Unwrap returns ErrMAC.
func (e *MACError) Unwrap() error { return ErrMAC }

// Status words a card returns for the failures of this package (GP Card
// Specification 11.1.3 and the INITIALIZE UPDATE / EXTERNAL AUTHENTICATE
// command descriptions of Amendment D section 7).
const (
	// SWOK is '9000', success.
	SWOK uint16 = 0x9000
	// SWWrongLength is '6700', wrong length.
	SWWrongLength uint16 = 0x6700
	// SWSecurityStatusNotSatisfied is '6982', for a C-MAC that does not
	// verify or a session that is closed.
	SWSecurityStatusNotSatisfied uint16 = 0x6982
	// SWConditionsNotSatisfied is '6985', for a command out of sequence.
	SWConditionsNotSatisfied uint16 = 0x6985
	// SWAuthenticationFailed is '6300', a host cryptogram that does not
	// verify.
	SWAuthenticationFailed uint16 = 0x6300
	// SWIncorrectP1P2 is '6A86', e.g. an unsupported security level.
	SWIncorrectP1P2 uint16 = 0x6A86
	// SWReferencedDataNotFound is '6A88', an unknown key version.
	SWReferencedDataNotFound uint16 = 0x6A88
	// SWWrongData is '6A80', incorrect data (e.g. bad padding).
	SWWrongData uint16 = 0x6A80
	// SWClassNotSupported is '6E00', a class byte the command does not take.
	SWClassNotSupported uint16 = 0x6E00
	// SWInsNotSupported is '6D00', an instruction that is not the expected
	// one.
	SWInsNotSupported uint16 = 0x6D00
)

// StatusWord maps an error of this package to the status word a card
// (Security Domain) answers with: '9000' for nil, '6300' for a host
// cryptogram that does not verify, '6982' for a C-MAC failure, a closed
// session or a missing C-MAC, '6A88' for an unknown key version, '6A86' for
// an unsupported security level, '6985' for a command out of sequence or an
// exhausted sequence counter, '6700' for a bad length, '6A80' for bad
// padding and '6E00'/'6D00'/'6A80' for other malformed commands.
func StatusWord(err error) uint16 {
	var se *swError
	switch {
	case err == nil:
		return SWOK
	case errors.As(err, &se):
		return se.sw
	case errors.Is(err, ErrCryptogram):
		return SWAuthenticationFailed
	case errors.Is(err, ErrMAC), errors.Is(err, ErrClosed):
		return SWSecurityStatusNotSatisfied
	case errors.Is(err, ErrKeyVersion):
		return SWReferencedDataNotFound
	case errors.Is(err, ErrSecurityLevel):
		return SWIncorrectP1P2
	case errors.Is(err, ErrState), errors.Is(err, ErrSequenceCounter):
		return SWConditionsNotSatisfied
	case errors.Is(err, ErrLength):
		return SWWrongLength
	}
	return SWWrongData
}

// swError is an ErrCommand with the precise status word a card gives for
// it (wrong class, wrong instruction, wrong length).
type swError struct {
	sw  uint16
	msg string
}

func (e *swError) Error() string { return "scp03: " + e.msg }
func (e *swError) Unwrap() error { return ErrCommand }

func cmdErr(sw uint16, format string, a ...any) error {
	return &swError{sw: sw, msg: fmt.Sprintf(format, a...)}
}
