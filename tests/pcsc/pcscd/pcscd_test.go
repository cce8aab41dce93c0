package pcscd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadProcNet(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "tcp")
	require.NoError(t, os.WriteFile(f, []byte(strings.Join([]string{
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
		"   0: 00000000:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0",
		"   1: 0100007F:8C7B 0100007F:B2A4 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1",
		"   2: garbage",
		"   3: 0100007F:ZZZZ 0100007F:B2A4 01 00000000:00000000 00:00000000 00000000     0        0 4244 1",
		"",
	}, "\n")), 0o644))
	socks, err := readProcNet(f)
	require.NoError(t, err)
	require.Equal(t, []tcpSocket{{port: 0x8C7B, state: "0A", inode: "4242"}, {port: 0x8C7B, state: "01", inode: "4243"}}, socks)
}

// FreePorts never picks a port in use, and listensIn finds this process's
// listener from /proc.
func TestFreePortsAndListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ok, err := listensIn(os.Getpid(), port)
	require.NoError(t, err)
	require.True(t, ok)

	socks, err := tcpSockets()
	require.NoError(t, err)
	used := map[int]bool{}
	for _, s := range socks {
		used[s.port] = true
	}
	for i := 0; i < 50; i++ {
		p, err := FreePorts(2)
		require.NoError(t, err)
		require.False(t, used[p] || used[p+1], "port %d in use", p)
		require.GreaterOrEqual(t, p, minPort)
		require.Less(t, p+1, maxPort)
		ok, err := listensIn(os.Getpid(), p)
		require.NoError(t, err)
		require.False(t, ok)
	}
}

func TestFindSaysHowToInstall(t *testing.T) {
	saved := driverPaths
	defer func() { driverPaths = saved }()
	driverPaths = []string{filepath.Join(t.TempDir(), "libifdvpcd.so")}
	_, err := Find()
	require.ErrorIs(t, err, ErrNotInstalled)
	require.ErrorContains(t, err, "vsmartcard-vpcd")
	require.ErrorContains(t, err, "make deps")
}

func TestWithoutListenVars(t *testing.T) {
	got := withoutListenVars([]string{"PATH=/bin", "LISTEN_PID=1", "LISTEN_FDS=1", SocketEnv + "=/x", "HOME=/root"})
	require.Equal(t, []string{"PATH=/bin", "HOME=/root"}, got)
}
