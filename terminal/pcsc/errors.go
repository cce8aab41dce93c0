package pcsc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ebfe/scard"

	"github.com/tapsim/tapsim/kernel"
)

// What went wrong, for callers that branch on it. Errors of this package
// are *Error values that wrap one of these; those marked "card" also wrap
// kernel.ErrCardRemoved, so that the kernel ends the presentation with Try
// Again ("Present card again") instead of failing the transaction.
var (
	// ErrNoService: the PC/SC service (pcscd) is not running or went
	// away.
	ErrNoService = errors.New("pcsc: PC/SC service not available")
	// ErrNoReaders: the service knows no reader.
	ErrNoReaders = errors.New("pcsc: no reader connected")
	// ErrUnknownReader: no reader matches the name or index asked for, or
	// several do.
	ErrUnknownReader = errors.New("pcsc: no such reader")
	// ErrReaderGone: the reader was unplugged or stopped working.
	ErrReaderGone = errors.New("pcsc: reader unavailable (unplugged?)")
	// ErrBusy: another application holds the card exclusively.
	ErrBusy = errors.New("pcsc: card in use by another application")
	// ErrClosed: the Reader was closed.
	ErrClosed = errors.New("pcsc: reader closed")

	// ErrNoCard (card): no card in the field.
	ErrNoCard = errors.New("pcsc: no card in the field")
	// ErrCardRemoved (card): the card left the field.
	ErrCardRemoved = errors.New("pcsc: card removed")
	// ErrEmptyResponse (card): the exchange gave no status word, as when
	// the card leaves the field with a command in flight.
	ErrEmptyResponse = errors.New("pcsc: empty response from the card")
	// ErrCardReset (card): the card was reset (taken away and presented
	// again, or reset by another application); the handle was reconnected
	// and the transaction must start over.
	ErrCardReset = errors.New("pcsc: card was reset")
	// ErrUnpowered (card): the card is in the field but not powered.
	ErrUnpowered = errors.New("pcsc: card not powered")
	// ErrCardComm (card): the card did not answer in time, answered
	// garbage or speaks no protocol the reader offers.
	ErrCardComm = errors.New("pcsc: communication with the card failed")
)

// Error is a failed PC/SC operation.
type Error struct {
	// Op is what was tried: "connect", "transmit", "wait for card", ...
	Op string
	// Reader is the reader's name, when there is one.
	Reader string
	// Kind is one of the sentinel errors of this package, or nil for a
	// PC/SC failure without one of its own.
	Kind error
	// Code is the PC/SC return code; 0 when there was none (an empty
	// response).
	Code scard.Error
	// Detail says more, when there is more to say.
	Detail string
}

// Error describes the failure in one line: what, where, why, and the
// PC/SC code.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pcsc: ")
	b.WriteString(e.Op)
	if e.Reader != "" {
		fmt.Fprintf(&b, " on %q", e.Reader)
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "pcsc: "))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (%s, 0x%08X)", strings.TrimPrefix(e.Code.Error(), "scard: "), uint32(e.Code))
	}
	return b.String()
}

// Unwrap gives the kind, kernel.ErrCardRemoved for errors of the card
// rather than the reader, and the PC/SC code.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.CardError() {
		out = append(out, kernel.ErrCardRemoved)
	}
	if e.Code != 0 {
		out = append(out, e.Code)
	}
	return out
}

// CardError reports whether the failure is the card's (it left, was reset,
// did not answer): the kernel then asks for the card again. Other failures
// are the reader's or the service's.
func (e *Error) CardError() bool {
	switch e.Kind {
	case ErrNoCard, ErrCardRemoved, ErrEmptyResponse, ErrCardReset, ErrUnpowered, ErrCardComm:
		return true
	}
	return false
}

// kindOf sorts a PC/SC return code. Cancellation is not sorted here: the
// caller turns it into its context's error.
func kindOf(code scard.Error) error {
	switch code {
	case scard.ErrRemovedCard:
		return ErrCardRemoved
	case scard.ErrNoSmartcard:
		return ErrNoCard
	case scard.ErrResetCard:
		return ErrCardReset
	case scard.ErrUnpoweredCard:
		return ErrUnpowered
	case scard.ErrUnresponsiveCard, scard.ErrNotTransacted, scard.ErrProtoMismatch,
		scard.ErrUnsupportedCard, scard.ErrCardUnsupported, scard.ErrTimeout, scard.ErrInvalidAtr:
		return ErrCardComm
	case scard.ErrReaderUnavailable, scard.ErrUnknownReader:
		return ErrReaderGone
	case scard.ErrNoReadersAvailable:
		return ErrNoReaders
	case scard.ErrSharingViolation:
		return ErrBusy
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrCommError, scard.ErrInvalidHandle,
		scard.ErrShutdown:
		return ErrNoService
	}
	return nil
}

// newError makes the Error for a failed call. err is what the binding
// returned: a PC/SC code, or another error.
func newError(op, reader string, err error) *Error {
	e := &Error{Op: op, Reader: reader}
	var code scard.Error
	if errors.As(err, &code) {
		e.Code = code
		e.Kind = kindOf(code)
		return e
	}
	if err != nil {
		e.Detail = err.Error()
	}
	return e
}

// isCancel reports a PC/SC call ended by SCardCancel.
func isCancel(err error) bool {
	return errors.Is(err, scard.ErrCancelled) || errors.Is(err, scard.ErrSystemCancelled) ||
		errors.Is(err, scard.ErrCancelledByUser)
}
