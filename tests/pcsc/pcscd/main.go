package pcscd

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// current is the daemon Main started for this test binary.
var (
	current    *Daemon
	currentErr error
)

// Main runs a test binary with a private daemon: it starts one, points the
// process's PC/SC clients at it, runs the tests and stops it. Call it from
// TestMain before anything establishes a PC/SC context:
//
//	func TestMain(m *testing.M) { os.Exit(pcscd.Main(m, pcscd.Options{})) }
//
// Without pcscd or vpcd the tests still run and Need skips the ones that
// need the daemon, saying how to install it; but when the environment
// variable CI is set, a missing or failing daemon fails the binary: CI must
// run these tests.
func Main(m *testing.M, o Options) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	d, err := Start(ctx, o)
	cancel()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "FAIL: the PC/SC tests cannot run in CI: %v\n", err)
			return 1
		}
		currentErr = err
		return m.Run()
	}
	if err := d.Setenv(); err != nil {
		_ = d.Stop()
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	current = d
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "pcscd log (%s):\n%s\n", d.Name, d.Log())
	}
	if err := d.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Need returns the daemon Main started, or skips the test with a message
// saying how to run it.
func Need(t testing.TB) *Daemon {
	t.Helper()
	if current == nil {
		err := currentErr
		if err == nil {
			err = fmt.Errorf("no daemon: call pcscd.Main from TestMain")
		}
		t.Skipf("PC/SC end-to-end test skipped: %v", err)
	}
	return current
}
