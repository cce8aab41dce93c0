// Package tui is tapsim's terminal user interface: a POS terminal on the
// embedded network that an integration tester drives from the keyboard. It
// shows the sale entry, a wallet of virtual cards and phones, the customer
// display, the PIN pad, the outcome and receipt, and the APDU, ISO 8583 and
// host traces of each transaction.
//
// The screens render a model.Model; the payment itself is the terminal's
// (terminal/pos). Card and network work runs on its own goroutine under the
// App's context and comes back to the screen through
// Application.QueueUpdateDraw. One key-binding table dispatches the keys,
// prints the footer and makes the help screen.
package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/recorded"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/terminal/trace"
	"github.com/tapsim/tapsim/tui/model"
)

// ErrBackend reports a Backend that lacks what the UI needs.
var ErrBackend = errors.New("tui: incomplete backend")

// Backend is what the UI runs on: the terminal on the network, the wallet's
// cards, and the embedded hosts' controls. NewTerminal and LoadCard are
// required; the rest is optional.
type Backend struct {
	// NewTerminal makes the terminal with the UI's PIN pad, presenter,
	// event hook, STAN counter and journal; cfg nil means the backend's
	// own configuration, otherwise it is the one changed on the settings
	// screen.
	NewTerminal func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error)
	// Wallet names the cards and phones offered, in order.
	Wallet []string
	// LoadCard builds a wallet entry; each is built once and kept, so its
	// counters and keys go on from tap to tap.
	LoadCard func(name string) (cards.Card, error)
	// StopIssuer and StartIssuer take the embedded issuer host down and up.
	StopIssuer  func() error
	StartIssuer func(ctx context.Context) error
	// ReportLost reports the phone of wallet entry walletName lost to the
	// issuer (its tokens and keys suspended, or its card marked lost) and
	// returns a summary of what was done for the phone panel: token and
	// card IDs, never a PAN.
	ReportLost func(ctx context.Context, walletName string) (string, error)
	// Replenish asks the issuer's cloud platform for a batch of single-use
	// keys for the HCE phone c (wallet entry walletName) and loads them into
	// it; it returns the number of keys loaded, 0 when the platform saw no
	// need. It runs off the UI goroutine, never during a tap.
	Replenish func(ctx context.Context, walletName string, c cards.Card) (int, error)
	// Readers lists the PC/SC readers present and OpenReader opens one;
	// both nil (or Readers failing) means no reader in the wallet.
	Readers    func() ([]string, error)
	OpenReader func(ctx context.Context, name string) (FieldReader, error)
	// HostLog holds the hosts' log lines (masked).
	HostLog *LogBuffer
	// NextAnswer is the acquirer's response rules: the terminal screen's
	// "next answer" setting puts a rule there that fires once (Set.Once).
	// nil hides the setting.
	NextAnswer *rules.Set
	// TolerateReplay arms the issuer's replay-tolerant TEST SETTING for
	// the cryptogram arqc (9F26), so that the next replay of a saved trace
	// that the issuer refused as a replay (R-G4) goes through, once; the
	// issuer logs it. nil means a refused replay cannot be retried that
	// way. It runs off the UI goroutine.
	TolerateReplay func(ctx context.Context, arqc []byte) error
	// Info tells the tester about a wallet entry (a virtual card or
	// phone): what it is and its test credentials. Optional.
	Info func(name string) CardInfo
	// FundingCards lists the sample plastic cards the phone panel's "Add
	// card to wallet" offers; AddToWallet runs that flow (off the UI
	// goroutine) and Inbox reads the issuer's message centre for a
	// recipient (OTPAsk.Recipient). Without them the panel cannot add a
	// card.
	FundingCards []string
	AddToWallet  func(ctx context.Context, req WalletAdd) (WalletAdded, error)
	// HCECards lists the sample cards the phone panel's "Enrol HCE phone"
	// offers; EnrolHCE runs that flow (off the UI goroutine): a new phone
	// registers with the issuer's cloud platform, the OTP asked through
	// req.OTP, and downloads the card and its limited-use keys
	// (req.StepUp is ignored). Without them the panel cannot enrol.
	HCECards []string
	EnrolHCE func(ctx context.Context, req WalletAdd) (WalletAdded, error)
	// HCEPINCards are the cards of HCECards that need a mobile PIN
	// (Mastercard-like): the form asks for it (WalletAdd.MobilePIN).
	HCEPINCards []string
	// SECards lists the se-phone sample cards the phone panel's
	// "Personalise SE over the air" offers; PersonaliseSE runs that flow
	// (off the UI goroutine): a new phone whose secure element the TSMs
	// personalise, its OTA commands in WalletAdd.Trace.
	SECards       []string
	PersonaliseSE func(ctx context.Context, req WalletAdd) (WalletAdded, error)
	Inbox         func(ctx context.Context, recipient string) ([]InboxMessage, error)
	// NewDeviceID makes the device ID the form offers; nil means 8
	// random bytes.
	NewDeviceID func() string
	// WalletToken acts, as the cardholder, on the token of wallet entry
	// walletName in its phone's wallet app: suspend, resume or delete it
	// (phone -> wallet provider -> token service -> issuer), or read its
	// state again from the wallet provider. It returns the token's state
	// afterwards, masked, or ErrNoWalletToken when the entry holds no
	// wallet app's token. It runs off the UI goroutine. Optional.
	WalletToken func(ctx context.Context, walletName string, action WalletAction) (string, error)
	// TokenState is the state of wallet entry walletName's token as its
	// wallet app last saw it, masked ("" for none). It reads the phone's
	// memory only: the UI calls it when it draws the phone panel.
	// Optional.
	TokenState func(walletName string) string
}

// CardInfo is what the UI tells the tester about a virtual card or phone.
type CardInfo struct {
	// Summary says in one line what the card or phone is.
	Summary string
	// Passcode is a test phone's passcode, "" for none.
	Passcode string
	// PIN is the test PIN of the card's account, "" when unknown.
	PIN string
}

// Options tune an App.
type Options struct {
	// Screen is where the UI draws; nil means the terminal.
	Screen tcell.Screen
	// SaveDir is where transaction traces are saved; "" means the
	// current directory.
	SaveDir string
	// Timing prints the per-APDU timings in the APDU trace.
	Timing bool
	// Clock is the terminal's clock: it stamps the history's entries and
	// each transaction (receipt time, DE7, DE12, DE13, tag 9A); nil means
	// time.Now.
	Clock func() time.Time
	// After waits for a message's hold time (Book A) before the customer
	// display goes back to Welcome; nil means time.After.
	After func(d time.Duration) <-chan time.Time
	// UnpredictableNumber is the terminal's source of 9F37 outside
	// replays of saved traces; nil means crypto/rand.
	UnpredictableNumber func() [4]byte
}

// App is the running UI.
type App struct {
	app  *tview.Application
	b    Backend
	o    Options
	m    *model.Model
	term *pos.Terminal

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// runMu guards ended: once Run has returned (also when the screen
	// could not start), Stop has no screen to stop.
	runMu sync.Mutex
	ended bool

	// UI goroutine only.
	cardsByName map[string]cards.Card
	traces      map[string]*recorded.Trace
	readers     map[string]*inproc.Reader
	pinPrompt   pinpad.Prompt
	issuerDown  bool
	refilling   bool
	back        model.Screen
	helpRow     int
	histRow     int
	scrollState
	// shownLast is the outcome the outcome pane shows: a new one shows
	// from its top.
	shownLast *model.Entry
	// second is the card tapTwo puts in the field with the chosen one.
	second cards.Card
	// shownUI is the User Interface Request the customer display shows,
	// uiSeq counts those shown: a hold time running out clears the display
	// only if nothing was shown since.
	shownUI kernel.UIRequest
	uiSeq   int
	leftW   int
	footW   int
	footH   int
	root    *tview.Flex

	// UI goroutine only: the wallet entries added on the phone panel and
	// the inbox the OTP went to.
	provisioned map[string]CardInfo
	inboxOf     string
	// confirmVoid is the STAN of the sale whose void waits for y or n.
	confirmVoid string
	// confirmDelete is the wallet entry whose token d deletes when
	// pressed again.
	confirmDelete string

	pinCh   chan pinAnswer
	otpCh   chan otpAnswer
	againCh chan bool
	stan    *pos.Counter
	journal *pos.MemJournal

	// Transaction goroutine only (reset before it starts).
	apduPrinter trace.Printer
	apduBuf     bytes.Buffer
	raw         []recorded.Exchange
	rawReset    bool

	// UI goroutine only: the recorded exchanges of each history entry of
	// a virtual card's tap, by history index.
	replay map[int]*recorded.Trace
	// UI goroutine only: the cryptogram of each saved trace whose replay
	// the issuer refused as a replay, by wallet entry, and the entry whose
	// next tap runs under the issuer's replay-tolerant test setting.
	replayRefused map[string][]byte
	tolerantTap   string

	mu        sync.Mutex
	current   string
	fieldRd   FieldReader
	pending   []func(*model.Model)
	scheduled bool
	unQueue   [][4]byte
	giveUp    context.CancelFunc

	pages                                               *tview.Pages
	header, entry, wallet, display, outcome, tracev     *tview.TextView
	footer, pinView, phoneView, helpView, historyView   *tview.TextView
	settingsView, addView, otpView, inboxView, nextView *tview.TextView
}

type pinAnswer struct {
	digits string
	err    error
}

// New makes the UI over b. Run shows it.
func New(b Backend, o Options) (*App, error) {
	if b.NewTerminal == nil || b.LoadCard == nil {
		return nil, fmt.Errorf("%w: NewTerminal and LoadCard are required", ErrBackend)
	}
	if b.HostLog == nil {
		b.HostLog = &LogBuffer{}
	}
	a := &App{
		app:         tview.NewApplication(),
		b:           b,
		o:           o,
		cardsByName: map[string]cards.Card{},
		traces:      map[string]*recorded.Trace{},
		readers:     map[string]*inproc.Reader{},
		pinCh:       make(chan pinAnswer, 1),
		otpCh:       make(chan otpAnswer, 1),
		provisioned: map[string]CardInfo{},
		againCh:     make(chan bool, 1),
		stan:        pos.NewCounter(0),
		journal:     &pos.MemJournal{},
		replay:      map[int]*recorded.Trace{},

		replayRefused: map[string][]byte{},
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	term, err := b.NewTerminal(nil, a.options())
	if err != nil {
		return nil, fmt.Errorf("tui: terminal: %w", err)
	}
	a.term = term
	cfg := term.Config()
	a.m = model.New(currencyPrefix(cfg.Kernel.Currency.String()), cfg.Kernel.CurrencyExponent, append(walletWithReaders(b), savedTraces(o.SaveDir)...))
	a.m.Settings = settingsOf(cfg)
	a.build()
	if o.Screen != nil {
		a.app.SetScreen(o.Screen)
	}
	a.app.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		a.dispatch(ev)
		return nil
	})
	a.app.EnableMouse(true)
	a.app.SetMouseCapture(a.mouse)
	a.render()
	return a, nil
}

// options are the terminal's dependencies the UI provides; they outlive a
// terminal made again with new settings.
func (a *App) options() pos.Options {
	return pos.Options{
		Keypad:    pinpad.KeypadFunc(a.readPIN),
		Presenter: pos.PresenterFunc(a.presentAgain),
		Events:    a.onEvent,
		STAN:      a.stan,
		Journal:   a.journal,
		Clock:     a.o.Clock,

		UnpredictableNumber: a.nextUN,
	}
}

// currencyPrefix is the display prefix of an ISO 4217 numeric code.
func currencyPrefix(code string) string {
	switch strings.TrimLeft(code, "0") {
	case "901":
		return "NT$"
	case "840":
		return "US$"
	case "978":
		return "EUR "
	case "392":
		return "JPY "
	}
	return code + " "
}

// Run shows the UI until the tester quits, then stops the running
// transaction and waits for it.
func (a *App) Run() error {
	err := a.app.Run()
	a.runMu.Lock()
	a.ended = true
	a.runMu.Unlock()
	a.cancel()
	a.wg.Wait()
	return err
}

// Stop quits the UI; safe from any goroutine, also after Run returned.
func (a *App) Stop() {
	a.cancel()
	a.runMu.Lock()
	defer a.runMu.Unlock()
	if !a.ended {
		a.app.Stop()
	}
}

// Model returns the state; read it only from the UI goroutine (or inside
// Sync).
func (a *App) Model() *model.Model { return a.m }

// SyncTimeout bounds Sync's wait for the UI goroutine.
const SyncTimeout = 10 * time.Second

// Sync runs f on the UI goroutine with the model and waits for it; it
// reports false when the UI stopped, or did not run f within SyncTimeout
// (f then may still run later).
func (a *App) Sync(f func(m *model.Model)) bool {
	done := make(chan struct{})
	go a.app.QueueUpdate(func() {
		defer close(done)
		f(a.m)
	})
	select {
	case <-done:
		return true
	case <-a.ctx.Done():
	case <-time.After(SyncTimeout):
	}
	return false
}

// post queues a model change from a worker goroutine. It never blocks: the
// changes are applied in order on the UI goroutine, then the screen is
// redrawn.
func (a *App) post(f func(m *model.Model)) {
	a.mu.Lock()
	a.pending = append(a.pending, f)
	if a.scheduled {
		a.mu.Unlock()
		return
	}
	a.scheduled = true
	a.mu.Unlock()
	go a.app.QueueUpdateDraw(a.flush)
}

func (a *App) flush() {
	a.mu.Lock()
	fs := a.pending
	a.pending, a.scheduled = nil, false
	a.mu.Unlock()
	for _, f := range fs {
		f(a.m)
	}
	a.render()
}

// onEvent receives the terminal's events on the transaction goroutine.
func (a *App) onEvent(e pos.Event) {
	switch e.Kind {
	case pos.EventDisplay:
		// What the terminal says besides its User Interface Requests (a
		// host's reason, an issuer update) is for the operator; Book A's
		// messages reach the customer display as UI Requests only.
		text := e.Text
		if _, err := kernel.ParseMessageID(text); err == nil {
			return
		}
		a.post(func(m *model.Model) {
			if m.Notice == "" {
				m.Notice = text
			}
		})
	case pos.EventUI:
		// The customer display shows the User Interface Requests of the
		// Entry Point, the kernel and the terminal, and nothing else.
		if e.UI == nil {
			return
		}
		ui := *e.UI
		a.post(func(m *model.Model) {
			if ui.Message != kernel.MsgNone {
				m.Display = ui.Message.String()
			}
			m.Status = ui.Status.String()
			a.shownUI = ui
			a.uiSeq++
		})
	case pos.EventAPDU:
		if e.Exchange == nil {
			return
		}
		a.recordExchange(*e.Exchange)
		lines := a.apduLines(*e.Exchange)
		a.post(func(m *model.Model) { m.AddTrace(model.PaneAPDU, lines...) })
	case pos.EventHostSend, pos.EventHostReceive, pos.EventReversal:
		line := e.Kind.String() + ": " + e.Text
		a.post(func(m *model.Model) { m.AddTrace(model.PaneISO, line) })
	}
}

// apduLines prints one exchange of the running transaction, numbered from
// its first exchange, with its duration when timing is on.
func (a *App) apduLines(x kernel.Exchange) []string {
	a.apduBuf.Reset()
	a.apduPrinter.W = &a.apduBuf
	a.apduPrinter.Timing = a.o.Timing
	a.apduPrinter.Exchange(x)
	return splitLines(a.apduBuf.String())
}

// resetAPDU starts the APDU numbering of a new transaction; it is called
// before the transaction's goroutine starts.
func (a *App) resetAPDU() { a.apduPrinter, a.raw, a.rawReset = trace.Printer{}, nil, false }

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// readPIN is the PIN pad: it opens the modal and waits for the tester.
func (a *App) readPIN(ctx context.Context, p pinpad.Prompt) (pinpad.PIN, error) {
	select { // a stale answer from an earlier modal
	case <-a.pinCh:
	default:
	}
	a.post(func(m *model.Model) {
		a.pinPrompt = p
		m.PIN = ""
		m.Screen = model.ScreenPIN
	})
	select {
	case ans := <-a.pinCh:
		if ans.err != nil {
			return pinpad.PIN{}, ans.err
		}
		return pinpad.NewPIN(ans.digits)
	case <-ctx.Done():
		return pinpad.PIN{}, ctx.Err()
	}
}

// presentAgain waits for the tester to present the card again (after
// unlocking the phone on its panel).
func (a *App) presentAgain(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
	select {
	case <-a.againCh:
	default:
	}
	if fr := a.field(); fr != nil {
		// A real card or phone: the cardholder does it on the device and
		// the reader waits for it, until the tester gives up (Esc).
		wait, giveUp := context.WithCancel(ctx)
		defer giveUp()
		a.mu.Lock()
		a.giveUp = giveUp
		a.mu.Unlock()
		a.post(func(m *model.Model) {
			m.WaitingPhone = true
			m.Notice = "unlock the phone itself, then present it on the reader again; Esc gives up"
		})
		rd, err := fr.PresentAgain(wait, o)
		a.mu.Lock()
		a.giveUp = nil
		a.mu.Unlock()
		a.post(func(m *model.Model) { m.WaitingPhone, m.Notice = false, "" })
		if err != nil && wait.Err() != nil && ctx.Err() == nil {
			return nil, pos.ErrNotPresented
		}
		return rd, err
	}
	notice := "unlock the phone (p) then tap again (t); Esc gives up"
	if o.UIOnOutcome != nil && o.UIOnOutcome.Message == kernel.MsgPresentOneCard {
		notice = "two cards in the field: tap one card again (t); Esc gives up"
	}
	if _, c := a.readerFor(a.tapping()); c != nil {
		if ph, ok := cards.Phone(c); ok && ph.Kind() == phone.HCE && ph.KeysLeft() == 0 {
			// The phone said "see phone" for want of keys.
			notice = NoKeysLeft + ", then tap again (t); Esc gives up"
		}
	}
	a.post(func(m *model.Model) {
		m.WaitingPhone = true
		m.Notice = notice
	})
	var name string
	select {
	case ok := <-a.againCh:
		if !ok {
			return nil, pos.ErrNotPresented
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	a.rawReset = true
	name = a.tapping()
	rd, c := a.readerFor(name)
	if rd == nil {
		return nil, pos.ErrNotPresented
	}
	rd.Present(c)
	return rd, nil
}

// tapping is the card of the running transaction.
func (a *App) tapping() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current
}

func (a *App) readerFor(name string) (*inproc.Reader, cards.Card) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.readers[name], a.cardsByName[name]
}

// card builds (once) the wallet entry name and its reader.
func (a *App) card(name string) (cards.Card, *inproc.Reader, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.cardsByName[name]; ok {
		return c, a.readers[name], nil
	}
	var c cards.Card
	if file := traceFile(name); file != "" {
		t, err := a.loadTrace(file)
		if err != nil {
			return nil, nil, err
		}
		c = recorded.New(t)
		a.traces[name] = t
	} else {
		var err error
		if c, err = a.b.LoadCard(name); err != nil {
			return nil, nil, err
		}
	}
	r := inproc.New(c)
	a.cardsByName[name], a.readers[name] = c, r
	return c, r, nil
}

// phone is the selected wallet entry's phone, nil when it is not one.
func (a *App) phone() (name string, c cards.Card, ok bool) {
	name = a.m.SelectedCard()
	if readerName(name) != "" {
		a.m.Notice = "a PC/SC reader: unlock the phone on the phone itself"
		return name, nil, false
	}
	c, _, err := a.card(name)
	if err != nil {
		a.m.Notice = err.Error()
		return name, nil, false
	}
	_, ok = cards.Phone(c)
	return name, c, ok
}

// tapTwo starts a transaction with the selected card and the next virtual
// card of the wallet in the field together: the reader sees a collision.
func (a *App) tapTwo() {
	m := a.m
	if m.Busy {
		m.Notice = "a transaction is running"
		return
	}
	sel := m.SelectedCard()
	if readerName(sel) != "" || traceFile(sel) != "" {
		m.Notice = "two cards at once: choose a virtual card or phone"
		return
	}
	for i := 1; i < len(m.Wallet); i++ {
		name := m.Wallet[(m.Selected+i)%len(m.Wallet)]
		if name == sel || readerName(name) != "" || traceFile(name) != "" {
			continue
		}
		other, _, err := a.card(name)
		if err != nil {
			continue
		}
		a.second = other
		a.tap()
		a.second = nil
		return
	}
	m.Notice = "two cards at once: the wallet has no second virtual card"
}

// tap starts a transaction with the selected card, or presents it again
// when the terminal waits for it.
func (a *App) tap() {
	m := a.m
	if a.refilling {
		m.Notice = "the phone is loading new keys: tap when it is done"
		return
	}
	if m.WaitingPhone && a.field() != nil {
		m.Notice = "present the card or phone on the reader again; Esc gives up"
		return
	}
	if m.WaitingPhone {
		// The card or phone presented again is the one chosen now, which
		// may not be the one that asked to see the phone.
		if sel := m.SelectedCard(); sel != a.tapping() && readerName(sel) == "" && traceFile(sel) == "" {
			if _, _, err := a.card(sel); err != nil {
				m.Notice = err.Error()
				return
			}
			a.mu.Lock()
			a.current = sel
			a.mu.Unlock()
		}
		m.WaitingPhone = false
		m.Notice = ""
		m.Screen = model.ScreenMain
		select {
		case a.againCh <- true:
		default:
		}
		return
	}
	if t, err := a.selectedTrace(); err != nil {
		m.Notice = err.Error()
		return
	} else if t != nil && m.Amount() == 0 {
		_ = m.SetAmount(recordedAmount(t))
	}
	if err := m.CanTap(); err != nil {
		m.Notice = err.Error()
		return
	}
	name := m.SelectedCard()
	if readerName(name) != "" {
		amount, typ := m.Amount(), m.Type
		m.Begin()
		a.resetAPDU()
		a.followTrace()
		a.tapReader(name, amount, typ)
		return
	}
	c, rd, err := a.card(name)
	if err != nil {
		m.Notice = err.Error()
		return
	}
	rd.Present(c)
	if a.second != nil {
		rd.Collide(a.second)
	}
	amount, typ := m.Amount(), m.Type
	a.mu.Lock()
	a.current = name
	a.mu.Unlock()
	m.Begin()
	a.resetAPDU()
	a.followTrace()
	if t := a.traceOf(name); t != nil {
		a.replayUN(t)
		m.Notice = "replaying " + traceFile(name) + " with its unpredictable numbers"
	}
	m.Screen = model.ScreenMain
	mark := a.b.HostLog.Len()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		var (
			res *pos.Result
			err error
		)
		if typ == model.Refund {
			res, err = a.term.Refund(a.ctx, amount, rd)
		} else {
			res, err = a.term.Sale(a.ctx, amount, rd)
		}
		rec := a.takeRecording(c.ATR())
		time.Sleep(20 * time.Millisecond) // the hosts' last log lines
		host := a.b.HostLog.Since(mark)
		e := entryOf(a.now(), typ.String(), a.tapping(), amount, res, err)
		var arqc []byte
		if res != nil {
			arqc = res.Outcome.Record(0x9F26)
		}
		a.post(func(m *model.Model) {
			a.outOfKeys(&e)
			a.finish(m, e, res, host)
			a.replayVerdict(name, e, arqc)
			if rec != nil {
				a.replay[len(m.History)-1] = rec
			}
		})
	}()
}

// void reverses a sale of the history: e, or the latest that can be voided
// when e is nil.
func (a *App) void(e *model.Entry) {
	m := a.m
	if m.Busy {
		m.Notice = "a transaction is running"
		return
	}
	if e == nil {
		if e = m.LastVoidable(); e == nil {
			m.Notice = "no approved sale to void"
			return
		}
	}
	if err := m.CanVoid(e); err != nil {
		m.Notice = err.Error()
		return
	}
	stan, card, amount := e.STAN, e.Card, e.Amount
	if a.confirmVoid != stan {
		a.confirmVoid = stan
		m.Notice = fmt.Sprintf("void sale %s of %s (%s)? y yes, n no", stan, m.FormatAmount(amount), card)
		return
	}
	a.confirmVoid = ""
	m.Notice = ""
	m.Begin()
	a.resetAPDU()
	m.Screen = model.ScreenMain
	mark := a.b.HostLog.Len()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		res, err := a.term.Void(a.ctx, pos.Ref{STAN: stan})
		time.Sleep(20 * time.Millisecond)
		host := a.b.HostLog.Since(mark)
		e := entryOf(a.now(), "void", card, amount, res, err)
		e.Voids = stan
		a.post(func(m *model.Model) { a.finish(m, e, res, host) })
	}()
}

func (a *App) finish(m *model.Model, e model.Entry, res *pos.Result, host []string) {
	// A refund is the exception: the terminal goes back to sales.
	if e.Kind == model.Refund.String() {
		m.Type = model.Sale
	}
	if res != nil && len(res.Exchanges) > 0 && m.Trace != nil {
		var iso, raw []string
		for _, x := range res.Exchanges {
			head := fmt.Sprintf("-- %s (%s)", x.Purpose, x.Duration.Round(time.Millisecond))
			iso = append(iso, head)
			iso = append(iso, splitLines(x.Screen())...)
			raw = append(raw, head)
			raw = append(raw, splitLines(x.RawHex())...)
		}
		m.Trace[model.PaneISO] = iso
		m.Trace[model.PaneISOHex] = raw
	}
	m.AddTrace(model.PaneHost, host...)
	a.clearUN()
	if m.NextAnswer != "" && len(a.b.NextAnswer.Pending()) == 0 {
		m.NextAnswer = ""
	}
	m.Finish(e)
	if m.Screen == model.ScreenPIN {
		m.Screen = model.ScreenMain
	}
	a.holdThenIdle()
}

// holdThenIdle puts the customer display back to Welcome once the last
// message's hold time (Book A Message Hold Time) has run out, unless
// another message or a new transaction came since. A message without a
// hold time stays until the next amount or tap.
func (a *App) holdThenIdle() {
	hold, seq := a.shownUI.Hold, a.uiSeq
	if hold <= 0 {
		return
	}
	after := a.o.After
	if after == nil {
		after = time.After
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		select {
		case <-after(hold):
		case <-a.ctx.Done():
			return
		}
		a.post(func(m *model.Model) {
			if a.uiSeq != seq || m.Busy {
				return
			}
			m.Display, m.Status = kernel.MsgWelcome.String(), kernel.StatusIdle.String()
		})
	}()
}

// entryOf turns a terminal result into a history entry, masked.
func entryOf(now time.Time, kind, card string, amount int64, res *pos.Result, err error) model.Entry {
	e := model.Entry{Time: now, Kind: kind, Card: card, Amount: amount}
	if err != nil {
		e.Err = err.Error()
		e.Message = "Error"
		e.Status = "error"
		return e
	}
	e.Status = res.Status.String()
	e.Message = res.Message
	e.Approved = res.Approved()
	e.ApprovedAmount, e.Balance = res.ApprovedAmount, res.Balance
	e.DE39 = string(res.ResponseCode)
	e.Meaning = res.ResponseMeaning()
	e.Reason = string(res.DeclineReason)
	e.AuthCode = res.AuthCode
	e.STAN, e.RRN = res.STAN, res.RRN
	e.Receipt = res.Receipt
	o := res.Outcome
	e.Kernel = o.Reason
	if o.Type != kernel.OutcomeNone {
		e.CVM = o.CVM.Name()
		e.Signature = o.CVM == kernel.CVMSignature
		e.PAN = o.MaskedPAN()
		if len(o.AID) > 0 {
			e.AID = fmt.Sprintf("%X", o.AID)
		}
		e.Label = o.Label
		if cid := o.Record(0x9F27); len(cid) == 1 {
			switch cid[0] & 0xC0 {
			case 0x80:
				e.Cryptogram = "ARQC"
			case 0x40:
				e.Cryptogram = "TC"
			default:
				e.Cryptogram = "AAC"
			}
		}
	}
	return e
}

// toggleIssuer stops or starts the embedded issuer host, off the UI
// goroutine.
func (a *App) toggleIssuer() {
	if a.b.StopIssuer == nil || a.b.StartIssuer == nil {
		a.m.Notice = "the issuer host is not embedded"
		return
	}
	down := a.issuerDown
	a.m.Notice = "issuer host: switching..."
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		var err error
		if down {
			err = a.b.StartIssuer(a.ctx)
		} else {
			err = a.b.StopIssuer()
		}
		a.post(func(m *model.Model) {
			if err != nil {
				m.Notice = "issuer host: " + err.Error()
				return
			}
			a.issuerDown = !down
			m.Notice = "issuer host up"
			if a.issuerDown {
				m.Notice = "issuer host stopped"
			}
		})
	}()
}

// IssuerDown reports whether the tester stopped the issuer host (UI
// goroutine).
func (a *App) IssuerDown() bool { return a.issuerDown }

// responseLine is "DE39 55 incorrect PIN".
func responseLine(e *model.Entry) string {
	if e.DE39 == "" {
		return ""
	}
	s := "DE39 " + e.DE39
	if e.Meaning != "" {
		s += " " + e.Meaning
	}
	return s
}

// now is the UI's clock.
func (a *App) now() time.Time {
	if a.o.Clock != nil {
		return a.o.Clock()
	}
	return time.Now()
}

// NoKeysLeft is what the operator reads when an HCE phone out of
// single-use keys answers "see phone": its holder must replenish it.
const NoKeysLeft = "no keys left: replenish (p, then n)"

// outOfKeys says why a tap of an HCE phone out of single-use keys ended
// without a decision, where the kernel can only tell that the phone said
// "see phone" (or, for a C-2 phone, that no application was left).
func (a *App) outOfKeys(e *model.Entry) {
	if e.Approved || e.DE39 != "" || e.Err != "" {
		return
	}
	_, c := a.readerFor(a.tapping())
	ph, ok := cards.Phone(c)
	if !ok || ph.Kind() != phone.HCE || ph.KeysLeft() > 0 {
		return
	}
	e.Kernel = NoKeysLeft
	a.m.Notice = NoKeysLeft
}
