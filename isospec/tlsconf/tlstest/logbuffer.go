package tlstest

import (
	"bytes"
	"strings"
	"sync"
)

// LogBuffer is an io.Writer safe for concurrent writers, such as the sink
// of a server's logger that the test reads while the server runs. The zero
// value is ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count is how many non-overlapping times s was written so far.
func (l *LogBuffer) Count(s string) int {
	return strings.Count(l.String(), s)
}
