package isospec

import (
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"
)

// Glimpse is what can be read of a frame that may not unpack: the message
// type and the fields that identify a message, as far as the frame parses
// (see Peek). Every value is well formed for its field, so it can be echoed
// in an answer as it is; it never holds a PAN or any other sensitive field.
type Glimpse struct {
	// MTI is the message type, or "" if the first 4 bytes are not digits.
	MTI MTI
	// TransmissionDateTime is DE7, STAN DE11 and TerminalID DE41 (trailing
	// spaces removed); "" when absent or not readable.
	TransmissionDateTime, STAN, TerminalID string
	// MAC reports that the bitmap announces a MAC (DE64 or DE128).
	MAC bool
	// Complete reports that the whole frame parsed (Unpack's syntax).
	Complete bool
}

// Peek reads what it can of a frame (length header excluded) without
// trusting it: the MTI if it is 4 digits, then the bitmaps and the fields in
// order up to the first one that does not parse, with the same checks as
// Unpack (length prefixes, bounds, character sets). DE7, DE11 and DE41 are
// returned when they come before the failing field. Peek never reads past
// frame, never panics and allocates only the values it returns.
func Peek(frame []byte) Glimpse {
	var l layout
	err := scan(frame, &l)
	g := Glimpse{MTI: MTI(l.mti), Complete: err == nil}
	if l.bitmap != nil {
		g.MAC = bitSet(l.bitmap, FieldMAC) || (l.secondary && bitSet(l.bitmap, FieldMAC2))
	}
	for _, s := range l.fields() {
		v := frame[s.val:s.end]
		switch s.id {
		case FieldTransmissionDateTime:
			g.TransmissionDateTime = string(v)
		case FieldSTAN:
			g.STAN = string(v)
		case FieldTerminalID:
			g.TerminalID = strings.TrimRight(string(v), " ")
		}
	}
	return g
}

// ResponseMTI is the message type that answers a frame of type m on a host
// that cannot serve it: the response of a request or advice (0100 ->
// 0110, 0421 -> 0430), and for a response sent the wrong way the response
// of its own class and function (0110 -> 0110, 0131 -> 0130). It returns
// false for a malformed type and for function digits 4 to 9 (9999), which
// have no response: the host closes the connection instead.
func ResponseMTI(m MTI) (MTI, bool) {
	switch {
	case m.IsRequest():
		r, err := m.Response()
		return r, err == nil
	case m.IsResponse():
		return m[:3] + "0", true
	}
	return "", false
}

// Answer is a response of type rmti with code rc that echoes what g could
// read of the request (DE7, DE11, DE41) and, when reason is set, carries
// it in DE48: the answer to a message a host cannot process, for the
// sender to match. The caller adds the MAC it can.
func (g Glimpse) Answer(rmti MTI, rc ResponseCode, reason DeclineReason) (*iso8583.Message, error) {
	m := NewMessage()
	m.MTI(string(rmti))
	for _, f := range []struct {
		id int
		v  string
	}{{FieldTransmissionDateTime, g.TransmissionDateTime}, {FieldSTAN, g.STAN}, {FieldTerminalID, g.TerminalID}} {
		if f.v == "" {
			continue
		}
		if err := m.Field(f.id, f.v); err != nil {
			return nil, fmt.Errorf("isospec: echo field %d: %w", f.id, err)
		}
	}
	if err := m.Field(FieldResponseCode, string(rc)); err != nil {
		return nil, fmt.Errorf("isospec: echo response code: %w", err)
	}
	if reason != "" {
		pd, err := PrivateData{DeclineReason: reason}.Encode()
		if err != nil {
			return nil, err
		}
		if err := m.Field(FieldPrivateData, pd); err != nil {
			return nil, fmt.Errorf("isospec: echo decline reason: %w", err)
		}
	}
	return m, nil
}
