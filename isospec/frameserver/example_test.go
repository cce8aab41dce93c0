package frameserver_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
)

// A server that answers each frame with its length, closes connections
// idle for a minute, and refuses frames over 2 KiB before reading them.
func Example() {
	srv, err := frameserver.Listen(frameserver.Config{
		Addr:        "127.0.0.1:0",
		IdleTimeout: time.Minute,
		MaxFrame:    2 << 10,
		MaxConns:    16,
		Peer:        "terminal",
		Handler: func(_ context.Context, frame []byte) ([]byte, bool) {
			return fmt.Appendf(nil, "%d bytes", len(frame)), false
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_ = isospec.WriteFrame(c, []byte("0800 and more"))
	reply, err := isospec.ReadFrame(c)
	fmt.Println(string(reply), err)
	// Output: 13 bytes <nil>
}
