package main

import (
	"encoding/hex"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/emv/keys"
)

func init() { subcommands = append(subcommands, newCryptoCmd) }

// cryptoSubcommands lists the constructors of "tapsim crypto" subcommands;
// each crypto_*.go file appends its own in an init function.
var cryptoSubcommands []func() *cobra.Command

func newCryptoCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "crypto",
		Short: "Card-payment cryptography calculator: key derivation, session keys, ARQC/ARPC, PIN blocks, DUKPT, KCV",
		Long: `The issuer engineer's calculator. Every value is hex unless the flag says otherwise;
keys are never echoed back, only their check values (KCV).
Exit codes: 0 done (or --verify matched), 1 --verify mismatch, 2 bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, add := range cryptoSubcommands {
		c.AddCommand(add())
	}
	return c
}

// hexArg decodes a hex flag value (spaces allowed); name is the flag's name
// for the error. The value is not repeated in the error, as it may be a key.
func hexArg(name, s string) ([]byte, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if s == "" {
		return nil, usageErr("--%s is required", name)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, usageErr("--%s is not valid hex", name)
	}
	return b, nil
}

// keyArg decodes a hex key flag for alg, checking its length.
func keyArg(name, s string, alg keys.Alg) (keys.Key, error) {
	b, err := hexArg(name, s)
	if err != nil {
		return keys.Key{}, err
	}
	k, err := keys.New(alg, b)
	if err != nil {
		return keys.Key{}, usageErr("--%s: %v", name, err)
	}
	return k, nil
}

// upperHex formats bytes as upper-case hex, the form calculators print.
func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
