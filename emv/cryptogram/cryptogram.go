// Package cryptogram computes and checks EMV application cryptograms: ICC
// master key derivation (EMV Book 2 Annex A1.4, options A, B and C), session
// keys (Book 2 Annex A1.3 common session key and the Mastercard key with the
// unpredictable number), the application cryptogram (ARQC, TC, AAC: Book 2
// section 8.1 and Annex A1.2), the issuer's response cryptogram (ARPC
// methods 1 and 2, Book 2 section 8.2), and the Cryptogram Version Numbers
// (CVN) of Visa and Mastercard cards that tie these together.
//
// One table of CVNs drives both sides: a card generates its cryptogram with
// (*CVN).GenerateAC and the issuer checks it with (*CVN).VerifyARQC; both go
// through the same entry, so they cannot drift apart.
//
// Keys are keys.Key values and never appear in errors; PANs are never echoed.
package cryptogram

import (
	"errors"
	"fmt"
)

// Source supplies the value of an EMV data element by tag (for example
// 0x9F02 for Amount, Authorised). A TLV decoder, a card profile or a parsed
// ISO 8583 field 55 can all serve as a Source.
type Source interface {
	// Value returns the value of tag and whether it is present.
	Value(tag uint32) ([]byte, bool)
}

// Values is a Source held in a map from tag to value.
type Values map[uint32][]byte

// Value returns the value of tag and whether it is present.
func (v Values) Value(tag uint32) ([]byte, bool) {
	b, ok := v[tag]
	return b, ok
}

// Tags of the data elements used in cryptogram computation.
const (
	TagAmountAuthorised   uint32 = 0x9F02 // n12, 6 bytes
	TagAmountOther        uint32 = 0x9F03 // n12, 6 bytes
	TagTerminalCountry    uint32 = 0x9F1A // n3, 2 bytes
	TagTVR                uint32 = 0x95   // b, 5 bytes
	TagCurrency           uint32 = 0x5F2A // n3, 2 bytes
	TagTransactionDate    uint32 = 0x9A   // n6 YYMMDD, 3 bytes
	TagTransactionType    uint32 = 0x9C   // n2, 1 byte
	TagUnpredictableNum   uint32 = 0x9F37 // b, 4 bytes
	TagAIP                uint32 = 0x82   // b, 2 bytes
	TagATC                uint32 = 0x9F36 // b, 2 bytes
	TagIssuerAppData      uint32 = 0x9F10 // b, 1 to 32 bytes
	TagApplicationCrypto  uint32 = 0x9F26 // b, 8 bytes
	TagPANSequenceNumber  uint32 = 0x5F34 // n2, 1 byte
	TagIssuerAuthData     uint32 = 0x91   // b, 8 to 16 bytes
	TagCryptogramInfoData uint32 = 0x9F27 // b, 1 byte
)

// element is one data element of the minimum data set with its fixed length.
type element struct {
	tag uint32
	n   int
}

// minimumSet is the minimum set of data elements that EMV Book 2 section
// 8.1.1 recommends for the application cryptogram, in the order they are
// concatenated, with their fixed lengths in bytes.
var minimumSet = [...]element{
	{TagAmountAuthorised, 6},
	{TagAmountOther, 6},
	{TagTerminalCountry, 2},
	{TagTVR, 5},
	{TagCurrency, 2},
	{TagTransactionDate, 3},
	{TagTransactionType, 1},
	{TagUnpredictableNum, 4},
	{TagAIP, 2},
	{TagATC, 2},
}

// MinimumDataSet returns the tags of the minimum data set of EMV Book 2
// section 8.1.1 in the order the cryptogram input concatenates them: 9F02,
// 9F03, 9F1A, 95, 5F2A, 9A, 9C, 9F37, 82, 9F36. The slice is a fresh copy.
func MinimumDataSet() []uint32 {
	out := make([]uint32, len(minimumSet))
	for i, e := range minimumSet {
		out[i] = e.tag
	}
	return out
}

// MinimumData concatenates the values of the minimum data set (see
// MinimumDataSet) from tags, each checked for its fixed length, into a
// fresh slice with room for extra more bytes, which a caller appends (the
// CVR or the Issuer Application Data of its cryptogram version). A missing
// or wrongly sized element is a *TagError naming the tag.
func MinimumData(tags Source, extra int) ([]byte, error) {
	out := make([]byte, 0, 33+max(extra, 0))
	for _, e := range minimumSet {
		v, err := value(tags, e.tag, e.n)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// ElementLength returns the fixed length in bytes of a data element of the
// minimum data set, and false for any other tag.
func ElementLength(tag uint32) (int, bool) {
	for _, e := range minimumSet {
		if e.tag == tag {
			return e.n, true
		}
	}
	return 0, false
}

// Sentinel errors; the errors returned wrap one of them.
var (
	// ErrMismatch reports a cryptogram that does not match the one computed
	// from the same data and keys.
	ErrMismatch = errors.New("cryptogram: mismatch")
	// ErrMissingTag reports a data element absent from the Source.
	ErrMissingTag = errors.New("cryptogram: missing data element")
	// ErrTagLength reports a data element whose value has the wrong length.
	ErrTagLength = errors.New("cryptogram: data element of wrong length")
	// ErrPAN reports a PAN that is not 1 to 19 decimal digits.
	ErrPAN = errors.New("cryptogram: bad PAN")
	// ErrPSN reports a PAN sequence number that is not 1 or 2 decimal digits.
	ErrPSN = errors.New("cryptogram: bad PAN sequence number")
	// ErrKey reports a key of an algorithm or length the operation does not take.
	ErrKey = errors.New("cryptogram: unsuitable key")
	// ErrLength reports an input (ATC, UN, ARQC, ARC, CSU ...) of the wrong length.
	ErrLength = errors.New("cryptogram: input of wrong length")
	// ErrOption reports an unknown master key derivation option.
	ErrOption = errors.New("cryptogram: unknown derivation option")
	// ErrMethod reports an unknown session key or ARPC method.
	ErrMethod = errors.New("cryptogram: unknown method")
	// ErrIAD reports Issuer Application Data (9F10) that is too short or of
	// an unknown layout.
	ErrIAD = errors.New("cryptogram: bad issuer application data")
	// ErrUnknownCVN reports a Cryptogram Version Number not in the table.
	ErrUnknownCVN = errors.New("cryptogram: unknown cryptogram version")
	// ErrCVNMismatch reports Issuer Application Data that names another CVN
	// than the one asked for.
	ErrCVNMismatch = errors.New("cryptogram: issuer application data names another cryptogram version")
)

// TagError reports a problem with one data element; it wraps ErrMissingTag
// or ErrTagLength. Values are never included, only the tag and lengths.
type TagError struct {
	Tag  uint32 // the data element's tag
	Got  int    // the length found (ErrTagLength only)
	Want int    // the length expected (ErrTagLength only)
	Err  error  // ErrMissingTag or ErrTagLength
}

// Error names the tag, e.g. "cryptogram: missing data element 9F37".
func (e *TagError) Error() string {
	if errors.Is(e.Err, ErrTagLength) {
		return fmt.Sprintf("%v %s: %d bytes, want %d", e.Err, TagName(e.Tag), e.Got, e.Want)
	}
	return fmt.Sprintf("%v %s", e.Err, TagName(e.Tag))
}

// Unwrap returns ErrMissingTag or ErrTagLength.
func (e *TagError) Unwrap() error { return e.Err }

// TagName formats a tag the way EMV documents write it: upper-case hex with
// an even number of digits ("95", "9F37", "5F2A").
func TagName(tag uint32) string {
	switch {
	case tag <= 0xFF:
		return fmt.Sprintf("%02X", tag)
	case tag <= 0xFFFF:
		return fmt.Sprintf("%04X", tag)
	case tag <= 0xFFFFFF:
		return fmt.Sprintf("%06X", tag)
	}
	return fmt.Sprintf("%08X", tag)
}

// value fetches tag from src and checks its length when want > 0.
func value(src Source, tag uint32, want int) ([]byte, error) {
	if src == nil {
		return nil, &TagError{Tag: tag, Err: ErrMissingTag}
	}
	v, ok := src.Value(tag)
	if !ok {
		return nil, &TagError{Tag: tag, Err: ErrMissingTag}
	}
	if want > 0 && len(v) != want {
		return nil, &TagError{Tag: tag, Got: len(v), Want: want, Err: ErrTagLength}
	}
	return v, nil
}
