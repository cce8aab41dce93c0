package kernel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/apdu"
)

// Card is the channel to the card for one presentation: it codes commands,
// follows response chaining (61xx, 6Cxx) through apdu.Exchange, reports each
// raw exchange to the trace, and sorts Reader errors into communication
// errors (ErrCardRemoved) and reader faults.
type Card struct {
	ctx   context.Context
	r     Reader
	trace TraceFunc
	n     int
}

// NewCard returns the channel to the card behind r. trace may be nil.
func NewCard(ctx context.Context, r Reader, trace TraceFunc) *Card {
	return &Card{ctx: ctx, r: r, trace: trace}
}

// Exchanges is the number of command APDUs sent so far.
func (c *Card) Exchanges() int { return c.n }

// Transmit sends one raw command APDU; it implements apdu.Transmitter.
func (c *Card) Transmit(capdu []byte) ([]byte, error) {
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	c.n++
	start := time.Now()
	resp, err := c.r.Transmit(c.ctx, capdu)
	if c.trace != nil {
		c.trace(Exchange{
			C:   append([]byte(nil), capdu...),
			R:   append([]byte(nil), resp...),
			Dur: time.Since(start),
			Err: err,
		})
	}
	return resp, err
}

// Send sends cmd and returns the card's response, chained responses joined.
// Communication errors (the card left, timed out, or answered fewer than two
// bytes, or kept chaining without end) wrap ErrCardRemoved; a context error
// or another Reader error is returned as it is.
func (c *Card) Send(cmd apdu.Command) (apdu.Response, error) {
	resp, err := apdu.Exchange(c, cmd)
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apdu.Response{}, err
	case errors.Is(err, ErrCardRemoved):
		return apdu.Response{}, err
	case errors.Is(err, apdu.ErrResponseTooShort), errors.Is(err, apdu.ErrTooManyRounds):
		return apdu.Response{}, fmt.Errorf("%w: %w", ErrCardRemoved, err)
	}
	return apdu.Response{}, fmt.Errorf("kernel: reader: %w", err)
}

// IsCommunicationError reports whether err is a communication error with
// the card (it wraps ErrCardRemoved): the transaction goes on with a new
// presentation, not with an error.
func IsCommunicationError(err error) bool { return errors.Is(err, ErrCardRemoved) }
