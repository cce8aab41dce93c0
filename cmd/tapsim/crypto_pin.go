package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
)

func init() {
	cryptoSubcommands = append(cryptoSubcommands, newCryptoPINBlockCmd, newCryptoDUKPTCmd)
}

// pinLines prints "label: value" lines in order.
func pinLines(w io.Writer, kv ...string) error {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s: %s\n", kv[i], kv[i+1])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pinKeyLines are the lines of a derived key: the key and its check value.
func pinKeyLines(label string, k keys.Key) []string {
	return []string{label, upperHex(k.Bytes()), label + " KCV", k.KCVHex()}
}

// pinLibErr turns an error of the pin or dukpt library into a bad-input
// error (exit 2); the library's messages never carry PINs, PANs or keys.
func pinLibErr(flag string, err error) error {
	if errors.Is(err, pin.ErrRandom) {
		return usageErr("--rand is too short for the fill this PIN needs")
	}
	if flag != "" {
		return usageErr("--%s: %v", flag, err)
	}
	return usageErr("%v", err)
}

func newCryptoPINBlockCmd() *cobra.Command {
	var pinDigits, pan, format, keyHex, randHex, decode string
	c := &cobra.Command{
		Use:   "pinblock --pin DIGITS --pan DIGITS [--format 0|1|2|3|4] [--key HEX] [--rand HEX] | --decode BLOCK",
		Short: "Build or read an ISO 9564-1 PIN block (formats 0-4)",
		Long: `Build an ISO 9564-1 PIN block and print it clear (formats 0-3) and, with --key,
enciphered: TDES (16 or 24 bytes) for formats 0-3, AES for format 4. Format 4 exists only
enciphered: without --key its plain-text PIN field and PAN field are printed.

Formats 1, 3 and 4 take random fill from the system's random source, or from --rand for a
reproducible result: its hex digits are used in order as fill (format 1), only its digits
A-F are used (format 3), or its first 8 bytes are the random half of the PIN field (format 4).

--decode BLOCK recovers the PIN from a clear block (with --pan for formats 0 and 3), or from
an enciphered one with --key (always for format 4). The format is read from the block's
control field unless --format is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := pin.ParseFormat(format)
			if err != nil {
				return usageErr("--format: %v", err)
			}
			if decode != "" {
				if pinDigits != "" || randHex != "" {
					return usageErr("--decode takes --pan, --key and --format only")
				}
				return runPINDecode(cmd.OutOrStdout(), decode, pan, keyHex, f, cmd.Flags().Changed("format"))
			}
			if pinDigits == "" {
				return usageErr("--pin is required (or --decode BLOCK)")
			}
			if f.UsesPAN() && pan == "" {
				return usageErr("--pan is required for %v", f)
			}
			var rnd io.Reader = rand.Reader
			if randHex != "" {
				b, err := hexArg("rand", randHex)
				if err != nil {
					return err
				}
				rnd = bytes.NewReader(b)
			}
			if f == pin.Format4 {
				return runPINFormat4(cmd.OutOrStdout(), pinDigits, pan, keyHex, rnd)
			}
			clear, err := pin.Encode(f, pinDigits, pan, rnd)
			if err != nil {
				return pinLibErr("", err)
			}
			lines := []string{"format", f.String(), "PIN block", upperHex(clear)}
			if keyHex != "" {
				k, err := keyArg("key", keyHex, keys.TDES)
				if err != nil {
					return err
				}
				enc, err := pin.Encrypt(k, clear)
				if err != nil {
					return pinLibErr("key", err)
				}
				lines = append(lines, "encrypted PIN block", upperHex(enc), "key KCV", k.KCVHex())
			}
			return pinLines(cmd.OutOrStdout(), lines...)
		},
	}
	c.Flags().StringVar(&pinDigits, "pin", "", "PIN, 4 to 12 digits")
	c.Flags().StringVar(&pan, "pan", "", "PAN, 8 to 19 digits (formats 0, 3 and 4)")
	c.Flags().StringVar(&format, "format", "0", "ISO 9564-1 format: 0, 1, 2, 3 or 4")
	c.Flags().StringVar(&keyHex, "key", "", "PIN encryption key (hex): TDES for formats 0-3, AES for format 4")
	c.Flags().StringVar(&randHex, "rand", "", "fixed fill instead of random (hex), for reproducible blocks")
	c.Flags().StringVar(&decode, "decode", "", "PIN block to read (hex), clear or, with --key, enciphered")
	return c
}

// runPINFormat4 prints the plain-text fields of a format 4 block and, with
// an AES key, the enciphered block. The random half is drawn once so that
// the fields printed are the ones enciphered.
func runPINFormat4(w io.Writer, pinDigits, pan, keyHex string, rnd io.Reader) error {
	random := make([]byte, 8)
	if _, err := io.ReadFull(rnd, random); err != nil {
		return pinLibErr("", fmt.Errorf("%w: %w", pin.ErrRandom, err))
	}
	field, err := pin.PINField(pin.Format4, pinDigits, bytes.NewReader(random))
	if err != nil {
		return pinLibErr("", err)
	}
	panField, err := pin.PANField(pin.Format4, pan)
	if err != nil {
		return pinLibErr("", err)
	}
	lines := []string{"format", pin.Format4.String(), "PIN field", upperHex(field), "PAN field", upperHex(panField)}
	if keyHex != "" {
		k, err := keyArg("key", keyHex, keys.AES)
		if err != nil {
			return err
		}
		enc, err := pin.EncipherFormat4(k, pinDigits, pan, bytes.NewReader(random))
		if err != nil {
			return pinLibErr("key", err)
		}
		lines = append(lines, "encrypted PIN block", upperHex(enc), "key KCV", k.KCVHex())
	}
	return pinLines(w, lines...)
}

// runPINDecode recovers a PIN from a clear or enciphered block.
func runPINDecode(w io.Writer, blockHex, pan, keyHex string, f pin.Format, formatGiven bool) error {
	block, err := hexArg("decode", blockHex)
	if err != nil {
		return err
	}
	switch {
	case len(block) == 16:
		if formatGiven && f != pin.Format4 {
			return usageErr("--decode: a 16-byte block is format 4, not %v", f)
		}
		if keyHex == "" {
			return usageErr("--key (AES) is required to read a format 4 block")
		}
		if pan == "" {
			return usageErr("--pan is required for %v", pin.Format4)
		}
		k, err := keyArg("key", keyHex, keys.AES)
		if err != nil {
			return err
		}
		p, err := pin.DecipherFormat4(k, block, pan)
		if err != nil {
			return pinLibErr("decode", err)
		}
		return pinLines(w, "format", pin.Format4.String(), "PIN", p)
	case len(block) != 8:
		return usageErr("--decode: a PIN block is 8 bytes (16 for format 4), got %d", len(block))
	}
	var lines []string
	if keyHex != "" {
		k, err := keyArg("key", keyHex, keys.TDES)
		if err != nil {
			return err
		}
		if block, err = pin.Decrypt(k, block); err != nil {
			return pinLibErr("key", err)
		}
		lines = append(lines, "PIN block", upperHex(block))
	}
	if !formatGiven {
		if f, err = pin.DetectFormat(block); err != nil {
			return pinLibErr("decode", err)
		}
	}
	if f == pin.Format4 {
		return usageErr("--decode: format 4 blocks are 16 bytes")
	}
	if f.UsesPAN() && pan == "" {
		return usageErr("--pan is required for %v", f)
	}
	p, err := pin.Decode(f, block, pan)
	if err != nil {
		return pinLibErr("decode", err)
	}
	lines = append([]string{"format", f.String()}, append(lines, "PIN", p)...)
	return pinLines(w, lines...)
}

// aesUsages maps the --key names of AES DUKPT to X9.24-3 key usages.
var aesUsages = map[string]dukpt.KeyUsage{
	"pin":          dukpt.UsagePINEncryption,
	"mac":          dukpt.UsageMACGeneration,
	"mac-verify":   dukpt.UsageMACVerification,
	"mac-both":     dukpt.UsageMACBoth,
	"data":         dukpt.UsageDataEncrypt,
	"data-decrypt": dukpt.UsageDataDecrypt,
	"data-both":    dukpt.UsageDataBoth,
	"kek":          dukpt.UsageKeyEncryption,
}

func newCryptoDUKPTCmd() *cobra.Command {
	var bdkHex, ksnHex, which, keyType string
	var aes bool
	c := &cobra.Command{
		Use:   "dukpt --bdk HEX --ksn HEX [--aes] [--key pin|mac|data] [--key-type aes128|...]",
		Short: "Derive DUKPT keys: TDES (ANSI X9.24-1) or AES (ANSI X9.24-3)",
		Long: `Derive, as a receiving host does, the initial key of the device named by the KSN and
the working key of the KSN's transaction, each with its check value. The BDK is never printed.

TDES DUKPT (default): 16-byte BDK, 10-byte KSN; --key pin, mac (request), mac-response,
data (request) or data-response.
AES DUKPT (--aes): AES-128/192/256 BDK, 12-byte KSN (initial key ID and counter); --key pin,
mac (generation), mac-verify, mac-both, data (encrypt), data-decrypt, data-both or kek;
--key-type 2tdea, 3tdea, aes128, aes192 or aes256 (default: the BDK's type).
With a zero counter only the initial key is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ksn, err := hexArg("ksn", ksnHex)
			if err != nil {
				return err
			}
			if !aes {
				if keyType != "" {
					return usageErr("--key-type goes with --aes")
				}
				if len(ksn) == dukpt.AESKSNLen {
					return usageErr("--ksn has %d bytes, an AES DUKPT KSN: add --aes", len(ksn))
				}
				return runDUKPTTDES(cmd.OutOrStdout(), bdkHex, ksn, which)
			}
			return runDUKPTAES(cmd.OutOrStdout(), bdkHex, ksn, which, keyType)
		},
	}
	c.Flags().StringVar(&bdkHex, "bdk", "", "base derivation key (hex)")
	c.Flags().StringVar(&ksnHex, "ksn", "", "key serial number (hex): 10 bytes, 12 with --aes")
	c.Flags().BoolVar(&aes, "aes", false, "AES DUKPT (ANSI X9.24-3) instead of TDES DUKPT")
	c.Flags().StringVar(&which, "key", "pin", "working key to derive")
	c.Flags().StringVar(&keyType, "key-type", "", "AES DUKPT working key type (default: the BDK's)")
	return c
}

func runDUKPTTDES(w io.Writer, bdkHex string, ksnBytes []byte, which string) error {
	v, err := dukpt.ParseVariant(which)
	if err != nil {
		return usageErr("--key: %v", err)
	}
	bdk, err := keyArg("bdk", bdkHex, keys.TDES)
	if err != nil {
		return err
	}
	ksn, err := dukpt.ParseKSN(ksnBytes)
	if err != nil {
		return pinLibErr("ksn", err)
	}
	ipek, err := dukpt.DeriveIPEK(bdk, ksn[:])
	if err != nil {
		return pinLibErr("bdk", err)
	}
	lines := []string{"KSN", ksn.String(), "counter", fmt.Sprint(ksn.Counter())}
	lines = append(lines, pinKeyLines("IPEK", ipek)...)
	if ksn.Counter() != 0 {
		txn, err := dukpt.DeriveKey(ipek, ksn[:])
		if err != nil {
			return pinLibErr("ksn", err)
		}
		wk, err := dukpt.WorkingKey(txn, v)
		if err != nil {
			return pinLibErr("key", err)
		}
		lines = append(lines, pinKeyLines("transaction key", txn)...)
		lines = append(lines, pinKeyLines(v.String()+" key", wk)...)
	}
	return pinLines(w, lines...)
}

func runDUKPTAES(w io.Writer, bdkHex string, ksnBytes []byte, which, keyType string) error {
	usage, ok := aesUsages[strings.ToLower(strings.TrimSpace(which))]
	if !ok {
		return usageErr("--key: %q is not one of pin, mac, mac-verify, mac-both, data, data-decrypt, data-both, kek", shortText(which))
	}
	bdk, err := keyArg("bdk", bdkHex, keys.AES)
	if err != nil {
		return err
	}
	ksn, err := dukpt.ParseAESKSN(ksnBytes)
	if err != nil {
		return pinLibErr("ksn", err)
	}
	bdkType := map[int]dukpt.KeyType{16: dukpt.KeyTypeAES128, 24: dukpt.KeyTypeAES192, 32: dukpt.KeyTypeAES256}[bdk.Len()]
	wt := bdkType
	if keyType != "" {
		if wt, err = dukpt.ParseKeyType(keyType); err != nil {
			return usageErr("--key-type: %v", err)
		}
	}
	ik, err := dukpt.DeriveInitialKey(bdk, bdkType, ksn.InitialKeyID())
	if err != nil {
		return pinLibErr("bdk", err)
	}
	lines := []string{"KSN", ksn.String(), "initial key ID", upperHex(ksn.InitialKeyID()), "counter", fmt.Sprint(ksn.Counter())}
	lines = append(lines, pinKeyLines("initial key", ik)...)
	if ksn.Counter() != 0 {
		txn, err := dukpt.DeriveTransactionKey(ik, ksn[:])
		if err != nil {
			return pinLibErr("ksn", err)
		}
		wk, err := dukpt.DeriveWorkingKey(txn, ksn[:], usage, wt)
		if err != nil {
			return pinLibErr("key-type", err)
		}
		lines = append(lines, pinKeyLines("transaction key", txn)...)
		lines = append(lines, pinKeyLines(fmt.Sprintf("%v key (%v)", usage, wt), wk)...)
	}
	return pinLines(w, lines...)
}

// shortText keeps a user's text short in an error line.
func shortText(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}
