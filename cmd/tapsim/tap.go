package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/trace"
)

func init() { subcommands = append(subcommands, newTapCmd, newCardsCmd) }

func newTapCmd() *cobra.Command {
	var (
		card, typ, configPath, unlock, unHex, date string
		amountText                                 string
		amount, other                              int64
		biometric, showTrace, secondTap            bool
	)
	c := &cobra.Command{
		Use:   "tap --card PROFILE [--amount N] [--unlock CODE] [--trace]",
		Short: "Tap a virtual card or phone on the contactless kernel (no host) and print the outcome",
		Long: `Runs one contactless transaction through the Entry Point and kernels with a virtual
card or phone (a built-in profile name, see "tapsim cards", or a profile file), and prints the
outcome, the CVM, the TVR and the data record (PAN masked). --trace prints every APDU with its
decoded response. When the outcome asks for the card again (See Phone) and --unlock or
--biometric is given, the phone is unlocked and tapped a second time. --amount is minor
units of the terminal currency (TWD: 150000 is NT$1,500.00), or major units with the
currency's decimal point (1500.00); --other is minor units.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if card == "" {
				return usageErr("--card is required (see tapsim cards)")
			}
			t, err := kernel.ParseTxnType(typ)
			if err != nil {
				return usageErr("--type: %v", err)
			}
			cfg, err := baseTerminalConfig(configPath)
			if err != nil {
				return usageErr("%v", err)
			}
			if amountText != "0" { // a zero amount is a case kernels handle
				if amount, err = parseAmount(amountText, cfg.CurrencyExponent); err != nil {
					return usageErr("--amount %s: %v", amountText, err)
				}
			}
			when := time.Now()
			if date != "" {
				if when, err = time.Parse(time.RFC3339, date); err != nil {
					return usageErr("--date: want RFC 3339, like 2026-01-15T10:30:00Z")
				}
			}
			cfg.Clock = kernel.FixedClock(when)
			if unHex != "" {
				b, err := hex.DecodeString(unHex)
				if err != nil || len(b) != 4 {
					return usageErr("--un takes 4 bytes of hex")
				}
				cfg.UnpredictableNumber = kernel.FixedUN([4]byte(b))
			}
			out := cmd.OutOrStdout()
			// The trace is held until the tap ends: tag names depend on the
			// kernel that read the card, known only once it is selected.
			var held []kernel.Exchange
			if showTrace {
				cfg.Trace = func(ex kernel.Exchange) { held = append(held, ex) }
			}
			flush := func(id byte) {
				if showTrace {
					printTrace(out, id, held)
					held = held[:0]
				}
			}
			prof, err := lab.Profile(card)
			if err != nil {
				return usageErr("%v", err)
			}
			// Only a card certified by the test CA may be read with its keys.
			cfg.AcceptTestCA = cfg.AcceptTestCA && prof.UsesTestCA()
			vc, err := cards.FromProfile(prof, cards.Options{Clock: func() time.Time { return when }})
			if err != nil {
				return usageErr("%v", err)
			}
			ep, err := entry.New(cfg)
			if err != nil {
				return usageErr("%v", err)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			r := inproc.New(vc)
			o, err := ep.Start(ctx, r, kernel.Transaction{Amount: amount, Other: other, Type: t, Date: when})
			if err != nil {
				flush(0)
				return err
			}
			flush(o.KernelID)
			printOutcome(out, 1, o)
			if o.Start == kernel.StartB && (unlock != "" || biometric || secondTap) {
				if ph, ok := cards.Phone(vc); ok {
					if unlock != "" {
						if err := ph.Unlock(unlock); err != nil {
							fmt.Fprintf(out, "phone: %v\n", err)
						}
					} else if biometric {
						_ = ph.UnlockBiometric(true)
					}
				}
				r.Present(vc)
				if o, err = ep.Restart(ctx, r); err != nil {
					flush(0)
					return err
				}
				flush(o.KernelID)
				printOutcome(out, 2, o)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&card, "card", "", "built-in profile name or profile file")
	f.StringVar(&amountText, "amount", "10000", "amount authorised: minor units (10000), or major units with the currency's decimals (100.00)")
	f.Int64Var(&other, "other", 0, "amount other (cashback), minor units")
	f.StringVar(&typ, "type", "purchase", "purchase, cash, cashback or refund")
	f.StringVar(&configPath, "config", "", "terminal configuration file (default: built-in Taiwanese terminal + test CA keys)")
	f.StringVar(&unlock, "unlock", "", "phone passcode for a See Phone second tap")
	f.BoolVar(&biometric, "biometric", false, "unlock the phone by biometric for a See Phone second tap")
	f.BoolVar(&secondTap, "second-tap", false, "present the card again when the outcome asks for it")
	f.StringVar(&unHex, "un", "", "fixed unpredictable number (4 bytes hex); default random")
	f.StringVar(&date, "date", "", "transaction date and time (RFC 3339); default now")
	f.BoolVar(&showTrace, "trace", false, "print every APDU exchange")
	return c
}

// printOutcome prints an outcome for a person: one summary line, then the
// messages shown and the data record with sensitive tags masked.
func printOutcome(w io.Writer, tap int, o kernel.Outcome) {
	var b strings.Builder
	fmt.Fprintf(&b, "tap %d: %s\n", tap, o.Type)
	fmt.Fprintf(&b, "  CVM: %s\n", o.CVM)
	if len(o.AID) > 0 {
		fmt.Fprintf(&b, "  AID: %s %s (kernel %d)\n", strings.ToUpper(hex.EncodeToString(o.AID)), o.Label, o.KernelID)
	}
	if pan := o.MaskedPAN(); pan != "" {
		fmt.Fprintf(&b, "  PAN: %s\n", pan)
	}
	fmt.Fprintf(&b, "  TVR: %s\n", o.TVR)
	if o.ODA.Status != kernel.ODANotPerformed {
		fmt.Fprintf(&b, "  ODA: %s\n", o.ODA)
	}
	var ui []string
	for _, u := range o.UIRequests {
		ui = append(ui, u.Message.String())
	}
	if len(ui) > 0 {
		fmt.Fprintf(&b, "  UI: %s\n", strings.Join(ui, " > "))
	}
	if o.Start != kernel.StartNA {
		fmt.Fprintf(&b, "  restart: Start %s\n", o.Start)
	}
	if o.Reason != "" {
		fmt.Fprintf(&b, "  reason: %s\n", o.Reason)
	}
	if len(o.DataRecord) > 0 {
		b.WriteString("  data record:\n")
		var sb strings.Builder
		_ = tlv.Printer{Kernel: kernelOf(o.KernelID), Explain: true}.FprintList(&sb, o.DataRecord)
		for _, line := range strings.Split(strings.TrimRight(sb.String(), "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// printTrace prints the exchanges of one tap under a line naming the kernel
// that read the card; tag names are those of that kernel.
func printTrace(w io.Writer, kernelID byte, exs []kernel.Exchange) {
	if len(exs) == 0 {
		return
	}
	k := kernelOf(kernelID)
	head := "trace: no kernel selected (tag names of EMV Book 3 and Entry Point)"
	if k != tlv.KernelAny {
		head = fmt.Sprintf("trace: kernel %s (kernel ID %d)", k, kernelID)
	} else if kernelID != 0 {
		head = fmt.Sprintf("trace: kernel ID %d (tag names of EMV Book 3 and Entry Point)", kernelID)
	}
	_, _ = io.WriteString(w, head+"\n")
	p := &trace.Printer{W: w, Kernel: k, Timing: true}
	for _, ex := range exs {
		p.Exchange(ex)
	}
}

func kernelOf(id byte) tlv.Kernel {
	switch id {
	case 2:
		return tlv.Kernel2
	case 3:
		return tlv.Kernel3
	}
	return tlv.KernelAny
}

func newCardsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cards",
		Short: "List the built-in virtual cards and phones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var b strings.Builder
			for _, name := range cards.BuiltinNames() {
				p, err := cards.Builtin(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "%-28s %s\n", name, p.Description)
			}
			_, err := io.WriteString(cmd.OutOrStdout(), b.String())
			return err
		},
	}
}
