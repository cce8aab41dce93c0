package pos

import (
	"context"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// ErrNotPresented reports that the card was not presented again when the
// outcome asked for it.
var ErrNotPresented = errors.New("pos: card not presented again")

// Presenter brings the card back to the field when an outcome asks for it
// (Try Again, or "See Phone for Instructions" with a restart at Start B):
// the cardholder unlocks the phone and taps again. It returns the reader
// the card is now in, or an error (ErrNotPresented) when the cardholder
// does not present it.
type Presenter interface {
	PresentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error)
}

// PresenterFunc adapts a function to the Presenter interface.
type PresenterFunc func(ctx context.Context, o kernel.Outcome) (kernel.Reader, error)

// PresentAgain calls f.
func (f PresenterFunc) PresentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
	return f(ctx, o)
}

// PhonePresenter presents a virtual card again on an in-process reader,
// as a cardholder would in a headless run: a phone is first unlocked with
// Passcode (or by biometric when Biometric is set), then tapped again. A
// plastic card is simply tapped again. A phone with neither a passcode nor a
// biometric to unlock it is not presented (ErrNotPresented).
type PhonePresenter struct {
	Reader    *inproc.Reader
	Card      cards.Card
	Passcode  string
	Biometric bool
}

// PresentAgain honours the outcome's Field Off on the reader, unlocks the
// phone if it is one and puts the card back in the reader's field.
func (p PhonePresenter) PresentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Reader == nil || p.Card == nil {
		return nil, fmt.Errorf("%w: no card", ErrNotPresented)
	}
	if ph, ok := cards.Phone(p.Card); ok && !ph.Verified() {
		switch {
		case p.Passcode != "":
			// A wrong code is the phone's business: the cardholder taps
			// anyway and the phone answers for itself.
			_ = ph.Unlock(p.Passcode)
		case p.Biometric:
			_ = ph.UnlockBiometric(true)
		default:
			return nil, fmt.Errorf("%w: the phone asks to be unlocked", ErrNotPresented)
		}
	}
	if o.FieldOff > 0 {
		if err := p.Reader.FieldOff(ctx, o.FieldOff); err != nil {
			return nil, err
		}
	}
	p.Reader.Present(p.Card)
	return p.Reader, nil
}
