package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/wire"
)

// hceOptions are the flags of "tapsim provision hce" and "tapsim
// provision replenish".
type hceOptions struct {
	card, device, otp, pin, data string
	// passcode is the cardholder's issuer-set passcode (the card's PIN),
	// verifying the registration instead of an OTP.
	passcode string
	// cloud, pki and acquirer run the phone alone against the cloud
	// platform an issuer serves (tapsim issuer --provisioning-listen).
	cloud, pki, acquirer string
	// phone names a sample HCE phone kept in the issuer's --data
	// (replenish --phone).
	phone              string
	tap                int64
	taps               int
	replenish, verbose bool
}

var mobilePINRE = regexp.MustCompile(`^[0-9]{4,12}$`)

// checkPhone checks the flags of replenish --phone.
func (o hceOptions) checkPhone() error {
	switch {
	case !lab.IsSampleHCE(o.phone):
		return usageErr("--phone %s: want one of %s", o.phone, strings.Join(lab.SampleHCEProfiles, ", "))
	case o.card != "" || o.device != "":
		return usageErr("--phone takes the phone the issuer enrolled: no --card or --device")
	case o.cloud == "" || o.pki == "" || strings.TrimSpace(o.data) == "":
		return usageErr("--phone needs --cloud ADDR, --pki DIR and the issuer's --data DIR")
	}
	if _, err := cloudURL(o.cloud); err != nil {
		return usageErr("--cloud %q: want host:port", o.cloud)
	}
	return nil
}

func (o hceOptions) check() error {
	if o.phone != "" {
		return o.checkPhone()
	}
	switch {
	case o.card == "":
		return usageErr("--card is required")
	case !deviceIDRE.MatchString(o.device):
		return usageErr("--device must be 1 to 8 bytes in hex")
	case o.otp != lab.OTPAuto && !otpFlagRE.MatchString(o.otp):
		return usageErr("--otp must be auto or 6 digits")
	case o.pin != "" && !mobilePINRE.MatchString(o.pin):
		return usageErr("--pin must be 4 to 12 digits")
	case o.passcode != "" && !mobilePINRE.MatchString(o.passcode):
		return usageErr("--passcode must be 4 to 12 digits")
	case o.passcode != "" && o.otp != lab.OTPAuto:
		return usageErr("--passcode verifies the cardholder instead of an OTP: no --otp")
	case o.tap < 0:
		return usageErr("--tap must be a positive amount in minor units")
	case o.taps < 0:
		return usageErr("--taps must be 0 or more")
	case o.data != "" && strings.TrimSpace(o.data) == "":
		return usageErr("--data: empty directory")
	case o.cloud == "" && (o.pki != "" || o.acquirer != ""):
		return usageErr("--pki and --acquirer go with --cloud")
	case o.cloud != "" && o.pki == "":
		return usageErr("--cloud needs --pki DIR (tapsim pki init --dir DIR)")
	case o.cloud != "" && o.tap > 0 && o.acquirer == "":
		return usageErr("--tap with --cloud needs --acquirer ADDR")
	case o.cloud != "" && o.data == "":
		return usageErr("--cloud needs the issuer's --data DIR (its cloud platform's public keys, and its message centre for --otp auto)")
	}
	if o.cloud != "" {
		if _, err := cloudURL(o.cloud); err != nil {
			return usageErr("--cloud %q: want host:port", o.cloud)
		}
	}
	if _, err := lab.HCEProfile(o.card); err != nil {
		return usageErr("--card %v (tapsim cards lists them)", err)
	}
	switch mc := lab.IsMCCloud(o.card); {
	case mc && o.pin == "":
		return usageErr("--pin MOBILEPIN is required for the Mastercard-like card %s (its mc-cloud keys need it)", o.card)
	case !mc && o.pin != "":
		return usageErr("--pin goes with a Mastercard-like card only")
	}
	return nil
}

func addHCEFlags(c *cobra.Command, o *hceOptions) {
	f := c.Flags()
	f.StringVar(&o.card, "card", "", "built-in plastic card profile to put on the phone (visa-plastic, mc-plastic, ...)")
	f.StringVar(&o.device, "device", "", "the new phone's hardware device ID, 1 to 8 bytes in hex")
	f.StringVar(&o.otp, "otp", lab.OTPAuto, "the OTP of the registration: auto reads it from the cardholder's inbox, or 6 digits")
	f.StringVar(&o.pin, "pin", "", "mobile PIN of a Mastercard-like card: set at registration, typed at each tap")
	f.StringVar(&o.passcode, "passcode", "", "verify the cardholder by the issuer-set passcode (the card's PIN; the sample cards'\n"+
		"is 1234) instead of an OTP: sealed to the platform, checked in the issuer's security module")
	f.StringVar(&o.data, "data", "", "data directory of the hosts, kept afterwards (default: a temporary one);\n"+
		"with --cloud, the issuer's data directory: the platform's public keys, and where --otp auto\n"+
		"reads the cardholder's inbox")
	f.StringVar(&o.cloud, "cloud", "", "run only the phone, against the cloud platform of a running issuer (its\n"+
		"--provisioning-listen host:port)")
	f.StringVar(&o.pki, "pki", "", "with --cloud: the PKI directory (tapsim pki init) of the phones' certificate")
	f.StringVar(&o.acquirer, "acquirer", "", "with --cloud: the acquirer's host:port the sample terminal taps at")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log the services' events (masked) on stderr")
}

func init() {
	provisionSubcommands = append(provisionSubcommands, newProvisionHCECmd, newProvisionReplenishCmd)
}

func newProvisionHCECmd() *cobra.Command {
	var o hceOptions
	c := &cobra.Command{
		Use:   "hce --card PROFILE --device ID [--otp auto|CODE | --passcode PIN] [--pin MOBILEPIN] [--tap AMOUNT] [--data DIR]",
		Short: "Enrol a sample card on a new HCE phone: phone app -> cloud platform -> issuer ID&V, then download",
		Long: `Starts the embedded network and its HCE cloud platform (loopback HTTPS, mutual TLS, keys in the
issuer's security module). A new phone with hardware device ID --device installs the issuer's HCE
app, which draws its own device key pair and registers for the sample plastic card --card with
the card's security code (a Mastercard-like card also sets the mobile PIN --pin, which unlocks its
UMD keys at each tap and signs with CDA); the issuer sends an OTP to the cardholder's registered phone, read from
its message centre (--otp auto) or typed (--otp CODE); with --passcode the cardholder is verified by
the issuer-set passcode instead (the card's PIN, sealed to the platform and checked in the issuer's
security module; a wrong one counts toward the 5-try lock) and no OTP is sent. Once bound, the phone signs the platform's
challenge with its device key and downloads the emulated card data and its first limited-use keys,
encrypted to the device. --tap AMOUNT then taps the phone (passcode 5791, CDCVM) at the sample
terminal; the issuer host checks the cryptogram against the keys the platform issued.

Every step is printed masked: PAN first 6 and last 4, never the expiry, the security code, the
OTP or a key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runProvisionHCE(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	addHCEFlags(c, &o)
	c.Flags().Int64Var(&o.tap, "tap", 0, "tap the phone for this amount (minor units) once enrolled")
	return c
}

func newProvisionReplenishCmd() *cobra.Command {
	o := hceOptions{replenish: true}
	c := &cobra.Command{
		Use:   "replenish --card PROFILE --device ID [--taps N] [--tap AMOUNT] [--otp auto|CODE] [--data DIR] | --phone NAME --cloud ADDR --pki DIR --data DIR",
		Short: "Enrol a new HCE phone, spend N keys, then ask the cloud platform for more",
		Long: `Phones live in the memory of one run, so replenish does the whole life of one phone in this run:
it enrols the phone as tapsim provision hce does, taps it --taps times (each for --tap minor units,
default NT$10.00, passcode 5791), then asks the cloud platform for keys with the device key,
reporting the keys spent, and prints the keys left before and after.

With --phone NAME (hce-phone or hce-phone-mc) it replenishes instead the sample HCE phone that a
running issuer (tapsim issuer --data DIR --provisioning-listen ADDR) enrolled with its cloud
platform and keeps in DIR, the phone "tapsim terminal --card NAME --data DIR" pays with: the
phone asks the platform at --cloud, signed with its device key, and its storage is written back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if o.tap == 0 {
				o.tap = 1000
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if o.phone != "" {
				return runReplenishPhone(ctx, o, cmd.OutOrStdout())
			}
			return runProvisionHCE(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	addHCEFlags(c, &o)
	c.Flags().IntVar(&o.taps, "taps", 4, "taps before the replenishment")
	c.Flags().StringVar(&o.phone, "phone", "", "instead of a new phone: the sample HCE phone (hce-phone, hce-phone-mc) the issuer\n"+
		"at --cloud enrolled and keeps in its --data, replenished in place")
	c.Flags().Int64Var(&o.tap, "tap", 0, "amount of each tap, minor units (default 1000)")
	return c
}

func runProvisionHCE(ctx context.Context, o hceOptions, out, errOut io.Writer) error {
	req := lab.HCERequest{Profile: o.card, DeviceID: strings.ToUpper(o.device), OTP: o.otp, MobilePIN: o.pin, CardPasscode: o.passcode,
		TapAmount: o.tap, Taps: o.taps, Replenish: o.replenish}
	step := func(s lab.Step) { fmt.Fprintf(out, "%-16s %s\n", s.Name, s.Detail) }
	var res lab.HCEResult
	var err error
	if o.cloud != "" {
		base, _ := cloudURL(o.cloud)
		fmt.Fprintf(out, "cloud platform at %s (mutual TLS, the phones' certificate under %s)\n", base, o.pki)
		res, err = lab.EnrolRemoteHCE(ctx, lab.RemoteHCEOptions{CloudURL: base, PKI: lab.ProvisioningPKI{Dir: o.pki},
			IssuerData: o.data, AcquirerAddr: o.acquirer}, req, step)
	} else {
		n, _, done, werr := provisioningWorld(ctx, o.data, o.verbose, errOut, lab.ProvisioningOptions{})
		if werr != nil {
			return werr
		}
		defer done()
		cl := n.Cloud()
		fmt.Fprintf(out, "cloud platform on %s (mutual TLS)\n", cl.Addr)
		res, err = cl.EnrolHCE(ctx, req, step)
	}
	switch {
	case errors.Is(err, wire.ErrRefused):
		r := wire.RefusalFor(err)
		return &exitError{code: 1, err: fmt.Errorf("provision hce: refused: %s", r.Reason)}
	case err != nil:
		return fmt.Errorf("provision hce: %w", err)
	}
	for i, code := range res.Taps {
		if code != "00" {
			return &exitError{code: 1, err: fmt.Errorf("provision hce: tap %d declined with DE39 %s", i+1, code)}
		}
	}
	return nil
}

// runReplenishPhone replenishes the sample HCE phone o.phone kept in the
// issuer's data directory at the cloud platform o.cloud.
func runReplenishPhone(ctx context.Context, o hceOptions, out io.Writer) error {
	base, _ := cloudURL(o.cloud)
	before, after, err := lab.ReplenishIssuerHCEPhone(ctx, o.data, o.phone, base, lab.ProvisioningPKI{Dir: o.pki})
	switch {
	case errors.Is(err, wire.ErrRefused):
		return &exitError{code: 1, err: fmt.Errorf("provision replenish: refused: %s", wire.RefusalFor(err).Reason)}
	case errors.Is(err, lab.ErrNoHCEPhone):
		return usageErr("%v", err)
	case err != nil:
		return fmt.Errorf("provision replenish: %w", err)
	}
	fmt.Fprintf(out, "%s: %d keys loaded from the cloud platform at %s, keys left %d -> %d\n", o.phone, after-before, base, before, after)
	return nil
}

// cloudURL is the base URL of the cloud platform at s (host:port, or
// https://host:port).
func cloudURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return httpsURL(s)
}
