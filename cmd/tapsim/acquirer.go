package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/link"
	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/lab"
)

func init() { subcommands = append(subcommands, newAcquirerCmd) }

// acquirerOptions are the settings of one acquirer process.
type acquirerOptions struct {
	listen     string
	issuers    []string // ADDR or NAME=ADDR
	dataDir    string
	routesPath string
	terminals  string
	acquirerID string
	timeout    time.Duration
	echo       time.Duration
	rest       time.Duration
	window     time.Duration
	verbose    bool
	pprof      string
	tls        tlsFiles // terminal-facing listener
	issuerTLS  tlsFiles // issuer links
	limits     listenerLimits
	rules      rulesFlags
}

func newAcquirerCmd() *cobra.Command {
	var o acquirerOptions
	c := &cobra.Command{
		Use:   "acquirer --listen ADDR --issuer ADDR [--data DIR] [--routes FILE]",
		Short: "Run the acquirer host: terminals in over ISO 8583, issuers out",
		Long: `Runs the acquirer host until SIGINT or SIGTERM. Terminals connect to --listen (ISO 8583,
2-byte length header); each request's MAC is checked under the terminal's TAK (bad MAC: 63),
its format checked (30), duplicates of TID, STAN and transmission time refused (94), the PIN
block translated from the terminal's DUKPT key to the zone PIN key, and the message routed by
BIN range to an issuer link, re-stamped and MACed under the zone MAC key. An issuer that does
not answer within --issuer-timeout gets the terminal a 91 and a reversal advice (0420/0421)
stored under --data and retried until the issuer acknowledges it, across restarts.

--issuer ADDR names the issuer host of every sample BIN range; --issuer NAME=ADDR (repeatable)
names one issuer link of a --routes file (YAML: routes: [{low, high, issuer, token}]). An
issuer host that runs as several processes on one shared database (tapsim issuer --db) is
given all its endpoints, --issuer ADDR,ADDR or NAME=ADDR,ADDR (or the same NAME again): each
gets a link of its own, signed on with the issuer's keys, and requests go to the endpoint up
with the fewest in hand, in turn. A request that could not leave goes to another endpoint; one
that left and got no valid answer never does (91 and a reversal, as with one endpoint), and
that endpoint gets no new request for --endpoint-rest while another is up. Reversals and
advices go to any endpoint up.
Keys live in the soft security module's keystore under --data (acquirer-keys.json), wrapped
under the local master key from TAPSIM_HSM_LMK or, by default, the sample network's test LMK;
missing keys are loaded with the sample network's test keys (BDK, the TAK of T0000001 and, for
each issuer, ZPK and ZAK). Terminals are those with a key labelled acq/tak/TID. The journal
and advice queue (acquirer.db) hold masked PANs only.

--terminals FILE adds your own terminals, each with its MAC key and optionally its own DUKPT
BDK (clear TDES keys in hex, for test keys only):
  terminals:
    - {tid: T1000001, tak: 0123456789ABCDEFFEDCBA9876543210, bdk: ..., mac: required}
The keys go into the keystore (acq/tak/TID, acq/bdk/TID) and are shown by check value only.
"mac: optional" accepts that terminal's requests without a MAC (a MAC it sends must still
verify); it is never the default and is warned at start.

Mutual TLS (TLS 1.2 at least, 1.3 preferred), off by default, is set per side. Terminals:
--tls-cert and --tls-key are what the listener presents, --tls-ca the CA terminals'
certificates must chain to; a refused handshake is logged in one line. Issuer links:
--issuer-tls-ca (the CA the issuers' certificates must chain to) turns TLS on; the acquirer
presents --issuer-tls-cert and --issuer-tls-key, by default --tls-cert and --tls-key, and
checks the name --issuer-tls-server-name (default: each issuer address's host). "tapsim pki
init" writes test files.

The terminal listener protects itself: a connection on which no message starts for
--idle-timeout is closed, a message must arrive whole within --frame-timeout, a length header
announcing more than --max-frame bytes closes the connection before anything is read, and
beyond --max-conns connections a new one takes the place of an unproved one, else it is
closed at once: a connection that no MAC (or verified client certificate) has proved,
--evict-idle after its last byte before its first message. Terminals that connect and say
nothing, or send what proves nothing (a terminal whose MAC is optional and sends none among
them), hold a place at the cap for seconds, not minutes; one terminal's MAC proves two
connections at most. A frame that does not parse, or a
response sent to the acquirer, is answered with 30 echoing its DE7, DE11 and DE41 (MACed when
DE41 names a known terminal); one without a message type that has an answer (9999) closes the
connection. Such events are logged rate-limited.

--rules FILE applies host response rules (YAML) to the terminals' authorisations after their
MAC and format checks, before forwarding: a rule may answer in the issuer's stead, delay or
withhold the answer, close the connection or spoil the answer's MAC. The file is read again
when it changes; a bad file at start exits 2, a bad file later keeps the last good rules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneLongRun(false)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAcquirer(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.terminals, "terminals", "", "YAML file of your own terminals: tid, tak, bdk (hex keys), mac: required|optional")
	fl.StringVar(&o.listen, "listen", "127.0.0.1:8584", "address terminals connect to, host:port")
	fl.StringArrayVar(&o.issuers, "issuer", nil, "issuer host address, ADDR or NAME=ADDR (repeatable)")
	fl.StringVar(&o.dataDir, "data", acquirer.DefaultDataDir, "directory of the journal, advice queue and keystore")
	fl.StringVar(&o.routesPath, "routes", "", "routing table, YAML (default: the sample BIN ranges to --issuer)")
	fl.StringVar(&o.acquirerID, "acquirer-id", lab.SampleAcquirerID, "acquiring institution ID, DE32 (up to 11 digits)")
	fl.DurationVar(&o.timeout, "issuer-timeout", 10*time.Second, "how long an issuer may take before 91 and a reversal advice")
	fl.DurationVar(&o.echo, "echo", 30*time.Second, "idle time before an echo test on an issuer link")
	fl.DurationVar(&o.rest, "endpoint-rest", link.DefaultRest, "how long an issuer endpoint that left a request unanswered gets no new requests while another is up")
	fl.DurationVar(&o.window, "duplicate-window", 24*time.Hour, "how long a (TID, STAN, DE7) is remembered to refuse duplicates")
	fl.BoolVarP(&o.verbose, "verbose", "v", false, "log every event (masked) on stderr")
	addPprofFlag(fl, &o.pprof)
	addLimitFlags(fl, &o.limits, "terminal")
	addRulesFlags(fl, &o.rules)
	addTLSFlags(fl, &o.tls, "", "the terminal-facing listener")
	fl.StringVar(&o.tls.ca, "tls-ca", "", "PEM CA certificate(s) the terminals' certificates must chain to (mutual TLS)")
	fl.StringVar(&o.issuerTLS.ca, "issuer-tls-ca", "", "PEM CA certificate(s) the issuers' certificates must chain to; turns TLS on for the issuer links")
	fl.StringVar(&o.issuerTLS.cert, "issuer-tls-cert", "", "PEM certificate presented to issuers (default: --tls-cert)")
	fl.StringVar(&o.issuerTLS.key, "issuer-tls-key", "", "PEM private key of --issuer-tls-cert (default: --tls-key)")
	fl.StringVar(&o.issuerTLS.name, "issuer-tls-server-name", "", "name the issuers' certificates must carry (default: the host of each issuer address)")
	return c
}

// runAcquirer starts the acquirer of o and serves until ctx ends.
func runAcquirer(ctx context.Context, o acquirerOptions, out, errOut io.Writer) error {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	if err := checkPprofAddr(o.pprof); err != nil {
		return err
	}
	set, stopRules, err := o.rules.load(errOut)
	if err != nil {
		return err
	}
	defer stopRules()
	cfg, closeHSM, err := acquirerConfig(o, logger)
	if err != nil {
		return err
	}
	defer closeHSM()
	stopPprof, err := startPprof(ctx, o.pprof, errOut)
	if err != nil {
		return err
	}
	defer stopPprof()
	cfg.Rules = set
	srv, err := acquirer.New(cfg)
	if err != nil {
		return usageErr("%v", err)
	}
	// The server is closed below, after the signal: its links sign off
	// before the security module closes.
	if err := srv.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(out, "acquirer %s listening on %s, data in %s\n", cfg.AcquirerID, srv.Addr(), o.dataDir)
	for _, is := range cfg.Issuers {
		at := strings.Join(append([]string{is.Addr}, is.Endpoints...), ", ")
		fmt.Fprintf(out, "  issuer %s at %s: ZAK KCV %s, ZPK KCV %s\n", is.Name, at, is.ZAK.KCV, is.ZPK.KCV)
	}
	printAcquirerTerminals(out, cfg.Terminals)
	fmt.Fprintf(out, "  DUKPT BDK KCV %s\n", cfg.BDK.KCV)
	o.rules.print(out, set)
	if n, err := srv.PendingAdvices(ctx); err == nil && n > 0 {
		fmt.Fprintf(out, "  %d reversal advice(s) waiting for their issuer\n", n)
	}
	// Until its issuer links sign on, the acquirer answers 91: say when
	// they are up.
	linksUp := make(chan struct{})
	go func() {
		defer close(linksUp)
		if srv.WaitLinks(ctx) == nil {
			fmt.Fprintln(out, "  issuer links signed on")
		}
	}()
	<-ctx.Done()
	<-linksUp
	fmt.Fprintln(out, "acquirer stopping")
	if err := srv.Close(); err != nil {
		return err
	}
	fmt.Fprintln(out, "acquirer stopped")
	return nil
}

// parseIssuerFlags reads --issuer values into name -> addresses: a value
// is ADDR or NAME=ADDR, where ADDR may be a comma-separated list of the
// issuer's endpoints; a name given again adds endpoints to it.
func parseIssuerFlags(vals []string) (map[string][]string, error) {
	if len(vals) == 0 {
		return nil, errors.New("--issuer is required")
	}
	out := map[string][]string{}
	for _, v := range vals {
		name, list := lab.SampleIssuer, v
		if n, a, ok := strings.Cut(v, "="); ok {
			name, list = strings.TrimSpace(n), a
		}
		if name == "" {
			return nil, fmt.Errorf("--issuer %q: empty issuer name", v)
		}
		for _, addr := range strings.Split(list, ",") {
			addr = strings.TrimSpace(addr)
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return nil, fmt.Errorf("--issuer %q: want host:port", v)
			}
			if slices.Contains(out[name], addr) {
				return nil, fmt.Errorf("--issuer: issuer %q at %s given twice", name, addr)
			}
			out[name] = append(out[name], addr)
		}
	}
	return out, nil
}

// acquirerConfig builds the acquirer's configuration: routes, issuer links,
// terminals and the keys in the soft security module (opened here; the
// returned function closes it).
func acquirerConfig(o acquirerOptions, logger *slog.Logger) (acquirer.Config, func(), error) {
	none := func() {}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return acquirer.Config{}, none, usageErr("--listen %q: want host:port", o.listen)
	}
	if err := o.limits.check(); err != nil {
		return acquirer.Config{}, none, err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--issuer-timeout", o.timeout}, {"--echo", o.echo}, {"--duplicate-window", o.window}, {"--endpoint-rest", o.rest}} {
		if d.v < 0 {
			return acquirer.Config{}, none, usageErr("%s %v: must not be negative", d.name, d.v)
		}
	}
	endpoints, err := parseIssuerFlags(o.issuers)
	if err != nil {
		return acquirer.Config{}, none, usageErr("%v", err)
	}
	addrs := map[string]string{} // each issuer's first endpoint
	for n, a := range endpoints {
		addrs[n] = a[0]
	}
	listenTLS, err := o.tls.serverTLS("")
	if err != nil {
		return acquirer.Config{}, none, err
	}
	var linkTLS *tls.Config
	if o.issuerTLS.set() {
		it := o.issuerTLS
		if it.ca == "" {
			return acquirer.Config{}, none, usageErr("--issuer-tls-cert and --issuer-tls-key need --issuer-tls-ca")
		}
		if it.cert == "" && it.key == "" {
			it.cert, it.key = o.tls.cert, o.tls.key
		}
		if it.cert == "" || it.key == "" {
			return acquirer.Config{}, none, usageErr("--issuer-tls-ca needs a certificate to present: --issuer-tls-cert and --issuer-tls-key, or --tls-cert and --tls-key")
		}
		if linkTLS, err = it.clientTLS("issuer-"); err != nil {
			return acquirer.Config{}, none, err
		}
	}
	var table *route.Table // nil: the sample routes to the one issuer
	if o.routesPath != "" {
		f, err := os.Open(o.routesPath)
		if err != nil {
			return acquirer.Config{}, none, usageErr("--routes: %v", err)
		}
		table, err = route.Parse(f)
		f.Close()
		if err != nil {
			return acquirer.Config{}, none, usageErr("--routes %s: %v", o.routesPath, err)
		}
		for _, n := range table.Issuers() {
			if _, ok := addrs[n]; !ok {
				return acquirer.Config{}, none, usageErr("the routing table names issuer %q: give --issuer %s=ADDR", n, n)
			}
		}
	} else if len(addrs) != 1 {
		return acquirer.Config{}, none, usageErr("several --issuer links need a --routes file")
	}
	cfg, closeHSM, err := lab.AcquirerConfig(lab.AcquirerOptions{
		Listen: o.listen, Issuers: addrs, Routes: table, DataDir: o.dataDir, AcquirerID: o.acquirerID,
		IssuerTimeout: o.timeout, EchoInterval: o.echo, DuplicateWindow: o.window, Logger: logger,
	})
	if err != nil {
		return acquirer.Config{}, none, lmkUsage(err)
	}
	if o.terminals != "" {
		km, ok := cfg.HSM.(hsm.KeyManager)
		if !ok {
			closeHSM()
			return acquirer.Config{}, none, errors.New("--terminals: the security module cannot load keys")
		}
		if err := loadTerminalsFile(o.terminals, km, &cfg); err != nil {
			closeHSM()
			return acquirer.Config{}, none, err
		}
	}
	cfg.TLS = listenTLS
	cfg.EndpointRest = o.rest
	cfg.IdleTimeout, cfg.FrameTimeout = o.limits.idle, o.limits.frame
	cfg.MaxFrame, cfg.MaxConns, cfg.EvictIdle = o.limits.maxFrame, o.limits.maxConns, o.limits.evict
	for i := range cfg.Issuers {
		cfg.Issuers[i].TLS = linkTLS
		cfg.Issuers[i].Endpoints = endpoints[cfg.Issuers[i].Name][1:]
	}
	return cfg, closeHSM, nil
}
