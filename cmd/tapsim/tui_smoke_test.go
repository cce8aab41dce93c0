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
// arguments, driven from the keyboard as a newcomer would from the footer:
// an approved sale, a See Phone second tap, an online PIN sale, a saved
// trace replayed; then q quits and the process ends. Then again with a
// rules file at the acquirer, which declines a sale by its amount.
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

	// captureOn waits for the texts want on the screen of a session.
	captureOn := func(session string, want ...string) string {
		t.Helper()
		var screen string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			screen, _ = run("capture-pane", "-p", "-t", session)
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
	capture := func(want ...string) string {
		t.Helper()
		return captureOn("smoke", want...)
	}
	capture("Wallet", "t/Enter tap")
	_, err = run("send-keys", "-t", "smoke", "150000")
	require.NoError(t, err)
	capture("NT$1,500.00")
	_, err = run("send-keys", "-t", "smoke", "t")
	require.NoError(t, err)
	s := capture("APPROVED", "DE39 00")
	require.Contains(t, s, "476173******0010")

	keys := func(k ...string) {
		t.Helper()
		_, err := run(append([]string{"send-keys", "-t", "smoke"}, k...)...)
		require.NoError(t, err)
	}
	// The HCE phone: See Phone, unlock on its panel, tap again.
	keys("Down", "Down", "Down")
	capture("> hce-phone")
	keys("t")
	capture("See Phone", "unlock the phone (p)")
	keys("p")
	capture("Phone")
	keys("5791", "u")
	capture("unlocked with passcode")
	keys("Escape", "t")
	capture("APPROVED sale NT$1,500.00 hce-phone", "DE39 00")

	// Online PIN on the Mastercard-like card above the CVM limit.
	keys("Up", "Up", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "350000")
	capture("> mc-plastic", "NT$3,500.00")
	keys("t")
	capture("PIN pad")
	keys("1234")
	capture("PIN: ****")
	keys("Enter")
	s = capture("APPROVED sale NT$3,500.00 mc-plastic", "DE39 00")
	require.Contains(t, s, "online_pin")

	// Saved from the history, the tap is back in the wallet as a recorded
	// card; its replay reaches the issuer, which refuses the replayed
	// counter.
	keys("h", "s")
	capture("saved ")
	keys("Escape")
	capture("t/Enter tap")
	for i := 0; i < 30; i++ { // the last wallet entry
		keys("Down")
	}
	capture("> ↺ mc-plastic-sale-00")
	keys("t")
	capture("PIN pad")
	keys("1234", "Enter")
	capture("DECLINED sale NT$3,500.00 trace: tapsim-mc-plastic-", "DE39 82", "cryptogram_replay")
	entries, err := filepath.Glob(filepath.Join(dir, "tapsim-mc-plastic-sale-*.trace"))
	require.NoError(t, err)
	require.Len(t, entries, 1)

	quit := func(session string) {
		t.Helper()
		_, err := run("send-keys", "-t", session, "q")
		require.NoError(t, err)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := run("has-session", "-t", session); err != nil {
				return // the binary exited and its session closed
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("tapsim did not exit on q (%s)", session)
	}
	quit("smoke")

	// A rules file at the acquirer: amounts ending in 51 are declined 51,
	// the cardholder reads Not Authorised and the operator the reason.
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte("rules:\n  - name: nsf-by-amount\n    match: {amount: {ends: \"51\"}}\n    respond: \"51\"\n"), 0o600))
	_, err = run("new-session", "-d", "-s", "rules", "-x", "80", "-y", "24", "-c", dir, bin, "tui", "--rules", rules)
	require.NoError(t, err)
	capture = func(want ...string) string {
		t.Helper()
		return captureOn("rules", want...)
	}
	capture("Wallet", "t/Enter tap")
	_, err = run("send-keys", "-t", "rules", "150051", "t")
	require.NoError(t, err)
	capture("DECLINED sale NT$1,500.51", "DE39 51 insufficient funds", "Not Authorised")
	quit("rules")
}
