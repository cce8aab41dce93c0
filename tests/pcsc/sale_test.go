package pcsc

import (
	"context"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/pcsc"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
)

// Whole sales through PC/SC: the card or phone served over vpcd, tapped
// through pcscd by the POS terminal, the authorisation sent over ISO 8583
// to the acquirer and on to the issuer host (both tapsim processes on
// loopback TCP), and approved.
func TestSaleThroughTheNetwork(t *testing.T) {
	pcscd.Need(t)
	acquirer, issuerDir := startHostsAt(t)
	now := time.Now().Truncate(time.Second)
	// One terminal for all the sales; the presenter brings back the card
	// of the sale in progress.
	var (
		cur      *rig
		passcode string
	)
	term := newTerminal(t, acquirer, now, pos.PresenterFunc(func(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
		cur.takeAway(ctx)
		if passcode != "" {
			cur.unlock(passcode)
		}
		if err := cur.server.Insert(ctx); err != nil {
			return nil, err
		}
		return cur.reader.PresentAgain(ctx, o)
	}))
	for _, tc := range []struct {
		name        string
		profile     string
		amount      int64
		passcode    string // the holder unlocks the phone with it when asked
		removeAfter int    // commands answered before the card leaves mid-tap; -1 never
		taps        int
		cvm         kernel.CVM
		oda         string
	}{
		// R-S2e: See Phone, unlocked, tapped again: CDCVM.
		{"hce phone", "hce-phone", 150000, "5791", -1, 2, kernel.CVMConfirmationCode, ""},
		{"mastercard cda", "mc-plastic", 150000, "", -1, 1, kernel.CVMNone, "CDA"},
		// Taken away during GET PROCESSING OPTIONS, presented again.
		{"removed mid-tap", "visa-plastic", 150000, "", 2, 2, kernel.CVMNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			var card cards.Card
			if lab.IsSampleHCE(tc.profile) {
				// The phone the issuer enrolled with its cloud platform.
				hp, err := lab.OpenIssuerHCEPhone(issuerDir, tc.profile, func() time.Time { return now }, nil)
				require.NoError(t, err)
				card = hp.Phone
			} else {
				p, err := cards.Builtin(tc.profile)
				require.NoError(t, err)
				card, err = cards.FromProfile(p, cards.Options{Clock: func() time.Time { return now }})
				require.NoError(t, err)
			}
			r := newRig(t, card, vpcd.Options{})
			cur, passcode = r, tc.passcode
			r.present(ctx)
			r.server.RemoveAfter(tc.removeAfter)
			res, err := term.Sale(ctx, tc.amount, r.reader)
			require.NoError(t, err)
			require.True(t, res.Approved(), "%s", res)
			require.True(t, res.Online)
			require.Equal(t, isospec.ResponseCode("00"), res.ResponseCode, "%s", res)
			require.NotEmpty(t, res.AuthCode)
			require.Equal(t, tc.taps, res.Taps)
			require.Equal(t, tc.cvm, res.Outcome.CVM)
			if tc.oda != "" {
				require.Equal(t, tc.oda, res.Outcome.ODA.Method)
				require.Equal(t, kernel.ODAPassed, res.Outcome.ODA.Status)
			}
			require.Equal(t, tc.taps, r.server.Stats().Insertions)
		})
	}
}

// "tapsim readers" lists vpcd's readers and the card "tapsim card serve"
// puts in one of them; a sale with that phone goes through the network:
// See Phone, SIGUSR1 takes it away, the holder unlocks it while it is away
// (--unlock), it comes back and the sale is approved.
func TestCardServeAndReadersCommands(t *testing.T) {
	d := pcscd.Need(t)
	ctx := testCtx(t)
	env := []string{d.Env()}

	out, err := runTapsim(t, []string{pcscd.SocketEnv + "=" + d.Dir + "/no-such-pcscd.comm"}, "readers")
	require.Error(t, err, out)
	require.Contains(t, out, "PC/SC service not available")

	out, err = runTapsim(t, env, "readers")
	require.NoError(t, err, out)
	require.Equal(t, fmt.Sprintf("0  %s: no card\n1  %s: no card\n", d.Reader(0), d.Reader(1)), out)

	// The phone the issuer enrolled with its cloud platform, from its data.
	acquirer, issuerDir := startHostsAt(t)
	serve := startProc(t, nil, "card", "serve", "--vpcd", d.VPCD(1), "--profile", "hce-phone",
		"--unlock", "5791", "--away", "200ms", "--verbose", "--data", issuerDir)
	serve.waitLine(t, regexp.MustCompile(`^card in the field$`))
	reader, err := pcsc.Open("1", pcsc.Options{})
	require.NoError(t, err)
	defer reader.Close()
	require.NoError(t, reader.WaitForCard(ctx))

	hp, err := lab.OpenIssuerHCEPhone(issuerDir, "hce-phone", nil, nil)
	require.NoError(t, err)
	phone := hp.Phone
	p, err := cards.Builtin("hce-phone")
	require.NoError(t, err)
	atr := strings.ToUpper(hex.EncodeToString(phone.ATR()))
	out, err = runTapsim(t, env, "readers")
	require.NoError(t, err, out)
	require.Contains(t, out, fmt.Sprintf("0  %s: no card\n", d.Reader(0)))
	require.Contains(t, out, fmt.Sprintf("1  %s: card present, ATR %s (in use)\n", d.Reader(1), atr))

	presenter := pos.PresenterFunc(func(ctx context.Context, o kernel.Outcome) (kernel.Reader, error) {
		serve.signal(t, syscall.SIGUSR1)
		if err := reader.WaitForRemoval(ctx); err != nil {
			return nil, err
		}
		return reader.PresentAgain(ctx, o)
	})
	term := newTerminal(t, acquirer, time.Now().Truncate(time.Second), presenter)
	res, err := term.Sale(ctx, 150000, reader)
	require.NoError(t, err)
	require.True(t, res.Approved(), "%s", res)
	require.Equal(t, 2, res.Taps)
	require.Equal(t, kernel.CVMConfirmationCode, res.Outcome.CVM)
	serve.waitLine(t, regexp.MustCompile(`^phone unlocked$`))

	serve.signal(t, syscall.SIGTERM)
	require.Equal(t, 0, serve.exitCode(t), serve.output())
	m := serve.waitLine(t, regexp.MustCompile(`^stopped: (\d+) presentations, (\d+) commands answered$`))
	require.Equal(t, "2", m[1])
	log := serve.output()
	require.Contains(t, log, "APDU INS A8")
	require.NotContains(t, log, p.App.PAN, "no card data in the log")
	require.NoError(t, reader.WaitForRemoval(ctx))
}

// With nothing listening on its port, "tapsim card serve" waits for vpcd
// and stops cleanly on SIGTERM.
func TestCardServeWaitsForVPCD(t *testing.T) {
	pcscd.Need(t)
	port, err := pcscd.FreePorts(1)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	serve := startProc(t, nil, "card", "serve", "--vpcd", addr, "--profile", "mc-plastic")
	serve.waitLine(t, regexp.MustCompile(`^waiting for vpcd at `+regexp.QuoteMeta(addr)))
	serve.signal(t, syscall.SIGTERM)
	require.Equal(t, 0, serve.exitCode(t), serve.output())
	require.Contains(t, serve.output(), "stopped: 0 presentations")
}
