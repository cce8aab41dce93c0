//go:build linux

package vpcd

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestQuickAckSetsTheOption(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	get := func() int {
		raw, err := c.(*net.TCPConn).SyscallConn()
		require.NoError(t, err)
		var v int
		require.NoError(t, raw.Control(func(fd uintptr) {
			v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK)
		}))
		require.NoError(t, err)
		return v
	}
	quickAck(c)
	require.Equal(t, 1, get())
	quickAck(struct{}{}) // not a socket: nothing happens
}
