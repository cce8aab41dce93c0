// Package frametest is a kit of hostile clients for the tests of frame
// listeners (isospec/frameserver and the hosts built on it): idle
// connections, stalled and over-long frames, bursts of bad frames, and the
// process's goroutine and descriptor counts to check that nothing leaks.
// For the tests of frame clients (isospec/frameclient and the links built
// on it) it has a hostile server, ServePeer, that floods every connection.
package frametest

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// T is the part of testing.TB the kit uses; *testing.T and *testing.B
// implement it.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Wait is the deadline of every wait in this package: generous, because a
// test machine may be busy; nothing waits that long unless it fails.
const Wait = 30 * time.Second

// Resources is a count of the process's goroutines and open descriptors.
type Resources struct {
	Goroutines, FDs int
}

// Measure counts the process's goroutines and open file descriptors (-1
// when /proc/self/fd cannot be read).
func Measure() Resources {
	n := -1
	if es, err := os.ReadDir("/proc/self/fd"); err == nil {
		n = len(es)
	}
	return Resources{Goroutines: runtime.NumGoroutine(), FDs: n}
}

// Settle waits until the goroutines are at most base's plus slack and the
// descriptors at most base's, and returns the counts then; it fails t if
// that does not happen within Wait.
func Settle(t T, base Resources, slack int) Resources {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		r := Measure()
		if r.Goroutines <= base.Goroutines+slack && r.FDs <= base.FDs {
			return r
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("resources not back to %+v (+%d goroutines): %+v\n%s", base, slack, r, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Dial connects to addr, closed at the end of the test.
func Dial(t T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, Wait)
	if err != nil {
		t.Fatalf("frametest: dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ClosedBy reads from c, discarding what comes, until the server closes
// it, and returns how long that took. It fails t if c is not closed within
// Wait.
func ClosedBy(t T, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if err := c.SetReadDeadline(start.Add(Wait)); err != nil {
		t.Fatalf("frametest: %v", err)
	}
	if err := Drain(c); err != nil {
		t.Fatalf("frametest: connection not closed by the server: %v", err)
	}
	return time.Since(start)
}

// Drain reads c until it is closed: nil for a close (clean or reset), the
// error otherwise (a deadline passed).
func Drain(c net.Conn) error {
	_, err := io.Copy(io.Discard, c)
	if err == nil || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Frame is payload with its 2-byte big-endian length header.
func Frame(payload []byte) []byte {
	return append([]byte{byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// Burst opens conns connections to addr, at most parallel at a time; on
// each it writes data in one write and reads until the server closes the
// connection or Wait passes. It returns how many the server closed.
func Burst(t T, addr string, conns, parallel int, data []byte) int {
	t.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed int
		errs   []error
	)
	slots := make(chan struct{}, max(parallel, 1))
	for range conns {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			c, err := net.DialTimeout("tcp", addr, Wait)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(Wait))
			if _, err := c.Write(data); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			if Drain(c) == nil {
				mu.Lock()
				closed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("frametest: burst: %d errors, first %v", len(errs), errs[0])
	}
	return closed
}
