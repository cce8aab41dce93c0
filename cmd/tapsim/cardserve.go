package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/lab"
)

func init() { subcommands = append(subcommands, newCardCmd) }

func newCardCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "card",
		Short: "Virtual cards and phones on their own: serve one to a PC/SC virtual reader",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(newCardServeCmd())
	return c
}

// cardServeFlags are the flags of "tapsim card serve".
type cardServeFlags struct {
	addr, profile, unlock string
	dataDir               string
	freshCard             bool
	stay, away, answer    time.Duration
	biometric, verbose    bool
}

func newCardServeCmd() *cobra.Command {
	var f cardServeFlags
	c := &cobra.Command{
		Use:   "serve --vpcd HOST:PORT --profile FILE|NAME [--remove-after D]",
		Short: "Put a virtual card or phone on a vpcd virtual reader, so that pcscd and any PC/SC terminal see it",
		Long: `Connects a virtual card or phone (a built-in profile name, see "tapsim cards", or a profile
file) to vpcd, the virtual reader driver of pcscd (package vsmartcard-vpcd; it listens on port
35963 for its first slot by default), and answers the reader's commands until stopped. The card
is then in the field of that reader for every PC/SC application, "tapsim readers" included.

The same card is served from one presentation to the next, so a phone keeps its state (ATC,
used single-use keys, passcode tries). --remove-after takes the card away after each
presentation has lasted that long; SIGUSR1 takes it away at once. It comes back after --away.
With --unlock (or --biometric) the holder unlocks a phone each time it is out of the field, so
that after "See Phone" the next tap goes through. SIGINT or SIGTERM stops.

The card's transaction counter (ATC) is kept in --data between runs, shared with "tapsim
terminal --card" runs on the same --data: the next run starts where the last one of either
stopped, so the issuer does not take its cryptograms for replays. --fresh-card starts the card
from its profile. The sample HCE phones (hce-phone, hce-phone-mc) are the ones the issuer whose
--data this is enrolled with its cloud platform: served from their storage there, which is written
back as they spend their keys.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCardServe(cmd, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.addr, "vpcd", "", "vpcd's address, HOST:PORT (port 35963 is vpcd's first slot by default)")
	fl.StringVar(&f.profile, "profile", "", "built-in profile name or profile file")
	fl.DurationVar(&f.stay, "remove-after", 0, "take the card away after each presentation has lasted this long (0: never)")
	fl.DurationVar(&f.away, "away", vpcd.DefaultAway, "how long the card stays away before it is presented again")
	fl.DurationVar(&f.answer, "answer-timeout", vpcd.DefaultAnswerTimeout, "leave the field when the card takes longer than this to answer")
	fl.StringVar(&f.unlock, "unlock", "", "phone passcode the holder unlocks the phone with while it is away")
	fl.BoolVar(&f.biometric, "biometric", false, "unlock the phone by biometric while it is away")
	fl.StringVar(&f.dataDir, "data", "tapsim-data", "directory where the card's counter is kept between runs; for hce-phone or\n"+
		"hce-phone-mc, the issuer's --data, where it keeps the phone it enrolled")
	fl.BoolVar(&f.freshCard, "fresh-card", false, "start the card from its profile, not from its saved counter")
	fl.BoolVar(&f.verbose, "verbose", false, "print every command with its status word and timing (no card data)")
	return c
}

func runCardServe(cmd *cobra.Command, f cardServeFlags) error {
	if f.addr == "" {
		return usageErr("--vpcd HOST:PORT is required (vpcd listens on port 35963 by default)")
	}
	host, port, err := net.SplitHostPort(f.addr)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return usageErr("--vpcd: want HOST:PORT, like 127.0.0.1:35963")
	}
	if f.profile == "" {
		return usageErr("--profile is required (a profile file, or a built-in name: see tapsim cards)")
	}
	if f.stay < 0 || f.away < 0 || f.answer < 0 {
		return usageErr("--remove-after, --away and --answer-timeout cannot be negative")
	}
	p, err := lab.Profile(f.profile)
	if err != nil {
		return usageErr("%v", err)
	}
	keep := !f.freshCard && p.FormFactor != cards.FormRecorded
	if keep {
		if atc := savedATC(f.dataDir, p.Name); atc > 0 {
			p.State.ATC = atc
		}
	}
	// No world runs here: a wallet-phone is served with its profile's own
	// token, the one an issuer run on its own seeds (lab.IssuerSeed); the
	// embedded world's wallet-phone gets a token through the wallet flow
	// instead (lab.Network.SampleWallet).
	var (
		card     cards.Card
		hcePhone *lab.IssuerHCEPhone
	)
	if lab.IsSampleHCE(p.Name) {
		// The sample HCE phone the issuer enrolled with its cloud platform,
		// kept in its data directory; its storage is written back as it
		// spends keys.
		if hcePhone, err = lab.OpenIssuerHCEPhone(f.dataDir, p.Name, time.Now, nil); err != nil {
			return usageErr("%v", err)
		}
		card, keep = hcePhone.Phone, false
	} else if card, err = cards.FromProfile(p, cards.Options{}); err != nil {
		return usageErr("%v", err)
	}
	_, isPhone := cards.Phone(card)
	if (f.unlock != "" || f.biometric) && !isPhone {
		return usageErr("--unlock and --biometric need a phone; %s is a %s", p.Name, p.FormFactor)
	}

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	take := make(chan struct{}, 1)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				select {
				case take <- struct{}{}:
				default:
				}
			}
		}
	}()

	out := &lockedWriter{w: cmd.OutOrStdout()}
	// The counter is saved as soon as it moves (events come from the
	// goroutine that runs the card, after each command), so that a run
	// killed without a goodbye still leaves it.
	saved := cardATC(card)
	keysSaved := -1
	if hcePhone != nil {
		keysSaved = hcePhone.Card.KeysLeft()
	}
	saveATC := func() {
		if hcePhone != nil && hcePhone.Card.KeysLeft() != keysSaved {
			if err := hcePhone.Save(); err != nil {
				out.printf("phone storage: %v\n", err)
				return
			}
			keysSaved = hcePhone.Card.KeysLeft()
		}
		if atc := cardATC(card); keep && atc > saved {
			if err := saveServedATC(f.dataDir, p.Name, atc); err != nil {
				out.printf("card state: %v\n", err)
				return
			}
			saved = atc
		}
	}
	srv := vpcd.New(f.addr, card, vpcd.Options{
		AnswerTimeout: f.answer,
		OnEvent: func(e vpcd.Event) {
			printServeEvent(out, f, e)
			saveATC()
		},
	})
	sch := vpcd.Schedule{Stay: f.stay, Away: f.away, Take: take}
	if f.unlock != "" || f.biometric {
		sch.Between = func(c cards.Card) {
			ph, _ := cards.Phone(c)
			var err error
			if f.unlock != "" {
				err = ph.Unlock(f.unlock)
			} else {
				err = ph.UnlockBiometric(true)
			}
			if err != nil {
				out.printf("phone: %v\n", err)
			} else {
				out.printf("phone unlocked\n")
			}
		}
	}
	out.printf("serving %s (%s, ATR %s) to vpcd at %s; SIGUSR1 takes it away, Ctrl-C stops\n",
		p.Name, p.FormFactor, strings.ToUpper(hex.EncodeToString(card.ATR())), f.addr)
	err = srv.Serve(ctx, sch)
	saveATC()
	st := srv.Stats()
	out.printf("stopped: %d presentations, %d commands answered\n", st.Insertions, st.APDUs)
	return err
}

// printServeEvent prints what happened to the served card: presentations
// always, commands with --verbose. Events carry no card data.
func printServeEvent(out *lockedWriter, f cardServeFlags, e vpcd.Event) {
	switch e.Type {
	case vpcd.EventWaiting:
		out.printf("waiting for vpcd at %s (is pcscd running with the vpcd driver?)\n", f.addr)
	case vpcd.EventInserted:
		out.printf("card in the field\n")
	case vpcd.EventRemoved:
		out.printf("card out of the field: %v\n", e.Err)
	case vpcd.EventStuck:
		out.printf("the card did not answer within %s: taken away\n", f.answer)
	default:
		if f.verbose {
			out.printf("%s\n", e)
		}
	}
}

// lockedWriter serialises writes from the serving goroutine and this one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, a...)
}
