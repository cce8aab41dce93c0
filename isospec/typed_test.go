package isospec

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"
)

// typedMessages makes a new one of each typed message.
func typedMessages() []any {
	return []any{
		new(AuthorizationRequest), new(AuthorizationResponse), new(ReversalRequest),
		new(ReversalResponse), new(NetworkManagement),
	}
}

// fill sets every field of the struct v points to from data, in order:
// a string or []byte takes a length byte then that many bytes (length
// 0xFF: the zero value, nil for a []byte), an int64 the next 8 bytes.
func fill(v any, data []byte) {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch f.Kind() {
		case reflect.Int64:
			if len(data) >= 8 {
				f.SetInt(int64(binary.BigEndian.Uint64(data)))
				data = data[8:]
			}
		case reflect.String, reflect.Slice:
			if len(data) == 0 {
				continue
			}
			n := int(data[0])
			data = data[1:]
			if n == 0xFF {
				f.SetZero()
				continue
			}
			n = min(n, len(data))
			if f.Kind() == reflect.String {
				f.SetString(string(data[:n]))
			} else {
				f.SetBytes(append([]byte{}, data[:n]...))
			}
			data = data[n:]
		}
	}
}

// serialise is the inverse of fill.
func serialise(v any) []byte {
	var out []byte
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch f.Kind() {
		case reflect.Int64:
			out = binary.BigEndian.AppendUint64(out, uint64(f.Int()))
		case reflect.String:
			if f.Len() == 0 {
				out = append(out, 0xFF)
				continue
			}
			out = append(append(out, byte(f.Len())), f.String()...)
		case reflect.Slice:
			if f.IsNil() {
				out = append(out, 0xFF)
				continue
			}
			out = append(append(out, byte(f.Len())), f.Bytes()...)
		}
	}
	return out
}

func TestTypedFieldsMatchTags(t *testing.T) {
	for _, v := range typedMessages() {
		// Every field set to a value of its own: a field written to or
		// read from the wrong number shows.
		rv := reflect.ValueOf(v).Elem()
		for i := range rv.NumField() {
			f := rv.Field(i)
			switch f.Kind() {
			case reflect.Int64:
				f.SetInt(int64(1000 + i))
			case reflect.String:
				f.SetString(string(rune('A' + i)))
			case reflect.Slice:
				f.SetBytes([]byte{byte(i)})
			}
		}
		checkTypedEncode(t, v)
		ref := NewMessage()
		require.NoError(t, ref.Marshal(v))
		checkTypedDecode(t, ref, v)
	}
}

// checkTypedEncode requires encodeTyped to set the same fields to the same
// values as the library's Marshal, and checkFields to say the same of
// both.
func checkTypedEncode(t *testing.T, v any) {
	t.Helper()
	ours, ref := NewMessage(), NewMessage()
	require.True(t, encodeTyped(ours, v))
	require.NoError(t, ref.Marshal(v))
	sameMessages(t, ours, ref)
	require.Equal(t, checkFields(ref), checkFields(ours))
	byValue := NewMessage()
	require.True(t, encodeTyped(byValue, reflect.ValueOf(v).Elem().Interface()))
	sameMessages(t, byValue, ref)
}

// checkTypedDecode requires decodeTyped to give what the library's
// Unmarshal gives, into every typed message prefilled like like.
func checkTypedDecode(t *testing.T, msg *iso8583.Message, like any) {
	t.Helper()
	seed := serialise(like)
	for _, v := range typedMessages() {
		fill(v, seed)
		ref := reflect.New(reflect.TypeOf(v).Elem())
		ref.Elem().Set(reflect.ValueOf(v).Elem())
		require.True(t, decodeTyped(msg, v))
		require.NoError(t, msg.Unmarshal(ref.Interface()))
		require.Equal(t, ref.Interface(), v)
	}
}

// FuzzTypedCodec checks that the typed messages go in and out of a message
// field by field exactly as through the library's struct Marshal and
// Unmarshal: the same fields with the same values, the same checks, and
// from any frame that unpacks the same structs.
func FuzzTypedCodec(f *testing.F) {
	for _, b := range corpusFrames(f) {
		msg, err := Unpack(b)
		if err != nil {
			f.Add(uint8(0), []byte{}, b)
			continue
		}
		for i, v := range typedMessages() {
			if msg.Unmarshal(v) == nil {
				f.Add(uint8(i), serialise(v), b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, data, frame []byte) {
		all := typedMessages()
		v := all[int(kind)%len(all)]
		fill(v, data)
		checkTypedEncode(t, v)
		encoded := NewMessage()
		require.True(t, encodeTyped(encoded, v))
		checkTypedDecode(t, encoded, v)
		if msg, err := Unpack(frame); err == nil {
			checkTypedDecode(t, msg, v)
		}
	})
}
