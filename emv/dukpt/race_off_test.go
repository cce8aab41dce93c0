//go:build !race

package dukpt_test

// raceEnabled is false when the race detector is off.
const raceEnabled = false
