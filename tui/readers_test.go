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
	// holderAway makes PresentAgain wait for the card until it is given
	// up: the holder never comes back.
	holderAway bool
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
	away := f.holderAway
	f.mu.Unlock()
	if away {
		<-ctx.Done()
		return nil, ctx.Err()
	}
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
	r.wait("> ▣ ACS ACR122U 00 00")
	r.keys("p")
	r.wait("a PC/SC reader")
	r.keys("350000t")
	s := r.wait("HOST UNAVAILABLE", "CVM: cdcvm")
	require.Contains(t, s, "reader: ACS")
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

// The holder of a phone on a reader does not come back after See Phone: the
// UI says what to do, t cannot present a card that is not there, and Esc
// gives up the wait; the reader is closed and the next tap works.
func TestPCSCReaderSeePhoneGivenUp(t *testing.T) {
	b := testBackend("visa-plastic")
	c, err := b.LoadCard("visa-se-phone")
	require.NoError(t, err)
	fr := &fieldReader{Reader: inproc.New(c), card: c, holderAway: true}
	b.Readers = func() ([]string, error) { return []string{"ACS ACR122U 00 00"}, nil }
	b.OpenReader = func(context.Context, string) (FieldReader, error) { return fr, nil }
	r := newRig(t, b)
	r.key(tcell.KeyDown)
	r.keys("350000t")
	r.wait("See Phone", "unlock the phone itself, then present it on the reader again; Esc gives up", "waiting for the card")
	r.keys("t")
	r.wait("present the card or phone on the reader again")
	r.key(tcell.KeyEscape)
	s := r.wait("ready")
	require.NotContains(t, s, "APPROVED")
	h := r.waitHistory(1)
	require.False(t, h[0].Approved)
	fr.mu.Lock()
	require.Equal(t, 1, fr.presentedAgain)
	require.Equal(t, 1, fr.closed)
	fr.holderAway = false
	fr.mu.Unlock()

	r.keys("t")
	r.wait("HOST UNAVAILABLE", "CVM: cdcvm")
}
