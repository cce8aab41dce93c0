package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/client"
)

// An echo test (0800, DE70 301) with an acquirer on loopback that answers
// one message and then stays silent: the second request gets no answer and
// the terminal would have to reverse it.
func ExampleClient_Send() {
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
		_, _ = isospec.ReadFrame(c) // read and never answer
		time.Sleep(time.Second)
	}()

	link := client.New(ln.Addr().String(), client.Options{})
	defer link.Close()
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	for _, stan := range []string{"000001", "000002"} {
		req := isospec.NewNetworkManagement(isospec.NetEcho, stan, now)
		req.TerminalID = "T0000001"
		msg, _ := isospec.Encode(req)
		resp, err := link.Send(context.Background(), msg, 200*time.Millisecond)
		switch {
		case errors.Is(err, client.ErrNoAnswer):
			fmt.Println(stan, "no answer: reverse it")
		case err != nil:
			fmt.Println(stan, err)
		default:
			mti, _ := resp.GetMTI()
			rc, _ := resp.GetString(isospec.FieldResponseCode)
			fmt.Println(stan, mti, "DE39", rc)
		}
	}
	// Output:
	// 000001 0810 DE39 00
	// 000002 no answer: reverse it
}
