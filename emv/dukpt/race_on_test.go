//go:build race

package dukpt_test

// raceEnabled is true when the race detector is on; it makes the 1,048,575
// transactions of TestTerminalFullLife too slow to run.
const raceEnabled = true
