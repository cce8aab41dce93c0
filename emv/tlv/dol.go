package tlv

import (
	"fmt"
	"strings"
)

// DOLEntry is one entry of a Data Object List: a tag and the number of bytes
// its value takes in the command data.
type DOLEntry struct {
	Tag Tag
	Len int
}

// DOL is a Data Object List (PDOL, CDOL1, CDOL2, DDOL, TDOL, UDOL, DRDOL):
// EMV Book 3 section 5.4.
type DOL []DOLEntry

// ParseDOL reads a DOL: each entry is a BER-TLV tag followed by a one-byte
// length (Book 3 section 5.4). Malformed input gives a *DecodeError.
func ParseDOL(b []byte) (DOL, error) {
	var d DOL
	off := 0
	for off < len(b) {
		if b[off] == 0x00 {
			return nil, &DecodeError{Offset: off, Err: ErrTag, detail: "tag byte '00' in a DOL"}
		}
		tag, p, err := readTag(b, off)
		if err != nil {
			return nil, err
		}
		if p >= len(b) {
			return nil, &DecodeError{Offset: p, Tag: tag, Err: ErrTruncated, detail: "DOL entry has no length byte"}
		}
		d = append(d, DOLEntry{Tag: tag, Len: int(b[p])})
		off = p + 1
	}
	return d, nil
}

// DataLen is the length of the data the DOL asks for: the sum of its entries'
// lengths.
func (d DOL) DataLen() int {
	total := 0
	for _, e := range d {
		total += e.Len
	}
	return total
}

// Encode codes the DOL, each entry as its tag and a one-byte length.
func (d DOL) Encode() ([]byte, error) {
	out := []byte{}
	for _, e := range d {
		if !e.Tag.Valid() {
			return nil, fmt.Errorf("%w: %v is not a well-formed BER-TLV tag", ErrTag, e.Tag)
		}
		if e.Len < 0 || e.Len > 0xFF {
			return nil, fmt.Errorf("%w: DOL entry %v asks for %d bytes (at most 255)", ErrLength, e.Tag, e.Len)
		}
		out = append(e.Tag.appendTo(out), byte(e.Len))
	}
	return out, nil
}

// String lists the entries as tag and decimal length: "9F02(6) 9F37(4)".
func (d DOL) String() string {
	parts := make([]string, len(d))
	for i, e := range d {
		parts[i] = fmt.Sprintf("%v(%d)", e.Tag, e.Len)
	}
	return strings.Join(parts, " ")
}

// BuildDOL builds the data a DOL asks for (e.g. the PDOL Related Data of GET
// PROCESSING OPTIONS or the CDOL1 Related Data of GENERATE AC), taking values
// from source and formats from the general tag dictionary. See BuildDOLFor.
func BuildDOL(entries DOL, source func(Tag) ([]byte, bool)) []byte {
	return BuildDOLFor(KernelAny, entries, source)
}

// BuildDOLFor builds DOL related data with the rules of EMV Book 3 section
// 5.4, using the tag formats of kernel k:
//   - a constructed tag, or a tag source does not have, gives zeros of the
//     entry's length;
//   - a longer value is truncated: format n keeps its rightmost bytes (leading
//     bytes are removed), all other formats keep their leftmost bytes;
//   - a shorter value is padded: format n with leading '00' bytes, format cn
//     with trailing 'FF' bytes, all other formats (b, an, ans, unknown tags)
//     with trailing '00' bytes.
func BuildDOLFor(k Kernel, entries DOL, source func(Tag) ([]byte, bool)) []byte {
	out := make([]byte, 0, entries.DataLen())
	for _, e := range entries {
		if e.Len <= 0 {
			continue
		}
		var v []byte
		ok := false
		if !e.Tag.Constructed() && source != nil {
			v, ok = source(e.Tag)
		}
		if !ok {
			out = append(out, make([]byte, e.Len)...)
			continue
		}
		format := FormatB
		if in, known := LookupFor(e.Tag, k); known {
			format = in.Format
		}
		out = append(out, fit(v, e.Len, format)...)
	}
	return out
}

// fit truncates or pads v to n bytes for format f (Book 3 section 5.4).
func fit(v []byte, n int, f Format) []byte {
	switch {
	case len(v) == n:
		return v
	case len(v) > n:
		if f == FormatN {
			return v[len(v)-n:]
		}
		return v[:n]
	}
	out := make([]byte, n)
	pad := n - len(v)
	switch f {
	case FormatN:
		copy(out[pad:], v)
	case FormatCN:
		copy(out, v)
		for i := len(v); i < n; i++ {
			out[i] = 0xFF
		}
	default:
		copy(out, v)
	}
	return out
}

// Split cuts DOL related data (as a card receives it in GET PROCESSING
// OPTIONS or GENERATE AC) back into one data object per entry, in DOL order.
// data must be exactly DataLen bytes long.
func (d DOL) Split(data []byte) (List, error) {
	for _, e := range d {
		if e.Len < 0 {
			return nil, fmt.Errorf("%w: DOL entry %v has negative length", ErrLength, e.Tag)
		}
	}
	if len(data) != d.DataLen() {
		return nil, fmt.Errorf("%w: DOL asks for %d bytes, data has %d", ErrLength, d.DataLen(), len(data))
	}
	out := make(List, 0, len(d))
	off := 0
	for _, e := range d {
		v := make([]byte, e.Len)
		copy(v, data[off:off+e.Len])
		out = append(out, TLV{Tag: e.Tag, Value: v})
		off += e.Len
	}
	return out, nil
}
