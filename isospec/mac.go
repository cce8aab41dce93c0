package isospec

import (
	"fmt"

	"github.com/moov-io/iso8583"
)

// MACFunc computes a MAC over data, under a key the caller holds (in
// practice inside the security module): ISO 9797-1 algorithm 3 (retail
// MAC) or CMAC, for example. A result longer than 8 bytes is truncated to
// its leftmost 8 bytes.
type MACFunc func(data []byte) ([]byte, error)

// VerifyFunc checks mac (8 bytes) against data and returns an error if it
// does not match. It should compare in constant time.
type VerifyFunc func(data, mac []byte) error

// MACField returns the field that carries msg's MAC: 128 if msg has any
// field from 65 to 127 (and so a secondary bitmap), else 64.
func MACField(msg *iso8583.Message) int {
	// A message on another spec may hold any field; one on Spec only the
	// fields of the dialect.
	if msg.GetSpec() != Spec {
		for id := range msg.GetFields() {
			if id > 64 && id < 128 {
				return FieldMAC2
			}
		}
		return FieldMAC
	}
	for _, id := range secondaryFields {
		if msg.GetField(id) != nil {
			return FieldMAC2
		}
	}
	return FieldMAC
}

// secondaryFields lists the fields of the dialect from 65 to 127.
var secondaryFields = func() []int {
	var out []int
	for _, d := range fieldOrder {
		if d.ID > 64 && d.ID < 128 {
			out = append(out, d.ID)
		}
	}
	return out
}()

// SetMAC computes msg's MAC with compute and stores it in DE64 or DE128
// (see MACField), removing any MAC already there. The MAC input is the
// packed message from the MTI up to but not including the MAC field's 8
// bytes, with the MAC field's bitmap bit set: the same bytes VerifyMAC
// checks on the other side.
func SetMAC(msg *iso8583.Message, compute MACFunc) error {
	_, err := setMAC(msg, compute)
	return err
}

// setMAC is SetMAC returning the packed message with its MAC: the MAC is
// the last field and of fixed length, so the bytes packed for the MAC
// input, with the MAC in place of the zeros, are the whole message.
func setMAC(msg *iso8583.Message, compute MACFunc) ([]byte, error) {
	if msg == nil || compute == nil {
		return nil, fieldErr(-1, -1, ErrType, "nil message or MAC function")
	}
	id := MACField(msg)
	msg.UnsetField(FieldMAC)
	msg.UnsetField(FieldMAC2)
	// The field holds zeros for the MAC input, then the MAC itself.
	field := make([]byte, MACLen)
	if err := msg.BinaryField(id, field); err != nil {
		return nil, fieldErr(id, -1, ErrType, "cannot set MAC field")
	}
	packed, err := Pack(msg)
	if err != nil {
		return nil, err
	}
	m, err := compute(packed[:len(packed)-MACLen])
	if err != nil {
		return nil, fmt.Errorf("isospec: compute MAC: %w", err)
	}
	if len(m) < MACLen {
		return nil, fieldErr(id, -1, ErrLength, fmt.Sprintf("MAC function gave %d bytes, need %d", len(m), MACLen))
	}
	copy(packed[len(packed)-MACLen:], m[:MACLen])
	copy(field, m[:MACLen])
	return packed, nil
}

// PackWithMAC is SetMAC then Pack, with the message packed once.
func PackWithMAC(msg *iso8583.Message, compute MACFunc) ([]byte, error) {
	return setMAC(msg, compute)
}

// MACInput splits a packed message (length header excluded) into the MAC
// input and the MAC. The frame must be well formed and carry its MAC in the
// right field, as the last field: DE64 if it has no secondary bitmap, DE128
// if it has one. Errors wrap ErrMACMissing or are *FieldError.
func MACInput(packed []byte) (data, mac []byte, err error) {
	var l layout
	if err := scan(packed, &l); err != nil {
		return nil, nil, err
	}
	want, other := FieldMAC, FieldMAC2
	if l.secondary {
		want, other = FieldMAC2, FieldMAC
	}
	if _, ok := l.field(other); ok {
		return nil, nil, fieldErr(other, -1, ErrMACMissing, fmt.Sprintf("MAC belongs in field %d", want))
	}
	s, ok := l.field(want)
	if !ok {
		return nil, nil, fieldErr(want, -1, ErrMACMissing, "")
	}
	if s.end != len(packed) || s.val != s.start || s.end-s.val != MACLen {
		// Cannot happen with the dialect's field table; kept as a guard.
		return nil, nil, fieldErr(want, s.start, ErrMACMissing, "MAC is not the last 8 bytes")
	}
	return packed[:s.start], packed[s.val:s.end], nil
}

// VerifyMAC checks the MAC of a packed message (length header excluded)
// with verify, over exactly the bytes SetMAC computed it on. A frame
// without its MAC, or with the MAC in the wrong field, gives an error
// wrapping ErrMACMissing; a MAC verify rejects gives an error wrapping
// both ErrMACMismatch and verify's error. Either way the acquirer answers
// 63 (security violation).
//
// A host that holds only the unpacked message (as iso8583-connection hands
// it over) packs it again with Pack: Unpack and the Framer accept only
// frames that pack back to the same bytes. A frame the library's lenient
// reader accepted in a non-canonical form packs differently and fails the
// check, which is the safe outcome.
func VerifyMAC(packed []byte, verify VerifyFunc) error {
	if verify == nil {
		return fieldErr(-1, -1, ErrType, "nil verify function")
	}
	data, mac, err := MACInput(packed)
	if err != nil {
		return err
	}
	if err := verify(data, mac); err != nil {
		return fmt.Errorf("%w: %w", ErrMACMismatch, err)
	}
	return nil
}
