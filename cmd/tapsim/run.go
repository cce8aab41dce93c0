package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/scenario"
)

func init() { subcommands = append(subcommands, newRunCmd) }

// runClock gives the start of a run, the JUnit report's timestamp; tests
// replace it.
var runClock = time.Now

func newRunCmd() *cobra.Command {
	var junitPath, jsonPath, configPath string
	var quiet bool
	c := &cobra.Command{
		Use:   "run FILE|DIR... [--junit out.xml] [--json out.json]",
		Short: "Run kernel regression scenarios (YAML) and report pass/fail",
		Long: `Runs each scenario (a card profile, terminal overrides, a transaction, steps and the
expected outcome) through the contactless kernel with an in-process card, deterministically.
Directories are searched for *.yaml files. Prints one line per scenario, the differences of
each failure, and "N passed, M failed". Exits 1 when any scenario fails, 2 on bad input.
The terminal starts from --config (a kernel configuration file) or from the default Taiwanese
terminal with the test CA's public keys.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := baseTerminalConfig(configPath)
			if err != nil {
				return usageErr("%v", err)
			}
			files, err := scenario.Find(args...)
			if err != nil {
				return usageErr("%v", err)
			}
			if len(files) == 0 {
				return usageErr("no scenario files in %v", args)
			}
			start := runClock()
			r := scenario.Runner{Base: base}
			results := r.RunFiles(cmd.Context(), files)
			out := cmd.OutOrStdout()
			if err := scenario.WriteText(out, results, quiet); err != nil {
				return err
			}
			if junitPath != "" {
				if err := writeFile(junitPath, func(w io.Writer) error {
					return scenario.WriteJUnit(w, scenario.JUnit{Suite: "tapsim scenarios", Roots: args, Start: start}, results)
				}); err != nil {
					return err
				}
			}
			if jsonPath != "" {
				if err := writeFile(jsonPath, func(w io.Writer) error { return scenario.WriteJSON(w, results) }); err != nil {
					return err
				}
			}
			if s := scenario.Summarise(results); s.Failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d scenarios failed", s.Failed, s.Passed+s.Failed)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&junitPath, "junit", "", "write a JUnit XML report to this file")
	c.Flags().StringVar(&jsonPath, "json", "", "write a JSON report to this file")
	c.Flags().StringVar(&configPath, "config", "", "terminal configuration file (default: built-in Taiwanese terminal + test CA keys)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only failures and the summary line")
	return c
}

// baseTerminalConfig loads the terminal configuration, or builds the
// default one with the test CA's public keys.
func baseTerminalConfig(path string) (kernel.Config, error) {
	if path != "" {
		return kernel.LoadConfig(path)
	}
	cfg := kernel.DefaultConfig()
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	if err != nil {
		return cfg, err
	}
	cfg.CAPublicKeys = capk
	return cfg, nil
}

// writeFile creates path and writes it with fn.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := fn(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
