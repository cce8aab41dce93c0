package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/tui"
)

// tuiRig is the UI on the embedded network, drawn on a simulation screen.
type tuiRig struct {
	t    *testing.T
	sim  tcell.SimulationScreen
	app  *tui.App
	done chan error
}

func newTUIRig(t *testing.T) *tuiRig {
	t.Helper()
	s, err := startTUISession(context.Background(), t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Close)
	sim := tcell.NewSimulationScreen("UTF-8")
	app, err := tui.New(s.backend, tui.Options{Screen: sim, SaveDir: t.TempDir()})
	require.NoError(t, err)
	sim.SetSize(80, 24)
	r := &tuiRig{t: t, sim: sim, app: app, done: make(chan error, 1)}
	go func() { r.done <- app.Run() }()
	t.Cleanup(func() {
		app.Stop()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("the UI did not stop")
		}
	})
	r.wait("Wallet")
	return r
}

func (r *tuiRig) keys(s string) {
	for _, c := range s {
		r.sim.InjectKey(tcell.KeyRune, c, tcell.ModNone)
	}
}

func (r *tuiRig) key(k tcell.Key) { r.sim.InjectKey(k, 0, tcell.ModNone) }

// wait waits until every text is on screen and returns the screen.
func (r *tuiRig) wait(texts ...string) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		screen = r.app.Snapshot(r.sim)
		ok := true
		for _, t := range texts {
			if !strings.Contains(screen, t) {
				ok = false
				break
			}
		}
		if ok {
			return screen
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("timed out waiting for %q on:\n%s", texts, screen)
	return ""
}

func TestTUIApprovedSale(t *testing.T) {
	r := newTUIRig(t)
	r.keys("150000")
	r.wait("NT$1,500.00")
	r.keys("t")
	s := r.wait("APPROVED", "DE39 00")
	require.Contains(t, s, "visa-plastic")
	require.Contains(t, s, "476173******0010")
	require.NotContains(t, s, "4761739001010010")

	// The ISO 8583 and host log panes.
	r.key(tcell.KeyTab)
	r.wait("Trace: ISO 8583")
	r.key(tcell.KeyTab)
	s = r.wait("Trace: host log", "host=")
	require.NotContains(t, s, "4761739001010010")

	// Void the sale, then a refund.
	r.keys("v")
	r.wait("Voided")
	r.keys("r")
	r.wait("REFUND")
	r.keys("t")
	r.wait("refund NT$1,500.00 visa-plastic")
	r.keys("h")
	s = r.wait("History", "void")
	require.Contains(t, s, "refund")
}

func TestTUISeePhoneThenUnlock(t *testing.T) {
	r := newTUIRig(t)
	r.key(tcell.KeyDown)
	r.key(tcell.KeyDown)
	r.key(tcell.KeyDown)
	r.wait("> hce-phone")
	r.keys("150000t")
	r.wait("See Phone")
	r.keys("p")
	r.wait("state: locked")
	r.keys("5791u")
	r.wait("unlocked with passcode")
	r.keys("t")
	s := r.wait("APPROVED", "CVM: cdcvm")
	require.Contains(t, s, "hce-phone")
}

func TestTUIOnlinePINWrongThenRight(t *testing.T) {
	r := newTUIRig(t)
	r.keys("350000t")
	r.wait("PIN pad")
	r.keys("9999")
	r.wait("PIN: ****")
	r.key(tcell.KeyEnter)
	s := r.wait("DECLINED", "DE39 55")
	require.NotContains(t, s, "9999")
	r.keys("t")
	r.wait("PIN pad")
	r.keys("1234")
	r.key(tcell.KeyEnter)
	r.wait("APPROVED", "DE39 00", "CVM: online_pin")
}

func TestTUIIssuerDown(t *testing.T) {
	r := newTUIRig(t)
	r.keys("i")
	r.wait("issuer down")
	r.keys("120000t")
	r.wait("DE39 91")
}

// panel opens the selected phone's panel once the running tap is over (the
// key is refused while the card is in the field) and waits for texts on it.
func (r *tuiRig) panel(texts ...string) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = r.app.Snapshot(r.sim)
		if !strings.Contains(s, "state: ") {
			r.keys("p")
		} else if containsAll(s, texts) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("timed out waiting for the phone panel with %q on:\n%s", texts, s)
	return ""
}

func containsAll(s string, texts []string) bool {
	for _, t := range texts {
		if !strings.Contains(s, t) {
			return false
		}
	}
	return true
}

// An HCE phone spends one single-use key per tap (R-S5b); once they are all
// spent the panel's replenish asks the issuer's cloud platform for a new
// batch, the phone opens it under the transport key, and the next tap is
// approved by the issuer with a key of the new batch.
func TestTUIReplenishHCEPhone(t *testing.T) {
	r := newTUIRig(t)
	for range 3 {
		r.key(tcell.KeyDown)
	}
	r.wait("> hce-phone")
	r.keys("150000")
	r.wait("NT$1,500.00")
	for left := 5; left > 0; left-- {
		r.panel(fmt.Sprintf("single-use keys left: %d", left))
		r.keys("5791u")
		r.wait("unlocked with passcode")
		r.key(tcell.KeyEscape)
		r.keys("t")
	}
	s := r.panel("single-use keys left: 0 (needs replenishing)")
	require.Contains(t, s, "state: locked")
	r.keys("n")
	r.wait("replenished: 5 keys loaded, keys left 0 -> 5", "single-use keys left: 5")

	// A second request finds the phone stocked: nothing is issued.
	r.keys("n")
	r.wait("no new keys", "single-use keys left: 5")

	r.keys("5791u")
	r.wait("unlocked with passcode")
	r.key(tcell.KeyEscape)
	r.keys("t")
	r.panel("single-use keys left: 4")
	r.key(tcell.KeyEscape)
	r.keys("h")
	s = r.wait("History")
	require.Equal(t, 6, strings.Count(s, "hce-phone"), s)
	require.Equal(t, 6, strings.Count(s, "00  Approved"), s)
}

// The replenish glue: a phone that lost its keys gets a batch even though
// the platform still counts them usable; a stocked phone gets none; only an
// HCE phone can ask, and only while the issuer host runs.
func TestReplenishPhone(t *testing.T) {
	ctx := context.Background()
	s, err := startTUISession(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Close)

	c, err := loadCard("hce-phone", time.Now())
	require.NoError(t, err)
	ph, ok := cards.Phone(c)
	require.True(t, ok)
	require.Equal(t, 5, ph.KeysLeft())
	n, err := replenishPhone(ctx, s.net, "hce-phone", c)
	require.NoError(t, err)
	require.Zero(t, n, "5 keys left: above the low-water mark")

	first, ok := ph.KeyStore().NextATC()
	require.True(t, ok)
	ph.KeyStore().Discard()
	n, err = replenishPhone(ctx, s.net, "hce-phone", c)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, 5, ph.KeysLeft())
	next, ok := ph.KeyStore().NextATC()
	require.True(t, ok)
	require.Greater(t, next, first+4, "the new batch follows every ATC issued")

	for _, name := range []string{"visa-plastic", "visa-se-phone"} {
		c, err := loadCard(name, time.Now())
		require.NoError(t, err)
		_, err = replenishPhone(ctx, s.net, name, c)
		require.ErrorContains(t, err, "not an HCE phone")
	}

	require.NoError(t, s.net.stopIssuer())
	ph.KeyStore().Discard()
	_, err = replenishPhone(ctx, s.net, "hce-phone", c)
	require.ErrorContains(t, err, "issuer host not running")
}
