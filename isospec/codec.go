package isospec

import (
	"errors"
	"fmt"
	"slices"
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
	if msg == nil || msg.GetSpec() != Spec {
		return nil, checkFields(msg)
	}
	// The bytes must read back under the dialect's own rules; scanning
	// them checks every field's length and characters. Only a message that
	// fails is checked field by field, for the error that names the field.
	b, err := msg.Pack()
	if err == nil {
		var l layout
		if err = scan(b, &l); err == nil {
			return b, nil
		}
	}
	if ferr := checkFields(msg); ferr != nil {
		return nil, ferr
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return nil, err
	}
	return nil, fieldErr(moovFieldID(err), -1, ErrValue, "cannot pack")
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
	if err := msg.Marshal(v); err != nil {
		return nil, fieldErr(moovFieldID(err), -1, ErrType, "cannot set")
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
// dialect: the spec, formats, lengths and character sets.
func checkFields(msg *iso8583.Message) error {
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
	fields := msg.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		if id >= 2 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		d, ok := Field(id)
		if !ok || id == 65 {
			return fieldErr(id, -1, ErrUndefinedField, "")
		}
		v, err := wireValue(&d, fields[id])
		if err != nil {
			return err
		}
		if err := checkValue(&d, v); err != nil {
			return err
		}
	}
	return nil
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
	if len(v) < d.MinLen || len(v) > d.MaxLen {
		if d.Length == Fixed {
			return fieldErr(d.ID, -1, ErrLength, fmt.Sprintf("length %d, need %d", len(v), d.MaxLen))
		}
		return fieldErr(d.ID, -1, ErrLength, fmt.Sprintf("length %d outside %d..%d", len(v), d.MinLen, d.MaxLen))
	}
	if i := firstBad(v, d.Format); i >= 0 {
		return fieldErr(d.ID, -1, ErrCharset, fmt.Sprintf("character %d is not %v", i+1, d.Format))
	}
	return nil
}
