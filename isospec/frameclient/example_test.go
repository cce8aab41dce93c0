package frameclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameclient"
)

// A host on loopback answers the first echo test and not the second: the
// second request left and got no answer, so a caller would reverse it.
func ExampleConn_Send() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f, _ := isospec.ReadFrame(c)
		var nm isospec.NetworkManagement
		_ = isospec.Unmarshal(f, &nm)
		resp, _ := nm.Response(isospec.RCApproved)
		b, _ := isospec.Marshal(resp)
		_ = isospec.WriteFrame(c, b)
		_, _ = isospec.ReadFrame(c) // read, never answered
		_, _ = isospec.ReadFrame(c) // until the client closes
	}()

	conn, err := frameclient.Dial(context.Background(), frameclient.Config{Addr: ln.Addr().String()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	for _, stan := range []string{"000001", "000002"} {
		req := isospec.NewNetworkManagement(isospec.NetEcho, stan, now)
		req.TerminalID = "T0000001"
		msg, _ := isospec.Encode(req)
		resp, err := conn.Send(context.Background(), msg, 100*time.Millisecond)
		switch {
		case errors.Is(err, frameclient.ErrNoAnswer):
			fmt.Println(stan, "no answer")
		case err != nil:
			fmt.Println(stan, err)
		default:
			rc, _ := resp.GetString(isospec.FieldResponseCode)
			fmt.Println(stan, "answered, DE39", rc)
		}
	}
	fmt.Printf("%+v\n", conn.Stats())
	// Output:
	// 000001 answered, DE39 00
	// 000002 no answer
	// {Sent:2 Answered:1 NoAnswer:1 Late:0 Inbound:0 Malformed:0}
}
