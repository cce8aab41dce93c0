package tui

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rivo/tview"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/tui/model"
)

// ErrOTPCancelled reports that the tester closed the OTP modal without
// sending a code.
var ErrOTPCancelled = errors.New("tui: OTP entry cancelled")

// WalletAdd asks the backend to add a sample plastic card to the wallet of
// a new phone (Backend.AddToWallet).
type WalletAdd struct {
	// Card is the funding card, one of Backend.FundingCards.
	Card string
	// DeviceID is the new phone's hardware device ID (hex).
	DeviceID string
	// StepUp asks the issuer to verify the cardholder with an OTP.
	StepUp bool
	// MobilePIN is the mobile PIN the cardholder sets for an HCE card
	// that needs one (Backend.HCEPINCards); the phone uses it at each
	// tap.
	MobilePIN string
	// Shared asks for an SE shared with an SE operator (R-M2) rather than
	// one the issuer owns (R-M1), for PersonaliseSE.
	Shared bool
	// Step reports each step of the flow, already masked.
	Step func(name, detail string)
	// Trace reports each OTA command of an SE download: its name and
	// status word, never its data.
	Trace func(line string)
	// OTP asks the tester for the one-time password; it returns
	// ErrOTPCancelled when the tester gives up.
	OTP func(ctx context.Context, q OTPAsk) (string, error)
}

// OTPAsk is what the OTP modal tells the tester.
type OTPAsk struct {
	// Recipient names the inbox the OTP went to (Backend.Inbox); Masked
	// is how it is shown.
	Recipient, Masked string
	// TriesLeft counts the tries left after a wrong code, -1 on the first
	// ask.
	TriesLeft int
}

// WalletAdded is what adding a card gave.
type WalletAdded struct {
	// Name is the new wallet entry and Card its phone; Card is nil when
	// no token reached the phone.
	Name string
	Card cards.Card
	// Info describes the new phone (its passcode, the token masked).
	Info CardInfo
	// Note says in one line how it ended: token active, declined (and
	// why), OTP locked.
	Note string
}

// InboxMessage is one message of the issuer's message centre, as the
// phone shows it (an OTP is there as an SMS would show it).
type InboxMessage struct {
	At                  time.Time
	Channel, Kind, Body string
}

// WalletAction is what the cardholder does with a wallet phone's token
// from the phone panel (Backend.WalletToken).
type WalletAction string

// The cardholder's actions on a wallet token.
const (
	// WalletRefresh reads the token's state from the wallet provider.
	WalletRefresh WalletAction = "refresh"
	// WalletSuspend suspends the token: taps are declined.
	WalletSuspend WalletAction = "suspend"
	// WalletResume lifts the cardholder's own suspension.
	WalletResume WalletAction = "resume"
	// WalletDelete deletes the token for good.
	WalletDelete WalletAction = "delete"
)

// ErrNoWalletToken reports that a wallet entry holds no wallet app's token
// (a plastic card, an SE or HCE phone).
var ErrNoWalletToken = errors.New("tui: no wallet token on this phone")

// walletToken runs action on the selected phone's wallet token off the UI
// goroutine; a delete asks to be confirmed by a second d.
func (a *App) walletToken(action WalletAction) {
	name, _, ok := a.phone()
	switch {
	case !ok:
		a.m.PhoneNote = "not a phone"
		return
	case a.b.WalletToken == nil:
		a.m.PhoneNote = "no wallet provider to ask"
		return
	case action == WalletDelete && a.confirmDelete != name:
		a.confirmDelete = name
		a.m.PhoneNote = "d again deletes the token from the wallet for good"
		return
	}
	a.confirmDelete = ""
	a.m.PhoneNote = string(action) + "..."
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		state, err := a.b.WalletToken(a.ctx, name, action)
		a.post(func(m *model.Model) {
			switch {
			case errors.Is(err, ErrNoWalletToken):
				m.PhoneNote = name + " holds no wallet token: s, r, d and w act on a wallet phone's token"
			case err != nil:
				m.PhoneNote = string(action) + ": " + err.Error()
			default:
				m.PhoneNote = fmt.Sprintf("token %s: %s", action, state)
			}
		})
	}()
}

// ProvisionedMark precedes a wallet entry added on the phone panel.
const ProvisionedMark = "+ "

type otpAnswer struct {
	code string
	err  error
}

// newDeviceID is a fresh device ID for the form.
func (a *App) newDeviceID() string {
	if a.b.NewDeviceID != nil {
		return a.b.NewDeviceID()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%X", b)
}

// openAddCard opens the "Add card to wallet" form.
func (a *App) openAddCard() {
	switch {
	case a.b.AddToWallet == nil || len(a.b.FundingCards) == 0:
		a.m.PhoneNote = "no provisioning services to add a card with"
		return
	case a.m.Adding:
		a.m.PhoneNote = "a card is being added: wait for it"
		return
	}
	a.m.Form = model.AddCardForm{Cards: a.b.FundingCards, DeviceID: a.newDeviceID(), StepUp: true}
	a.m.Screen = model.ScreenAddCard
}

// openEnrolHCE opens the "Enrol HCE phone" form.
func (a *App) openEnrolHCE() {
	switch {
	case a.b.EnrolHCE == nil || len(a.b.HCECards) == 0:
		a.m.PhoneNote = "no cloud platform to enrol a phone with"
		return
	case a.m.Adding:
		a.m.PhoneNote = "a card is being added: wait for it"
		return
	}
	a.m.Form = model.AddCardForm{Cards: a.b.HCECards, DeviceID: a.newDeviceID(), StepUp: true, HCE: true,
		PINCards: a.b.HCEPINCards}
	a.m.Screen = model.ScreenAddCard
}

// openPersonaliseSE opens the "Personalise SE over the air" form.
func (a *App) openPersonaliseSE() {
	switch {
	case a.b.PersonaliseSE == nil || len(a.b.SECards) == 0:
		a.m.PhoneNote = "no TSMs to personalise a secure element with"
		return
	case a.m.Adding:
		a.m.PhoneNote = "a card is being added: wait for it"
		return
	}
	a.m.Form = model.AddCardForm{Cards: a.b.SECards, DeviceID: a.newDeviceID(), StepUp: true, SE: true}
	a.m.Screen = model.ScreenAddCard
}

// addCard sends the form: the flow runs on its own goroutine, the OTP
// modal opens when the issuer steps up and the new phone joins the wallet
// when its token arrives.
func (a *App) addCard() {
	m := a.m
	f := m.Form
	if err := f.Check(); err != nil {
		m.Notice = err.Error()
		return
	}
	m.Adding = true
	m.Notice = ""
	m.Trace[model.PaneProvisioning] = nil
	m.Pane = model.PaneProvisioning
	m.PhoneNote = fmt.Sprintf("adding %s to device %s...", f.SelectedCard(), f.DeviceID)
	run := a.b.AddToWallet
	if f.HCE {
		m.PhoneNote = fmt.Sprintf("enrolling device %s for %s with the cloud platform...", f.DeviceID, f.SelectedCard())
		run = a.b.EnrolHCE
	}
	if f.SE {
		m.PhoneNote = fmt.Sprintf("personalising the SE of device %s with %s over the air...", f.DeviceID, f.SelectedCard())
		run = a.b.PersonaliseSE
	}
	m.Screen = model.ScreenPhone
	req := WalletAdd{
		Card: f.SelectedCard(), DeviceID: f.DeviceID, StepUp: f.StepUp, OTP: a.askOTP,
		Step: func(name, detail string) {
			line := fmt.Sprintf("%-15s %s", name, detail)
			a.post(func(m *model.Model) { m.AddTrace(model.PaneProvisioning, line) })
		},
	}
	if f.NeedsPIN() {
		req.MobilePIN = f.MobilePIN
	}
	if f.SE {
		req.Shared = f.Shared
		req.Trace = func(line string) {
			line = fmt.Sprintf("%-15s %s", "OTA", line)
			a.post(func(m *model.Model) { m.AddTrace(model.PaneProvisioning, line) })
		}
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		res, err := run(a.ctx, req)
		a.post(func(m *model.Model) { a.added(m, req, res, err) })
	}()
}

// added ends adding a card (UI goroutine).
func (a *App) added(m *model.Model, req WalletAdd, res WalletAdded, err error) {
	m.Adding = false
	m.OTP, m.OTPNote = "", ""
	if m.Screen == model.ScreenOTP || m.Screen == model.ScreenInbox {
		m.Screen = model.ScreenPhone
	}
	switch {
	case errors.Is(err, ErrOTPCancelled):
		m.PhoneNote = "add card: OTP entry cancelled, no token"
		return
	case err != nil:
		m.PhoneNote = "add card: " + err.Error()
		return
	case res.Card == nil || res.Name == "":
		m.PhoneNote = "no token: " + res.Note
		return
	}
	a.mu.Lock()
	a.cardsByName[res.Name], a.readers[res.Name] = res.Card, inproc.New(res.Card)
	a.mu.Unlock()
	a.provisioned[res.Name] = res.Info
	if !m.Select(res.Name) {
		m.Wallet = append(m.Wallet, res.Name)
		m.Select(res.Name)
	}
	m.Passcode = ""
	m.PhoneNote = fmt.Sprintf("%s added: %s", req.Card, res.Note)
}

// askOTP is WalletAdd.OTP: it opens the OTP modal and waits for the
// tester (flow goroutine).
func (a *App) askOTP(ctx context.Context, q OTPAsk) (string, error) {
	select { // a stale answer
	case <-a.otpCh:
	default:
	}
	a.post(func(m *model.Model) {
		a.inboxOf = q.Recipient
		m.InboxOf = q.Masked
		m.OTP = ""
		m.OTPNote = "sent to " + q.Masked + ": the OTP is in the phone's inbox (i)"
		if q.TriesLeft >= 0 {
			m.OTPNote = fmt.Sprintf("wrong OTP: %d tries left (the phone's inbox, i, holds the OTP sent to %s)", q.TriesLeft, q.Masked)
		}
		if m.Screen != model.ScreenInbox {
			m.Screen = model.ScreenOTP
		}
	})
	select {
	case ans := <-a.otpCh:
		return ans.code, ans.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// answerOTP sends the typed OTP, or cancels.
func (a *App) answerOTP(cancel bool) {
	ans := otpAnswer{code: a.m.OTP}
	switch {
	case cancel:
		ans = otpAnswer{err: ErrOTPCancelled}
	case len(a.m.OTP) != 6:
		a.m.OTPNote = "the OTP has 6 digits"
		return
	}
	a.m.OTP = ""
	a.m.OTPNote = "checking..."
	if cancel {
		a.m.Screen = model.ScreenPhone
	}
	select {
	case a.otpCh <- ans:
	default:
	}
}

// openInbox shows the message centre of the OTP's recipient, read off the
// UI goroutine.
func (a *App) openInbox() {
	if a.b.Inbox == nil || a.inboxOf == "" {
		a.m.OTPNote, a.m.PhoneNote = "no inbox to read", "no inbox yet: an OTP goes to one when a card is added with a step-up"
		return
	}
	a.m.Screen = model.ScreenInbox
	a.m.Inbox = []string{"reading..."}
	to := a.inboxOf
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ms, err := a.b.Inbox(a.ctx, to)
		lines := make([]string, 0, len(ms))
		for _, msg := range ms {
			lines = append(lines, fmt.Sprintf("%s %-5s %s", msg.At.UTC().Format("15:04:05"), msg.Channel, msg.Body))
		}
		switch {
		case err != nil:
			lines = []string{"inbox: " + err.Error()}
		case len(lines) == 0:
			lines = []string{"no messages"}
		}
		a.post(func(m *model.Model) { m.Inbox = lines })
	}()
}

// closeInbox goes back to the OTP modal while one is asked, else to the
// phone panel.
func (a *App) closeInbox() {
	if a.m.Adding && a.m.OTPNote != "" {
		a.m.Screen = model.ScreenOTP
		return
	}
	a.m.Screen = model.ScreenPhone
}

func addCardText(m *model.Model) string {
	if m.Screen != model.ScreenAddCard {
		return ""
	}
	f := &m.Form
	mark := func(i int) string {
		if f.Field == i {
			return "> "
		}
		return "  "
	}
	step := "no (the issuer approves)"
	if f.StepUp {
		step = "yes (OTP to the cardholder)"
	}
	intro := "A new phone adds a sample plastic card to its wallet.\n\n"
	stepName := "step-up:  "
	if f.HCE {
		step = "always (OTP to the cardholder)"
		intro = "A new HCE phone enrols a card with the cloud platform.\n\n"
	}
	if f.SE {
		stepName, step = "SE owner: ", "the issuer (R-M1)"
		if f.Shared {
			step = "an SE operator, shared (R-M2)"
		}
		intro = "The TSMs put a card in a new phone's SE over the air.\n\n"
	}
	dev := f.DeviceID
	if f.Field == model.FieldDevice {
		dev = "[::u]" + dev + "_[::-]"
	}
	var b strings.Builder
	b.WriteString(intro)
	fmt.Fprintf(&b, "%scard:      < %s >\n", mark(model.FieldCard), tview.Escape(f.SelectedCard()))
	fmt.Fprintf(&b, "%sdevice ID: %s\n", mark(model.FieldDevice), dev)
	fmt.Fprintf(&b, "%s%s %s\n", mark(model.FieldStepUp), stepName, step)
	if f.HCE && f.NeedsPIN() {
		pin := strings.Repeat("*", len(f.MobilePIN))
		if f.Field == model.FieldPIN {
			pin = "[::u]" + pin + "_[::-]"
		}
		fmt.Fprintf(&b, "%smobile PIN: %s\n", mark(model.FieldPIN), pin)
	}
	return b.String()
}

func otpText(m *model.Model) string {
	if m.Screen != model.ScreenOTP {
		return ""
	}
	return fmt.Sprintf("The issuer asks for a one-time password.\n\nOTP: [::b]%s[::-]\n\n%s",
		m.OTP+strings.Repeat("_", 6-len(m.OTP)), tview.Escape(m.OTPNote))
}

func inboxText(m *model.Model) string {
	if m.Screen != model.ScreenInbox {
		return ""
	}
	return tview.Escape(strings.Join(m.Inbox, "\n"))
}
