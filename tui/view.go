package tui

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

// Page names.
const (
	pageMain    = "main"
	pagePIN     = "pin"
	pagePhone   = "phone"
	pageHistory = "history"
	pageHelp    = "help"
	pageSet     = "settings"
	pageAdd     = "add card"
	pageOTP     = "otp"
	pageInbox   = "inbox"
	pageNext    = "next answer"
)

func textView(title string) *tview.TextView {
	v := tview.NewTextView().SetDynamicColors(true).SetWrap(true)
	if title != "" {
		v.SetBorder(true).SetTitle(" " + title + " ")
	}
	return v
}

// modal centres p in a box of w x h.
func modal(p tview.Primitive, w, h int) tview.Primitive {
	return tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(nil, 0, 1, false).
			AddItem(p, h, 1, true).
			AddItem(nil, 0, 1, false), w, 1, true).
		AddItem(nil, 0, 1, false)
}

// frame shows p over the whole main page but its header and footer rows,
// so that the footer's hints stay in view.
func frame(p tview.Primitive) tview.Primitive {
	return tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(nil, 1, 0, false).
		AddItem(p, 0, 1, true).
		AddItem(nil, 3, 0, false)
}

// Widths of the left column (sale entry and wallet): 80 columns and up,
// and from wideScreen columns.
const (
	leftWidth     = 26
	leftWidthWide = 36
	wideScreen    = 100
)

// Marks of the wallet's entries that are not virtual cards.
const (
	// ReaderMark precedes a PC/SC reader's name.
	ReaderMark = "▣ "
	// TraceMark precedes a saved trace's name.
	TraceMark = "↺ "
)

// walletLabel is a wallet entry as the wallet shows it in width columns: a
// saved trace as "↺ " and its file's name, cut at the end with "…" when too
// long; a PC/SC reader as "▣ " and its name, cut in the middle, since
// readers' names differ at their end (slot numbers).
func walletLabel(entry string, width int) string {
	label := entry
	if f := traceFile(entry); f != "" {
		label = TraceMark + strings.TrimSuffix(strings.TrimPrefix(f, "tapsim-"), TraceExt)
	} else if rd := readerName(entry); rd != "" {
		label = ReaderMark + rd
	}
	r := []rune(label)
	if width <= 1 || len(r) <= width {
		return label
	}
	if readerName(entry) != "" && width > 16 {
		tail := 6
		return string(r[:width-1-tail]) + "…" + string(r[len(r)-tail:])
	}
	return string(r[:width-1]) + "…"
}

// info is what the backend tells of wallet entry name; readers and saved
// traces are described here.
func (a *App) info(name string) CardInfo {
	switch {
	case name == "":
		return CardInfo{}
	case readerName(name) != "":
		return CardInfo{Summary: "PC/SC reader: t taps whatever card or phone is on it"}
	case traceFile(name) != "":
		return CardInfo{Summary: "saved trace: t replays the recorded card (its amount when none is typed)"}
	case a.provisioned[name].Summary != "":
		return a.provisioned[name]
	case a.b.Info != nil:
		return a.b.Info(name)
	}
	return CardInfo{}
}

// describe is the one-line description of wallet entry name for the
// notice line, cut to fit 80 columns.
func (a *App) describe(name string) string {
	if traceFile(name) != "" && a.replayRefused[name] != nil {
		return ReplayRefused
	}
	info := a.info(name)
	if info.Summary == "" {
		return ""
	}
	s := name
	if info.Passcode != "" {
		s += " (passcode " + info.Passcode + ")"
	}
	return walletLabel(s+": "+info.Summary, 79)
}

// renderWallet lists the wallet, the selected entry marked.
func (a *App) renderWallet() {
	m := a.m
	var w strings.Builder
	for i, name := range m.Wallet {
		mark := "  "
		if i == m.Selected {
			mark = "> "
		}
		// The column less its borders and the mark.
		label := name
		if _, ok := a.provisioned[name]; ok {
			label = ProvisionedMark + name
		}
		fmt.Fprintf(&w, "%s%s\n", mark, tview.Escape(walletLabel(label, a.leftW-4)))
	}
	a.wallet.SetText(w.String())
	a.wallet.ScrollTo(max(m.Selected-10, 0), 0)
}

// build lays the screens out for 80x24 and up.
func (a *App) build() {
	a.header = textView("")
	a.entry = textView("Sale entry")
	a.wallet = textView("Wallet")
	a.wallet.SetWrap(false)
	a.display = textView("Customer display")
	a.display.SetTextAlign(tview.AlignCenter)
	a.outcome = textView("Outcome")
	a.tracev = textView("Trace")
	a.footer = textView("")
	a.pinView = textView("PIN pad")
	a.pinView.SetTextAlign(tview.AlignCenter)
	a.phoneView = textView("Phone")
	a.helpView = textView("Help")
	a.historyView = textView("History")
	a.settingsView = textView("Terminal settings")
	a.addView = textView("Add card to wallet")
	a.otpView = textView("Step-up: one-time password")
	a.inboxView = textView("Phone: inbox")
	a.nextView = textView("Next answer")

	left := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.entry, 5, 0, false).
		AddItem(a.wallet, 0, 1, false)
	right := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.display, 4, 0, false).
		AddItem(a.outcome, 0, 3, false).
		AddItem(a.tracev, 0, 2, false)
	a.leftW = leftWidth
	body := tview.NewFlex().
		AddItem(left, leftWidth, 0, false).
		AddItem(right, 0, 1, false)
	// Wider screens give the wallet's long names (saved traces, readers)
	// more room.
	a.app.SetBeforeDrawFunc(func(s tcell.Screen) bool {
		w, _ := s.Size()
		if w != a.footW {
			a.footW = w
			a.renderFooter()
		}
		lw := leftWidth
		if w >= wideScreen {
			lw = leftWidthWide
		}
		if lw != a.leftW {
			a.leftW = lw
			body.ResizeItem(left, lw, 0)
			a.renderWallet()
		}
		return false
	})
	root := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.header, 1, 0, false).
		AddItem(body, 0, 1, false).
		AddItem(a.footer, 3, 0, false)
	a.root = root
	// The footer's lines are cut by renderFooter, at word boundaries.
	a.footer.SetWrap(false)

	a.pages = tview.NewPages().
		AddPage(pageMain, root, true, true).
		AddPage(pagePIN, modal(a.pinView, 36, 8), true, false).
		AddPage(pagePhone, modal(a.phoneView, 60, 16), true, false).
		AddPage(pageHistory, frame(a.historyView), true, false).
		AddPage(pageSet, modal(a.settingsView, 70, 16), true, false).
		AddPage(pageHelp, modal(a.helpView, 78, 19), true, false).
		AddPage(pageAdd, modal(a.addView, 60, 8), true, false).
		AddPage(pageOTP, modal(a.otpView, 60, 9), true, false).
		AddPage(pageInbox, modal(a.inboxView, 78, 12), true, false).
		AddPage(pageNext, modal(a.nextView, 70, len(nextChoices)+3), true, false)
	a.app.SetRoot(a.pages, true)
}

// render copies the model into the widgets; text from cards and hosts is
// escaped so that a '[' in it never reads as a style tag.
func (a *App) render() {
	m := a.m
	cfg := a.term.Config()
	issuer := "[green]up[-]"
	if a.issuerDown {
		issuer = "[red]down[-]"
	}
	a.header.SetText(fmt.Sprintf("[::b]tapsim[::-] TID %s MID %s  issuer %s",
		tview.Escape(cfg.TerminalID), tview.Escape(cfg.MerchantID), issuer))

	typ := strings.ToUpper(m.Type.String())
	a.entry.SetText(fmt.Sprintf("Type:   [::b]%s[::-]\nAmount: [::b]%s[::-]\n%s", typ, m.FormatAmount(m.Amount()), busy(m)))

	a.renderWallet()

	a.display.SetText(fmt.Sprintf("[::b]%s[::-]\n%s  %s", tview.Escape(m.Display), m.FormatAmount(m.Amount()), tview.Escape(m.Status)))

	a.outcome.SetText(outcomeText(m))
	a.tracev.SetTitle(" Trace: " + m.Pane.String() + " (Tab) ")
	a.tracev.SetText(tview.Escape(strings.Join(m.Trace[m.Pane], "\n")))
	a.applyScroll()

	a.renderFooter()

	pinHint := ""
	if info := a.info(a.tapping()); info.PIN != "" {
		pinHint = "[::d]test PIN " + tview.Escape(info.PIN) + "[::-]"
	}
	a.pinView.SetText(fmt.Sprintf("%s\n%s\n\nPIN: [::b]%s[::-]\n%s\nEnter OK  Esc cancel",
		m.FormatAmount(m.Amount()), tview.Escape(a.pinPrompt.MaskedPAN), m.MaskedPIN(), pinHint))
	a.phoneView.SetText(a.phoneText())
	a.helpView.SetText(tview.Escape(HelpText()))
	a.helpView.ScrollTo(a.helpRow, 0)
	a.historyView.SetText(historyText(m))
	a.historyView.ScrollTo(a.histRow, 0)

	a.settingsView.SetText(settingsText(m))
	if m.Form.SE {
		a.addView.SetTitle(" Personalise SE over the air ")
	} else if m.Form.HCE {
		a.addView.SetTitle(" Enrol HCE phone ")
	} else {
		a.addView.SetTitle(" Add card to wallet ")
	}
	a.addView.SetText(addCardText(m))
	a.otpView.SetText(otpText(m))
	a.inboxView.SetTitle(" Phone: inbox of " + tview.Escape(m.InboxOf) + " ")
	a.inboxView.SetText(inboxText(m))
	a.inboxView.ScrollToEnd()
	a.nextView.SetText(nextAnswerText(m))
	for page, s := range map[string]model.Screen{pagePIN: model.ScreenPIN, pagePhone: model.ScreenPhone,
		pageHistory: model.ScreenHistory, pageHelp: model.ScreenHelp, pageSet: model.ScreenSettings,
		pageAdd: model.ScreenAddCard, pageOTP: model.ScreenOTP, pageInbox: model.ScreenInbox, pageNext: model.ScreenNextAnswer} {
		if m.Screen == s || (s == model.ScreenSettings && m.Screen == model.ScreenEdit) {
			a.pages.ShowPage(page)
		} else {
			a.pages.HidePage(page)
		}
	}
}

// renderFooter shows the notice and the screen's hints, each cut to the
// screen's width at word (or hint) boundaries: the notice takes one or two
// lines, the hints theirs, and the footer grows by a line for a long notice
// rather than letting it push the hints off the screen.
func (a *App) renderFooter() {
	w := a.footW
	if w <= 0 {
		w = 80
	}
	notice := NoticeLines(a.m.Notice, w)
	hints := FooterLines(a.m.Screen, w)
	var lines []string
	for _, l := range notice {
		lines = append(lines, "[yellow]"+tview.Escape(l)+"[-]")
	}
	if len(lines) == 0 {
		lines = []string{""}
	}
	for _, l := range hints {
		lines = append(lines, tview.Escape(l))
	}
	a.footer.SetText(strings.Join(lines, "\n"))
	if h := max(len(lines), 3); a.root != nil && h != a.footH {
		a.footH = h
		a.root.ResizeItem(a.footer, h, 0)
	}
}

// noticeMaxLines bounds the notice's lines in the footer; a word longer
// than longWord runes is split at the end of a line rather than moved.
const (
	noticeMaxLines = 2
	longWord       = 20
)

// firstWord is s up to its first space.
func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// NoticeLines wraps the notice s to width at spaces, in at most two lines;
// what the second cannot hold ends it with "…" after a whole word.
func NoticeLines(s string, width int) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if width < 2 {
		width = 2
	}
	var lines []string
	for s != "" && len(lines) < noticeMaxLines {
		r := []rune(s)
		if len(r) <= width {
			lines = append(lines, s)
			s = ""
			break
		}
		room := width
		if len(lines) == noticeMaxLines-1 {
			room = width - 1 // the "…"
		}
		cut := strings.LastIndex(string(r[:room+1]), " ")
		if cut <= 0 || len([]rune(firstWord(s[cut+1:]))) > longWord {
			// A long word (a file's path, an ID) is not moved whole:
			// the line is filled and the word goes on below.
			cut = len(string(r[:room]))
		}
		lines = append(lines, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	if s != "" {
		lines[len(lines)-1] += "…"
	}
	return lines
}

func busy(m *model.Model) string {
	switch {
	case m.WaitingPhone:
		return "[yellow]waiting for the card[-]"
	case m.Busy:
		return "[yellow]in progress...[-]"
	case m.NextAnswer != "":
		return "[yellow]next: " + tview.Escape(m.NextAnswer) + "[-]"
	}
	return "ready"
}

func outcomeText(m *model.Model) string {
	if m.Last == nil {
		return "Type an amount, choose a card, press t to tap."
	}
	return entryText(m, m.Last)
}

// entryText is the outcome and the whole receipt of transaction e.
func entryText(m *model.Model, e *model.Entry) string {
	var b strings.Builder
	head := "[red::b]" + strings.ToUpper(strings.ReplaceAll(e.Status, "_", " ")) + "[-::-]"
	if e.Approved {
		head = "[green::b]APPROVED[-::-]"
	} else if e.Status == "declined" {
		head = "[red::b]DECLINED[-::-]"
	}
	amount := m.FormatAmount(e.Amount)
	if e.ApprovedAmount > 0 && e.ApprovedAmount < e.Amount {
		amount = m.FormatAmount(e.ApprovedAmount) + " of " + amount + " requested"
	}
	fmt.Fprintf(&b, "%s %s %s %s\n", head, tview.Escape(e.Kind), amount, tview.Escape(e.Card))
	if e.Message == pos.MsgReferral || e.Message == pos.MsgApprovedPartial || e.Message == pos.MsgVoided || e.Message == pos.MsgApprovedStandIn {
		fmt.Fprintf(&b, "%s\n", tview.Escape(e.Message))
	}
	if e.Err != "" {
		fmt.Fprintf(&b, "error: %s\n", tview.Escape(e.Err))
	}
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s  ", k, tview.Escape(v))
		}
	}
	if r := responseLine(e); r != "" {
		b.WriteString(tview.Escape(r))
		if e.Reason != "" {
			fmt.Fprintf(&b, " (%s)", tview.Escape(e.Reason))
		}
		b.WriteByte('\n')
	}
	if !e.Approved && e.DE39 == "" && e.Kernel != "" {
		fmt.Fprintf(&b, "kernel: %s\n", tview.Escape(e.Kernel))
	}
	line("CVM", e.CVM)
	line("auth", e.AuthCode)
	line("STAN", e.STAN)
	if e.Balance != nil {
		line("balance", m.FormatAmount(*e.Balance))
	}
	b.WriteByte('\n')
	line("PAN", e.PAN)
	line("AID", e.AID)
	line("label", e.Label)
	line("AC", e.Cryptogram)
	b.WriteByte('\n')
	if e.Signature {
		b.WriteString("Signature: ______________________\n")
	}
	if e.Receipt != "" {
		b.WriteString(tview.Escape(e.Receipt))
	}
	return b.String()
}

func (a *App) phoneText() string {
	m := a.m
	if m.Screen != model.ScreenPhone {
		return ""
	}
	name := m.SelectedCard()
	a.mu.Lock()
	c := a.cardsByName[name]
	a.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "[::b]%s[::-]\n", tview.Escape(name))
	if info, ok := a.provisioned[name]; ok {
		fmt.Fprintf(&b, "[::d]%s[::-]\n", tview.Escape(info.Summary))
	}
	if ph, ok := cards.Phone(c); ok {
		state := "locked"
		if ph.Verified() {
			state = "unlocked (CDCVM done)"
		}
		fn := "on"
		if !ph.CardFunctionOn() {
			fn = "off"
		}
		fmt.Fprintf(&b, "state: %s   card function: %s\n", state, fn)
		fmt.Fprintf(&b, "PAN: %s\n", tview.Escape(strings.Join(ph.LookupPAN(), ", ")))
		if a.b.TokenState != nil {
			if st := a.b.TokenState(name); st != "" {
				fmt.Fprintf(&b, "wallet token: %s\n", tview.Escape(st))
			}
		}
		if ph.Kind() == phone.HCE {
			repl := ""
			if ph.NeedsReplenish() {
				repl = " (needs replenishing)"
			}
			fmt.Fprintf(&b, "single-use keys left: %d%s\n", ph.KeysLeft(), repl)
		}
	}
	hint := ""
	if info := a.info(name); info.Passcode != "" {
		hint = "   [::d](test passcode " + tview.Escape(info.Passcode) + "; b needs none)[::-]"
	}
	fmt.Fprintf(&b, "\npasscode: %s%s\n", strings.Repeat("*", len(m.Passcode)), hint)
	if m.PhoneNote != "" {
		fmt.Fprintf(&b, "\n%s\n", tview.Escape(m.PhoneNote))
	}
	if m.WaitingPhone {
		b.WriteString("\n[yellow]the terminal waits: unlock, then t to tap again[-]\n")
	}
	return b.String()
}

func historyText(m *model.Model) string {
	if len(m.History) == 0 {
		return "No transaction yet."
	}
	var b strings.Builder
	for i, e := range m.History {
		mark := "  "
		if i == m.Cursor {
			mark = "> "
		}
		msg := e.Message
		if e.Kind == "sale" && e.Approved && e.STAN != "" && m.Voided(e.STAN) {
			msg += " (voided)"
		}
		at := "--:--:--"
		if !e.Time.IsZero() {
			at = e.Time.Format("15:04:05")
		}
		fmt.Fprintf(&b, "%s%s %-6s %-12s %-6s %-12s %13s %-2s %s\n", mark, at, orDash(e.STAN), orDash(e.RRN), tview.Escape(e.Kind),
			tview.Escape(walletLabel(e.Card, 12)), m.FormatAmount(e.Amount), tview.Escape(e.DE39), tview.Escape(msg))
	}
	if e := m.Current(); e != nil {
		fmt.Fprintf(&b, "\n-- %s %s, STAN %s (Up/Down: another; PgUp/PgDn) --\n%s", tview.Escape(e.Kind), tview.Escape(e.Card), orDash(e.STAN), entryText(m, e))
		var lines []string
		switch m.Pane {
		case model.PaneISO:
			lines = e.ISO
		case model.PaneISOHex:
			lines = e.ISOHex
		case model.PaneHost:
			lines = e.Host
		case model.PaneProvisioning:
			lines = nil
		default:
			lines = e.APDU
		}
		fmt.Fprintf(&b, "\n-- %s trace (Tab) --\n%s", m.Pane, tview.Escape(strings.Join(lines, "\n")))
	}
	return b.String()
}

func settingsText(m *model.Model) string {
	var b strings.Builder
	for i, s := range m.Settings {
		mark := "  "
		if i == m.SetCursor {
			mark = "> "
		}
		v := s.Value
		if i == m.SetCursor && m.Screen == model.ScreenEdit {
			v = "[::u]" + tview.Escape(m.Edit) + "_[::-]"
		} else {
			v = tview.Escape(v)
		}
		fmt.Fprintf(&b, "%s%-18s %s\n", mark, s.Name, v)
	}
	if m.SetCursor < len(m.Settings) {
		fmt.Fprintf(&b, "\n%s\nChanges apply from the next tap.", tview.Escape(m.Settings[m.SetCursor].Help))
	}
	return b.String()
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return tview.Escape(s)
}
