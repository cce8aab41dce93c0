package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

// demoOptions are the flags of "tapsim demo".
type demoOptions struct {
	dataDir      string
	verbose      bool
	provisioning bool
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	c := &cobra.Command{
		Use:   "demo [--data DIR] [--provisioning] [-v]",
		Short: "Run the sample network end to end: issuer and acquirer over TCP, a fixed set of sales",
		Long: `Starts the issuer host and the acquirer in this process, each listening on an ephemeral
port of 127.0.0.1, with the sample cards, phones, accounts and keys created in a fresh data
directory (or --data DIR, a new directory kept afterwards), and runs a fixed set of sales through the sample
terminal T0000001 with virtual cards over ISO 8583:

  approved without CVM below the CVM limit, a phone verified by the device above it, an
  online PIN, five wrong PINs locking the PIN (55 x4, then 75, and the right PIN refused
  after), an HCE tap, an HCE key used again, a replayed 0100, a compromised terminal that
  changes the amount the card signed (13) and one that claims a cardholder verification the
  card never made (63), a suspended token, and the issuer down (91, then the acquirer's
  reversal advice delivered once the issuer is back).

It prints a table: card, amount, CVM, DE39, decline reason, what came back for the card (the
ARPC in tag 91 is received and recorded; the cards do not run issuer authentication) and
whether the row is as expected. Exits 0 only when every row has its expected DE39.

With --provisioning it runs the wallet provisioning cases instead, with the token service and
a wallet provider on loopback HTTPS (mutual TLS, every card-data payload sealed and signed)
in front of the issuer's ID&V: green path and tap, step-up with the OTP from the cardholder's
inbox, the issuer notified of the download, an OTP reused, a wrong OTP, an expired OTP, five
wrong OTPs locking, a lost card declined, another phone acknowledging the token, a tampered
ciphertext, a suspended token declined at the terminal, a lost phone suspending all its
tokens, and no card data at the wallet provider or on the phones.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneLongRun(true)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemoCmd(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&o.dataDir, "data", "", "data directory of both hosts, kept afterwards (default: a temporary one)")
	c.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "log the hosts' events (masked) on stderr")
	c.Flags().BoolVar(&o.provisioning, "provisioning", false,
		"run the wallet provisioning cases instead: phone app, wallet provider, token service and issuer ID&V over mutual TLS")
	return c
}

func runDemoCmd(ctx context.Context, o demoOptions, out, errOut io.Writer) error {
	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tapsim-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if strings.TrimSpace(dir) == "" {
		return usageErr("--data: empty directory")
	} else if _, err := os.Stat(filepath.Join(dir, "issuer", store.FileName)); err == nil {
		// The cards start again from their profiles: the issuer would
		// rightly refuse their counters as replays.
		return usageErr("--data %s holds an earlier run; give a new directory", dir)
	}
	level := slog.LevelWarn + 4 // quiet: the table says what happened
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	if o.provisioning {
		return runProvisioningDemo(ctx, dir, logger, out)
	}
	rows, err := runDemo(ctx, demoConfig{Dir: dir, Logger: logger, Progress: out})
	printDemoTable(out, rows)
	if err != nil {
		return err
	}
	bad := 0
	for _, r := range rows {
		if !r.OK() {
			bad++
		}
	}
	if bad > 0 {
		return &exitError{code: 1, err: fmt.Errorf("demo: %d of %d rows not as expected", bad, len(rows))}
	}
	fmt.Fprintf(out, "all %d rows as expected\n", len(rows))
	return nil
}

// demoConfig sets up one run of the demo.
type demoConfig struct {
	// Dir is the data directory of both hosts.
	Dir string
	// Logger receives the hosts' events.
	Logger *slog.Logger
	// Progress, when set, receives one line per step.
	Progress io.Writer
	// Clock is the terminal's (and kernel's) clock; nil means the time the
	// demo starts, frozen.
	Clock func() time.Time
}

// demoRow is one line of the demo's table.
type demoRow struct {
	Card     string
	Amount   int64
	CVM      string
	Want     isospec.ResponseCode
	Got      isospec.ResponseCode
	Reason   isospec.DeclineReason
	ARPC     string
	Note     string
	Err      error
	Approved bool
}

// OK reports whether the row got its expected DE39.
func (r demoRow) OK() bool { return r.Err == nil && r.Got == r.Want }

func printDemoTable(out io.Writer, rows []demoRow) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CARD\tAMOUNT\tCVM\tDE39\tEXPECTED\tREASON\tARPC (tag 91)\tOK\tNOTE")
	for _, r := range rows {
		ok := "yes"
		if !r.OK() {
			ok = "NO"
		}
		note := r.Note
		if r.Err != nil {
			note = "error: " + r.Err.Error()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Card, demoAmount(r.Amount), dash(r.CVM),
			dash(string(r.Got)), string(r.Want), dash(string(r.Reason)), dash(r.ARPC), ok, note)
	}
	_ = w.Flush()
}

func demoAmount(v int64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("NT$%d.%02d", v/100, v%100)
}

// demoRun is the state of a run: the network, the terminal and the
// cardholder's cards and phones, each kept from tap to tap (their ATCs and
// key stores go on).
type demoRun struct {
	cfg   demoConfig
	net   *lab.Network
	term  *pos.Terminal
	link  *client.Client
	cards map[string]cards.Card
	now   time.Time

	mu        sync.Mutex
	pin       string
	presenter pos.Presenter
	un        uint32
	// tamperSTAN numbers the compromised terminal's requests, apart from
	// the sample terminal's.
	tamperSTAN *pos.Counter
}

// runDemo starts the network in cfg.Dir and runs the demo's sales.
func runDemo(ctx context.Context, cfg demoConfig) ([]demoRow, error) {
	now := time.Now().Truncate(time.Second)
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return now }
	}
	n, err := lab.Start(ctx, lab.Options{Dir: cfg.Dir, Logger: cfg.Logger, IssuerTimeout: 1500 * time.Millisecond, Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	defer n.Close()
	d := &demoRun{cfg: cfg, net: n, cards: map[string]cards.Card{}, now: cfg.Clock(), tamperSTAN: pos.NewCounter(500000)}
	term, link, err := n.NewTerminal(pos.Options{
		Clock:               cfg.Clock,
		UnpredictableNumber: d.nextUN,
		Keypad:              pinpad.KeypadFunc(d.readPIN),
		Presenter:           pos.PresenterFunc(d.presentAgain),
	})
	if err != nil {
		return nil, err
	}
	defer link.Close()
	d.term, d.link = term, link
	d.progress("issuer host on %s, acquirer on %s, data in %s", n.IssuerAddr(), n.AcquirerAddr(), cfg.Dir)
	return d.rows(ctx), nil
}

func (d *demoRun) progress(format string, a ...any) {
	if d.cfg.Progress != nil {
		fmt.Fprintf(d.cfg.Progress, format+"\n", a...)
	}
}

// nextUN is a deterministic unpredictable number: 0xDE000001, 0xDE000002...
func (d *demoRun) nextUN() [4]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.un++
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], 0xDE000000|d.un)
	return b
}

func (d *demoRun) readPIN(ctx context.Context, _ pinpad.Prompt) (pinpad.PIN, error) {
	d.mu.Lock()
	p := d.pin
	d.mu.Unlock()
	if p == "" {
		return pinpad.PIN{}, pinpad.ErrBypassed
	}
	return pinpad.NewPIN(p)
}

func (d *demoRun) presentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
	d.mu.Lock()
	p := d.presenter
	d.mu.Unlock()
	if p == nil {
		return nil, pos.ErrNotPresented
	}
	return p.PresentAgain(ctx, o)
}

// card returns the cardholder's card or phone of a profile; fresh builds a
// new one as a backup brings it back (a phone whose keys were restored).
func (d *demoRun) card(profile string, fresh bool) (cards.Card, error) {
	if c, ok := d.cards[profile]; ok && !fresh {
		return c, nil
	}
	get := d.net.Card
	if fresh {
		get = d.net.RestoredCard
	}
	c, err := get(profile, d.now)
	if err != nil {
		return nil, err
	}
	if !fresh {
		d.cards[profile] = c
	}
	return c, nil
}

// sale is one sale of the demo.
type sale struct {
	card     string
	amount   int64
	pin      string // typed on the PIN pad when asked
	unlock   string // phone passcode: unlocked before the tap
	fresh    bool   // a copy of the card from its profile
	want     isospec.ResponseCode
	note     string
	prepared func(ctx context.Context) error
}

// sell runs one sale and makes its row.
func (d *demoRun) sell(ctx context.Context, s sale) (demoRow, *pos.Result) {
	row := demoRow{Card: s.card, Amount: s.amount, Want: s.want, Note: s.note}
	if s.fresh {
		row.Card += " (restored)"
	}
	c, err := d.card(s.card, s.fresh)
	if err != nil {
		row.Err = err
		return row, nil
	}
	reader := inproc.New(c)
	if s.unlock != "" {
		if ph, ok := cards.Phone(c); ok {
			if err := ph.Unlock(s.unlock); err != nil {
				row.Err = err
				return row, nil
			}
		}
	}
	d.mu.Lock()
	d.pin = s.pin
	d.presenter = pos.PhonePresenter{Reader: reader, Card: c, Passcode: s.unlock}
	d.mu.Unlock()
	res, err := d.term.Sale(ctx, s.amount, reader)
	if err != nil {
		row.Err = err
		return row, nil
	}
	fillRow(&row, res)
	d.progress("  %s %s: %s", row.Card, demoAmount(s.amount), res)
	return row, res
}

// fillRow copies a terminal result into a row.
func fillRow(row *demoRow, res *pos.Result) {
	row.Got, row.Reason, row.Approved = res.ResponseCode, res.DeclineReason, res.Approved()
	if res.Outcome.Type != kernel.OutcomeNone {
		row.CVM = res.Outcome.CVM.Name()
	}
	switch {
	case len(res.IssuerUpdate.AuthenticationData) > 0:
		row.ARPC = fmt.Sprintf("received (%d bytes)", len(res.IssuerUpdate.AuthenticationData))
	case res.Online:
		row.ARPC = "none"
	}
	if res.Status == pos.StatusNotCompleted || res.Status == pos.StatusReversed || res.Status == pos.StatusReversalPending {
		row.Note = strings.TrimSpace(row.Note + " " + res.Message)
	}
}

// rows runs every sale of the demo in order.
func (d *demoRun) rows(ctx context.Context) []demoRow {
	var rows []demoRow
	add := func(r demoRow) { rows = append(rows, r) }

	// Approved, no CVM: below the CVM limit, above the floor limit (online).
	first, firstRes := d.sell(ctx, sale{card: "visa-plastic", amount: 150000, want: isospec.RCApproved,
		note: "no CVM below the NT$3,000 limit"})
	add(first)
	// A phone above the limit: See Phone, unlocked, tapped again (CDCVM).
	add(d.sellSeePhone(ctx))
	// Online PIN above the limit.
	r, _ := d.sell(ctx, sale{card: "visa-plastic", amount: 350000, pin: lab.SamplePIN, want: isospec.RCApproved,
		note: "online PIN 1234"})
	add(r)
	// Five wrong PINs: 55 four times, 75 the fifth; the right PIN is refused
	// afterwards (R-G3c).
	for i := 1; i <= 5; i++ {
		want := isospec.RCIncorrectPIN
		if i == 5 {
			want = isospec.RCPINTriesExceeded
		}
		r, _ := d.sell(ctx, sale{card: "mc-plastic", amount: 350000, pin: "9999", want: want,
			note: fmt.Sprintf("wrong PIN %d/5", i)})
		add(r)
	}
	r, _ = d.sell(ctx, sale{card: "mc-plastic", amount: 350000, pin: lab.SamplePIN, want: isospec.RCPINTriesExceeded,
		note: "right PIN after the lock (R-G3c)"})
	add(r)
	// HCE: the phone pays with a single-use key, CDCVM on every tap.
	r, _ = d.sell(ctx, sale{card: "hce-phone", amount: 150000, unlock: "5791", want: isospec.RCApproved,
		note: "single-use key, CDCVM"})
	add(r)
	// The same phone with its key store restored: the used key again (R-S5b).
	r, _ = d.sell(ctx, sale{card: "hce-phone", amount: 120000, unlock: "5791", fresh: true,
		want: isospec.RCCryptogramFailure, note: "key store restored: used key (R-S5b)"})
	add(r)
	// The first 0100 sent again with a new STAN and transmission time (R-G4).
	add(d.replay(ctx, first, firstRes))
	// A compromised terminal, which knows its MAC key, changes what the
	// card signed: the issuer trusts only the cryptogram (R-G2, R-S2d).
	add(d.tampered(ctx, tamperedSale{card: "visa-plastic", amount: 150000, want: amountMismatchCode,
		note:   "card signed NT$1,500.00, DE4 says NT$2,900.00",
		change: func(r *isospec.AuthorizationRequest) error { r.Amount = 290000; return nil }}))
	add(d.tampered(ctx, tamperedSale{card: "visa-plastic", amount: 400000, noCVMLimit: true, want: cvmClaimCode,
		note:   "no CVM above the limit, 9F34 edited to claim CDCVM",
		change: claimCDCVM}))
	// The wallet token suspended through the token service.
	add(d.suspended(ctx))
	// The issuer down: 91, and the reversal advice delivered once it is back.
	add(d.issuerDown(ctx))
	return rows
}

// sellSeePhone taps the SE phone locked above the limit: it answers See
// Phone, the holder unlocks it and taps again.
func (d *demoRun) sellSeePhone(ctx context.Context) demoRow {
	row := demoRow{Card: "visa-se-phone", Amount: 350000, Want: isospec.RCApproved, Note: "See Phone, unlocked, tapped again"}
	c, err := d.card("visa-se-phone", false)
	if err != nil {
		row.Err = err
		return row
	}
	reader := inproc.New(c)
	d.mu.Lock()
	d.pin = ""
	d.presenter = pos.PhonePresenter{Reader: reader, Card: c, Passcode: "5791"}
	d.mu.Unlock()
	res, err := d.term.Sale(ctx, row.Amount, reader)
	if err != nil {
		row.Err = err
		return row
	}
	fillRow(&row, res)
	row.Note = fmt.Sprintf("%s (%d taps)", row.Note, res.Taps)
	d.progress("  %s %s: %s", row.Card, demoAmount(row.Amount), res)
	return row
}

// replay sends the first sale's 0100 again, as captured, with a new STAN,
// transmission time and RRN and a fresh MAC, so that the acquirer's
// duplicate check lets it through and the issuer's replay rule must refuse
// it.
func (d *demoRun) replay(ctx context.Context, first demoRow, res *pos.Result) demoRow {
	row := demoRow{Card: first.Card + " (replayed 0100)", Amount: first.Amount, CVM: first.CVM,
		Want: isospec.RCCryptogramFailure, Note: "same DE55, new STAN and DE7 (R-G4)"}
	if res == nil || len(res.Exchanges) == 0 || res.Exchanges[0].Request == nil {
		row.Err = errors.New("the first sale was not sent")
		return row
	}
	cfg := d.term.Config()
	msg, err := replayOf(res.Exchanges[0].Request, "900001", d.now.Add(time.Second), cfg)
	if err != nil {
		row.Err = err
		return row
	}
	resp, err := d.link.Send(ctx, msg, cfg.ResponseTimeout)
	if err != nil {
		row.Err = err
		return row
	}
	var ar isospec.AuthorizationResponse
	if err := isospec.Decode(resp, &ar); err != nil {
		row.Err = err
		return row
	}
	row.Got = ar.ResponseCode
	if p, err := isospec.ParsePrivateData(ar.PrivateData); err == nil {
		row.Reason = p.DeclineReason
	}
	row.ARPC = "none"
	if len(ar.ICCData) > 0 {
		row.ARPC = "in DE55"
	}
	d.progress("  replayed 0100: %s", isospec.Summary(resp))
	return row
}

// replayOf copies a sent 0100 with a new STAN, DE7 and RRN, MACed again
// under the terminal's MAC key.
func replayOf(sent *iso8583.Message, stan string, at time.Time, cfg pos.Config) (*iso8583.Message, error) {
	var req isospec.AuthorizationRequest
	if err := isospec.Decode(sent, &req); err != nil {
		return nil, err
	}
	req.STAN = stan
	req.TransmissionDateTime = isospec.TransmissionDateTime(at)
	rrn, err := isospec.NewRRN(at, stan)
	if err != nil {
		return nil, err
	}
	req.RRN = rrn
	req.MAC = nil
	msg, err := isospec.Encode(&req)
	if err != nil {
		return nil, err
	}
	tak := cfg.TAK
	if err := isospec.SetMAC(msg, func(data []byte) ([]byte, error) { return mac.Alg3(tak, data, mac.Method1) }); err != nil {
		return nil, err
	}
	return msg, nil
}

// The answers the issuer gives to the tampered sales.
const (
	amountMismatchCode = isospec.ResponseCode("13")
	cvmClaimCode       = isospec.ResponseCode("63")
)

// tamperedSale is a sale through a compromised terminal: change edits the
// authorisation request after the card signed it, before the terminal's
// MAC; noCVMLimit raises the terminal's CVM required limit, so that the
// kernel asks for no cardholder verification at any amount.
type tamperedSale struct {
	card       string
	amount     int64
	noCVMLimit bool
	want       isospec.ResponseCode
	note       string
	change     func(r *isospec.AuthorizationRequest) error
}

// tampered runs a sale through a terminal in an attacker's hands: its own
// STAN range, its own MAC key (the terminal's), and a link that edits the
// 0100 and MACs it again.
func (d *demoRun) tampered(ctx context.Context, s tamperedSale) demoRow {
	row := demoRow{Card: s.card + " (tampered)", Amount: s.amount, Want: s.want, Note: s.note}
	cfg, err := lab.TerminalConfig("")
	if err != nil {
		row.Err = err
		return row
	}
	if s.noCVMLimit {
		for i := range cfg.Kernel.Combinations {
			limit := int64(999_999_999)
			cfg.Kernel.Combinations[i].CVMRequiredLimit = &limit
		}
	}
	link := &tamperLink{Link: d.link, tak: cfg.TAK, change: s.change}
	term, err := pos.New(cfg, link, pos.Options{Clock: d.cfg.Clock, UnpredictableNumber: d.nextUN, STAN: d.tamperSTAN})
	if err != nil {
		row.Err = err
		return row
	}
	c, err := d.card(s.card, false)
	if err != nil {
		row.Err = err
		return row
	}
	res, err := term.Sale(ctx, s.amount, inproc.New(c))
	if err != nil {
		row.Err = err
		return row
	}
	fillRow(&row, res)
	d.progress("  %s %s: %s", row.Card, demoAmount(s.amount), res)
	return row
}

// tamperLink is the link of a compromised terminal: it edits each
// authorisation request and MACs it again under the terminal's key.
type tamperLink struct {
	pos.Link
	tak    keys.Key
	change func(r *isospec.AuthorizationRequest) error
}

// Send edits an 0100 before it leaves; other messages go as they are.
func (l *tamperLink) Send(ctx context.Context, m *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	if mti, _ := m.GetMTI(); mti == string(isospec.MTIAuthorizationRequest) {
		var r isospec.AuthorizationRequest
		if err := isospec.Decode(m, &r); err != nil {
			return nil, err
		}
		if err := l.change(&r); err != nil {
			return nil, err
		}
		r.MAC = nil
		edited, err := isospec.Encode(&r)
		if err != nil {
			return nil, err
		}
		if err := isospec.SetMAC(edited, func(data []byte) ([]byte, error) { return mac.Alg3(l.tak, data, mac.Method1) }); err != nil {
			return nil, err
		}
		m = edited
	}
	return l.Link.Send(ctx, m, timeout)
}

// claimCDCVM edits the CVM Results (9F34) of DE55 to say "on-device
// cardholder verification, successful".
func claimCDCVM(r *isospec.AuthorizationRequest) error {
	l, err := tlv.Decode(r.ICCData)
	if err != nil {
		return err
	}
	found := false
	for i := range l {
		if l[i].Tag == 0x9F34 {
			l[i].Value, found = []byte{0x01, 0x00, 0x02}, true
		}
	}
	if !found {
		l = append(l, tlv.TLV{Tag: 0x9F34, Value: []byte{0x01, 0x00, 0x02}})
	}
	r.ICCData, err = l.Encode()
	return err
}

// suspended suspends the wallet phone's token at the issuer, then taps the
// phone.
func (d *demoRun) suspended(ctx context.Context) demoRow {
	const phone = lab.SampleWalletProfile
	iss := d.net.Issuer()
	if iss == nil {
		return demoRow{Card: phone, Err: errors.New("issuer host not running")}
	}
	// The world's wallet phone got its token through the wallet flow.
	if err := iss.Vault().Suspend(ctx, d.net.SampleWallet().TokenRef, "demo: suspended by the cardholder"); err != nil {
		return demoRow{Card: phone, Err: err}
	}
	r, _ := d.sell(ctx, sale{card: phone, amount: 350000, unlock: "2468", want: isospec.RCRestrictedCard, note: "token suspended at the issuer"})
	return r
}

// issuerDown stops the issuer host, sells (91: the issuer does not answer,
// the acquirer queues a reversal advice), starts the issuer again on the
// same data and waits until the acquirer's advice is acknowledged.
func (d *demoRun) issuerDown(ctx context.Context) demoRow {
	row := demoRow{Card: "visa-plastic", Amount: 120000, Want: isospec.RCIssuerInoperative}
	if err := d.net.StopIssuer(); err != nil {
		row.Err = err
		return row
	}
	d.progress("  issuer host stopped")
	r, _ := d.sell(ctx, sale{card: "visa-plastic", amount: 120000, want: isospec.RCIssuerInoperative})
	row = r
	acq := d.net.Acquirer()
	pending, err := acq.PendingAdvices(ctx)
	if err != nil {
		row.Err = err
		return row
	}
	if err := d.net.RestartIssuer(ctx); err != nil {
		row.Err = err
		return row
	}
	d.progress("  issuer host started again on the same data, %d reversal advice(s) waiting", pending)
	deadline := time.Now().Add(15 * time.Second)
	left := pending
	for left > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if left, err = acq.PendingAdvices(ctx); err != nil {
			row.Err = err
			return row
		}
	}
	switch {
	case pending == 0:
		row.Note = "issuer down: no reversal advice was queued"
		row.Err = errors.New("no reversal advice queued")
	case left > 0:
		row.Err = fmt.Errorf("%d reversal advice(s) still waiting", left)
	default:
		row.Note = fmt.Sprintf("issuer down; %d reversal advice(s) acknowledged after restart", pending)
	}
	return row
}
