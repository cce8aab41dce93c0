package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLongRunGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	none := func(string) (string, bool) { return "", false }
	require.Equal(t, longRunGCPercent, applyLongRunGC(none))
	require.Equal(t, longRunGCPercent, debug.SetGCPercent(longRunGCPercent))

	// A GOGC of the user's is left as the runtime applied it.
	debug.SetGCPercent(150)
	user := func(k string) (string, bool) { return "150", k == "GOGC" }
	require.Equal(t, -1, applyLongRunGC(user))
	require.Equal(t, 150, debug.SetGCPercent(150), "the user's setting unchanged")
}
