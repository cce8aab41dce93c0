package kernel

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/tlv"
)

// Errors of the card data parsers.
var (
	// ErrCardData reports card data that is well-formed BER-TLV but not
	// what EMV requires (a missing template, a duplicated tag, a value of
	// the wrong length).
	ErrCardData = errors.New("kernel: bad card data")
)

// FCI is the File Control Information a card returns to SELECT of an
// application (EMV Book 1 section 11.3.4): template 6F with the DF Name (84)
// and the proprietary template A5.
type FCI struct {
	// DFName is tag 84.
	DFName []byte
	// Label is the Application Label (50).
	Label string
	// Priority is the Application Priority Indicator (87), 0 if absent.
	Priority byte
	// PDOL is the Processing Options Data Object List (9F38); HasPDOL tells
	// an absent PDOL from an empty one.
	PDOL    tlv.DOL
	HasPDOL bool
	// Language is the Language Preference (5F2D).
	Language string
	// Data holds every primitive object of the FCI by tag (including those
	// of the Issuer Discretionary Data BF0C).
	Data tlv.Map
}

// ParseFCI reads the response to SELECT (AID). Malformed BER-TLV gives a
// *tlv.DecodeError; a response without template 6F or A5, or with a
// malformed PDOL, gives ErrCardData.
func ParseFCI(b []byte) (FCI, error) {
	l, err := tlv.Decode(b)
	if err != nil {
		return FCI{}, err
	}
	if len(l) != 1 || l[0].Tag != 0x6F {
		return FCI{}, fmt.Errorf("%w: FCI template 6F missing", ErrCardData)
	}
	fci := l[0].Children
	var f FCI
	if t, ok := findChild(fci, 0x84); ok {
		f.DFName = t.Value
	}
	a5, ok := findChild(fci, 0xA5)
	if !ok {
		return FCI{}, fmt.Errorf("%w: FCI proprietary template A5 missing", ErrCardData)
	}
	if t, ok := findChild(a5.Children, 0x50); ok {
		f.Label = printable(t.Value)
	}
	if t, ok := findChild(a5.Children, 0x87); ok && len(t.Value) == 1 {
		f.Priority = t.Value[0]
	}
	if t, ok := findChild(a5.Children, 0x5F2D); ok {
		f.Language = printable(t.Value)
	}
	if t, ok := findChild(a5.Children, 0x9F38); ok {
		d, err := tlv.ParseDOL(t.Value)
		if err != nil {
			return FCI{}, fmt.Errorf("%w: PDOL: %w", ErrCardData, err)
		}
		f.PDOL, f.HasPDOL = d, true
	}
	f.Data = l.Map()
	return f, nil
}

// DirectoryEntry is one entry (template 61) of the PPSE's FCI Issuer
// Discretionary Data (Book B section 3.3.2).
type DirectoryEntry struct {
	// ADFName is tag 4F.
	ADFName []byte
	// Label is the Application Label (50).
	Label string
	// Priority is the Application Priority Indicator (87); HasPriority
	// tells an absent one from zero.
	Priority    byte
	HasPriority bool
	// KernelIdentifier is tag 9F2A, nil when absent.
	KernelIdentifier []byte
	// ExtendedSelection is tag 9F29, nil when absent.
	ExtendedSelection []byte
	// Order is the entry's position in the PPSE, from 0.
	Order int
}

// ParsePPSE reads the response to SELECT (PPSE): 6F { 84, A5 { BF0C { 61
// ... } } }. Malformed BER-TLV gives a *tlv.DecodeError; a response without
// the templates gives ErrCardData. Entries are returned in PPSE order,
// including malformed ones (the Entry Point skips those).
func ParsePPSE(b []byte) ([]DirectoryEntry, error) {
	l, err := tlv.Decode(b)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 || l[0].Tag != 0x6F {
		return nil, fmt.Errorf("%w: FCI template 6F missing", ErrCardData)
	}
	a5, ok := findChild(l[0].Children, 0xA5)
	if !ok {
		return nil, fmt.Errorf("%w: FCI proprietary template A5 missing", ErrCardData)
	}
	bf0c, ok := findChild(a5.Children, 0xBF0C)
	if !ok {
		return nil, fmt.Errorf("%w: FCI issuer discretionary data BF0C missing", ErrCardData)
	}
	var out []DirectoryEntry
	for _, e := range bf0c.Children {
		if e.Tag != 0x61 {
			continue
		}
		d := DirectoryEntry{Order: len(out)}
		for _, c := range e.Children {
			switch c.Tag {
			case 0x4F:
				d.ADFName = c.Value
			case 0x50:
				d.Label = printable(c.Value)
			case 0x87:
				if len(c.Value) == 1 {
					d.Priority, d.HasPriority = c.Value[0], true
				}
			case 0x9F2A:
				d.KernelIdentifier = c.Value
				if d.KernelIdentifier == nil {
					d.KernelIdentifier = []byte{}
				}
			case 0x9F29:
				d.ExtendedSelection = c.Value
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func findChild(l []tlv.TLV, tag tlv.Tag) (tlv.TLV, bool) {
	for _, t := range l {
		if t.Tag == tag {
			return t, true
		}
	}
	return tlv.TLV{}, false
}

// printable keeps the printable ASCII of an an/ans value.
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}

// CollectUnique adds the primitive objects of l (and of the templates in it)
// to m. It fails with ErrCardData when a tag is already in m: EMV forbids a
// card to return the same primitive data object twice in a transaction (Book
// 3 section 7.5; C-2 and C-3 treat it as an error).
func CollectUnique(m tlv.Map, l []tlv.TLV) error {
	for _, t := range l {
		if t.Tag.Constructed() {
			if err := CollectUnique(m, t.Children); err != nil {
				return err
			}
			continue
		}
		if _, dup := m[t.Tag]; dup {
			return fmt.Errorf("%w: tag %s returned twice", ErrCardData, t.Tag)
		}
		m[t.Tag] = t.Value
	}
	return nil
}
