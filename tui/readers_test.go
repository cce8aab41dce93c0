package tui

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// fieldReader is a PC/SC reader stand-in with a virtual card on it.
type fieldReader struct {
	*inproc.Reader
	card cards.Card

	mu              sync.Mutex
	waited, closed  int
	presentedAgain  int
	unlockOnPresent bool
}

func (f *fieldReader) WaitForCard(ctx context.Context) error {
	f.mu.Lock()
	f.waited++
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fieldReader) PresentAgain(ctx context.Context, _ kernel.Outcome) (kernel.Reader, error) {
	f.mu.Lock()
	f.presentedAgain++
	f.mu.Unlock()
	if ph, ok := cards.Phone(f.card); ok {
		_ = ph.Unlock("5791")
	}
	f.Present(f.card)
	return f, nil
}

func (f *fieldReader) Close() error {
	f.mu.Lock()
	f.closed++
	f.mu.Unlock()
	return nil
}

// A reader is in the wallet; a tap waits for the card on it, runs the
// transaction on whatever is there, and a See Phone is left to the reader
// (the holder unlocks the real phone and taps again).
func TestPCSCReaderInWallet(t *testing.T) {
	b := testBackend("visa-plastic")
	c, err := b.LoadCard("visa-se-phone")
	require.NoError(t, err)
	fr := &fieldReader{Reader: inproc.New(c), card: c}
	b.Readers = func() ([]string, error) { return []string{"ACS ACR122U 00 00"}, nil }
	b.OpenReader = func(_ context.Context, name string) (FieldReader, error) {
		if name != "ACS ACR122U 00 00" {
			return nil, errors.New("no such reader")
		}
		return fr, nil
	}
	r := newRig(t, b)
	r.key(tcell.KeyDown)
	r.wait("> reader: ACS ACR122U")
	r.keys("p")
	r.wait("a PC/SC reader")
	r.keys("350000t")
	s := r.wait("HOST UNAVAILABLE", "CVM: cdcvm")
	require.Contains(t, s, "reader: ACS ACR122U")
	fr.mu.Lock()
	defer fr.mu.Unlock()
	require.Equal(t, 1, fr.waited)
	require.Equal(t, 1, fr.presentedAgain)
	require.Equal(t, 1, fr.closed)
}

func TestReadersListFails(t *testing.T) {
	b := testBackend("visa-plastic")
	b.Readers = func() ([]string, error) { return nil, errors.New("pcsc: PC/SC service not available") }
	b.OpenReader = func(context.Context, string) (FieldReader, error) { return nil, errors.New("none") }
	require.Equal(t, []string{"visa-plastic"}, walletWithReaders(b))
}
