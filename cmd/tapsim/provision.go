package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

func init() {
	subcommands = append(subcommands, newProvisionCmd, newInboxCmd)
}

var (
	deviceIDRE = regexp.MustCompile(`^([0-9A-Fa-f]{2}){1,8}$`)
	otpFlagRE  = regexp.MustCompile(`^[0-9]{6}$`)
	pinFlagRE  = regexp.MustCompile(`^[0-9]{4,12}$`)
)

func newProvisionCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "provision",
		Short: "Provision cards onto phones through the provisioning services",
	}
	c.AddCommand(newProvisionWalletCmd(), newProvisionSECmd())
	for _, sub := range provisionSubcommands {
		c.AddCommand(sub())
	}
	return c
}

// provisionSubcommands are the provision subcommands defined in other
// files.
var provisionSubcommands []func() *cobra.Command

// walletOptions are the flags of "tapsim provision wallet".
type walletOptions struct {
	card, device, otp, data string
	// activatePIN activates the token afterwards with the card's PIN when
	// the step-up did not verify the cardholder.
	activatePIN string
	// walletProvider, pki and acquirer run the phone's side against
	// services running as their own processes.
	walletProvider, pki, acquirer string
	tap                           int64
	green, verbose                bool
}

func newProvisionWalletCmd() *cobra.Command {
	var o walletOptions
	c := &cobra.Command{
		Use:   "wallet --card PROFILE --device ID [--otp auto|none|CODE] [--activate-pin PIN] [--tap AMOUNT] [--data DIR] [--wallet-provider HOST:PORT --pki DIR [--acquirer HOST:PORT]]",
		Short: "Add a sample card to a new wallet phone: phone app -> wallet provider -> token service -> issuer ID&V",
		Long: `Starts the embedded network (issuer host and acquirer) and, in front of the issuer, the token
service it operates and a wallet provider, both on loopback HTTPS with mutual TLS and an
in-memory test CA. A new phone with hardware device ID --device adds the sample plastic card
--card to its wallet: the card is sealed to the token service, the issuer decides (the token
service recommends a step-up unless --green), an OTP goes to the cardholder's registered phone
and is read from the issuer's message centre (--otp auto) or typed (--otp CODE), the token
arrives sealed to the device, is acknowledged, and the issuer is notified. --tap AMOUNT then
taps the new token (minor units) at the sample terminal. --otp none leaves the step-up
unfinished (the token stays inactive); --activate-pin PIN then activates it afterwards with the
card's PIN (the sample cards' is 1234), sent from the phone as a PIN block sealed to the token
service, which the wallet provider cannot read; a wrong PIN counts toward the 5-try lock.

With --wallet-provider only the phone runs here, against services running as their own
processes: the wallet provider at HOST:PORT (tapsim wallet-provider), in front of the token
service the issuer host operates (tapsim issuer --provisioning-listen). The phone's app draws
its own device keys, presents the phones' TLS certificate of --pki and trusts the token service
and the wallet provider of the directory there. --otp auto then reads the OTP in the message
centre of the issuer whose data directory is --data (as tapsim inbox does), and --tap taps at
the sample terminal connected to the acquirer at --acquirer.

Every step is printed masked: PAN first 6 and last 4, never the expiry, the security code, the
OTP or a key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runProvisionWallet(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	f.StringVar(&o.card, "card", "", "built-in plastic card profile of the funding card (visa-plastic, mc-plastic, ...)")
	f.StringVar(&o.device, "device", "", "the new phone's hardware device ID, 1 to 8 bytes in hex")
	f.StringVar(&o.otp, "otp", lab.OTPAuto, "the OTP on a step-up: auto reads it from the cardholder's inbox, none leaves the step-up unfinished, or 6 digits")
	f.StringVar(&o.activatePIN, "activate-pin", "", "activate the token afterwards with the card's PIN (4 to 12 digits) when the step-up did not verify the cardholder")
	f.Int64Var(&o.tap, "tap", 0, "tap the new token for this amount (minor units) when provisioned")
	f.StringVar(&o.data, "data", "", "data directory of the hosts, kept afterwards (default: a temporary one)")
	f.BoolVar(&o.green, "green", false, "the token service recommends approval (no step-up)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log the services' events (masked) on stderr")
	f.StringVar(&o.walletProvider, "wallet-provider", "", "run only the phone, against the wallet provider at host:port (tapsim wallet-provider);\n"+
		"--data is then the issuer's data directory, where --otp auto reads the cardholder's inbox")
	f.StringVar(&o.pki, "pki", "", "with --wallet-provider: directory of tapsim pki init (the phones' certificate, the CA, the directory)")
	f.StringVar(&o.acquirer, "acquirer", "", "with --wallet-provider: the acquirer host:port --tap taps at (tapsim acquirer)")
	return c
}

func (o walletOptions) check() error {
	switch {
	case o.card == "":
		return usageErr("--card is required")
	case !deviceIDRE.MatchString(o.device):
		return usageErr("--device must be 1 to 8 bytes in hex")
	case o.otp != lab.OTPAuto && o.otp != lab.OTPNone && !otpFlagRE.MatchString(o.otp):
		return usageErr("--otp must be auto, none or 6 digits")
	case o.activatePIN != "" && !pinFlagRE.MatchString(o.activatePIN):
		return usageErr("--activate-pin must be 4 to 12 digits")
	case o.tap < 0:
		return usageErr("--tap must be a positive amount in minor units")
	case o.data != "" && strings.TrimSpace(o.data) == "":
		return usageErr("--data: empty directory")
	}
	if o.walletProvider == "" {
		if o.pki != "" || o.acquirer != "" {
			return usageErr("--pki and --acquirer go with --wallet-provider")
		}
	} else {
		if _, _, err := net.SplitHostPort(o.walletProvider); err != nil {
			return usageErr("--wallet-provider %q: want host:port", o.walletProvider)
		}
		switch {
		case strings.TrimSpace(o.pki) == "":
			return usageErr("--wallet-provider needs --pki DIR (tapsim pki init --dir DIR)")
		case o.activatePIN != "" || o.otp == lab.OTPNone:
			return usageErr("--otp none and --activate-pin run with the embedded services only")
		case o.green:
			return usageErr("--green: with --wallet-provider the token service recommends (tapsim issuer --recommend-stepup)")
		case o.otp == lab.OTPAuto && o.data == "":
			return usageErr("--otp auto with --wallet-provider needs --data, the issuer's data directory")
		case o.tap > 0 && o.acquirer == "":
			return usageErr("--tap with --wallet-provider needs --acquirer host:port")
		}
		if o.acquirer != "" {
			if _, _, err := net.SplitHostPort(o.acquirer); err != nil {
				return usageErr("--acquirer %q: want host:port", o.acquirer)
			}
		}
	}
	if p, err := cards.Builtin(o.card); err != nil || (p.FormFactor != "" && p.FormFactor != cards.FormPlastic) {
		return usageErr("--card %s is not a built-in plastic card profile (tapsim cards lists them)", o.card)
	}
	return nil
}

// provisioningWorld starts the network in dir (a temporary directory when
// empty) with its provisioning services tuned by o (its logger aside),
// calling done to stop them.
func provisioningWorld(ctx context.Context, dir string, verbose bool, errOut io.Writer, o lab.ProvisioningOptions) (*lab.Network, *lab.Provisioning, func(), error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tapsim-provision-")
		if err != nil {
			return nil, nil, nil, err
		}
		dir, cleanup = tmp, func() { _ = os.RemoveAll(tmp) }
	}
	level := slog.LevelWarn + 4
	if verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	n, err := lab.Start(ctx, lab.Options{Dir: dir, Logger: logger, IssuerTimeout: 1500 * time.Millisecond,
		Clock: o.Clock, Rand: o.Rand, Recommend: o.Recommend})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return n, n.Provisioning(), func() { _ = n.Close(); cleanup() }, nil
}

func runProvisionWallet(ctx context.Context, o walletOptions, out, errOut io.Writer) error {
	if o.walletProvider != "" {
		return runRemoteWallet(ctx, o, out, errOut)
	}
	po := lab.ProvisioningOptions{}
	if !o.green {
		po.Recommend = func(tokensvc.IDVRequest) string { return wire.DecisionRequireAuthN }
	}
	_, p, done, err := provisioningWorld(ctx, o.data, o.verbose, errOut, po)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(out, "token service on %s, wallet provider on %s (mutual TLS)\n", p.TokenServiceAddr, p.WalletAddr)
	// The issuer binds a token to the 8-byte form of the device ID (9F10
	// carries 8 bytes): the phone uses that form too.
	device, err := authz.NormaliseDeviceID(o.device)
	if err != nil {
		return usageErr("--device: %v", err)
	}
	res, err := p.AddToWallet(ctx, lab.WalletRequest{Profile: o.card, DeviceID: device, OTP: o.otp,
		ActivatePIN: o.activatePIN, TapAmount: o.tap}, func(s lab.Step) { fmt.Fprintf(out, "%-16s %s\n", s.Name, s.Detail) })
	if err != nil {
		return fmt.Errorf("provision wallet: %w", err)
	}
	return walletOutcome(o, res)
}

// walletOutcome is the exit status of a wallet flow's result: 1 when it
// did not end with an active token (and an approved tap when asked).
func walletOutcome(o walletOptions, res lab.WalletResult) error {
	switch {
	case res.Decision == wire.DecisionDeclined:
		return &exitError{code: 1, err: fmt.Errorf("provision wallet: declined: %s", res.Reason)}
	case res.Status != wire.StatusActive:
		return &exitError{code: 1, err: fmt.Errorf("provision wallet: token %s is %s", res.TokenUniqueReference, res.Status)}
	case o.tap > 0 && res.Tap != "00":
		return &exitError{code: 1, err: fmt.Errorf("provision wallet: tap declined with DE39 %s", res.Tap)}
	}
	return nil
}

func newInboxCmd() *cobra.Command {
	var device, contact, data string
	c := &cobra.Command{
		Use:   "inbox --device ID|--contact C --data DIR",
		Short: "Show the issuer's message centre for a phone number, e-mail address or device (OTPs as an SMS shows them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case (device == "") == (contact == ""):
				return usageErr("give one of --device or --contact")
			case device != "" && !deviceIDRE.MatchString(device):
				return usageErr("--device must be 1 to 8 bytes in hex")
			case strings.TrimSpace(data) == "":
				return usageErr("--data is required: the data directory of an earlier run")
			}
			to := contact
			if device != "" {
				to = strings.ToUpper(device)
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			ms, err := lab.IssuerInbox(cmd.Context(), data, to, logger)
			if err != nil {
				return fmt.Errorf("inbox: %w", err)
			}
			w := cmd.OutOrStdout()
			if len(ms) == 0 {
				fmt.Fprintf(w, "no messages for %s\n", to)
			}
			for _, m := range ms {
				fmt.Fprintf(w, "%s  %-6s %-16s %s\n", m.At.UTC().Format(time.RFC3339), m.Channel, m.Kind, m.Body)
			}
			return nil
		},
	}
	c.Flags().StringVar(&device, "device", "", "a phone's hardware device ID (hex)")
	c.Flags().StringVar(&contact, "contact", "", "a registered phone number or e-mail address")
	c.Flags().StringVar(&data, "data", "", "data directory of an earlier run (tapsim provision wallet --data DIR) or of an issuer host")
	return c
}

// runProvisioningDemo runs lab.ProvisioningDemo in dir and prints its
// table; it exits 1 when a row is not as expected.
func runProvisioningDemo(ctx context.Context, dir string, logger *slog.Logger, out io.Writer) error {
	rows, err := lab.ProvisioningDemo(ctx, dir, logger)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CASE\tEXPECTED\tGOT\tOK\tREQUIREMENTS\tNOTE")
	bad := 0
	for _, r := range rows {
		ok, note := "yes", r.Note
		if !r.OK() {
			ok = "NO"
			bad++
		}
		if r.Err != nil {
			note = "error: " + r.Err.Error()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Case, r.Want, dash(r.Got), ok, r.Requirements, note)
	}
	_ = w.Flush()
	if bad > 0 {
		return &exitError{code: 1, err: fmt.Errorf("demo: %d of %d rows not as expected", bad, len(rows))}
	}
	fmt.Fprintf(out, "all %d rows as expected\n", len(rows))
	return nil
}
