// Package tuitest drives a tui.App on tcell's simulation screen for tests:
// keys go in, the screen's text comes out, and the model is read on the UI
// goroutine. The assertions stay on the test's goroutine.
package tuitest

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/tui"
	"github.com/tapsim/tapsim/tui/model"
)

// WaitTimeout bounds Rig.Wait.
const WaitTimeout = 30 * time.Second

// Rig is a running UI on an 80x24 simulation screen.
type Rig struct {
	T   testing.TB
	Sim tcell.SimulationScreen
	App *tui.App

	done chan error
}

// Start runs the UI over b with options o (o.Screen is set to the rig's
// simulation screen) and waits for the wallet; the UI is stopped when the
// test ends.
func Start(t testing.TB, b tui.Backend, o tui.Options) *Rig {
	t.Helper()
	sim := tcell.NewSimulationScreen("UTF-8")
	o.Screen = sim
	app, err := tui.New(b, o)
	require.NoError(t, err)
	sim.SetSize(80, 24)
	r := &Rig{T: t, Sim: sim, App: app, done: make(chan error, 1)}
	go func() { r.done <- app.Run() }()
	t.Cleanup(func() {
		app.Stop()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("tuitest: the UI did not stop")
		}
	})
	r.Wait("Wallet")
	return r
}

// Keys types the runes of s.
func (r *Rig) Keys(s string) {
	for _, c := range s {
		r.Sim.InjectKey(tcell.KeyRune, c, tcell.ModNone)
	}
}

// Key presses a special key.
func (r *Rig) Key(k tcell.Key) { r.Sim.InjectKey(k, 0, tcell.ModNone) }

// Screen is what the UI shows now, one line per row.
func (r *Rig) Screen() string { return r.App.Snapshot(r.Sim) }

// Wait waits until every text is on the screen and returns the screen; it
// fails the test with the screen after WaitTimeout.
func (r *Rig) Wait(texts ...string) string {
	r.T.Helper()
	deadline := time.Now().Add(WaitTimeout)
	var s string
	for time.Now().Before(deadline) {
		s = r.Screen()
		if ContainsAll(s, texts...) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.T.Fatalf("tuitest: timed out waiting for %q on:\n%s", texts, s)
	return ""
}

// Model runs f with the model on the UI goroutine and waits for it; f
// should copy what the test needs and assert nothing.
func (r *Rig) Model(f func(m *model.Model)) {
	r.T.Helper()
	require.True(r.T, r.App.Sync(f), "tuitest: the UI did not answer")
}

// ContainsAll reports whether s contains every text.
func ContainsAll(s string, texts ...string) bool {
	for _, t := range texts {
		if !strings.Contains(s, t) {
			return false
		}
	}
	return true
}
