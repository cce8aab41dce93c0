package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLongRunTuning(t *testing.T) {
	beforeGC := debug.SetGCPercent(100)
	beforeProcs := runtime.GOMAXPROCS(1)
	t.Cleanup(func() {
		debug.SetGCPercent(beforeGC)
		runtime.GOMAXPROCS(beforeProcs)
	})

	none := func(string) (string, bool) { return "", false }
	gc, procs := applyLongRun(none)
	require.Equal(t, longRunGCPercent, gc)
	require.Equal(t, longRunGCPercent, debug.SetGCPercent(longRunGCPercent))
	require.Equal(t, longRunMinProcs, procs)
	require.Equal(t, longRunMinProcs, runtime.GOMAXPROCS(0))

	// More slots than the minimum are kept.
	runtime.GOMAXPROCS(longRunMinProcs + 4)
	_, procs = applyLongRun(none)
	require.Equal(t, -1, procs)
	require.Equal(t, longRunMinProcs+4, runtime.GOMAXPROCS(0))

	// The user's GOGC and GOMAXPROCS are left as the runtime applied them.
	debug.SetGCPercent(150)
	runtime.GOMAXPROCS(1)
	user := func(k string) (string, bool) { return "1", k == "GOGC" || k == "GOMAXPROCS" }
	gc, procs = applyLongRun(user)
	require.Equal(t, -1, gc)
	require.Equal(t, -1, procs)
	require.Equal(t, 150, debug.SetGCPercent(150), "the user's GOGC unchanged")
	require.Equal(t, 1, runtime.GOMAXPROCS(0), "the user's GOMAXPROCS unchanged")
}
