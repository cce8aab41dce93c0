// Package pcscd runs private PC/SC daemons for tests: Debian's pcscd with
// the vsmartcard vpcd virtual reader driver, each daemon with its own
// socket, its own reader configuration and its own vpcd port, so that test
// binaries never touch the system's pcscd nor each other.
//
// pcscd's socket path is compiled in, but pcscd accepts a listening socket
// handed over by systemd-style socket activation (LISTEN_FDS=1 and
// LISTEN_PID naming pcscd itself, the socket on file descriptor 3). Clients
// pick the daemon with the environment variable PCSCLITE_CSOCK_NAME, which
// libpcsclite reads once, before the process's first PC/SC context: set it
// (Daemon.Setenv) in TestMain.
//
// vpcd listens for cards on the daemon's port (slot 0) and the port after
// it (slot 1); a card connecting there is a card inserted in the reader
// named Name + " 00 00" (or " 00 01"). Free ports are found by reading
// /proc/net/tcp, never by connecting, since a connection to vpcd inserts a
// card.
package pcscd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SocketEnv is the environment variable that tells libpcsclite where the
// daemon's socket is.
const SocketEnv = "PCSCLITE_CSOCK_NAME"

// HowToInstall says how to get what the daemons need.
const HowToInstall = "install pcscd and the vpcd driver with `make deps` (or: apt-get install pcscd vsmartcard-vpcd libpcsclite-dev; install -d /run/pcscd)"

// Errors.
var (
	// ErrNotInstalled reports that pcscd or the vpcd driver is missing.
	ErrNotInstalled = errors.New("pcscd: pcscd or the vpcd driver is not installed")
	// ErrStart reports a daemon that did not come up.
	ErrStart = errors.New("pcscd: daemon did not start")
)

// driverPaths are where distributions put the vpcd driver.
var driverPaths = []string{
	"/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
}

// Tools are the programs and files a daemon needs.
type Tools struct {
	// PCSCD is the pcscd program; Driver the vpcd driver library.
	PCSCD, Driver string
	// NoPolkit is set when pcscd has the --disable-polkit option (builds
	// with polkit would refuse clients where no polkit daemon runs).
	NoPolkit bool
}

// Find looks for pcscd, the vpcd driver and pcscd's run directory. The
// error, wrapping ErrNotInstalled, says what is missing and how to install
// it.
func Find() (Tools, error) {
	var t Tools
	var missing []string
	if p, err := exec.LookPath("pcscd"); err == nil {
		t.PCSCD = p
	} else if _, err := os.Stat("/usr/sbin/pcscd"); err == nil {
		t.PCSCD = "/usr/sbin/pcscd"
	} else {
		missing = append(missing, "pcscd")
	}
	for _, p := range driverPaths {
		if _, err := os.Stat(p); err == nil {
			t.Driver = p
			break
		}
	}
	if t.Driver == "" {
		missing = append(missing, "the vpcd driver (vsmartcard-vpcd)")
	}
	if st, err := os.Stat("/run/pcscd"); err != nil || !st.IsDir() {
		missing = append(missing, "the directory /run/pcscd")
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("%w: missing %s; %s", ErrNotInstalled, strings.Join(missing, ", "), HowToInstall)
	}
	help, _ := exec.Command(t.PCSCD, "--help").CombinedOutput()
	t.NoPolkit = strings.Contains(string(help), "--disable-polkit")
	return t, nil
}

// Options configure a daemon.
type Options struct {
	// Name is the reader's friendly name (default "tapsim vpcd PORT").
	Name string
	// Dir holds the socket, the configuration and the log (default: a new
	// temporary directory, removed by Stop).
	Dir string
	// Port is vpcd's first port (default: two free ports in a row, from
	// /proc/net/tcp).
	Port int
	// Debug makes pcscd log at debug level, APDUs included.
	Debug bool
}

// Daemon is one running private pcscd.
type Daemon struct {
	// Name is the reader's friendly name.
	Name string
	// Dir holds Socket, the reader.conf.d directory and the log.
	Dir string
	// Socket is the daemon's socket, for PCSCLITE_CSOCK_NAME.
	Socket string
	// Port is vpcd's port for slot 0; slot 1 is Port+1.
	Port int

	tools   Tools
	debug   bool
	conf    string
	cmd     *exec.Cmd
	logPath string
	ownDir  bool
	exited  chan struct{}
	waitErr error
}

// Start starts a daemon and returns once vpcd listens on its port. When
// the port turns out to be taken by another process in the meantime, it
// tries again with other ports.
func Start(ctx context.Context, o Options) (*Daemon, error) {
	tools, err := Find()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		d, err := start(ctx, tools, o)
		if err == nil {
			return d, nil
		}
		lastErr = err
		if o.Port != 0 || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, tools Tools, o Options) (*Daemon, error) {
	d := &Daemon{Dir: o.Dir, Port: o.Port, Name: o.Name, tools: tools, debug: o.Debug}
	if d.Dir == "" {
		dir, err := os.MkdirTemp(tempRoot(), "tapsim-pcscd-")
		if err != nil {
			return nil, fmt.Errorf("pcscd: %w", err)
		}
		d.Dir, d.ownDir = dir, true
	}
	cleanup := func() {
		if d.ownDir {
			_ = os.RemoveAll(d.Dir)
		}
	}
	if d.Port == 0 {
		p, err := FreePorts(2)
		if err != nil {
			cleanup()
			return nil, err
		}
		d.Port = p
	}
	if d.Name == "" {
		d.Name = fmt.Sprintf("tapsim vpcd %d", d.Port)
	}
	d.conf = filepath.Join(d.Dir, "reader.conf.d")
	if err := os.MkdirAll(d.conf, 0o755); err != nil {
		cleanup()
		return nil, fmt.Errorf("pcscd: %w", err)
	}
	entry := fmt.Sprintf("FRIENDLYNAME \"%s\"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n",
		d.Name, d.Port, tools.Driver, d.Port)
	if err := os.WriteFile(filepath.Join(d.conf, "vpcd"), []byte(entry), 0o644); err != nil {
		cleanup()
		return nil, fmt.Errorf("pcscd: %w", err)
	}
	d.Socket = filepath.Join(d.Dir, "pcscd.comm")
	d.logPath = filepath.Join(d.Dir, "pcscd.log")
	if err := d.launch(ctx); err != nil {
		cleanup()
		return nil, err
	}
	return d, nil
}

// launch starts pcscd on the daemon's socket and waits until it is ready.
func (d *Daemon) launch(ctx context.Context) error {
	_ = os.Remove(d.Socket)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: d.Socket, Net: "unix"})
	if err != nil {
		return fmt.Errorf("pcscd: listen on %s: %w", d.Socket, err)
	}
	ln.SetUnlinkOnClose(false)
	lf, err := ln.File()
	_ = ln.Close() // the duplicate in lf keeps listening
	if err != nil {
		return fmt.Errorf("pcscd: %w", err)
	}
	defer lf.Close()
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pcscd: %w", err)
	}
	defer logf.Close()

	flags := "--error"
	if d.debug {
		flags = "--debug --apdu"
	}
	if d.tools.NoPolkit {
		flags += " --disable-polkit"
	}
	// LISTEN_PID must be pcscd's own pid: the shell sets it to its own
	// and execs pcscd, which keeps the pid. The listener is fd 3.
	script := `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --foreground ` + flags + ` -c "$1"`
	cmd := exec.Command("/bin/sh", "-c", script, d.tools.PCSCD, d.conf)
	cmd.ExtraFiles = []*os.File{lf}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = withoutListenVars(os.Environ())
	// Should the test binary die without stopping it, the daemon goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	exited := make(chan struct{})
	d.cmd, d.exited = cmd, exited
	go func() {
		d.waitErr = cmd.Wait()
		close(exited)
	}()
	if err := d.waitReady(ctx); err != nil {
		_ = d.terminate()
		return err
	}
	return nil
}

// tempRoot keeps the socket path short: a UNIX socket path has at most
// 107 bytes.
func tempRoot() string {
	if len(os.TempDir()) > 60 {
		return "/tmp"
	}
	return ""
}

func withoutListenVars(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "LISTEN_") || strings.HasPrefix(kv, SocketEnv+"=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// waitReady waits until pcscd holds the handed-over socket and vpcd
// listens on the daemon's port in pcscd's process.
func (d *Daemon) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	pid := d.cmd.Process.Pid
	for {
		select {
		case <-d.exited:
			return fmt.Errorf("%w: pcscd exited (%v): %s", ErrStart, d.waitErr, d.Log())
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrStart, ctx.Err())
		default:
		}
		if socketFD(pid, 3) {
			ok, err := listensIn(pid, d.Port)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrStart, err)
			}
			if ok {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: vpcd is not listening on port %d after 10s: %s", ErrStart, d.Port, d.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// socketFD reports whether file descriptor fd of process pid is a socket.
func socketFD(pid, fd int) bool {
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	return err == nil && strings.HasPrefix(l, "socket:")
}

// listensIn reports whether process pid holds a socket listening on TCP
// port port.
func listensIn(pid, port int) (bool, error) {
	socks, err := tcpSockets()
	if err != nil {
		return false, err
	}
	inodes := map[string]bool{}
	for _, s := range socks {
		if s.port == port && s.state == stateListen {
			inodes[s.inode] = true
		}
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, nil // pcscd gone: the caller sees it exit
	}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		if strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
			return true, nil
		}
	}
	return false, nil
}

const stateListen = "0A"

type tcpSocket struct {
	port  int
	state string
	inode string
}

// tcpSockets reads the TCP sockets of /proc/net/tcp and /proc/net/tcp6.
func tcpSockets() ([]tcpSocket, error) {
	var out []tcpSocket
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		socks, err := readProcNet(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && f != "/proc/net/tcp" {
				continue
			}
			return nil, fmt.Errorf("pcscd: %w", err)
		}
		out = append(out, socks...)
	}
	return out, nil
}

func readProcNet(name string) ([]tcpSocket, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []tcpSocket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		local := fields[1]
		i := strings.LastIndexByte(local, ':')
		if i < 0 {
			continue
		}
		port, err := strconv.ParseUint(local[i+1:], 16, 16)
		if err != nil {
			continue
		}
		out = append(out, tcpSocket{port: int(port), state: fields[3], inode: fields[9]})
	}
	return out, sc.Err()
}

// Port range searched by FreePorts: below the usual ephemeral range.
const (
	minPort = 20000
	maxPort = 32000
)

// FreePorts returns the first of n consecutive TCP ports that no socket
// uses, as /proc/net/tcp and /proc/net/tcp6 show them. It picks at random,
// so that test binaries running side by side rarely choose the same ports.
func FreePorts(n int) (int, error) {
	socks, err := tcpSockets()
	if err != nil {
		return 0, err
	}
	used := map[int]bool{}
	for _, s := range socks {
		used[s.port] = true
	}
	for try := 0; try < 1000; try++ {
		p := minPort + rand.IntN(maxPort-minPort-n)
		free := true
		for i := 0; i < n; i++ {
			if used[p+i] {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return 0, fmt.Errorf("pcscd: no %d free ports in a row between %d and %d", n, minPort, maxPort)
}

// Reader is the PC/SC name of vpcd's reader for slot 0 or 1.
func (d *Daemon) Reader(slot int) string { return fmt.Sprintf("%s 00 %02d", d.Name, slot) }

// VPCD is the address cards connect to for slot 0 or 1.
func (d *Daemon) VPCD(slot int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port+slot))
}

// Setenv points this process's PC/SC clients at the daemon. libpcsclite
// reads the variable once, before the first context is established.
func (d *Daemon) Setenv() error { return os.Setenv(SocketEnv, d.Socket) }

// Env is the environment entry that points a child process at the daemon.
func (d *Daemon) Env() string { return SocketEnv + "=" + d.Socket }

// Pid is pcscd's process ID.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Running reports whether pcscd is still running.
func (d *Daemon) Running() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// Log returns what pcscd wrote so far.
func (d *Daemon) Log() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return ""
	}
	return string(b)
}

// Stop stops pcscd (SIGTERM, then SIGKILL after 10 s), waits for it and
// removes the directory Start made.
func (d *Daemon) Stop() error {
	err := d.terminate()
	if d.ownDir {
		_ = os.RemoveAll(d.Dir)
	}
	return err
}

// Kill stops pcscd at once (SIGKILL), as when the service crashes; Restart
// brings it back.
func (d *Daemon) Kill() {
	if d.cmd != nil && d.Running() {
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// Restart stops pcscd (if it runs) and starts it again with the same
// socket, reader name and vpcd port.
func (d *Daemon) Restart(ctx context.Context) error {
	if err := d.terminate(); err != nil {
		return err
	}
	return d.launch(ctx)
}

// terminate stops pcscd with SIGTERM, and SIGKILL after 10 s.
func (d *Daemon) terminate() error {
	if d.cmd == nil || !d.Running() {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("pcscd: did not stop on SIGTERM within 10s; killed")
	}
}
