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
		procs      int  // GOMAXPROCS before
		cpus       int  // the machine's
		raise      bool // hosts embedded in the process
		wantGC     int
		wantProcs  int
		afterProcs int
	}{
		{name: "nothing set", procs: 2, cpus: 2, raise: true,
			wantGC: longRunGCPercent, wantProcs: longRunMinProcs, afterProcs: longRunMinProcs},
		{name: "hosts in processes of their own: GC only", procs: 2, cpus: 2, raise: false,
			wantGC: longRunGCPercent, wantProcs: -1, afterProcs: 2},
		{name: "more slots than the minimum kept", procs: longRunMinProcs + 4, cpus: longRunMinProcs + 4, raise: true,
			wantGC: longRunGCPercent, wantProcs: -1, afterProcs: longRunMinProcs + 4},
		{name: "the minimum already", procs: longRunMinProcs, cpus: 2, raise: true,
			wantGC: longRunGCPercent, wantProcs: -1, afterProcs: longRunMinProcs},
		{name: "a CPU limit below the CPUs respected", procs: 1, cpus: 4, raise: true,
			wantGC: longRunGCPercent, wantProcs: -1, afterProcs: 1},
		{name: "the user's GOGC", env: []string{"GOGC"}, procs: 2, cpus: 2, raise: true,
			wantGC: -1, wantProcs: longRunMinProcs, afterProcs: longRunMinProcs},
		{name: "the user's GOMAXPROCS", env: []string{"GOMAXPROCS"}, procs: 1, cpus: 2, raise: true,
			wantGC: longRunGCPercent, wantProcs: -1, afterProcs: 1},
		{name: "both the user's", env: []string{"GOGC", "GOMAXPROCS"}, procs: 1, cpus: 1, raise: true,
			wantGC: -1, wantProcs: -1, afterProcs: 1},
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
