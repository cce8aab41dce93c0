package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

// ReaderPrefix marks the wallet entries that are PC/SC readers.
const ReaderPrefix = "reader: "

// FieldReader is a reader with a real field (PC/SC): the UI waits for the
// card, taps whatever is on it, and lets the reader wait for the card again
// when the outcome asks. *pcsc.Reader is one.
type FieldReader interface {
	kernel.Reader
	WaitForCard(ctx context.Context) error
	PresentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error)
	Close() error
}

// readerName is the reader behind a wallet entry, "" for a virtual card.
func readerName(entry string) string {
	if name, ok := strings.CutPrefix(entry, ReaderPrefix); ok {
		return name
	}
	return ""
}

// walletWithReaders is the wallet followed by the readers present.
func walletWithReaders(b Backend) []string {
	w := append([]string(nil), b.Wallet...)
	if b.Readers == nil || b.OpenReader == nil {
		return w
	}
	names, err := b.Readers()
	if err != nil {
		return w
	}
	for _, n := range names {
		w = append(w, ReaderPrefix+n)
	}
	return w
}

// field is the physical reader of the running transaction, nil for a
// virtual card.
func (a *App) field() FieldReader {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fieldRd
}

// tapReader runs a transaction on whatever card is on a PC/SC reader.
func (a *App) tapReader(entry string, amount int64, typ model.TxType) {
	name := readerName(entry)
	mark := a.b.HostLog.Len()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		res, err := func() (*pos.Result, error) {
			fr, err := a.b.OpenReader(a.ctx, name)
			if err != nil {
				return nil, fmt.Errorf("tui: reader %s: %w", name, err)
			}
			defer fr.Close()
			a.mu.Lock()
			a.fieldRd = fr
			a.mu.Unlock()
			defer func() {
				a.mu.Lock()
				a.fieldRd = nil
				a.mu.Unlock()
			}()
			a.post(func(m *model.Model) {
				m.Display, m.Status = kernel.MsgPresentCard.String(), kernel.StatusReadyToRead.String()
				m.Notice = "present the card or phone on " + name
			})
			if err := fr.WaitForCard(a.ctx); err != nil {
				return nil, err
			}
			if typ == model.Refund {
				return a.term.Refund(a.ctx, amount, fr)
			}
			return a.term.Sale(a.ctx, amount, fr)
		}()
		host := a.b.HostLog.Since(mark)
		e := entryOf(a.now(), typ.String(), entry, amount, res, err)
		a.post(func(m *model.Model) { a.finish(m, e, res, host) })
	}()
}
