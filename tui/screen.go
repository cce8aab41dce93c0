package tui

import (
	"strings"

	"github.com/gdamore/tcell/v2"
)

// Snapshot returns what the simulation screen the App draws on shows (see
// ScreenText), read on the UI goroutine; "" once the App has stopped.
func (a *App) Snapshot(s tcell.SimulationScreen) string {
	out := make(chan string, 1)
	go a.app.QueueUpdate(func() { out <- ScreenText(s) })
	select {
	case t := <-out:
		return t
	case <-a.ctx.Done():
		return ""
	}
}

// ScreenText returns what a simulation screen shows, one line per row with
// trailing blanks trimmed: the golden captures and the screen tests read
// it. The screen is drawn on the UI goroutine: call it there (Snapshot
// does).
func ScreenText(s tcell.SimulationScreen) string {
	cells, w, h := s.GetContents()
	var b strings.Builder
	for y := 0; y < h; y++ {
		var line strings.Builder
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			if len(c.Runes) == 0 {
				line.WriteByte(' ')
				continue
			}
			line.WriteString(string(c.Runes))
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
