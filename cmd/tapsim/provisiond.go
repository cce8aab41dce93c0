package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

func init() { subcommands = append(subcommands, newWalletProviderCmd) }

// issuerProvisioning are the issuer's flags for its provisioning services.
type issuerProvisioning struct {
	listen, pki, notify string
	stepUp              bool
}

// addIssuerProvisioningFlags adds --provisioning-listen, --pki,
// --wallet-notify and --recommend-stepup to the issuer.
func addIssuerProvisioningFlags(fl *pflag.FlagSet, o *issuerProvisioning) {
	fl.StringVar(&o.listen, "provisioning-listen", "", "also serve the token service the issuer operates and its ID&V API\n"+
		"on this host:port (HTTPS, mutual TLS; needs --pki)")
	fl.StringVar(&o.pki, "pki", "", "directory of tapsim pki init: the CA, the token service's certificate and keys, the directory")
	fl.StringVar(&o.notify, "wallet-notify", "", "wallet provider base URL (https://host:port) the token service notifies of token changes")
	fl.BoolVar(&o.stepUp, "recommend-stepup", false, "the token service recommends a step-up (OTP) for every request")
}

// check refuses inconsistent flags before anything is opened.
func (o issuerProvisioning) check() error {
	if o.listen == "" {
		if o.pki != "" || o.notify != "" || o.stepUp {
			return usageErr("--pki, --wallet-notify and --recommend-stepup need --provisioning-listen")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usageErr("--provisioning-listen %q: want host:port", o.listen)
	}
	if strings.TrimSpace(o.pki) == "" {
		return usageErr("--provisioning-listen needs --pki DIR (tapsim pki init --dir DIR)")
	}
	if o.notify != "" {
		if _, err := httpsURL(o.notify); err != nil {
			return usageErr("--wallet-notify: %v", err)
		}
	}
	return nil
}

// httpsURL checks an https://host:port base URL and returns it without a
// trailing slash.
func httpsURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want https://host:port")
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", errors.New("want https://host:port")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// provisioningServer is one provisioning HTTPS listener.
type provisioningServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// serveProvisioning serves h with mutual TLS cfg on addr.
func serveProvisioning(addr string, h http.Handler, cfg *tls.Config) (*provisioningServer, error) {
	srv, err := wire.NewServer(h, cfg, wire.Limits{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &provisioningServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() { defer close(s.done); _ = srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// Addr is the listener's address.
func (s *provisioningServer) Addr() string { return s.ln.Addr().String() }

// Close lets requests under way finish (up to 5 s), then closes every
// connection.
func (s *provisioningServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// issuerProvisioningKeys are the token service's keys, trust list and
// TLS configuration, read before the issuer opens its data.
type issuerProvisioningKeys struct {
	o        issuerProvisioning
	opts     lab.IssuerServicesOptions
	tls      *tls.Config
	notifier *wire.Client
}

// loadIssuerProvisioning reads the key material of o; nil when the
// services are not asked for.
func loadIssuerProvisioning(o issuerProvisioning, logger *slog.Logger) (*issuerProvisioningKeys, error) {
	if o.listen == "" {
		return nil, nil
	}
	k := lab.ProvisioningPKI{Dir: o.pki}
	now := time.Now()
	me, err := k.Party(lab.PartyTokenService)
	if err != nil {
		return nil, usageErr("--pki: %v", err)
	}
	trust, err := k.Trust(lab.PartyWallet, lab.PartyIssuer)
	if err != nil {
		return nil, usageErr("--pki: %v", err)
	}
	cfg, err := k.ServerTLS(lab.PartyTokenService, now)
	if err != nil {
		return nil, usageErr("--pki: %v", err)
	}
	pk := &issuerProvisioningKeys{o: o, tls: cfg,
		opts: lab.IssuerServicesOptions{TokenService: me, Trust: trust, Logger: logger}}
	// The SP TSM's code checks of SE downloads, when the directory has it
	// (pki init writes it; a directory made before does not).
	if spTrust, err := k.Trust(lab.PartySPTSM); err == nil {
		sp, _ := spTrust.Party(lab.PartySPTSM)
		pk.opts.SPTSM = &sp
	}
	if o.notify != "" {
		base, _ := httpsURL(o.notify)
		pk.opts.WalletNotifyURL = base + walletsvc.PathNotify
		if pk.notifier, err = k.Client(lab.PartyTokenService, now); err != nil {
			return nil, usageErr("--pki: %v", err)
		}
		pk.opts.Notifier = pk.notifier
	}
	if o.stepUp {
		pk.opts.Recommend = func(tokensvc.IDVRequest) string { return wire.DecisionRequireAuthN }
	}
	return pk, nil
}

// start serves the issuer's provisioning services on r and returns the
// function that stops them; nothing when pk is nil.
func (pk *issuerProvisioningKeys) start(r *lab.Issuer, out io.Writer) (func(), error) {
	if pk == nil {
		return func() {}, nil
	}
	// The HCE cloud platform's JOSE keys are in the issuer's security
	// module (R-S5a); their public half is in the issuer's data directory.
	cloudParty, err := lab.IssuerCloudParty(r)
	if err != nil {
		return nil, err
	}
	pk.opts.Cloud = cloudParty
	svcs, err := lab.NewIssuerServices(r, pk.opts)
	if err != nil {
		return nil, err
	}
	s, err := serveProvisioning(pk.o.listen, svcs.Handler(), pk.tls)
	if err != nil {
		return nil, err
	}
	if svcs.Cloud() != nil {
		fmt.Fprintf(out, "HCE cloud platform on the same address under /hce/ (phones' certificate only), state in the issuer's database\n")
	}
	fmt.Fprintf(out, "issuer provisioning services (token service, ID&V) listening on %s, mutual TLS under %s\n",
		s.Addr(), filepath.Join(pk.o.pki, "ca.pem"))
	return func() {
		s.Close()
		if pk.notifier != nil {
			pk.notifier.CloseIdleConnections()
		}
	}, nil
}

// walletProviderOptions are the flags of "tapsim wallet-provider".
type walletProviderOptions struct {
	listen, tokenService, pki, key string
	verbose                        bool
}

func newWalletProviderCmd() *cobra.Command {
	var o walletProviderOptions
	c := &cobra.Command{
		Use:   "wallet-provider --listen ADDR --token-service URL --pki DIR",
		Short: "Run the sample wallet's provider: the phones' wallet app server, in front of the token service",
		Long: `Runs the wallet provider of the sample wallet (token requestor ` + lab.SampleWalletRequestor + `) until SIGINT or
SIGTERM. Phones' wallet apps call it over HTTPS with mutual TLS on --listen; it relays their
requests, sealed (JWE) and signed (JWS) end to end, to the token service at --token-service
(https://host:port, the issuer's --provisioning-listen), and takes the token service's
notifications at /tsp/notify. It keeps wallet accounts and token references only, never card
data.

--pki is a directory written by "tapsim pki init": the CA every party trusts (ca.pem), the
wallet provider's certificate (provisioning/wallet-provider.pem) and JOSE keys
(provisioning/wallet-provider.jose.pem, mode 0600), and the public directory
(provisioning/directory.json) the token service's keys are read from. --jose-key takes the
JOSE keys from another file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWalletProvider(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.listen, "listen", "127.0.0.1:8444", "address the phones connect to, host:port")
	fl.StringVar(&o.tokenService, "token-service", "", "the token service's base URL, https://host:port")
	fl.StringVar(&o.pki, "pki", "", "directory of tapsim pki init")
	fl.StringVar(&o.key, "jose-key", "", "the wallet provider's JOSE key file (default: PKI/provisioning/wallet-provider.jose.pem)")
	fl.BoolVarP(&o.verbose, "verbose", "v", false, "log every request (references only) on stderr")
	return c
}

func runWalletProvider(ctx context.Context, o walletProviderOptions, out, errOut io.Writer) error {
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usageErr("--listen %q: want host:port", o.listen)
	}
	ts, err := httpsURL(o.tokenService)
	if err != nil {
		return usageErr("--token-service %q: %v", o.tokenService, err)
	}
	if strings.TrimSpace(o.pki) == "" {
		return usageErr("--pki DIR is required (tapsim pki init --dir DIR)")
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	k := lab.ProvisioningPKI{Dir: o.pki}
	now := time.Now()
	var me *wire.Party
	if o.key != "" {
		me, err = wire.LoadParty(o.key)
	} else {
		me, err = k.Party(lab.PartyWallet)
	}
	if err != nil {
		return usageErr("wallet provider keys: %v", err)
	}
	if me.Name() != lab.PartyWallet {
		return usageErr("wallet provider keys: the key file is %s's, want %s", me.Name(), lab.PartyWallet)
	}
	trust, err := k.Trust(lab.PartyTokenService)
	if err != nil {
		return usageErr("--pki: %v", err)
	}
	cfg, err := k.ServerTLS(lab.PartyWallet, now)
	if err != nil {
		return usageErr("--pki: %v", err)
	}
	client, err := k.Client(lab.PartyWallet, now)
	if err != nil {
		return usageErr("--pki: %v", err)
	}
	defer client.CloseIdleConnections()
	w, err := lab.NewWalletProvider(lab.WalletProviderOptions{Me: me, Trust: trust, TokenServiceURL: ts, Client: client, Logger: logger})
	if err != nil {
		return err
	}
	s, err := serveProvisioning(o.listen, w.Handler(), cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wallet provider listening on %s, token service %s, mutual TLS under %s\n", s.Addr(), ts,
		filepath.Join(o.pki, "ca.pem"))
	<-ctx.Done()
	fmt.Fprintln(out, "wallet provider stopping")
	s.Close()
	fmt.Fprintln(out, "wallet provider stopped")
	return nil
}

// runRemoteWallet runs the phone's side of the wallet flow against the
// wallet provider of o.walletProvider.
func runRemoteWallet(ctx context.Context, o walletOptions, out, errOut io.Writer) error {
	level := slog.LevelWarn + 4
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	ro := lab.RemoteWalletOptions{WalletURL: "https://" + o.walletProvider, PKI: lab.ProvisioningPKI{Dir: o.pki},
		IssuerData: o.data, AcquirerAddr: o.acquirer, Logger: logger}
	fmt.Fprintf(out, "wallet provider on %s (mutual TLS as %s)\n", o.walletProvider, lab.PartyPhone)
	res, err := lab.AddToRemoteWallet(ctx, ro, lab.WalletRequest{Profile: o.card, DeviceID: strings.ToUpper(o.device), OTP: o.otp,
		TapAmount: o.tap}, func(s lab.Step) { fmt.Fprintf(out, "%-16s %s\n", s.Name, s.Detail) })
	if errors.Is(err, lab.ErrPKI) {
		return usageErr("provision wallet: %v", err)
	}
	if err != nil {
		return fmt.Errorf("provision wallet: %w", err)
	}
	return walletOutcome(o, res)
}
