//go:build linux

package vpcd

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// quickAck turns on TCP_QUICKACK: the kernel acknowledges at once instead
// of delaying the ACK. Linux clears the option again by itself, so it is
// set before the first read and after every write. vpcd sends a frame's
// length and payload in two writes; with Nagle's algorithm on its side and
// a delayed ACK on ours, every APDU would wait some 40 ms for the second
// half. Errors are ignored: the option only changes timing.
func quickAck(c any) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
