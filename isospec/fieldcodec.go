package isospec

import (
	"errors"
	"fmt"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
)

// The library's default field packer pads, encodes, encodes the length and
// joins prefix and value, with an allocation at each step (and its ASCII
// encoder grows its output a byte at a time); its binary decoder copies
// the whole rest of the frame for every binary field and bitmap. The
// dialect's field specs plug in the encoders and the packer below instead:
// they produce the same bytes and refuse the same values, with one
// allocation per packed field and none (ASCII) or one of the field's own
// size (binary) per unpacked field.

var (
	errNotASCII = errors.New("invalid ASCII character")
	errNegative = errors.New("negative length")
	errShort    = errors.New("not enough data to decode")
)

// asciiEncoder is encoding.ASCII: bytes above 127 are refused both ways.
// Decode returns a part of its input: every field type of the dialect
// copies what it keeps (a string, a number).
type asciiEncoder struct{}

var _ encoding.Encoder = asciiEncoder{}

func (asciiEncoder) Encode(data []byte) ([]byte, error) {
	if !isASCII(data) {
		return nil, errNotASCII
	}
	return append([]byte(nil), data...), nil
}

func (asciiEncoder) Decode(data []byte, length int) ([]byte, int, error) {
	switch {
	case length < 0:
		return nil, 0, errNegative
	case len(data) < length:
		return nil, 0, errShort
	}
	data = data[:length:length]
	if !isASCII(data) {
		return nil, 0, errNotASCII
	}
	return data, length, nil
}

// binaryEncoder is encoding.Binary, copying only the bytes it decodes:
// binary fields keep the slice they are given.
type binaryEncoder struct{}

var _ encoding.Encoder = binaryEncoder{}

func (binaryEncoder) Encode(data []byte) ([]byte, error) {
	return append([]byte(nil), data...), nil
}

func (binaryEncoder) Decode(data []byte, length int) ([]byte, int, error) {
	switch {
	case length < 0:
		return nil, 0, errNegative
	case len(data) < length:
		return nil, 0, errShort
	}
	return append(make([]byte, 0, length), data[:length]...), length, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c > 127 {
			return false
		}
	}
	return true
}

// fieldPacker packs one field as the library's default packer does with
// the field's spec (padding, encoding, then the fixed length check or the
// ASCII length prefix), into one new slice.
type fieldPacker struct {
	digits int  // ASCII length prefix digits, 0 for a fixed field
	ascii  bool // ASCII encoding, else binary
	pad    byte // padding character, 0 for none
	left   bool // pad on the left
	// owned is set for the string and numeric fields, whose Pack hands
	// the packer a new copy of the value: when that copy is already the
	// packed field, it is returned as is.
	owned bool
}

var _ field.Packer = fieldPacker{}

func (p fieldPacker) Pack(value []byte, spec *field.Spec) ([]byte, error) {
	n := len(value)
	if p.pad != 0 && n < spec.Length {
		n = spec.Length
	}
	if p.ascii && !isASCII(value) {
		return nil, fmt.Errorf("failed to encode content: %w", errNotASCII)
	}
	if p.digits == 0 {
		if n != spec.Length {
			return nil, fmt.Errorf("failed to encode length: field length: %d should be fixed: %d", n, spec.Length)
		}
	} else {
		if n > spec.Length {
			return nil, fmt.Errorf("failed to encode length: field length: %d is larger than maximum: %d", n, spec.Length)
		}
		if n >= pow10(p.digits) {
			return nil, fmt.Errorf("failed to encode length: number of digits in length: %d exceeds: %d", n, p.digits)
		}
	}
	if p.owned && p.digits == 0 && n == len(value) {
		return value, nil
	}
	out := make([]byte, p.digits+n)
	for i, v := p.digits-1, n; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	body := out[p.digits:]
	fill := n - len(value)
	if p.left {
		for i := range fill {
			body[i] = p.pad
		}
		copy(body[fill:], value)
	} else {
		copy(body, value)
		for i := len(value); i < n; i++ {
			body[i] = p.pad
		}
	}
	return out, nil
}

func pow10(n int) int {
	v := 1
	for range n {
		v *= 10
	}
	return v
}
