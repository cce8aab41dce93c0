// Package apdu builds and parses the ISO/IEC 7816-4 command and response
// APDUs of EMV (Book 1 section 9, Book 3 section 6): short and extended
// length cases 1 to 4, the EMV commands a terminal sends, status words and
// their meanings, and the T=0 style exchange of GET RESPONSE (61xx) and
// resend with the right Le (6Cxx).
package apdu

import (
	"bytes"
	"errors"
	"fmt"
)

var (
	// ErrCommandTooShort reports a command APDU of fewer than 4 bytes.
	ErrCommandTooShort = errors.New("apdu: command shorter than 4 bytes")
	// ErrLcMismatch reports an Lc that does not match the bytes that follow.
	ErrLcMismatch = errors.New("apdu: Lc does not match the data")
	// ErrDataTooLong reports command data longer than 65535 bytes.
	ErrDataTooLong = errors.New("apdu: command data too long")
	// ErrLe reports an Le outside -1 (absent) to 65536.
	ErrLe = errors.New("apdu: Le out of range")
	// ErrResponseTooShort reports a response APDU of fewer than 2 bytes (no
	// status word), as a reader gives when the card left the field.
	ErrResponseTooShort = errors.New("apdu: response shorter than 2 bytes")
)

// Le values with a meaning of their own.
const (
	// NoLe marks a command without an Le field (cases 1 and 3).
	NoLe = -1
	// MaxShortLe is the largest Le of a short APDU, coded '00'.
	MaxShortLe = 256
	// MaxExtendedLe is the largest Le of an extended APDU, coded '0000'.
	MaxExtendedLe = 65536
)

// Command is a command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	// Data is the command data field; its length is Lc.
	Data []byte
	// Le is the maximum number of response data bytes expected: NoLe (-1)
	// for none, 1 to 256 for a short APDU (256 is coded '00'), up to 65536
	// with extended length. 0 is coded like the maximum ('00').
	Le int
}

// Bytes codes the command. Short length is used when Lc <= 255 and Le <=
// 256; otherwise extended length (Lc on three bytes '00 xx xx', Le on two,
// or three when there is no data).
func (c Command) Bytes() ([]byte, error) {
	nc := len(c.Data)
	if nc > 0xFFFF {
		return nil, fmt.Errorf("%w: %d bytes (at most 65535)", ErrDataTooLong, nc)
	}
	if c.Le < NoLe || c.Le > MaxExtendedLe {
		return nil, fmt.Errorf("%w: %d", ErrLe, c.Le)
	}
	out := make([]byte, 0, 4+3+nc+3)
	out = append(out, c.CLA, c.INS, c.P1, c.P2)
	if nc <= 0xFF && c.Le <= MaxShortLe {
		if nc > 0 {
			out = append(out, byte(nc))
			out = append(out, c.Data...)
		}
		if c.Le >= 0 {
			out = append(out, byte(c.Le)) // 256 and 0 give '00'
		}
		return out, nil
	}
	if nc > 0 {
		out = append(out, 0x00, byte(nc>>8), byte(nc))
		out = append(out, c.Data...)
	}
	if c.Le >= 0 {
		if nc == 0 {
			out = append(out, 0x00)
		}
		out = append(out, byte(c.Le>>8), byte(c.Le)) // 65536 gives '0000'
	}
	return out, nil
}

// ParseCommand reads a command APDU of any case of ISO/IEC 7816-3
// (12.1.3): 1, 2S, 3S, 4S, 2E, 3E, 4E. A short Le '00' gives Le 256, an
// extended Le '0000' gives 65536. The data is copied.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes", ErrCommandTooShort, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: NoLe}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Le = shortLe(body[0])
		return c, nil
	case body[0] != 0: // case 3S or 4S
		nc := int(body[0])
		switch len(body) {
		case 1 + nc:
			c.Data = bytes.Clone(body[1:])
		case 2 + nc:
			c.Data = bytes.Clone(body[1 : 1+nc])
			c.Le = shortLe(body[1+nc])
		default:
			return Command{}, fmt.Errorf("%w: Lc %d with %d bytes after it", ErrLcMismatch, nc, len(body)-1)
		}
		return c, nil
	case len(body) == 3: // case 2E
		c.Le = extendedLe(body[1], body[2])
		return c, nil
	case len(body) < 3:
		return Command{}, fmt.Errorf("%w: extended length field cut short", ErrLcMismatch)
	}
	nc := int(body[1])<<8 | int(body[2]) // case 3E or 4E
	if nc == 0 {
		return Command{}, fmt.Errorf("%w: extended Lc of 0", ErrLcMismatch)
	}
	switch len(body) {
	case 3 + nc:
		c.Data = bytes.Clone(body[3:])
	case 5 + nc:
		c.Data = bytes.Clone(body[3 : 3+nc])
		c.Le = extendedLe(body[3+nc], body[4+nc])
	default:
		return Command{}, fmt.Errorf("%w: extended Lc %d with %d bytes after it", ErrLcMismatch, nc, len(body)-3)
	}
	return c, nil
}

func shortLe(x byte) int {
	if x == 0 {
		return MaxShortLe
	}
	return int(x)
}

func extendedLe(hi, lo byte) int {
	n := int(hi)<<8 | int(lo)
	if n == 0 {
		return MaxExtendedLe
	}
	return n
}

// String shows the header, Lc and Le, never the data (it may hold a PIN
// block or card data): "00A40400 Lc=14 Le=256".
func (c Command) String() string {
	s := fmt.Sprintf("%02X%02X%02X%02X", c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		s += fmt.Sprintf(" Lc=%d", len(c.Data))
	}
	if c.Le >= 0 {
		s += fmt.Sprintf(" Le=%d", c.Le)
	}
	return s
}

// GoString is String, so that %#v does not print the data either.
func (c Command) GoString() string { return c.String() }

// Response is a response APDU: data then the status word SW1 SW2.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits a response APDU into data and status word. The data
// is copied.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: %d bytes", ErrResponseTooShort, len(b))
	}
	n := len(b) - 2
	return Response{Data: bytes.Clone(b[:n]), SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// Bytes codes the response: data, SW1, SW2.
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, byte(r.SW>>8), byte(r.SW))
}

// SW1 is the first status byte.
func (r Response) SW1() byte { return byte(r.SW >> 8) }

// SW2 is the second status byte.
func (r Response) SW2() byte { return byte(r.SW) }

// OK reports status '9000'.
func (r Response) OK() bool { return r.SW == SW9000 }

// Err is nil for '9000' and a *StatusError otherwise.
func (r Response) Err() error {
	if r.OK() {
		return nil
	}
	return &StatusError{SW: r.SW}
}

// String shows the status word and the data length, never the data (it may
// hold card data): "9000 (normal processing), 26 data bytes".
func (r Response) String() string {
	return fmt.Sprintf("%s, %d data bytes", Describe(r.SW), len(r.Data))
}

// GoString is String, so that %#v does not print the data either.
func (r Response) GoString() string { return r.String() }

// StatusError is a status word other than '9000'.
type StatusError struct {
	SW uint16
}

// Error gives the status word and its meaning.
func (e *StatusError) Error() string { return "apdu: status " + Describe(e.SW) }
