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
	"golang.org/x/term"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/lab"
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
	// rules are the acquirer's response rules, issuerRules the issuer
	// host's (their poll is rules.poll).
	rules       rulesFlags
	issuerRules string
}

func newTUICmd() *cobra.Command {
	var o tuiOptions
	c := &cobra.Command{
		Use:   "tui [--data DIR]",
		Short: "Open the terminal UI on the embedded network (the default with no arguments)",
		Long: `Opens the terminal UI: a POS terminal on the sample network, with the issuer host and
the acquirer started in this process over loopback TCP and a wallet of the sample virtual
cards and phones. Type an amount, choose a card, tap; the footer shows the keys of each
screen and ? lists them all. q or Ctrl-C quits and stops the hosts.

--rules FILE applies host response rules (YAML, see the README) at the acquirer, which every
sale goes through; --issuer-rules FILE applies a rules file at the issuer host. Both are
reloaded when they change and their firings are shown in the host log pane. On the terminal
screen, n forces the answer to the next sale only (a DE39, a delay, or no answer).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneLongRun(true)
			return runTUI(cmd.Context(), o, nil)
		},
	}
	c.Flags().StringVar(&o.dataDir, "data", "", "data directory of both hosts, kept afterwards (default: a temporary one)")
	c.Flags().StringVar(&o.saveDir, "save-dir", ".", "where transaction traces are saved; its *.trace files are in the wallet as recorded cards")
	addRulesFlags(c.Flags(), &o.rules)
	c.Flags().StringVar(&o.issuerRules, "issuer-rules", "", "host response rules of the issuer host, YAML; reloaded when the file changes")
	return c
}

// tuiSession is the embedded network with the UI's backend on it.
type tuiSession struct {
	net     *lab.Network
	links   []*client.Client
	backend tui.Backend
	cleanup func()
}

// startTUISession starts the network in dir ("" means a temporary one) and
// makes the UI's backend.
func startTUISession(ctx context.Context, dir string, o tuiOptions) (*tuiSession, error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tapsim-tui-")
		if err != nil {
			return nil, err
		}
		dir = tmp
		cleanup = func() { _ = os.RemoveAll(tmp) }
	} else if lab.HasData(dir) {
		return nil, usageErr("--data %s holds an earlier run; give a new directory", dir)
	}
	logs := &tui.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	acqRules, stopAcq, err := o.rules.loadTo(logger.With("host", "acquirer"))
	if err != nil {
		cleanup()
		return nil, err
	}
	issuerFlags := rulesFlags{path: o.issuerRules, poll: o.rules.poll}
	if issuerFlags.poll <= 0 {
		issuerFlags.poll = time.Second
	}
	issRules, stopIss, err := issuerFlags.loadTo(logger.With("host", "issuer"))
	if err != nil {
		stopAcq()
		cleanup()
		if o.issuerRules != "" {
			return nil, usageErr("--issuer-rules: %s", strings.TrimPrefix(err.Error(), "--rules: "))
		}
		return nil, err
	}
	stopRules := func() { stopIss(); stopAcq() }
	wallet := newTUIWalletFlow()
	n, err := lab.Start(ctx, lab.Options{Dir: dir, Logger: logger, IssuerTimeout: 1500 * time.Millisecond,
		Recommend: wallet.recommend, AcquirerRules: acqRules, IssuerRules: issRules})
	if err != nil {
		stopRules()
		cleanup()
		return nil, err
	}
	wallet.n = n
	hce := &tuiHCEFlow{n: n, wallet: wallet, entries: map[string]lab.HCEResult{}}
	hceCards, hcePINCards := tuiHCECards()
	se := &tuiSEFlow{n: n, wallet: wallet, lost: hce.reportLost, entries: map[string]string{}}
	s := &tuiSession{net: n}
	now := time.Now()
	s.backend = tui.Backend{
		Wallet:   tuiWallet(),
		LoadCard: func(name string) (cards.Card, error) { return n.Card(name, now) },
		NewTerminal: func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
			var (
				t    *pos.Terminal
				link *client.Client
				err  error
			)
			if cfg == nil {
				t, link, err = n.NewTerminal(o)
			} else {
				t, link, err = n.NewTerminalWith(*cfg, o)
			}
			if err != nil {
				return nil, err
			}
			s.links = append(s.links, link)
			return t, nil
		},
		TolerateReplay: func(_ context.Context, arqc []byte) error {
			return n.TolerateReplayOnce(arqc)
		},
		StopIssuer:  n.StopIssuer,
		StartIssuer: n.RestartIssuer,
		ReportLost:  se.reportLost,
		Replenish:   hce.replenish,
		Readers:     pcsc.AvailableReaders,
		OpenReader: func(_ context.Context, name string) (tui.FieldReader, error) {
			return pcsc.Open(name, pcsc.Options{})
		},
		HostLog:    logs,
		NextAnswer: n.AcquirerRules(),
		Info: func(name string) tui.CardInfo {
			info := tuiCardInfo(name)
			if w := n.SampleWallet(); name == lab.SampleWalletProfile && w.Phone != nil {
				info.Summary += "; token " + w.Masked + " added through the wallet flow on device " + w.DeviceID
			}
			if d := n.SampleSE(name); d != nil {
				info.Summary += "; personalised over the air into SE " + d.SEID + " of device " + d.ID
			}
			return info
		},

		FundingCards:  tuiFundingCards(),
		AddToWallet:   wallet.add,
		HCECards:      hceCards,
		HCEPINCards:   hcePINCards,
		EnrolHCE:      hce.enrol,
		SECards:       tuiSECards(),
		PersonaliseSE: se.personalise,
		Inbox:         wallet.inbox,
		WalletToken:   wallet.walletToken,
		TokenState:    wallet.tokenState,
	}
	s.cleanup = func() {
		for _, l := range s.links {
			_ = l.Close()
		}
		_ = n.Close()
		stopRules()
		cleanup()
	}
	return s, nil
}

// tuiCardInfo describes a sample card or phone for the UI: its profile's
// description, a phone's test passcode and the sample PIN the issuer
// seeds for every sample account.
func tuiCardInfo(name string) tui.CardInfo {
	p, err := cards.Builtin(name)
	if err != nil {
		return tui.CardInfo{}
	}
	info := tui.CardInfo{Summary: p.Description, PIN: lab.SamplePIN}
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
	s, err := startTUISession(ctx, o.dataDir, o)
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
		tuneLongRun(true)
		return runTUI(cmd.Context(), tuiOptions{saveDir: ".", rules: rulesFlags{poll: time.Second}}, nil)
	}
}
