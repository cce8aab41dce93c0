package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

func init() {
	cryptoSubcommands = append(cryptoSubcommands, newCryptoLUKCmd, newCryptoKeyIndexCmd, newCryptoSUKCmd, newCryptoCloudACCmd)
}

// cloudModelNote ends the help of every cloud verb.
const cloudModelNote = `
These are tapsim's MODEL of the cloud-payment schemes, after their public patents; the
schemes' own derivations, CVNs and IAD layouts are licensed and differ (emv/cloud/MODEL.md).`

// tokenMKFlags name one of a token's ICC master keys: the key itself, or an
// issuer master key with the token PAN and PSN (EMV option A).
type tokenMKFlags struct {
	mk, imk, pan, psn string
}

// register adds --<name> and --i<name> (e.g. --mk and --imk, --mk-md and
// --imk-md); pan and psn are shared by the caller.
func (f *tokenMKFlags) register(c *cobra.Command, name, what string) {
	c.Flags().StringVar(&f.mk, name, "", what+" (hex, 16-byte TDES)")
	c.Flags().StringVar(&f.imk, "i"+name, "", "issuer master key for "+what+" (hex), with --pan and --psn (EMV option A)")
}

// key returns the ICC master key the flags name.
func (f *tokenMKFlags) key(name, pan, psn string) (keys.Key, error) {
	switch {
	case f.mk != "" && f.imk != "":
		return keys.Key{}, usageErr("give --%s or --i%s, not both", name, name)
	case f.mk != "":
		return keyArg(name, f.mk, keys.TDES)
	case f.imk == "":
		return keys.Key{}, usageErr("--%s (or --i%s with --pan) is required", name, name)
	case pan == "":
		return keys.Key{}, usageErr("--pan is required with --i%s", name)
	}
	imk, err := keyArg("i"+name, f.imk, keys.TDES)
	if err != nil {
		return keys.Key{}, err
	}
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imk, pan, psn)
	if err != nil {
		return keys.Key{}, libErr(err)
	}
	return mk, nil
}

// apiArg reads an account parameters index, 0 to 65535.
func apiArg(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return 0, usageErr("--api: want a number from 0 to 65535")
	}
	return uint16(n), nil
}

// cloudErr turns an error of emv/cloud into the command's error.
func cloudErr(err error) error {
	if errors.Is(err, cryptogram.ErrMismatch) {
		return errMismatch()
	}
	return usageErr("%v", err)
}

func newCryptoLUKCmd() *cobra.Command {
	var (
		kf           tokenMKFlags
		pan, psn, ki string
		apiText      string
	)
	c := &cobra.Command{
		Use:   "luk (--mk HEX | --imk HEX --pan DIGITS [--psn NN]) --key-index YHHHHCC [--api N]",
		Short: "Derive a limited-use key (visa-cloud model) from a token's ICC master key",
		Long: `Derive the limited-use key (LUK) of a key index and an account parameters index:
  Y1 = API (2 bytes) || 00 x6       K2  = TDES(MK)[Y1] || TDES(MK)[Y1 xor FF..FF], odd parity
  Y2 = key index (4 bytes BCD 0YHHHHCC) || 00 x4
                                    LUK = TDES(K2)[Y2] || TDES(K2)[Y2 xor FF..FF], odd parity
The key index YHHHHCC is the year's last digit, the hours since 1 January 00:00 UTC and a
counter (see "tapsim crypto key-index"). Prints the LUK and its check value.` + cloudModelNote,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ki == "" {
				return usageErr("--key-index is required (YHHHHCC)")
			}
			k, err := cloud.ParseKeyIndex(ki)
			if err != nil {
				return usageErr("--key-index: %v", err)
			}
			api, err := apiArg(apiText)
			if err != nil {
				return err
			}
			mk, err := kf.key("mk", pan, psn)
			if err != nil {
				return err
			}
			luk, err := cloud.DeriveLUK(mk, api, k)
			if err != nil {
				return cloudErr(err)
			}
			return printKey(cmd.OutOrStdout(), "LUK", luk)
		},
	}
	kf.register(c, "mk", "the token's ICC master key")
	c.Flags().StringVar(&pan, "pan", "", "token PAN (digits), with --imk")
	c.Flags().StringVar(&psn, "psn", "00", "PAN sequence number (two digits), with --imk")
	c.Flags().StringVar(&ki, "key-index", "", "key index YHHHHCC")
	c.Flags().StringVar(&apiText, "api", "0", "account parameters index, 0 to 65535")
	return c
}

func newCryptoKeyIndexCmd() *cobra.Command {
	var at, decode, now string
	var counter int
	c := &cobra.Command{
		Use:   "key-index (--at RFC3339 [--counter N] | --decode YHHHHCC [--now RFC3339])",
		Short: "Make or read a limited-use key index YHHHHCC (visa-cloud model)",
		Long: `--at: the key index of a key generated at that time as the --counter-th key of its hour.
--decode: the hour a key index names, seen from --now (default: the current time); the year
is the latest one not after --now whose last digit is Y.` + cloudModelNote,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			switch {
			case (at == "") == (decode == ""):
				return usageErr("give --at or --decode")
			case at != "":
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageErr("--at: want a time like 2025-02-21T10:30:00Z")
				}
				k, err := cloud.NewKeyIndex(t, counter)
				if err != nil {
					return usageErr("%v", err)
				}
				_, err = fmt.Fprintf(out, "key index: %v\nBCD: %s\n", k, upperHex(k.BCD()))
				return err
			}
			k, err := cloud.ParseKeyIndex(decode)
			if err != nil {
				return usageErr("--decode: %v", err)
			}
			ref := time.Now()
			if now != "" {
				if ref, err = time.Parse(time.RFC3339, now); err != nil {
					return usageErr("--now: want a time like 2025-02-21T10:30:00Z")
				}
			}
			issued, err := k.IssuedAt(ref)
			if err != nil {
				return usageErr("%v", err)
			}
			_, err = fmt.Fprintf(out, "generated: %s\ncounter: %d\nBCD: %s\n", issued.Format(time.RFC3339), k.Counter, upperHex(k.BCD()))
			return err
		},
	}
	c.Flags().StringVar(&at, "at", "", "generation time (RFC 3339)")
	c.Flags().IntVar(&counter, "counter", 0, "keys generated before this one in the same hour, 0 to 99")
	c.Flags().StringVar(&decode, "decode", "", "key index YHHHHCC to read")
	c.Flags().StringVar(&now, "now", "", "reference time for --decode (RFC 3339)")
	return c
}

// mcFlags are the inputs of the mc-cloud single-use keys.
type mcFlags struct {
	md, umd             tokenMKFlags
	pan, psn            string
	pin, salt, tokenRef string
}

func (f *mcFlags) register(c *cobra.Command) {
	f.md.register(c, "mk-md", "MK_MD, the token's MD master key")
	f.umd.register(c, "mk-umd", "MK_UMD, the token's UMD master key")
	c.Flags().StringVar(&f.pan, "pan", "", "token PAN (digits), with --imk-md/--imk-umd")
	c.Flags().StringVar(&f.psn, "psn", "00", "PAN sequence number (two digits), with --imk-md/--imk-umd")
}

func (f *mcFlags) registerPIN(c *cobra.Command) {
	c.Flags().StringVar(&f.pin, "pin", "", "mobile PIN (digits)")
	c.Flags().StringVar(&f.salt, "salt", "", "the token's PIN salt (hex, 8 to 64 bytes)")
	c.Flags().StringVar(&f.tokenRef, "token-ref", "", "token reference (TUR)")
}

func (f *mcFlags) keys() (keys.Key, keys.Key, error) {
	md, err := f.md.key("mk-md", f.pan, f.psn)
	if err != nil {
		return keys.Key{}, keys.Key{}, err
	}
	umd, err := f.umd.key("mk-umd", f.pan, f.psn)
	if err != nil {
		return keys.Key{}, keys.Key{}, err
	}
	return md, umd, nil
}

func (f *mcFlags) pinInputs() ([]byte, error) {
	if f.pin == "" {
		return nil, usageErr("--pin is required")
	}
	if f.tokenRef == "" {
		return nil, usageErr("--token-ref is required")
	}
	return hexArg("salt", f.salt)
}

func atcArg(s string) (uint16, error) {
	b, err := hexArg("atc", s)
	if err != nil {
		return 0, err
	}
	if len(b) != 2 {
		return 0, usageErr("--atc: want 2 bytes of hex")
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

func newCryptoSUKCmd() *cobra.Command {
	var (
		f       mcFlags
		atcText string
	)
	c := &cobra.Command{
		Use:   "suk (--mk-md HEX --mk-umd HEX | --imk-md HEX --imk-umd HEX --pan DIGITS [--psn NN]) --atc HEX --pin DIGITS --salt HEX --token-ref TUR",
		Short: "Derive the mc-cloud keys a phone gets for one ATC: SK_MD and the PIN-masked SUK",
		Long: `Derive what the platform ships to a phone for one transaction (mc-cloud model):
  SK_MD  = EMV common session key (Book 2 A1.3) of MK_MD and the ATC
  SK_UMD = EMV common session key of MK_UMD and the ATC (not printed)
  SUK    = SK_UMD xor PBKDF2-HMAC-SHA-256(PIN, "tapsim mc-cloud SUK v1" || len(salt) || salt ||
           token reference, 10000 iterations, 16 bytes)
The mobile PIN is 4 to 12 digits. Prints SK_MD and the SUK with their check values.` + cloudModelNote,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			atc, err := atcArg(atcText)
			if err != nil {
				return err
			}
			salt, err := f.pinInputs()
			if err != nil {
				return err
			}
			mkMD, mkUMD, err := f.keys()
			if err != nil {
				return err
			}
			skMD, skUMD, err := cloud.SessionKeys(mkMD, mkUMD, atc)
			if err != nil {
				return cloudErr(err)
			}
			suk, err := cloud.MakeSUK(skUMD, f.pin, salt, f.tokenRef)
			if err != nil {
				return cloudErr(err)
			}
			if err := printKey(cmd.OutOrStdout(), "SK_MD", skMD); err != nil {
				return err
			}
			return printKey(cmd.OutOrStdout(), "SUK", suk)
		},
	}
	f.register(c)
	f.registerPIN(c)
	c.Flags().StringVar(&atcText, "atc", "", "Application Transaction Counter (2 bytes hex)")
	return c
}

func newCryptoCloudACCmd() *cobra.Command {
	var (
		cvnName, verifyHex string
		tagLists           []string
		lukHex, apiText    string
		lukMK              tokenMKFlags
		f                  mcFlags
		skMDHex, sukHex    string
	)
	c := &cobra.Command{
		Use:   "cloud-ac --cvn visa-cloud|mc-cloud --tags 9F02=HEX,... (keys, see below) [--verify HEX]",
		Short: "Compute (or verify) a cloud-payment cryptogram (visa-cloud or mc-cloud model)",
		Long: `Compute the application cryptogram (9F26) of an HCE phone over the data elements in --tags:
the minimum set 9F02, 9F03, 9F1A, 95, 5F2A, 9A, 9C, 9F37, 82, 9F36, and 9F10 in the cloud layout
(16 bytes): 0A CVN DKI CVR(4) FIELD(4) 00 x5.
Both use ISO 9797-1 MAC algorithm 3, padding method 2.

--cvn visa-cloud (CVN C1; FIELD = key index, BCD 0YHHHHCC): MAC under the LUK over the
minimum set || the whole 9F10.
  --luk HEX                              the limited-use key, as the phone holds it
  --mk HEX | --imk HEX --pan --psn, --api N
                                         the issuer's side: the LUK of the key index in 9F10

--cvn mc-cloud (CVN C2; FIELD = MD cryptogram): both cryptograms over the minimum set || the
first 7 bytes of 9F10. MD = 4 bytes under SK_MD, written into 9F10; 9F26 = 8 bytes under SK_UMD.
  --mk-md HEX --mk-umd HEX | --imk-md HEX --imk-umd HEX --pan --psn
                                         the issuer's side: session keys of the ATC in 9F36
  --sk-md HEX --suk HEX --pin DIGITS --salt HEX --token-ref TUR
                                         the phone's side: SK_UMD = SUK xor KDF(PIN); a wrong PIN
                                         is no error here, it gives a cryptogram the issuer rejects
Prints 9F26 (and for mc-cloud the 9F10 with the MD cryptogram). With --verify HEX (9F26), prints
"match" (visa-cloud) or the verdict of both cryptograms (mc-cloud, issuer's side) and exits 0,
or exits 1 on a mismatch; for mc-cloud the MD cryptogram is read from 9F10 in --tags, and
"cardholder verified" comes only from a valid UMD cryptogram.` + cloudModelNote,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tags, err := parseTags(tagLists)
			if err != nil {
				return err
			}
			var want []byte
			if verifyHex != "" {
				if want, err = hexArg("verify", verifyHex); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			switch strings.ToLower(strings.TrimSpace(cvnName)) {
			case "visa-cloud":
				return runVisaCloud(out, tags, want, lukHex, &lukMK, apiText, f.pan, f.psn)
			case "mc-cloud":
				if skMDHex != "" || sukHex != "" {
					return runMCPhone(out, tags, want, skMDHex, sukHex, &f)
				}
				return runMCIssuer(out, tags, want, &f)
			case "":
				return usageErr("--cvn is required (visa-cloud|mc-cloud)")
			}
			return usageErr("--cvn: %q is not a cloud cryptogram version (visa-cloud|mc-cloud)", shorten(cvnName))
		},
	}
	c.Flags().StringVar(&cvnName, "cvn", "", "visa-cloud or mc-cloud")
	c.Flags().StringArrayVar(&tagLists, "tags", nil, "data elements TAG=HEX, comma-separated (repeatable)")
	c.Flags().StringVar(&verifyHex, "verify", "", "9F26 to check instead of printing one")
	c.Flags().StringVar(&lukHex, "luk", "", "visa-cloud: the limited-use key (hex)")
	lukMK.register(c, "mk", "visa-cloud: the token's ICC master key")
	c.Flags().StringVar(&apiText, "api", "0", "visa-cloud: account parameters index, with --mk/--imk")
	f.register(c)
	f.registerPIN(c)
	c.Flags().StringVar(&skMDHex, "sk-md", "", "mc-cloud, phone: SK_MD of the ATC (hex)")
	c.Flags().StringVar(&sukHex, "suk", "", "mc-cloud, phone: the SUK of the ATC (hex)")
	return c
}

func runVisaCloud(out io.Writer, tags cryptogram.Values, want []byte, lukHex string, mkf *tokenMKFlags, apiText, pan, psn string) error {
	var (
		luk keys.Key
		err error
	)
	if lukHex != "" {
		if mkf.mk != "" || mkf.imk != "" {
			return usageErr("give --luk or --mk/--imk, not both")
		}
		if luk, err = keyArg("luk", lukHex, keys.TDES); err != nil {
			return err
		}
	} else {
		api, err := apiArg(apiText)
		if err != nil {
			return err
		}
		mk, err := mkf.key("mk", pan, psn)
		if err != nil {
			return err
		}
		_, iad, err := cloud.Data(tags)
		if err != nil {
			return cloudErr(err)
		}
		if iad.CVN != cloud.CVNVisaCloud {
			return usageErr("%v: 9F10 is not visa-cloud", cloud.ErrIAD)
		}
		if want != nil {
			if err := cloud.VerifyLUKAC(mk, api, iad.KeyIndex, tags, want); err != nil {
				return cloudErr(err)
			}
			_, err = fmt.Fprintln(out, "match")
			return err
		}
		if luk, err = cloud.DeriveLUK(mk, api, iad.KeyIndex); err != nil {
			return cloudErr(err)
		}
	}
	ac, err := cloud.GenerateLUKAC(luk, tags)
	if err != nil {
		return cloudErr(err)
	}
	if want != nil {
		if !mac.Equal(want, ac) {
			return errMismatch()
		}
		_, err = fmt.Fprintln(out, "match")
		return err
	}
	_, err = fmt.Fprintf(out, "9F26: %s\n", upperHex(ac))
	return err
}

func runMCIssuer(out io.Writer, tags cryptogram.Values, want []byte, f *mcFlags) error {
	if f.pin != "" || f.salt != "" || f.tokenRef != "" {
		return usageErr("--pin, --salt and --token-ref go with --sk-md/--suk (the phone's side)")
	}
	mkMD, mkUMD, err := f.keys()
	if err != nil {
		return err
	}
	if want == nil {
		var atc []byte
		if atc = tags[cryptogram.TagATC]; len(atc) != 2 {
			return usageErr("--tags: 9F36 (2 bytes) is required")
		}
		skMD, skUMD, err := cloud.SessionKeys(mkMD, mkUMD, uint16(atc[0])<<8|uint16(atc[1]))
		if err != nil {
			return cloudErr(err)
		}
		return printMC(out, skMD, skUMD, tags)
	}
	v, err := cloud.VerifyMC(mkMD, mkUMD, tags, want)
	if err != nil && !errors.Is(err, cryptogram.ErrMismatch) {
		return cloudErr(err)
	}
	yes := map[bool]string{true: "valid", false: "invalid"}
	umd := yes[v.UMD]
	if !v.MD {
		umd = "not checked"
	}
	verified := map[bool]string{true: "yes", false: "no"}[v.CardholderVerified()]
	if _, werr := fmt.Fprintf(out, "MD: %s\nUMD: %s\ncardholder verified: %s\n", yes[v.MD], umd, verified); werr != nil {
		return werr
	}
	if err != nil {
		return errMismatch()
	}
	return nil
}

func runMCPhone(out io.Writer, tags cryptogram.Values, want []byte, skMDHex, sukHex string, f *mcFlags) error {
	if want != nil {
		return usageErr("--verify is the issuer's side: give --mk-md/--mk-umd, not --sk-md/--suk")
	}
	if f.md.mk != "" || f.md.imk != "" || f.umd.mk != "" || f.umd.imk != "" {
		return usageErr("--sk-md/--suk (the phone's side) and --mk-md/--mk-umd (the issuer's) are two forms: use one")
	}
	skMD, err := keyArg("sk-md", skMDHex, keys.TDES)
	if err != nil {
		return err
	}
	suk, err := keyArg("suk", sukHex, keys.TDES)
	if err != nil {
		return err
	}
	salt, err := f.pinInputs()
	if err != nil {
		return err
	}
	skUMD, err := cloud.UnlockSUK(suk, f.pin, salt, f.tokenRef)
	if err != nil {
		return cloudErr(err)
	}
	return printMC(out, skMD, skUMD, tags)
}

func printMC(out io.Writer, skMD, skUMD keys.Key, tags cryptogram.Values) error {
	ac, iad, err := cloud.GenerateMC(skMD, skUMD, tags)
	if err != nil {
		return cloudErr(err)
	}
	_, err = fmt.Fprintf(out, "9F10: %s\n9F26: %s\n", upperHex(iad), upperHex(ac))
	return err
}
