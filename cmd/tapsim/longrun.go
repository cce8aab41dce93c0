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
// the hosts embedded in one process (`load` without --acquirer, `tui`,
// `demo`, tapsim alone) let execute Go code at once when the user has not
// set GOMAXPROCS and no CPU limit lowers Go's default (one per available
// CPU). Each host's SQLite store serialises its durable writes in one
// goroutine that blocks in fsync and pwrite; with one slot per CPU, that
// goroutine, back from the system call, queues behind the terminals' and
// connections' goroutines while every commit of the process waits for
// it. With more slots than CPUs the operating system's scheduler, which
// favours a thread that has slept, runs it at once. Measured with `tapsim
// load --terminals 32` on two CPUs: 8 slots give 15-50% more sales per
// second than 2, with a lower p99, and 16 fewer than 8. The hosts run as
// processes of their own keep Go's default: there 8 slots changed nothing
// measurable with SQLite, and an issuer on PostgreSQL, which waits on the
// database, lost half its throughput (its idle threads spinning for work
// took CPU from the database). Setting it stops the runtime from
// following later changes of the CPU limit.
const longRunMinProcs = 8

// tuneRuntime is set by main: only the tapsim process itself, not a test
// running commands in its own process, changes the runtime's settings.
var tuneRuntime bool

// tuneLongRun applies longRunGCPercent, and longRunMinProcs when the
// command runs the hosts embedded in its process (embedded), in the
// tapsim process (see applyLongRun). It returns the GC percent and the
// GOMAXPROCS it set, -1 for each setting it left alone.
func tuneLongRun(embedded bool) (gcPercent, procs int) {
	if !tuneRuntime {
		return -1, -1
	}
	return applyLongRun(os.LookupEnv, runtime.NumCPU(), embedded)
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
