package emvapp

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// ErrATC reports an Application Transaction Counter that cannot advance
// (FFFF reached): the application is then permanently unusable, as EMV
// requires.
var ErrATC = errors.New("emvapp: application transaction counter exhausted")

// KeySource supplies the Application Transaction Counter of each new
// transaction and the key of its application cryptogram.
type KeySource interface {
	// Next starts a transaction and returns its ATC; last is the ATC of
	// the previous transaction (0 for none).
	Next(last uint16) (uint16, error)
	// AC computes the cryptogram of the transaction Next started, over the
	// data elements in tags (9F36 must hold that ATC).
	AC(cvn *cryptogram.CVN, atc uint16, tags cryptogram.Source) ([]byte, error)
}

// IADSource is a KeySource that writes the Issuer Application Data (9F10)
// itself: the cloud-payment keys (emv/cloud) name the key in the IAD and
// have their own layout, covered by the cryptogram. The application calls
// IAD after Next and before AC, with the cryptogram type it answers and
// whether the phone's cardholder verification served the transaction.
type IADSource interface {
	KeySource
	IAD(atc uint16, cid byte, cdcvm bool) ([]byte, error)
}

// IADFinisher is an IADSource whose cryptogram fills part of the IAD it
// wrote (the mc-cloud MD cryptogram, outside the data both cryptograms
// cover): the application sends FinalIAD, asked after AC, as 9F10.
type IADFinisher interface {
	IADSource
	FinalIAD() []byte
}

// ARPCVerifier is a KeySource that can check the issuer's response
// cryptogram (ARPC) for a cryptogram it made (EMV Book 2 section 8.2): the
// card's side of issuer authentication.
type ARPCVerifier interface {
	VerifyARPC(cvn *cryptogram.CVN, tags cryptogram.Source, arqc, resp, prop, arpc []byte) error
}

// MasterKey is the key source of a card personalised with its ICC master
// key (plastic cards, SE phones, wallet tokens): the ATC counts up from the
// last one and each cryptogram's session key is derived from the master key
// by the CVN.
type MasterKey struct {
	MK keys.Key
}

// Next returns last+1, or ErrATC at FFFF.
func (m MasterKey) Next(last uint16) (uint16, error) {
	if last == 0xFFFF {
		return 0, ErrATC
	}
	return last + 1, nil
}

// AC computes the cryptogram from the master key by the CVN.
func (m MasterKey) AC(cvn *cryptogram.CVN, _ uint16, tags cryptogram.Source) ([]byte, error) {
	ac, err := cvn.GenerateAC(m.MK, tags)
	if err != nil {
		return nil, fmt.Errorf("emvapp: %w", err)
	}
	return ac, nil
}

// String never shows the key, only its check value.
func (m MasterKey) String() string { return fmt.Sprintf("master key %v", m.MK) }

// GoString is String, so that %#v shows no key.
func (m MasterKey) GoString() string { return m.String() }

// Holder is the cardholder verification of a phone (consumer device CVM):
// passcode or biometric on the device.
type Holder interface {
	// Verified reports whether the holder was verified on the device and
	// the verification may serve the current transaction.
	Verified() bool
	// AlwaysVerify reports whether every transaction needs CDCVM, whatever
	// the amount (HCE phones, R-S2e).
	AlwaysVerify() bool
	// Done is called when the application has answered with a cryptogram;
	// r tells what it answered (r.CDCVM: the verification served the
	// transaction; r.SeePhone: declined until the holder verifies).
	Done(r Result)
}

// VerifyARPC checks the ARPC with the key the CVN names (the ICC master key
// or the cryptogram's session key).
func (m MasterKey) VerifyARPC(cvn *cryptogram.CVN, tags cryptogram.Source, arqc, resp, prop, arpc []byte) error {
	return cvn.VerifyARPC(m.MK, tags, arqc, resp, prop, arpc)
}
