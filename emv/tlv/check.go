package tlv

import "fmt"

// Check reports whether Decode accepts b: it returns the error Decode
// would, or nil, without building the list or copying b.
func Check(b []byte) error { return Decoder{}.Check(b) }

// Check reports whether d.Decode accepts b: it returns the error d.Decode
// would, or nil, without building the list or copying b.
func (d Decoder) Check(b []byte) error {
	if err := d.checkRange(b, 0, len(b), 0); err != nil {
		return err
	}
	return nil
}

// checkRange walks the objects in b[start:end] as decodeRange decodes
// them.
func (d Decoder) checkRange(b []byte, start, end, depth int) *DecodeError {
	b = b[:end]
	off := start
	for off < end {
		if d.isPadding(b[off]) {
			off++
			continue
		}
		tag, vstart, n, err := readHeader(b, off)
		if err != nil {
			return err
		}
		if tag.Constructed() && n > 0 {
			if depth >= d.maxDepth() {
				return &DecodeError{Offset: off, Tag: tag, Err: ErrDepth,
					detail: fmt.Sprintf("more than %d nested templates", d.maxDepth())}
			}
			if err := d.checkRange(b, vstart, vstart+n, depth+1); err != nil {
				return err
			}
		}
		off = vstart + n
	}
	return nil
}
