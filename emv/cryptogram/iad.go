package cryptogram

import (
	"fmt"
	"strings"
)

// Scheme is the family whose Issuer Application Data (9F10) layout a CVN
// follows.
type Scheme int

const (
	// SchemeVisa is the Visa layout (VIS): format 0/1/3 starts with the
	// length '06', then DKI, CVN and a 4-byte CVR whose first byte is its
	// length '03'; format 2/4 starts with the length '1F', then CVN, DKI and
	// a 5-byte CVR.
	SchemeVisa Scheme = iota + 1
	// SchemeMastercard is the M/Chip layout: DKI, CVN, 6-byte CVR, 2-byte
	// DAC/IDN, then for some CVNs 8 bytes of counters.
	SchemeMastercard
	// SchemeCCD is the EMV Common Core Definitions layout (EMV Book 3 Annex
	// C7): length '0F', Common Core Identifier (the CVN byte), DKI, 5-byte
	// CVR, 8 bytes of counters, then optionally length '0F' and 15 bytes of
	// issuer-discretionary data.
	SchemeCCD
)

// String names the scheme.
func (s Scheme) String() string {
	switch s {
	case SchemeVisa:
		return "visa"
	case SchemeMastercard:
		return "mastercard"
	case SchemeCCD:
		return "ccd"
	}
	return fmt.Sprintf("Scheme(%d)", int(s))
}

// ParseScheme reads "visa", "mastercard" (also "mc") or "ccd" (also "emv").
func ParseScheme(s string) (Scheme, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "visa":
		return SchemeVisa, nil
	case "mastercard", "mc":
		return SchemeMastercard, nil
	case "ccd", "emv":
		return SchemeCCD, nil
	}
	return 0, fmt.Errorf("%w: unknown scheme %q", ErrIAD, s)
}

// IAD is Issuer Application Data (tag 9F10) split by its scheme's layout.
// The byte slices alias the parsed input.
type IAD struct {
	Scheme   Scheme
	Format   byte   // Visa: 0 for format 0/1/3, 2 for format 2/4; CCD: 'A'; Mastercard: 0
	DKI      byte   // Derivation Key Index
	CVN      byte   // Cryptogram Version Number (CCD: Common Core Identifier)
	CVR      []byte // Card Verification Results as the CVN feeds them to the cryptogram
	DAC      []byte // Mastercard: Data Authentication Code or ICC Dynamic Number (2 bytes)
	Counters []byte // Mastercard and CCD: the 8 counter bytes, nil when absent
	Raw      []byte // the whole 9F10 value
}

// ParseIAD splits Issuer Application Data by the layout of scheme. It never
// reads past iad and returns an error wrapping ErrIAD when iad is too short
// for its layout or is not of a known format:
//
//	Visa 0/1/3:  06 | DKI | CVN | CVR (4: 03 + 3 bytes) [| IDD ...]
//	Visa 2/4:    1F | CVN | DKI | CVR (5) | ... (32 bytes in all)
//	Mastercard:  DKI | CVN | CVR (6) | DAC/IDN (2) [| counters (8)]
//	CCD:         0F | CCI (CVN) | DKI | CVR (5) | counters (8) [| 0F | IDD (15)]
func ParseIAD(scheme Scheme, iad []byte) (IAD, error) {
	if len(iad) > maxIADLength {
		return IAD{}, fmt.Errorf("%w: %d bytes, at most %d", ErrIAD, len(iad), maxIADLength)
	}
	out := IAD{Scheme: scheme, Raw: iad}
	switch scheme {
	case SchemeVisa:
		if len(iad) < 1 {
			return IAD{}, fmt.Errorf("%w: empty", ErrIAD)
		}
		switch iad[0] {
		case 0x06:
			if len(iad) < 7 {
				return IAD{}, fmt.Errorf("%w: Visa format 0/1/3 needs 7 bytes, got %d", ErrIAD, len(iad))
			}
			if iad[3] != 0x03 {
				return IAD{}, fmt.Errorf("%w: Visa format 0/1/3 CVR length byte is %02X, want 03", ErrIAD, iad[3])
			}
			out.Format, out.DKI, out.CVN, out.CVR = 0, iad[1], iad[2], iad[3:7]
		case 0x1F:
			if len(iad) < 32 {
				return IAD{}, fmt.Errorf("%w: Visa format 2/4 needs 32 bytes, got %d", ErrIAD, len(iad))
			}
			out.Format, out.CVN, out.DKI, out.CVR = 2, iad[1], iad[2], iad[3:8]
		default:
			return IAD{}, fmt.Errorf("%w: Visa layout starts with 06 or 1F, got %02X", ErrIAD, iad[0])
		}
	case SchemeMastercard:
		if len(iad) < 10 {
			return IAD{}, fmt.Errorf("%w: Mastercard layout needs at least 10 bytes, got %d", ErrIAD, len(iad))
		}
		out.DKI, out.CVN, out.CVR, out.DAC = iad[0], iad[1], iad[2:8], iad[8:10]
		if len(iad) >= 18 {
			out.Counters = iad[10:18]
		}
	case SchemeCCD:
		if len(iad) < 16 {
			return IAD{}, fmt.Errorf("%w: CCD layout needs at least 16 bytes, got %d", ErrIAD, len(iad))
		}
		if iad[0] != 0x0F {
			return IAD{}, fmt.Errorf("%w: CCD layout starts with 0F, got %02X", ErrIAD, iad[0])
		}
		if len(iad) > 16 && (len(iad) != 32 || iad[16] != 0x0F) {
			return IAD{}, fmt.Errorf("%w: CCD issuer-discretionary part must be 0F and 15 bytes", ErrIAD)
		}
		out.Format, out.CVN, out.DKI, out.CVR, out.Counters = 'A', iad[1], iad[2], iad[3:8], iad[8:16]
	default:
		return IAD{}, fmt.Errorf("%w: unknown scheme %d", ErrIAD, int(scheme))
	}
	return out, nil
}
