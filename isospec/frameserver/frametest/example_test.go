package frametest_test

import (
	"context"
	"fmt"

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

// printer is a frametest.T outside a test.
type printer struct{}

func (printer) Helper()                           {}
func (printer) Cleanup(func())                    {}
func (printer) Fatalf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
