package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

func init() { cryptoSubcommands = append(cryptoSubcommands, newCryptoCVC3Cmd) }

func newCryptoCVC3Cmd() *cobra.Command {
	var mkHex, imkHex, pan, psn, trackHex, unHex, atcHex, verify string
	c := &cobra.Command{
		Use:   "cvc3 (--mk HEX | --imk HEX --pan DIGITS [--psn NN]) --track HEX --un HEX --atc HEX [--verify HEX]",
		Short: "CVC3 of a contactless mag-stripe mode transaction (EMV Contactless Book C-2)",
		Long: `Compute IVCVC3 over the track data as personalised (hex as on the card, 9F6B or 56)
and the CVC3 over it, the Unpredictable Number (Numeric, 4 bytes) and the ATC, with the card's
key: --mk, or derived from --imk, --pan and --psn by option A (tapsim's cards use their ICC
master key as KDCVC3). Prints IVCVC3 and the CVC3 in hex and decimal; with --verify HEX
(2 bytes), prints "match" or exits 1 with "mismatch".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				kd  keys.Key
				err error
			)
			switch {
			case mkHex != "":
				kd, err = keyArg("mk", mkHex, keys.TDES)
			case imkHex != "" && pan != "":
				var imk keys.Key
				if imk, err = keyArg("imk", imkHex, keys.TDES); err == nil {
					if kd, err = cryptogram.DeriveICCMK(cryptogram.OptionA, imk, pan, psn); err != nil {
						return libErr(err)
					}
				}
			default:
				return usageErr("give --mk, or --imk and --pan")
			}
			if err != nil {
				return err
			}
			track, err := hexArg("track", trackHex)
			if err != nil {
				return err
			}
			un, err := hexArg("un", unHex)
			if err != nil {
				return err
			}
			atc, err := strconv.ParseUint(atcHex, 16, 16)
			if err != nil {
				return usageErr("--atc takes 2 bytes of hex")
			}
			iv, err := cryptogram.CVC3IV(kd, track)
			if err != nil {
				return libErr(err)
			}
			cvc3, err := cryptogram.ComputeCVC3(kd, iv, un, uint16(atc))
			if err != nil {
				return libErr(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "IVCVC3 %X\nCVC3   %X (%05d)\n", iv, cvc3, int(cvc3[0])<<8|int(cvc3[1]))
			if verify != "" {
				want, err := hexArg("verify", verify)
				if err != nil {
					return err
				}
				if err := cryptogram.VerifyCVC3(kd, track, un, uint16(atc), want); err != nil {
					return libErr(err)
				}
				fmt.Fprintln(out, "match")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&mkHex, "mk", "", "the card's CVC3 key (hex)")
	f.StringVar(&imkHex, "imk", "", "issuer master key (hex), with --pan and --psn")
	f.StringVar(&pan, "pan", "", "application PAN (digits)")
	f.StringVar(&psn, "psn", "00", "PAN sequence number (two digits)")
	f.StringVar(&trackHex, "track", "", "track data as personalised (hex)")
	f.StringVar(&unHex, "un", "", "Unpredictable Number (Numeric), 4 bytes of BCD")
	f.StringVar(&atcHex, "atc", "", "ATC, 2 bytes (hex)")
	f.StringVar(&verify, "verify", "", "a CVC3 to check (2 bytes of hex)")
	return c
}
