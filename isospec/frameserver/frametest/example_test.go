package frametest_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/tapsim/tapsim/isospec/frameserver"
	"github.com/tapsim/tapsim/isospec/frameserver/frametest"
)

// Burst against a server whose handler closes every connection: every
// connection is closed, and goroutines and descriptors come back.
func ExampleBurst() {
	t := printer{}
	srv, err := frameserver.Listen(frameserver.Config{
		Addr:    "127.0.0.1:0",
		Handler: func(context.Context, []byte) ([]byte, bool) { return nil, true },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	base := frametest.Measure()
	data := append(frametest.Frame([]byte("bad")), frametest.Frame([]byte("queued"))...)
	closed := frametest.Burst(t, srv.Addr().String(), 50, 10, data)
	frametest.Settle(t, base, 2)
	fmt.Println(closed, "closed")
	// Output: 50 closed
}

// ServePeer answers each frame and then floods the connection with
// frames nobody asked for.
func ExampleServePeer() {
	t := &cleanups{}
	defer t.run()
	peer := frametest.ServePeer(t, frametest.Peer{
		Answer: func(frame []byte) []byte { return append([]byte("re:"), frame...) },
		Flood:  [][]byte{frametest.Frame([]byte("unasked"))},
	})
	c, err := net.Dial("tcp", peer.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_, _ = c.Write(frametest.Frame([]byte("hello")))
	for range 3 {
		hdr := make([]byte, 2)
		_, _ = io.ReadFull(c, hdr)
		b := make([]byte, int(hdr[0])<<8|int(hdr[1]))
		_, _ = io.ReadFull(c, b)
		fmt.Println(string(b))
	}
	// Output:
	// re:hello
	// unasked
	// unasked
}

// cleanups is a frametest.T outside a test that runs its cleanups at the
// end.
type cleanups struct {
	printer
	fs []func()
}

func (c *cleanups) Cleanup(f func()) { c.fs = append(c.fs, f) }

func (c *cleanups) run() {
	for i := len(c.fs) - 1; i >= 0; i-- {
		c.fs[i]()
	}
}

// printer is a frametest.T outside a test.
type printer struct{}

func (printer) Helper()                           {}
func (printer) Cleanup(func())                    {}
func (printer) Fatalf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
