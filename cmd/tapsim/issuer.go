package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/wire"
)

func init() { subcommands = append(subcommands, newIssuerCmd) }

// issDefaultData is the default data directory.
const issDefaultData = "./tapsim-data"

// issuerOptions are the settings of one issuer host process.
type issuerOptions struct {
	listen      string
	dataDir     string
	db          string // PostgreSQL connection string; empty for SQLite in dataDir
	macOptional bool
	verbose     bool
	tls         tlsFiles
	limits      listenerLimits
	prov        issuerProvisioning
	rules       rulesFlags
	pprof       string
}

// listenerLimits are the protections of a host's listener against idle,
// slow and hostile clients (--idle-timeout, --frame-timeout, --max-frame,
// --max-conns, --evict-idle).
type listenerLimits struct {
	idle, frame, evict time.Duration
	maxFrame, maxConns int
}

// addLimitFlags adds the listener's protection flags, with the
// frameserver's defaults (0 also means the default); peers names the
// clients in the help.
func addLimitFlags(fl *pflag.FlagSet, l *listenerLimits, peers string) {
	fl.DurationVar(&l.idle, "idle-timeout", frameserver.DefaultIdleTimeout, "close an idle "+peers+" connection: no message started for this long")
	fl.DurationVar(&l.frame, "frame-timeout", frameserver.DefaultFrameTimeout, "close a connection whose message takes longer than this to arrive, header to last byte")
	fl.IntVar(&l.maxFrame, "max-frame", frameserver.DefaultMaxFrame, "longest message accepted in bytes, checked on the length header (the longest legal one is "+strconv.Itoa(isospec.MaxMessageLen)+")")
	fl.IntVar(&l.maxConns, "max-conns", frameserver.DefaultMaxConns, "most "+peers+" connections served at once; one more takes the place of an unproved one (--evict-idle), else it is closed at once")
	fl.DurationVar(&l.evict, "evict-idle", frameserver.DefaultEvictIdle, "at --max-conns, a new connection takes the place of one that no MAC or verified client certificate has proved, this long after its last byte before its first message (as long as --idle-timeout or more: never)")
}

// check refuses limits out of range; zero means the default, so no
// protection can be turned off.
func (l listenerLimits) check() error {
	switch {
	case l.idle < 0:
		return usageErr("--idle-timeout %v: must not be negative", l.idle)
	case l.frame < 0:
		return usageErr("--frame-timeout %v: must not be negative", l.frame)
	case l.maxFrame < 0 || l.maxFrame > isospec.MaxFrameLen:
		return usageErr("--max-frame %d: want 1 to %d", l.maxFrame, isospec.MaxFrameLen)
	case l.maxConns < 0:
		return usageErr("--max-conns %d: must not be negative", l.maxConns)
	case l.evict < 0:
		return usageErr("--evict-idle %v: must not be negative", l.evict)
	}
	return nil
}

func newIssuerCmd() *cobra.Command {
	var o issuerOptions
	c := &cobra.Command{
		Use:   "issuer --listen ADDR [--data DIR] [--db postgres://...]",
		Short: "Run the issuer host: authorisations, reversals, tokens and HCE keys over ISO 8583",
		Long: `Runs the issuer host until SIGINT or SIGTERM. Acquirers connect to --listen (ISO 8583, 2-byte
length header). Sign-on, sign-off and echo are answered (0810); authorisations (0100/0200) go
through the decision pipeline: format, card or token look-up (detokenisation, token status and
domain, device binding), ARQC verification, replay (ATC and cryptogram), single-use HCE keys,
CVM policy, online PIN with a 5-try lock, expiry, limits and open-to-buy; the answer carries
DE39, the decline reason in DE48 and the ARPC in DE55 tag 91. Reversals (0400) and reversal
advices (0420/0421) release the hold once. A MAC under the zone MAC key is checked when present
(63 when wrong); a malformed message gets 30.

State (issuer.DB: cards, tokens, phones, ATCs, used cryptograms and keys, PIN tries, holds,
authorisation log, audit trail) lives under --data and is written before each answer leaves.
PANs, token numbers, expiry dates and PVVs are kept encrypted (AES-GCM under the data key
issuer/dek, found by HMAC-SHA-256 under issuer/pan-hmac: both made in the security module on
first start, shown by check value only); the files under --data are 0600. A database made by
an older build (PANs in clear) is refused: move it aside and start again.
Keys live in the soft security module's keystore (issuer-keys.json), wrapped under the local
master key from TAPSIM_HSM_LMK or, by default, the sample network's test LMK. On first start
the sample cards, phones and accounts of the built-in profiles are created (see "issuer init").

With --db the state lives in a PostgreSQL database instead, which several issuer host
processes may share (each with its own --data for its keystore): their writes are serialised
through the database, so an ATC, cryptogram or single-use key used on one is refused on the
others. The sample data is created by whichever starts first; the others load the sample keys
into their own keystore. The password may come from PGPASSWORD or ~/.pgpass rather than the
command line; it is never printed.

With --tls-cert, --tls-key and --tls-ca the listener speaks mutual TLS (TLS 1.2 at least, 1.3
preferred): it presents --tls-cert and accepts only acquirers whose certificate chains to
--tls-ca; a refused handshake is logged in one line. "tapsim pki init" writes test files.

The listener protects itself: a connection on which no message starts for --idle-timeout is
closed, a message must arrive whole within --frame-timeout, a length header announcing more
than --max-frame bytes closes the connection before anything is read, and beyond --max-conns
connections a new one takes the place of an unproved one, else it is closed at once: a
connection that no MAC (or verified client certificate) has proved, --evict-idle after its
last byte before its first message. Acquirers that connect and say nothing, or send what
proves nothing, hold a place at the cap for seconds, not minutes; one acquirer's MAC proves
two connections at most. A frame that does not parse, or a response sent to the host, is
answered with 30 echoing its DE7, DE11 and DE41; one without a message type
that has an answer (9999) closes the connection. Such events are logged rate-limited.

With --provisioning-listen the issuer also operates the token service (the token<->PAN map is
its own token vault) and serves it, with its ID&V API under /idv/ (the token service's
certificate only), over HTTPS with mutual TLS: keys, certificates and the public directory of
the parties come from --pki (tapsim pki init). The token service notifies the wallet provider
at --wallet-notify of token changes. --recommend-stepup makes it recommend an OTP step-up. The
token service keeps its state in the issuer's data, so a restarted issuer serves the tokens it
made before (step-up, acknowledgement, life cycle). "issuer suspend|resume|delete|lost" with
--provisioning ADDR --pki DIR act through it, and so reach the wallet provider.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneLongRun(false)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runIssuer(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.listen, "listen", "127.0.0.1:8583", "address acquirers connect to, host:port")
	fl.StringVar(&o.dataDir, "data", issDefaultData, "directory of the issuer's database and keystore")
	addIssuerDBFlag(c, &o.db)
	fl.BoolVar(&o.macOptional, "mac-optional", false, "accept requests without a MAC (R-G2 off, warned at start; reversals still need one)")
	addTLSFlags(fl, &o.tls, "", "this issuer host")
	fl.StringVar(&o.tls.ca, "tls-ca", "", "PEM CA certificate(s) the acquirers' certificates must chain to (mutual TLS)")
	fl.BoolVarP(&o.verbose, "verbose", "v", false, "log every message (masked) on stderr")
	addLimitFlags(fl, &o.limits, "acquirer")
	addRulesFlags(fl, &o.rules)
	addIssuerProvisioningFlags(fl, &o.prov)
	addPprofFlag(fl, &o.pprof)
	c.AddCommand(newIssuerInitCmd(), newIssuerLogCmd(), newIssuerAuditCmd(), newIssuerLostCmd(),
		newIssuerTokenCmd("suspend"), newIssuerTokenCmd("resume"), newIssuerTokenCmd("delete"), newIssuerResetPINCmd(), newIssuerResetCVC3Cmd(),
		newIssuerResetMobilePINCmd())
	return c
}

// addIssuerDBFlag adds --db, the PostgreSQL database of the issuer.
func addIssuerDBFlag(c *cobra.Command, dsn *string) {
	c.Flags().StringVar(dsn, "db", "", "PostgreSQL database the issuer's state lives in, shared by issuer instances\n"+
		"(postgres://USER@HOST/DB?sslmode=... or host=... dbname=...); default: SQLite in --data")
}

// checkIssuerDB refuses a --db that is no PostgreSQL connection string.
func checkIssuerDB(dsn string) error {
	if dsn != "" && !store.IsPostgres(dsn) {
		return usageErr("--db %s: want a PostgreSQL connection string (postgres://... or host=... dbname=...)", store.RedactDSN(dsn))
	}
	return nil
}

// openIssuerAt opens the issuer's store (in dir, or the PostgreSQL
// database dsn) and its security module in dir.
func openIssuerAt(ctx context.Context, dir, dsn string, logger *slog.Logger) (*lab.Issuer, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, usageErr("--data: empty directory")
	}
	if err := checkIssuerDB(dsn); err != nil {
		return nil, err
	}
	r, err := lab.OpenIssuer(ctx, dir, dsn, logger)
	return r, lmkUsage(err)
}

// lmkUsage makes an unusable local master key (TAPSIM_HSM_LMK) a usage
// error.
func lmkUsage(err error) error {
	if errors.Is(err, soft.ErrLMK) {
		return &exitError{code: 2, err: err}
	}
	return err
}

// runIssuer starts the issuer host of o and serves until ctx ends.
func runIssuer(ctx context.Context, o issuerOptions, out, errOut io.Writer) error {
	if _, port, err := net.SplitHostPort(o.listen); err != nil || !isPort(port) {
		return usageErr("--listen %q: want host:port", o.listen)
	}
	if err := o.limits.check(); err != nil {
		return err
	}
	if err := o.prov.check(); err != nil {
		return err
	}
	if err := checkPprofAddr(o.pprof); err != nil {
		return err
	}
	// Try the address before anything is written under --data: a busy or
	// foreign address must not leave a half-made issuer behind.
	probe, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("--listen %s: cannot listen: %w", o.listen, err)}
	}
	_ = probe.Close()
	stopPprof, err := startPprof(ctx, o.pprof, errOut)
	if err != nil {
		return err
	}
	defer stopPprof()
	tlsCfg, err := o.tls.serverTLS("")
	if err != nil {
		return err
	}
	set, stopRules, err := o.rules.load(errOut)
	if err != nil {
		return err
	}
	defer stopRules()
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	prov, err := loadIssuerProvisioning(o.prov, logger)
	if err != nil {
		return err
	}
	r, err := openIssuerAt(ctx, o.dataDir, o.db, logger)
	if err != nil {
		return err
	}
	defer r.Close()
	created, seed, err := lab.InitIssuer(ctx, r)
	if err != nil {
		return err
	}
	if created {
		printSeedSummary(out, seed)
	}
	if err := issuerCloudStart(ctx, r, o.dataDir, created, out, logger); err != nil {
		return err
	}
	// The ledger of the keys the issuer's HCE cloud platform issued, in
	// its database: the authorisation reads it, the platform writes it.
	ledger, err := lab.OpenCloudLedger(r, nil)
	if err != nil {
		return err
	}
	if prov != nil {
		prov.opts.Ledger = ledger
	}
	srv, err := issuerhost.New(r.DB, r.HSM, issuerhost.Config{Listen: o.listen, TLS: tlsCfg, MACOptional: o.macOptional, Logger: logger, Rules: set,
		IdleTimeout: o.limits.idle, FrameTimeout: o.limits.frame, MaxFrame: o.limits.maxFrame, MaxConns: o.limits.maxConns, EvictIdle: o.limits.evict,
		CloudVerifier: lab.CloudVerifier(r, ledger, nil)})
	if err != nil {
		return err
	}
	if err := srv.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	where := o.dataDir
	if r.DB.Engine() == "postgres" {
		where = r.DB.Location() + ", keys in " + o.dataDir
	}
	fmt.Fprintf(out, "issuer host listening on %s, data in %s\n", srv.Addr(), where)
	o.rules.print(out, set)
	k := issuerhost.DefaultKeys()
	if all, err := r.HSM.List(); err == nil {
		for _, h := range all {
			if slices.Contains([]string{k.ZPK, k.ZAK, k.PVK, k.KEK, store.DataKeyLabel, store.IndexKeyLabel}, h.Label) {
				fmt.Fprintf(out, "  %s %s KCV %s\n", h.Usage, h.Label, h.KCV)
			}
		}
	}
	stopProv, err := prov.start(r, out)
	if err != nil {
		_ = srv.Close()
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(out, "issuer host stopping")
	stopProv()
	if err := srv.Close(); err != nil {
		return err
	}
	fmt.Fprintln(out, "issuer host stopped")
	return nil
}

// issuerCloudStart publishes the public keys of the issuer's cloud
// platform in dir and, when the sample data was just created, enrols the
// sample HCE phones with the platform, their storage kept in dir.
func issuerCloudStart(ctx context.Context, r *lab.Issuer, dir string, created bool, out io.Writer, logger *slog.Logger) error {
	if _, err := lab.PublishCloudKeys(r, dir); err != nil {
		return err
	}
	if !created {
		return nil
	}
	phones, err := lab.EnrolIssuerSampleHCE(ctx, r, dir, lab.IssuerHCEOptions{Logger: logger})
	if err != nil {
		return err
	}
	for _, p := range phones {
		fmt.Fprintf(out, "HCE phone enrolled with the issuer's cloud platform: %s\n", p)
	}
	return nil
}

func printSeedSummary(out io.Writer, s issuerhost.Seed) {
	fmt.Fprintf(out, "sample data created: %d accounts, %d cards, %d tokens, %d phones (PIN %s on every card)\n",
		len(s.Accounts), len(s.Cards), len(s.Tokens), len(s.Devices), lab.SamplePIN)
}

func newIssuerInitCmd() *cobra.Command {
	var dir, dsn string
	c := &cobra.Command{
		Use:   "init [--data DIR] [--db postgres://...]",
		Short: "Create the issuer's sample data: the built-in cards and phones, their accounts and keys",
		Long: `Creates, in --data, the issuer's sample data from the built-in card and phone profiles (see
"tapsim cards"): an account per card, the card store (PAN, expiry, CVN, the issuer master key in
the security module, PIN 1234 as a Visa PVV), the token vault (token -> funding PAN) for wallet
phones, the zone PIN and MAC keys, PIN verification key and key-encryption key of the sample
network. The sample HCE phones (hce-phone, hce-phone-mc) are enrolled with the issuer's own cloud
platform (registration, the cardholder's OTP from the message centre, the challenge-signed
download of limited-use keys) and each phone's storage is kept in --data (phone-NAME.json), where
"tapsim terminal --card" and "tapsim card serve --profile" on that directory find it. A data
directory that has its sample data already is left alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openIssuerAt(cmd.Context(), dir, dsn, nil)
			if err != nil {
				return err
			}
			defer r.Close()
			created, seed, err := lab.InitIssuer(cmd.Context(), r)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !created {
				where := dir
				if dsn != "" {
					where = r.DB.Location()
				}
				fmt.Fprintf(out, "%s already holds the issuer's data; nothing changed\n", where)
				return nil
			}
			printSeedSummary(out, seed)
			if err := issuerCloudStart(cmd.Context(), r, dir, true, out, nil); err != nil {
				return err
			}
			w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "  ID\tPAN\tKIND\tCVN\tEXPIRY")
			loadCards := 0
			for _, c := range seed.Cards {
				if lab.IsLoadCard(c.ID) {
					loadCards++
					continue
				}
				kind := c.FormFactor
				if c.CVN == "" {
					kind = "funding card"
				}
				fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", c.ID, pan.Mask(c.PAN), kind, dash(c.CVN), c.Expiry)
			}
			for _, k := range seed.Tokens {
				fmt.Fprintf(w, "  %s\t%s\t%s token\t%s\t%s\n", k.ID, pan.Mask(k.Number), k.FormFactor, k.CVN, k.Expiry)
			}
			if loadCards > 0 {
				fmt.Fprintf(w, "  %s*\t%d cards for tapsim load\t\t\t\n", lab.LoadCardPrefix, loadCards)
			}
			return w.Flush()
		},
	}
	c.Flags().StringVar(&dir, "data", issDefaultData, "directory of the issuer's database and keystore")
	addIssuerDBFlag(c, &dsn)
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// openIssuerStore opens the store for the administrative commands: the
// PostgreSQL database dsn, or SQLite in dir when dsn is empty. withKeys
// also opens the security module in dir (it must exist) and gives the
// store the data keys, for commands that read cards or tokens; the
// authorisation log and the audit trail need none.
func openIssuerStore(ctx context.Context, dir, dsn string, withKeys bool) (*lab.Issuer, error) {
	var (
		db  *store.DB
		err error
	)
	if dsn != "" {
		if err := checkIssuerDB(dsn); err != nil {
			return nil, err
		}
		if db, err = lab.OpenIssuerDB(ctx, dir, dsn); err != nil {
			return nil, err
		}
		if done, err := issuerhost.Initialised(ctx, db); err != nil || !done {
			db.Close()
			if err != nil {
				return nil, fmt.Errorf("issuer database: %w", err)
			}
			return nil, usageErr("--db %s: no issuer data (run tapsim issuer init --db ...)", db.Location())
		}
	} else {
		if strings.TrimSpace(dir) == "" {
			return nil, usageErr("--data: empty directory")
		}
		if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
			return nil, usageErr("--data %s: no issuer database (run tapsim issuer init)", dir)
		}
		if db, err = lab.OpenIssuerDB(ctx, dir, ""); err != nil {
			return nil, err
		}
	}
	r := &lab.Issuer{DB: db}
	if !withKeys {
		return r, nil
	}
	if _, err := os.Stat(filepath.Join(dir, lab.IssuerKeystore)); err != nil {
		r.Close()
		return nil, usageErr("--data %s: no issuer keystore (%s)", dir, lab.IssuerKeystore)
	}
	if r.HSM, err = lab.OpenSoftHSM("issuer", dir, lab.IssuerKeystore, nil); err != nil {
		r.Close()
		return nil, lmkUsage(err)
	}
	if err := lab.IssuerDataKeys(ctx, r.DB, r.HSM); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func newIssuerLogCmd() *cobra.Command {
	var (
		dir, dsn string
		n        int
	)
	c := &cobra.Command{
		Use:   "log [--data DIR] [-n N]",
		Short: "Print the issuer's last authorisations (PANs masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 {
				return usageErr("-n: want 1 or more")
			}
			r, err := openIssuerStore(cmd.Context(), dir, dsn, false)
			if err != nil {
				return err
			}
			defer r.Close()
			db := r.DB
			var recs []store.AuthRecord
			if err := db.View(cmd.Context(), func(tx *store.Tx) error {
				recs, err = tx.AuthLog(cmd.Context(), n)
				return err
			}); err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TIME\tMTI\tSTAN\tPAN\tAMOUNT\tCVM\tATC\tDE39\tREASON\tAUTH")
			for _, r := range recs {
				atc := "-"
				if r.ATC >= 0 {
					atc = fmt.Sprintf("%04X", r.ATC)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.At.Format("2006-01-02T15:04:05Z"), r.MTI, r.STAN,
					r.MaskedPAN, r.Amount, dash(r.CVM), atc, r.ResponseCode, r.Reason, dash(r.AuthCode))
			}
			return w.Flush()
		},
	}
	c.Flags().StringVar(&dir, "data", issDefaultData, "directory of the issuer's database")
	addIssuerDBFlag(c, &dsn)
	c.Flags().IntVarP(&n, "last", "n", 20, "how many authorisations")
	return c
}

func newIssuerAuditCmd() *cobra.Command {
	var (
		dir, dsn string
		show     bool
	)
	c := &cobra.Command{
		Use:   "audit [--data DIR] [--show]",
		Short: "Check the issuer's audit trail (append-only, hash-chained); --show prints it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openIssuerStore(cmd.Context(), dir, dsn, false)
			if err != nil {
				return err
			}
			defer r.Close()
			db := r.DB
			out := cmd.OutOrStdout()
			return db.View(cmd.Context(), func(tx *store.Tx) error {
				if show {
					trail, err := tx.AuditTrail(cmd.Context())
					if err != nil {
						return err
					}
					for _, e := range trail {
						fmt.Fprintf(out, "%6d %s %-15s %-24s %s: %s\n", e.Seq, e.At.Format("2006-01-02T15:04:05Z"), e.Actor, e.Action, e.Subject, e.Detail)
					}
				}
				n, err := tx.VerifyAudit(cmd.Context())
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintf(out, "audit trail intact: %d entries\n", n)
				return nil
			})
		},
	}
	c.Flags().StringVar(&dir, "data", issDefaultData, "directory of the issuer's database")
	addIssuerDBFlag(c, &dsn)
	c.Flags().BoolVar(&show, "show", false, "print every entry")
	return c
}

// reasonCloudPhone is the refusal reason of a lost-phone report, without
// --provisioning, of a phone whose keys the cloud platform issued.
const reasonCloudPhone = "cloud_phone_needs_platform"

func newIssuerLostCmd() *cobra.Command {
	var dir, dsn, reason string
	var ts tokenServiceFlags
	c := &cobra.Command{
		Use:   "lost DEVICE-ID [--reason TEXT] [--provisioning ADDR --pki DIR]",
		Short: "Report a phone lost: suspend its tokens and void its keys at once (R-C1)",
		Long: `Reports a phone lost: every token registered for it is suspended, its single-use HCE keys are
voided and the phone is marked lost in the issuer's vault (--data or --db). With --provisioning
ADDR (the running issuer's --provisioning-listen) and --pki DIR, the phone's wallet tokens are
first suspended through the token service that issuer operates, which notifies their wallet
provider, and the phone's bindings at the HCE cloud platform it serves are suspended with their
keys; without it nobody but the vault learns of the change.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ts.check(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			cloudN := 0
			if ts.addr != "" {
				if err := lostThroughService(cmd.Context(), ts, out, args[0], reason); err != nil {
					return err
				}
				n, err := cloudLostThroughService(cmd.Context(), ts, out, args[0])
				if err != nil {
					return err
				}
				cloudN = n
			}
			r, err := openIssuerStore(cmd.Context(), dir, dsn, true)
			if err != nil {
				return err
			}
			defer r.Close()
			db := r.DB
			rep, err := cloud.ReportLost(cmd.Context(), db, args[0], reason, time.Now())
			if errors.Is(err, cloud.ErrDevice) && cloudN > 0 {
				// An HCE phone of the cloud platform only.
				fmt.Fprintf(out, "phone %s: not in the issuer's vault (%v)\n", args[0], err)
				return nil
			}
			if errors.Is(err, cloud.ErrDevice) {
				// An HCE phone of the issuer's cloud platform: the running
				// platform holds its binding, and only it can suspend it.
				if refs, lerr := lab.CloudPhoneCards(r, args[0]); lerr == nil && len(refs) > 0 {
					return usageErr("phone %s holds keys of %v from the issuer's cloud platform: report it through the running issuer with --provisioning ADDR --pki DIR (%s)",
						args[0], refs, reasonCloudPhone)
				}
				return usageErr("%v", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "phone %s reported lost: tokens suspended %v\n", rep.DeviceID, rep.TokensSuspended)
			if ts.addr == "" {
				fmt.Fprintln(out, "  directly in the issuer's vault: no token service was told, no wallet provider notified (--provisioning ADDR --pki DIR)")
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", issDefaultData, "directory of the issuer's database")
	addIssuerDBFlag(c, &dsn)
	c.Flags().StringVar(&reason, "reason", "reported by the cardholder", "why, for the audit trail")
	addTokenServiceFlags(c.Flags(), &ts)
	return c
}

var tokenActions = map[string]string{"suspend": wire.ActionSuspend, "resume": wire.ActionResume, "delete": wire.ActionDelete}

func newIssuerTokenCmd(verb string) *cobra.Command {
	var dir, dsn, reason string
	var ts tokenServiceFlags
	c := &cobra.Command{
		Use:   verb + " TOKEN-ID [--reason TEXT] [--provisioning ADDR --pki DIR]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a token of the vault (IDs: tapsim issuer init lists them)",
		Long: strings.ToUpper(verb[:1]) + verb[1:] + ` a token. Without --provisioning the issuer's vault (--data or --db) is
changed directly: nobody else is told, so a wallet provider keeps showing the old state. With
--provisioning ADDR (the running issuer's --provisioning-listen) and --pki DIR (tapsim pki init:
the issuer's certificate and JOSE keys) the change goes, signed by the issuer over mutual TLS,
through the token service that issuer operates: it changes the vault and notifies the token's
wallet provider. Only the tokens the token service made (references DWSPTS...) are its; a
refusal names its reason (unknown_token, token_state, not_suspended_by_actor).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ts.check(); err != nil {
				return err
			}
			if ts.addr != "" {
				return tokenThroughService(cmd.Context(), ts, cmd.OutOrStdout(), tokenActions[verb], args[0], reason)
			}
			r, err := openIssuerStore(cmd.Context(), dir, dsn, true)
			if err != nil {
				return err
			}
			defer r.Close()
			db := r.DB
			v := vault.New(db, nil)
			switch verb {
			case "suspend":
				err = v.Suspend(cmd.Context(), args[0], reason)
			case "resume":
				err = v.Resume(cmd.Context(), args[0], reason)
			default:
				err = v.Delete(cmd.Context(), args[0], reason)
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, vault.ErrTransition) {
				return usageErr("%v", err)
			}
			if err != nil {
				return err
			}
			var k store.Token
			if err := db.View(cmd.Context(), func(tx *store.Tx) error {
				var err error
				k, err = tx.Token(cmd.Context(), args[0])
				return err
			}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s %s: %s, directly in the issuer's vault: no token service was told, "+
				"no wallet provider notified (--provisioning ADDR --pki DIR)\n", args[0], pan.Mask(k.Number), k.Status)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", issDefaultData, "directory of the issuer's database")
	addIssuerDBFlag(c, &dsn)
	c.Flags().StringVar(&reason, "reason", "cardholder request", "why, for the audit trail")
	addTokenServiceFlags(c.Flags(), &ts)
	return c
}

func newIssuerResetPINCmd() *cobra.Command {
	return newIssuerResetCmd("reset-pin CARD-ID --operator NAME",
		"Unlock a card's PIN after the service centre verified the cardholder (R-G3c)",
		func(ctx context.Context, db *store.DB, id, operator string, at time.Time) (string, error) {
			if err := authz.ResetPIN(ctx, db, id, operator, at); err != nil {
				return "", err
			}
			return fmt.Sprintf("card %s: PIN tries reset by %s", id, operator), nil
		})
}

func newIssuerResetCVC3Cmd() *cobra.Command {
	return newIssuerResetCmd("reset-cvc3 CARD-OR-TOKEN-ID --operator NAME",
		"Lift the block of a card's contactless mag-stripe transactions after too many wrong CVC3s",
		func(ctx context.Context, db *store.DB, id, operator string, at time.Time) (string, error) {
			n, err := authz.ResetCVC3(ctx, db, id, operator, at)
			if err != nil {
				return "", err
			}
			if n == 0 {
				return fmt.Sprintf("%s: no CVC3 failures counted, nothing to reset", id), nil
			}
			return fmt.Sprintf("%s: %d CVC3 failures reset by %s", id, n, operator), nil
		})
}

// newIssuerResetCmd is a service centre's reset, done by reset to the
// card (or token) its argument names, by --operator; reset says what it
// did.
func newIssuerResetCmd(use, short string, reset func(context.Context, *store.DB, string, string, time.Time) (string, error)) *cobra.Command {
	var dir, dsn, operator string
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(operator) == "" {
				return usageErr("--operator is required")
			}
			r, err := openIssuerStore(cmd.Context(), dir, dsn, true)
			if err != nil {
				return err
			}
			defer r.Close()
			done, err := reset(cmd.Context(), r.DB, args[0], operator, time.Now())
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return usageErr("%v", err)
				}
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), done)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", issDefaultData, "directory of the issuer's database")
	addIssuerDBFlag(c, &dsn)
	c.Flags().StringVar(&operator, "operator", "", "who verified the cardholder")
	return c
}
