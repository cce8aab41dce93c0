package tlv

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Tag is a BER-TLV tag as EMV Book 3 Annex B codes it, read as a big-endian
// number: the two tag bytes '9F' '02' are Tag(0x9F02). Tags of up to four
// bytes are representable.
type Tag uint32

// maxTagLen is the longest tag field accepted, in bytes.
const maxTagLen = 4

// Class is the class of a tag, coded in bits 8-7 of its first byte.
type Class uint8

const (
	// ClassUniversal is class 00 (ASN.1 universal).
	ClassUniversal Class = iota
	// ClassApplication is class 01 (e.g. '5A', '6F', '70').
	ClassApplication
	// ClassContextSpecific is class 10 (e.g. '82', '9F02', 'A5', 'BF0C').
	ClassContextSpecific
	// ClassPrivate is class 11 (e.g. 'DF8129', 'FF8105').
	ClassPrivate
)

// String names the class.
func (c Class) String() string {
	switch c {
	case ClassUniversal:
		return "universal"
	case ClassApplication:
		return "application"
	case ClassContextSpecific:
		return "context-specific"
	case ClassPrivate:
		return "private"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// Len is the number of bytes of the tag field (1 to 4).
func (t Tag) Len() int {
	switch {
	case t > 0xFFFFFF:
		return 4
	case t > 0xFFFF:
		return 3
	case t > 0xFF:
		return 2
	}
	return 1
}

// Bytes returns the tag field as it is coded on the wire.
func (t Tag) Bytes() []byte { return t.appendTo(make([]byte, 0, maxTagLen)) }

func (t Tag) appendTo(dst []byte) []byte {
	for i := t.Len() - 1; i >= 0; i-- {
		dst = append(dst, byte(t>>(8*i)))
	}
	return dst
}

// String gives the tag in upper-case hex, two digits per byte ("9F02").
func (t Tag) String() string { return fmt.Sprintf("%0*X", 2*t.Len(), uint32(t)) }

func (t Tag) first() byte { return byte(t >> (8 * (t.Len() - 1))) }

// Class returns the tag's class (bits 8-7 of the first byte).
func (t Tag) Class() Class { return Class(t.first() >> 6) }

// Constructed reports whether the tag marks a constructed data object (a
// template whose value is itself BER-TLV coded): bit 6 of the first byte.
func (t Tag) Constructed() bool { return t.first()&0x20 != 0 }

// Valid reports whether t is a well-formed tag field: a single byte whose
// bits 5-1 are not all set, or a first byte with bits 5-1 all set followed by
// subsequent bytes that have bit 8 set except the last. Tag 0 is not valid.
func (t Tag) Valid() bool {
	if t == 0 {
		return false
	}
	b := t.Bytes()
	if b[0]&0x1F != 0x1F {
		return len(b) == 1
	}
	if len(b) < 2 {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c&0x80 == 0 {
			return false
		}
	}
	return b[len(b)-1]&0x80 == 0
}

// ParseTag reads a tag written in hex ("9F02", "9f02", "df 81 29").
func ParseTag(s string) (Tag, error) {
	h := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 || len(b) > maxTagLen || b[0] == 0 {
		return 0, fmt.Errorf("%w: %q is not a tag in hex", ErrTag, s)
	}
	var t Tag
	for _, c := range b {
		t = t<<8 | Tag(c)
	}
	if !t.Valid() {
		return 0, fmt.Errorf("%w: %q is not a well-formed BER-TLV tag", ErrTag, s)
	}
	return t, nil
}

// MustTag is ParseTag for constants in tests and examples; it panics on error.
func MustTag(s string) Tag {
	t, err := ParseTag(s)
	if err != nil {
		panic(err)
	}
	return t
}
