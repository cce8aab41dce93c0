package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hce"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/keyblock"
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
	c.Flags().StringVar(&o.saveDir, "save-dir", ".", "where saved transaction traces go")
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
		ReportLost: func(ctx context.Context, name string) error {
			iss := n.Issuer()
			if iss == nil {
				return errors.New("issuer host not running")
			}
			if _, err := iss.Cloud().ReportLost(ctx, name, "reported lost by the cardholder"); err == nil {
				return nil
			}
			return iss.Vault().Suspend(ctx, name, "reported lost by the cardholder")
		},
		Replenish: func(ctx context.Context, name string, c cards.Card) (int, error) {
			return replenishPhone(ctx, n, name, c)
		},
		Readers: func() ([]string, error) {
			list, err := pcsc.ListReaders()
			if err != nil {
				return nil, err
			}
			var names []string
			for _, r := range list {
				if !r.Unavailable {
					names = append(names, r.Name)
				}
			}
			return names, nil
		},
		OpenReader: func(_ context.Context, name string) (tui.FieldReader, error) {
			return pcsc.Open(name, pcsc.Options{})
		},
		HostLog: logs,
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

func init() {
	rootRunE = func(cmd *cobra.Command, _ []string) error {
		return runTUI(cmd.Context(), tuiOptions{saveDir: "."}, nil)
	}
}
