package tui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/tui/model"
)

// Binding is one entry of the key table: the keys it matches, the screens
// it applies on, its footer hint and help text, and its action.
type Binding struct {
	// Keys is how the footer and help name the keys ("0-9", "t/Enter").
	Keys string
	// Hint is the footer's word for it; "" keeps it off the footer.
	Hint string
	// Help is the help screen's line.
	Help string
	// Screens lists where the binding applies; none means everywhere.
	Screens []model.Screen

	match func(ev *tcell.EventKey) bool
	do    func(a *App, ev *tcell.EventKey)
}

func (b *Binding) on(s model.Screen) bool {
	if len(b.Screens) == 0 {
		return true
	}
	for _, x := range b.Screens {
		if x == s {
			return true
		}
	}
	return false
}

func runes(rs ...rune) func(*tcell.EventKey) bool {
	return func(ev *tcell.EventKey) bool {
		if ev.Key() != tcell.KeyRune {
			return false
		}
		for _, r := range rs {
			if ev.Rune() == r {
				return true
			}
		}
		return false
	}
}

func keys(ks ...tcell.Key) func(*tcell.EventKey) bool {
	return func(ev *tcell.EventKey) bool {
		for _, k := range ks {
			if ev.Key() == k {
				return true
			}
		}
		return false
	}
}

func either(f, g func(*tcell.EventKey) bool) func(*tcell.EventKey) bool {
	return func(ev *tcell.EventKey) bool { return f(ev) || g(ev) }
}

func digit(ev *tcell.EventKey) bool {
	return ev.Key() == tcell.KeyRune && ev.Rune() >= '0' && ev.Rune() <= '9'
}

var (
	mainS   = []model.Screen{model.ScreenMain}
	pinS    = []model.Screen{model.ScreenPIN}
	phoneS  = []model.Screen{model.ScreenPhone}
	histS   = []model.Screen{model.ScreenHistory}
	helpS   = []model.Screen{model.ScreenHelp}
	mainish = []model.Screen{model.ScreenMain, model.ScreenPhone}
	setS    = []model.Screen{model.ScreenSettings}
	editS   = []model.Screen{model.ScreenEdit}
	addS    = []model.Screen{model.ScreenAddCard}
	otpS    = []model.Screen{model.ScreenOTP}
	inboxS  = []model.Screen{model.ScreenInbox}
	nextS   = []model.Screen{model.ScreenNextAnswer}
)

// Bindings is the key table: the first binding that matches on the current
// screen runs. The footer and the help screen are printed from it.
var Bindings []Binding

func init() { Bindings = bindingTable() }

func bindingTable() []Binding {
	return []Binding{
		{Keys: "Ctrl-C", Help: "quit (stops the embedded hosts)", match: keys(tcell.KeyCtrlC), do: (*App).quit},
		{Keys: "?", Hint: "help", Help: "show this help", Screens: []model.Screen{model.ScreenMain, model.ScreenPhone, model.ScreenHistory, model.ScreenSettings},
			match: runes('?'), do: func(a *App, _ *tcell.EventKey) { a.back, a.helpRow = a.m.Screen, 0; a.m.Screen = model.ScreenHelp }},

		// Main screen.
		{Keys: "0-9", Hint: "amount", Help: "type the amount in minor units (1500 = 15.00)", Screens: mainS, match: digit,
			do: func(a *App, ev *tcell.EventKey) {
				if err := a.m.TypeDigit(ev.Rune()); err != nil {
					a.m.Notice = err.Error()
				}
				a.clearDisplay()
			}},
		{Keys: "Bksp", Help: "delete the amount's last digit", Screens: mainS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) { a.m.Backspace(); a.clearDisplay() }},
		{Keys: "Up/Down", Hint: "card", Help: "choose a card, phone, PC/SC reader (▣) or saved trace (↺) in the wallet", Screens: mainS,
			match: either(keys(tcell.KeyUp, tcell.KeyDown), runes('j', 'k')),
			do: func(a *App, ev *tcell.EventKey) {
				if ev.Key() == tcell.KeyUp || ev.Rune() == 'k' {
					a.m.Move(-1)
				} else {
					a.m.Move(1)
				}
				if !a.m.Busy {
					a.m.Notice = a.describe(a.m.SelectedCard())
				}
			}},
		{Keys: "t/Enter", Hint: "tap", Help: "tap the selected card or phone (again, after See Phone)", Screens: mainish,
			match: either(runes('t'), keys(tcell.KeyEnter)), do: func(a *App, _ *tcell.EventKey) { a.tap() }},
		{Keys: "x", Help: "replay a trace refused as a replay, once (issuer test setting)", Screens: mainS,
			match: runes('x'), do: func(a *App, _ *tcell.EventKey) { a.replayTolerant() }},
		{Keys: "T", Help: "tap with the next wallet card in the field too (collision)", Screens: mainS,
			match: runes('T'), do: func(a *App, _ *tcell.EventKey) { a.tapTwo() }},
		{Keys: "r", Hint: "sale/refund", Help: "switch between sale and refund", Screens: mainS, match: runes('r'),
			do: func(a *App, _ *tcell.EventKey) { a.m.ToggleType() }},
		{Keys: "v", Hint: "void", Help: "void the last approved sale not voided yet (h: any sale)", Screens: mainS, match: runes('v'), do: func(a *App, _ *tcell.EventKey) { a.void(nil) }},
		{Keys: "Tab", Hint: "trace", Help: "trace pane: APDU, ISO 8583, host log, provisioning, ISO raw hex", Screens: mainS, match: keys(tcell.KeyTab),
			do: func(a *App, _ *tcell.EventKey) { a.m.NextPane(); a.followTrace() }},
		{Keys: "p", Hint: "phone", Help: "open the selected phone's panel (unlock, card on/off, PAN)", Screens: mainS, match: runes('p'),
			do: func(a *App, _ *tcell.EventKey) {
				if a.m.Busy && !a.m.WaitingPhone {
					a.m.Notice = "the card is in the field: wait for the outcome"
					return
				}
				if _, _, ok := a.phone(); !ok {
					if readerName(a.m.SelectedCard()) == "" {
						a.m.Notice = "the selected card is not a phone"
					}
					return
				}
				a.m.Passcode, a.m.PhoneNote, a.confirmDelete = "", "", ""
				a.m.Screen = model.ScreenPhone
			}},
		{Keys: "h", Hint: "history", Help: "list the session's transactions", Screens: mainS, match: runes('h'),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = model.ScreenHistory }},
		{Keys: "s", Hint: "settings", Help: "terminal settings: limits, TTQ, country, currency, TID/MID", Screens: mainS, match: runes('s'),
			do: func(a *App, _ *tcell.EventKey) {
				a.m.Settings = settingsOf(a.term.Config())
				a.m.Screen = model.ScreenSettings
			}},
		{Keys: "i", Hint: "issuer", Help: "stop or start the embedded issuer host", Screens: mainS, match: runes('i'),
			do: func(a *App, _ *tcell.EventKey) { a.toggleIssuer() }},
		{Keys: "n", Hint: "next answer", Help: "force the host's answer to the next sale: a DE39, a delay, or none", Screens: mainS, match: runes('n'),
			do: func(a *App, _ *tcell.EventKey) { a.openNextAnswer() }},
		{Keys: "Esc", Help: "give up presenting the card again", Screens: mainS, match: keys(tcell.KeyEscape),
			do: func(a *App, _ *tcell.EventKey) {
				a.clearDisplay()
				if a.m.WaitingPhone {
					a.m.WaitingPhone = false
					select {
					case a.againCh <- false:
					default:
					}
					a.mu.Lock()
					if a.giveUp != nil {
						a.giveUp()
					}
					a.mu.Unlock()
				}
			}},
		{Keys: "q", Hint: "quit", Help: "quit (stops the embedded hosts)", Screens: mainS, match: runes('q'), do: (*App).quit},
		{Keys: "PgUp/Dn", Hint: "scroll", Help: "scroll the yellow-bordered pane (Home/End; mouse wheel too)", Screens: mainS,
			match: keys(tcell.KeyPgUp, tcell.KeyPgDn, tcell.KeyHome, tcell.KeyEnd), do: (*App).scrollKey},
		{Keys: "Left/Right", Help: "choose the pane PgUp/Dn scroll: outcome or trace (or click)", Screens: mainS,
			match: keys(tcell.KeyLeft, tcell.KeyRight), do: func(a *App, _ *tcell.EventKey) { a.switchFocus() }},

		// PIN pad.
		{Keys: "0-9", Hint: "PIN digit", Help: "type a PIN digit (shown as *)", Screens: pinS, match: digit,
			do: func(a *App, ev *tcell.EventKey) { a.m.TypePIN(ev.Rune()) }},
		{Keys: "Bksp", Hint: "clear", Help: "delete the last PIN digit", Screens: pinS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) {
				if n := len(a.m.PIN); n > 0 {
					a.m.PIN = a.m.PIN[:n-1]
				}
			}},
		{Keys: "Enter", Hint: "OK", Help: "send the PIN (no digits: PIN bypass)", Screens: pinS, match: keys(tcell.KeyEnter),
			do: func(a *App, _ *tcell.EventKey) {
				ans := pinAnswer{digits: a.m.PIN}
				if ans.digits == "" {
					ans.err = pinpad.ErrBypassed
				}
				a.answerPIN(ans)
			}},
		{Keys: "Esc", Hint: "cancel", Help: "cancel PIN entry (nothing is sent)", Screens: pinS, match: keys(tcell.KeyEscape),
			do: func(a *App, _ *tcell.EventKey) { a.answerPIN(pinAnswer{err: pinpad.ErrCancelled}) }},

		// Phone panel.
		{Keys: "0-9", Hint: "passcode", Help: "type the phone's passcode", Screens: phoneS, match: digit,
			do: func(a *App, ev *tcell.EventKey) { a.m.TypePasscode(ev.Rune()) }},
		{Keys: "Bksp", Help: "delete the passcode's last digit", Screens: phoneS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) {
				if n := len(a.m.Passcode); n > 0 {
					a.m.Passcode = a.m.Passcode[:n-1]
				}
			}},
		{Keys: "u", Hint: "unlock", Help: "unlock the phone with the typed passcode (CDCVM)", Screens: phoneS, match: runes('u'), do: (*App).unlock},
		{Keys: "b", Hint: "biometric", Help: "unlock the phone by biometric (CDCVM)", Screens: phoneS, match: runes('b'), do: (*App).biometric},
		{Keys: "c", Hint: "card on/off", Help: "switch the phone's card function on or off", Screens: phoneS, match: runes('c'), do: (*App).cardOnOff},
		{Keys: "f", Hint: "full PAN", Help: "show the full PAN (needs the typed passcode)", Screens: phoneS, match: runes('f'), do: (*App).fullPAN},
		{Keys: "n", Hint: "new keys", Help: "replenish an HCE phone's single-use keys from the issuer's cloud platform", Screens: phoneS, match: runes('n'), do: (*App).replenish},
		{Keys: "l", Hint: "lost", Help: "report the phone lost: tokens and cloud keys suspended, SE card marked lost", Screens: phoneS, match: runes('l'), do: (*App).reportLost},
		{Keys: "s/r/d/w", Hint: "token", Help: "wallet token: s suspend, r resume, d delete (twice), w read its state",
			Screens: phoneS,
			match:   runes('s', 'r', 'd', 'w'), do: func(a *App, ev *tcell.EventKey) {
				a.walletToken(map[rune]WalletAction{'s': WalletSuspend, 'r': WalletResume, 'd': WalletDelete, 'w': WalletRefresh}[ev.Rune()])
			}},
		{Keys: "a", Hint: "add card", Help: "add a sample card to the wallet of a new phone (token service, step-up OTP)", Screens: phoneS,
			match: runes('a'), do: func(a *App, _ *tcell.EventKey) { a.openAddCard() }},
		{Keys: "e", Hint: "HCE", Help: "enrol a new HCE phone: cloud platform, OTP, card and keys", Screens: phoneS,
			match: runes('e'), do: func(a *App, _ *tcell.EventKey) { a.openEnrolHCE() }},
		{Keys: "o", Help: "personalise a new phone's SE over the air (TSMs, OTP, OTA trace)", Screens: phoneS,
			match: runes('o'), do: func(a *App, _ *tcell.EventKey) { a.openPersonaliseSE() }},
		{Keys: "m", Hint: "inbox", Help: "read the inbox the last OTP went to (the issuer's message centre)", Screens: phoneS,
			match: runes('m'), do: func(a *App, _ *tcell.EventKey) { a.openInbox() }},
		{Keys: "Esc", Hint: "back", Help: "back to the terminal", Screens: phoneS, match: keys(tcell.KeyEscape),
			do: func(a *App, _ *tcell.EventKey) { a.m.Passcode = ""; a.m.Screen = model.ScreenMain }},

		// Add card to wallet.
		{Keys: "Up/Down", Hint: "field", Help: "choose a field: card, device ID, step-up", Screens: addS,
			match: either(keys(tcell.KeyUp, tcell.KeyDown, tcell.KeyTab, tcell.KeyBacktab), runes('j', 'k')),
			do: func(a *App, ev *tcell.EventKey) {
				if ev.Key() == tcell.KeyUp || ev.Key() == tcell.KeyBacktab || ev.Rune() == 'k' {
					a.m.Form.MoveField(-1)
				} else {
					a.m.Form.MoveField(1)
				}
			}},
		{Keys: "Left/Right", Hint: "change", Help: "another sample card; step-up on/off, SE owner (also Space)", Screens: addS,
			match: either(keys(tcell.KeyLeft, tcell.KeyRight), runes(' ')),
			do: func(a *App, ev *tcell.EventKey) {
				if ev.Key() == tcell.KeyLeft {
					a.m.Form.Change(-1)
				} else {
					a.m.Form.Change(1)
				}
			}},
		{Keys: "0-9 A-F", Help: "type the device ID in hex (1 to 8 bytes) or the mobile PIN", Screens: addS,
			match: func(ev *tcell.EventKey) bool {
				r := ev.Rune()
				return ev.Key() == tcell.KeyRune && (r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F')
			},
			do: func(a *App, ev *tcell.EventKey) { a.m.Form.TypeHex(ev.Rune()) }},
		{Keys: "Bksp", Help: "delete the device ID's or the mobile PIN's last digit", Screens: addS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) { a.m.Form.Backspace() }},
		{Keys: "Enter", Hint: "add", Help: "add the card: the flow runs, its steps in the provisioning trace", Screens: addS,
			match: keys(tcell.KeyEnter), do: func(a *App, _ *tcell.EventKey) { a.addCard() }},
		{Keys: "Esc", Hint: "cancel", Help: "back to the phone panel, nothing sent", Screens: addS, match: keys(tcell.KeyEscape),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = model.ScreenPhone }},

		// OTP modal.
		{Keys: "0-9", Hint: "OTP", Help: "type the one-time password (6 digits)", Screens: otpS, match: digit,
			do: func(a *App, ev *tcell.EventKey) { a.m.TypeOTP(ev.Rune()) }},
		{Keys: "Bksp", Help: "delete the OTP's last digit", Screens: otpS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) {
				if n := len(a.m.OTP); n > 0 {
					a.m.OTP = a.m.OTP[:n-1]
				}
			}},
		{Keys: "i", Hint: "inbox", Help: "read the phone's inbox (the issuer's message centre)", Screens: otpS, match: runes('i'),
			do: func(a *App, _ *tcell.EventKey) { a.openInbox() }},
		{Keys: "Enter", Hint: "send", Help: "send the OTP to the issuer", Screens: otpS, match: keys(tcell.KeyEnter),
			do: func(a *App, _ *tcell.EventKey) { a.answerOTP(false) }},
		{Keys: "Esc", Hint: "cancel", Help: "give up: no token", Screens: otpS, match: keys(tcell.KeyEscape),
			do: func(a *App, _ *tcell.EventKey) { a.answerOTP(true) }},

		// Inbox.
		{Keys: "r", Hint: "refresh", Help: "read the inbox again", Screens: inboxS, match: runes('r'),
			do: func(a *App, _ *tcell.EventKey) { a.openInbox() }},
		{Keys: "Esc", Hint: "back", Help: "back to the OTP (or the phone panel)", Screens: inboxS, match: either(keys(tcell.KeyEscape), runes('i', 'q')),
			do: func(a *App, _ *tcell.EventKey) { a.closeInbox() }},

		// Next answer.
		{Keys: "Up/Down", Hint: "choose", Help: "choose the next sale's answer", Screens: nextS,
			match: either(keys(tcell.KeyUp, tcell.KeyDown), runes('j', 'k')),
			do: func(a *App, ev *tcell.EventKey) {
				if ev.Key() == tcell.KeyUp || ev.Rune() == 'k' {
					a.m.NextCursor = max(a.m.NextCursor-1, 0)
				} else {
					a.m.NextCursor = min(a.m.NextCursor+1, len(nextChoices)-1)
				}
			}},
		{Keys: "0-9", Hint: "delay", Help: "type the delay in milliseconds", Screens: nextS, match: digit,
			do: func(a *App, ev *tcell.EventKey) {
				if a.m.NextDelay == defaultNextDelay || a.m.NextDelay == "0" {
					a.m.NextDelay = ""
				}
				if len(a.m.NextDelay) < 6 {
					a.m.NextDelay += string(ev.Rune())
				}
			}},
		{Keys: "Bksp", Help: "delete the delay's last digit", Screens: nextS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) {
				if n := len(a.m.NextDelay); n > 0 {
					a.m.NextDelay = a.m.NextDelay[:n-1]
				}
			}},
		{Keys: "Enter", Hint: "set", Help: "answer the next sale so (once)", Screens: nextS, match: keys(tcell.KeyEnter),
			do: func(a *App, _ *tcell.EventKey) { a.setNextAnswer() }},
		{Keys: "Esc", Hint: "back", Help: "back to the terminal, nothing changed", Screens: nextS, match: either(keys(tcell.KeyEscape), runes('q', 'n')),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = model.ScreenMain }},

		// History.
		{Keys: "Up/Down", Hint: "move", Help: "choose a transaction", Screens: histS,
			match: either(keys(tcell.KeyUp, tcell.KeyDown), runes('j', 'k')),
			do: func(a *App, ev *tcell.EventKey) {
				a.histRow = 0
				if ev.Key() == tcell.KeyUp || ev.Rune() == 'k' {
					a.m.MoveCursor(-1)
				} else {
					a.m.MoveCursor(1)
				}
			}},
		{Keys: "Tab", Hint: "trace", Help: "switch the shown trace: APDU, ISO 8583, host log, ISO raw hex", Screens: histS, match: keys(tcell.KeyTab),
			do: func(a *App, _ *tcell.EventKey) {
				if a.m.NextPane(); a.m.Pane == model.PaneProvisioning {
					a.m.NextPane()
				}
			}},
		{Keys: "PgUp/PgDn", Hint: "scroll", Help: "scroll the chosen transaction's receipt and trace", Screens: histS,
			match: keys(tcell.KeyPgUp, tcell.KeyPgDn),
			do: func(a *App, ev *tcell.EventKey) {
				page := pageOf(a.historyView)
				if ev.Key() == tcell.KeyPgUp {
					a.histRow = max(a.histRow-page, 0)
				} else {
					a.histRow = min(a.histRow+page, lastRow(a.historyView))
				}
			}},
		{Keys: "v", Hint: "void", Help: "void the chosen sale", Screens: histS, match: runes('v'),
			do: func(a *App, _ *tcell.EventKey) { a.void(a.m.Current()) }},
		{Keys: "y/n", Help: "after v: void the sale, or not (also Esc)", Screens: []model.Screen{model.ScreenMain, model.ScreenHistory},
			// A pending question is answered in dispatch; y alone says so.
			match: runes('y'), do: func(a *App, _ *tcell.EventKey) { a.m.Notice = "no void to confirm: v asks first" }},
		{Keys: "s", Hint: "save", Help: "save the full trace; a card's tap comes back as ↺ in the wallet", Screens: histS, match: runes('s'),
			do: func(a *App, _ *tcell.EventKey) { a.saveTrace() }},
		{Keys: "Esc", Hint: "back", Help: "back to the terminal", Screens: histS, match: either(keys(tcell.KeyEscape), runes('q', 'h')),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = model.ScreenMain }},

		// Settings.
		{Keys: "Up/Down", Hint: "move", Help: "choose a setting", Screens: setS,
			match: either(keys(tcell.KeyUp, tcell.KeyDown), runes('j', 'k')),
			do: func(a *App, ev *tcell.EventKey) {
				if ev.Key() == tcell.KeyUp || ev.Rune() == 'k' {
					a.m.MoveSetting(-1)
				} else {
					a.m.MoveSetting(1)
				}
			}},
		{Keys: "Enter", Hint: "edit", Help: "change the chosen setting", Screens: setS, match: keys(tcell.KeyEnter),
			do: func(a *App, _ *tcell.EventKey) {
				if a.m.SetCursor < len(a.m.Settings) {
					a.m.Edit = a.m.Settings[a.m.SetCursor].Value
					a.m.Screen = model.ScreenEdit
				}
			}},
		{Keys: "Esc", Hint: "back", Help: "back to the terminal", Screens: setS, match: either(keys(tcell.KeyEscape), runes('q', 's')),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = model.ScreenMain }},
		{Keys: "Bksp", Hint: "delete", Help: "delete the value's last character", Screens: editS, match: keys(tcell.KeyBackspace, tcell.KeyBackspace2),
			do: func(a *App, _ *tcell.EventKey) {
				if n := len(a.m.Edit); n > 0 {
					a.m.Edit = a.m.Edit[:n-1]
				}
			}},
		{Keys: "Enter", Hint: "apply", Help: "apply the value (from the next tap)", Screens: editS, match: keys(tcell.KeyEnter),
			do: func(a *App, _ *tcell.EventKey) { a.applyEdit() }},
		{Keys: "Esc", Hint: "cancel", Help: "leave the value as it was", Screens: editS, match: keys(tcell.KeyEscape),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = model.ScreenSettings }},
		{Keys: "text", Help: "type the new value", Screens: editS,
			match: func(ev *tcell.EventKey) bool { return ev.Key() == tcell.KeyRune && ev.Rune() > ' ' && ev.Rune() < 0x7f },
			do: func(a *App, ev *tcell.EventKey) {
				if len(a.m.Edit) < 40 {
					a.m.Edit += string(ev.Rune())
				}
			}},

		// Help.
		{Keys: "Up/Down", Hint: "scroll", Help: "scroll the help", Screens: helpS,
			match: either(keys(tcell.KeyUp, tcell.KeyDown, tcell.KeyPgUp, tcell.KeyPgDn), runes('j', 'k')),
			do: func(a *App, ev *tcell.EventKey) {
				switch {
				case ev.Key() == tcell.KeyUp || ev.Rune() == 'k':
					a.helpRow--
				case ev.Key() == tcell.KeyPgUp:
					a.helpRow -= 10
				case ev.Key() == tcell.KeyPgDn:
					a.helpRow += 10
				default:
					a.helpRow++
				}
				a.helpRow = min(max(a.helpRow, 0), strings.Count(HelpText(), "\n"))
			}},
		{Keys: "Esc", Hint: "back", Help: "close the help", Screens: helpS, match: either(keys(tcell.KeyEscape), runes('?', 'q')),
			do: func(a *App, _ *tcell.EventKey) { a.m.Screen = a.back }},
	}
}

// dispatch runs the first binding of the table that matches ev on the
// current screen, then redraws.
func (a *App) dispatch(ev *tcell.EventKey) {
	if a.confirmVoid != "" && ev.Key() != tcell.KeyCtrlC {
		a.answerVoid(ev)
		a.render()
		return
	}
	for i := range Bindings {
		b := &Bindings[i]
		if b.on(a.m.Screen) && b.match(ev) {
			b.do(a, ev)
			break
		}
	}
	a.render()
}

// FooterText lists the hints of the screen's bindings.
func FooterText(s model.Screen) string { return strings.Join(footerHints(s), "  ") }

// FooterLines is FooterText wrapped to width columns between hints, never
// inside one.
func FooterLines(s model.Screen, width int) []string {
	var lines []string
	line := ""
	for _, h := range footerHints(s) {
		switch {
		case line == "":
			line = h
		case len([]rune(line))+2+len([]rune(h)) <= width:
			line += "  " + h
		default:
			lines = append(lines, line)
			line = h
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func footerHints(s model.Screen) []string {
	var parts []string
	for _, b := range Bindings {
		if b.Hint != "" && b.on(s) && b.Keys != "?" {
			parts = append(parts, b.Keys+" "+b.Hint)
		}
	}
	for _, b := range Bindings {
		if b.Keys == "?" && b.on(s) {
			parts = append(parts, "? help")
			break
		}
	}
	return dedupe(parts)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// HelpText is the help screen: every binding, screen by screen.
func HelpText() string {
	var b strings.Builder
	for _, s := range []model.Screen{model.ScreenMain, model.ScreenPIN, model.ScreenPhone, model.ScreenHistory, model.ScreenSettings, model.ScreenEdit,
		model.ScreenAddCard, model.ScreenOTP, model.ScreenInbox, model.ScreenNextAnswer, model.ScreenHelp} {
		fmt.Fprintf(&b, "%s\n", strings.ToUpper(s.String()))
		for _, k := range Bindings {
			if len(k.Screens) > 0 && k.on(s) {
				fmt.Fprintf(&b, "  %-8s %s\n", k.Keys, k.Help)
			}
		}
	}
	b.WriteString("ANYWHERE\n")
	for _, k := range Bindings {
		if len(k.Screens) == 0 {
			fmt.Fprintf(&b, "  %-8s %s\n", k.Keys, k.Help)
		}
	}
	return b.String()
}

func (a *App) quit(*tcell.EventKey) { a.Stop() }

// clearDisplay puts the customer display back to Welcome once the last
// transaction's message is stale: a new amount is typed, or Esc.
func (a *App) clearDisplay() {
	if !a.m.Busy || a.m.WaitingPhone {
		a.m.Display, a.m.Status = kernel.MsgWelcome.String(), kernel.StatusIdle.String()
	}
}

func (a *App) answerPIN(ans pinAnswer) {
	a.m.PIN = ""
	a.m.Screen = model.ScreenMain
	select {
	case a.pinCh <- ans:
	default:
	}
}

func (a *App) withPhone(f func(name string, c cards.Card) string) {
	name, c, ok := a.phone()
	if !ok {
		a.m.PhoneNote = "not a phone"
		return
	}
	a.m.PhoneNote = f(name, c)
}

func (a *App) unlock(*tcell.EventKey) {
	a.withPhone(func(_ string, c cards.Card) string {
		ph, _ := cards.Phone(c)
		code := a.m.Passcode
		a.m.Passcode = ""
		if err := ph.Unlock(code); err != nil {
			return "unlock refused: " + err.Error()
		}
		return "unlocked with passcode: tap again (t)"
	})
}

func (a *App) biometric(*tcell.EventKey) {
	a.withPhone(func(_ string, c cards.Card) string {
		ph, _ := cards.Phone(c)
		if err := ph.UnlockBiometric(true); err != nil {
			return "biometric refused: " + err.Error()
		}
		return "unlocked by biometric: tap again (t)"
	})
}

func (a *App) cardOnOff(*tcell.EventKey) {
	a.withPhone(func(_ string, c cards.Card) string {
		ph, _ := cards.Phone(c)
		if ph.CardFunctionOn() {
			ph.CardOff()
			return "card function off"
		}
		ph.CardOn()
		return "card function on"
	})
}

func (a *App) fullPAN(*tcell.EventKey) {
	a.withPhone(func(_ string, c cards.Card) string {
		ph, _ := cards.Phone(c)
		code := a.m.Passcode
		a.m.Passcode = ""
		pans, err := ph.RevealPAN(code)
		if err != nil {
			return "full PAN refused: " + err.Error()
		}
		return "full PAN: " + strings.Join(pans, ", ")
	})
}

func (a *App) reportLost(*tcell.EventKey) {
	if a.b.ReportLost == nil {
		a.m.PhoneNote = "no issuer to report to"
		return
	}
	name := a.m.SelectedCard()
	a.m.PhoneNote = "reporting lost..."
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		summary, err := a.b.ReportLost(a.ctx, name)
		a.post(func(m *model.Model) {
			if err != nil {
				m.PhoneNote = "report lost: " + err.Error()
				return
			}
			m.PhoneNote = name + " reported lost: " + summary
		})
	}()
}

// replenish asks the issuer's cloud platform for new single-use keys for the
// selected HCE phone; the panel shows the keys left before and after.
func (a *App) replenish(*tcell.EventKey) {
	name, c, ok := a.phone()
	if !ok {
		a.m.PhoneNote = "not a phone"
		return
	}
	ph, _ := cards.Phone(c)
	switch {
	case ph.Kind() != phone.HCE:
		a.m.PhoneNote = "no single-use keys: not an HCE phone"
		return
	case a.b.Replenish == nil:
		a.m.PhoneNote = "no cloud platform to replenish from"
		return
	case a.refilling:
		return
	case a.m.Busy && !a.m.WaitingPhone:
		a.m.PhoneNote = "the phone is in the field: wait for the outcome"
		return
	}
	before := ph.KeysLeft()
	a.refilling = true
	a.m.PhoneNote = fmt.Sprintf("replenishing (%d keys left)...", before)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		n, err := a.b.Replenish(a.ctx, name, c)
		after := ph.KeysLeft()
		a.post(func(m *model.Model) {
			a.refilling = false
			switch {
			case err != nil:
				m.PhoneNote = err.Error()
			case n == 0:
				m.PhoneNote = fmt.Sprintf("no new keys: the cloud platform sees enough usable keys (keys left %d)", after)
			default:
				m.PhoneNote = fmt.Sprintf("replenished: %d keys loaded, keys left %d -> %d", n, before, after)
			}
		})
	}()
}

// answerVoid takes the answer to "void sale ...?": y voids it, n or Esc
// does not; other keys leave the question open.
func (a *App) answerVoid(ev *tcell.EventKey) {
	switch {
	case ev.Key() == tcell.KeyRune && (ev.Rune() == 'y' || ev.Rune() == 'Y'):
		stan := a.confirmVoid
		for i := range a.m.History {
			if e := &a.m.History[i]; e.STAN == stan && e.Kind == model.Sale.String() {
				a.void(e)
				return
			}
		}
		a.confirmVoid = ""
	case ev.Key() == tcell.KeyEscape || ev.Key() == tcell.KeyRune && (ev.Rune() == 'n' || ev.Rune() == 'N'):
		a.confirmVoid = ""
		a.m.Notice = "not voided"
	}
}
