package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Control codes: the one-byte payloads vpcd sends to the card.
const (
	// PowerOff switches the card off. No answer.
	PowerOff byte = 0x00
	// PowerOn switches the card on. No answer.
	PowerOn byte = 0x01
	// Reset is a warm reset. No answer.
	Reset byte = 0x02
	// GetATR asks for the Answer To Reset; the answer is the ATR bytes.
	GetATR byte = 0x04
)

// MaxPayload is the largest payload a frame can carry: its length is coded
// on two bytes.
const MaxPayload = 0xFFFF

// Frame errors.
var (
	// ErrFrameTooLong reports a payload longer than MaxPayload.
	ErrFrameTooLong = errors.New("vpcd: frame payload longer than 65535 bytes")
	// ErrShortFrame reports a stream that ended inside a frame.
	ErrShortFrame = errors.New("vpcd: stream ended inside a frame")
)

// ReadFrame reads one frame from r: a 2-byte big-endian length, then that
// many payload bytes. The payload is read into buf when it fits (buf may be
// nil). A stream that ends cleanly before a frame gives io.EOF; one that
// ends inside a frame gives an error wrapping ErrShortFrame. ReadFrame never
// reads past the frame.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: length cut short", ErrShortFrame)
		}
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %d payload bytes announced", ErrShortFrame, n)
		}
		return nil, err
	}
	return buf, nil
}

// AppendFrame appends payload to dst as one frame, length first.
func AppendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, fmt.Errorf("%w: %d", ErrFrameTooLong, len(payload))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...), nil
}
