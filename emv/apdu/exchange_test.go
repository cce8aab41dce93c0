package apdu_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
)

// script is a card that answers each command with the next scripted
// response and records what it was sent.
type script struct {
	t     *testing.T
	steps []step
	sent  [][]byte
}

type step struct {
	want string // expected command, hex
	resp string // response, hex
	err  error
}

func (s *script) Transmit(cmd []byte) ([]byte, error) {
	s.sent = append(s.sent, cmd)
	require.NotEmpty(s.t, s.steps, "unexpected command %X", cmd)
	st := s.steps[0]
	s.steps = s.steps[1:]
	require.Equal(s.t, h(st.want), cmd)
	return h(st.resp), st.err
}

func TestExchangeDirect(t *testing.T) {
	card := &script{t: t, steps: []step{{"00A40400 0E 325041592E5359532E4444463031 00", "6F00 9000", nil}}}
	r, err := apdu.Exchange(card, apdu.SelectPPSE())
	require.NoError(t, err)
	require.Equal(t, apdu.Response{Data: h("6F00"), SW: 0x9000}, r)
	require.Empty(t, card.steps)
}

// 61xx: GET RESPONSE with Le = xx, repeated, the data concatenated.
func TestExchangeGetResponse(t *testing.T) {
	card := &script{t: t, steps: []step{
		{"80A80000 02 8300 00", "6110", nil},
		{"00C00000 10", "77 0E 8202 1980 9408 0801010010010301 6104", nil},
		{"00C00000 04", "AABBCCDD 9000", nil},
	}}
	r, err := apdu.Exchange(card, apdu.GPO(nil))
	require.NoError(t, err)
	require.Equal(t, h("770E8202198094080801010010010301 AABBCCDD"), r.Data)
	require.Equal(t, apdu.SW9000, r.SW)
	require.Empty(t, card.steps)
}

// 61 00 asks for 256 bytes.
func TestExchangeGetResponse256(t *testing.T) {
	card := &script{t: t, steps: []step{
		{"00B2010C 00", "6100", nil},
		{"00C00000 00", "01 9000", nil},
	}}
	r, err := apdu.Exchange(card, apdu.ReadRecord(1, 1))
	require.NoError(t, err)
	require.Equal(t, h("01"), r.Data)
}

// 6Cxx: the same command again with Le = xx.
func TestExchangeWrongLe(t *testing.T) {
	card := &script{t: t, steps: []step{
		{"80CA9F17 00", "6C04", nil},
		{"80CA9F17 04", "9F170103 9000", nil},
	}}
	r, err := apdu.Exchange(card, apdu.GetData(0x9F17))
	require.NoError(t, err)
	require.Equal(t, apdu.Response{Data: h("9F170103"), SW: 0x9000}, r)

	// 6Cxx in answer to a GET RESPONSE resends the GET RESPONSE.
	card = &script{t: t, steps: []step{
		{"00B2010C 00", "6108", nil},
		{"00C00000 08", "6C05", nil},
		{"00C00000 05", "0102030405 9000", nil},
	}}
	r, err = apdu.Exchange(card, apdu.ReadRecord(1, 1))
	require.NoError(t, err)
	require.Equal(t, h("0102030405"), r.Data)
}

// Other status words, warnings and errors alike, end the exchange.
func TestExchangeOtherStatus(t *testing.T) {
	card := &script{t: t, steps: []step{{"00B2010C 00", "6A83", nil}}}
	r, err := apdu.Exchange(card, apdu.ReadRecord(1, 1))
	require.NoError(t, err)
	require.Equal(t, apdu.SW6A83, r.SW)
	require.Empty(t, r.Data)

	card = &script{t: t, steps: []step{
		{"00A40400 07 A0000000041010 00", "6102", nil},
		{"00C00000 02", "6F00 6283", nil},
	}}
	r, err = apdu.Exchange(card, apdu.Select(h("A0000000041010"), true))
	require.NoError(t, err)
	require.Equal(t, apdu.Response{Data: h("6F00"), SW: apdu.SW6283}, r)
}

func TestExchangeErrors(t *testing.T) {
	// A card gone from the field: an empty response and no error.
	card := &script{t: t, steps: []step{{"00B2010C 00", "", nil}}}
	_, err := apdu.Exchange(card, apdu.ReadRecord(1, 1))
	require.ErrorIs(t, err, apdu.ErrResponseTooShort)

	card = &script{t: t, steps: []step{{"00B2010C 00", "90", nil}}}
	_, err = apdu.Exchange(card, apdu.ReadRecord(1, 1))
	require.ErrorIs(t, err, apdu.ErrResponseTooShort)

	gone := errors.New("reader removed")
	card = &script{t: t, steps: []step{{"00B2010C 00", "", gone}}}
	_, err = apdu.Exchange(card, apdu.ReadRecord(1, 1))
	require.ErrorIs(t, err, gone)
	require.ErrorContains(t, err, "apdu: transmit 00B2")

	_, err = apdu.Exchange(card, apdu.Command{Le: -5})
	require.ErrorIs(t, err, apdu.ErrLe)
}

// A card that never stops asking is cut off after MaxRounds commands.
func TestExchangeBounded(t *testing.T) {
	for _, sw := range []string{"6101", "6C01"} {
		n := 0
		loop := transmitFunc(func([]byte) ([]byte, error) { n++; return h("AA" + sw), nil })
		_, err := apdu.Exchange(loop, apdu.ReadRecord(1, 1))
		require.ErrorIs(t, err, apdu.ErrTooManyRounds, sw)
		require.Equal(t, apdu.MaxRounds, n, sw)
	}
}

type transmitFunc func([]byte) ([]byte, error)

func (f transmitFunc) Transmit(b []byte) ([]byte, error) { return f(b) }
