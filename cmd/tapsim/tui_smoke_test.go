package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The real binary in a real terminal (tmux, 80x24), started with no
// arguments: one approved sale typed on the keyboard, then q quits, and the
// process ends.
func TestTUISmokeTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is required in CI for the terminal UI smoke test")
		}
		t.Skip("tmux not installed: the terminal UI smoke test is skipped")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tapsim")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	sock := fmt.Sprintf("tapsim-smoke-%d", os.Getpid())
	run := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	// No arguments: the UI is the default, on a temporary data directory.
	_, err = run("new-session", "-d", "-s", "smoke", "-x", "80", "-y", "24", "-c", dir, bin)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = run("kill-server") })

	capture := func(want ...string) string {
		t.Helper()
		var screen string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			screen, _ = run("capture-pane", "-p", "-t", "smoke")
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(screen, w)
			}
			if ok {
				return screen
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %q on:\n%s", want, screen)
		return ""
	}
	capture("Wallet", "t/Enter tap")
	_, err = run("send-keys", "-t", "smoke", "150000")
	require.NoError(t, err)
	capture("NT$1,500.00")
	_, err = run("send-keys", "-t", "smoke", "t")
	require.NoError(t, err)
	s := capture("APPROVED", "DE39 00")
	require.Contains(t, s, "476173******0010")

	_, err = run("send-keys", "-t", "smoke", "q")
	require.NoError(t, err)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := run("has-session", "-t", "smoke"); err != nil {
			return // the binary exited and its session closed
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("tapsim did not exit on q")
}
