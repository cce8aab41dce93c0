// Package tlv reads and writes the BER-TLV data objects of EMV (Book 3
// Annex B), builds and splits Data Object Lists (Book 3 section 5.4), names
// the data elements of an EMV contactless transaction in a tag dictionary and
// prints TLV data as an indented tree for traces, with cardholder data masked.
//
// Decoding never reads past its input and never panics: malformed data gives
// a *DecodeError carrying the byte offset and one of the sentinel errors.
package tlv

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

var (
	// ErrTruncated reports a tag, length or value running past the end of
	// the input (or of the enclosing template).
	ErrTruncated = errors.New("tlv: truncated")
	// ErrLength reports a length field EMV does not allow: more than two
	// subsequent length bytes ('83' and above), or a value too long to encode.
	ErrLength = errors.New("tlv: bad length")
	// ErrIndefiniteLength reports the BER indefinite length form '80', which
	// EMV does not use.
	ErrIndefiniteLength = errors.New("tlv: indefinite length")
	// ErrTag reports a malformed or unusable tag.
	ErrTag = errors.New("tlv: bad tag")
	// ErrDepth reports templates nested deeper than the decoder allows.
	ErrDepth = errors.New("tlv: templates nested too deep")
)

// DecodeError describes malformed input: where it is and what is wrong.
type DecodeError struct {
	// Offset is the byte offset in the input of the malformed field: the tag
	// field, the length field, or the value field that runs short.
	Offset int
	// Tag is the tag of the object being read, or 0 if the tag itself could
	// not be read.
	Tag Tag
	// Err is one of ErrTruncated, ErrLength, ErrIndefiniteLength, ErrTag,
	// ErrDepth.
	Err error

	detail string
}

// Error describes the problem. It never contains values from the input.
func (e *DecodeError) Error() string {
	s := fmt.Sprintf("%v at offset %d", e.Err, e.Offset)
	if e.Tag != 0 {
		s += fmt.Sprintf(" (tag %v)", e.Tag)
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *DecodeError) Unwrap() error { return e.Err }

// DefaultMaxDepth is the template nesting Decode accepts. EMV responses nest
// at most five deep ('6F' > 'A5' > 'BF0C' > '61' > '73').
const DefaultMaxDepth = 16

// TLV is one data object. For a primitive tag, Value is the value field and
// Children is empty. For a constructed tag (a template) that was decoded,
// Value is the raw value field and Children the objects decoded from it.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children []TLV
}

// List is a sequence of data objects, in the order they were coded.
type List []TLV

// Decoder holds decoding options. The zero value decodes the way EMV Book 3
// Annex B describes card data.
type Decoder struct {
	// MaxDepth caps template nesting; 0 means DefaultMaxDepth.
	MaxDepth int
	// FFTags makes a byte 'FF' where a tag may start the first byte of a tag
	// instead of padding. Card data pads with '00' and 'FF' (ISO/IEC 7816-4),
	// but the kernel-to-terminal data of Book C-2 uses tags 'FF8101' to
	// 'FF8106' (Torn Record, Data To Send, Data Record...).
	FFTags bool
}

// Decode decodes b with the default options (see Decoder).
func Decode(b []byte) (List, error) { return Decoder{}.Decode(b) }

// Decode decodes b into a list of data objects. Constructed objects are
// decoded recursively. Bytes '00' (and 'FF' unless FFTags is set) before,
// between and after objects are padding and skipped. The result holds its
// own copy of the data: later changes to b do not affect it. On error the
// list is nil and the error is a *DecodeError.
func (d Decoder) Decode(b []byte) (List, error) {
	l, err := d.decode(b, false)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// decode decodes b. On error it also returns what was decoded before the
// error: templates being decoded hold the children read so far, and with
// partial set a template running past the end of its input holds the
// children decoded from the bytes that are there.
func (d Decoder) decode(b []byte, partial bool) (List, error) {
	return d.decodeRange(bytes.Clone(b), 0, len(b), 0, partial)
}

func (d Decoder) maxDepth() int {
	if d.MaxDepth > 0 {
		return d.MaxDepth
	}
	return DefaultMaxDepth
}

func (d Decoder) isPadding(c byte) bool { return c == 0x00 || (c == 0xFF && !d.FFTags) }

// decodeRange decodes the objects in b[start:end]; nothing outside that range
// is read.
func (d Decoder) decodeRange(b []byte, start, end, depth int, partial bool) (List, error) {
	b = b[:end]
	var out List
	if n := d.count(b, start, end); n > 0 {
		out = make(List, 0, n)
	}
	off := start
	for off < end {
		if d.isPadding(b[off]) {
			off++
			continue
		}
		tag, vstart, n, err := readHeader(b, off)
		if err != nil {
			if partial && err.Err == ErrTruncated && vstart > 0 && tag.Constructed() && depth < d.maxDepth() {
				obj := TLV{Tag: tag, Value: b[vstart:end:end]}
				obj.Children, _ = d.decodeRange(b, vstart, end, depth+1, partial)
				out = append(out, obj)
			}
			return out, err
		}
		obj := TLV{Tag: tag, Value: b[vstart : vstart+n : vstart+n]}
		if tag.Constructed() && n > 0 {
			if depth >= d.maxDepth() {
				return out, &DecodeError{Offset: off, Tag: tag, Err: ErrDepth,
					detail: fmt.Sprintf("more than %d nested templates", d.maxDepth())}
			}
			var cerr error
			obj.Children, cerr = d.decodeRange(b, vstart, vstart+n, depth+1, partial)
			if cerr != nil {
				return append(out, obj), cerr
			}
		}
		out = append(out, obj)
		off = vstart + n
	}
	return out, nil
}

// count returns how many objects decodeRange finds at the top level of
// b[start:end], counting one that does not decode (with which it stops),
// so that the list is allocated once.
func (d Decoder) count(b []byte, start, end int) int {
	n := 0
	for off := start; off < end; {
		if d.isPadding(b[off]) {
			off++
			continue
		}
		_, vstart, l, err := readHeader(b, off)
		n++
		if err != nil {
			return n
		}
		off = vstart + l
	}
	return n
}

// readHeader reads the tag and length fields of the object at b[off:] and
// checks that its value fits in b. It returns the tag, the offset of the
// value and the value length; when only the value runs short, the error
// comes with all three.
func readHeader(b []byte, off int) (Tag, int, int, *DecodeError) {
	tag, p, err := readTag(b, off)
	if err != nil {
		return 0, 0, 0, err
	}
	n, vstart, err := readLength(b, p)
	if err != nil {
		err.Tag = tag
		return 0, 0, 0, err
	}
	if n > len(b)-vstart {
		return tag, vstart, n, &DecodeError{Offset: vstart, Tag: tag, Err: ErrTruncated,
			detail: fmt.Sprintf("value needs %d bytes, %d left", n, len(b)-vstart)}
	}
	return tag, vstart, n, nil
}

// readTag reads the tag field at b[off:]; off < len(b).
func readTag(b []byte, off int) (Tag, int, *DecodeError) {
	first := b[off]
	t := Tag(first)
	p := off + 1
	if first&0x1F != 0x1F {
		return t, p, nil
	}
	for {
		if p >= len(b) {
			return 0, 0, &DecodeError{Offset: off, Err: ErrTruncated, detail: "tag field cut short"}
		}
		if p-off >= maxTagLen {
			return 0, 0, &DecodeError{Offset: off, Err: ErrTag,
				detail: fmt.Sprintf("tag field longer than %d bytes", maxTagLen)}
		}
		c := b[p]
		t = t<<8 | Tag(c)
		p++
		if c&0x80 == 0 {
			return t, p, nil
		}
	}
}

// readLength reads the length field at b[off:] as Book 3 Annex B codes it:
// one byte up to 127, or '81' and one byte, or '82' and two bytes.
func readLength(b []byte, off int) (int, int, *DecodeError) {
	if off >= len(b) {
		return 0, 0, &DecodeError{Offset: off, Err: ErrTruncated, detail: "length field missing"}
	}
	c := b[off]
	switch {
	case c < 0x80:
		return int(c), off + 1, nil
	case c == 0x80:
		return 0, 0, &DecodeError{Offset: off, Err: ErrIndefiniteLength}
	case c == 0x81 || c == 0x82:
		k := int(c & 0x7F)
		if len(b)-off-1 < k {
			return 0, 0, &DecodeError{Offset: off, Err: ErrTruncated, detail: "length field cut short"}
		}
		n := 0
		for _, x := range b[off+1 : off+1+k] {
			n = n<<8 | int(x)
		}
		return n, off + 1 + k, nil
	}
	return 0, 0, &DecodeError{Offset: off, Err: ErrLength,
		detail: fmt.Sprintf("length field of %d bytes, at most 3 allowed", 1+int(c&0x7F))}
}

// maxValueLen is the longest value a three-byte length field can code.
const maxValueLen = 0xFFFF

// appendLength appends the shortest length field for n.
func appendLength(dst []byte, n int) ([]byte, error) {
	switch {
	case n < 0 || n > maxValueLen:
		return nil, fmt.Errorf("%w: value of %d bytes (at most %d)", ErrLength, n, maxValueLen)
	case n < 0x80:
		return append(dst, byte(n)), nil
	case n <= 0xFF:
		return append(dst, 0x81, byte(n)), nil
	}
	return append(dst, 0x82, byte(n>>8), byte(n)), nil
}

// Encode codes the object with the shortest length fields. A constructed
// object with Children is coded from its children (Value is then ignored);
// without Children its Value is written as is.
func (t TLV) Encode() ([]byte, error) { return t.appendTo(nil, 0) }

func (t TLV) appendTo(dst []byte, depth int) ([]byte, error) {
	if !t.Tag.Valid() {
		return nil, fmt.Errorf("%w: %v is not a well-formed BER-TLV tag", ErrTag, t.Tag)
	}
	value := t.Value
	if len(t.Children) > 0 {
		if !t.Tag.Constructed() {
			return nil, fmt.Errorf("%w: primitive tag %v cannot have children", ErrTag, t.Tag)
		}
		if depth >= DefaultMaxDepth {
			return nil, fmt.Errorf("%w: more than %d nested templates", ErrDepth, DefaultMaxDepth)
		}
		var err error
		if value, err = List(t.Children).appendTo(nil, depth+1); err != nil {
			return nil, err
		}
	}
	dst = t.Tag.appendTo(dst)
	dst, err := appendLength(dst, len(value))
	if err != nil {
		return nil, fmt.Errorf("tlv: encode %v: %w", t.Tag, err)
	}
	return append(dst, value...), nil
}

// Encode codes the objects one after the other.
func (l List) Encode() ([]byte, error) { return l.appendTo(nil, 0) }

func (l List) appendTo(dst []byte, depth int) ([]byte, error) {
	for _, t := range l {
		var err error
		if dst, err = t.appendTo(dst, depth); err != nil {
			return nil, err
		}
	}
	if dst == nil {
		dst = []byte{}
	}
	return dst, nil
}

// Encode codes one primitive data object.
func Encode(tag Tag, value []byte) ([]byte, error) {
	return TLV{Tag: tag, Value: value}.Encode()
}

// EncodeConstructed codes a template holding children; tag must be a
// constructed tag.
func EncodeConstructed(tag Tag, children ...TLV) ([]byte, error) {
	if !tag.Valid() || !tag.Constructed() {
		return nil, fmt.Errorf("%w: %v is not a constructed tag", ErrTag, tag)
	}
	if len(children) == 0 {
		return TLV{Tag: tag}.Encode()
	}
	return TLV{Tag: tag, Children: children}.Encode()
}

// Find returns the first object with the tag, searching depth first: each
// object, then inside it if it is a template, then the next.
func (l List) Find(tag Tag) (TLV, bool) {
	for _, t := range l {
		if t.Tag == tag {
			return t, true
		}
		if f, ok := List(t.Children).Find(tag); ok {
			return f, true
		}
	}
	return TLV{}, false
}

// FindAll returns every object with the tag, in depth-first order.
func (l List) FindAll(tag Tag) []TLV {
	var out []TLV
	l.walk(func(t TLV) {
		if t.Tag == tag {
			out = append(out, t)
		}
	})
	return out
}

func (l List) walk(fn func(TLV)) {
	for _, t := range l {
		fn(t)
		List(t.Children).walk(fn)
	}
}

// Map is a flat view of primitive data objects by tag, the form kernels and
// issuer hosts look values up in.
type Map map[Tag][]byte

// Map flattens the primitive objects of l and of every template in it. When
// a tag occurs more than once, the first in depth-first order is kept.
// Values are shared with l.
func (l List) Map() Map {
	m := Map{}
	l.walk(func(t TLV) {
		if t.Tag.Constructed() {
			return
		}
		if _, seen := m[t.Tag]; !seen {
			m[t.Tag] = t.Value
		}
	})
	return m
}

// Lookup returns the value of tag; its signature fits BuildDOL's source.
func (m Map) Lookup(tag Tag) ([]byte, bool) {
	v, ok := m[tag]
	return v, ok
}

// Tags returns the tags of m in ascending order.
func (m Map) Tags() []Tag {
	tags := make([]Tag, 0, len(m))
	for t := range m {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}
