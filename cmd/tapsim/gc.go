package main

import (
	"os"
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

// setLongRunGC applies longRunGCPercent unless GOGC is set in the
// environment (which the runtime has applied already). It returns the
// percent it set, -1 when it left the user's setting alone.
func setLongRunGC() int {
	return applyLongRunGC(os.LookupEnv)
}

func applyLongRunGC(lookup func(string) (string, bool)) int {
	if _, set := lookup("GOGC"); set {
		return -1 // the runtime applied it; nothing changes
	}
	debug.SetGCPercent(longRunGCPercent)
	return longRunGCPercent
}
