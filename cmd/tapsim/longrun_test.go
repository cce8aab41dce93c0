package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLongRunTuning(t *testing.T) {
	beforeGC := debug.SetGCPercent(100)
	beforeProcs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		debug.SetGCPercent(beforeGC)
		runtime.GOMAXPROCS(beforeProcs)
	})
	env := func(vars ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for _, v := range vars {
				if v == k {
					return "1", true
				}
			}
			return "", false
		}
	}

	tests := []struct {
		name       string
		env        []string
		procs      int // GOMAXPROCS before
		cpus       int
		raise      bool // a SQLite store in the process
		wantGC     int
		wantProcs  int
		afterProcs int
	}{
		{"nothing set", nil, 2, 2, true, longRunGCPercent, longRunMinProcs, longRunMinProcs},
		{"no SQLite store: GC only", nil, 2, 2, false, longRunGCPercent, -1, 2},
		{"more slots than the minimum kept", nil, longRunMinProcs + 4, longRunMinProcs + 4, true, longRunGCPercent, -1, longRunMinProcs + 4},
		{"the minimum already", nil, longRunMinProcs, 2, true, longRunGCPercent, -1, longRunMinProcs},
		{"a CPU limit below the CPUs respected", nil, 1, 4, true, longRunGCPercent, -1, 1},
		{"the user's GOGC", []string{"GOGC"}, 2, 2, true, -1, longRunMinProcs, longRunMinProcs},
		{"the user's GOMAXPROCS", []string{"GOMAXPROCS"}, 1, 2, true, longRunGCPercent, -1, 1},
		{"both the user's", []string{"GOGC", "GOMAXPROCS"}, 1, 1, true, -1, -1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(150)
			runtime.GOMAXPROCS(tc.procs)
			gc, procs := applyLongRun(env(tc.env...), tc.cpus, tc.raise)
			require.Equal(t, tc.wantGC, gc)
			require.Equal(t, tc.wantProcs, procs)
			wantPercent := longRunGCPercent
			if tc.wantGC == -1 {
				wantPercent = 150 // unchanged
			}
			require.Equal(t, wantPercent, debug.SetGCPercent(150))
			require.Equal(t, tc.afterProcs, runtime.GOMAXPROCS(0))
		})
	}
}

// Commands run by a test in its own process leave the runtime alone.
func TestLongRunTuningOnlyInTheBinary(t *testing.T) {
	require.False(t, tuneRuntime)
	gc, procs := tuneLongRun(true)
	require.Equal(t, -1, gc)
	require.Equal(t, -1, procs)
}
