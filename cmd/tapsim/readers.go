package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/terminal/pcsc"
)

func init() { subcommands = append(subcommands, newReadersCmd) }

func newReadersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "readers",
		Short: "List the PC/SC readers and the card or phone in each (with its ATR)",
		Long: `Lists the readers the PC/SC service (pcscd) knows, one a line: the index and name that
"--reader" takes, whether a card or phone is in the field, and its Answer To Reset.
The environment variable PCSCLITE_CSOCK_NAME points at another pcscd than the system's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := pcsc.ListReaders()
			if err != nil {
				return fmt.Errorf("%w (is pcscd running?)", err)
			}
			var b strings.Builder
			if len(list) == 0 {
				b.WriteString("no PC/SC reader\n")
			}
			for _, r := range list {
				b.WriteString(r.String())
				b.WriteByte('\n')
			}
			_, err = io.WriteString(cmd.OutOrStdout(), b.String())
			return err
		},
	}
}
