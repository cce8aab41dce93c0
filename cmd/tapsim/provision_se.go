package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/terminal/pos"
)

// seOptions are the flags of "tapsim provision se".
type seOptions struct {
	card, device, otp, data string
	shared, verbose         bool
	tap                     int64
	// Running TSMs (tapsim tsm sp|se).
	spTSM, seTSM, ota, pki, acquirer string
}

func newProvisionSECmd() *cobra.Command {
	var o seOptions
	c := &cobra.Command{
		Use:   "se --card visa-se-phone|mc-se-phone --device ID [--shared-se] [--otp auto|CODE] [--tap AMOUNT] [--data DIR] [--sp-tsm ADDR --se-tsm ADDR --ota ADDR --pki DIR [--acquirer ADDR]]",
		Short: "Personalise a payment applet into a new phone's secure element over the air: issuer -> SP TSM -> SE TSM -> phone's OTA agent -> SE",
		Long: `Starts an SP TSM and an SE TSM (its back-office and OTA listeners apart) on loopback HTTPS with
mutual TLS and an in-memory test CA, and a new phone with hardware device ID --device whose
secure element the SE operator registered for the cardholder. The issuer prepares the
personalisation data of the sample --card and seals the download script, with its keys,
within the order to the SP TSM; the SP TSM has the SE operator confirm the designated SE and
hands the order over without the script; the issuer's ID&V sends the cardholder a one-time
code by SMS to the card's registered phone; the phone's OTA agent connects with it (--otp
auto: read from the inbox; --otp CODE: a code typed; the issuer checks it, 5 wrong codes lock
the card's provisioning) and relays the SCP03 session the SP TSM computes, through the SE TSM,
to the SE: the SSD and the applet are installed and personalised.

--shared-se: the SE belongs to a mobile network operator, whose SE TSM creates the issuer's
SSD with initial keys and hands them to the SP TSM; the SP TSM rotates them to the issuer's
with PUT KEY in the download. Without it the issuer owns the SE. --tap AMOUNT then taps the phone (minor units) at a terminal of the embedded
network, whose issuer host decides.

With --sp-tsm, --se-tsm and --ota (host:port of "tapsim tsm sp" and of "tapsim tsm se"'s back
office and OTA listener) and --pki (the directory of "tapsim pki init"), nothing is started:
the command plays the SE operator (registers the new phone's SE), the issuer (orders the
download) and the phone against the running TSMs; --tap then needs --acquirer (host:port).
--data (the running issuer's data directory; its SP TSM runs with --issuer-idv) is required:
the issuer's ID&V sends the code by SMS and checks it for the SP TSM. --otp auto types the
code, --otp CODE another.

The OTA trace names each command and its status word, never its data; no step prints a key,
a card number or the one-time code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return runProvisionSE(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	f.StringVar(&o.card, "card", "", "se-phone sample profile: visa-se-phone or mc-se-phone")
	f.StringVar(&o.device, "device", "", "the phone's hardware device ID, hex (1 to 8 bytes)")
	f.BoolVar(&o.shared, "shared-se", false, "the SE is shared with an SE operator (R-M2) instead of owned by the issuer (R-M1)")
	f.StringVar(&o.otp, "otp", lab.OTPAuto, "the one-time code: auto (read from the cardholder's inbox) or 6 digits typed")
	f.Int64Var(&o.tap, "tap", 0, "tap the personalised phone for this amount (minor units) at the embedded network")
	f.StringVar(&o.data, "data", "", "data directory of the embedded network (default: a temporary one)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log the services")
	f.StringVar(&o.spTSM, "sp-tsm", "", "a running SP TSM, host:port (tapsim tsm sp)")
	f.StringVar(&o.seTSM, "se-tsm", "", "a running SE TSM's back office, host:port (tapsim tsm se --listen)")
	f.StringVar(&o.ota, "ota", "", "that SE TSM's OTA listener, host:port (tapsim tsm se --ota-listen)")
	f.StringVar(&o.pki, "pki", "", "directory of tapsim pki init, with --sp-tsm")
	f.StringVar(&o.acquirer, "acquirer", "", "acquirer host:port a --tap goes to, with --sp-tsm")
	return c
}

func (o seOptions) check() error {
	if p, err := cards.Builtin(o.card); err != nil || p.FormFactor != cards.FormSEPhone {
		return usageErr("--card %s is not a built-in se-phone profile", o.card)
	}
	switch {
	case !deviceIDRE.MatchString(o.device):
		return usageErr("--device must be 1 to 8 bytes of hex")
	case o.otp != lab.OTPAuto && !otpFlagRE.MatchString(o.otp):
		return usageErr("--otp must be auto or 6 digits")
	case o.tap < 0:
		return usageErr("--tap must be a positive amount")
	case o.spTSM == "" && (o.seTSM != "" || o.ota != "" || o.pki != "" || o.acquirer != ""):
		return usageErr("--se-tsm, --ota, --pki and --acquirer go with --sp-tsm")
	case o.spTSM != "" && (o.seTSM == "" || o.ota == "" || o.pki == ""):
		return usageErr("--sp-tsm needs --se-tsm, --ota and --pki")
	case o.spTSM != "" && o.tap > 0 && o.acquirer == "":
		return usageErr("--tap with --sp-tsm needs --acquirer")
	}
	for _, a := range []string{o.spTSM, o.seTSM, o.ota, o.acquirer} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return usageErr("%q: want host:port", a)
		}
	}
	if o.spTSM != "" && o.data == "" {
		return usageErr("--sp-tsm needs --data, the running issuer's data: its ID&V sends and checks the cardholder's code (R-S3c)")
	}
	return nil
}

// runRemoteSE personalises a new phone's SE against running TSMs.
func runRemoteSE(ctx context.Context, o seOptions, out io.Writer) error {
	r := lab.RemoteSERequest{Profile: o.card, Device: strings.ToUpper(o.device), Shared: o.shared, TapAmount: o.tap}
	if o.otp != lab.OTPAuto {
		r.OTP = o.otp
	}
	res, err := lab.PersonaliseRemoteSE(ctx, lab.RemoteSEOptions{PKI: lab.ProvisioningPKI{Dir: o.pki}, SPURL: "https://" + o.spTSM,
		SEURL: "https://" + o.seTSM, OTAURL: "https://" + o.ota, AcquirerAddr: o.acquirer, IssuerData: o.data}, r,
		func(s string) { fmt.Fprintln(out, s) }, func(s string) { fmt.Fprintln(out, "  OTA  "+s) })
	if err != nil {
		return fmt.Errorf("provision se: %w", err)
	}
	if res.Outcome != tsm.ReasonPersonalised {
		return &exitError{code: 1, err: fmt.Errorf("provision se: %s", res.Outcome)}
	}
	fmt.Fprintf(out, "phone offers %d new payment application(s)\n", res.Apps)
	if o.tap > 0 && res.ResponseCode != "00" {
		return &exitError{code: 1, err: fmt.Errorf("provision se: tap declined %s", res.ResponseCode)}
	}
	return nil
}

func runProvisionSE(ctx context.Context, o seOptions, out, errOut io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.spTSM != "" {
		return runRemoteSE(ctx, o, out)
	}
	n, _, done, err := provisioningWorld(ctx, o.data, o.verbose, errOut, lab.ProvisioningOptions{})
	if err != nil {
		return err
	}
	defer done()
	p, err := lab.StartSEPlatform(nil, nil, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	p.Messages = lab.IssuerMessages(n)
	fmt.Fprintln(out, "SP TSM and SE TSM (back office, OTA listener) on loopback, mutual TLS")
	d, err := p.NewSEDevice(strings.ToUpper(o.device), 1, true)
	if err != nil {
		return err
	}
	mode := "issuer-owned SE (R-M1)"
	if o.shared {
		mode = "SE shared with an operator (R-M2)"
	}
	fmt.Fprintf(out, "phone %s: %s, SE %s registered for the cardholder\n", d.ID, mode, d.SEID)
	r := lab.SERun{Profile: o.card, Shared: o.shared,
		Step:  func(s string) { fmt.Fprintln(out, s) },
		Trace: func(s string) { fmt.Fprintln(out, "  OTA  "+s) }}
	if o.otp != lab.OTPAuto {
		r.OTP = o.otp
	}
	res, err := p.Personalise(ctx, d, r)
	if err != nil {
		return fmt.Errorf("provision se: %w", err)
	}
	if res.Outcome != tsm.ReasonPersonalised {
		return &exitError{code: 1, err: fmt.Errorf("provision se: %s", res.Outcome)}
	}
	kept := len(p.SE.Dump())
	for _, l := range p.SP.Dump() {
		if strings.HasPrefix(l, "script ") {
			kept++
		}
	}
	fmt.Fprintf(out, "phone offers %d new payment application(s); TSM stores hold %d scripts\n", res.Apps, kept)
	if res.OperatorKeys != nil {
		ssd, err := lab.SSDOf(o.card)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "operator's key set %02X opens the SSD: %v\n", res.OperatorKeys.KVN, lab.OperatorKeysOpen(d, ssd, *res.OperatorKeys, nil))
	}
	if o.tap > 0 {
		cfg, err := lab.LoadTerminalConfig(lab.LoadMaxTerminals-1, 0)
		if err != nil {
			return err
		}
		term, link, err := n.NewTerminalWith(cfg, pos.Options{})
		if err != nil {
			return err
		}
		defer func() { _ = link.Close() }()
		rc, err := lab.TapSE(ctx, term, d, o.tap)
		if err != nil {
			return fmt.Errorf("provision se: tap: %w", err)
		}
		fmt.Fprintf(out, "tap %d: response code %s\n", o.tap, rc)
	}
	return nil
}
