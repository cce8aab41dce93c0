package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
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

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
)

// tapsimBin is the tapsim binary built for the tests.
var tapsimBin string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "tapsim-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tapsimBin = filepath.Join(tmp, "tapsim")
	build := exec.Command("go", "build", "-o", tapsimBin, "github.com/tapsim/tapsim/cmd/tapsim")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building tapsim:", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// proc is a host running as a tapsim process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	mu   sync.Mutex
	out  []string
}

var listenRE = regexp.MustCompile(`listening on (\S+),`)

// start runs tapsim with args and waits for its "listening on" line.
func start(tb testing.TB, args ...string) *proc {
	tb.Helper()
	return startProc(tb, false, args...)
}

// startLogged is start with the process's log (stderr) kept in its
// output too.
func startLogged(tb testing.TB, args ...string) *proc {
	tb.Helper()
	return startProc(tb, true, args...)
}

func startProc(tb testing.TB, logged bool, args ...string) *proc {
	tb.Helper()
	cmd := exec.Command(tapsimBin, args...)
	var out io.Reader
	var closeOut func()
	if logged {
		r, w := io.Pipe()
		cmd.Stdout, cmd.Stderr = w, w
		out, closeOut = r, func() { _ = w.Close() }
	} else {
		stdout, err := cmd.StdoutPipe()
		require.NoError(tb, err)
		cmd.Stderr = io.Discard
		out, closeOut = stdout, func() {}
	}
	require.NoError(tb, cmd.Start())
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			line := s.Text()
			p.mu.Lock()
			p.out = append(p.out, line)
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); closeOut(); close(p.done) }()
	tb.Cleanup(func() { p.stop() })
	select {
	case p.addr = <-addr:
	case <-p.done:
		tb.Fatalf("tapsim %v exited before listening", args)
	case <-time.After(20 * time.Second):
		tb.Fatalf("tapsim %v did not start listening", args)
	}
	return p
}

// stop ends the process cleanly (SIGTERM) and waits for it.
func (p *proc) stop() {
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
	}
}

// kill ends the process with SIGKILL: no clean shutdown at all.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// output is what the process printed on stdout so far.
func (p *proc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// hosts is the issuer host and the acquirer as processes.
type hosts struct {
	issuerDir, acquirerDir string
	issuer, acquirer       *proc
}

// startHosts starts an issuer host with fresh sample data and an acquirer
// routing to it.
func startHosts(tb testing.TB) *hosts { return startHostsTimeout(tb, 3*time.Second) }

// startHostsTimeout is startHosts with the acquirer waiting up to timeout
// for the issuer's answers.
func startHostsTimeout(tb testing.TB, timeout time.Duration) *hosts {
	tb.Helper()
	dir := tb.TempDir()
	h := &hosts{issuerDir: filepath.Join(dir, "issuer"), acquirerDir: filepath.Join(dir, "acquirer")}
	h.issuer = start(tb, "issuer", "--listen", "127.0.0.1:0", "--data", h.issuerDir)
	h.acquirer = start(tb, "acquirer", "--listen", "127.0.0.1:0", "--issuer", h.issuer.addr,
		"--data", h.acquirerDir, "--issuer-timeout", timeout.String())
	h.acquirer.waitLine(tb, "issuer links signed on")
	return h
}

// waitLine waits until the process has printed a line containing s.
func (p *proc) waitLine(tb testing.TB, s string) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		for _, l := range p.output() {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}, 20*time.Second, 5*time.Millisecond, "waiting for %q", s)
}

// restartIssuer starts the issuer again on its data, on the same address.
func (h *hosts) restartIssuer(tb testing.TB) {
	tb.Helper()
	h.issuer = start(tb, "issuer", "--listen", h.issuer.addr, "--data", h.issuerDir)
}

// cardholder holds the virtual cards and phones, kept from tap to tap.
type cardholder struct {
	now   time.Time
	cards map[string]cards.Card
	// issuerDir is the data of the issuer whose cloud platform enrolled
	// the sample HCE phones (their storage is there); backups holds a
	// copy of each phone's storage as it was first taken out.
	issuerDir string
	backups   map[string]string
}

func newCardholder() *cardholder {
	return &cardholder{now: time.Now().Truncate(time.Second), cards: map[string]cards.Card{}, backups: map[string]string{}}
}

// at points the holder at the sample HCE phones of the issuer whose data
// is dir, forgetting the phones and backups taken from another.
func (h *cardholder) at(dir string) *cardholder {
	if dir != h.issuerDir {
		for _, name := range lab.SampleHCEProfiles {
			delete(h.cards, name)
		}
		h.issuerDir, h.backups = dir, map[string]string{}
	}
	return h
}

// card is the holder's card of a profile; fresh makes a new one from the
// profile (its counters and key store as first provisioned): for a sample
// HCE phone, the phone restored from a backup of its storage as the
// issuer's cloud platform first delivered it.
func (h *cardholder) card(tb testing.TB, profile string, fresh bool) cards.Card {
	tb.Helper()
	if c, ok := h.cards[profile]; ok && !fresh {
		return c
	}
	if lab.IsSampleHCE(profile) {
		c := h.hcePhone(tb, profile, fresh)
		if !fresh {
			h.cards[profile] = c
		}
		return c
	}
	p, err := cards.Builtin(profile)
	require.NoError(tb, err)
	c, err := cards.FromProfile(p, cards.Options{Clock: func() time.Time { return h.now }})
	require.NoError(tb, err)
	if !fresh {
		h.cards[profile] = c
	}
	return c
}

// hcePhone opens the sample HCE phone of profile from the issuer's data,
// or from the backup of its storage made when it was first opened.
func (h *cardholder) hcePhone(tb testing.TB, profile string, fromBackup bool) cards.Card {
	tb.Helper()
	require.NotEmpty(tb, h.issuerDir, "the issuer whose cloud platform enrolled %s", profile)
	if _, ok := h.backups[profile]; !ok {
		b, err := os.ReadFile(lab.HCEPhoneFile(h.issuerDir, profile))
		require.NoError(tb, err)
		dir := tb.TempDir()
		require.NoError(tb, os.WriteFile(lab.HCEPhoneFile(dir, profile), b, 0o600))
		h.backups[profile] = dir
	}
	dir := h.issuerDir
	if fromBackup {
		dir = h.backups[profile]
	}
	hp, err := lab.OpenIssuerHCEPhone(dir, profile, func() time.Time { return h.now }, nil)
	require.NoError(tb, err)
	return hp.Phone
}

// terminal is the sample terminal T0000001 connected to an acquirer.
type terminal struct {
	t    *pos.Terminal
	link *client.Client
	pin  string
	un   uint32
}

func newTerminal(tb testing.TB, acquirerAddr string, now time.Time) *terminal {
	tb.Helper()
	link := client.New(acquirerAddr, client.Options{})
	tb.Cleanup(func() { link.Close() })
	term := newTerminalOn(tb, link, now)
	term.link = link
	return term
}

// newTerminalOn is the sample terminal T0000001 sending through link.
func newTerminalOn(tb testing.TB, link pos.Link, now time.Time, change ...func(*pos.Config)) *terminal {
	tb.Helper()
	cfg := pos.DefaultConfig()
	for _, f := range change {
		f(&cfg)
	}
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(tb, err)
	cfg.Kernel.CAPublicKeys = capk
	term := &terminal{}
	term.t, err = pos.New(cfg, link, pos.Options{
		Clock: func() time.Time { return now },
		UnpredictableNumber: func() [4]byte {
			term.un++
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], 0xE2E00000|term.un)
			return b
		},
		STAN: pos.NewCounter(0),
		Keypad: pinpad.KeypadFunc(func(context.Context, pinpad.Prompt) (pinpad.PIN, error) {
			if term.pin == "" {
				return pinpad.PIN{}, pinpad.ErrBypassed
			}
			return pinpad.NewPIN(term.pin)
		}),
	})
	require.NoError(tb, err)
	return term
}

// sell runs one sale of card, the phone unlocked with passcode first when
// given, pin typed when the card asks for one.
func (term *terminal) sell(tb testing.TB, c cards.Card, amount int64, passcode, pin string) *pos.Result {
	tb.Helper()
	if passcode != "" {
		ph, ok := cards.Phone(c)
		require.True(tb, ok)
		require.NoError(tb, ph.Unlock(passcode))
	}
	term.pin = pin
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := term.t.Sale(ctx, amount, inproc.New(c))
	require.NoError(tb, err)
	return res
}

// requireAnswer checks DE39 and the decline reason of a result.
func requireAnswer(tb testing.TB, res *pos.Result, code isospec.ResponseCode, reason isospec.DeclineReason) {
	tb.Helper()
	require.True(tb, res.Online, "%s", res)
	require.Equal(tb, code, res.ResponseCode, "%s", res)
	require.Equal(tb, reason, res.DeclineReason, "%s", res)
}

// sampleLMK is the local master key the tapsim processes use when
// TAPSIM_HSM_LMK is not set: the sample network's test LMK.
const sampleLMK = "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB"

// issuerState reads the issuer's store (the host keeps running: SQLite in
// WAL mode lets a reader in), with the data keys of the issuer's keystore
// in dir (read only: the keys are there).
func issuerState(tb testing.TB, dir string, fn func(ctx context.Context, tx *store.Tx)) {
	tb.Helper()
	ctx := context.Background()
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, sampleLMK), Path: filepath.Join(dir, "issuer-keys.json")})
	require.NoError(tb, err)
	defer m.Close()
	c, err := store.HSMCipher(m)
	require.NoError(tb, err)
	db, err := store.OpenDir(dir, store.Options{Cipher: c})
	require.NoError(tb, err)
	defer db.Close()
	require.NoError(tb, db.View(ctx, func(tx *store.Tx) error { fn(ctx, tx); return nil }))
}

// waitPort waits until addr takes TCP connections.
func waitPort(tb testing.TB, addr string) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		c, err := dial(addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 20*time.Second, 20*time.Millisecond)
}

// requireCloudKeys checks, in tx, the issuer's ledger of the cloud keys of
// card account ref: used keys served one transaction each, unused none
// (R-S5b).
func requireCloudKeys(tb testing.TB, ctx context.Context, tx *store.Tx, ref string, used, unused int) {
	tb.Helper()
	ks, err := tx.CloudKeys(ctx)
	require.NoError(tb, err)
	u, n := 0, 0
	for _, k := range ks {
		if k.CardRef != ref {
			continue
		}
		require.LessOrEqual(tb, k.Used, 1, "a key served one transaction at most")
		if k.Used == 1 {
			u++
		} else {
			n++
		}
	}
	require.Equal(tb, used, u, "keys of %s used", ref)
	require.Equal(tb, unused, n, "keys of %s not used", ref)
}

// requireCloudKeysUsed is requireCloudKeys on the issuer whose data is dir.
func requireCloudKeysUsed(tb testing.TB, dir, ref string, used, unused int) {
	tb.Helper()
	issuerState(tb, dir, func(ctx context.Context, tx *store.Tx) { requireCloudKeys(tb, ctx, tx, ref, used, unused) })
}
