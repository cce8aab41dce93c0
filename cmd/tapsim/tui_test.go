package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui"
	"github.com/tapsim/tapsim/tui/model"
	"github.com/tapsim/tapsim/tui/tuitest"
)

// tuiRig is the UI on the embedded network, drawn on a simulation screen.
type tuiRig struct {
	*tuitest.Rig
	s *tuiSession
}

func newTUIRig(t *testing.T) *tuiRig {
	t.Helper()
	s, err := startTUISession(context.Background(), t.TempDir(), tuiOptions{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return &tuiRig{Rig: tuitest.Start(t, s.backend, tui.Options{SaveDir: t.TempDir()}), s: s}
}

func TestTUIApprovedSale(t *testing.T) {
	r := newTUIRig(t)
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	r.Keys("t")
	s := r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, "visa-plastic")
	require.Contains(t, s, "476173******0010")
	require.NotContains(t, s, "4761739001010010")

	// The ISO 8583 and host log panes.
	r.Key(tcell.KeyTab)
	r.Wait("Trace: ISO 8583")
	r.Key(tcell.KeyTab)
	s = r.Wait("Trace: host log", "host=")
	require.NotContains(t, s, "4761739001010010")

	// Void the sale (asked, refused, asked again and confirmed), then a
	// refund, after which the terminal is back on sales.
	r.Keys("v")
	r.Wait("void sale 000001 of NT$1,500.00 (visa-plastic)? y yes, n no")
	r.Keys("n")
	r.Wait("not voided")
	r.Keys("v")
	r.Wait("void sale 000001")
	r.Keys("y")
	r.Wait("Voided", "APPROVED void", "ready")
	r.Keys("r")
	r.Wait("REFUND")
	r.Keys("t")
	r.Wait("refund NT$1,500.00 visa-plastic", "Type:   SALE")
	r.Keys("h")
	s = r.Wait("History", "void")
	require.Contains(t, s, "refund")
}

// While the terminal waits after See Phone, the tester chooses another card:
// the tap again presents that card, not the phone.
func TestTUISeePhoneThenAnotherCard(t *testing.T) {
	r := newTUIRig(t)
	for range 3 {
		r.Key(tcell.KeyDown)
	}
	r.Wait("> hce-phone")
	r.Keys("150000t")
	r.Wait("See Phone", "waiting for the card")
	for range 3 {
		r.Key(tcell.KeyUp)
	}
	r.Wait("> visa-plastic")
	r.Keys("t")
	r.Wait("APPROVED sale NT$1,500.00 visa-plastic", "ready")
	r.Model(func(m *model.Model) {
		require.Len(t, m.History, 1)
		require.Equal(t, "visa-plastic", m.History[0].Card)
		require.Contains(t, m.History[0].PAN, "476173")
	})
}

func TestTUISeePhoneThenUnlock(t *testing.T) {
	r := newTUIRig(t)
	r.Key(tcell.KeyDown)
	r.Key(tcell.KeyDown)
	r.Key(tcell.KeyDown)
	r.Wait("> hce-phone")
	r.Keys("150000t")
	r.Wait("See Phone")
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("5791u")
	r.Wait("unlocked with passcode")
	r.Keys("t")
	s := r.Wait("APPROVED", "CVM: cdcvm")
	require.Contains(t, s, "hce-phone")
}

func TestTUIOnlinePINWrongThenRight(t *testing.T) {
	r := newTUIRig(t)
	r.Keys("350000t")
	r.Wait("PIN pad")
	r.Keys("9999")
	r.Wait("PIN: ****")
	r.Key(tcell.KeyEnter)
	s := r.Wait("DECLINED", "DE39 55")
	require.NotContains(t, s, "9999")
	r.Keys("t")
	r.Wait("PIN pad")
	r.Keys("1234")
	r.Key(tcell.KeyEnter)
	r.Wait("APPROVED", "DE39 00", "CVM: online_pin")
}

func TestTUIIssuerDown(t *testing.T) {
	r := newTUIRig(t)
	r.Keys("i")
	r.Wait("issuer down")
	r.Keys("120000t")
	r.Wait("DE39 91")
}

// panel opens the selected phone's panel once the running tap is over (the
// key is refused while the card is in the field) and waits for texts on it.
func (r *tuiRig) panel(texts ...string) string {
	r.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = r.App.Snapshot(r.Sim)
		if !strings.Contains(s, "state: ") {
			r.Keys("p")
		} else if tuitest.ContainsAll(s, texts...) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.T.Fatalf("timed out waiting for the phone panel with %q on:\n%s", texts, s)
	return ""
}

// An HCE phone spends one single-use key per tap (R-S5b); once they are all
// spent the panel's replenish asks the issuer's cloud platform for a new
// batch, the phone opens it under the transport key, and the next tap is
// approved by the issuer with a key of the new batch.
func TestTUIReplenishHCEPhone(t *testing.T) {
	r := newTUIRig(t)
	for range 3 {
		r.Key(tcell.KeyDown)
	}
	r.Wait("> hce-phone")
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	for left := 5; left > 0; left-- {
		r.panel(fmt.Sprintf("single-use keys left: %d", left))
		r.Keys("5791u")
		r.Wait("unlocked with passcode")
		r.Key(tcell.KeyEscape)
		r.Keys("t")
	}
	r.panel("single-use keys left: 0 (needs replenishing)")
	// Out of keys, the phone offers its card but says "see phone": the
	// operator reads why, replenishes from the panel and taps again.
	r.Keys("5791u")
	r.Wait("unlocked with passcode")
	r.Key(tcell.KeyEscape)
	r.Keys("t")
	s := r.Wait("See Phone for Instructions", tui.NoKeysLeft)
	require.NotContains(t, s, "PPSE not found")
	r.panel("single-use keys left: 0 (needs replenishing)")
	r.Keys("n")
	r.Wait("replenished: 5 keys loaded, keys left 0 -> 5", "single-use keys left: 5")

	// A second request finds the phone stocked: nothing is issued.
	r.Keys("n")
	r.Wait("no new keys", "single-use keys left: 5")

	r.Keys("5791u")
	r.Wait("unlocked with passcode")
	r.Key(tcell.KeyEscape)
	r.Keys("t")
	r.Wait("APPROVED sale NT$1,500.00 hce-phone", "ready")
	r.panel("single-use keys left: 4")
	r.Key(tcell.KeyEscape)
	r.Keys("h")
	s = r.Wait("History")
	require.Equal(t, 6, strings.Count(s, " sale   hce-phone      NT$1,500.00 00 Approved"), s)
}

// selectCard moves the wallet's cursor to entry name.
func (r *tuiRig) selectCard(name string) {
	r.T.Helper()
	i := slices.Index(tuiWallet(), name)
	require.GreaterOrEqual(r.T, i, 0, name)
	for range i {
		r.Key(tcell.KeyDown)
	}
	r.Wait("> " + name + " ")
}

// closePanel closes the phone panel and waits until it is gone.
func (r *tuiRig) closePanel() {
	r.T.Helper()
	r.Key(tcell.KeyEscape)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !strings.Contains(r.App.Snapshot(r.Sim), "state: ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.T.Fatal("the phone panel did not close")
}

// unlockAndTap unlocks the selected phone with passcode on its panel,
// closes the panel and taps.
func (r *tuiRig) unlockAndTap(passcode string) {
	r.T.Helper()
	r.panel()
	r.Keys(passcode + "u")
	r.Wait("unlocked with passcode")
	r.closePanel()
	r.Keys("t")
}

// lastAudit returns the issuer's last audit entry with action.
func (r *tuiRig) lastAudit(action string) store.AuditEvent {
	r.T.Helper()
	var found store.AuditEvent
	require.NoError(r.T, r.s.net.Issuer().Store().View(context.Background(), func(tx *store.Tx) error {
		trail, err := tx.AuditTrail(context.Background())
		for _, e := range trail {
			if e.Action == action {
				found = e
			}
		}
		return err
	}))
	require.Equal(r.T, action, found.Action, "no %s in the audit trail", action)
	return found
}

// R-C1: the HCE phone reported lost from its panel. The cloud platform
// suspends its binding and the issuer's ledger every key issued to it, at
// once; the next tap, unlocked, is declined by the issuer (62, device
// lost), and the platform issues no new keys to it.
func TestTUIReportLostHCEPhoneRC1(t *testing.T) {
	r := newTUIRig(t)
	r.selectCard("hce-phone")
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	r.unlockAndTap("5791")
	r.Wait("APPROVED", "DE39 00", "CVM: cdcvm")

	r.panel("single-use keys left: 4")
	r.Keys("l")
	r.waitPanel("hce-phone reported lost: device 3520990017614823: cloud binding of hce-phone suspended, its 4 keys refused from now on")

	ctx := context.Background()
	h := r.s.net.SampleHCE()
	cl := r.s.net.Cloud()
	require.True(t, cl.Ledger().Suspended(h.Ref, h.DeviceID), "the keys are refused")
	require.Equal(t, wire.HCEBindingSuspended, cl.Service().Bindings(h.Ref)[0].Status)
	audit := cl.Service().Audit()
	require.Equal(t, "report-lost", audit[len(audit)-1].Action)

	r.closePanel()
	r.unlockAndTap("5791")
	s := r.Wait("DECLINED", "DE39 62")
	require.Contains(t, s, "(device_lost)")
	require.NotContains(t, s, "4895370012340011")

	// The phone still holds keys of its own, but the platform refuses it
	// any new one: its binding is suspended.
	r.panel("single-use keys left: 3")
	_, err := h.App.Replenish(ctx, h.Ref)
	require.ErrorIs(t, err, wire.ErrRefused)

	r.closePanel()
	r.Keys("h")
	s = r.Wait("History")
	require.Contains(t, s, " sale   hce-phone      NT$1,500.00 00 Approved")
	require.Contains(t, s, " sale   hce-phone      NT$1,500.00 62 Declined:")
}

// R-C1: the SE phone reported lost has its card (the applet's PAN) marked
// lost in the issuer's card store; its next tap is declined at look-up
// (62, card blocked).
func TestTUIReportLostSEPhoneRC1(t *testing.T) {
	r := newTUIRig(t)
	r.selectCard("visa-se-phone")
	r.Keys("150000t")
	r.Wait("APPROVED", "DE39 00")

	r.panel()
	r.Keys("l")
	r.waitPanel("visa-se-phone reported lost: card marked lost: visa-se-phone")
	require.NotContains(t, r.App.Snapshot(r.Sim), "4761739001010044")

	var c store.Card
	require.NoError(t, r.s.net.Issuer().Store().View(context.Background(), func(tx *store.Tx) error {
		var err error
		c, err = tx.Card(context.Background(), "visa-se-phone")
		return err
	}))
	require.Equal(t, store.CardLost, c.Status)
	e := r.lastAudit("card.lost")
	require.Equal(t, "card visa-se-phone 476173******0044", e.Subject)
	require.Contains(t, e.Detail, lab.LostReason)

	// A second report finds the card lost already.
	r.Keys("l")
	r.waitPanel("visa-se-phone reported lost: card visa-se-phone already lost")

	r.closePanel()
	r.Keys("t")
	s := r.Wait("DECLINED", "DE39 41")
	require.Contains(t, s, "(card_lost)")
}

// R-C1: the wallet phone (the token the world provisioned for it through
// the wallet flow) reported lost has every token of its device suspended
// at the token service, and so in the issuer's vault; the next tap,
// unlocked, is declined (62, token suspended).
func TestTUIReportLostWalletPhoneRC1(t *testing.T) {
	r := newTUIRig(t)
	r.selectCard("wallet-phone")
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	r.unlockAndTap("2468")
	r.Wait("APPROVED", "DE39 00")

	r.panel()
	r.Keys("l")
	tur := r.s.net.SampleWallet().TokenRef
	r.waitPanel("wallet-phone reported lost: device 3520990017629911: tokens suspended at the token service: " + tur)

	var k store.Token
	require.NoError(t, r.s.net.Issuer().Store().View(context.Background(), func(tx *store.Tx) error {
		var err error
		k, err = tx.Token(context.Background(), tur)
		return err
	}))
	require.Equal(t, store.TokenSuspended, k.Status)
	require.Equal(t, "suspend by issuer", r.lastAudit("token.suspended").Detail)
	// The phone's wallet app shows the issuer's suspension.
	r.Keys("w")
	r.waitPanel("wallet token: 489537")
	r.waitPanel("SUSPENDED (by ISSUER)")

	r.closePanel()
	r.unlockAndTap("2468")
	s := r.Wait("DECLINED", "DE39 62")
	require.Contains(t, s, "(token_suspended)")
}

// waitPanel waits until the phone panel's text (see flat) holds text.
func (r *tuiRig) waitPanel(text string) {
	r.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var p string
	for time.Now().Before(deadline) {
		if p = flat(r.App.Snapshot(r.Sim)); strings.Contains(p, text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.T.Fatalf("timed out waiting for %q on the phone panel: %q", text, p)
}

// flat is the text of the phone panel drawn over the screen s, its lines
// joined with single spaces, or none after a hyphen (the panel wraps long
// notes at spaces and hyphens).
func flat(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		i, j := strings.Index(line, "║"), strings.LastIndex(line, "║")
		if i < 0 || j <= i {
			continue
		}
		part := strings.TrimSpace(line[i+len("║") : j])
		b.WriteString(part)
		if !strings.HasSuffix(part, "-") { // wrapped after a hyphen
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Two approved sales; the first is voided from the history, the second
// with v on the main screen; a sale is voided once only.
func TestTUIVoidFromHistory(t *testing.T) {
	r := newTUIRig(t)
	r.Keys("150000t")
	r.Wait("APPROVED sale NT$1,500.00 visa-plastic", "STAN: 000001")
	for range 6 {
		r.Key(tcell.KeyBackspace2)
	}
	r.Keys("200000t")
	r.Wait("APPROVED sale NT$2,000.00 visa-plastic", "STAN: 000002")

	r.Keys("h")
	r.Wait("-- sale visa-plastic, STAN 000002")
	r.Key(tcell.KeyUp)
	r.Wait("-- sale visa-plastic, STAN 000001")
	r.Keys("v")
	r.Wait("void sale 000001")
	r.Keys("y")
	r.Wait("APPROVED void NT$1,500.00 visa-plastic", "ready")
	r.Keys("h")
	r.Wait("History", " void   visa-plastic   NT$1,500.00 00 Voided", "(voided)")
	r.Model(func(m *model.Model) {
		require.True(t, m.Voided("000001"))
		require.False(t, m.Voided("000002"))
	})
	r.Key(tcell.KeyUp)
	r.Key(tcell.KeyUp)
	r.Wait("-- sale visa-plastic, STAN 000001")
	r.Keys("v")
	r.Wait("sale 000001 is voided already")

	r.Key(tcell.KeyEscape)
	r.Keys("v")
	r.Wait("void sale 000002")
	r.Keys("y")
	r.Wait("APPROVED void NT$2,000.00 visa-plastic", "ready")
	r.Keys("v")
	r.Wait("no approved sale to void")
	var voids []string
	r.Model(func(m *model.Model) {
		for _, e := range m.History {
			if e.Kind == "void" && e.Approved {
				voids = append(voids, e.Voids)
			}
		}
	})
	require.Equal(t, []string{"000001", "000002"}, voids)
}

// Without a terminal the UI says so and starts nothing, instead of
// panicking in the screen library.
func TestTUIWithoutTerminal(t *testing.T) {
	t.Setenv("TERM", "dumb")
	err := runTUI(context.Background(), tuiOptions{dataDir: t.TempDir()}, nil)
	require.ErrorIs(t, err, errNoTTY)
}

// On the phone panel the tester adds visa-plastic to a new phone with a
// step-up: the OTP is in the phone's inbox, a wrong one shows the tries
// left, the right one brings the token; the trace shows each step masked
// and the new phone taps approved.
func TestTUIWalletAddCardStepUpThenTap(t *testing.T) {
	r := newTUIRig(t)
	r.Model(func(m *model.Model) { m.Select("visa-se-phone") })
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("a")
	r.Wait("Add card to wallet", "< visa-plastic >", "yes (OTP to the cardholder)")
	var dev string
	r.Model(func(m *model.Model) { dev = m.Form.DeviceID })
	require.Regexp(t, `^[0-9A-F]{16}$`, dev)
	r.Key(tcell.KeyEnter)
	r.Wait("OTP: ______", "the OTP is in the phone's inbox (i)")

	// The OTP as the cardholder reads it, through the backend's inbox.
	fc, err := lab.SampleFundingCard(context.Background(), r.s.net, "visa-plastic")
	require.NoError(t, err)
	ms, err := r.s.backend.Inbox(context.Background(), fc.Phone)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	otp := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(ms[len(ms)-1].Body)
	require.Len(t, otp, 6)
	r.Keys("i")
	r.Wait(otp + " is your one-time password")
	r.Key(tcell.KeyEscape)
	r.Wait("OTP: ______")

	wrong := string('0'+(otp[0]-'0'+1)%10) + otp[1:]
	r.Keys(wrong)
	r.Key(tcell.KeyEnter)
	r.Wait("wrong OTP: 4 tries left")
	r.Keys(otp)
	r.Key(tcell.KeyEnter)
	r.Wait("visa-plastic added: token ending", "provisioned: token", "state: locked")

	var trace []string
	var name string
	r.Model(func(m *model.Model) {
		trace = append(trace, m.Trace[model.PaneProvisioning]...)
		name = m.SelectedCard()
	})
	require.True(t, strings.HasPrefix(name, "token-"), name)
	all := strings.Join(trace, "\n")
	for _, step := range []string{"card", "decision", "methods", "otp sent", "otp", "token", "download ack", "issuer notified"} {
		require.True(t, slices.ContainsFunc(trace, func(l string) bool { return strings.HasPrefix(l, step+" ") }), "step %s in:\n%s", step, all)
	}
	require.Contains(t, all, "INCORRECT_CODE, 4 tries left")
	require.Contains(t, all, "476173******")
	require.NotContains(t, all, otp, "the OTP shows only in the inbox")
	p, err := lab.Profile("visa-plastic")
	require.NoError(t, err)
	require.NotContains(t, all, p.App.PAN)

	r.Keys(lab.SampleWalletPasscode + "u")
	r.Wait("unlocked with passcode")
	r.Key(tcell.KeyEscape)
	r.Wait("> + " + name)
	r.Keys("1500t")
	s := r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, name)
}

// Wrong OTPs until the issuer locks the step-up: the panel says locked and
// no phone joins the wallet; without a step-up the token arrives at once.
func TestTUIWalletOTPLockedThenGreen(t *testing.T) {
	r := newTUIRig(t)
	require.Contains(t, r.s.backend.FundingCards, "mc-plastic")
	r.Model(func(m *model.Model) { m.Select("visa-se-phone") })
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("a")
	r.Wait("< visa-plastic >")
	r.Key(tcell.KeyRight)
	r.Key(tcell.KeyEnter)
	r.Wait("OTP: ______")
	wrong := wrongOTP(t, r, "mc-plastic")
	for tries := 4; tries >= 1; tries-- {
		r.Wait("OTP: ______")
		r.Keys(wrong)
		r.Key(tcell.KeyEnter)
		r.Wait(fmt.Sprintf("wrong OTP: %d tries left", tries))
	}
	r.Keys(wrong)
	r.Key(tcell.KeyEnter)
	r.Wait("no token: locked: too many wrong OTPs")
	var wallet []string
	r.Model(func(m *model.Model) { wallet = append(wallet, m.Wallet...) })
	require.False(t, slices.ContainsFunc(wallet, func(n string) bool { return strings.HasPrefix(n, "token-") }))

	r.Keys("a")
	r.Wait("step-up:")
	r.Key(tcell.KeyDown)
	r.Key(tcell.KeyDown)
	r.Keys(" ")
	r.Wait("no (the issuer approves)")
	r.Key(tcell.KeyEnter)
	r.Wait("visa-plastic added: token ending", "ACTIVE")
}

// wrongOTP is a code other than the OTP in the inbox of card's cardholder.
func wrongOTP(t *testing.T, r *tuiRig, card string) string {
	t.Helper()
	fc, err := lab.SampleFundingCard(context.Background(), r.s.net, card)
	require.NoError(t, err)
	ms, err := r.s.backend.Inbox(context.Background(), fc.Phone)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	otp := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(ms[len(ms)-1].Body)
	require.Len(t, otp, 6)
	return string('0'+(otp[0]-'0'+1)%10) + otp[1:]
}

// addGreenWalletPhone adds visa-plastic to a new phone on the panel
// without a step-up, closes the panel and returns the new wallet entry.
func addGreenWalletPhone(t *testing.T, r *tuiRig) string {
	t.Helper()
	r.Model(func(m *model.Model) { m.Select("visa-se-phone") })
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("a")
	r.Wait("step-up:")
	r.Key(tcell.KeyDown)
	r.Key(tcell.KeyDown)
	r.Keys(" ")
	r.Wait("no (the issuer approves)")
	r.Key(tcell.KeyEnter)
	r.waitPanel("visa-plastic added: token ending")
	r.waitPanel("ACTIVE")
	var name string
	r.Model(func(m *model.Model) { name = m.SelectedCard() })
	require.True(t, strings.HasPrefix(name, "token-"), name)
	r.waitPanel("wallet token: 489537")
	r.closePanel()
	r.Wait("> + " + name)
	return name
}

// The cardholder's life cycle of a token added on the phone panel, from
// the phone's wallet app through the wallet provider and the token
// service to the issuer, the panel showing the token's state: suspended,
// a tap is declined; resumed, approved; deleted, declined for good.
func TestTUIWalletTokenLifecycle(t *testing.T) {
	r := newTUIRig(t)
	addGreenWalletPhone(t, r)
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	r.unlockAndTap(lab.SampleWalletPasscode)
	r.Wait("APPROVED", "DE39 00")

	r.panel()
	r.Keys("s")
	r.waitPanel("token suspend: 489537")
	r.waitPanel("SUSPENDED (by CARDHOLDER)")
	r.closePanel()
	r.unlockAndTap(lab.SampleWalletPasscode)
	s := r.Wait("DECLINED", "DE39 62")
	require.Contains(t, s, "(token_suspended)")

	r.panel()
	r.Keys("r")
	r.waitPanel("token resume: 489537")
	r.closePanel()
	r.unlockAndTap(lab.SampleWalletPasscode)
	r.Wait("APPROVED", "DE39 00")

	r.panel()
	r.Keys("d")
	r.waitPanel("d again deletes")
	r.Keys("d")
	r.waitPanel("DEACTIVATED")
	r.closePanel()
	r.unlockAndTap(lab.SampleWalletPasscode)
	s = r.Wait("DECLINED", "DE39 62")
	require.Contains(t, s, "(token_deleted)")
}

// R-C1: a wallet phone added on the panel reported lost: every token of
// its device is suspended at the token service, the panel shows the
// issuer's suspension as the wallet app sees it, and the next tap is
// declined.
func TestTUIWalletPhoneLostRC1(t *testing.T) {
	r := newTUIRig(t)
	addGreenWalletPhone(t, r)
	r.Keys("150000")
	r.Wait("NT$1,500.00")
	r.unlockAndTap(lab.SampleWalletPasscode)
	r.Wait("APPROVED", "DE39 00")

	r.panel()
	r.Keys("l")
	r.waitPanel("tokens suspended at the token service: DWSPTS")
	r.waitPanel("wallet token: 489537")
	r.waitPanel("SUSPENDED (by ISSUER)")
	r.closePanel()
	r.unlockAndTap(lab.SampleWalletPasscode)
	s := r.Wait("DECLINED", "DE39 62")
	require.Contains(t, s, "(token_suspended)")
}

// R-M7, R-S3d, R-S3e, R-S2e: on the phone panel the tester enrols a new
// HCE phone for visa-plastic: the OTP is in the phone's inbox, the phone
// downloads its card and limited-use keys, joins the wallet and taps
// approved with a key; reported lost, its next tap is declined.
func TestTUIEnrolHCEPhoneThenTap(t *testing.T) {
	r := newTUIRig(t)
	r.Model(func(m *model.Model) { m.Select("visa-se-phone") })
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("e")
	r.Wait("Enrol HCE phone", "< visa-plastic >", "always (OTP to the cardholder)")
	r.Key(tcell.KeyEnter)
	r.Wait("OTP: ______", "the OTP is in the phone's inbox (i)")

	fc, err := lab.SampleFundingCard(context.Background(), r.s.net, "visa-plastic")
	require.NoError(t, err)
	ms, err := r.s.backend.Inbox(context.Background(), fc.Phone)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	otp := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(ms[len(ms)-1].Body)
	require.Len(t, otp, 6)
	r.Keys(otp)
	r.Key(tcell.KeyEnter)
	r.Wait("visa-plastic added: card ending", "enrolled: cloud card", "single-use keys left: 5")

	var trace []string
	var name string
	r.Model(func(m *model.Model) {
		trace = append(trace, m.Trace[model.PaneProvisioning]...)
		name = m.SelectedCard()
	})
	require.True(t, strings.HasPrefix(name, "hce-"), name)
	all := strings.Join(trace, "\n")
	for _, step := range []string{"card account", "device keys", "register", "otp", "bound", "download"} {
		require.True(t, slices.ContainsFunc(trace, func(l string) bool { return strings.HasPrefix(l, step+" ") }), "step %s in:\n%s", step, all)
	}
	require.NotContains(t, all, otp, "the OTP shows only in the inbox")
	require.NotContains(t, all, fc.Card.PAN)

	r.Keys(lab.SampleHCEPasscode + "u")
	r.Wait("unlocked with passcode")
	r.Key(tcell.KeyEscape)
	r.Wait("> + " + name)
	r.Keys("1500t")
	s := r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, name)

	r.panel("single-use keys left: 4")
	r.Keys("l")
	r.waitPanel(name + " reported lost: device")
	r.closePanel()
	r.unlockAndTap(lab.SampleHCEPasscode)
	s = r.Wait("DECLINED", "DE39 62")
	require.Contains(t, s, "(device_lost)")
}

// R-S2e: a Mastercard-like card enrolled on a new HCE phone from the
// panel: the form asks for the mobile PIN the cardholder sets, the phone
// downloads its key pairs and taps approved (CDA, the UMD cryptogram under
// the key the PIN unlocks).
func TestTUIEnrolHCEPhoneMobilePIN(t *testing.T) {
	r := newTUIRig(t)
	r.Model(func(m *model.Model) { m.Select("visa-se-phone") })
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("e")
	r.Wait("Enrol HCE phone", "< visa-plastic >")
	for range slices.Index(r.s.backend.HCECards, "mc-plastic") {
		r.Key(tcell.KeyRight)
	}
	r.Wait("< mc-plastic >", "mobile PIN:")
	r.Key(tcell.KeyUp)
	r.Keys("2580")
	r.Wait("mobile PIN: ****")
	r.Key(tcell.KeyEnter)
	r.Wait("OTP: ______")

	fc, err := lab.SampleFundingCard(context.Background(), r.s.net, "mc-plastic")
	require.NoError(t, err)
	ms, err := r.s.backend.Inbox(context.Background(), fc.Phone)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	otp := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(ms[len(ms)-1].Body)
	r.Keys(otp)
	r.Key(tcell.KeyEnter)
	r.Wait("mc-plastic added: card ending", "single-use keys left: 5")

	var name string
	r.Model(func(m *model.Model) { name = m.SelectedCard() })
	r.Keys(lab.SampleHCEPasscode + "u")
	r.Wait("unlocked with passcode")
	r.Key(tcell.KeyEscape)
	r.Wait("> + " + name)
	r.Keys("1500t")
	s := r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, name)
	require.NotContains(t, s, "2580")
}

// R-M2, R-M6, R-S3c: the phone panel's "Personalise SE over the air" makes
// a new phone whose SE is shared with an operator, the cardholder types
// the code read from the inbox, the OTA trace names each command and its
// status word (never data, no card number, no code), and the new phone
// joins the wallet and taps approved.
func TestTUIPersonaliseSEPhoneThenTap(t *testing.T) {
	r := newTUIRig(t)
	r.Model(func(m *model.Model) { m.Select("visa-se-phone") })
	r.Keys("p")
	r.Wait("state: locked")
	r.Keys("o")
	r.Wait("Personalise SE over the air", "SE owner:  the issuer (R-M1)")
	cards := tuiSECards()
	require.Contains(t, cards, "mc-se-phone")
	for range slices.Index(cards, "mc-se-phone") {
		r.Key(tcell.KeyRight)
	}
	r.Wait("< mc-se-phone >")
	r.Key(tcell.KeyDown)
	r.Key(tcell.KeyDown)
	r.Key(tcell.KeyRight)
	r.Wait("SE owner:  an SE operator, shared (R-M2)")
	r.Key(tcell.KeyEnter)
	r.Wait("OTP: ______", "the OTP is in the phone's inbox (i)")
	r.Keys("i")
	r.Wait("is your one-time password to put the")
	r.Key(tcell.KeyEscape)
	r.Wait("OTP: ______")

	// The issuer's ID&V sent it to the card's registered phone (R-S3c).
	to, _ := issuerhost.SampleContact("mc-se-phone")
	ms, err := r.s.backend.Inbox(context.Background(), to)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	otp := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(ms[len(ms)-1].Body)
	require.Len(t, otp, 6)
	r.Keys(otp)
	r.Key(tcell.KeyEnter)
	r.Wait("mc-se-phone added: card ending 0053 in the SE", "personalised over the air: card 541333******0053")

	var trace []string
	var name string
	r.Model(func(m *model.Model) {
		trace = append(trace, m.Trace[model.PaneProvisioning]...)
		name = m.SelectedCard()
	})
	require.True(t, strings.HasPrefix(name, "se-0053@"), name)
	all := strings.Join(trace, "\n")
	for _, want := range []string{"SE operator", "SP TSM", "OTA             INSTALL", "OTA             STORE DATA", "-> 9000", "personalised"} {
		require.Contains(t, all, want)
	}
	require.NotContains(t, all, otp, "the OTP shows only in the inbox")
	require.NotContains(t, all, "5413330089010053")

	r.Keys(lab.SEPhonePasscode + "u")
	r.Wait("unlocked with passcode")
	r.Key(tcell.KeyEscape)
	r.Wait("> + " + name)
	r.Keys("1500t")
	s := r.Wait("APPROVED", "DE39 00")
	require.Contains(t, s, name)
}

func TestTUIRulesFileAtTheAcquirer(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rf, []byte("rules:\n  - name: nsf-by-amount\n    match:\n      amount: {ends: \"51\"}\n    respond: \"51\"\n"), 0o600))
	s, err := startTUISession(context.Background(), t.TempDir(), tuiOptions{rules: rulesFlags{path: rf, poll: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	r := tuitest.Start(t, s.backend, tui.Options{SaveDir: t.TempDir()})
	r.Keys("150051")
	r.Wait("NT$1,500.51")
	r.Keys("t")
	r.Wait("DE39 51")
	r.Key(tcell.KeyTab)
	r.Wait("Trace: ISO 8583")
	r.Key(tcell.KeyTab)
	r.Wait("Trace: host log")
	log := strings.Join(s.backend.HostLog.Since(0), "\n")
	require.Contains(t, log, "rule nsf-by-amount fired: answer 51")
	require.Contains(t, log, "476173******0010")
	require.NotContains(t, log, "4761739001010010")
	var pane []string
	r.Model(func(m *model.Model) { pane = m.Last.Host })
	require.Contains(t, strings.Join(pane, "\n"), "rule nsf-by-amount fired", "the sale's host log pane")
}

func TestTUIBadRulesFileIsAUsageError(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rf, []byte("rules:\n  - name: x\n    respond: [\n"), 0o600))
	_, err := startTUISession(context.Background(), t.TempDir(), tuiOptions{issuerRules: rf})
	require.ErrorContains(t, err, "--issuer-rules")
}

// nextAnswer opens the next-answer menu and picks its line number line
// (from 0), which reads label.
func (r *tuiRig) nextAnswer(t *testing.T, line int, label string) {
	t.Helper()
	r.Keys("n")
	r.Wait("How the host answers the next sale")
	for range line {
		r.Key(tcell.KeyDown)
	}
	r.Wait("> " + label)
	r.Key(tcell.KeyEnter)
	r.Wait("the next sale is answered")
}

func TestTUINextAnswerForced51OnceOnly(t *testing.T) {
	r := newTUIRig(t)
	r.nextAnswer(t, 0, "51 insufficient funds")
	r.Wait("next: 51")
	r.Keys("150000t")
	scr := r.Wait("DECLINED", "DE39 51", "ready", "Not Authorised")
	require.NotContains(t, scr, "next: 51")
	var display string
	r.Model(func(m *model.Model) { display = m.Display })
	require.Equal(t, "Not Authorised", display, "no host reason to the cardholder")
	log := strings.Join(r.s.backend.HostLog.Since(0), "\n")
	require.Contains(t, log, "rule next-answer fired: answer 51")

	// The sale after it gets the host's normal answer.
	r.Keys("t")
	r.Wait("APPROVED", "DE39 00")
}

// startTUISessionWaiting starts a session with options o, and a copy of
// its backend whose terminals wait for the host's answer as long as wait.
func startTUISessionWaiting(t *testing.T, o tuiOptions, wait time.Duration) (*tuiSession, tui.Backend) {
	t.Helper()
	s, err := startTUISession(context.Background(), t.TempDir(), o)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	b := s.backend
	newTerm := b.NewTerminal
	b.NewTerminal = func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
		if cfg == nil {
			c, err := lab.TerminalConfig("")
			if err != nil {
				return nil, err
			}
			cfg = &c
		}
		cfg.ResponseTimeout = wait
		return newTerm(cfg, o)
	}
	return s, b
}

func TestTUINextAnswerNoAnswerReverses(t *testing.T) {
	s, b := startTUISessionWaiting(t, tuiOptions{}, 300*time.Millisecond)
	r := &tuiRig{Rig: tuitest.Start(t, b, tui.Options{SaveDir: t.TempDir()}), s: s}
	r.nextAnswer(t, 9, "no answer")
	r.Keys("150000t")
	r.Wait("No answer from host: reversed", "ready")
	require.Contains(t, strings.Join(s.backend.HostLog.Since(0), "\n"), "rule next-answer fired: no answer")
}

func TestTUINextAnswerPartialApproval(t *testing.T) {
	r := newTUIRig(t)
	r.nextAnswer(t, 7, "10 partial approval (half)")
	r.Keys("150000t")
	scr := r.Wait("APPROVED sale NT$750.00 of NT$1,500.00 requested", "Approved for a partial amount", "DE39 10", "balance:", "NT$0.00")
	require.NotContains(t, scr, "DECLINED")
}

// Esc while the terminal waits for the phone ends the sale: the customer
// display goes back to Welcome, not See Phone.
func TestTUIEscAfterSeePhoneClearsTheDisplay(t *testing.T) {
	r := newTUIRig(t)
	for range 3 {
		r.Key(tcell.KeyDown)
	}
	r.Wait("> hce-phone")
	r.Keys("150000t")
	r.Wait("See Phone", "waiting for the card")
	r.Key(tcell.KeyEscape)
	r.Wait("ready")
	var display string
	r.Model(func(m *model.Model) { display = m.Display })
	require.Equal(t, "Welcome", display)
}
