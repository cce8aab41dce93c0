package frameserver

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogInterval is a Limiter's window when its Interval is zero.
const DefaultLogInterval = time.Minute

// Limiter logs events that a peer can repeat at will without letting them
// flood the log: in each window of Interval, the first Burst events with
// the same message are logged as they come and the others only counted;
// the count is logged (one line, the same message with a "repeated"
// attribute) when the next window opens or on Flush. The zero value logs
// nothing; set Logger. It is safe for concurrent use.
type Limiter struct {
	// Logger receives the lines; nil discards them.
	Logger *slog.Logger
	// Level is the level of the lines (slog.LevelInfo when zero).
	Level slog.Level
	// Interval is the window (DefaultLogInterval when zero).
	Interval time.Duration
	// Burst is how many events of a message are logged in full per window
	// (1 when zero).
	Burst int
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start      time.Time
	logged     int
	suppressed int
}

// Log records one event with message msg and attributes args (as for
// slog.Logger.Log), logging it or counting it.
func (l *Limiter) Log(msg string, args ...any) {
	if l == nil || l.Logger == nil {
		return
	}
	now := l.now()
	l.mu.Lock()
	if l.windows == nil {
		l.windows = map[string]*window{}
	}
	w := l.windows[msg]
	if w == nil || now.Sub(w.start) >= l.interval() {
		prev := 0
		if w != nil {
			prev = w.suppressed
		}
		l.windows[msg] = &window{start: now, logged: 1}
		l.mu.Unlock()
		if prev > 0 {
			l.Logger.Log(context.Background(), l.Level, msg, slog.Int("repeated", prev))
		}
		l.Logger.Log(context.Background(), l.Level, msg, args...)
		return
	}
	if w.logged < max(l.Burst, 1) {
		w.logged++
		l.mu.Unlock()
		l.Logger.Log(context.Background(), l.Level, msg, args...)
		return
	}
	w.suppressed++
	l.mu.Unlock()
}

// Flush logs the counts not yet logged, one line per message.
func (l *Limiter) Flush() {
	if l == nil || l.Logger == nil {
		return
	}
	type pending struct {
		msg string
		n   int
	}
	var out []pending
	l.mu.Lock()
	for msg, w := range l.windows {
		if w.suppressed > 0 {
			out = append(out, pending{msg, w.suppressed})
			w.suppressed = 0
		}
	}
	l.mu.Unlock()
	for _, p := range out {
		l.Logger.Log(context.Background(), l.Level, p.msg, slog.Int("repeated", p.n))
	}
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) interval() time.Duration {
	if l.Interval > 0 {
		return l.Interval
	}
	return DefaultLogInterval
}
