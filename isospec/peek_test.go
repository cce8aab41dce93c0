package isospec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

// MaxMessageLen is the longest message the field table allows, and the
// readers refuse anything longer before allocating (DESIGN.md Decisions:
// a size limit checked before allocation).
func TestMaxMessageLen(t *testing.T) {
	n := 4 + 16
	for _, d := range isospec.Fields() {
		switch d.Length {
		case isospec.LLVAR:
			n += 2
		case isospec.LLLVAR:
			n += 3
		}
		n += d.MaxLen
	}
	require.Equal(t, n, isospec.MaxMessageLen)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    *bytes.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func TestReadFrameLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		limit   int
		want    []byte
		wantErr error
	}{
		{name: "within", in: []byte{0, 3, 'a', 'b', 'c'}, limit: 3, want: []byte("abc")},
		{name: "over", in: append([]byte{0, 4}, "abcd"...), limit: 3, wantErr: isospec.ErrFrameTooLong},
		{name: "announced 65535", in: []byte{0xFF, 0xFF}, limit: isospec.MaxMessageLen, wantErr: isospec.ErrFrameTooLong},
		{name: "empty", in: []byte{0, 0}, limit: 0, want: []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(tc.in)}
			got, err := isospec.ReadFrameLimit(cr, tc.limit)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorIs(t, err, isospec.ErrFrame)
				require.Equal(t, isospec.HeaderLen, cr.read, "nothing read past the header")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	// ReadFrame's own limit is the longest legal message.
	over := isospec.MaxMessageLen + 1
	_, err := isospec.ReadFrame(bytes.NewReader([]byte{byte(over >> 8), byte(over)}))
	require.ErrorIs(t, err, isospec.ErrFrameTooLong)
}

// peekSeeds are frames for Peek: whole messages and messages broken
// before, inside and after the identifying fields.
func peekSeeds(t testing.TB) map[string][]byte {
	good := mustMarshal(t, sample0100(t))
	cut := func(b []byte, n int) []byte { return bytes.Clone(b[:n]) }
	flip := func(b []byte, i int, c byte) []byte { b = bytes.Clone(b); b[i] = c; return b }
	i41 := bytes.Index(good, []byte("TERM0001"))
	require.Positive(t, i41)
	seeds := map[string][]byte{
		"good_0100":           good,
		"good_0110":           mustMarshal(t, sample0110(t)),
		"good_0800":           mustMarshal(t, sample0800KeyChange(t)),
		"cut_in_de41":         cut(good, i41+3),
		"cut_after_de41":      cut(good, i41+8),
		"bad_char_after_de41": flip(good, i41+8, 0x01),
		"bad_pan_prefix":      flip(good, 20, 'A'),
		"trailing":            append(bytes.Clone(good), 0),
		"mti_only":            []byte("0100"),
		"not_digits":          []byte("AB00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"unknown_9999":        append([]byte("9999\x00\x20\x00\x00\x00\x00\x00\x00"), "000123"...),
		"empty":               {},
	}
	return seeds
}

// Peek reads the MTI, DE7, DE11 and DE41 as far as the frame parses, and
// nothing past the field that fails.
func TestPeek(t *testing.T) {
	seeds := peekSeeds(t)
	req := sample0100(t)
	full := isospec.Glimpse{MTI: req.MTI, TransmissionDateTime: req.TransmissionDateTime, STAN: req.STAN, TerminalID: req.TerminalID}
	partial := full
	partial.TerminalID = ""
	for _, tc := range []struct {
		name string
		want isospec.Glimpse
	}{
		{"good_0100", isospec.Glimpse{MTI: req.MTI, TransmissionDateTime: req.TransmissionDateTime, STAN: req.STAN, TerminalID: req.TerminalID, Complete: true}},
		{"cut_in_de41", partial},
		{"cut_after_de41", full},
		{"bad_char_after_de41", full},
		{"trailing", full},
		{"bad_pan_prefix", isospec.Glimpse{MTI: req.MTI}},
		{"mti_only", isospec.Glimpse{MTI: "0100"}},
		{"not_digits", isospec.Glimpse{}},
		{"unknown_9999", isospec.Glimpse{MTI: "9999", STAN: "000123", Complete: true}},
		{"empty", isospec.Glimpse{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, isospec.Peek(seeds[tc.name]))
		})
	}
	m := isospec.Peek(seeds["good_0110"])
	require.Equal(t, isospec.MTIAuthorizationResponse, m.MTI)
	require.True(t, m.Complete)
}

func TestResponseMTI(t *testing.T) {
	for _, tc := range []struct {
		in   isospec.MTI
		want isospec.MTI
		ok   bool
	}{
		{"0100", "0110", true},
		{"0421", "0430", true},
		{"0300", "0310", true},
		{"0110", "0110", true},
		{"0131", "0130", true},
		{"9999", "", false},
		{"0190", "", false},
		{"01", "", false},
		{"AB00", "", false},
	} {
		got, ok := isospec.ResponseMTI(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

// The seed corpus under testdata/fuzz/FuzzPeek is peekSeeds, regenerated
// with -update.
func TestPeekSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzPeek")
	seeds := peekSeeds(t)
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, b := range seeds {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(corpusFile(b)), 0o644))
		}
	}
	for name, b := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, "run go test -update")
		require.Equal(t, corpusFile(b), string(got), "%s: run go test -update", name)
	}
}

// FuzzPeek checks that Peek never panics, returns only values well formed
// for their fields, agrees with Unpack on frames that unpack, and reads
// nothing past the frame (the fuzzer's input is a sub-slice of a larger
// buffer whose tail is poison).
func FuzzPeek(f *testing.F) {
	for _, b := range peekSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		buf := append(bytes.Clone(b), "9999999999TERM0002"...)
		g := isospec.Peek(buf[:len(b):len(b)])
		if g.MTI != "" {
			require.Len(t, string(g.MTI), 4)
			require.Equal(t, string(b[:4]), string(g.MTI))
		}
		digits := func(s string, n int) {
			if s == "" {
				return
			}
			require.Len(t, s, n)
			for _, c := range []byte(s) {
				require.True(t, c >= '0' && c <= '9', "%q", s)
			}
		}
		digits(g.TransmissionDateTime, 10)
		digits(g.STAN, 6)
		require.LessOrEqual(t, len(g.TerminalID), 8)
		require.True(t, bytes.Contains(b, []byte(g.TerminalID)))
		for _, c := range []byte(g.TerminalID) {
			require.True(t, c >= 0x20 && c <= 0x7E)
		}
		msg, err := isospec.Unpack(b)
		require.Equal(t, err == nil, g.Complete)
		if err != nil {
			return
		}
		for id, v := range map[int]string{
			isospec.FieldTransmissionDateTime: g.TransmissionDateTime,
			isospec.FieldSTAN:                 g.STAN,
			isospec.FieldTerminalID:           g.TerminalID,
		} {
			want, _ := msg.GetString(id)
			require.Equal(t, want, v, "field %d", id)
		}
		mti, _ := msg.GetMTI()
		require.Equal(t, mti, string(g.MTI))
	})
}

// The answer to a message a host cannot process echoes what could be read
// of it, so that the sender can match it.
func TestGlimpseAnswer(t *testing.T) {
	g := isospec.Glimpse{MTI: "0100", TransmissionDateTime: "1207013000", STAN: "000042", TerminalID: "T0000001"}
	m, err := g.Answer("0110", isospec.RCFormatError, isospec.ReasonFormat)
	require.NoError(t, err)
	b, err := isospec.Pack(m)
	require.NoError(t, err)
	back, err := isospec.Unpack(b)
	require.NoError(t, err)
	for id, want := range map[int]string{7: "1207013000", 11: "000042", 39: "30"} {
		got, err := back.GetString(id)
		require.NoError(t, err)
		require.Equal(t, want, got, "DE%d", id)
	}
	tid, _ := back.GetString(isospec.FieldTerminalID)
	require.Equal(t, "T0000001", strings.TrimSpace(tid))
	pd, _ := back.GetString(isospec.FieldPrivateData)
	p, err := isospec.ParsePrivateData(pd)
	require.NoError(t, err)
	require.Equal(t, isospec.ReasonFormat, p.DeclineReason)

	// Nothing read: the response code alone.
	m, err = isospec.Glimpse{}.Answer("0810", isospec.RCFormatError, "")
	require.NoError(t, err)
	require.Nil(t, m.GetField(isospec.FieldPrivateData))
}
