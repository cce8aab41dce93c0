package pcsc

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pcsc"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
	"github.com/tapsim/tapsim/tui"
	"github.com/tapsim/tapsim/tui/model"
	"github.com/tapsim/tapsim/tui/tuitest"
)

// uiWait bounds every wait for the reader or the holder.
const uiWait = 20 * time.Second

// holder is the cardholder's hands on the phone in front of the UI's
// PC/SC reader. When the terminal asks for the card again (See Phone, Try
// Again), the reader tells the test through asked and starts looking for
// the card only once the test has taken it away, done what the holder
// does (unlock the phone) and put it back, and says so through back: the
// holder is done before the reader looks again, whatever the timing of
// pcscd's presence poll. Everything else is the real reader's.
type holder struct {
	asked chan kernel.Outcome
	back  chan struct{}

	mu                     sync.Mutex
	opened, waited, closed int
	presentedAgain         int
}

func newHolder() *holder {
	return &holder{asked: make(chan kernel.Outcome, 1), back: make(chan struct{})}
}

// heldReader is a real PC/SC reader (terminal/pcsc over the private pcscd)
// with the holder in front of it.
type heldReader struct {
	*pcsc.Reader
	h *holder
}

func (r *heldReader) WaitForCard(ctx context.Context) error {
	r.h.mu.Lock()
	r.h.waited++
	r.h.mu.Unlock()
	return r.Reader.WaitForCard(ctx)
}

func (r *heldReader) PresentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
	select {
	case r.h.asked <- o:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.h.back:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.h.mu.Lock()
	r.h.presentedAgain++
	r.h.mu.Unlock()
	if _, err := r.Reader.PresentAgain(ctx, o); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *heldReader) Close() error {
	r.h.mu.Lock()
	r.h.closed++
	r.h.mu.Unlock()
	return r.Reader.Close()
}

// counts returns how often the UI opened, waited on, presented again and
// closed a reader.
func (h *holder) counts() (opened, waited, again, closed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opened, h.waited, h.presentedAgain, h.closed
}

// uiRig is tapsim's terminal UI drawn on an 80x24 simulation screen, over
// a real backend: POS terminals linked over TCP to an acquirer and issuer
// host running as tapsim processes, and the private pcscd's readers, on
// whose slot 0 the rig's card is served over vpcd.
type uiRig struct {
	*tuitest.Rig
	card *rig
	hand *holder
	// entry is the wallet entry of slot 0's reader; shown is as much of
	// it as the outcome pane's first line holds (the slot wraps).
	entry, shown string
}

// newUIRig starts the hosts, serves card on slot 0 (out of the field) and
// opens the UI with one virtual card in its wallet before the readers.
func newUIRig(t *testing.T, profile string, now time.Time) (*uiRig, cards.Profile) {
	t.Helper()
	d := pcscd.Need(t)
	acquirer, issuerDir := startHostsAt(t)
	p, card := liveCard(t, profile, now)
	if lab.IsSampleHCE(profile) {
		// The phone the issuer enrolled with its cloud platform, whose
		// keys are in the issuer's ledger.
		hp, err := lab.OpenIssuerHCEPhone(issuerDir, profile, func() time.Time { return now }, nil)
		require.NoError(t, err)
		card = hp.Phone
	}
	r := &uiRig{card: newRig(t, card, vpcd.Options{}), hand: newHolder()}
	r.entry = tui.ReaderPrefix + d.Reader(0)
	r.shown = tui.ReaderPrefix + d.Name
	var un uint32
	b := tui.Backend{
		Wallet: []string{"visa-plastic"},
		LoadCard: func(name string) (cards.Card, error) {
			p, err := cards.Builtin(name)
			if err != nil {
				return nil, err
			}
			return cards.FromProfile(p, cards.Options{Clock: func() time.Time { return now }})
		},
		NewTerminal: func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
			c := pos.DefaultConfig()
			if cfg != nil {
				c = *cfg
			} else {
				capk, err := kernel.ParseCAPK(testca.CAPKFile())
				if err != nil {
					return nil, err
				}
				c.Kernel.CAPublicKeys = capk
			}
			o.Clock = func() time.Time { return now }
			o.UnpredictableNumber = func() [4]byte {
				un++
				var b [4]byte
				binary.BigEndian.PutUint32(b[:], 0x7C7C0000|un)
				return b
			}
			link := client.New(acquirer, client.Options{})
			t.Cleanup(func() { link.Close() })
			return pos.New(c, link, o)
		},
		Readers: pcsc.AvailableReaders,
		OpenReader: func(_ context.Context, name string) (tui.FieldReader, error) {
			rd, err := pcsc.Open(name, pcsc.Options{})
			if err != nil {
				return nil, err
			}
			r.hand.mu.Lock()
			r.hand.opened++
			r.hand.mu.Unlock()
			return &heldReader{Reader: rd, h: r.hand}, nil
		},
	}
	// Started after newRig: its cleanup runs first, so the UI lets go of
	// the reader before the card is taken away for good.
	r.Rig = tuitest.Start(t, b, tui.Options{SaveDir: t.TempDir()})
	return r, p
}

// uiState is a copy of the model, taken on the UI goroutine.
type uiState struct {
	history []model.Entry
	apdu    []string
	display string
	notice  string
	busy    bool
	// selected is the wallet entry under the cursor.
	selected string
}

// state copies the model; the assertions run on the test goroutine.
func (r *uiRig) state() uiState {
	r.T.Helper()
	var st uiState
	r.Model(func(m *model.Model) {
		st = uiState{
			history: append([]model.Entry(nil), m.History...),
			apdu:    append([]string(nil), m.Trace[model.PaneAPDU]...),
			display: m.Display,
			notice:  m.Notice,
			busy:    m.Busy,

			selected: m.SelectedCard(),
		}
	})
	return st
}

// selectReader moves the wallet cursor to slot 0's reader. The wallet
// pane shows the start of the reader's name only.
func (r *uiRig) selectReader() {
	r.T.Helper()
	r.Key(tcell.KeyDown)
	r.Wait("> " + tui.ReaderMark)
	require.Equal(r.T, r.entry, r.state().selected)
}

// presentAgain waits until the terminal asks for the card again, runs the
// holder's part (taking the card away, unlocking...) and lets the reader
// look for the card. It returns the outcome that asked.
func (r *uiRig) presentAgain(holder func()) kernel.Outcome {
	r.T.Helper()
	var o kernel.Outcome
	select {
	case o = <-r.hand.asked:
	case <-time.After(uiWait):
		r.T.Fatalf("the terminal did not ask for the card again; screen:\n%s", r.Screen())
	}
	holder()
	select {
	case r.hand.back <- struct{}{}:
	case <-time.After(uiWait):
		r.T.Fatal("the reader no longer waits for the card")
	}
	return o
}

// commandLine matches the first line of an exchange in the APDU trace.
var commandLine = regexp.MustCompile(`^(\d+)\. > (.+?)  ([0-9A-F]+)$`)

// commands lists the command names of an APDU trace, in order, checking
// the numbering.
func commands(t *testing.T, trace []string) []string {
	t.Helper()
	var names []string
	for _, l := range trace {
		if m := commandLine.FindStringSubmatch(l); m != nil {
			require.Equal(t, fmt.Sprint(len(names)+1), m[1], "numbering of %q", l)
			names = append(names, m[2])
		}
	}
	return names
}

// A sale keyed on the UI with a Visa card on the PC/SC reader: the wallet
// lists the reader, the UI waits for the card on it, runs the kernel
// through pcscd and vpcd and the authorisation through the acquirer to the
// issuer host, and shows the approval, the receipt with the PAN masked and
// the APDU trace of the exchanges that went through the reader.
func TestTUIReaderSale(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	r, p := newUIRig(t, "visa-plastic", now)
	ctx := testCtx(t)

	s := r.Wait("> visa-plastic", "  "+tui.ReaderMark)
	require.Equal(t, 2, strings.Count(s, tui.ReaderMark), "both slots of vpcd's reader:\n%s", s)
	r.selectReader()
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	r.Keys("t")
	// The UI waits for the card on the reader; it comes into the field.
	r.Wait("Present Card", "in progress")
	require.Equal(t, 0, r.card.server.Stats().Insertions)
	require.NoError(t, r.card.server.Insert(ctx))

	s = r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, "APPROVED sale NT$1,500.00 "+r.shown)
	require.Contains(t, s, "476173******0010")
	require.NotContains(t, s, p.App.PAN)
	require.Contains(t, s, "Trace: APDU")

	st := r.state()
	require.False(t, st.busy)
	require.Len(t, st.history, 1)
	e := st.history[0]
	require.True(t, e.Approved, "%+v", e)
	require.Equal(t, "00", e.DE39)
	require.Equal(t, r.entry, e.Card)
	require.Equal(t, "476173******0010", e.PAN)
	require.NotEmpty(t, e.AuthCode)
	require.Equal(t, "ARQC", e.Cryptogram)
	require.Contains(t, e.Receipt, "476173******0010")
	require.NotContains(t, e.Receipt, p.App.PAN)
	require.Contains(t, s, strings.SplitN(strings.TrimSpace(e.Receipt), "\n", 2)[0], "the receipt is on screen")

	// The trace holds every command the card answered through vpcd; the
	// pane shows its end.
	cmds := commands(t, st.apdu)
	require.Equal(t, "SELECT PPSE", cmds[0])
	require.Contains(t, cmds, "GET PROCESSING OPTIONS")
	require.Equal(t, r.card.server.Stats().APDUs, len(cmds), "one trace entry per command through the reader:\n%s", strings.Join(st.apdu, "\n"))
	require.Equal(t, e.APDU, st.apdu)
	last := strings.Fields(st.apdu[len(st.apdu)-1])
	require.Contains(t, s, strings.Join(last[:min(len(last), 2)], " "))
	require.NotContains(t, strings.Join(st.apdu, "\n"), "error")

	opened, waited, again, closed := r.hand.counts()
	require.Equal(t, [4]int{1, 1, 0, 1}, [4]int{opened, waited, again, closed}, "open, wait, present again, close")
	require.Equal(t, 1, r.card.server.Stats().Insertions)
}

// See Phone through a real reader: an HCE phone served over vpcd, locked,
// makes the UI show See Phone and wait for it again (R-S2e). The panel key
// sends the tester to the phone itself; the holder takes the phone away,
// unlocks it on the phone and taps it again, and the sale is approved with
// CDCVM on the second presentation.
func TestTUIReaderSeePhone(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	r, p := newUIRig(t, "hce-phone", now)
	ctx := testCtx(t)

	r.selectReader()
	r.Keys("p")
	r.Wait("a PC/SC reader: unlock the phone on the phone itself")
	require.NoError(t, r.card.server.Insert(ctx))
	r.Keys("150000t")

	o := r.presentAgain(func() {
		s := r.Wait("See Phone", "waiting for the card", "present it on the reader again; Esc gives up")
		require.NotContains(t, s, "APPROVED")
		r.card.phone(func(ph phoneView) { require.False(t, ph.Verified()) })
		r.card.takeAway(ctx)
		r.card.unlock("5791")
		require.NoError(t, r.card.server.Insert(ctx))
	})
	require.True(t, o.UIOnOutcome != nil && o.UIOnOutcome.Message == kernel.MsgSeePhone, "%v", o)
	require.Equal(t, kernel.StartB, o.Start)

	s := r.Wait("APPROVED", "DE39 00", "CVM: cdcvm")
	require.Contains(t, s, r.shown)
	require.NotContains(t, s, p.App.PAN)

	st := r.state()
	require.Len(t, st.history, 1)
	require.True(t, st.history[0].Approved, "%+v", st.history[0])
	cmds := commands(t, st.apdu)
	// Both presentations are in the trace: the first ends at GET
	// PROCESSING OPTIONS (6986), the second starts again with the PPSE.
	require.Equal(t, r.card.server.Stats().APDUs, len(cmds), "%s", strings.Join(st.apdu, "\n"))
	require.Equal(t, 2, count(cmds, "SELECT PPSE"), "%q", cmds)
	require.Contains(t, strings.Join(st.apdu, "\n"), "6986")
	require.Equal(t, 2, r.card.server.Stats().Insertions)
	r.card.phone(func(ph phoneView) { require.False(t, ph.Verified(), "the verification served one transaction") })

	opened, waited, again, closed := r.hand.counts()
	require.Equal(t, [4]int{1, 1, 1, 1}, [4]int{opened, waited, again, closed}, "open, wait, present again, close")
}

// A card taken out of the field mid-tap (with GET PROCESSING OPTIONS in
// flight): the UI shows the error in the APDU trace and asks for the card
// again instead of failing; tapped again, the sale goes through. A second
// sale on the same reader then needs a single tap.
func TestTUIReaderRemovedMidTap(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	r, p := newUIRig(t, "visa-plastic", now)
	ctx := testCtx(t)

	r.selectReader()
	require.NoError(t, r.card.server.Insert(ctx))
	r.card.server.RemoveAfter(2) // SELECT PPSE, SELECT AID, then GPO in flight
	r.Keys("150000t")

	o := r.presentAgain(func() {
		s := r.Wait("Present Card Again", "waiting for the card", "< error:")
		require.NotContains(t, s, "APPROVED")
		require.ErrorIs(t, r.card.server.Err(), vpcd.ErrRemoved)
		r.card.takeAway(ctx)
		require.NoError(t, r.card.server.Insert(ctx))
	})
	require.Equal(t, kernel.StartB, o.Start, "%v", o)
	require.Equal(t, kernel.L2CommunicationError, o.Error, "%v", o)

	s := r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, "476173******0010")
	require.NotContains(t, s, p.App.PAN)
	st := r.state()
	require.Len(t, st.history, 1)
	require.True(t, st.history[0].Approved, "%+v", st.history[0])
	cmds := commands(t, st.apdu)
	require.Equal(t, "GET PROCESSING OPTIONS", cmds[2])
	require.Equal(t, "SELECT PPSE", cmds[3], "the second tap starts again")
	// The command in flight got no answer: one trace entry more than the
	// commands the card answered.
	require.Equal(t, r.card.server.Stats().APDUs+1, len(cmds), "%s", strings.Join(st.apdu, "\n"))
	require.Equal(t, 1, strings.Count(strings.Join(st.apdu, "\n"), "< error:"))

	// The next sale with the card left on the reader: one tap.
	r.Keys("t")
	s = r.Wait("APPROVED", "DE39 00", "STAN: 000002")
	st = r.state()
	require.Len(t, st.history, 2)
	require.True(t, st.history[1].Approved, "%+v", st.history[1])
	require.NotContains(t, strings.Join(st.apdu, "\n"), "error")
	require.Equal(t, 1, count(commands(t, st.apdu), "SELECT PPSE"))
	require.Contains(t, s, r.shown)

	opened, waited, again, closed := r.hand.counts()
	require.Equal(t, [4]int{2, 2, 1, 2}, [4]int{opened, waited, again, closed}, "open, wait, present again, close")
	require.Equal(t, 2, r.card.server.Stats().Insertions)
}

// liveCard builds a card of a built-in profile on the terminal's clock,
// with a fixed random source.
func liveCard(t *testing.T, profile string, now time.Time) (cards.Profile, cards.Card) {
	t.Helper()
	p, err := cards.Builtin(profile)
	require.NoError(t, err)
	c, err := cards.FromProfile(p, cards.Options{
		Rand:  rand.NewChaCha8([32]byte{7}),
		Clock: func() time.Time { return now },
	})
	require.NoError(t, err)
	return p, c
}

// count counts s in list.
func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
