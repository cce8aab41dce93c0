// Package model holds the state of tapsim's terminal UI: the amount being
// keyed, the transaction type, the wallet and its selection, what the
// customer display shows, the last outcome, the session's history and the
// trace lines. It knows nothing of the screen library: the widgets in
// package tui render it.
package model

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrAmount reports an amount that cannot be keyed (too many digits) or
// used (zero).
var ErrAmount = errors.New("model: bad amount")

// MaxAmountDigits bounds the digits of an amount (ISO 8583 field 4 is n12).
const MaxAmountDigits = 12

// TxType is the transaction keyed on the terminal.
type TxType int

// Transaction types.
const (
	Sale TxType = iota
	Refund
)

// String names the type ("sale", "refund").
func (t TxType) String() string {
	if t == Refund {
		return "refund"
	}
	return "sale"
}

// Pane is one of the switchable trace panes.
type Pane int

// Trace panes.
const (
	PaneAPDU Pane = iota
	PaneISO
	PaneHost
	// PaneProvisioning shows the steps of adding a card to a wallet.
	PaneProvisioning
	// PaneISOHex shows each ISO 8583 message as its frame's raw hex,
	// cardholder data and keys masked.
	PaneISOHex
	paneCount
)

// String names the pane.
func (p Pane) String() string {
	switch p {
	case PaneISO:
		return "ISO 8583"
	case PaneHost:
		return "host log"
	case PaneProvisioning:
		return "provisioning"
	case PaneISOHex:
		return "ISO 8583 raw hex"
	default:
		return "APDU"
	}
}

// Screen is what the UI shows in front.
type Screen int

// Screens.
const (
	ScreenMain Screen = iota
	ScreenPIN
	ScreenPhone
	ScreenHistory
	ScreenHelp
	ScreenSettings
	ScreenEdit
	// ScreenAddCard is the form of "Add card to wallet".
	ScreenAddCard
	// ScreenOTP asks for the one-time password of a step-up.
	ScreenOTP
	// ScreenInbox shows the cardholder's message centre.
	ScreenInbox
	// ScreenNextAnswer chooses how the host answers the next sale.
	ScreenNextAnswer
)

// String names the screen.
func (s Screen) String() string {
	switch s {
	case ScreenPIN:
		return "pin"
	case ScreenPhone:
		return "phone"
	case ScreenHistory:
		return "history"
	case ScreenHelp:
		return "help"
	case ScreenSettings:
		return "settings"
	case ScreenEdit:
		return "edit"
	case ScreenAddCard:
		return "add card"
	case ScreenOTP:
		return "otp"
	case ScreenInbox:
		return "inbox"
	case ScreenNextAnswer:
		return "next answer"
	default:
		return "main"
	}
}

// Entry is one finished transaction of the session, as shown in the outcome
// pane and the history. Every field is already masked.
type Entry struct {
	// Time is when the transaction ended.
	Time   time.Time
	Kind   string
	Card   string
	Amount int64
	// ApprovedAmount is the part of Amount a partial approval approved
	// (0 otherwise); Balance the available balance the host answered.
	ApprovedAmount int64
	Balance        *int64
	Status         string
	Message        string
	Approved       bool
	CVM            string
	DE39           string
	Meaning        string
	Reason         string
	// Kernel says in words why the kernel ended as it did.
	Kernel     string
	AuthCode   string
	PAN        string
	AID        string
	Label      string
	Cryptogram string
	STAN       string
	RRN        string
	// Voids is, for a void, the STAN of the sale it reverses.
	Voids     string
	Signature bool
	Receipt   string
	Err       string
	APDU      []string
	ISO       []string
	ISOHex    []string
	Host      []string
}

// Setting is one terminal setting: its name, its value as text and what it
// is.
type Setting struct {
	Name  string
	Value string
	Help  string
}

// MoveSetting moves the settings cursor by delta.
func (m *Model) MoveSetting(delta int) {
	if len(m.Settings) == 0 {
		return
	}
	m.SetCursor = min(max(m.SetCursor+delta, 0), len(m.Settings)-1)
}

// Model is the UI state. It is not safe for concurrent use: the UI
// goroutine owns it.
type Model struct {
	// Currency is the currency's display prefix ("NT$") and Exponent the
	// number of minor-unit digits.
	Currency string
	Exponent int

	digits string
	// Type is sale or refund.
	Type TxType

	// Wallet lists the cards and phones; Selected indexes it.
	Wallet   []string
	Selected int

	// Display is the customer display's message, Status the reader
	// status under it.
	Display string
	Status  string
	// Busy is true while a transaction runs.
	Busy bool
	// WaitingPhone is true while the terminal waits for the phone to be
	// presented again (See Phone).
	WaitingPhone bool

	// NextCursor is the chosen line of the next-answer menu, NextDelay
	// the delay typed there in milliseconds, and NextAnswer what the host
	// will answer the next sale ("" for its normal answer).
	NextCursor int
	NextDelay  string
	NextAnswer string

	// PIN is the PIN being typed on the PIN pad.
	PIN string
	// Passcode is what is typed on the phone panel.
	Passcode string
	// PhoneNote is the phone panel's last message.
	PhoneNote string

	// Last is the latest finished transaction, nil before the first.
	Last *Entry
	// History holds every finished transaction, oldest first; Cursor
	// indexes it on the history screen.
	History []Entry
	Cursor  int

	// Trace holds the lines of the running (or last) transaction, per
	// pane; Pane is the one shown.
	Trace map[Pane][]string
	Pane  Pane

	// Settings are the terminal settings shown on the settings screen,
	// SetCursor the one chosen and Edit the value being typed.
	Settings  []Setting
	SetCursor int
	Edit      string

	// Form is the "Add card to wallet" form; Adding is true while a card
	// is being added.
	Form   AddCardForm
	Adding bool
	// OTP is the one-time password being typed, OTPNote what the OTP
	// modal says (where the OTP went, tries left).
	OTP     string
	OTPNote string
	// Inbox holds the lines of the message centre shown on the inbox
	// screen, InboxOf whose it is.
	Inbox   []string
	InboxOf string

	// Screen is in front.
	Screen Screen
	// Notice is a one-line message for the tester (errors, saved files).
	Notice string
}

// New returns the model of an idle terminal with a wallet.
func New(currency string, exponent int, wallet []string) *Model {
	return &Model{
		Currency: currency,
		Exponent: exponent,
		Wallet:   append([]string(nil), wallet...),
		Display:  "Welcome",
		Status:   "Idle",
		Trace:    map[Pane][]string{},
	}
}

// TypeDigit appends a digit to the amount.
func (m *Model) TypeDigit(d rune) error {
	if d < '0' || d > '9' {
		return fmt.Errorf("%w: %q is not a digit", ErrAmount, d)
	}
	if m.digits == "" && d == '0' {
		return nil
	}
	if len(m.digits) >= MaxAmountDigits {
		return fmt.Errorf("%w: at most %d digits", ErrAmount, MaxAmountDigits)
	}
	m.digits += string(d)
	return nil
}

// Backspace removes the amount's last digit.
func (m *Model) Backspace() {
	if m.digits != "" {
		m.digits = m.digits[:len(m.digits)-1]
	}
}

// ClearAmount empties the amount.
func (m *Model) ClearAmount() { m.digits = "" }

// Amount is the keyed amount in minor units.
func (m *Model) Amount() int64 {
	var v int64
	for _, c := range m.digits {
		v = v*10 + int64(c-'0')
	}
	return v
}

// SetAmount sets the amount in minor units.
func (m *Model) SetAmount(v int64) error {
	if v < 0 {
		return fmt.Errorf("%w: negative", ErrAmount)
	}
	s := ""
	if v > 0 {
		s = fmt.Sprint(v)
	}
	if len(s) > MaxAmountDigits {
		return fmt.Errorf("%w: at most %d digits", ErrAmount, MaxAmountDigits)
	}
	m.digits = s
	return nil
}

// FormatAmount prints minor units with the currency: "NT$1,500.00".
func (m *Model) FormatAmount(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	div := int64(1)
	for i := 0; i < m.Exponent; i++ {
		div *= 10
	}
	whole := fmt.Sprint(v / div)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	s := m.Currency + b.String()
	if m.Exponent > 0 {
		s += fmt.Sprintf(".%0*d", m.Exponent, v%div)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ToggleType switches between sale and refund.
func (m *Model) ToggleType() {
	if m.Type == Sale {
		m.Type = Refund
	} else {
		m.Type = Sale
	}
}

// Move moves the wallet selection by delta, staying in the list.
func (m *Model) Move(delta int) {
	if len(m.Wallet) == 0 {
		return
	}
	m.Selected = min(max(m.Selected+delta, 0), len(m.Wallet)-1)
}

// SelectedCard is the selected wallet entry, "" when the wallet is empty.
func (m *Model) SelectedCard() string {
	if m.Selected < 0 || m.Selected >= len(m.Wallet) {
		return ""
	}
	return m.Wallet[m.Selected]
}

// Select selects the wallet entry name and reports whether it is there.
func (m *Model) Select(name string) bool {
	for i, w := range m.Wallet {
		if w == name {
			m.Selected = i
			return true
		}
	}
	return false
}

// CanTap reports why a tap cannot start now, nil when it can.
func (m *Model) CanTap() error {
	if m.Busy {
		return errors.New("model: a transaction is running")
	}
	if m.SelectedCard() == "" {
		return errors.New("model: no card selected")
	}
	if m.Amount() <= 0 {
		return fmt.Errorf("%w: type an amount first", ErrAmount)
	}
	return nil
}

// Begin starts a transaction: the traces are cleared and the display asks
// for the card.
func (m *Model) Begin() {
	m.Busy = true
	m.WaitingPhone = false
	m.Trace = map[Pane][]string{}
	m.Display = "Present Card"
	m.Status = "Ready to Read"
	m.Notice = ""
}

// AddTrace appends lines to a pane.
func (m *Model) AddTrace(p Pane, lines ...string) {
	if m.Trace == nil {
		m.Trace = map[Pane][]string{}
	}
	m.Trace[p] = append(m.Trace[p], lines...)
}

// NextPane shows the next trace pane.
func (m *Model) NextPane() { m.Pane = (m.Pane + 1) % paneCount }

// Finish ends the running transaction with e: it becomes Last and joins the
// history with the traces gathered.
func (m *Model) Finish(e Entry) {
	m.Busy = false
	m.WaitingPhone = false
	e.APDU = append([]string(nil), m.Trace[PaneAPDU]...)
	e.ISO = append([]string(nil), m.Trace[PaneISO]...)
	e.ISOHex = append([]string(nil), m.Trace[PaneISOHex]...)
	e.Host = append([]string(nil), m.Trace[PaneHost]...)
	m.History = append(m.History, e)
	m.Cursor = len(m.History) - 1
	m.Last = &m.History[len(m.History)-1]
}

// ErrNotVoidable reports a history entry that cannot be voided.
var ErrNotVoidable = errors.New("model: cannot be voided")

// Voided reports whether an approved void reversed the sale with STAN stan.
func (m *Model) Voided(stan string) bool {
	for _, e := range m.History {
		if e.Kind == "void" && e.Approved && e.Voids == stan {
			return true
		}
	}
	return false
}

// CanVoid reports why e cannot be voided, nil when it can: it must be an
// approved sale the host saw (a STAN) and not voided yet.
func (m *Model) CanVoid(e *Entry) error {
	switch {
	case e == nil:
		return fmt.Errorf("%w: no transaction chosen", ErrNotVoidable)
	case e.Kind != "sale" || !e.Approved:
		return fmt.Errorf("%w: only an approved sale can be voided", ErrNotVoidable)
	case e.STAN == "":
		return fmt.Errorf("%w: approved offline, the host has not seen it", ErrNotVoidable)
	case m.Voided(e.STAN):
		return fmt.Errorf("%w: sale %s is voided already", ErrNotVoidable, e.STAN)
	}
	return nil
}

// LastVoidable is the latest sale that can be voided, nil when there is
// none.
func (m *Model) LastVoidable() *Entry {
	for i := len(m.History) - 1; i >= 0; i-- {
		if m.CanVoid(&m.History[i]) == nil {
			return &m.History[i]
		}
	}
	return nil
}

// MoveCursor moves the history cursor by delta.
func (m *Model) MoveCursor(delta int) {
	if len(m.History) == 0 {
		return
	}
	m.Cursor = min(max(m.Cursor+delta, 0), len(m.History)-1)
}

// Current is the history entry under the cursor, nil when there is none.
func (m *Model) Current() *Entry {
	if m.Cursor < 0 || m.Cursor >= len(m.History) {
		return nil
	}
	return &m.History[m.Cursor]
}

// TypePIN appends a digit to the PIN being typed (at most 12).
func (m *Model) TypePIN(d rune) {
	if d >= '0' && d <= '9' && len(m.PIN) < 12 {
		m.PIN += string(d)
	}
}

// MaskedPIN is one asterisk per typed digit.
func (m *Model) MaskedPIN() string { return strings.Repeat("*", len(m.PIN)) }

// TypePasscode appends a digit to the phone passcode being typed.
func (m *Model) TypePasscode(d rune) {
	if d >= '0' && d <= '9' && len(m.Passcode) < 12 {
		m.Passcode += string(d)
	}
}

// Report is the full trace of an entry as text a tester attaches to a bug
// report: the outcome, the receipt, the APDUs, the ISO 8583 messages and the
// host log.
func (e *Entry) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tapsim transaction %s %s on %s\n", e.Kind, e.STAN, e.Card)
	fmt.Fprintf(&b, "outcome: %s (%s)\n", e.Message, e.Status)
	fmt.Fprintf(&b, "amount: %d\ncvm: %s\nde39: %s %s\nreason: %s\nkernel: %s\nauth: %s\npan: %s\naid: %s %s\n",
		e.Amount, e.CVM, e.DE39, e.Meaning, e.Reason, e.Kernel, e.AuthCode, e.PAN, e.AID, e.Label)
	if e.Err != "" {
		fmt.Fprintf(&b, "error: %s\n", e.Err)
	}
	section := func(name string, lines []string) {
		fmt.Fprintf(&b, "\n## %s\n", name)
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	section("receipt", strings.Split(strings.TrimRight(e.Receipt, "\n"), "\n"))
	section("apdu", e.APDU)
	section("iso8583", e.ISO)
	section("host", e.Host)
	return b.String()
}

// Fields of the "Add card to wallet" form.
const (
	FieldCard = iota
	FieldDevice
	FieldStepUp
	// FieldPIN is the mobile PIN of an HCE card that needs one (only
	// then is it a field of the form).
	FieldPIN
	fieldCount
)

// MaxMobilePINDigits bounds a mobile PIN.
const MaxMobilePINDigits = 12

// MaxDeviceIDDigits bounds a device ID: 8 bytes in hex.
const MaxDeviceIDDigits = 16

// AddCardForm is the "Add card to wallet" form: which funding card, the
// new phone's device ID (hex) and whether the issuer steps up.
type AddCardForm struct {
	Cards    []string
	Card     int
	DeviceID string
	StepUp   bool
	// HCE makes it the "Enrol HCE phone" form: the card is enrolled with
	// the issuer's cloud platform, which always verifies the cardholder
	// by OTP (StepUp does not change).
	HCE bool
	// SE makes it the "Personalise SE over the air" form: the card is
	// personalised into a new phone's secure element through the TSMs,
	// the cardholder verified by OTP; the step-up field chooses who owns
	// the SE instead: Shared, an SE operator (R-M2), else the issuer
	// (R-M1).
	SE, Shared bool
	// PINCards are the cards of Cards that need a mobile PIN (HCE
	// Mastercard-like cards); MobilePIN is the one typed.
	PINCards  []string
	MobilePIN string
	// Field is the field being changed.
	Field int
}

// SelectedCard is the funding card chosen, "" when none is offered.
func (f *AddCardForm) SelectedCard() string {
	if f.Card < 0 || f.Card >= len(f.Cards) {
		return ""
	}
	return f.Cards[f.Card]
}

// MoveField moves to the next (delta 1) or previous field.
func (f *AddCardForm) MoveField(delta int) {
	n := fieldCount
	if !f.NeedsPIN() {
		n = FieldPIN
	}
	f.Field = ((f.Field+delta)%n + n) % n
}

// NeedsPIN reports whether the card chosen needs a mobile PIN.
func (f *AddCardForm) NeedsPIN() bool {
	c := f.SelectedCard()
	for _, p := range f.PINCards {
		if p == c {
			return true
		}
	}
	return false
}

// Change changes the current field by delta: the next or previous card,
// step-up on or off (an SE form: the SE's owner).
func (f *AddCardForm) Change(delta int) {
	switch f.Field {
	case FieldCard:
		if n := len(f.Cards); n > 0 {
			f.Card = ((f.Card+delta)%n + n) % n
		}
	case FieldStepUp:
		switch {
		case f.SE:
			f.Shared = !f.Shared
		case !f.HCE:
			f.StepUp = !f.StepUp
		}
	}
}

// TypeHex appends a hex digit to the device ID (upper case) when that
// field is current, or a digit to the mobile PIN when that one is.
func (f *AddCardForm) TypeHex(r rune) {
	if f.Field == FieldPIN {
		if r >= '0' && r <= '9' && len(f.MobilePIN) < MaxMobilePINDigits {
			f.MobilePIN += string(r)
		}
		return
	}
	if f.Field != FieldDevice || len(f.DeviceID) >= MaxDeviceIDDigits {
		return
	}
	switch {
	case r >= '0' && r <= '9', r >= 'A' && r <= 'F':
	case r >= 'a' && r <= 'f':
		r -= 'a' - 'A'
	default:
		return
	}
	f.DeviceID += string(r)
}

// Backspace deletes the last digit of the device ID or the mobile PIN,
// whichever field is current.
func (f *AddCardForm) Backspace() {
	if f.Field == FieldDevice && f.DeviceID != "" {
		f.DeviceID = f.DeviceID[:len(f.DeviceID)-1]
	}
	if f.Field == FieldPIN && f.MobilePIN != "" {
		f.MobilePIN = f.MobilePIN[:len(f.MobilePIN)-1]
	}
}

// Check reports why the form cannot be sent, nil when it can.
func (f *AddCardForm) Check() error {
	switch {
	case f.SelectedCard() == "":
		return errors.New("model: no card to add")
	case f.DeviceID == "" || len(f.DeviceID)%2 != 0:
		return errors.New("model: the device ID is 1 to 8 bytes in hex (an even number of digits)")
	case f.NeedsPIN() && len(f.MobilePIN) < 4:
		return errors.New("model: the card needs a mobile PIN of 4 to 12 digits")
	}
	return nil
}

// TypeOTP appends a digit to the OTP (6 digits at most).
func (m *Model) TypeOTP(d rune) {
	if d >= '0' && d <= '9' && len(m.OTP) < 6 {
		m.OTP += string(d)
	}
}
