package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

// holdAt makes b's terminal stop, right after it sent the User Interface
// Request msg to the screen, until release is closed: the customer display
// can be captured at that moment of the transaction.
func holdAt(b Backend, msg kernel.MessageID) (Backend, chan struct{}) {
	release := make(chan struct{})
	newTerm := b.NewTerminal
	b.NewTerminal = func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
		show := o.Events
		o.Events = func(e pos.Event) {
			show(e)
			if e.Kind == pos.EventUI && e.UI != nil && e.UI.Message == msg {
				<-release
			}
		}
		return newTerm(cfg, o)
	}
	return b, release
}

// approving is the rules backend with every sale approved.
func approving(t *testing.T) Backend {
	t.Helper()
	r, err := rules.Parse("approve", []byte("rules:\n  - name: approve-all\n    match: {mti: \"0100\"}\n    respond: \"00\"\n"))
	require.NoError(t, err)
	return rulesBackend(rules.New(r, rules.Options{}))
}

// display is the customer display's message and status now.
func (r *rig) display() (string, string) {
	var msg, status string
	require.True(r.t, r.app.Sync(func(m *model.Model) { msg, status = m.Display, m.Status }))
	return msg, status
}

// Each message of Book A at the moment the Entry Point, the kernel or the
// terminal sends it, as the customer display shows it: its text and the
// reader status, never a text of the UI's own.
func TestGoldenBookAMessages(t *testing.T) {
	for _, tc := range []struct {
		golden string
		msg    kernel.MessageID
		status kernel.Status
		card   string
		keys   string
		// before drives the UI before the amount is typed and tapped.
		before func(r *rig)
		// after drives the UI once the amount is tapped, up to msg.
		after   func(r *rig)
		backend func(t *testing.T) Backend
	}{
		{golden: "booka-present-card", msg: kernel.MsgPresentCard, status: kernel.StatusReadyToRead,
			card: "visa-plastic", keys: "150000t"},
		{golden: "booka-card-read-ok", msg: kernel.MsgCardReadOK, status: kernel.StatusCardReadOK,
			card: "visa-plastic", keys: "150000t"},
		{golden: "booka-authorising", msg: kernel.MsgAuthorising, status: kernel.StatusNotReady,
			card: "visa-plastic", keys: "150000t"},
		{golden: "booka-enter-pin", msg: kernel.MsgEnterPIN, status: kernel.StatusNotReady,
			card: "visa-plastic", keys: "350000t"},
		{golden: "booka-approved", msg: kernel.MsgApproved, status: kernel.StatusNotReady,
			card: "visa-plastic", keys: "150000t"},
		{golden: "booka-approved-sign", msg: kernel.MsgApprovedSign, status: kernel.StatusNotReady,
			card: "visa-plastic-cvn10", keys: "350000t"},
		{golden: "booka-not-authorised", msg: kernel.MsgNotAuthorised, status: kernel.StatusNotReady,
			card: "visa-plastic", keys: "150000t", backend: func(*testing.T) Backend { return rulesBackend(rules.New(nil, rules.Options{})) }},
		{golden: "booka-processing-error", msg: kernel.MsgProcessingError, status: kernel.StatusProcessingError,
			card: "visa-plastic", keys: "150000t", backend: func(*testing.T) Backend { return testBackend("visa-plastic", "visa-se-phone") }},
		{golden: "booka-see-phone", msg: kernel.MsgSeePhone, status: kernel.StatusNotReady,
			card: "visa-se-phone", keys: "350000t"},
		{golden: "booka-present-card-again", msg: kernel.MsgPresentCardAgain, status: kernel.StatusReadyToRead,
			card: "visa-se-phone", keys: "350000t", after: func(r *rig) {
				r.wait("See Phone for Instructions", "unlock the phone (p)")
				r.keys("p5791u")
				r.wait("unlocked")
				r.key(tcell.KeyEscape)
				r.keys("t")
			}},
		{golden: "booka-present-one-card", msg: kernel.MsgPresentOneCard, status: kernel.StatusProcessingError,
			card: "visa-plastic", keys: "150000T"},
		{golden: "booka-try-another-card", msg: kernel.MsgTryAnotherCard, status: kernel.StatusReadyToRead,
			card: "visa-plastic", keys: "9999999999t"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			b := approving(t)
			if tc.backend != nil {
				b = tc.backend(t)
			}
			b.Wallet = []string{"visa-plastic", "visa-se-phone", "visa-plastic-cvn10"}
			b, release := holdAt(b, tc.msg)
			r := newRig(t, b)
			t.Cleanup(func() { close(release) })
			for _, name := range b.Wallet {
				if name == tc.card {
					r.wait("> " + name)
					break
				}
				r.key(tcell.KeyDown)
			}
			r.keys(tc.keys)
			if tc.after != nil {
				tc.after(r)
			}
			s := r.wait(tc.msg.String(), tc.status.String())
			golden(t, tc.golden, s)
			msg, status := r.display()
			require.Equal(t, tc.msg.String(), msg)
			require.Equal(t, tc.status.String(), status)
		})
	}
}

// After two cards in the field, one card tapped again pays.
func TestCollisionThenOneCard(t *testing.T) {
	b := approving(t)
	b.Wallet = []string{"visa-plastic", "mc-plastic"}
	r := newRig(t, b)
	r.keys("150000T")
	r.wait("Please Present One Card Only", "tap one card again (t)")
	r.keys("t")
	s := r.wait("APPROVED sale NT$1,500.00 visa-plastic", "ready")
	require.Contains(t, s, "Approved")
	require.NotContains(t, s, "One Card Only")
}

// The UI's clock is the terminal's: the receipt, the history and the
// request carry its time, whatever the backend's terminal would use.
func TestClockReachesTheTerminal(t *testing.T) {
	b := approving(t)
	newTerm := b.NewTerminal
	var seen time.Time
	b.NewTerminal = func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
		seen = o.Clock()
		return newTerm(cfg, o)
	}
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	r := newRigWith(t, b, Options{SaveDir: t.TempDir(), UnpredictableNumber: kernel.FixedUN([4]byte{0xDE, 0, 0, 1}),
		Clock: func() time.Time { return at }})
	require.Equal(t, at, seen)
	r.keys("150000t")
	r.wait("APPROVED", "ready")
	var receipt string
	var when time.Time
	require.True(t, r.app.Sync(func(m *model.Model) { receipt, when = m.Last.Receipt, m.Last.Time }))
	require.Contains(t, receipt, "2027-01-02")
	require.Contains(t, receipt, "03:04:05")
	require.Equal(t, at, when)
}

// The ISO 8583 pane is the operator's: it shows the cryptograms in DE55
// (9F26, 9F10), while the PAN and track 2 stay masked.
func TestISOPaneShowsCryptograms(t *testing.T) {
	r := newRig(t, approving(t))
	r.keys("150000t")
	r.wait("APPROVED", "ready")
	var iso, apdu string
	require.True(t, r.app.Sync(func(m *model.Model) {
		iso, apdu = strings.Join(m.Last.ISO, "\n"), strings.Join(m.Last.APDU, "\n")
	}))
	require.Contains(t, iso, "9F26 [8] Application Cryptogram: ")
	require.NotContains(t, iso, "9F26 [8] Application Cryptogram: ****")
	require.Contains(t, iso, "9F10 [")
	require.Contains(t, iso, "476173******0010")
	require.NotContains(t, iso, "4761739001010010")
	require.NotContains(t, apdu, "4761739001010010")

	// The raw hex of each message, on demand (Tab), masked.
	for range 4 {
		r.key(tcell.KeyTab)
	}
	s := r.wait("Trace: ISO 8583 raw hex")
	require.NotContains(t, s, "4761739001010010")
	var raw string
	require.True(t, r.app.Sync(func(m *model.Model) { raw = strings.Join(m.Last.ISOHex, "\n") }))
	require.Contains(t, raw, "--> authorisation request, ")
	require.Contains(t, raw, "<-- authorisation response, ")
	require.Contains(t, raw, "****")
	require.NotContains(t, raw, "4761739001010010")
}

func TestNoticeLines(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  []string
	}{
		{"", 80, nil},
		{"short notice", 80, []string{"short notice"}},
		{"one two three four", 9, []string{"one two", "three…"}},
		{"one two three", 7, []string{"one two", "three"}},
		{"abcdefghij klm", 4, []string{"abcd", "efg…"}},
		{"saved /a/very/long/path.trace (replay)", 12, []string{"saved /a/ver", "y/long/path…"}},
	} {
		require.Equal(t, tc.want, NoticeLines(tc.in, tc.width), "%q at %d", tc.in, tc.width)
	}
}

// At 80x24 a notice longer than a line wraps between words and the footer
// grows: both hint lines stay whole on the screen.
func TestLongNoticeKeepsTheHints(t *testing.T) {
	r := newRig(t, approving(t))
	r.keys("150000t")
	r.wait("APPROVED", "ready")
	r.keys("hs")
	r.wait("saved ")
	r.key(tcell.KeyEscape)
	s := r.wait("Customer display", "Type:")
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	require.Len(t, lines, 24)
	hints := FooterLines(model.ScreenMain, 80)
	require.Equal(t, hints, lines[len(lines)-len(hints):])
	notice := lines[len(lines)-len(hints)-2 : len(lines)-len(hints)]
	require.True(t, strings.HasPrefix(notice[0], "saved "), "%q", notice)
	for _, l := range append(notice, hints...) {
		require.LessOrEqual(t, len([]rune(l)), 80, "%q", l)
	}
	var full string
	require.True(t, r.app.Sync(func(m *model.Model) { full = m.Notice }))
	require.Greater(t, len(full), 80)
	// Cut between words, or inside the saved file's path when that alone
	// is longer than a line (its length follows the temporary directory's).
	require.Equal(t, NoticeLines(full, 80), notice, "the notice as NoticeLines wraps it")
}

// The transaction's last message stays for its hold time (Book A Message
// Hold Time, DF812D), then the display is back to Welcome.
func TestDisplayIdleAfterHoldTime(t *testing.T) {
	b := approving(t)
	b.Wallet = []string{"mc-plastic"}
	fire := make(chan time.Time)
	held := make(chan time.Duration, 4)
	r := newRigWith(t, b, Options{SaveDir: t.TempDir(), UnpredictableNumber: kernel.FixedUN([4]byte{0xDE, 0, 0, 1}),
		Clock: func() time.Time { return time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC) },
		After: func(d time.Duration) <-chan time.Time { held <- d; return fire }})
	r.keys("150000t")
	r.wait("APPROVED", "ready")
	msg, _ := r.display()
	require.Equal(t, "Approved", msg)
	select {
	case d := <-held:
		require.Equal(t, 1300*time.Millisecond, d, "the combination's message hold time")
	case <-time.After(10 * time.Second):
		t.Fatal("no hold time started")
	}
	fire <- time.Time{}
	r.wait("Welcome", "Idle")
}
