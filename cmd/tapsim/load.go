package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/load"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
)

func init() { subcommands = append(subcommands, newLoadCmd) }

const (
	// loadStateFile keeps the load terminals' STANs and KSNs and the load
	// cards' ATCs between runs, in the data directory.
	loadStateFile = "load-state.json"
	// loadMaxATC is the last ATC a card may use (the counter is 2 bytes).
	loadMaxATC = 0xFFFF
)

// printAcquirerTerminals lists the acquirer's terminals, the load
// terminals on one line.
func printAcquirerTerminals(out io.Writer, ts []acquirer.Terminal) {
	var load []string
	kcv := ""
	for _, t := range ts {
		if t.TAK.Label == lab.LoadTAKLabel {
			load = append(load, t.TID)
			kcv = t.TAK.KCV
			continue
		}
		line := fmt.Sprintf("  terminal %s: TAK KCV %s", t.TID, t.TAK.KCV)
		if !t.BDK.IsZero() {
			line += ", BDK KCV " + t.BDK.KCV
		}
		if t.MACOptional {
			line += " - WARNING: MAC optional, requests without a MAC accepted"
		}
		fmt.Fprintln(out, line)
	}
	if len(load) > 0 {
		fmt.Fprintf(out, "  load terminals %s..%s (%d, tapsim load): TAK KCV %s\n", load[0], load[len(load)-1], len(load), kcv)
	}
}

// loadFlags are the flags of "tapsim load".
type loadFlags struct {
	acquirer, card, pin, dataDir, report string
	pprof                                string
	terminals, count                     int
	amount                               int64
	amountText                           string
	duration, timeout, issuerTimeout     time.Duration
	rate                                 float64
	jsonOut, verbose                     bool
	tls                                  tlsFiles
}

func newLoadCmd() *cobra.Command {
	var f loadFlags
	c := &cobra.Command{
		Use:   "load [--terminals N] [--count N | --duration D] [--rate TPS] [--card PROFILE] [--amount N] [--acquirer ADDR] [--json]",
		Short: "Drive many sales through the whole path and report throughput and latency",
		Long: `Runs sales flat out (or paced by --rate) through the real path: a virtual card in
process, the EMV kernel, the POS terminal, ISO 8583 over TCP to the acquirer (MAC check,
duplicate check, routing), ISO 8583 over TCP to the issuer host (ARQC, replay and limits, a
durable SQLite commit per decision) and back. By default the issuer host and the acquirer run
in this process on ephemeral ports of 127.0.0.1 with the sample data in a temporary directory
(or --data DIR, kept afterwards), as "tapsim demo" does, the acquirer connected to the issuer
directly (the demo's link goes through a proxy that can make the issuer hang).

--terminals N (1 to 256) terminals sell in parallel, each with its own TCP connection, terminal
ID (L0000001, L0000002... known to the sample acquirer, sample MAC key, its own DUKPT PIN pad)
and STAN sequence, and its own card: load card n of --card, a card of the profile's BIN with its
own PAN (account digits 98nnnnnnn, Luhn-valid), issuer master key, PIN 1234 and an account with
a NT$10 billion limit, held by the sample issuer. Cards are visa-plastic (default: qVSDC, fDDA)
or mc-plastic (M/Chip, CDA). The default amount, NT$1,001.00, is above the floor limit
(NT$1,000: every sale goes online) and below the CVM limit (NT$3,000: no CVM); above the CVM
limit the card asks for an online PIN, typed from --pin (without it the PIN is bypassed and
the issuer declines).

--card hce-phone or hce-phone-mc (embedded hosts only): each terminal taps an HCE phone of its
own, enrolled at the start of the run with the embedded cloud platform (registration with the
OTP, challenge-signed download) on a card account of its own funded by load card n of
visa-plastic or mc-plastic; its holder unlocks it before every tap (the mc-cloud phone types its
mobile PIN too) and it asks the platform for keys whenever it holds its low-water mark or fewer
(the replenishment counts in that sale's time). The platform issues a card account at most 100
keys an hour, so such a run has at most 90 sales per terminal (the default count is cut to that).

The run stops after --count sales in all (default 1000 when neither is given) or after
--duration, whichever comes first; sales in flight finish. --rate TPS starts sales at a
fixed rate over all terminals instead of flat out (latency under a fixed load; the start lag
says when the terminals could not keep up).

--acquirer ADDR drives a running acquirer instead (tapsim acquirer, tapsim issuer: a sample
network created by this version, which holds the load terminals and cards); the terminals'
STANs and KSNs and the cards' counters are kept in --data (default ./tapsim-data,
load-state.json) so that the next run goes on from them. With --tls-cert, --tls-key and
--tls-ca the terminals dial that acquirer over mutual TLS, all presenting the same certificate.

The summary gives transactions, approved, declined by DE39 with its meaning, errors (no
answer in time, connection, card or kernel errors), wall time, throughput of answered sales,
and latency min/p50/p90/p99/max/mean in milliseconds of the whole sale (tap to answer), of the
host round trip alone (terminal to acquirer to issuer and back) and of the card (kernel and
APDUs). --json prints it as JSON instead; --report FILE writes the JSON to FILE as well. PANs
are never printed. On a terminal (and without --json) a progress line shows the elapsed time,
sales, tx/s, p99 latency so far and errors, with a bar towards --count or --duration.

A terminal whose sale found the host in trouble (91, no answer, not sent) waits 20 ms before its
next sale, twice as long after each such sale in a row, up to 1 s: every tap spends one of the
card's transaction counters (ATC), and the issuer declines an ATC more than 64 ahead of the last
it saw (atc_out_of_window), so a terminal hammering a host that is down would lock its card out.
With the back-off an outage of T seconds costs each card about T + 6 taps: outages up to about a
minute leave the load cards in the issuer's window.
Exits 0 when the run completed (declines included), 1 when any sale errored, 2 on bad flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneLongRun(f.acquirer == "")
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLoadCmd(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.IntVar(&f.terminals, "terminals", 4, "terminals selling in parallel (1 to 256), each with its own connection and card")
	fl.IntVar(&f.count, "count", 0, "sales in all (default 1000 when --duration is not given)")
	fl.DurationVar(&f.duration, "duration", 0, "stop starting sales after this long")
	fl.Float64Var(&f.rate, "rate", 0, "start sales at this many per second over all terminals (default flat out)")
	fl.StringVar(&f.card, "card", "visa-plastic", "card profile of the load cards: "+strings.Join(append(lab.LoadProfiles(), lab.LoadHCEProfiles()...), ", "))
	fl.StringVar(&f.amountText, "amount", "100100", "amount of each sale: minor units (100100), or major units with the currency's decimals (1001.00)")
	fl.StringVar(&f.pin, "pin", "", "PIN typed when the card asks for an online PIN (default: bypassed)")
	fl.StringVar(&f.acquirer, "acquirer", "", "running acquirer, host:port (default: hosts embedded on loopback)")
	fl.StringVar(&f.dataDir, "data", "", "data directory: the embedded hosts' (default a temporary one) and the load state (default ./tapsim-data with --acquirer)")
	fl.DurationVar(&f.timeout, "timeout", 0, "terminal response timeout before it reverses (default the terminal's, 15s)")
	fl.DurationVar(&f.issuerTimeout, "issuer-timeout", 2*time.Second, "embedded acquirer: how long the issuer may take before 91")
	fl.BoolVar(&f.jsonOut, "json", false, "print the summary as JSON")
	fl.StringVar(&f.report, "report", "", "also write the summary as JSON to this file")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log the embedded hosts' events (masked) on stderr")
	addPprofFlag(fl, &f.pprof)
	addClientTLSFlags(fl, &f.tls, "", "acquirer")
	return c
}

// runLoadCmd checks the flags, runs the load and prints the summary.
func runLoadCmd(ctx context.Context, f loadFlags, out, errOut io.Writer) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if err := checkPprofAddr(f.pprof); err != nil {
		return err
	}
	stopPprof, err := startPprof(ctx, f.pprof, errOut)
	if err != nil {
		return err
	}
	defer stopPprof()
	level := slog.LevelWarn + 4
	if f.verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	stopProgress := func() {}
	if !f.jsonOut && isTerminal(errOut) {
		cfg.Live = &load.Live{}
		stopProgress = showProgress(errOut, cfg.Live, cfg.Count, cfg.Duration)
	}
	rep, err := runLoad(ctx, cfg)
	stopProgress()
	if err != nil {
		if !strings.HasPrefix(err.Error(), "load: ") {
			err = fmt.Errorf("load: %w", err)
		}
		return &exitError{code: 1, err: err}
	}
	if f.report != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(f.report, append(data, '\n'), 0o600)
		}
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("load: report: %w", err)}
		}
	}
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printLoadReport(out, rep); err != nil {
		return err
	}
	if rep.Interrupted {
		return &exitError{code: 1, err: fmt.Errorf("load: interrupted after %d sales", rep.Transactions)}
	}
	if rep.Errors > 0 {
		return &exitError{code: 1, err: fmt.Errorf("load: %d of %d sales errored", rep.Errors, rep.Transactions)}
	}
	return nil
}

// config checks the flags and makes the run's configuration.
func (f loadFlags) config() (loadConfig, error) {
	if f.amountText != "" {
		// The load terminals are the sample terminal's kind: TWD, 2 decimals.
		v, err := parseAmount(f.amountText, 2)
		if err != nil {
			return loadConfig{}, usageErr("--amount %s: %v", f.amountText, err)
		}
		f.amount = v
	}
	switch {
	case f.amount <= 0 || f.amount > 999_999_999_999:
		return loadConfig{}, usageErr("--amount must be 1 to 12 digits of minor units")
	case f.terminals < 1 || f.terminals > lab.LoadMaxTerminals:
		return loadConfig{}, usageErr("--terminals must be 1 to %d", lab.LoadMaxTerminals)
	case f.count < 0:
		return loadConfig{}, usageErr("--count must not be negative")
	case f.duration < 0:
		return loadConfig{}, usageErr("--duration must not be negative")
	case f.rate < 0 || math.IsNaN(f.rate) || math.IsInf(f.rate, 0):
		return loadConfig{}, usageErr("--rate must be a positive number of sales per second")
	case !slices.Contains(lab.LoadProfiles(), f.card) && !slices.Contains(lab.LoadHCEProfiles(), f.card):
		return loadConfig{}, usageErr("--card %q: load cards exist for %s, load HCE phones for %s", f.card,
			strings.Join(lab.LoadProfiles(), " and "), strings.Join(lab.LoadHCEProfiles(), " and "))
	case f.acquirer != "" && slices.Contains(lab.LoadHCEProfiles(), f.card):
		return loadConfig{}, usageErr("--card %s: load HCE phones enrol with the embedded world's cloud platform; not with --acquirer", f.card)
	case f.timeout < 0:
		return loadConfig{}, usageErr("--timeout must not be negative")
	case f.issuerTimeout <= 0:
		return loadConfig{}, usageErr("--issuer-timeout must be positive")
	case f.dataDir != "" && strings.TrimSpace(f.dataDir) == "":
		return loadConfig{}, usageErr("--data: empty directory")
	}
	if f.acquirer != "" {
		if !isHostPort(f.acquirer) {
			return loadConfig{}, usageErr("--acquirer %q: want host:port", f.acquirer)
		}
	}
	if f.tls.set() && f.acquirer == "" {
		return loadConfig{}, usageErr("--tls-cert, --tls-key and --tls-ca are for a running --acquirer")
	}
	tlsCfg, err := f.tls.clientTLS("")
	if err != nil {
		return loadConfig{}, err
	}
	if f.pin != "" {
		if _, err := pinpad.NewPIN(f.pin); err != nil {
			return loadConfig{}, usageErr("--pin must be 4 to 12 digits")
		}
	}
	count := f.count
	if count == 0 && f.duration == 0 {
		count = 1000
		if slices.Contains(lab.LoadHCEProfiles(), f.card) {
			count = min(count, f.terminals*lab.LoadHCEMaxSales)
		}
	}
	// Each terminal's card counts its ATC up from where it is; a card has
	// 65535 transactions in it.
	if count > f.terminals*(loadMaxATC-1) {
		return loadConfig{}, usageErr("--count %d: at most %d sales per terminal (a card's transaction counter)", count, loadMaxATC-1)
	}
	// A load HCE phone's card account gets at most 100 limited-use keys an
	// hour from the cloud platform.
	if slices.Contains(lab.LoadHCEProfiles(), f.card) && (count > f.terminals*lab.LoadHCEMaxSales ||
		count == 0 && f.duration > time.Hour) {
		return loadConfig{}, usageErr("--card %s: at most %d sales per terminal (a phone's card account gets at most 100 limited-use keys an hour)",
			f.card, lab.LoadHCEMaxSales)
	}
	dir := f.dataDir
	if dir == "" && f.acquirer != "" {
		dir = issDefaultData
	}
	return loadConfig{
		Acquirer: f.acquirer, Dir: dir, Card: f.card, Amount: f.amount, PIN: f.pin,
		Terminals: f.terminals, Count: count, Duration: f.duration, Rate: f.rate,
		ResponseTimeout: f.timeout, IssuerTimeout: f.issuerTimeout, TLS: tlsCfg,
	}, nil
}

// loadConfig sets up one load run.
type loadConfig struct {
	// Acquirer is a running acquirer's address; empty embeds the hosts.
	Acquirer string
	// Dir is the data directory: the embedded hosts' (a temporary one,
	// removed afterwards, when empty) and the load state's.
	Dir string
	// Card is the load profile; Amount each sale's amount; PIN what the
	// cardholder types when asked (empty: bypassed).
	Card   string
	Amount int64
	PIN    string
	// Terminals sell in parallel.
	Terminals int
	// Count stops the run after that many sales in all (0: no count);
	// Duration stops starting sales after that long (0: no limit). One of
	// them is set.
	Count    int
	Duration time.Duration
	// Rate paces the starts, sales per second over all terminals (0: flat
	// out).
	Rate float64
	// ResponseTimeout is the terminals' (0: the terminal's default);
	// IssuerTimeout the embedded acquirer's.
	ResponseTimeout time.Duration
	IssuerTimeout   time.Duration
	// TLS, when set, is the terminals' mutual-TLS configuration towards a
	// running acquirer; nil is plain TCP.
	TLS *tls.Config
	// Logger receives the embedded hosts' events; nil discards them.
	Logger *slog.Logger
	// Clock is the terminals' and cards' clock (transaction date, DE7);
	// nil means time.Now.
	Clock func() time.Time
	// UN gives terminal i its unpredictable numbers; nil means random.
	UN func(terminal int) func() [4]byte
	// Prepare, when set, runs on the embedded network before the first
	// sale (tests stop the issuer with it).
	Prepare func(ctx context.Context, n *lab.Network) error
	// Live, when set, follows the run (a progress line on a terminal).
	Live *load.Live
}

// loadTerm is one terminal of the run with its card.
type loadTerm struct {
	// cardID is the load card's ID, "" for a load HCE phone (hce), which
	// enrols anew at each run.
	cardID string
	hce    *lab.LoadHCEPhone
	term   *pos.Terminal
	link   *client.Client
	card   cards.Card
	reader *inproc.Reader
	stan   *pos.Counter
}

// loadState is what the load terminals and cards keep between runs.
type loadState struct {
	path string

	Terminals map[string]loadTermState `json:"terminals"`
	Cards     map[string]int           `json:"cards"` // card ID -> last ATC
}

// loadTermState is a load terminal's last STAN and next KSN.
type loadTermState struct {
	LastSTAN uint32 `json:"last_stan"`
	NextKSN  string `json:"next_ksn,omitempty"`
}

func readLoadState(dir string) (*loadState, error) {
	st := &loadState{Terminals: map[string]loadTermState{}, Cards: map[string]int{}}
	if dir == "" {
		return st, nil
	}
	st.path = filepath.Join(dir, loadStateFile)
	data, err := os.ReadFile(st.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("load state: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, usageErr("load state %s: not a state file", st.path)
	}
	if st.Terminals == nil {
		st.Terminals = map[string]loadTermState{}
	}
	if st.Cards == nil {
		st.Cards = map[string]int{}
	}
	return st, nil
}

// save writes the state atomically; without a directory it is not kept.
func (s *loadState) save() error {
	if s.path == "" {
		return nil
	}
	return writeJSONFile(s.path, s)
}

// discardJournal keeps nothing: a load run voids nothing, and a journal of
// every approval would only grow.
type discardJournal struct{}

func (discardJournal) Add(pos.Record) error { return nil }
func (discardJournal) Find(ref pos.Ref) (pos.Record, error) {
	return pos.Record{}, fmt.Errorf("%w: %s", pos.ErrNotFound, ref)
}
func (discardJournal) MarkVoided(stan string) error {
	return fmt.Errorf("%w: STAN %s", pos.ErrNotFound, stan)
}

// cardATC is the ATC of a card's (first) application.
func cardATC(c cards.Card) int {
	atc := 0
	for _, a := range cards.Applications(c) {
		atc = max(atc, int(a.State().ATC))
	}
	return atc
}

// runLoad starts the embedded hosts (unless cfg names an acquirer), sets
// up the terminals and their cards, runs the sales and sums them up.
func runLoad(ctx context.Context, cfg loadConfig) (*loadReport, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	rep := &loadReport{Card: cfg.Card, Amount: cfg.Amount, Currency: 901}
	addr := cfg.Acquirer
	dir := cfg.Dir
	var netw *lab.Network
	if addr == "" {
		rep.Mode = "embedded"
		if dir == "" {
			tmp, err := os.MkdirTemp("", "tapsim-load-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		} else {
			rep.DataDir = dir
		}
		// A load run measures: its cloud platform starts afresh each run
		// (the hourly key space of its phones' card accounts its own),
		// and the acquirer talks to the issuer directly, as hosts on
		// their own do.
		n, err := lab.Start(ctx, lab.Options{Dir: dir, Logger: cfg.Logger, IssuerTimeout: cfg.IssuerTimeout,
			CloudInMemory: true, DirectIssuerLink: true})
		if err != nil {
			return nil, err
		}
		defer n.Close()
		netw = n
		if cfg.Prepare != nil {
			if err := cfg.Prepare(ctx, n); err != nil {
				return nil, err
			}
		}
		addr = n.AcquirerAddr()
		rep.IssuerAddr = n.IssuerAddr()
	} else {
		rep.Mode = "external"
		rep.DataDir = dir
	}
	rep.Acquirer = addr
	state, err := readLoadState(dir)
	if err != nil {
		return nil, err
	}
	hce := slices.Contains(lab.LoadHCEProfiles(), cfg.Card)
	if hce && netw == nil {
		return nil, fmt.Errorf("load: %s: load HCE phones are the embedded world's", cfg.Card)
	}
	if p, err := lab.LoadCardProfile(cfg.Card, 0); err == nil {
		rep.CardPANs = pan.Mask(p.App.PAN)
		if cfg.Terminals > 1 {
			last, _ := lab.LoadCardProfile(cfg.Card, cfg.Terminals-1)
			rep.CardPANs += " .. " + pan.Mask(last.App.PAN)
		}
	}

	var terms []*loadTerm
	defer func() {
		for _, t := range terms {
			t.link.Close()
		}
	}()
	run, err := load.Run(ctx, load.Config{
		Terminals: cfg.Terminals, Count: cfg.Count, Duration: cfg.Duration, Rate: cfg.Rate, Live: cfg.Live,
		// Each terminal connects before the clock starts.
		NewSale: func(ctx context.Context, i int) (load.SaleFunc, error) {
			var ph *lab.LoadHCEPhone
			if hce {
				p, err := netw.LoadHCEPhone(ctx, cfg.Card, i)
				if err != nil {
					return nil, err
				}
				ph = p
				if i == 0 {
					rep.CardPANs = p.Masked
				} else {
					rep.CardPANs = strings.SplitN(rep.CardPANs, " ", 2)[0] + " .. " + p.Masked
				}
			}
			t, err := newLoadTerm(cfg, i, addr, state, ph)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
			t.connect(ctx)
			return t.sale(cfg.Amount), nil
		},
	})
	if err != nil {
		return nil, err
	}
	rep.Report = *run

	for _, t := range terms {
		ts := state.Terminals[t.term.Config().TerminalID]
		ts.LastSTAN = t.stan.Last()
		ts.NextKSN = t.term.NextKSN().String()
		state.Terminals[t.term.Config().TerminalID] = ts
		if t.cardID != "" {
			state.Cards[t.cardID] = cardATC(t.card)
		}
	}
	if err := state.save(); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	return rep, nil
}

// newLoadTerm makes load terminal i with its card, going on from the
// saved state, or with load HCE phone hce when set.
func newLoadTerm(cfg loadConfig, i int, addr string, state *loadState, hce *lab.LoadHCEPhone) (*loadTerm, error) {
	tc, err := lab.LoadTerminalConfig(i, cfg.ResponseTimeout)
	if err != nil {
		return nil, err
	}
	ts := state.Terminals[tc.TerminalID]
	if ts.NextKSN != "" {
		if ksn, err := dukpt.ParseKSNHex(ts.NextKSN); err == nil && ksn.Initial() == tc.KSN.Initial() {
			tc.KSN = ksn
		}
	}
	t := &loadTerm{hce: hce, stan: pos.NewCounter(ts.LastSTAN)}
	if hce != nil {
		t.card = hce.Phone
	} else {
		p, err := lab.LoadCardProfile(cfg.Card, i)
		if err != nil {
			return nil, err
		}
		if atc, ok := state.Cards[p.Name]; ok {
			if atc < 0 || atc > loadMaxATC {
				return nil, fmt.Errorf("load state: card %s: ATC %d", p.Name, atc)
			}
			p.State.ATC = atc
		}
		if t.card, err = cards.FromProfile(p, cards.Options{Clock: cfg.Clock}); err != nil {
			return nil, err
		}
		t.cardID = p.Name
	}
	t.reader = inproc.New(t.card)
	var keypad pinpad.Keypad
	if cfg.PIN != "" {
		keypad = pinpad.Always(cfg.PIN)
	}
	var un func() [4]byte
	if cfg.UN != nil {
		un = cfg.UN(i)
	}
	t.link = client.New(addr, client.Options{TLS: cfg.TLS})
	t.term, err = pos.New(tc, t.link, pos.Options{
		Clock:               cfg.Clock,
		UnpredictableNumber: un,
		STAN:                t.stan,
		Keypad:              keypad,
		Journal:             discardJournal{},
		NoReceipt:           true,
	})
	if err != nil {
		t.link.Close()
		return nil, err
	}
	return t, nil
}

// connect opens the terminal's connection ahead of the first sale; a
// failure is left for the sales to report (the terminal connects again).
func (t *loadTerm) connect(ctx context.Context) {
	_ = t.link.Connect(ctx)
}

// sale is the terminal's sale function: the card tapped for amount. The
// terminal stops when its card's transaction counter is spent.
func (t *loadTerm) sale(amount int64) load.SaleFunc {
	return func(ctx context.Context) (*pos.Result, error) {
		if cardATC(t.card) >= loadMaxATC {
			return nil, load.Stop(errors.New("card transaction counter exhausted"))
		}
		if t.hce != nil {
			// Keys replenished when low, the holder verified (R-S2e).
			if err := t.hce.Ready(ctx); err != nil {
				return nil, fmt.Errorf("phone: %w", err)
			}
		}
		t.reader.Present(t.card)
		res, err := t.term.Sale(ctx, amount, t.reader)
		if err != nil {
			return nil, fmt.Errorf("terminal: %w", err)
		}
		return res, nil
	}
}

// loadReport is the summary of a run, the sample network's part first;
// latencies in milliseconds.
type loadReport struct {
	Mode       string `json:"mode"` // embedded or external
	Acquirer   string `json:"acquirer"`
	IssuerAddr string `json:"issuer,omitempty"`
	DataDir    string `json:"data_dir,omitempty"`
	Card       string `json:"card"`
	CardPANs   string `json:"card_pans"` // masked
	Amount     int64  `json:"amount"`
	Currency   int    `json:"currency"`
	load.Report
}

// printLoadReport prints the summary for a person.
func printLoadReport(out io.Writer, r *loadReport) error {
	hosts := fmt.Sprintf("embedded issuer on %s, acquirer on %s", r.IssuerAddr, r.Acquirer)
	if r.Mode == "external" {
		hosts = "acquirer at " + r.Acquirer
	}
	if r.DataDir != "" {
		hosts += ", data in " + r.DataDir
	}
	fmt.Fprintf(out, "load: %d terminals, card %s (%s), %s per sale, %s, stop after %s\n", r.Terminals, r.Card,
		r.CardPANs, formatMinor(r.Amount, pos.DefaultConfig()), r.Pace(), r.StopAfter())
	fmt.Fprintf(out, "hosts: %s\n", hosts)
	return r.WriteText(out)
}

// The in-process reader is the terminals' card reader.
var _ kernel.Reader = (*inproc.Reader)(nil)
