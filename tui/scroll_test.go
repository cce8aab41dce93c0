package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/tui/model"
)

// row is what the outcome pane and the trace pane show from, read on the
// UI goroutine.
func (r *rig) rows() (out, trace int, free bool) {
	r.t.Helper()
	require.True(r.t, r.app.Sync(func(*model.Model) {
		out, _ = r.app.outcome.GetScrollOffset()
		trace, _ = r.app.tracev.GetScrollOffset()
		free = r.app.traceFree
	}))
	return
}

// An approval's receipt is longer than the outcome pane at 80x24: PgDn
// brings its end (the approval, auth code and CVM lines) into view.
func TestGoldenReceiptScrolled(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	r := newRig(t, rulesBackend(set))
	r.chooseNext(7, "10 partial approval")
	r.keys("150000t")
	r.wait("APPROVED sale NT$750.00 of NT$1,500.00 requested", "ready")
	var receipt string
	require.True(t, r.app.Sync(func(m *model.Model) { receipt = m.Last.Receipt }))
	last := strings.TrimSpace(receipt[strings.LastIndex(strings.TrimRight(receipt, "\n"), "\n")+1:])
	require.NotEmpty(t, last)
	r.key(tcell.KeyEnd)
	golden(t, "receipt-scrolled", r.wait(last, "NO SIGNATURE REQUIRED"))
	r.key(tcell.KeyHome)
	r.wait("APPROVED sale NT$750.00")
	for range 3 {
		r.key(tcell.KeyPgDn)
	}
	r.wait("AUTH CODE", "RRN")
}

// The trace pane follows its tail until scrolled up, and again once
// scrolled back to its end; Left/Right chooses which pane scrolls.
func TestScrollTracePane(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("1500t")
	r.wait("Host unavailable", "ready")
	_, tail, free := r.rows()
	require.False(t, free)
	r.key(tcell.KeyRight)
	r.key(tcell.KeyPgUp)
	r.key(tcell.KeyPgUp)
	var row int
	require.Eventually(t, func() bool { _, row, free = r.rows(); return row < tail }, 10*time.Second, 10*time.Millisecond)
	require.True(t, free)
	r.key(tcell.KeyEnd)
	require.Eventually(t, func() bool { _, row, free = r.rows(); return !free }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, tail, row)
	// The outcome did not move.
	out, _, _ := r.rows()
	require.Zero(t, out)
}

// The mouse wheel scrolls the pane under it.
func TestMouseWheelScrollsTrace(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("1500t")
	r.wait("Host unavailable", "ready")
	_, tail, _ := r.rows()
	// Row 20 of an 80x24 screen is inside the trace pane.
	r.sim.InjectMouse(60, 20, tcell.WheelUp, tcell.ModNone)
	require.Eventually(t, func() bool { _, row, _ := r.rows(); return row < tail }, 10*time.Second, 10*time.Millisecond)
}

// The history lists time, STAN, RRN, amount and result; the chosen entry's
// whole receipt is below the list and scrolls.
func TestHistoryEntryAndReceipt(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	r := newRig(t, rulesBackend(set))
	r.chooseNext(7, "10 partial approval")
	r.keys("150000t")
	r.wait("APPROVED sale NT$750.00", "ready")
	var rrn string
	require.True(t, r.app.Sync(func(m *model.Model) { rrn = m.Last.RRN }))
	require.NotEmpty(t, rrn)
	r.keys("h")
	r.wait("> 10:00:00 000001 "+rrn+" sale   visa-plastic   NT$1,500.00 10", "-- sale visa-plastic, STAN 000001")
	r.key(tcell.KeyPgDn)
	r.wait("AUTH CODE")
}

// At 120x40 too, the receipt's auth code and its end come into view.
func TestReceiptScrolls120x40(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	r := newRig(t, rulesBackend(set))
	r.sim.SetSize(120, 40)
	r.chooseNext(7, "10 partial approval")
	r.keys("150000t")
	r.wait("APPROVED sale NT$750.00 of NT$1,500.00 requested", "ready")
	r.key(tcell.KeyPgDn)
	r.wait("AUTH CODE")
	r.key(tcell.KeyEnd)
	r.wait("NO SIGNATURE REQUIRED", "CUSTOMER COPY")
}
