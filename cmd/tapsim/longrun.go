package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// longRunGCPercent is the garbage collector's target of the commands that
// run hosts for a long time (issuer, acquirer, load, tui, demo) when the
// user has not set GOGC: the heap may grow to five times what is live
// before a collection, instead of Go's default twice. The hosts keep a few
// megabytes live and allocate that much in tens of milliseconds under load,
// so with the default they would collect dozens of times a second; with
// this target they collect a quarter as often for a few tens of megabytes
// more, and the heap stays a fixed multiple of what is live.
const longRunGCPercent = 400

// longRunMinProcs is the least number of goroutines the commands that run
// a SQLite store in their process (the acquirer, an issuer without --db,
// the embedded world) let execute Go code at once when the user has not
// set GOMAXPROCS and no CPU limit lowers Go's default (one per available
// CPU). Each SQLite store serialises its durable writes in one goroutine
// that blocks in fsync and pwrite; with one slot per CPU, that goroutine,
// back from the system call, queues behind the terminals' (when
// embedded) and connections' goroutines while every commit of the
// process waits for it. With more slots than CPUs the operating system's
// scheduler, which favours a thread that has slept, runs it at once.
// Measured with the hosts embedded in `tapsim load --terminals 32` on two
// CPUs: 8 slots give 15-50% more sales per second than 2, with a lower
// p99, and 16 less than 8. An issuer on PostgreSQL keeps Go's default:
// it waits on the database, and with 8 slots its idle threads spinning
// for work took CPU from the database (one issuer process on two CPUs
// made 350-435 sales per second instead of 750). Setting it stops the
// runtime from following later changes of the CPU limit.
const longRunMinProcs = 8

// tuneRuntime is set by main: only the tapsim process itself, not a test
// running commands in its own process, changes the runtime's settings.
var tuneRuntime bool

// tuneLongRun applies longRunGCPercent, and longRunMinProcs when the
// command runs a SQLite store (sqlite), in the tapsim process (see
// applyLongRun). It returns the GC percent and the GOMAXPROCS it set, -1
// for each setting it left alone.
func tuneLongRun(sqlite bool) (gcPercent, procs int) {
	if !tuneRuntime {
		return -1, -1
	}
	return applyLongRun(os.LookupEnv, runtime.NumCPU(), sqlite)
}

// applyLongRun applies longRunGCPercent unless GOGC is set in the
// environment, and, when raiseProcs, longRunMinProcs unless GOMAXPROCS is
// set or the current GOMAXPROCS is below cpus (a CPU limit, which it
// respects); the runtime has applied the environment's settings already.
func applyLongRun(lookup func(string) (string, bool), cpus int, raiseProcs bool) (gcPercent, procs int) {
	gcPercent, procs = -1, -1
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(longRunGCPercent)
		gcPercent = longRunGCPercent
	}
	if _, set := lookup("GOMAXPROCS"); !set && raiseProcs {
		if n := runtime.GOMAXPROCS(0); n < longRunMinProcs && n >= cpus {
			runtime.GOMAXPROCS(longRunMinProcs)
			procs = longRunMinProcs
		}
	}
	return gcPercent, procs
}
