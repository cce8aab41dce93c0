package issuerhost_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// crashChildEnv names the data directory of the issuer process
// TestCrashChild runs.
const crashChildEnv = "ISSUERHOST_CRASH_CHILD_DIR"

// TestCrashChild is the issuer process of TestCrashKill: it serves the
// sample issuer kept in the directory crashChildEnv names until it is
// killed. Without the variable it does nothing.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs as the child of TestCrashKill")
	}
	h := issuertest.NewHSM(t, filepath.Join(dir, "keys.json"))
	db, err := store.OpenDir(dir, storetest.Options())
	require.NoError(t, err)
	done, err := issuerhost.Initialised(ctx, db)
	require.NoError(t, err)
	if !done {
		require.NoError(t, issuerhost.Init(ctx, db, h, issuertest.SampleSeed(t, h)))
	}
	// The sample cards date their cryptograms and the sample phones'
	// cloud keys are of Start's hour: the issuer runs on the sample clock.
	start := func() time.Time { return issuertest.Start }
	s, err := issuerhost.New(db, h, issuerhost.Config{Now: start,
		CloudVerifier: issuertest.SampleCloud(t, db, h, start)})
	require.NoError(t, err)
	require.NoError(t, s.Start(ctx))
	fmt.Printf("ADDR=%s\n", s.Addr())
	select {}
}

// startChild runs the issuer in its own process and returns it and its
// address.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	addr := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), "ADDR="); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(60 * time.Second):
		t.Fatal("the issuer process did not start")
	}
	return nil, ""
}

// A real issuer process killed (SIGKILL) between requests loses nothing it
// answered: after a restart the ATC does not go back, a used cryptogram and
// a used cloud key are still refused (R-G4, R-S5b), and the hold of
// the approval is still there.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	n := issuertest.New(t) // the card simulators; the issuer's state is the child's
	dir := t.TempDir()
	cmd, addr := startChild(t, dir)
	c := dial(t, addr)
	ask := func(r authz.Request) isospec.AuthorizationResponse {
		t.Helper()
		return decodeAuth(t, send(t, c, isoRequest(r), true))
	}
	var last authz.Request
	for i := 0; i < 3; i++ {
		last = n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000})
		require.Equal(t, isospec.RCApproved, ask(last).ResponseCode)
	}
	hce := n.Request(issuertest.HCE, issuertest.Tap{Amount: 1000, CDCVM: true, ATC: 1})
	require.Equal(t, isospec.RCApproved, ask(hce).ResponseCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	_ = c.Close()

	_, addr = startChild(t, dir)
	c = dial(t, addr)
	last.STAN = n.NextSTAN()
	resp := ask(last)
	require.Equal(t, isospec.RCCryptogramFailure, resp.ResponseCode)
	require.Equal(t, isospec.ReasonCryptogramReplay, reason(t, resp.PrivateData))
	resp = ask(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 2, UN: 77}))
	require.Equal(t, isospec.ReasonATCReplay, reason(t, resp.PrivateData))
	resp = ask(n.Request(issuertest.HCE, issuertest.Tap{Amount: 500, CDCVM: true, ATC: 1, UN: 99}))
	require.Equal(t, isospec.ReasonHCEKeyUsed, reason(t, resp.PrivateData))
	require.Equal(t, isospec.RCApproved, ask(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000})).ResponseCode)

	db, err := store.OpenDir(dir, storetest.Options())
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		hw, _, err := tx.ATC(ctx, "card:"+issuertest.VisaPlastic)
		require.NoError(t, err)
		require.Equal(t, uint16(4), hw)
		a, err := tx.Account(ctx, "acct-1")
		require.NoError(t, err)
		require.Equal(t, int64(4000), a.Held, "four approvals held, none lost")
		_, err = tx.VerifyAudit(ctx)
		return err
	}))
}
