package isospec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	moverrors "github.com/moov-io/iso8583/errors"
	"github.com/moov-io/iso8583/field"
)

// maxAmount is the largest value of the n12 amount field.
const maxAmount = 999_999_999_999

// NewMessage returns an empty message of the dialect.
func NewMessage() *iso8583.Message { return iso8583.NewMessage(Spec) }

// Pack checks every field of msg against the dialect (format, length,
// character set) and packs it, length header excluded. Errors are
// *FieldError and never contain field contents.
func Pack(msg *iso8583.Message) ([]byte, error) {
	// A message whose fields pass the checks packs to bytes that read back
	// under the dialect's rules (every length, prefix and character is
	// what scan accepts), so the packed bytes need no second look.
	if err := checkFields(msg); err != nil {
		return nil, err
	}
	b, err := msg.Pack()
	if err != nil {
		return nil, fieldErr(moovFieldID(err), -1, ErrValue, "cannot pack")
	}
	return b, nil
}

// Unpack parses one message (length header excluded). The frame is checked
// field by field before it is handed to the library: length prefixes,
// character sets, bitmaps (no tertiary bitmap, no empty secondary one) and
// that nothing follows the last field. It never reads past b and never
// panics. Errors are *FieldError; they never contain field contents.
//
// Unpack checks the syntax only; Validate checks what depends on the
// message type.
func Unpack(b []byte) (*iso8583.Message, error) {
	var l layout
	if err := scan(b, &l); err != nil {
		return nil, err
	}
	msg := NewMessage()
	if err := msg.Unpack(b); err != nil {
		id := -1
		var ue *moverrors.UnpackError
		if errors.As(err, &ue) {
			if n, e := strconv.Atoi(ue.FieldID); e == nil {
				id = n
			}
		}
		return nil, fieldErr(id, -1, ErrValue, "cannot unpack")
	}
	return msg, nil
}

// Encode builds a message from v, a typed message struct (or pointer to
// one) whose fields carry iso8583 tags, and checks every field against the
// dialect as Pack does.
func Encode(v any) (*iso8583.Message, error) {
	msg := NewMessage()
	if !encodeTyped(msg, v) {
		if err := msg.Marshal(v); err != nil {
			return nil, fieldErr(moovFieldID(err), -1, ErrType, "cannot set")
		}
	}
	if err := checkFields(msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// Decode copies the fields of msg into v, a pointer to a typed message
// struct. Fields the message lacks leave v's fields untouched.
func Decode(msg *iso8583.Message, v any) error {
	if msg == nil {
		return fieldErr(-1, -1, ErrType, "nil message")
	}
	if msg.GetSpec() == Spec && decodeTyped(msg, v) {
		return nil
	}
	if err := msg.Unmarshal(v); err != nil {
		return fieldErr(moovFieldID(err), -1, ErrType, "cannot read")
	}
	return nil
}

// Marshal is Encode then Pack.
func Marshal(v any) ([]byte, error) {
	msg, err := Encode(v)
	if err != nil {
		return nil, err
	}
	return Pack(msg)
}

// Unmarshal is Unpack then Decode.
func Unmarshal(b []byte, v any) error {
	msg, err := Unpack(b)
	if err != nil {
		return err
	}
	return Decode(msg, v)
}

// moovFieldID finds the field number in a moov-io/iso8583 error message
// ("... field 35 ..."), or -1.
func moovFieldID(err error) int {
	s := err.Error()
	for {
		i := strings.Index(s, "field ")
		if i < 0 {
			return -1
		}
		s = s[i+len("field "):]
		j := 0
		for j < len(s) && j < 3 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > 0 {
			n, _ := strconv.Atoi(s[:j])
			return n
		}
	}
}

// checkFields checks the MTI and every set field of msg against the
// dialect: the spec, formats, lengths and character sets. It reads the
// fields' values in place, without building their wire form.
func checkFields(msg *iso8583.Message) error {
	var fs fieldSet
	return fs.read(msg)
}

// fieldSet holds the MTI and the fields of a message on Spec, by their
// place in fieldOrder.
type fieldSet struct {
	mti    string
	fields [maxFields]field.Field
}

// fieldIndex gives the place in fieldOrder of each field of the dialect,
// -1 for the others.
var fieldIndex = func() (t [129]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, d := range fieldOrder {
		t[d.ID] = int8(i)
	}
	return t
}()

// get returns field id, or nil when the message lacks it.
func (fs *fieldSet) get(id int) field.Field {
	if id < 0 || id >= len(fieldIndex) || fieldIndex[id] < 0 {
		return nil
	}
	return fs.fields[fieldIndex[id]]
}

// has reports whether the message has field id.
func (fs *fieldSet) has(id int) bool { return fs.get(id) != nil }

// str returns the value of field id if it is a string field, else "".
func (fs *fieldSet) str(id int) string {
	if f, ok := fs.get(id).(*field.String); ok {
		return f.Value()
	}
	return ""
}

// read fills fs from msg with the checks of checkFields, in field order.
func (fs *fieldSet) read(msg *iso8583.Message) error {
	if msg == nil {
		return fieldErr(-1, -1, ErrType, "nil message")
	}
	if msg.GetSpec() != Spec {
		return fieldErr(-1, -1, ErrType, "message not built on isospec.Spec")
	}
	mti, _ := msg.GetMTI()
	if len(mti) != 4 {
		return fieldErr(0, -1, ErrLength, fmt.Sprintf("%d characters, need 4", len(mti)))
	}
	if firstBad(mti, FormatN) >= 0 {
		return fieldErr(0, -1, ErrCharset, "not n")
	}
	fs.mti = mti
	// A message on Spec holds only fields Spec defines: the MTI, the
	// bitmap and the fields of the dialect.
	for i, d := range fieldOrder {
		f := msg.GetField(d.ID)
		if f == nil {
			continue
		}
		if err := checkField(d, f); err != nil {
			return err
		}
		fs.fields[i] = f
	}
	return nil
}

// checkField checks one field's value as it goes on the wire (see
// wireValue) without building it.
func checkField(d *FieldDef, f field.Field) error {
	switch f := f.(type) {
	case *field.Numeric:
		v := f.Value()
		if v < 0 || v > maxAmount {
			return fieldErr(d.ID, -1, ErrValue, "amount out of range")
		}
		// Zero-filled on the left to MaxLen: only digits.
		return checkLength(d, max(d.MaxLen, digitCount(v)))
	case *field.String:
		v := f.Value()
		n := len(v)
		if d.SpacePadded && n < d.MaxLen {
			n = d.MaxLen
		}
		if err := checkLength(d, n); err != nil {
			return err
		}
		i := firstBad(v, d.Format)
		if i < 0 && n > len(v) && !charsets[d.Format][' '] {
			i = len(v)
		}
		if i >= 0 {
			return fieldErr(d.ID, -1, ErrCharset, fmt.Sprintf("character %d is not %v", i+1, d.Format))
		}
		return nil
	case *field.Binary:
		return checkValue(d, f.Value())
	}
	return fieldErr(d.ID, -1, ErrType, fmt.Sprintf("field type %T", f))
}

func digitCount(v int64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// wireValue returns the content of f as it goes on the wire, padding
// included, without the length prefix.
func wireValue(d *FieldDef, f field.Field) ([]byte, error) {
	switch f := f.(type) {
	case *field.Numeric:
		v := f.Value()
		if v < 0 || v > maxAmount {
			return nil, fieldErr(d.ID, -1, ErrValue, "amount out of range")
		}
		return fmt.Appendf(nil, "%0*d", d.MaxLen, v), nil
	case *field.String:
		v := f.Value()
		if d.SpacePadded && len(v) < d.MaxLen {
			v += strings.Repeat(" ", d.MaxLen-len(v))
		}
		return []byte(v), nil
	case *field.Binary:
		return f.Value(), nil
	}
	return nil, fieldErr(d.ID, -1, ErrType, fmt.Sprintf("field type %T", f))
}

// checkValue checks one field's wire content.
func checkValue(d *FieldDef, v []byte) error {
	if err := checkLength(d, len(v)); err != nil {
		return err
	}
	if i := firstBad(v, d.Format); i >= 0 {
		return fieldErr(d.ID, -1, ErrCharset, fmt.Sprintf("character %d is not %v", i+1, d.Format))
	}
	return nil
}

// checkLength checks the length n of one field's wire content.
func checkLength(d *FieldDef, n int) error {
	if n < d.MinLen || n > d.MaxLen {
		if d.Length == Fixed {
			return fieldErr(d.ID, -1, ErrLength, fmt.Sprintf("length %d, need %d", n, d.MaxLen))
		}
		return fieldErr(d.ID, -1, ErrLength, fmt.Sprintf("length %d outside %d..%d", n, d.MinLen, d.MaxLen))
	}
	return nil
}
