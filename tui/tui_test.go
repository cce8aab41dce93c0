package tui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/recorded"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

var update = flag.Bool("update", false, "rewrite the golden screen captures under testdata/")

// downLink is an acquirer link that never sends: every sale ends as
// "Host unavailable".
type downLink struct{}

func (downLink) Send(context.Context, *iso8583.Message, time.Duration) (*iso8583.Message, error) {
	return nil, fmt.Errorf("%w: link down", client.ErrNotSent)
}

func testBackend(wallet ...string) Backend {
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	return Backend{
		Wallet: wallet,
		LoadCard: func(name string) (cards.Card, error) {
			p, err := cards.Builtin(name)
			if err != nil {
				return nil, err
			}
			return cards.FromProfile(p, cards.Options{Clock: func() time.Time { return now }})
		},
		NewTerminal: func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
			o.Clock = func() time.Time { return now }
			if cfg == nil {
				c := pos.DefaultConfig()
				cfg = &c
			}
			return pos.New(*cfg, downLink{}, o)
		},
	}
}

type rig struct {
	t    *testing.T
	sim  tcell.SimulationScreen
	app  *App
	done chan error
}

func newRig(t *testing.T, b Backend) *rig {
	t.Helper()
	return newRigWith(t, b, Options{SaveDir: t.TempDir(), UnpredictableNumber: kernel.FixedUN([4]byte{0xDE, 0, 0, 1}),
		Clock: func() time.Time { return time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC) }})
}

// newRigWith runs the UI with options o on an 80x24 simulation screen.
func newRigWith(t *testing.T, b Backend, o Options) *rig {
	t.Helper()
	sim := tcell.NewSimulationScreen("UTF-8")
	o.Screen = sim
	app, err := New(b, o)
	require.NoError(t, err)
	sim.SetSize(80, 24)
	r := &rig{t: t, sim: sim, app: app, done: make(chan error, 1)}
	go func() { r.done <- app.Run() }()
	t.Cleanup(func() {
		app.Stop()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("the UI did not stop")
		}
	})
	r.wait("Wallet")
	return r
}

func (r *rig) keys(s string) {
	for _, c := range s {
		r.sim.InjectKey(tcell.KeyRune, c, tcell.ModNone)
	}
}

func (r *rig) key(k tcell.Key) { r.sim.InjectKey(k, 0, tcell.ModNone) }

func (r *rig) wait(texts ...string) string {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		screen = r.app.Snapshot(r.sim)
		ok := true
		for _, t := range texts {
			ok = ok && strings.Contains(screen, t)
		}
		if ok {
			return screen
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("timed out waiting for %q on:\n%s", texts, screen)
	return ""
}

// golden compares the screen with testdata/name.txt (rewritten with
// -update).
func golden(t *testing.T, name, screen string) {
	t.Helper()
	path := filepath.Join("testdata", name+".txt")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(screen), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./tui -update to create it")
	require.Equal(t, string(want), screen)
}

func TestGoldenScreens(t *testing.T) {
	tests := []struct {
		name  string
		drive func(r *rig) string
	}{
		{"main", func(r *rig) string { return r.wait("Type an amount") }},
		{"amount", func(r *rig) string {
			r.keys("123450")
			r.key(tcell.KeyBackspace2)
			r.key(tcell.KeyDown)
			return r.wait("NT$123.45", "> mc-plastic")
		}},
		{"refund", func(r *rig) string {
			r.keys("r9")
			return r.wait("REFUND", "NT$0.09")
		}},
		{"help", func(r *rig) string {
			r.keys("?")
			r.wait("MAIN")
			// Scrolled so that the help's last lines show.
			end := max(strings.Count(HelpText(), "\n")-12, 0)
			for range end / 10 {
				r.sim.InjectKey(tcell.KeyPgDn, 0, tcell.ModNone)
			}
			for range end % 10 {
				r.sim.InjectKey(tcell.KeyDown, 0, tcell.ModNone)
			}
			// Every key handled: the help is at its end.
			deadline := time.Now().Add(10 * time.Second)
			for row := -1; row != end; {
				require.True(r.t, time.Now().Before(deadline), "the help did not scroll to its end")
				require.True(r.t, r.app.Sync(func(*model.Model) { row = r.app.helpRow }))
			}
			return r.wait("ANYWHERE", "close the help")
		}},
		{"phone", func(r *rig) string {
			r.key(tcell.KeyDown)
			r.key(tcell.KeyDown)
			r.keys("p12")
			return r.wait("state: locked", "passcode: **")
		}},
		{"history-empty", func(r *rig) string {
			r.keys("h")
			return r.wait("No transaction yet.")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testBackend("visa-plastic", "mc-plastic", "visa-se-phone"))
			golden(t, tt.name, tt.drive(r))
		})
	}
}

// A tap with the host unreachable: the kernel ran on the card, nothing was
// sent, the outcome says so and the APDU trace is there.
func TestTapHostUnavailable(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("150000t")
	s := r.wait("HOST UNAVAILABLE", "Host unavailable: not sent")
	require.NotContains(t, s, "4761739001010010")
	r.keys("h")
	r.wait("> 10:00:00 ", " sale ", "NT$1,500.00", "-- sale visa-plastic")
	r.keys("s")
	r.wait("saved " + r.app.o.SaveDir)
	var (
		notice string
		hist   []model.Entry
	)
	require.True(t, r.app.Sync(func(m *model.Model) { notice, hist = m.Notice, m.History }))
	require.Len(t, hist, 1)
	require.Equal(t, "host_unavailable", hist[0].Status)
	require.Contains(t, strings.Join(hist[0].APDU, "\n"), "SELECT")
	path := strings.Fields(notice)[1]
	require.Equal(t, filepath.Join(r.app.o.SaveDir, "tapsim-visa-plastic-sale-000001.trace"), path)
	rep, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(rep), "# ## apdu")
	require.Contains(t, string(rep), "Host unavailable")
	// The report is masked; the APDU lines below it are the test card's
	// data as it sent it, which the replay needs.
	report, apdus, ok := strings.Cut(string(rep), "\n> ")
	require.True(t, ok)
	require.NotContains(t, report, "4761739001010010")
	for _, l := range strings.Split(report, "\n") {
		require.True(t, l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "atr "), "report line %q is not a comment", l)
	}
	require.Contains(t, apdus, "4761739001010010")
	tr, err := recorded.ParseFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(tr.Exchanges), 3)
	require.Equal(t, []byte("2PAY.SYS.DDF01"), tr.Exchanges[0].Command[5:19], "the PPSE first")
}

// The PIN pad modal masks the digits and Esc cancels: nothing is sent.
func TestPINCancel(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("350000t")
	r.wait("PIN pad")
	r.keys("12")
	s := r.wait("PIN: **")
	require.NotContains(t, s, "PIN: 12")
	r.key(tcell.KeyEscape)
	r.wait("CANCELLED")
}

// Text from cards is escaped: a '[' never becomes a style tag.
func TestEscapedText(t *testing.T) {
	b := testBackend("visa-plastic")
	b.Wallet = []string{"[red]odd[-]"}
	r := newRig(t, b)
	r.wait("> [red]odd[-]")
}

// Every binding has keys and help, and the help lists them all.
func TestBindingTable(t *testing.T) {
	help := HelpText()
	for _, b := range Bindings {
		require.NotEmpty(t, b.Keys)
		require.NotEmpty(t, b.Help)
		require.NotNil(t, b.match)
		require.NotNil(t, b.do)
		require.Contains(t, help, b.Help)
	}
	require.Contains(t, FooterText(model.ScreenMain), "t/Enter tap")
	require.Contains(t, FooterText(model.ScreenPIN), "Enter OK")
	require.NotContains(t, FooterText(model.ScreenPIN), "tap")
}

func TestNewNeedsBackend(t *testing.T) {
	_, err := New(Backend{}, Options{})
	require.ErrorIs(t, err, ErrBackend)
}

func TestLogBuffer(t *testing.T) {
	var l LogBuffer
	_, _ = l.Write([]byte("a\nb"))
	require.Equal(t, 1, l.Len())
	mark := l.Len()
	_, _ = l.Write([]byte("c\nd\n"))
	require.Equal(t, []string{"bc", "d"}, l.Since(mark))
	require.Equal(t, []string{"a", "bc", "d"}, l.Since(0))
	require.Nil(t, l.Since(10))
	for i := 0; i < MaxLines+5; i++ {
		_, _ = l.Write([]byte("x\n"))
	}
	require.Equal(t, MaxLines+8, l.Len())
	require.Len(t, l.Since(0), MaxLines)
}

// The phone panel: biometric unlock, card function off and on, the full
// PAN only with the passcode.
func TestPhonePanel(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic", "visa-se-phone"))
	r.keys("p")
	r.wait("not a phone")
	r.key(tcell.KeyDown)
	r.keys("p")
	r.wait("state: locked", "PAN: 476173******0044")
	r.keys("b")
	r.wait("unlocked by biometric", "state: unlocked")
	r.keys("c")
	r.wait("card function: off")
	r.keys("c")
	r.wait("card function: on")
	r.keys("0000f")
	r.wait("full PAN refused")
	r.keys("5791f")
	s := r.wait("full PAN: 476173")
	require.NotContains(t, s, "5791", "the passcode is never shown")
	r.keys("l")
	r.wait("no issuer to report to")
	r.key(tcell.KeyEscape)
	r.wait("Sale entry")
}

// The APDU trace numbers the exchanges of a transaction from 1 and, with
// Timing on, shows how long each took: an in-process card answers in less
// than a microsecond, which must not show as 0s.
func TestAPDUTraceNumberingAndTiming(t *testing.T) {
	r := newRigWith(t, testBackend("visa-plastic"), Options{SaveDir: t.TempDir(), Timing: true})
	check := func() {
		var lines []string
		require.True(t, r.app.Sync(func(m *model.Model) { lines = append([]string(nil), m.Trace[model.PaneAPDU]...) }))
		var cmds, resps []string
		for _, l := range lines {
			switch {
			case strings.Contains(l, ". > "):
				cmds = append(cmds, l)
			case strings.HasPrefix(strings.TrimLeft(l, " "), "< "):
				resps = append(resps, l)
			}
		}
		require.Greater(t, len(cmds), 3)
		require.Len(t, resps, len(cmds))
		for i, c := range cmds {
			require.True(t, strings.HasPrefix(c, fmt.Sprintf("%d. > ", i+1)), c)
		}
		for _, l := range resps {
			require.Regexp(t, `\((\d+ns|[\d.]+µs|[\d.]+m?s)\)$`, l)
			require.NotContains(t, l, "(0s)")
		}
	}
	r.keys("150000t")
	r.wait("HOST UNAVAILABLE")
	check()

	// The next transaction numbers its exchanges from 1 again.
	r.keys("t")
	deadline := time.Now().Add(20 * time.Second)
	for done := false; !done; {
		require.True(t, time.Now().Before(deadline), "the second tap did not end")
		time.Sleep(10 * time.Millisecond)
		r.app.Sync(func(m *model.Model) { done = len(m.History) == 2 && !m.Busy })
	}
	check()
}

// walletBackend adds to testBackend a provisioning flow that asks for the
// OTP 123456 (sent to an inbox) until it is right or 3 tries are used.
func walletBackend(wallet ...string) Backend {
	b := testBackend(wallet...)
	b.FundingCards = []string{"visa-plastic", "mc-plastic"}
	b.NewDeviceID = func() string { return "0A1B2C3D4E5F6071" }
	at := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	b.Inbox = func(_ context.Context, to string) ([]InboxMessage, error) {
		if to != "+886900000001" {
			return nil, nil
		}
		return []InboxMessage{{At: at, Channel: "sms", Kind: "otp", Body: "123456 is your one-time password"}}, nil
	}
	b.AddToWallet = func(ctx context.Context, req WalletAdd) (WalletAdded, error) {
		req.Step("card", req.Card+" 476173******0010 typed into device "+req.DeviceID)
		if req.StepUp {
			req.Step("otp sent", "by TEXT to ******0001")
			q := OTPAsk{Recipient: "+886900000001", Masked: "******0001", TriesLeft: -1}
			for tries := 3; ; {
				code, err := req.OTP(ctx, q)
				if err != nil {
					return WalletAdded{}, err
				}
				if code == "123456" {
					break
				}
				if tries--; tries == 0 {
					return WalletAdded{Note: "OTP locked"}, nil
				}
				q.TriesLeft = tries
			}
		}
		req.Step("token", "489537******1234 installed")
		c, err := b.LoadCard("wallet-phone")
		if err != nil {
			return WalletAdded{}, err
		}
		return WalletAdded{Name: "token-1234@" + req.DeviceID[len(req.DeviceID)-4:], Card: c, Note: "token ******1234 ACTIVE",
			Info: CardInfo{Summary: "provisioned: token 489537******1234 ACTIVE", Passcode: "2468"}}, nil
	}
	return b
}

func TestAddCardToWallet(t *testing.T) {
	r := newRig(t, walletBackend("visa-plastic", "visa-se-phone"))
	r.key(tcell.KeyDown)
	r.keys("pa")
	golden(t, "add-card", r.wait("Add card to wallet", "device ID: 0A1B2C3D4E5F6071"))
	r.key(tcell.KeyRight)
	r.wait("< mc-plastic >")
	r.key(tcell.KeyEnter)
	r.wait("OTP: ______", "the OTP is in the phone's inbox (i)")
	r.keys("i")
	r.wait("123456 is your one-time password", "inbox of ******0001")
	r.key(tcell.KeyEscape)
	r.keys("111111")
	r.key(tcell.KeyEnter)
	golden(t, "otp", r.wait("wrong OTP: 2 tries left"))
	r.keys("123456")
	r.key(tcell.KeyEnter)
	r.wait("mc-plastic added: token ******1234 ACTIVE", "provisioned: token 489537******1234")
	r.keys("m")
	r.wait("123456 is your one-time password")
	r.keys("i")
	r.wait("state: locked")
	r.key(tcell.KeyEscape)
	s := r.wait("> + token-1234@6071", "Trace: provisioning", "token")
	require.NotContains(t, s, "123456", "the OTP shows only in the inbox")
	golden(t, "wallet-added", s)
}

func TestAddCardOTPLockedAndCancelled(t *testing.T) {
	r := newRig(t, walletBackend("visa-se-phone"))
	r.keys("pm")
	r.wait("no inbox yet")
	r.keys("a")
	r.wait("device ID")
	r.key(tcell.KeyEnter)
	for _, left := range []string{"2 tries left", "1 tries left"} {
		r.wait("OTP: ______")
		r.keys("000000")
		r.key(tcell.KeyEnter)
		r.wait(left)
	}
	r.keys("000000")
	r.key(tcell.KeyEnter)
	r.wait("no token: OTP locked")
	r.keys("a")
	r.wait("device ID")
	r.key(tcell.KeyEnter)
	r.wait("OTP: ______")
	r.key(tcell.KeyEscape)
	r.wait("OTP entry cancelled")
	r.key(tcell.KeyEscape)
	s := r.wait("Sale entry")
	require.NotContains(t, s, "+ token-")
}

// The phone panel's wallet token keys: s, r and w go to the backend at
// once, d only when pressed twice; the panel shows the token's state as
// the wallet app sees it; a phone without a wallet token says so.
func TestWalletTokenKeys(t *testing.T) {
	b := walletBackend("visa-se-phone")
	var (
		mu    sync.Mutex
		state = "489537******1234 ACTIVE"
		asked []WalletAction
	)
	b.WalletToken = func(_ context.Context, name string, act WalletAction) (string, error) {
		if !strings.HasPrefix(name, "token-") {
			return "", ErrNoWalletToken
		}
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, act)
		switch act {
		case WalletSuspend:
			state = "489537******1234 SUSPENDED (by CARDHOLDER)"
		case WalletResume:
			state = "489537******1234 ACTIVE"
		case WalletDelete:
			state = "******1234 DEACTIVATED"
		}
		return state, nil
	}
	b.TokenState = func(name string) string {
		if !strings.HasPrefix(name, "token-") {
			return ""
		}
		mu.Lock()
		defer mu.Unlock()
		return state
	}
	r := newRig(t, b)
	r.keys("ps")
	r.wait("visa-se-phone holds no wallet token")
	r.keys("a")
	r.wait("device ID")
	r.key(tcell.KeyDown)
	r.key(tcell.KeyDown)
	r.keys(" ")
	r.key(tcell.KeyEnter)
	r.wait("visa-plastic added", "wallet token: 489537******1234 ACTIVE")
	r.keys("s")
	r.wait("token suspend: 489537******1234 SUSPENDED (by CARDHOLDER)", "wallet token: 489537******1234 SUSPENDED")
	r.keys("r")
	r.wait("token resume: 489537******1234 ACTIVE")
	r.keys("w")
	r.wait("token refresh: 489537******1234 ACTIVE")
	r.keys("d")
	r.wait("d again deletes the token")
	r.keys("d")
	r.wait("token delete: ******1234 DEACTIVATED", "wallet token: ******1234 DEACTIVATED")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []WalletAction{WalletSuspend, WalletResume, WalletRefresh, WalletDelete}, asked)
}

// seBackend adds a fake "Personalise SE over the air" to walletBackend: its
// OTA commands go to req.Trace, the OTP to the inbox of walletBackend.
func seBackend(wallet ...string) Backend {
	b := walletBackend(wallet...)
	b.SECards = []string{"visa-se-phone", "mc-se-phone"}
	b.PersonaliseSE = func(ctx context.Context, req WalletAdd) (WalletAdded, error) {
		owner := "issuer-owned SE"
		if req.Shared {
			owner = "shared SE"
		}
		req.Step("issuer", "data preparation of "+req.Card+", "+owner)
		code, err := req.OTP(ctx, OTPAsk{Recipient: "+886900000001", Masked: "******0001", TriesLeft: -1})
		if err != nil {
			return WalletAdded{}, err
		}
		if code != "123456" {
			return WalletAdded{Note: "otp_mismatch"}, nil
		}
		for _, l := range []string{"SELECT A000000151000000 -> 9000", "INSTALL [for install] -> 9000", "STORE DATA (last block) -> 9000"} {
			req.Trace(l)
		}
		c, err := b.LoadCard(req.Card)
		if err != nil {
			return WalletAdded{}, err
		}
		return WalletAdded{Name: "se-0044@" + req.DeviceID[len(req.DeviceID)-4:], Card: c, Note: "personalised over the air",
			Info: CardInfo{Summary: "personalised: card 476173******0044 in the SE of device " + req.DeviceID, Passcode: "2468"}}, nil
	}
	return b
}

// "Personalise SE over the air" on the phone panel: an se-phone sample,
// the device ID and the SE's owner; the code read from the inbox; the OTA
// commands in the provisioning trace; the new phone joins the wallet.
func TestPersonaliseSE(t *testing.T) {
	r := newRig(t, seBackend("visa-plastic", "visa-se-phone"))
	r.key(tcell.KeyDown)
	r.keys("po")
	r.wait("Personalise SE over the air", "SE owner:  the issuer (R-M1)")
	r.key(tcell.KeyDown)
	r.key(tcell.KeyDown)
	r.key(tcell.KeyRight)
	golden(t, "se-form", r.wait("SE owner:  an SE operator, shared (R-M2)"))
	r.key(tcell.KeyEnter)
	r.wait("OTP: ______", "the OTP is in the phone's inbox (i)")
	r.keys("i")
	r.wait("123456 is your one-time password")
	r.key(tcell.KeyEscape)
	r.keys("123456")
	r.key(tcell.KeyEnter)
	r.wait("visa-se-phone added: personalised over the air")
	r.key(tcell.KeyEscape)
	s := r.wait("> + se-0044@6071", "Trace: provisioning", "OTA             INSTALL [for install] -> 9000", "shared SE")
	require.NotContains(t, s, "123456", "the OTP shows only in the inbox")
	golden(t, "se-added", s)
}

// Without TSMs the panel says so.
func TestPersonaliseSENoTSM(t *testing.T) {
	r := newRig(t, walletBackend("visa-se-phone"))
	r.keys("po")
	r.wait("no TSMs to personalise a secure element with")
}

// The next-answer menu puts a rule that fires once in front of the
// acquirer's rules, and replaces one still pending.
func TestNextAnswerMenu(t *testing.T) {
	b := testBackend("visa-plastic")
	b.NextAnswer = rules.New(nil, rules.Options{})
	r := newRig(t, b)
	r.keys("n")
	r.key(tcell.KeyDown)
	golden(t, "next-answer", r.wait("> 05 do not honour"))
	r.key(tcell.KeyEnter)
	r.wait("next: 05", "the next sale is answered: 05 do not honour")
	require.Len(t, b.NextAnswer.Pending(), 1)

	// A delay typed on the menu replaces the pending answer.
	r.keys("n")
	for range 7 {
		r.key(tcell.KeyDown)
	}
	r.wait("> delay 3000 ms")
	r.keys("1500")
	r.wait("> delay 1500 ms")
	r.key(tcell.KeyEnter)
	r.wait("next: delay 1500 ms")
	p := b.NextAnswer.Pending()
	require.Len(t, p, 1)
	require.Equal(t, 1500*time.Millisecond, p[0].Action.Delay)
	require.Equal(t, "next-answer", p[0].Name)

	// The last line takes it back.
	r.keys("n")
	for range len(nextChoices) {
		r.key(tcell.KeyDown)
	}
	r.wait("> normal answer")
	r.key(tcell.KeyEnter)
	s := r.wait("the host's normal answer", "ready")
	require.NotContains(t, s, "next:")
	require.Empty(t, b.NextAnswer.Pending())
}

func TestNextAnswerNeedsTheAcquirersRules(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("n")
	r.wait("no embedded acquirer")
}

// The customer display shows Book A's messages only: the host's trouble is
// on the operator's side, and a new amount clears the last message.
func TestCustomerDisplayBookAMessages(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("150000t")
	s := r.wait("HOST UNAVAILABLE", "Processing Error")
	golden(t, "display-processing-error", s)
	var display string
	require.True(t, r.app.Sync(func(m *model.Model) { display = m.Display }))
	require.Equal(t, "Processing Error", display)

	r.keys("1")
	s = r.wait("NT$15,000.01", "Welcome")
	require.NotContains(t, s, "Processing Error")
	golden(t, "display-cleared", s)
}

// Every screen's hints fit the footer's two lines at 80 columns, wrapped
// between hints.
func TestFooterFits80Columns(t *testing.T) {
	for s := model.ScreenMain; s <= model.ScreenNextAnswer; s++ {
		lines := FooterLines(s, 80)
		require.LessOrEqual(t, len(lines), 2, "%s: %q", s, lines)
		for _, l := range lines {
			require.LessOrEqual(t, len([]rune(l)), 80, "%s: %q", s, l)
		}
		require.Equal(t, FooterText(s), strings.Join(lines, "  "), "%s: no hint cut", s)
	}
}
