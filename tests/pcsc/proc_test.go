package pcsc

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

// The tapsim binary, built once for the tests that run it as processes.
var (
	buildOnce sync.Once
	buildDir  string
	tapsimBin string
	buildErr  error
)

func tapsim(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tapsim-pcsc-bin-")
		if buildErr != nil {
			return
		}
		tapsimBin = filepath.Join(buildDir, "tapsim")
		cmd := exec.Command("go", "build", "-o", tapsimBin, "github.com/tapsim/tapsim/cmd/tapsim")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building tapsim: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return tapsimBin
}

func removeTapsim() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// proc is tapsim running as a process, its standard output kept line by
// line.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  []string
	seen *sync.Cond
}

// startProc runs tapsim with args and env added to this process's
// environment. It is stopped (SIGTERM) at the end of the test.
func startProc(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(tapsim(t), args...)
	cmd.Env = append(os.Environ(), env...)
	// A command's default data directory (./tapsim-data) lands in the
	// test's own directory, never in the source tree.
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, done: make(chan struct{})}
	p.seen = sync.NewCond(&p.mu)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.mu.Lock()
			p.out = append(p.out, s.Text())
			p.seen.Broadcast()
			p.mu.Unlock()
		}
		_ = cmd.Wait()
		p.mu.Lock()
		close(p.done)
		p.seen.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// waitLine waits for an output line matching re and returns its
// submatches.
func (p *proc) waitLine(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	timer := time.AfterFunc(20*time.Second, func() {
		p.mu.Lock()
		p.seen.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(20 * time.Second)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; ; {
		for ; i < len(p.out); i++ {
			if m := re.FindStringSubmatch(p.out[i]); m != nil {
				return m
			}
		}
		select {
		case <-p.done:
			t.Fatalf("tapsim exited before printing %q:\n%s", re, strings.Join(p.out, "\n"))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tapsim did not print %q within 20s:\n%s", re, strings.Join(p.out, "\n"))
		}
		p.seen.Wait()
	}
}

// output is what the process printed so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, "\n")
}

// signal sends sig to the process.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
}

// stop ends the process with SIGTERM and waits for it.
func (p *proc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("tapsim %v did not stop on SIGTERM", p.cmd.Args[1:])
	}
}

// exitCode waits for the process to end and returns its exit code.
func (p *proc) exitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("tapsim did not exit")
	}
	return p.cmd.ProcessState.ExitCode()
}

// runTapsim runs tapsim to completion and returns its output.
func runTapsim(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tapsim(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var listenRE = regexp.MustCompile(`listening on (\S+),`)

// startHosts runs the sample issuer host and an acquirer routing to it,
// each as a tapsim process on loopback TCP, and returns the acquirer's
// address.
func startHosts(t testing.TB) string {
	t.Helper()
	addr, _ := startHostsAt(t)
	return addr
}

// startHostsAt is startHosts, also returning the issuer's data directory,
// where the issuer keeps the sample HCE phones it enrolled with its cloud
// platform.
func startHostsAt(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	issuer := startProc(t, nil, "issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "issuer"))
	issuerAddr := issuer.waitLine(t, listenRE)[1]
	acq := startProc(t, nil, "acquirer", "--listen", "127.0.0.1:0", "--issuer", issuerAddr,
		"--data", filepath.Join(dir, "acquirer"), "--issuer-timeout", "5s")
	addr := acq.waitLine(t, listenRE)[1]
	// Until its issuer link signs on the acquirer would answer 91.
	acq.waitLine(t, linksUpRE)
	return addr, filepath.Join(dir, "issuer")
}

var linksUpRE = regexp.MustCompile(`issuer links signed on`)

// newTerminal is the sample POS terminal connected to the acquirer, with
// presenter bringing the card back when an outcome asks for it.
func newTerminal(t testing.TB, acquirerAddr string, now time.Time, presenter pos.Presenter) *pos.Terminal {
	t.Helper()
	cfg := pos.DefaultConfig()
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(t, err)
	cfg.Kernel.CAPublicKeys = capk
	link := client.New(acquirerAddr, client.Options{})
	t.Cleanup(func() { link.Close() })
	var un uint32
	term, err := pos.New(cfg, link, pos.Options{
		Clock: func() time.Time { return now },
		UnpredictableNumber: func() [4]byte {
			un++
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], 0x5C5C0000|un)
			return b
		},
		STAN:      pos.NewCounter(0),
		Presenter: presenter,
	})
	require.NoError(t, err)
	return term
}
