package scp03

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func hx(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		data, le string
		extended bool
		wantErr  bool
	}{
		{name: "case 1", in: "80F22002"},
		{name: "case 2S", in: "80CA006600", le: "00"},
		{name: "case 3S", in: "80F220020A4F0212345C054F9F70C5", data: "4f0212345c054f9f70c5"},
		{name: "case 4S", in: "80F28002024F0000", data: "4f00", le: "00"},
		{name: "case 2E", in: "00B00000000100", le: "000100", extended: true},
		{name: "case 3E", in: "80E20000000002AABB", data: "aabb", extended: true},
		{name: "case 4E", in: "80E20000000002AABB0000", data: "aabb", le: "0000", extended: true},
		{name: "header cut", in: "80F220", wantErr: true},
		{name: "Lc too long", in: "80F2200205AABB", wantErr: true},
		{name: "Lc too short", in: "80F2200201AABBCC", wantErr: true},
		{name: "extended cut", in: "80F220020001", wantErr: true},
		{name: "extended Lc 0", in: "80F2200200000000", wantErr: true},
		{name: "extended Lc mismatch", in: "80F22002000003AABB", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCommand(hx(tc.in))
			if tc.wantErr {
				require.ErrorIs(t, err, ErrCommand)
				require.Equal(t, SWWrongLength, StatusWord(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.data, hex.EncodeToString(c.data), "data")
			require.Equal(t, tc.le, hex.EncodeToString(c.le), "le")
			require.Equal(t, tc.extended, c.extended)
			again, err := c.encode(c.cla, c.data)
			require.NoError(t, err)
			require.Equal(t, hx(tc.in), again, "codes back to the same bytes")
		})
	}
}

// A case 2E command keeps its Le through wrapping: '00' Le1 Le2 without
// data, Le1 Le2 after the data.
func TestEncodeExtendedLe(t *testing.T) {
	c, err := parseCommand(hx("00B00000000100"))
	require.NoError(t, err)
	b, err := c.encode(0x04, hx("1122334455667788"))
	require.NoError(t, err)
	require.Equal(t, hx("04B00000"+"000008"+"1122334455667788"+"0100"), b)
	back, err := parseCommand(b)
	require.NoError(t, err)
	b, err = back.encode(0x00, nil)
	require.NoError(t, err)
	require.Equal(t, hx("00B00000000100"), b)
}

// Short coding refuses data past 255 bytes rather than switching to
// extended length behind the caller's back.
func TestLcShortOverflow(t *testing.T) {
	c := command{}
	_, err := c.lc(256)
	require.ErrorIs(t, err, ErrCommand)
	c.extended = true
	lc, err := c.lc(256)
	require.NoError(t, err)
	require.Equal(t, hx("000100"), lc)
	_, err = c.lc(0x10000)
	require.ErrorIs(t, err, ErrCommand)
}

func TestNextCounter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"00000000000000000000000000000000", "00000000000000000000000000000001"},
		{"000000000000000000000000000000FF", "00000000000000000000000000000100"},
		{"0000000000000000000000000000FFFF", "00000000000000000000000000010000"},
		{"00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "01000000000000000000000000000000"},
		{"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "00000000000000000000000000000000"},
	} {
		got := nextCounter([blockSize]byte(hx(tc.in)))
		require.Equal(t, hx(tc.want), got[:], tc.in)
	}
}

func TestUnpad(t *testing.T) {
	full := func(s string) []byte { return hx(s) }
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{name: "one byte of data", in: "AA800000000000000000000000000000", want: "AA", ok: true},
		{name: "15 bytes of data", in: "AABBCCDDEEFF00112233445566778880", want: "AABBCCDDEEFF001122334455667788", ok: true},
		{name: "whole padding block", in: "00112233445566778899AABBCCDDEEFF80000000000000000000000000000000", want: "00112233445566778899AABBCCDDEEFF", ok: true},
		{name: "data ending in 80", in: "8080000000000000000000000000000000", want: "80", ok: true},
		{name: "no 80", in: "AA000000000000000000000000000000"},
		{name: "all zero", in: "00000000000000000000000000000000"},
		{name: "81 instead of 80", in: "AA810000000000000000000000000000"},
		{name: "padding longer than a block", in: "AA80000000000000000000000000000000000000000000000000000000000000"},
		{name: "empty", in: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unpad(full(tc.in))
			if !tc.ok {
				require.ErrorIs(t, err, ErrPadding)
				return
			}
			require.NoError(t, err)
			require.Equal(t, hx(tc.want), got)
		})
	}
	for n := 0; n <= 40; n++ {
		data := bytes.Repeat([]byte{0x80}, n)
		p := pad(data)
		require.Zero(t, len(p)%blockSize)
		require.Greater(t, len(p), n)
		got, err := unpad(p)
		require.NoError(t, err)
		require.Equal(t, data, got)
	}
}

func TestClassByte(t *testing.T) {
	for _, tc := range []struct {
		cla, wrapped, mac byte
	}{
		{0x80, 0x84, 0x84},
		{0x81, 0x85, 0x84}, // logical channel 1: kept on the wire, zero in the MAC
		{0x83, 0x87, 0x84},
		{0x88, 0x84, 0x84}, // ISO SM bits replaced by GP SM '01'
		{0x00, 0x04, 0x04},
		{0x90, 0x94, 0x94}, // command chaining bit kept
		{0xC0, 0xE0, 0xE0}, // further interindustry class: SM is b6
		{0xC5, 0xE5, 0xE0}, // channel 9
		{0x41, 0x61, 0x60},
	} {
		w := wrappedCLA(tc.cla)
		require.Equal(t, tc.wrapped, w, "wrapped %02X", tc.cla)
		require.True(t, hasSM(w), "%02X", w)
		require.Equal(t, tc.mac, macCLA(w), "MAC CLA of %02X", w)
	}
	require.False(t, hasSM(0x80))
	require.False(t, hasSM(0x8C))
	require.False(t, hasSM(0xC1))
}

func TestStatusWord(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want uint16
	}{
		{nil, SWOK},
		{ErrCryptogram, SWAuthenticationFailed},
		{&MACError{What: "C-MAC"}, SWSecurityStatusNotSatisfied},
		{ErrClosed, SWSecurityStatusNotSatisfied},
		{ErrKeyVersion, SWReferencedDataNotFound},
		{ErrSecurityLevel, SWIncorrectP1P2},
		{ErrState, SWConditionsNotSatisfied},
		{ErrSequenceCounter, SWConditionsNotSatisfied},
		{ErrLength, SWWrongLength},
		{ErrPadding, SWWrongData},
		{cmdErr(SWInsNotSupported, "x"), SWInsNotSupported},
		{errors.New("other"), SWWrongData},
	} {
		require.Equal(t, tc.want, StatusWord(tc.err), "%v", tc.err)
	}
}
