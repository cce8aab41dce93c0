package authz

import (
	"fmt"
	"slices"

	"github.com/tapsim/tapsim/emv/cryptogram"
)

// Field names a datum of an authorisation request for the coverage table:
// an EMV tag of DE55 in upper-case hex ("9F02"), a part of Issuer
// Application Data ("9F10.CVR"), or an ISO 8583 data element ("DE48.05").
type Field string

// Parts of Issuer Application Data (9F10) and other fields the coverage
// table names.
const (
	// FieldIAD is the whole of 9F10.
	FieldIAD Field = "9F10"
	// FieldCVR is the Card Verification Results in 9F10, with this
	// project's CDCVM flag (see cvrCDCVM).
	FieldCVR Field = "9F10.CVR"
	// FieldCounters is the 8 counter bytes of the Mastercard and CCD
	// layouts.
	FieldCounters Field = "9F10.counters"
	// FieldDeviceBinding is the device binding ('D1' and the device ID) in
	// the issuer-discretionary part of 9F10 (R-S5d).
	FieldDeviceBinding Field = "9F10.device"
	// FieldCVMResults is the terminal's CVM Results (9F34).
	FieldCVMResults Field = "9F34"
	// FieldCTQ is the Visa Card Transaction Qualifiers (9F6C).
	FieldCTQ Field = "9F6C"
	// FieldTokenRequestor is the Token Requestor ID (9F19).
	FieldTokenRequestor Field = "9F19"
	// FieldPrivateRequestor, FieldPrivateDevice and FieldPrivateCDCVM are
	// the token requestor ID, device ID and CDCVM flag of the private field
	// (DE48 subelements 02, 04 and 05).
	FieldPrivateRequestor Field = "DE48.02"
	FieldPrivateDevice    Field = "DE48.04"
	FieldPrivateCDCVM     Field = "DE48.05"
)

// TagField is the Field of an EMV tag.
func TagField(tag uint32) Field { return Field(fmt.Sprintf("%X", tag)) }

// Covered returns the fields the application cryptogram of CVN name
// (visa10, visa18, visa22, mc16, mc17, mc20, mc21, aes) covers, hence the
// fields the issuer may trust once the ARQC verified: the minimum data set
// of EMV Book 2 section 8.1.1 (9F02, 9F03, 9F1A, 95, 5F2A, 9A, 9C, 9F37,
// 82, 9F36) for every CVN, then by the CVN's composition:
//
//	CVN     9F10 covered                   CVR (CDCVM)  counters  device binding
//	visa10  CVR only                       yes          -         no
//	visa18  whole 9F10                     yes          -         yes
//	visa22  whole 9F10                     yes          -         yes
//	mc16    CVR only                       yes          no        no
//	mc17    CVR + counters                 yes          yes       no
//	mc20    CVR only                       yes          no        no
//	mc21    CVR + counters                 yes          yes       no
//	aes     whole 9F10                     yes          yes       yes
//
// Nothing else of DE55 or of the message is covered: 9F34, 9F6C, 9F19,
// 9F27 and every ISO 8583 field (DE3, DE4, DE13, DE48 ...) are advisory
// (Advisory). DE4, DE49, DE3 and DE13 are compared with 9F02, 5F2A, 9C and
// 9A after the cryptogram verified; a CDCVM or PIN claim is compared with
// the CVR and the PIN block; a device claim with the authenticated device.
// The same table is in COVERAGE.md.
func Covered(name string) ([]Field, error) {
	cvn, err := cryptogram.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("authz: coverage: %w", err)
	}
	out := make([]Field, 0, 14)
	for _, tag := range cryptogram.MinimumDataSet() {
		out = append(out, TagField(tag))
	}
	switch cvn.Compose {
	case cryptogram.ComposeCVR:
		out = append(out, FieldCVR)
	case cryptogram.ComposeCVRCounters:
		out = append(out, FieldCVR, FieldCounters)
	case cryptogram.ComposeIAD:
		out = append(out, FieldIAD, FieldCVR)
		if cvn.Scheme != cryptogram.SchemeVisa {
			out = append(out, FieldCounters)
		}
		out = append(out, FieldDeviceBinding)
	}
	return out, nil
}

// Covers reports whether the cryptogram of CVN name covers field f; false
// for an unknown CVN.
func Covers(name string, f Field) bool {
	fs, err := Covered(name)
	return err == nil && slices.Contains(fs, f)
}

// Advisory returns the fields the engine reads that no CVN covers: each is
// taken as a claim, and a claim the covered data contradict declines.
func Advisory() []Field {
	return []Field{FieldCVMResults, FieldCTQ, FieldTokenRequestor, FieldPrivateRequestor, FieldPrivateDevice, FieldPrivateCDCVM,
		"DE3", "DE4", "DE13", "DE18", "DE22", "DE25", "DE42", "DE49"}
}

// coversDeviceBinding reports whether cvn's cryptogram covers the device
// binding in 9F10.
func coversDeviceBinding(cvn *cryptogram.CVN) bool { return cvn.Compose == cryptogram.ComposeIAD }
