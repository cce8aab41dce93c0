package kernel

import (
	"context"
	"errors"
	"time"
)

// Reader reaches a card in the field: it sends one command APDU and returns
// the card's response APDU, status word included. The PC/SC adapter and the
// in-process adapter for virtual cards implement it.
//
// A card that left the field, did not answer in time, or garbled the
// exchange (the transmission, protocol and time-out errors of EMV
// Contactless Book D) must be reported with an error wrapping ErrCardRemoved:
// the Entry Point and the kernels turn it into a Try Again outcome ("Present
// Card Again"). Any other error is a fault of the reader itself and ends the
// transaction with that error.
type Reader interface {
	Transmit(ctx context.Context, capdu []byte) ([]byte, error)
}

// RemovalWaiter is a Reader that can watch the field for the card leaving
// it (the card removal of EMV Contactless Book D), so that the Entry Point
// honours an outcome's Removal Timeout. WaitRemoved returns true once the
// card has left the field, false when timeout passed with the card still
// there; it must let the time pass by an injected clock when it simulates
// one, never by sleeping in tests.
type RemovalWaiter interface {
	WaitRemoved(ctx context.Context, timeout time.Duration) (bool, error)
}

// ReaderFunc adapts a function to the Reader interface.
type ReaderFunc func(ctx context.Context, capdu []byte) ([]byte, error)

// Transmit calls f.
func (f ReaderFunc) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	return f(ctx, capdu)
}

// Sentinel errors.
var (
	// ErrCardRemoved is what a Reader wraps when the card is gone or the
	// exchange failed at the contactless protocol level.
	ErrCardRemoved = errors.New("kernel: card removed or not answering")
	// ErrCollision is what a Reader wraps when more than one card is in
	// the field (Book D collision detection): the Entry Point asks the
	// cardholder to present one card only and waits for it.
	ErrCollision = errors.New("kernel: more than one card in the field")
	// ErrConfig reports a configuration that cannot be used.
	ErrConfig = errors.New("kernel: bad configuration")
	// ErrCAPK reports a CA public key file that cannot be used.
	ErrCAPK = errors.New("kernel: bad CA public key file")
	// ErrTransaction reports transaction data the kernel cannot use
	// (negative amount, unknown transaction type).
	ErrTransaction = errors.New("kernel: bad transaction")
)

// Exchange is one command-response pair as it went over the Reader, for
// traces: the command, the response (status word included), how long the
// Reader took, and the Reader's error if it failed.
type Exchange struct {
	C, R []byte
	Dur  time.Duration
	Err  error
}

// TraceFunc receives every exchange with the card, in order, including the
// GET RESPONSE commands of response chaining.
type TraceFunc func(Exchange)
