package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

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
