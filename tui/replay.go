package tui

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tapsim/tapsim/cards/recorded"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/tui/model"
)

// TracePrefix marks the wallet entries that are saved traces replayed as
// recorded cards: "trace: tapsim-sale-000001-visa-plastic.trace".
const TracePrefix = "trace: "

// TraceExt is the extension of a saved trace that loads back as a card.
const TraceExt = ".trace"

// traceFile is the file behind a wallet entry, "" for anything else.
func traceFile(entry string) string {
	if name, ok := strings.CutPrefix(entry, TracePrefix); ok {
		return name
	}
	return ""
}

// savedTraces lists the trace files of dir as wallet entries, by name.
func savedTraces(dir string) []string {
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), TraceExt) {
			out = append(out, TracePrefix+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// saveDir is where traces are saved and loaded from.
func (a *App) saveDir() string {
	if a.o.SaveDir == "" {
		return "."
	}
	return a.o.SaveDir
}

// loadTrace reads the saved trace behind a wallet entry.
func (a *App) loadTrace(file string) (*recorded.Trace, error) {
	if file != filepath.Base(file) {
		return nil, fmt.Errorf("tui: trace %q: not a file of the save directory", file)
	}
	t, err := recorded.ParseFile(filepath.Join(a.saveDir(), file))
	if err != nil {
		return nil, fmt.Errorf("tui: trace %s: %w", file, err)
	}
	return t, nil
}

// recordExchange keeps an exchange of the running tap for its replay
// (transaction goroutine).
func (a *App) recordExchange(x kernel.Exchange) {
	if x.Err != nil || len(x.C) < 4 || len(x.R) < 2 {
		return
	}
	a.raw = append(a.raw, recorded.Exchange{Reset: a.rawReset && len(a.raw) > 0,
		Command: bytes.Clone(x.C), Response: bytes.Clone(x.R)})
	a.rawReset = false
}

// takeRecording is what the tap recorded, nil when nothing was exchanged
// (transaction goroutine).
func (a *App) takeRecording(atr []byte) *recorded.Trace {
	raw := a.raw
	a.raw, a.rawReset = nil, false
	if len(raw) == 0 {
		return nil
	}
	return &recorded.Trace{ATR: bytes.Clone(atr), Exchanges: raw}
}

// replayUN queues the recorded unpredictable numbers of a trace for the
// taps replaying it, so that the card's recorded signatures (fDDA, CDA)
// verify again.
func (a *App) replayUN(t *recorded.Trace) {
	var uns [][4]byte
	for _, v := range t.TerminalValues(0x9F37) {
		if len(v) == 4 {
			uns = append(uns, [4]byte(v))
		}
	}
	a.mu.Lock()
	a.unQueue = uns
	a.mu.Unlock()
}

// clearUN drops the unpredictable numbers left of a replay.
func (a *App) clearUN() {
	a.mu.Lock()
	a.unQueue = nil
	a.mu.Unlock()
}

// nextUN is the terminal's unpredictable number source: the recorded ones
// while a trace replays, then the configured source or crypto/rand.
func (a *App) nextUN() [4]byte {
	a.mu.Lock()
	if len(a.unQueue) > 0 {
		un := a.unQueue[0]
		a.unQueue = a.unQueue[1:]
		a.mu.Unlock()
		return un
	}
	a.mu.Unlock()
	if a.o.UnpredictableNumber != nil {
		return a.o.UnpredictableNumber()
	}
	var un [4]byte
	_, _ = rand.Read(un[:])
	return un
}

// recordedAmount is the amount of a trace's first transaction (9F02), 0
// when it has none.
func recordedAmount(t *recorded.Trace) int64 {
	vs := t.TerminalValues(0x9F02)
	if len(vs) == 0 {
		return 0
	}
	var v int64
	for _, b := range vs[0] {
		hi, lo := b>>4, b&0x0F
		if hi > 9 || lo > 9 {
			return 0
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	return v
}

// addToWallet puts a wallet entry at the end of the wallet unless it is
// there.
func addToWallet(m *model.Model, entry string) {
	for _, w := range m.Wallet {
		if w == entry {
			return
		}
	}
	m.Wallet = append(m.Wallet, entry)
}

// fileSafe keeps letters, digits, '.', '-' and '_' of s; anything else
// becomes '-'.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, strings.TrimSuffix(strings.TrimPrefix(s, TracePrefix), TraceExt))
}

// freeName is base, or base with "-2", "-3"... before its extension when a
// file of dir has that name already (STANs start again in each session).
func freeName(dir, base string) string {
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	name := base
	for i := 2; i < 1000; i++ {
		if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d%s", stem, i, ext)
	}
	return name
}

// traceHeader explains a saved trace's APDU lines.
const traceHeader = `#
# Below: the APDUs of the tap as the card exchanged them, in the recorded-card
# format ("reset" marks the card presented again). They hold the card's data
# in clear: tapsim saves them for its virtual test cards only. Put the file in
# the save directory and it is in the wallet as "trace: <file>"; tapping it
# replays the card with the recorded unpredictable numbers.
`

// saveTrace writes the history entry under the cursor to a file: a masked
// report, followed for a virtual card's tap by its APDUs in the
// recorded-card format, so that it loads back into the wallet.
func (a *App) saveTrace() {
	e := a.m.Current()
	if e == nil {
		a.m.Notice = "no transaction to save"
		return
	}
	rec := a.replay[a.m.Cursor]
	stan := e.STAN
	if stan == "" {
		stan = "offline"
	}
	base := fmt.Sprintf("tapsim-%s-%s-%s", fileSafe(e.Card), e.Kind, fileSafe(stan))
	var b bytes.Buffer
	if rec == nil {
		b.WriteString(e.Report())
		base += ".txt"
	} else {
		for _, l := range strings.Split(strings.TrimRight(e.Report(), "\n"), "\n") {
			b.WriteString(strings.TrimRight("# "+l, " "))
			b.WriteByte('\n')
		}
		b.WriteString(traceHeader)
		if _, err := rec.WriteTo(&b); err != nil {
			a.m.Notice = "save: " + err.Error()
			return
		}
		base += TraceExt
	}
	base = freeName(a.saveDir(), base)
	path := filepath.Join(a.saveDir(), base)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		a.m.Notice = "save: " + err.Error()
		return
	}
	a.m.Notice = "saved " + path
	if rec != nil {
		addToWallet(a.m, TracePrefix+base)
		a.m.Notice += " (replay it: " + TracePrefix + base + " in the wallet)"
	} else if readerName(e.Card) != "" {
		a.m.Notice += " (report only: a reader's card data is not kept)"
	}
}

// traceOf is the saved trace behind a loaded wallet entry, nil for anything
// else.
func (a *App) traceOf(name string) *recorded.Trace {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.traces[name]
}

// selectedTrace is the saved trace of the selected wallet entry, loading it;
// nil without error when the entry is not a trace.
func (a *App) selectedTrace() (*recorded.Trace, error) {
	name := a.m.SelectedCard()
	if traceFile(name) == "" {
		return nil, nil
	}
	if _, _, err := a.card(name); err != nil {
		return nil, err
	}
	return a.traceOf(name), nil
}

// ReplayRefused is what the wallet entry of a saved trace says once the
// issuer refused its replay as a replay.
const ReplayRefused = "declined as a replay (R-G4); x: once more, replay-tolerant issuer test setting"

// ReplayTolerated is the notice after a tap under that test setting.
const ReplayTolerated = "replayed under the issuer's replay-tolerant TEST SETTING, this tap only (logged)"

// replayVerdict notes, after the tap of wallet entry name, whether the
// issuer refused a saved trace's replay as a replay, and ends a tap under
// the replay-tolerant test setting (UI goroutine).
func (a *App) replayVerdict(name string, e model.Entry, arqc []byte) {
	if traceFile(name) == "" {
		return
	}
	if a.tolerantTap == name {
		a.tolerantTap = ""
		delete(a.replayRefused, name)
		a.m.Notice = ReplayTolerated
		return
	}
	if e.Reason == string(isospec.ReasonCryptogramReplay) && len(arqc) == 8 {
		a.replayRefused[name] = bytes.Clone(arqc)
		a.m.Notice = ReplayRefused
	}
}

// replayTolerant replays the selected saved trace once more, after arming
// the issuer's replay-tolerant test setting for its cryptogram.
func (a *App) replayTolerant() {
	m := a.m
	name := m.SelectedCard()
	arqc, ok := a.replayRefused[name]
	switch {
	case m.Busy:
		m.Notice = "a transaction is running"
		return
	case traceFile(name) == "" || !ok:
		m.Notice = "x: only for a saved trace whose replay the issuer refused as a replay"
		return
	case a.b.TolerateReplay == nil:
		m.Notice = "x: the issuer host is not embedded: no replay-tolerant test setting to use"
		return
	}
	m.Notice = "arming the issuer's replay-tolerant test setting for one tap..."
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.b.TolerateReplay(a.ctx, arqc)
		a.post(func(m *model.Model) {
			if err != nil {
				m.Notice = "replay-tolerant test setting: " + err.Error()
				return
			}
			if m.Busy || m.SelectedCard() != name {
				m.Notice = "replay-tolerant test setting armed: tap " + traceFile(name) + " again"
				return
			}
			a.tolerantTap = name
			a.tap()
		})
	}()
}
