package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pcsc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/terminal/receipt"
	"github.com/tapsim/tapsim/terminal/trace"
)

func init() { subcommands = append(subcommands, newTerminalCmd) }

// terminalFlags are the flags of "tapsim terminal".
type terminalFlags struct {
	acquirer, card, reader, pin, unlock, configPath string
	dataDir                                         string
	tid, mid                                        string
	voidSTAN, voidRRN, date, unHex                  string
	amountText                                      string
	amount                                          int64
	timeout                                         time.Duration
	refund, biometric, showISO, showRaw, showTrace  bool
	freshCard                                       bool
	tls                                             tlsFiles
}

func newTerminalCmd() *cobra.Command {
	var f terminalFlags
	c := &cobra.Command{
		Use:   "terminal --acquirer ADDR (--card PROFILE | --reader NAME) --amount N [--pin 1234] [--unlock CODE] [--refund] [--void STAN]",
		Short: "Run one headless sale, refund or void on the POS terminal against an acquirer",
		Long: `Runs one transaction on the contactless POS terminal with a virtual card or phone (a
built-in profile name, see "tapsim cards", or a profile file) and the acquirer at --acquirer
(ISO 8583 over TCP), then prints the outcome, the host's answer and the receipt, PAN masked.

--reader NAME taps whatever is on a PC/SC reader instead (a real phone or card; NAME is the
reader's name, a unique part of it, or its index in "tapsim readers"): the terminal waits for
the card, and after See Phone waits for it to be presented again.

A sale or refund taps the card: when the card asks for an online PIN, --pin is typed on the
PIN pad (without --pin the PIN is bypassed); when a phone answers "See Phone", --unlock (its
passcode) or --biometric unlocks it and it is tapped again. No answer within --timeout: the
terminal reverses the authorisation on its own (0400) and says so.

--void STAN (or --void-rrn RRN) reverses an earlier approved sale of this terminal, found in
its journal under --data; the journal keeps no full PAN, so --card names the card of the
original sale again. The terminal's STAN, DUKPT key serial number, journal and the virtual
cards' transaction counters are kept in --data between runs (--fresh-card starts the card
from its profile).

The terminal is T0000001 of merchant 000000000000001 with the sample network's test keys
unless --config names a terminal file (terminal_id, merchant_id, acquirer_id, merchant_name,
merchant_city, merchant_country, tak, ipek or bdk, ksn, response_timeout,
reversal_attempts, kernel_config); --tid and --mid override the identifiers.

--amount is a whole number of minor units (TWD: 150000 is NT$1,500.00), or major units
written with the currency's decimal point (1500.00, or 1500.5); a decimal amount with more
decimals than the currency has is refused.

Before the card is tapped the terminal connects to the acquirer and sends it an echo test
(0800, DE70 301, STAN 000000, MACed under the TAK): an acquirer that cannot be reached, whose
TLS handshake fails or that refuses the terminal's certificate, or that does not know the
terminal or its MAC key, is reported as such and no card is tapped.
With --tls-cert, --tls-key and --tls-ca the terminal dials the acquirer over mutual TLS
(TLS 1.2 at least, 1.3 preferred): it checks that the acquirer's certificate chains to
--tls-ca and names the host of --acquirer (or --tls-server-name), and presents its own.
Exits 0 when approved, 1 when declined, reversed or not completed, 2 on bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTerminal(cmd, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.acquirer, "acquirer", "", "acquirer address, host:port")
	fl.StringVar(&f.card, "card", "", "built-in card profile name or profile file")
	fl.StringVar(&f.reader, "reader", "", "PC/SC reader (name, part of it, or index) instead of a virtual card")
	fl.StringVar(&f.amountText, "amount", "", "amount: minor units (150000), or major units with the currency's decimals (1500.00)")
	fl.StringVar(&f.pin, "pin", "", "PIN the cardholder types when the card asks for an online PIN")
	fl.StringVar(&f.unlock, "unlock", "", "phone passcode: unlock the phone and tap again after See Phone")
	fl.BoolVar(&f.biometric, "biometric", false, "unlock the phone by biometric and tap again after See Phone")
	fl.BoolVar(&f.refund, "refund", false, "refund instead of sale")
	fl.StringVar(&f.voidSTAN, "void", "", "void the approved sale with this STAN")
	fl.StringVar(&f.voidRRN, "void-rrn", "", "void the approved sale with this retrieval reference number")
	fl.StringVar(&f.tid, "tid", "", "terminal ID, field 41 (default: the configuration's, T0000001)")
	fl.StringVar(&f.mid, "mid", "", "merchant ID, field 42 (default: the configuration's, 000000000000001)")
	fl.StringVar(&f.configPath, "config", "", "terminal configuration file (default: the sample terminal T0000001)")
	fl.StringVar(&f.dataDir, "data", "tapsim-data", "directory of the terminal's state (STAN, KSN, journal, card counters);\n"+
		"for --card hce-phone or hce-phone-mc, the issuer's --data, where it keeps the phone it enrolled")
	fl.DurationVar(&f.timeout, "timeout", 0, "response timeout before reversing (default: the configuration's, 15s)")
	fl.BoolVar(&f.freshCard, "fresh-card", false, "start the card from its profile, not from its saved counters")
	fl.BoolVar(&f.showISO, "iso", false, "print the ISO 8583 messages, masked")
	fl.BoolVar(&f.showRaw, "raw", false, "print the raw hex of each ISO 8583 message, PAN, track 2, expiry, PIN block and keys masked")
	fl.BoolVar(&f.showTrace, "trace", false, "print every APDU exchange")
	fl.StringVar(&f.date, "date", "", "transaction date and time (RFC 3339); default now (an issuer declines a date more than a day from its own: transaction_date_out_of_range)")
	fl.StringVar(&f.unHex, "un", "", "fixed unpredictable number (4 bytes hex); default random")
	addClientTLSFlags(fl, &f.tls, "", "acquirer")
	return c
}

func runTerminal(cmd *cobra.Command, f terminalFlags) error {
	voiding := f.voidSTAN != "" || f.voidRRN != ""
	switch {
	case f.acquirer == "":
		return usageErr("--acquirer is required")
	case !isHostPort(f.acquirer):
		return usageErr("--acquirer %q: want host:port, like 127.0.0.1:8583", f.acquirer)
	case f.card == "" && f.reader == "":
		return usageErr("--card or --reader is required (see tapsim cards, tapsim readers)")
	case f.card != "" && f.reader != "":
		return usageErr("--card and --reader do not go together")
	case voiding && f.card == "":
		return usageErr("--void needs --card: the journal keeps no full PAN")
	case voiding && f.refund:
		return usageErr("--void and --refund do not go together")
	case !voiding && f.amountText == "":
		return usageErr("--amount is required")
	case voiding && f.amountText != "":
		return usageErr("--void takes no --amount: it reverses the original amount")
	case f.voidSTAN != "" && !isDigits(f.voidSTAN, 1, 6):
		return usageErr("--void takes a STAN of up to 6 digits")
	case f.voidRRN != "" && len(f.voidRRN) != 12:
		return usageErr("--void-rrn takes a 12-character retrieval reference number")
	case f.timeout < 0:
		return usageErr("--timeout must be positive")
	}
	if f.pin != "" {
		if _, err := pinpad.NewPIN(f.pin); err != nil {
			return usageErr("--pin must be 4 to 12 digits")
		}
	}
	cfg, err := lab.TerminalConfig(f.configPath)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.timeout > 0 {
		cfg.ResponseTimeout = f.timeout
	}
	if f.tid != "" {
		cfg.TerminalID = f.tid
	}
	if f.mid != "" {
		cfg.MerchantID = f.mid
	}
	if err := cfg.Validate(); err != nil {
		return usageErr("%v", err)
	}
	if !voiding {
		if f.amount, err = parseAmount(f.amountText, cfg.Kernel.CurrencyExponent); err != nil {
			return usageErr("--amount %s: %v", f.amountText, err)
		}
	}
	now := time.Now()
	fixedDate := f.date != ""
	if fixedDate {
		if now, err = time.Parse(time.RFC3339, f.date); err != nil {
			return usageErr("--date: want RFC 3339, like 2026-01-15T10:30:00+08:00")
		}
	}
	var un func() [4]byte
	if f.unHex != "" {
		b, err := hex.DecodeString(f.unHex)
		if err != nil || len(b) != 4 {
			return usageErr("--un takes 4 bytes of hex")
		}
		un = kernel.FixedUN([4]byte(b))
	}
	var profile cards.Profile
	if f.card != "" {
		if profile, err = lab.Profile(f.card); err != nil {
			return usageErr("%v", err)
		}
		// Only a card certified by the test CA may be read with its keys.
		cfg.Kernel.AcceptTestCA = cfg.Kernel.AcceptTestCA && profile.UsesTestCA()
	}

	st, err := loadTerminalState(f.dataDir, cfg.TerminalID)
	if err != nil {
		return usageErr("%v", err)
	}
	if st.NextKSN != "" {
		ksn, err := dukpt.ParseKSNHex(st.NextKSN)
		if err != nil {
			return usageErr("terminal state: next KSN: %v", err)
		}
		if ksn.Initial() == cfg.KSN.Initial() {
			cfg.KSN = ksn
		}
	}
	if !f.freshCard && profile.FormFactor != cards.FormRecorded {
		if atc := savedATC(f.dataDir, profile.Name); atc > 0 {
			profile.State.ATC = atc
		}
	}
	clock := func() time.Time {
		if fixedDate {
			return now
		}
		return time.Now()
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	out := cmd.OutOrStdout()
	var (
		card      cards.Card
		hcePhone  *lab.IssuerHCEPhone
		reader    kernel.Reader
		presenter pos.Presenter
		tapWhat   = profile.Name
	)
	if f.reader != "" {
		pr, err := pcsc.Open(f.reader, pcsc.Options{})
		if err != nil {
			return usageErr("%v", err)
		}
		defer pr.Close()
		if !voiding {
			fmt.Fprintf(out, "present the card or phone on %s\n", pr.Name())
			if err := pr.WaitForCard(ctx); err != nil {
				return err
			}
		}
		reader, presenter, tapWhat = pr, pr, pr.Name()
	} else {
		if lab.IsSampleHCE(profile.Name) {
			// The sample HCE phone the issuer enrolled with its cloud
			// platform, kept in its data directory.
			if hcePhone, err = lab.OpenIssuerHCEPhone(f.dataDir, profile.Name, clock, nil); err != nil {
				return usageErr("%v", err)
			}
			card = hcePhone.Phone
		} else if card, err = cards.FromProfile(profile, cards.Options{Clock: clock}); err != nil {
			return usageErr("%v", err)
		}
		r := inproc.New(card)
		reader = r
		presenter = pos.PhonePresenter{Reader: r, Card: card, Passcode: f.unlock, Biometric: f.biometric}
	}

	var b strings.Builder
	var keypad pinpad.Keypad
	if f.pin != "" {
		keypad = pinpad.Always(f.pin)
	}
	opts := pos.Options{
		Clock:               clock,
		UnpredictableNumber: un,
		STAN:                st,
		Keypad:              keypad,
		Presenter:           presenter,
		Journal:             &fileJournal{st: st, cardPAN: profilePAN(profile)},
		Events: func(e pos.Event) {
			switch e.Kind {
			case pos.EventDisplay, pos.EventPIN, pos.EventReversal:
				fmt.Fprintf(&b, "  %s: %s\n", e.Kind, e.Text)
			case pos.EventUI:
				fmt.Fprintf(&b, "  screen: %s\n", e.Text)
			}
		},
	}
	if f.showTrace {
		p := &trace.Printer{W: &b, Timing: true}
		opts.Trace = p.Exchange
	}
	tlsCfg, err := f.tls.clientTLS("")
	if err != nil {
		return err
	}
	link := client.New(f.acquirer, client.Options{TLS: tlsCfg})
	defer link.Close()
	term, err := pos.New(cfg, link, opts)
	if err != nil {
		return usageErr("%v", err)
	}
	term.RestorePending(st.Pending) // they go before this transaction
	// Connect before the card is tapped: a tap the host can never hear of
	// would only spend the card's counter and leave the tester guessing.
	if err := link.Connect(ctx); err != nil {
		return &exitError{code: 1, err: connectError(f.acquirer, err)}
	}
	if err := echoAcquirer(ctx, link, cfg, clock()); err != nil {
		return &exitError{code: 1, err: err}
	}

	fmt.Fprintf(&b, "terminal %s, merchant %s, acquirer %s\n", cfg.TerminalID, cfg.MerchantID, f.acquirer)
	var res *pos.Result
	switch {
	case voiding:
		fmt.Fprintf(&b, "void of %s\n", pos.Ref{STAN: padSTAN(f.voidSTAN), RRN: f.voidRRN})
		res, err = term.Void(ctx, pos.Ref{STAN: padSTAN(f.voidSTAN), RRN: f.voidRRN})
	case f.refund:
		fmt.Fprintf(&b, "refund %s, card %s\n", formatMinor(f.amount, cfg), tapWhat)
		res, err = term.Refund(ctx, f.amount, reader)
	default:
		fmt.Fprintf(&b, "sale %s, card %s\n", formatMinor(f.amount, cfg), tapWhat)
		res, err = term.Sale(ctx, f.amount, reader)
	}
	st.NextKSN = term.NextKSN().String()
	st.Pending = term.Pending()
	if !voiding && card != nil {
		st.rememberCard(profile.Name, card)
	}
	if hcePhone != nil {
		// The keys it spent are gone from the phone's storage (R-S5b).
		if serr := hcePhone.Save(); serr != nil {
			_, _ = io.WriteString(out, b.String())
			return fmt.Errorf("phone storage: %w", serr)
		}
		if hcePhone.Card.KeysLeft() == 0 {
			fmt.Fprintf(&b, "  %s: no limited-use keys left: replenish (tapsim provision replenish --phone %s --data %s --cloud ADDR --pki DIR)\n",
				profile.Name, profile.Name, f.dataDir)
		}
	}
	if serr := st.save(); serr != nil {
		_, _ = io.WriteString(out, b.String())
		return fmt.Errorf("terminal state: %w", serr)
	}
	if err != nil {
		switch {
		case errors.Is(err, pos.ErrNotFound), errors.Is(err, pos.ErrAlreadyVoided):
			return usageErr("%v", err)
		case errors.Is(err, pos.ErrNoPAN):
			return usageErr("%v: --card must be the card of the original sale", err)
		}
		_, _ = io.WriteString(out, b.String())
		return err
	}
	printResult(&b, res, f.showISO, f.showRaw)
	_, err = io.WriteString(out, b.String())
	if err != nil {
		return err
	}
	if !res.Approved() {
		return &exitError{code: 1, err: fmt.Errorf("%s %s: %s", res.Kind, res.Status, res.Message)}
	}
	return nil
}

// printResult prints a result for a person, masked.
func printResult(b *strings.Builder, res *pos.Result, showISO, showRaw bool) {
	o := res.Outcome
	if o.Type != kernel.OutcomeNone {
		fmt.Fprintf(b, "outcome: %s, CVM %s, %d tap(s)\n", o.Type, o.CVM, res.Taps)
		if len(o.AID) > 0 {
			fmt.Fprintf(b, "card: %s %s, PAN %s\n", strings.ToUpper(hex.EncodeToString(o.AID)), o.Label, o.MaskedPAN())
		}
	}
	fmt.Fprintf(b, "result: %s: %s\n", res.Status, res.Message)
	if res.ResponseCode != "" {
		fmt.Fprintf(b, "DE39: %s (%s)\n", string(res.ResponseCode), res.ResponseMeaning())
	}
	if res.DeclineReason != "" {
		fmt.Fprintf(b, "reason: %s\n", res.DeclineReason)
	}
	if res.AuthCode != "" {
		fmt.Fprintf(b, "auth code: %s\n", res.AuthCode)
	}
	if res.STAN != "" || res.RRN != "" {
		fmt.Fprintf(b, "STAN %s, RRN %s\n", res.STAN, res.RRN)
	}
	if res.PINEntered {
		fmt.Fprintf(b, "online PIN: enciphered, KSN %s\n", res.KSN)
	}
	if res.IssuerUpdate.Available() || res.IssuerUpdate.Requested {
		fmt.Fprintf(b, "issuer data for the card: %s\n", res.IssuerUpdate)
	}
	fmt.Fprintf(b, "timings: card %s, PIN %s, host %s, total %s\n",
		res.Timings.Card.Round(time.Microsecond), res.Timings.PIN.Round(time.Microsecond),
		res.Timings.Host.Round(time.Microsecond), res.Timings.Total.Round(time.Microsecond))
	if showISO {
		for _, x := range res.Exchanges {
			b.WriteString(x.Screen())
		}
	}
	if showRaw {
		for _, x := range res.Exchanges {
			b.WriteString(x.RawHex())
		}
	}
	if res.Receipt != "" {
		b.WriteString("\n")
		b.WriteString(res.Receipt)
	}
}

// profilePAN is the PAN the card presents (its first application's).
func profilePAN(p cards.Profile) string {
	if p.App != nil {
		return p.App.PAN
	}
	if len(p.Apps) > 0 {
		return p.Apps[0].PAN
	}
	return ""
}

func formatMinor(v int64, cfg pos.Config) string {
	return receipt.FormatAmount(v, int(cfg.Kernel.Currency), cfg.Kernel.CurrencyExponent)
}

func padSTAN(s string) string {
	if s == "" {
		return ""
	}
	return strings.Repeat("0", 6-len(s)) + s
}

// isHostPort reports whether s is host:port with a port number.
func isHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil || port == "0" {
		return false
	}
	return isPort(port)
}

// isPort reports whether s is a port number, 0 to 65535.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && isDigits(s, 1, 5) && n <= 65535
}

// connectError says why the acquirer could not be reached: its TLS
// handshake failed, or nothing answered at its address.
func connectError(addr string, err error) error {
	if errors.Is(err, tlsconf.ErrHandshake) {
		return fmt.Errorf("TLS handshake with the acquirer at %s failed (no card tapped): %w", addr, err)
	}
	return fmt.Errorf("acquirer at %s unreachable (no card tapped): %w", addr, err)
}

// echoAcquirer sends an echo test (0800, DE70 301) and waits for its
// answer before the card is tapped: over TLS 1.3 an acquirer that refuses
// the terminal's certificate says so only once the terminal reads, and an
// acquirer that does not know the terminal, or whose key does not verify
// the echo's MAC, answers 63. The echo has STAN 000000, outside the
// terminal's sequence of STANs. Its MAC under the TAK also proves the
// connection to the acquirer, so that while the terminal waits for a
// card no newcomer at the acquirer's connection cap takes its place.
func echoAcquirer(ctx context.Context, link *client.Client, cfg pos.Config, now time.Time) error {
	msg, err := isospec.Encode(&isospec.NetworkManagement{
		MTI: isospec.MTINetworkRequest, TransmissionDateTime: isospec.TransmissionDateTime(now),
		STAN: "000000", TerminalID: cfg.TerminalID, NetworkCode: isospec.NetEcho,
	})
	if err != nil {
		return fmt.Errorf("echo test: %w", err)
	}
	if !cfg.TAK.IsZero() {
		if err := isospec.SetMAC(msg, func(d []byte) ([]byte, error) { return mac.Alg3(cfg.TAK, d, mac.Method1) }); err != nil {
			return fmt.Errorf("echo test: %w", err)
		}
	}
	resp, err := link.Send(ctx, msg, cfg.ResponseTimeout)
	if err != nil {
		if isTLSRefusal(err) {
			return fmt.Errorf("TLS: the acquirer at %s refused the terminal (no card tapped): %w", link.Addr(), err)
		}
		return fmt.Errorf("the acquirer at %s did not answer an echo test (no card tapped): %w", link.Addr(), err)
	}
	rc, _ := resp.GetString(isospec.FieldResponseCode)
	switch isospec.ResponseCode(rc) {
	case isospec.RCApproved:
		return nil
	case isospec.RCSecurityViolation:
		return fmt.Errorf("the acquirer at %s does not know terminal %s or its MAC key (echo test answered 63; no card tapped)", link.Addr(), cfg.TerminalID)
	}
	return fmt.Errorf("the acquirer at %s answered the echo test %s (%s; no card tapped)", link.Addr(), rc, isospec.ResponseCode(rc).Meaning())
}

// isTLSRefusal reports whether err is a TLS alert from the peer (a refused
// certificate, for one).
func isTLSRefusal(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" || strings.Contains(err.Error(), "remote error: tls")
}

// parseAmount reads an amount: a whole number is minor units; a number with
// a decimal point is major units, with at most exp decimals. The result is
// 1 to 12 digits of minor units.
func parseAmount(s string, exp int) (int64, error) {
	whole, frac, dec := strings.Cut(s, ".")
	switch {
	case whole == "" || !isDigits(whole, 1, 12) || (dec && frac != "" && !isDigits(frac, 1, 12)):
		return 0, errors.New("want a positive number: minor units (150000) or major units (1500.00)")
	case dec && len(frac) > exp:
		return 0, fmt.Errorf("the currency has %d decimal(s)", exp)
	}
	if dec {
		frac += strings.Repeat("0", exp-len(frac))
		whole += frac
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 12 {
		return 0, errors.New("at most 12 digits of minor units")
	}
	v, _ := strconv.ParseInt("0"+whole, 10, 64)
	if v <= 0 {
		return 0, errors.New("must be positive")
	}
	return v, nil
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// terminalState is what the headless terminal keeps between runs in its
// data directory: the last STAN, the next DUKPT KSN, the journal of approved
// sales (without full PANs) and the virtual cards' counters.
type terminalState struct {
	path string

	LastSTAN uint32               `json:"last_stan"`
	NextKSN  string               `json:"next_ksn,omitempty"`
	Journal  []journalEntry       `json:"journal,omitempty"`
	Cards    map[string]cardState `json:"cards,omitempty"`
	// Pending are the reversals the acquirer has not taken over yet,
	// without card numbers: they go before the next transaction.
	Pending []pos.PendingReversal `json:"pending,omitempty"`
}

// journalEntry is a journal record on disk: the PAN masked only.
type journalEntry struct {
	MaskedPAN string     `json:"masked_pan"`
	Record    pos.Record `json:"record"`
}

type cardState struct {
	ATC int `json:"atc"`
}

// maxJournal bounds the journal kept on disk.
const maxJournal = 500

func loadTerminalState(dir, tid string) (*terminalState, error) {
	name := "terminal-" + strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, tid) + ".json"
	st := &terminalState{path: filepath.Join(dir, name), Cards: map[string]cardState{}}
	data, err := os.ReadFile(st.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("terminal state: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("terminal state %s: not a state file", st.path)
	}
	if st.Cards == nil {
		st.Cards = map[string]cardState{}
	}
	return st, nil
}

// save writes the state atomically (a temporary file renamed over it).
func (s *terminalState) save() error {
	if len(s.Journal) > maxJournal {
		s.Journal = s.Journal[len(s.Journal)-maxJournal:]
	}
	return writeJSONFile(s.path, s)
}

// NextSTAN hands out the next STAN and saves it at once, so that a crash
// never reuses one.
func (s *terminalState) NextSTAN() uint32 {
	s.LastSTAN++
	if s.LastSTAN > 999_999 {
		s.LastSTAN = 1
	}
	_ = s.save()
	return s.LastSTAN
}

// rememberCard keeps the highest ATC the card's applications reached.
func (s *terminalState) rememberCard(name string, c cards.Card) {
	if atc := cardATC(c); atc > 0 {
		s.Cards[name] = cardState{ATC: atc}
	}
}

// servedCardsFile keeps the counters of the cards "tapsim card serve"
// served, next to the terminals' state files.
const servedCardsFile = "cards-served.json"

// savedATC is the highest transaction counter the card of this profile
// reached in any run that kept its state under dir: a headless terminal's
// or "tapsim card serve"'s. Unreadable files count as none.
func savedATC(dir, name string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "terminal-*.json"))
	files = append(files, filepath.Join(dir, servedCardsFile))
	atc := 0
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err != nil {
			continue
		}
		var v struct {
			Cards map[string]cardState `json:"cards"`
		}
		if json.Unmarshal(data, &v) == nil && v.Cards[name].ATC > atc {
			atc = v.Cards[name].ATC
		}
	}
	return atc
}

// saveServedATC records the counter a served card reached.
func saveServedATC(dir, name string, atc int) error {
	path := filepath.Join(dir, servedCardsFile)
	v := struct {
		Cards map[string]cardState `json:"cards"`
	}{Cards: map[string]cardState{}}
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &v)
		if v.Cards == nil {
			v.Cards = map[string]cardState{}
		}
	}
	v.Cards[name] = cardState{ATC: atc}
	return writeJSONFile(path, v)
}

// fileJournal is the terminal's journal in its state file. Records are
// stored without the PAN; Find gives the PAN back when the card of this run
// is the card of the record (same masked PAN).
type fileJournal struct {
	st      *terminalState
	cardPAN string
}

func (j *fileJournal) Add(rec pos.Record) error {
	masked := rec.MaskedPAN()
	rec.Request.PAN = ""
	j.st.Journal = append(j.st.Journal, journalEntry{MaskedPAN: masked, Record: rec})
	return j.st.save()
}

func (j *fileJournal) Find(ref pos.Ref) (pos.Record, error) {
	for i := len(j.st.Journal) - 1; i >= 0; i-- {
		e := j.st.Journal[i]
		if !ref.Matches(e.Record) {
			continue
		}
		rec := e.Record
		if j.cardPAN != "" && pan.Mask(j.cardPAN) == e.MaskedPAN {
			rec.Request.PAN = j.cardPAN
		}
		return rec, nil
	}
	return pos.Record{}, fmt.Errorf("%w: %s", pos.ErrNotFound, ref)
}

func (j *fileJournal) MarkVoided(stan string) error {
	for i := len(j.st.Journal) - 1; i >= 0; i-- {
		if j.st.Journal[i].Record.Request.STAN == stan {
			j.st.Journal[i].Record.Voided = true
			return j.st.save()
		}
	}
	return fmt.Errorf("%w: STAN %s", pos.ErrNotFound, stan)
}
