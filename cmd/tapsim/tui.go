package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hce"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/keyblock"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pcsc"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui"
)

func init() { subcommands = append(subcommands, newTUICmd) }

// tuiOptions are the flags of "tapsim tui".
type tuiOptions struct {
	dataDir string
	saveDir string
}

func newTUICmd() *cobra.Command {
	var o tuiOptions
	c := &cobra.Command{
		Use:   "tui [--data DIR]",
		Short: "Open the terminal UI on the embedded network (the default with no arguments)",
		Long: `Opens the terminal UI: a POS terminal on the sample network, with the issuer host and
the acquirer started in this process over loopback TCP and a wallet of the sample virtual
cards and phones. Type an amount, choose a card, tap; the footer shows the keys of each
screen and ? lists them all. q or Ctrl-C quits and stops the hosts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTUI(cmd.Context(), o, nil)
		},
	}
	c.Flags().StringVar(&o.dataDir, "data", "", "data directory of both hosts, kept afterwards (default: a temporary one)")
	c.Flags().StringVar(&o.saveDir, "save-dir", ".", "where transaction traces are saved; its *.trace files are in the wallet as recorded cards")
	return c
}

// tuiSession is the embedded network with the UI's backend on it.
type tuiSession struct {
	net     *network
	links   []*client.Client
	backend tui.Backend
	cleanup func()
}

// startTUISession starts the network in dir ("" means a temporary one) and
// makes the UI's backend.
func startTUISession(ctx context.Context, dir string) (*tuiSession, error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tapsim-tui-")
		if err != nil {
			return nil, err
		}
		dir = tmp
		cleanup = func() { _ = os.RemoveAll(tmp) }
	} else if _, err := os.Stat(dir + "/issuer/" + store.FileName); err == nil {
		return nil, usageErr("--data %s holds an earlier run; give a new directory", dir)
	}
	logs := &tui.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := startNetwork(ctx, networkOptions{Dir: dir, Logger: logger, IssuerTimeout: 1500 * time.Millisecond})
	if err != nil {
		cleanup()
		return nil, err
	}
	s := &tuiSession{net: n}
	now := time.Now()
	s.backend = tui.Backend{
		Wallet:   tuiWallet(),
		LoadCard: func(name string) (cards.Card, error) { return loadCard(name, now) },
		NewTerminal: func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
			if cfg == nil {
				t, link, err := n.newTerminal(o)
				if err != nil {
					return nil, err
				}
				s.links = append(s.links, link)
				return t, nil
			}
			link := client.New(n.AcquirerAddr(), client.Options{})
			t, err := pos.New(*cfg, link, o)
			if err != nil {
				_ = link.Close()
				return nil, err
			}
			s.links = append(s.links, link)
			return t, nil
		},
		StopIssuer:  n.stopIssuer,
		StartIssuer: n.restartIssuer,
		ReportLost: func(ctx context.Context, name string) (string, error) {
			return reportLostPhone(ctx, n, name)
		},
		Replenish: func(ctx context.Context, name string, c cards.Card) (int, error) {
			return replenishPhone(ctx, n, name, c)
		},
		Readers: pcsc.AvailableReaders,
		OpenReader: func(_ context.Context, name string) (tui.FieldReader, error) {
			return pcsc.Open(name, pcsc.Options{})
		},
		HostLog: logs,
		Info:    tuiCardInfo,
	}
	s.cleanup = func() {
		for _, l := range s.links {
			_ = l.Close()
		}
		n.Close()
		cleanup()
	}
	return s, nil
}

// lostReason is what a lost-phone report from the UI records at the
// issuer.
const lostReason = "reported lost by the cardholder"

// reportLostPhone reports the phone of wallet entry name lost to the
// embedded issuer (R-C1) and says, for the phone panel, what the issuer
// did. What it does follows what the phone holds, as the sample data makes
// it of the phone's built-in profile (issuerSampleSeed): an HCE phone bound
// to a device is reported lost to the cloud platform, which suspends every
// token bound to the device and voids its unused single-use keys in one
// transaction; a phone holding tokens without a device (a wallet phone)
// has its tokens suspended in the vault; a phone holding cards (an SE
// phone) has them marked lost in the card store. Each change is recorded
// with the reason lostReason. A plastic card, or an entry that is no
// built-in profile, is not a phone.
func reportLostPhone(ctx context.Context, n *network, name string) (string, error) {
	p, err := cards.Builtin(name)
	if err != nil || !slices.Contains([]string{cards.FormSEPhone, cards.FormHCEPhone, cards.FormWallet}, p.FormFactor) {
		return "", fmt.Errorf("%s is not a phone", name)
	}
	iss := n.Issuer()
	if iss == nil {
		return "", errors.New("issuer host not running")
	}
	var done []string
	if p.FormFactor == cards.FormHCEPhone && p.Phone != nil && len(p.Phone.DeviceID) > 0 {
		rep, err := iss.Cloud().ReportLost(ctx, fmt.Sprintf("%X", []byte(p.Phone.DeviceID)), lostReason)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		suspended := "none left active"
		if len(rep.TokensSuspended) > 0 {
			suspended = strings.Join(rep.TokensSuspended, ", ")
		}
		done = append(done, fmt.Sprintf("device %s: tokens suspended: %s; %d keys voided", rep.DeviceID, suspended, rep.KeysVoided))
	} else if slices.ContainsFunc(profileApps(p), func(a cards.AppProfile) bool { return a.Token != nil }) {
		// The sample data names a profile's token after the profile.
		s, err := suspendToken(ctx, iss, p.Name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		done = append(done, s)
	}
	for _, a := range profileApps(p) {
		if a.Token != nil || a.PAN == "" {
			continue
		}
		s, err := markCardLost(ctx, iss, a.PAN)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		done = append(done, s)
	}
	if len(done) == 0 {
		return "", fmt.Errorf("%s holds no card or token the issuer knows", name)
	}
	return strings.Join(done, "; "), nil
}

// profileApps lists the applications of profile p.
func profileApps(p cards.Profile) []cards.AppProfile {
	if p.App != nil {
		return append([]cards.AppProfile{*p.App}, p.Apps...)
	}
	return p.Apps
}

// suspendToken suspends token id in the issuer's vault.
func suspendToken(ctx context.Context, iss *issuerhost.Server, id string) (string, error) {
	var was store.TokenStatus
	if err := iss.Store().View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, id)
		was = k.Status
		return err
	}); err != nil {
		return "", err
	}
	if was == store.TokenSuspended {
		return "token " + id + " already suspended", nil
	}
	if err := iss.Vault().Suspend(ctx, id, lostReason); err != nil {
		return "", err
	}
	return "token suspended: " + id, nil
}

// markCardLost marks the issuer's card with PAN p lost; what it reports
// names the card by its ID, never by its PAN.
func markCardLost(ctx context.Context, iss *issuerhost.Server, p string) (string, error) {
	var id string
	if err := iss.Store().View(ctx, func(tx *store.Tx) error {
		c, err := tx.CardByPAN(ctx, p)
		id = c.ID
		return err
	}); err != nil {
		return "", err
	}
	changed, err := iss.Engine().ReportCardLost(ctx, id, lostReason)
	if err != nil {
		return "", err
	}
	if !changed {
		return "card " + id + " already lost", nil
	}
	return "card marked lost: " + id, nil
}

// replenishPhone asks the issuer's cloud platform for a batch of single-use
// keys for the HCE phone of wallet entry name and loads them into c: the
// token is the one the sample data makes of the phone's profile, the device
// its hardware ID, and the phone opens the batch with the transport key. The
// platform issues when the phone holds its low-water mark of usable keys or
// fewer; a phone that holds none gets a batch in any case. It returns the
// number of keys loaded (0 when the platform saw no need).
func replenishPhone(ctx context.Context, n *network, name string, c cards.Card) (int, error) {
	ph, ok := cards.Phone(c)
	if !ok || ph.KeyStore() == nil {
		return 0, fmt.Errorf("replenish: %s is not an HCE phone", name)
	}
	p, err := cards.Builtin(name)
	if err != nil {
		return 0, fmt.Errorf("replenish: %s: %w", name, err)
	}
	if p.Phone == nil || len(p.Phone.DeviceID) == 0 {
		return 0, fmt.Errorf("replenish: %s has no device ID", name)
	}
	iss := n.Issuer()
	if iss == nil {
		return 0, errors.New("replenish: issuer host not running")
	}
	device := fmt.Sprintf("%X", []byte(p.Phone.DeviceID))
	batch, issued, err := iss.Cloud().Replenish(ctx, p.Name, device)
	if err == nil && !issued && ph.KeysLeft() == 0 {
		batch, err = iss.Cloud().IssueBatch(ctx, p.Name, device, 0)
		issued = err == nil
	}
	if err != nil {
		return 0, fmt.Errorf("replenish: %w", err)
	}
	if !issued {
		return 0, nil
	}
	kek, err := keys.ParseHex(keys.AES, sampleKEK)
	if err != nil {
		return 0, fmt.Errorf("replenish: transport key: %w", err)
	}
	opened, err := keyblock.OpenHCEKeys(kek, batch.Keys)
	if err != nil {
		return 0, fmt.Errorf("replenish: %w", err)
	}
	creds := make([]hce.Credential, len(opened))
	for i, k := range opened {
		creds[i] = hce.Credential{ATC: k.ATC, Key: k.Key}
	}
	if err := ph.Replenish(creds...); err != nil {
		return 0, fmt.Errorf("replenish: %w", err)
	}
	return len(creds), nil
}

// tuiCardInfo describes a sample card or phone for the UI: its profile's
// description, a phone's test passcode and the sample PIN the issuer
// seeds for every sample account.
func tuiCardInfo(name string) tui.CardInfo {
	p, err := cards.Builtin(name)
	if err != nil {
		return tui.CardInfo{}
	}
	info := tui.CardInfo{Summary: p.Description, PIN: issSamplePIN}
	if p.Phone != nil {
		info.Passcode = p.Phone.Passcode
	}
	return info
}

// Close stops the hosts and removes a temporary data directory.
func (s *tuiSession) Close() { s.cleanup() }

// tuiWallet lists the sample cards and phones, the everyday ones first.
func tuiWallet() []string {
	first := []string{"visa-plastic", "mc-plastic", "visa-se-phone", "hce-phone", "wallet-phone"}
	seen := map[string]bool{}
	var out []string
	all := cards.BuiltinNames()
	have := map[string]bool{}
	for _, n := range all {
		have[n] = true
	}
	for _, n := range first {
		if have[n] {
			out = append(out, n)
			seen[n] = true
		}
	}
	for _, n := range all {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// runTUI runs the UI until the tester quits; screen nil means the terminal.
func runTUI(ctx context.Context, o tuiOptions, screen tcell.Screen) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if strings.TrimSpace(o.dataDir) == "" && o.dataDir != "" {
		return usageErr("--data: empty directory")
	}
	if screen == nil {
		if err := checkTTY(); err != nil {
			return err
		}
	}
	s, err := startTUISession(ctx, o.dataDir)
	if err != nil {
		return err
	}
	defer s.Close()
	app, err := tui.New(s.backend, tui.Options{Screen: screen, SaveDir: o.saveDir, Timing: true})
	if err != nil {
		return err
	}
	sig, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		<-sig.Done()
		app.Stop()
	}()
	if err := app.Run(); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

// errNoTTY reports that the terminal UI has no terminal to draw on.
var errNoTTY = errors.New("the terminal UI needs a terminal (TTY); without one use tapsim demo, tap, terminal or run")

// checkTTY reports errNoTTY unless the process has a controlling terminal
// the UI can draw on (the screen library opens /dev/tty) and TERM names
// one.
func checkTTY() error {
	if os.Getenv("TERM") == "" || os.Getenv("TERM") == "dumb" {
		return fmt.Errorf("tui: %w: TERM is not set to a terminal type", errNoTTY)
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("tui: %w", errNoTTY)
	}
	defer f.Close()
	if !term.IsTerminal(int(f.Fd())) {
		return fmt.Errorf("tui: %w", errNoTTY)
	}
	return nil
}

func init() {
	rootRunE = func(cmd *cobra.Command, _ []string) error {
		return runTUI(cmd.Context(), tuiOptions{saveDir: "."}, nil)
	}
}
