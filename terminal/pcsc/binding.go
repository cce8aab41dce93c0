package pcsc

import (
	"time"

	"github.com/ebfe/scard"
)

// scardContext is the part of a PC/SC context the Reader uses; the real
// one is the binding's, tests use fakes.
type scardContext interface {
	ListReaders() ([]string, error)
	GetStatusChange(states []scard.ReaderState, timeout time.Duration) error
	Connect(reader string, mode scard.ShareMode, proto scard.Protocol) (scardCard, error)
	Cancel() error
	Release() error
}

// scardCard is the part of a PC/SC card handle the Reader uses.
type scardCard interface {
	Transmit(cmd []byte) ([]byte, error)
	Status() (*scard.CardStatus, error)
	Reconnect(mode scard.ShareMode, proto scard.Protocol, disp scard.Disposition) error
	Disconnect(disp scard.Disposition) error
	ActiveProtocol() scard.Protocol
}

// binding adapts *scard.Context to scardContext.
type binding struct{ c *scard.Context }

func (b binding) ListReaders() ([]string, error) { return b.c.ListReaders() }
func (b binding) GetStatusChange(s []scard.ReaderState, d time.Duration) error {
	return b.c.GetStatusChange(s, d)
}
func (b binding) Cancel() error  { return b.c.Cancel() }
func (b binding) Release() error { return b.c.Release() }
func (b binding) Connect(r string, m scard.ShareMode, p scard.Protocol) (scardCard, error) {
	c, err := b.c.Connect(r, m, p)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// establish opens a PC/SC context with the service.
func establish() (scardContext, error) {
	c, err := scard.EstablishContext()
	if err != nil {
		return nil, err
	}
	return binding{c}, nil
}
