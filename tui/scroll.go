package tui

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/tapsim/tapsim/tui/model"
)

// The panes of the main screen that PgUp/PgDn and the mouse wheel scroll.
const (
	focusOutcome = iota
	focusTrace
)

// wheelStep is how many rows one turn of the mouse wheel scrolls.
const wheelStep = 3

// scrollState is where the tester scrolled the outcome and trace panes;
// the trace follows its tail until scrolled up, and again once scrolled
// back to its end.
type scrollState struct {
	focus     int
	outRow    int
	traceRow  int
	traceFree bool
}

// pageOf is how many rows PgUp/PgDn move in v: its height less one row of
// context.
func pageOf(v *tview.TextView) int {
	_, _, _, h := v.GetInnerRect()
	return max(h-1, 1)
}

// lastRow is the first row v shows when scrolled to its end.
func lastRow(v *tview.TextView) int {
	_, _, _, h := v.GetInnerRect()
	return max(v.GetWrappedLineCount()-h, 0)
}

// scrollPane moves the pane of focus f by delta rows.
func (a *App) scrollPane(f, delta int) {
	switch f {
	case focusOutcome:
		row, _ := a.outcome.GetScrollOffset()
		a.outRow = min(max(max(row, 0)+delta, 0), lastRow(a.outcome))
	case focusTrace:
		row, _ := a.tracev.GetScrollOffset()
		if !a.traceFree {
			row = lastRow(a.tracev)
		}
		row = max(max(row, 0)+delta, 0)
		a.traceFree = row < lastRow(a.tracev)
		a.traceRow = row
	}
}

// scrollKey scrolls the focused pane a page up or down.
func (a *App) scrollKey(ev *tcell.EventKey) {
	v := a.outcome
	if a.focus == focusTrace {
		v = a.tracev
	}
	page := pageOf(v)
	switch ev.Key() {
	case tcell.KeyPgUp:
		a.scrollPane(a.focus, -page)
	case tcell.KeyPgDn:
		a.scrollPane(a.focus, page)
	case tcell.KeyHome:
		a.scrollPane(a.focus, -1<<30)
	case tcell.KeyEnd:
		a.scrollPane(a.focus, 1<<30)
	}
}

// switchFocus moves PgUp/PgDn between the outcome and the trace.
func (a *App) switchFocus() { a.focus = (a.focus + 1) % 2 }

// applyScroll sets the panes' offsets and marks the focused one; render
// calls it after the panes' text is set.
func (a *App) applyScroll() {
	if a.m.Last != a.shownLast {
		a.shownLast, a.outRow = a.m.Last, 0
	}
	a.outcome.ScrollTo(a.outRow, 0)
	if a.traceFree {
		a.tracev.ScrollTo(a.traceRow, 0)
	} else {
		a.tracev.ScrollToEnd()
	}
	for f, v := range []*tview.TextView{a.outcome, a.tracev} {
		c := tview.Styles.BorderColor
		if f == a.focus {
			c = tcell.ColorYellow
		}
		v.SetBorderColor(c)
	}
}

// followTrace puts the trace pane back on its tail.
func (a *App) followTrace() { a.traceFree = false }

// mouse scrolls the outcome or the trace under the wheel (the history's
// popup on its screen), and a click on either gives it PgUp/PgDn; other
// mouse events go on to tview, which consumes a later wheel or click of
// the same event only when the capture passed it on.
func (a *App) mouse(ev *tcell.EventMouse, action tview.MouseAction) (*tcell.EventMouse, tview.MouseAction) {
	if ev == nil {
		return nil, action
	}
	if a.m.Screen == model.ScreenHistory && (action == tview.MouseScrollUp || action == tview.MouseScrollDown) {
		if action == tview.MouseScrollUp {
			a.histRow = max(a.histRow-wheelStep, 0)
		} else {
			a.histRow += wheelStep
		}
		a.render()
		return nil, action
	}
	if a.m.Screen != model.ScreenMain {
		return ev, action
	}
	x, y := ev.Position()
	f := -1
	switch {
	case a.outcome.InRect(x, y):
		f = focusOutcome
	case a.tracev.InRect(x, y):
		f = focusTrace
	}
	if f < 0 {
		return ev, action
	}
	switch action {
	case tview.MouseScrollUp:
		a.scrollPane(f, -wheelStep)
	case tview.MouseScrollDown:
		a.scrollPane(f, wheelStep)
	case tview.MouseLeftClick:
		a.focus = f
	default:
		return ev, action
	}
	a.render()
	return nil, action
}
