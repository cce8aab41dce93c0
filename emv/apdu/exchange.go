package apdu

import (
	"errors"
	"fmt"
)

// Transmitter sends one command APDU and returns the card's response APDU,
// as a reader (PC/SC, an in-process card) does.
type Transmitter interface {
	Transmit(cmd []byte) ([]byte, error)
}

// ErrTooManyRounds reports a card that keeps answering 61xx or 6Cxx.
var ErrTooManyRounds = errors.New("apdu: too many GET RESPONSE or resend rounds")

// MaxRounds bounds the commands Exchange sends for one command: the command
// itself, GET RESPONSEs and resends.
const MaxRounds = 32

// Exchange sends cmd and handles the status words that ask the terminal for
// another command (ISO/IEC 7816-4 section 5.1.3, EMV Book 1 section 9.3):
//   - 61xx: response data continues; GET RESPONSE with Le = xx is sent and
//     the data of all answers are concatenated;
//   - 6Cxx: wrong Le; the same command is sent again with Le = xx.
//
// The result carries all data and the last status word. A response shorter
// than 2 bytes is an error (ErrResponseTooShort), as is a card that is still
// asking after MaxRounds commands (ErrTooManyRounds).
func Exchange(t Transmitter, cmd Command) (Response, error) {
	var data []byte
	cur := cmd
	for round := 1; round <= MaxRounds; round++ {
		raw, err := cur.Bytes()
		if err != nil {
			return Response{}, err
		}
		out, err := t.Transmit(raw)
		if err != nil {
			return Response{}, fmt.Errorf("apdu: transmit %02X%02X: %w", cur.CLA, cur.INS, err)
		}
		r, err := ParseResponse(out)
		if err != nil {
			return Response{}, err
		}
		switch r.SW1() {
		case 0x61:
			data = append(data, r.Data...)
			cur = GetResponse(leFromSW2(r.SW2()))
		case 0x6C:
			cur.Le = leFromSW2(r.SW2())
		default:
			return Response{Data: append(data, r.Data...), SW: r.SW}, nil
		}
	}
	return Response{}, fmt.Errorf("%w: %d commands sent", ErrTooManyRounds, MaxRounds)
}
