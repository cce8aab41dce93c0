package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/wire"
)

func newIssuerResetMobilePINCmd() *cobra.Command {
	var card, device, addr, pki, staff string
	c := &cobra.Command{
		Use:   "reset-mobile-pin --card PROFILE --device ID --provisioning ADDR --pki DIR [--staff NAME]",
		Short: "Reset the mobile PIN tries of an HCE phone locked after 5 wrong mobile PINs (R-G3c)",
		Long: `After 5 wrong mobile PINs in a row on a Mastercard-like cloud card the issuer refuses the phone's
taps (cloud_mobile_pin_locked) and its cloud platform refuses it new keys (mobile_pin_locked),
until the issuer's service centre, having verified the cardholder, resets it. This asks the cloud
platform of the issuer running with --provisioning-listen ADDR, as the service centre (the
issuer's certificate under --pki DIR), to reset phone --device of the sample plastic card --card;
the reset is written to the platform's audit trail under --staff.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case card == "":
				return usageErr("--card is required")
			case !deviceIDRE.MatchString(device):
				return usageErr("--device must be 1 to 8 bytes in hex")
			case strings.TrimSpace(pki) == "":
				return usageErr("--pki DIR is required (tapsim pki init --dir DIR)")
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageErr("--provisioning %q: want host:port (the running issuer's --provisioning-listen)", addr)
			}
			if _, err := lab.HCEProfile(card); err != nil {
				return usageErr("--card %v", err)
			}
			res, err := lab.ResetMobilePINAt(cmd.Context(), addr, lab.ProvisioningPKI{Dir: pki}, staff, card, strings.ToUpper(device))
			switch {
			case errors.Is(err, lab.ErrPKI):
				return usageErr("--pki: %v", err)
			case errors.Is(err, wire.ErrRefused):
				return &exitError{code: 1, err: fmt.Errorf("reset-mobile-pin: refused: %s", wire.RefusalFor(err).Reason)}
			case err != nil:
				return fmt.Errorf("reset-mobile-pin: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "phone %s of card account %s: mobile PIN tries %s by %s, the phone is served again\n",
				res.DeviceID, res.CardRef, res.Status, staff)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&card, "card", "", "the sample plastic card on the phone (mc-plastic)")
	f.StringVar(&device, "device", "", "the phone's hardware device ID, 1 to 8 bytes in hex")
	f.StringVar(&addr, "provisioning", "", "the running issuer's --provisioning-listen address (host:port)")
	f.StringVar(&pki, "pki", "", "directory of tapsim pki init: the issuer's certificate")
	f.StringVar(&staff, "staff", "service-centre", "who resets, for the audit trail")
	return c
}
