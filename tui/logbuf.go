package tui

import (
	"strings"
	"sync"
)

// LogBuffer keeps log lines written to it (an io.Writer for a slog
// handler) for the host log pane. It is safe for concurrent use and keeps
// the latest MaxLines lines.
type LogBuffer struct {
	mu      sync.Mutex
	lines   []string
	dropped int
	partial string
}

// MaxLines bounds a LogBuffer.
const MaxLines = 5000

// Write adds the complete lines of p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.partial + string(p)
	parts := strings.Split(s, "\n")
	l.partial = parts[len(parts)-1]
	l.lines = append(l.lines, parts[:len(parts)-1]...)
	if over := len(l.lines) - MaxLines; over > 0 {
		l.lines = append([]string(nil), l.lines[over:]...)
		l.dropped += over
	}
	return len(p), nil
}

// Len is the number of lines written so far (a mark for Since).
func (l *LogBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.lines)
}

// Since returns the lines written after mark.
func (l *LogBuffer) Since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := max(mark-l.dropped, 0)
	if i >= len(l.lines) {
		return nil
	}
	return append([]string(nil), l.lines[i:]...)
}
