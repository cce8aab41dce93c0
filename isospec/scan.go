package isospec

import "fmt"

// span locates one field in a frame: the length prefix starts at start, the
// content runs from val to end.
type span struct {
	id              int
	start, val, end int
}

// maxFields is the most fields a frame can hold: each field of the
// dialect once.
const maxFields = len(fieldDefs)

// layout is the structure of a frame as scan found it. It holds its spans
// in place, so that a layout on the stack costs no allocation.
type layout struct {
	mti       []byte
	bitmap    []byte // 8 or 16 bytes
	secondary bool
	n         int
	spans     [maxFields]span
}

// fields returns the spans of the fields read, in field order.
func (l *layout) fields() []span { return l.spans[:l.n] }

// field returns the span of field id, if present.
func (l *layout) field(id int) (span, bool) {
	for _, s := range l.fields() {
		if s.id == id {
			return s, true
		}
	}
	return span{}, false
}

// bitSet reports whether ISO bit n (1-based, MSB first) is set in bm.
func bitSet(bm []byte, n int) bool {
	i := n - 1
	if n < 1 || i/8 >= len(bm) {
		return false
	}
	return bm[i/8]&(0x80>>(i%8)) != 0
}

// scan walks a frame (length header excluded) field by field without
// trusting anything in it: every read is bounds-checked, every length prefix
// and every character checked against the dialect. On error it also returns
// what it read before the problem, in l.
func scan(b []byte, l *layout) error {
	*l = layout{}
	if len(b) < 4 {
		return fieldErr(0, 0, ErrTruncated, fmt.Sprintf("%d bytes, need 4", len(b)))
	}
	if i := firstBad(b[:4], FormatN); i >= 0 {
		return fieldErr(0, i, ErrCharset, "not a digit")
	}
	l.mti = b[:4]
	off := 4
	if len(b)-off < 8 {
		return fieldErr(1, off, ErrTruncated, "primary bitmap")
	}
	bmLen := 8
	if b[off]&0x80 != 0 {
		bmLen = 16
		l.secondary = true
		if len(b)-off < 16 {
			return fieldErr(1, off+8, ErrTruncated, "secondary bitmap")
		}
	}
	bm := b[off : off+bmLen]
	if l.secondary {
		if bm[8]&0x80 != 0 {
			return fieldErr(1, off+8, ErrBitmap, "bit 65 set: no tertiary bitmap in this dialect")
		}
		empty := true
		for _, c := range bm[8:] {
			if c != 0 {
				empty = false
			}
		}
		if empty {
			return fieldErr(1, off+8, ErrBitmap, "secondary bitmap with no field")
		}
	}
	l.bitmap = bm
	off += bmLen
	for id := 2; id <= bmLen*8; id++ {
		if id == 65 || !bitSet(bm, id) {
			continue
		}
		d := defs[id]
		if d == nil {
			return fieldErr(id, off, ErrUndefinedField, "")
		}
		s, err := scanField(b, off, d)
		if err != nil {
			return err
		}
		l.spans[l.n] = s
		l.n++
		off = s.end
	}
	if off != len(b) {
		return fieldErr(-1, off, ErrTrailingData, fmt.Sprintf("%d bytes", len(b)-off))
	}
	return nil
}

// scanField reads field d starting at off.
func scanField(b []byte, off int, d *FieldDef) (span, error) {
	s := span{id: d.ID, start: off}
	n := d.MaxLen
	if p := d.Length.prefixLen(); p > 0 {
		if len(b)-off < p {
			return s, fieldErr(d.ID, off, ErrTruncated, "length prefix")
		}
		if firstBad(b[off:off+p], FormatN) >= 0 {
			return s, fieldErr(d.ID, off, ErrLength, "length prefix not numeric")
		}
		n = 0
		for _, c := range b[off : off+p] {
			n = n*10 + int(c-'0')
		}
		if n < d.MinLen || n > d.MaxLen {
			return s, fieldErr(d.ID, off, ErrLength, fmt.Sprintf("length %d outside %d..%d", n, d.MinLen, d.MaxLen))
		}
		off += p
	}
	s.val = off
	if len(b)-off < n {
		return s, fieldErr(d.ID, off, ErrTruncated, fmt.Sprintf("need %d bytes, %d left", n, len(b)-off))
	}
	s.end = off + n
	if i := firstBad(b[off:s.end], d.Format); i >= 0 {
		return s, fieldErr(d.ID, off+i, ErrCharset, "not "+d.Format.String())
	}
	return s, nil
}

// firstBad returns the index of the first byte of v that format f does not
// allow, or -1.
func firstBad[T ~string | ~[]byte](v T, f Format) int {
	if int(f) >= len(charsets) {
		return min(0, len(v)-1)
	}
	set := &charsets[f]
	for i := 0; i < len(v); i++ {
		if !set[v[i]] {
			return i
		}
	}
	return -1
}

// charsets holds allowed for every format and byte.
var charsets = func() (t [FormatB + 1][256]bool) {
	for f := range t {
		for c := range t[f] {
			t[f][c] = allowed(byte(c), Format(f))
		}
	}
	return t
}()

func allowed(c byte, f Format) bool {
	isDigit := c >= '0' && c <= '9'
	switch f {
	case FormatN:
		return isDigit
	case FormatAN:
		return isDigit || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
	case FormatANS:
		return c >= 0x20 && c <= 0x7E
	case FormatZ:
		return isDigit || c == '='
	case FormatB:
		return true
	}
	return false
}
