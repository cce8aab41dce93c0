package vpcd

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// stream is vpcd's side of a session in memory: what vpcd sends, and what
// the card answered.
type stream struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (s *stream) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s *stream) Write(p []byte) (int, error) { return s.out.Write(p) }

// fuzzCard answers every command with its length and 9000.
type fuzzCard struct{ atr []byte }

func (c fuzzCard) ATR() []byte             { return c.atr }
func (c fuzzCard) Reset()                  {}
func (c fuzzCard) Process(b []byte) []byte { return []byte{byte(len(b)), 0x90, 0x00} }

// FuzzReadFrame: any stream splits into frames, or stops with an error,
// without panicking or reading past the frame.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x04})
	f.Add([]byte{0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{0xFF, 0xFF, 0x00})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		used := 0
		for {
			frame, err := ReadFrame(r, nil)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					require.ErrorIs(t, err, ErrShortFrame)
				}
				return
			}
			used += 2 + len(frame)
			require.Equal(t, len(data)-used, r.Len(), "read past the frame")
			require.True(t, bytes.Equal(data[used-len(frame):used], frame))
		}
	})
}

// FuzzSession feeds any byte stream to a card as vpcd would: the card
// never panics, and answers exactly the GetATR and APDU frames, each with
// one well-formed frame.
func FuzzSession(f *testing.F) {
	seed := func(frames ...[]byte) []byte {
		var b []byte
		for _, fr := range frames {
			b, _ = AppendFrame(b, fr)
		}
		return b
	}
	f.Add(seed([]byte{GetATR}, []byte{PowerOn}, []byte{0x00, 0xA4, 0x04, 0x00, 0x00}, []byte{PowerOff}))
	f.Add(seed([]byte{Reset}, []byte{}, []byte{0x7F}, []byte{0x80, 0xA8}))
	f.Add([]byte{0x00, 0x09, 0x00, 0xA4})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New("vpcd:1", fuzzCard{atr: []byte{0x3B, 0x00}}, Options{})
		st := &stream{in: bytes.NewReader(data)}
		err := s.session(st)
		require.Error(t, err)

		// What should have been answered.
		var want [][]byte
		r := bytes.NewReader(data)
		for {
			fr, err := ReadFrame(r, nil)
			if err != nil {
				break
			}
			switch {
			case len(fr) == 1 && fr[0] == GetATR:
				want = append(want, []byte{0x3B, 0x00})
			case len(fr) > 1:
				want = append(want, []byte{byte(len(fr)), 0x90, 0x00})
			}
		}
		var got [][]byte
		out := bytes.NewReader(st.out.Bytes())
		for {
			fr, err := ReadFrame(out, nil)
			if err != nil {
				require.ErrorIs(t, err, io.EOF, "answers are whole frames")
				break
			}
			got = append(got, fr)
		}
		require.Equal(t, want, got)
	})
}
