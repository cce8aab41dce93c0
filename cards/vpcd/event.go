package vpcd

import (
	"fmt"
	"time"
)

// EventType says what happened to a served card.
type EventType int

// Event types.
const (
	// EventWaiting: vpcd refused the connection; the Server keeps trying.
	EventWaiting EventType = iota + 1
	// EventInserted: connected to vpcd, the card is in the field.
	EventInserted
	// EventPowerOn, EventPowerOff, EventReset: control codes from vpcd.
	EventPowerOn
	EventPowerOff
	EventReset
	// EventATR: the ATR was asked for and sent.
	EventATR
	// EventAPDU: a command APDU was answered.
	EventAPDU
	// EventUnknown: a frame that is neither a known control code nor an
	// APDU; it got no answer.
	EventUnknown
	// EventStuck: the card did not answer in time.
	EventStuck
	// EventRemoved: the card left the field; Err says why.
	EventRemoved
)

var eventNames = map[EventType]string{
	EventWaiting:  "waiting for vpcd",
	EventInserted: "inserted",
	EventPowerOn:  "power on",
	EventPowerOff: "power off",
	EventReset:    "reset",
	EventATR:      "ATR",
	EventAPDU:     "APDU",
	EventUnknown:  "unknown frame",
	EventStuck:    "stuck",
	EventRemoved:  "removed",
}

// String names the event type.
func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("event %d", int(t))
}

// Event is one thing that happened to a served card. It carries no APDU
// data: only lengths, the instruction byte and the status word, so that
// events can be logged without revealing card data.
type Event struct {
	Type EventType
	// Code is the instruction byte of an APDU, or the control code of an
	// unknown frame.
	Code byte
	// Len is the length of the command APDU, or of the ATR.
	Len int
	// SW is the status word the card answered an APDU with.
	SW uint16
	// Dur is the time the card took to answer the frame.
	Dur time.Duration
	// Err is why the card left the field (EventRemoved: ErrRemoved,
	// ErrPeerClosed, ErrStuck or a connection error), why the
	// connection was refused (EventWaiting), or ErrCardPanicked for a
	// frame the card panicked on.
	Err error
}

// String describes the event in one line.
func (e Event) String() string {
	switch e.Type {
	case EventAPDU:
		line := fmt.Sprintf("APDU INS %02X (%d bytes) -> %04X in %s", e.Code, e.Len, e.SW, e.Dur.Round(time.Microsecond))
		if e.Err != nil {
			line += ": " + e.Err.Error()
		}
		return line
	case EventATR:
		return fmt.Sprintf("ATR sent (%d bytes)", e.Len)
	case EventUnknown:
		return fmt.Sprintf("unknown frame %02X ignored", e.Code)
	case EventRemoved, EventWaiting, EventStuck:
		if e.Err != nil {
			return fmt.Sprintf("%s: %v", e.Type, e.Err)
		}
	}
	return e.Type.String()
}
