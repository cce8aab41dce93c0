package oda

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, one per check. Test with errors.Is; use errors.As with
// *Error to learn which object failed.
var (
	// ErrLength reports a certificate or signature whose length differs
	// from the modulus of the key that recovers it, or a key too short for
	// the format.
	ErrLength = errors.New("oda: length does not match the key modulus")
	// ErrSignature reports a signed value that is not below the modulus.
	ErrSignature = errors.New("oda: signed value out of range")
	// ErrTrailer reports a recovered data trailer other than 'BC'.
	ErrTrailer = errors.New("oda: recovered data trailer is not BC")
	// ErrHeader reports a recovered data header other than '6A'.
	ErrHeader = errors.New("oda: recovered data header is not 6A")
	// ErrFormat reports an unexpected certificate or signed data format.
	ErrFormat = errors.New("oda: wrong certificate or signed data format")
	// ErrHashAlg reports a hash algorithm indicator other than SHA-1 ('01').
	ErrHashAlg = errors.New("oda: unknown hash algorithm indicator")
	// ErrPKAlg reports a public key algorithm indicator other than RSA ('01').
	ErrPKAlg = errors.New("oda: unknown public key algorithm indicator")
	// ErrHash reports a recovered hash result that differs from the hash
	// of the data.
	ErrHash = errors.New("oda: hash result does not match")
	// ErrRemainder reports a public key remainder of the wrong length.
	ErrRemainder = errors.New("oda: public key remainder has the wrong length")
	// ErrExponent reports a public key exponent that is not 3 or 65537, or
	// that does not match the length given in the certificate.
	ErrExponent = errors.New("oda: bad public key exponent")
	// ErrKeyLength reports an RSA modulus length the operation does not take.
	ErrKeyLength = errors.New("oda: bad RSA key length")
	// ErrIssuerID reports an issuer identifier that does not match the PAN.
	ErrIssuerID = errors.New("oda: issuer identifier does not match the PAN")
	// ErrPAN reports a certified PAN that differs from the card's PAN.
	ErrPAN = errors.New("oda: certified PAN does not match the application PAN")
	// ErrDate reports a malformed expiration date.
	ErrDate = errors.New("oda: malformed date")
	// ErrExpired reports a certificate or key whose expiration date has passed.
	ErrExpired = errors.New("oda: expired")
	// ErrRevoked reports an issuer certificate on the revocation list.
	ErrRevoked = errors.New("oda: certificate revoked")
	// ErrUnknownCA reports a CA public key that the terminal does not hold.
	ErrUnknownCA = errors.New("oda: unknown certification authority public key")
	// ErrChecksum reports a CA public key whose checksum does not match.
	ErrChecksum = errors.New("oda: CA public key checksum does not match")
	// ErrDynamicData reports malformed ICC Dynamic Data.
	ErrDynamicData = errors.New("oda: malformed ICC dynamic data")
	// ErrCID reports a Cryptogram Information Data in the signature that
	// differs from the one in the GENERATE AC response.
	ErrCID = errors.New("oda: cryptogram information data does not match")
	// ErrAC reports an Application Cryptogram in the signature that differs
	// from the one in the GENERATE AC response.
	ErrAC = errors.New("oda: application cryptogram does not match")
	// ErrTransactionHash reports a Transaction Data Hash Code that differs
	// from the hash of the transaction data.
	ErrTransactionHash = errors.New("oda: transaction data hash code does not match")
	// ErrTLV reports malformed BER-TLV data.
	ErrTLV = errors.New("oda: malformed TLV data")
	// ErrInvalid reports an argument the operation cannot use.
	ErrInvalid = errors.New("oda: invalid argument")
)

// Object names the data object an *Error is about.
type Object int

const (
	// ObjectCAKey is a certification authority public key.
	ObjectCAKey Object = iota + 1
	// ObjectIssuerCert is the Issuer Public Key Certificate (tag 90).
	ObjectIssuerCert
	// ObjectICCCert is the ICC Public Key Certificate (tag 9F46).
	ObjectICCCert
	// ObjectSSAD is the Signed Static Application Data (tag 93).
	ObjectSSAD
	// ObjectSDAD is the Signed Dynamic Application Data (tag 9F4B).
	ObjectSDAD
)

// String names the object in words, with its tag.
func (o Object) String() string {
	switch o {
	case ObjectCAKey:
		return "CA public key"
	case ObjectIssuerCert:
		return "issuer public key certificate (90)"
	case ObjectICCCert:
		return "ICC public key certificate (9F46)"
	case ObjectSSAD:
		return "signed static application data (93)"
	case ObjectSDAD:
		return "signed dynamic application data (9F4B)"
	default:
		return fmt.Sprintf("Object(%d)", int(o))
	}
}

// Error reports which object failed and why. Err wraps one of the sentinel
// errors of this package.
type Error struct {
	Object Object
	Err    error
}

// Error prints "oda: <object>: <reason>".
func (e *Error) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "oda: ")
	}
	return "oda: " + e.Object.String() + ": " + msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// fail wraps sentinel with an optional detail and the object it is about.
func fail(o Object, sentinel error, format string, args ...any) error {
	err := sentinel
	if format != "" {
		err = fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
	}
	return &Error{Object: o, Err: err}
}
