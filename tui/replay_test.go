package tui

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

// odaBackend is testBackend whose terminal holds the test CA keys, so that
// offline data authentication runs and a card may approve offline.
func odaBackend(t *testing.T, wallet ...string) Backend {
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(t, err)
	b := testBackend(wallet...)
	mk := b.NewTerminal
	b.NewTerminal = func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
		if cfg == nil {
			c := pos.DefaultConfig()
			cfg = &c
		}
		cfg.Kernel.CAPublicKeys = capk
		return mk(cfg, o)
	}
	return b
}

// countingUN gives a new unpredictable number at each call.
func countingUN() func() [4]byte {
	var n atomic.Uint32
	return func() [4]byte {
		v := n.Add(1)
		return [4]byte{0xC0, byte(v >> 16), byte(v >> 8), byte(v)}
	}
}

// waitHistory waits until the session holds n finished transactions.
func (r *rig) waitHistory(n int) []model.Entry {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var busy bool
		var h []model.Entry
		require.True(r.t, r.app.Sync(func(m *model.Model) { h, busy = append([]model.Entry(nil), m.History...), m.Busy }))
		if len(h) >= n && !busy {
			return h
		}
		require.True(r.t, time.Now().Before(deadline), "the session never held %d transactions:\n%s", n, r.app.Snapshot(r.sim))
		time.Sleep(10 * time.Millisecond)
	}
}

// A tap saved from the history loads back into the wallet as a recorded
// card; tapping it replays the card with the recorded unpredictable number
// and amount, so that its fDDA signature verifies and the outcome is the
// one saved. At another amount the recorded signature fails, as it should.
func TestSavedTraceReplaysAsRecordedCard(t *testing.T) {
	dir := t.TempDir()
	r := newRigWith(t, odaBackend(t, "visa-plastic"), Options{SaveDir: dir, UnpredictableNumber: countingUN()})
	r.keys("100t")
	r.wait("APPROVED", "Approved offline")
	r.keys("hs")
	s := r.wait("saved " + dir)
	file := "tapsim-visa-plastic-sale-offline.trace"
	require.Contains(t, strings.ReplaceAll(s, "\n", ""), "trace: "+file)
	r.key(tcell.KeyEscape)
	r.wait("  ↺ visa-plastic-sale-o…")

	// Replay: the amount comes from the trace when none is typed.
	r.key(tcell.KeyBackspace2)
	r.key(tcell.KeyBackspace2)
	r.key(tcell.KeyBackspace2)
	r.key(tcell.KeyDown)
	r.keys("t")
	h := r.waitHistory(2)
	orig, replay := h[0], h[1]
	require.Equal(t, "trace: "+file, replay.Card)
	require.True(t, replay.Approved, "replayed outcome: %s %s", replay.Message, replay.Err)
	require.Equal(t, orig.Amount, replay.Amount)
	require.Equal(t, orig.Cryptogram, replay.Cryptogram)
	require.Equal(t, orig.PAN, replay.PAN)
	require.Equal(t, orig.APDU[len(orig.APDU)-1], replay.APDU[len(replay.APDU)-1])
	r.wait("replaying " + file)

	// The same trace at another amount: the recorded fDDA signature covers
	// the recorded amount, so the terminal cannot approve offline.
	r.keys("200t")
	h = r.waitHistory(3)
	require.False(t, h[2].Approved, "a replay at another amount: %s", h[2].Message)

	// The unpredictable number of the next ordinary tap is the terminal's
	// own again: no recorded one is left in the queue.
	require.True(t, r.app.Sync(func(*model.Model) {}))
	r.app.mu.Lock()
	left := len(r.app.unQueue)
	r.app.mu.Unlock()
	require.Zero(t, left)
}

// A See Phone transaction (two presentations) replays both: the recorded
// phone refuses the first tap and answers the second without being
// unlocked, as the real one did once unlocked.
func TestSavedTraceReplaysBothPresentations(t *testing.T) {
	dir := t.TempDir()
	r := newRigWith(t, testBackend("hce-phone"), Options{SaveDir: dir, UnpredictableNumber: countingUN()})
	r.keys("100t")
	r.wait("See Phone")
	r.keys("p5791u")
	r.wait("unlocked with passcode")
	r.key(tcell.KeyEscape)
	r.keys("t")
	r.wait("HOST UNAVAILABLE")
	r.keys("hs")
	r.wait("saved " + dir)
	r.key(tcell.KeyEscape)

	file := "tapsim-hce-phone-sale-000001.trace"
	b, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(b), "\nreset\n"))

	r.key(tcell.KeyDown)
	r.wait("> ↺ hce-phone-sale-0000…")
	r.keys("t")
	r.wait("See Phone")
	r.keys("t")
	r.wait("HOST UNAVAILABLE")
	h := r.waitHistory(2)
	require.Equal(t, "ARQC", h[1].Cryptogram)
	require.Equal(t, h[0].PAN, h[1].PAN)
	var gpo []string
	for _, l := range h[1].APDU {
		if strings.Contains(l, "> GET PROCESSING OPTIONS") {
			gpo = append(gpo, l)
		}
	}
	require.Len(t, gpo, 2, "two presentations")
}

// Trace files in the save directory are in the wallet from the start; one
// that does not parse gives a clear error naming the line, and the UI goes
// on.
func TestTraceFilesInTheWallet(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "cards", "recorded", "testdata", "visa-qvsdc.trace"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.trace"), src, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.trace"), []byte("> 00A4040000\nhello\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600))
	r := newRigWith(t, testBackend("visa-plastic"), Options{SaveDir: dir})
	s := r.wait("↺ bad", "↺ good")
	require.NotContains(t, s, "notes.txt")

	r.key(tcell.KeyDown)
	r.keys("t")
	r.wait("syntax error at line 2")
	r.key(tcell.KeyDown)
	r.keys("t")
	h := r.waitHistory(1)
	require.Equal(t, "trace: good.trace", h[0].Card)
	require.Equal(t, int64(12500), h[0].Amount, "the recorded amount")
	require.Equal(t, "ARQC", h[0].Cryptogram)
}

func TestWalletLabel(t *testing.T) {
	require.Equal(t, "visa-plastic", walletLabel("visa-plastic", 22))
	require.Equal(t, "↺ hce-phone-sale-000001", walletLabel("trace: tapsim-hce-phone-sale-000001.trace", 23))
	require.Equal(t, "↺ hce-phone-sale-0000…", walletLabel("trace: tapsim-hce-phone-sale-000001.trace", 22))
	require.Equal(t, "▣ ACS ACR122U 00 00", walletLabel("reader: ACS ACR122U 00 00", 22))
	require.Equal(t, "▣ ACS ACR122U PICC… 00 00", walletLabel("reader: ACS ACR122U PICC Interface 00 00", 25))
	require.Equal(t, "▣ tapsim vpcd… 00 01", walletLabel("reader: tapsim vpcd 2756 00 01", 20))
	require.Equal(t, "▣ ACS ACR122U P…", walletLabel("reader: ACS ACR122U PICC Interface 00 00", 16))
	require.Equal(t, "x", walletLabel("x", 0))
}

func TestFileSafe(t *testing.T) {
	require.Equal(t, "visa-plastic", fileSafe("visa-plastic"))
	require.Equal(t, "tapsim-x-sale-000001", fileSafe("trace: tapsim-x-sale-000001.trace"))
	require.Equal(t, "ACS-ACR122U-00-00", fileSafe("ACS ACR122U 00 00"))
	require.Equal(t, "..-..-etc", fileSafe("../../etc"))
}

// The layout follows the screen's size: from 100 columns the wallet column
// is wider and long names show whole; back at 80x24 they are cut again and
// nothing is left over from the larger screen.
func TestResize(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "cards", "recorded", "testdata", "visa-qvsdc.trace"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tapsim-visa-plastic-sale-000042.trace"), src, 0o600))
	r := newRigWith(t, testBackend("visa-plastic"), Options{SaveDir: dir})
	s := r.wait("↺ visa-plastic-sale-0…")
	require.Len(t, strings.Split(strings.TrimRight(s, "\n"), "\n"), 24)

	r.sim.SetSize(120, 40)
	r.app.app.QueueEvent(tcell.NewEventResize(120, 40))
	s = r.wait("↺ visa-plastic-sale-000042 ")
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	require.Len(t, lines, 40)
	require.Contains(t, lines[len(lines)-2]+lines[len(lines)-1], "? help", "the footer at the bottom")

	r.sim.SetSize(80, 24)
	r.app.app.QueueEvent(tcell.NewEventResize(80, 24))
	s = r.wait("↺ visa-plastic-sale-0…")
	for _, l := range strings.Split(s, "\n") {
		require.LessOrEqual(t, len([]rune(l)), 80)
	}
}

// Moving in the wallet tells what the entry is, with a test phone's
// passcode; the phone panel and the PIN pad give the test credentials.
func TestWalletInfo(t *testing.T) {
	b := odaBackend(t, "visa-plastic", "mc-plastic", "hce-phone")
	b.Info = func(name string) CardInfo {
		info := CardInfo{Summary: "the " + name, PIN: "1234"}
		if name == "hce-phone" {
			info.Passcode = "5791"
		}
		return info
	}
	r := newRigWith(t, b, Options{SaveDir: t.TempDir()})
	r.key(tcell.KeyDown)
	r.wait("mc-plastic: the mc-plastic")
	r.key(tcell.KeyDown)
	r.wait("hce-phone (passcode 5791): the hce-phone")
	r.keys("p")
	r.wait("(test passcode 5791; b needs none)")
	r.key(tcell.KeyEscape)
	r.key(tcell.KeyUp)
	r.keys("350000t")
	s := r.wait("PIN pad", "test PIN 1234", "NT$3,500.00")
	require.NotContains(t, s, "TWD")
	r.key(tcell.KeyEscape)
	r.wait("CANCELLED")
	r.keys("?")
	r.wait("MAIN")
	r.key(tcell.KeyEscape)
	r.keys("s")
	s = r.wait("Terminal settings")
	require.Contains(t, s, "? help")
}

// Above the contactless transaction limit the kernel ends with Try Another
// Interface; the outcome says why.
func TestKernelReasonShown(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("99999999t")
	s := r.wait("NOT COMPLETED", "kernel: ")
	require.Contains(t, s, "Try Another Card")
	h := r.waitHistory(1)
	require.NotEmpty(t, h[0].Kernel)
	require.Contains(t, h[0].Report(), "kernel: "+h[0].Kernel)
	require.Contains(t, h[0].Kernel, "contactless transaction limit")
}
