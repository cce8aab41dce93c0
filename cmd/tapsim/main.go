// Command tapsim is the one binary of the tapsim payment-path emulator.
//
// Run "tapsim --help" for the subcommands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is stamped by the build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	tuneRuntime = true
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries a process exit code through cobra. Code 1 means "the
// check said no" (a cryptogram mismatch); code 2 means bad input.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr wraps a bad-input error with exit code 2.
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// run executes the command line and returns the process exit code. Errors
// are printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "tapsim: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tapsim",
		Short: "Emulator of the mobile card-payment path: terminal, EMV kernel, cards and phones, acquirer and issuer",
		Long: `tapsim emulates the whole contactless mobile-payment path: a POS terminal with its
EMV kernel, virtual cards and phones (SE, HCE, tokenised wallets), real phones on PC/SC
readers, an acquirer host and an issuer host talking ISO 8583.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: 2, err: flagError(c, err)}
	})
	root.AddCommand(newVersionCmd())
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	if rootRunE != nil {
		// With no arguments tapsim opens its default screen; --help still
		// prints the usage.
		root.Args = cobra.NoArgs
		root.RunE = rootRunE
	}
	return root
}

// subcommands lists the constructors of the subcommands defined in other
// files of this package; each file registers its own in an init function.
var subcommands []func() *cobra.Command

// rootRunE, when set by another file, runs when tapsim gets no subcommand.
var rootRunE func(cmd *cobra.Command, args []string) error

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the tapsim version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "tapsim %s\n", version)
			return err
		},
	}
}

// flagError rewrites the flag parser's "invalid argument" errors, which
// quote the Go parser ("strconv.ParseInt: parsing ..."), into a message
// that names the flag and the kind of value it wants.
func flagError(c *cobra.Command, err error) error {
	const prefix = "invalid argument "
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return err
	}
	// invalid argument "VALUE" for "-s, --name" flag: detail
	rest := strings.TrimPrefix(msg, prefix)
	value, rest, ok := strings.Cut(rest, " for ")
	if !ok {
		return err
	}
	names, _, ok := strings.Cut(rest, " flag:")
	if !ok {
		return err
	}
	names = strings.Trim(names, `"`)
	if i := strings.LastIndex(names, ", "); i >= 0 {
		names = names[i+2:]
	}
	name := strings.TrimLeft(names, "-")
	want := "a valid value"
	if f := c.Flags().Lookup(name); f != nil {
		switch f.Value.Type() {
		case "duration":
			want = "a duration like 500ms, 30s or 2m"
		case "int", "int64", "int32", "uint", "uint64", "uint32", "uint16", "uint8", "int16", "int8":
			want = "a whole number"
		case "float64", "float32":
			want = "a number"
		case "bool":
			want = "true or false"
		default:
			want = "a " + f.Value.Type()
		}
	}
	return fmt.Errorf("--%s %s: want %s", name, value, want)
}
