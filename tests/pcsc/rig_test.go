package pcsc

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/pcsc"
	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
)

// testNow is the fixed date and time of every transaction here.
var testNow = time.Date(2026, 11, 24, 21, 20, 10, 0, time.FixedZone("CST", 8*3600))

// rig is one virtual card or phone served over vpcd to a slot of the
// private pcscd, and the terminal's PC/SC reader on that slot.
type rig struct {
	t      testing.TB
	d      *pcscd.Daemon
	slot   int
	card   cards.Card
	server *vpcd.Server
	reader *pcsc.Reader
}

// newCard builds a card of a built-in profile with fixed sources.
func newCard(t testing.TB, profile string) cards.Card {
	t.Helper()
	p, err := cards.Builtin(profile)
	require.NoError(t, err)
	c, err := cards.FromProfile(p, cards.Options{
		Rand:  rand.NewChaCha8([32]byte{1, 2, 3}),
		Clock: func() time.Time { return testNow },
	})
	require.NoError(t, err)
	return c
}

// newRig serves card on slot 0 and opens the reader, the card out of the
// field. At the end the card is taken away and pcscd has seen it go, so
// that the next test finds the reader empty.
func newRig(t testing.TB, card cards.Card, o vpcd.Options) *rig {
	t.Helper()
	d := pcscd.Need(t)
	r := &rig{t: t, d: d, card: card}
	r.server = vpcd.New(d.VPCD(r.slot), card, o)
	reader, err := pcsc.Open(d.Reader(r.slot), pcsc.Options{})
	require.NoError(t, err)
	r.reader = reader
	t.Cleanup(func() {
		r.server.Remove()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if d.Running() {
			require.NoError(t, r.reader.WaitForRemoval(ctx))
		}
		require.NoError(t, r.reader.Close())
	})
	return r
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// present puts the card in the field and waits until the reader is
// connected to it, as a terminal polling for a card does.
func (r *rig) present(ctx context.Context) {
	r.t.Helper()
	require.NoError(r.t, r.server.Insert(ctx))
	require.NoError(r.t, r.reader.WaitForCard(ctx))
}

// takeAway takes the card out of the field and waits until pcscd has seen
// it go: a card presented again before that would be found unpowered.
func (r *rig) takeAway(ctx context.Context) {
	r.t.Helper()
	r.server.Remove()
	require.NoError(r.t, r.reader.WaitForRemoval(ctx))
}

// unlock verifies the holder on the phone while it is out of the field.
func (r *rig) unlock(code string) {
	r.t.Helper()
	r.server.Do(func(c cards.Card) {
		ph, ok := cards.Phone(c)
		require.True(r.t, ok, "not a phone")
		require.NoError(r.t, ph.Unlock(code))
	})
}

// phone runs fn with the phone, between commands.
func (r *rig) phone(fn func(ph phoneView)) {
	r.server.Do(func(c cards.Card) {
		ph, ok := cards.Phone(c)
		require.True(r.t, ok, "not a phone")
		fn(ph)
	})
}

// phoneView is what the tests read from a phone.
type phoneView interface {
	KeysLeft() int
	Verified() bool
}

// terminalConfig is the default Taiwanese terminal with the test CA's
// keys, a fixed clock and a fixed unpredictable number.
func terminalConfig(t testing.TB) kernel.Config {
	t.Helper()
	cfg := kernel.DefaultConfig()
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(t, err)
	cfg.CAPublicKeys = capk
	cfg.Clock = kernel.FixedClock(testNow)
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{0x12, 0x34, 0x56, 0x78})
	return cfg
}

// startTap begins a purchase of amount through the rig's reader with the
// card already in the field.
func (r *rig) startTap(ctx context.Context, cfg kernel.Config, amount int64) (*entry.EntryPoint, kernel.Outcome) {
	r.t.Helper()
	ep, err := entry.New(cfg)
	require.NoError(r.t, err)
	out, err := ep.Start(ctx, r.reader, kernel.Transaction{Amount: amount, Type: kernel.Purchase})
	require.NoError(r.t, err)
	return ep, out
}

// uiMessages lists the messages an outcome asked to show.
func uiMessages(o kernel.Outcome) []kernel.MessageID {
	var out []kernel.MessageID
	for _, u := range o.UIRequests {
		out = append(out, u.Message)
	}
	return out
}
