package frameserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A connection is idle IdleTimeout after its last answer, or after it was
// accepted when it has answered nothing; never while a frame is pending.
// An answer recorded late by a slower worker does not move the time back.
func TestIdleAt(t *testing.T) {
	born := time.Now()
	c := &conn{born: born}
	const idle = 10 * time.Second

	at, busy := c.idleAt(idle)
	require.False(t, busy)
	require.Equal(t, born.Add(idle), at, "nothing answered yet: from the accept")

	c.pending.Add(2) // two frames read
	_, busy = c.idleAt(idle)
	require.True(t, busy)

	c.markAnswered(born.Add(5 * time.Second))
	_, busy = c.idleAt(idle)
	require.True(t, busy, "one frame still pending")

	c.markAnswered(born.Add(3 * time.Second)) // a worker that took longer to record
	at, busy = c.idleAt(idle)
	require.False(t, busy)
	require.Equal(t, born.Add(15*time.Second), at, "from the latest answer")
	require.True(t, born.Add(12*time.Second).Before(at), "a deadline passed 12 s in is not idle yet")
	require.False(t, born.Add(16*time.Second).Before(at), "16 s in it is")
}
