package isospec

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/moov-io/iso8583"
	moverrors "github.com/moov-io/iso8583/errors"
	"github.com/moov-io/iso8583/network"
)

// HeaderLen is the length of the frame header: 2 bytes, binary, big-endian.
const HeaderLen = 2

// MaxFrameLen is the longest message the 2-byte header can announce.
const MaxFrameLen = 0xFFFF

// MaxMessageLen bounds the length of any message of the dialect, length
// header excluded: the MTI, both bitmaps and every field at its longest,
// length prefixes included. No legal frame is longer, so a reader may
// refuse a longer announced length before reading it.
const MaxMessageLen = 1754

// ReadMessageLength reads the 2-byte binary big-endian length header. It
// has the shape of iso8583-connection's MessageLengthReader: pass it to
// connection.New and server.New.
func ReadMessageLength(r io.Reader) (int, error) {
	h := network.NewBinary2BytesHeader()
	if _, err := h.ReadFrom(r); err != nil {
		return 0, fmt.Errorf("isospec: read length header: %w: %w", ErrFrame, err)
	}
	return h.Length(), nil
}

// WriteMessageLength writes the 2-byte binary big-endian length header for
// a message of length bytes. It has the shape of iso8583-connection's
// MessageLengthWriter.
func WriteMessageLength(w io.Writer, length int) (int, error) {
	if length < 0 || length > MaxFrameLen {
		return 0, fmt.Errorf("isospec: write length header: %d bytes does not fit: %w", length, ErrFrame)
	}
	h := network.NewBinary2BytesHeader()
	if err := h.SetLength(length); err != nil {
		return 0, fmt.Errorf("isospec: write length header: %w", ErrFrame)
	}
	n, err := h.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("isospec: write length header: %w", err)
	}
	return n, nil
}

// ReadFrame reads one length header and the message it announces. It
// reads exactly that many bytes, no more. A header announcing more than
// MaxMessageLen bytes, which no message of the dialect needs, is refused
// before anything is allocated (ReadFrameLimit).
func ReadFrame(r io.Reader) ([]byte, error) {
	return ReadFrameLimit(r, MaxMessageLen)
}

// ReadFrameLimit is ReadFrame with a size limit: a header announcing more
// than limit bytes gives an error wrapping ErrFrameTooLong, checked before
// any buffer is allocated, and nothing of the message is read.
func ReadFrameLimit(r io.Reader, limit int) ([]byte, error) {
	n, err := ReadMessageLength(r)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("isospec: read frame: %d bytes announced, limit %d: %w", n, limit, ErrFrameTooLong)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("isospec: read message of %d bytes: %w", n, err)
	}
	return b, nil
}

// WriteFrame writes the length header and packed in one write.
func WriteFrame(w io.Writer, packed []byte) error {
	if len(packed) > MaxFrameLen {
		return fmt.Errorf("isospec: write frame: %d bytes does not fit: %w", len(packed), ErrFrame)
	}
	buf := make([]byte, 0, HeaderLen+len(packed))
	buf = append(buf, byte(len(packed)>>8), byte(len(packed)))
	buf = append(buf, packed...)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("isospec: write frame: %w", err)
	}
	return nil
}

// Framer reads and writes whole messages under the dialect's rules. It
// implements iso8583-connection's MessageReader and MessageWriter
// (connection.SetMessageReader, connection.SetMessageWriter) so that a
// connection checks frames as strictly as Unpack and Pack do, instead of
// the library's own more lenient unpacking.
type Framer struct{}

// ReadMessage reads one frame and unpacks it with Unpack. A malformed
// frame gives an error wrapping both the *FieldError and
// iso8583/errors.UnpackError (without the raw message), so that a
// connection skips it and keeps reading.
func (Framer) ReadMessage(r io.Reader) (*iso8583.Message, error) {
	b, err := ReadFrame(r)
	if err != nil {
		return nil, err
	}
	msg, err := Unpack(b)
	if err != nil {
		id := -1
		var fe *FieldError
		if errors.As(err, &fe) {
			id = fe.Field
		}
		return nil, &moverrors.UnpackError{Err: err, FieldID: strconv.Itoa(id)}
	}
	return msg, nil
}

// WriteMessage packs msg with Pack and writes it as one frame.
func (Framer) WriteMessage(w io.Writer, msg *iso8583.Message) error {
	b, err := Pack(msg)
	if err != nil {
		return err
	}
	return WriteFrame(w, b)
}

// RequestIDGenerator matches responses to requests on a connection by
// terminal ID (DE41) and STAN (DE11): isospec/frameclient's default, and a
// fit for iso8583-connection's SetRequestIDGenerator, whose own default
// uses the STAN alone, which
// repeats across terminals sharing a link. Responses must echo DE41, as the
// constructors in this package do.
type RequestIDGenerator struct{}

// GenerateRequestID returns "TID/STAN", or an error without a STAN.
func (RequestIDGenerator) GenerateRequestID(msg *iso8583.Message) (string, error) {
	if msg == nil {
		return "", fieldErr(-1, -1, ErrType, "nil message")
	}
	stan, _ := msg.GetString(FieldSTAN)
	if stan == "" {
		return "", fieldErr(FieldSTAN, -1, ErrMissing, "request ID needs the STAN")
	}
	tid, _ := msg.GetString(FieldTerminalID)
	return tid + "/" + stan, nil
}
