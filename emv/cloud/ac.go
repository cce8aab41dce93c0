package cloud

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Padding is the ISO/IEC 9797-1 padding of the cloud cryptograms' input
// (MAC algorithm 3 under a double-length TDES key, EMV Book 2 Annex A1.2.1).
const Padding = mac.Method2

// Data returns the input of the cloud cryptograms and the parsed IAD: the
// minimum data set of EMV Book 2 section 8.1.1 (see
// cryptogram.MinimumDataSet), then
//
//   - visa-cloud: the whole 16-byte 9F10;
//   - mc-cloud: the first 7 bytes of 9F10 (length, CVN, DKI, CVR), since
//     the MD cryptogram it carries is computed over this same input.
func Data(tags cryptogram.Source) ([]byte, IAD, error) {
	out, err := cryptogram.MinimumData(tags, IADLength)
	if err != nil {
		return nil, IAD{}, err
	}
	var raw []byte
	if tags != nil {
		raw, _ = tags.Value(cryptogram.TagIssuerAppData)
	}
	if raw == nil {
		return nil, IAD{}, &cryptogram.TagError{Tag: cryptogram.TagIssuerAppData, Err: cryptogram.ErrMissingTag}
	}
	iad, err := ParseIAD(raw)
	if err != nil {
		return nil, IAD{}, err
	}
	if iad.CVN == CVNVisaCloud {
		return append(out, raw...), iad, nil
	}
	return append(out, raw[:macHeader]...), iad, nil
}

// data is Data for one CVN.
func data(tags cryptogram.Source, cvn byte) ([]byte, IAD, error) {
	d, iad, err := Data(tags)
	if err != nil {
		return nil, IAD{}, err
	}
	if iad.CVN != cvn {
		return nil, IAD{}, fmt.Errorf("%w: 9F10 names CVN %02X, want %02X", ErrIAD, iad.CVN, cvn)
	}
	return d, iad, nil
}

// GenerateLUKAC computes the visa-cloud application cryptogram (9F26) as
// the phone does, with its limited-use key over the transaction's data
// elements; 9F10 must be the visa-cloud IAD naming that key's index.
func GenerateLUKAC(luk keys.Key, tags cryptogram.Source) ([]byte, error) {
	if err := checkMK(luk); err != nil {
		return nil, err
	}
	d, _, err := data(tags, CVNVisaCloud)
	if err != nil {
		return nil, err
	}
	return cryptogram.ComputeAC(luk, d, Padding)
}

// VerifyLUKAC is the issuer's check of a visa-cloud cryptogram: the IAD
// must name key index ki (the one the issuer's record expects, else
// ErrKeyIndex), the LUK is derived again from the ICC master key mk, api
// and ki, and ac is compared in constant time (ErrLUKMismatch). The
// validity of the key (Validity.Check) is the caller's other check.
func VerifyLUKAC(mk keys.Key, api uint16, ki KeyIndex, tags cryptogram.Source, ac []byte) error {
	if len(ac) != cryptogram.ACLength {
		return fmt.Errorf("%w: cryptogram is %d bytes, want %d", ErrInput, len(ac), cryptogram.ACLength)
	}
	d, iad, err := data(tags, CVNVisaCloud)
	if err != nil {
		return err
	}
	if iad.KeyIndex != ki {
		return fmt.Errorf("%w: 9F10 names key %v, want %v", ErrKeyIndex, iad.KeyIndex, ki)
	}
	luk, err := DeriveLUK(mk, api, ki)
	if err != nil {
		return err
	}
	want, err := cryptogram.ComputeAC(luk, d, Padding)
	if err != nil {
		return err
	}
	if !mac.Equal(want, ac) {
		return ErrLUKMismatch
	}
	return nil
}
