package pcsc

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pcsc"
)

// An HCE phone tapped through pcscd asks the holder to verify on the phone
// first (See Phone, restart at Start B); unlocked and tapped again it gives
// an ARQC with CDCVM, spending one single-use key. The next purchase asks
// again, whatever the amount (R-S2e), and the phone's state (keys, ATC)
// carries over from one presentation to the next (R-S5b).
func TestHCEPhoneSeePhoneThenCDCVM(t *testing.T) {
	ctx := testCtx(t)
	r := newRig(t, newCard(t, "hce-phone"), vpcd.Options{})
	cfg := terminalConfig(t)
	var keysBefore int
	r.phone(func(ph phoneView) { keysBefore = ph.KeysLeft() })
	require.Positive(t, keysBefore)

	var atcs [][]byte
	for sale, amount := range []int64{150000, 5000} {
		r.present(ctx)
		require.Equal(t, "T=1", r.reader.Protocol())
		ep, out := r.startTap(ctx, cfg, amount)
		require.Equal(t, kernel.TryAgain, out.Type, "sale %d tap 1: %v", sale, out)
		require.Equal(t, kernel.StartB, out.Start)
		require.Contains(t, uiMessages(out), kernel.MsgSeePhone)

		r.takeAway(ctx)
		r.unlock("5791")
		r.present(ctx)
		out, err := ep.Restart(ctx, r.reader)
		require.NoError(t, err)
		require.Equal(t, kernel.OnlineRequest, out.Type, "sale %d tap 2: %v", sale, out)
		require.Equal(t, kernel.CVMConfirmationCode, out.CVM, "R-S2e: CDCVM on every HCE transaction")
		require.NotEmpty(t, out.Record(tlv.Tag(0x9F26)), "ARQC")
		atcs = append(atcs, out.Record(tlv.Tag(0x9F36)))
		r.takeAway(ctx)
		r.phone(func(ph phoneView) {
			require.Equal(t, keysBefore-1-sale, ph.KeysLeft(), "R-S5b: one single-use key per transaction")
			require.False(t, ph.Verified(), "the verification served one transaction")
		})
	}
	require.NotEqual(t, atcs[0], atcs[1], "the ATC moved on")
	require.Equal(t, 4, r.server.Stats().Insertions)
}

// A Mastercard-like card with CDA: approved offline under the floor limit,
// online above it, CDA passing both times through pcscd.
func TestMastercardCDA(t *testing.T) {
	ctx := testCtx(t)
	r := newRig(t, newCard(t, "mc-plastic"), vpcd.Options{})
	cfg := terminalConfig(t)
	for _, tc := range []struct {
		amount int64
		want   kernel.OutcomeType
	}{
		{50000, kernel.Approved},
		{150000, kernel.OnlineRequest},
	} {
		r.present(ctx)
		_, out := r.startTap(ctx, cfg, tc.amount)
		require.Equal(t, tc.want, out.Type, "amount %d: %v", tc.amount, out)
		require.Equal(t, "CDA", out.ODA.Method)
		require.Equal(t, kernel.ODAPassed, out.ODA.Status, "%v", out.ODA)
		require.Equal(t, uint8(2), out.KernelID)
		r.takeAway(ctx)
	}
}

// A card taken away mid-tap, whatever the command in flight, gives
// "Present Card Again" with a restart at Start B, never an error or a
// hang; presented again, the transaction restarts and completes.
func TestRemovalMidTap(t *testing.T) {
	for _, tc := range []struct {
		profile string
		after   int  // commands answered before the card leaves
		ins     byte // the instruction in flight then
		amount  int64
		want    kernel.OutcomeType
	}{
		{"visa-plastic", 0, 0xA4, 150000, kernel.OnlineRequest}, // SELECT PPSE
		{"visa-plastic", 2, 0xA8, 150000, kernel.OnlineRequest}, // GET PROCESSING OPTIONS
		{"visa-plastic", 3, 0xB2, 150000, kernel.OnlineRequest}, // READ RECORD
		{"mc-plastic", 5, 0xB2, 50000, kernel.Approved},         // a later READ RECORD
		{"mc-plastic", 9, 0xAE, 150000, kernel.OnlineRequest},   // GENERATE AC with CDA
	} {
		t.Run(fmt.Sprintf("%s/after-%d", tc.profile, tc.after), func(t *testing.T) {
			ctx := testCtx(t)
			r := newRig(t, newCard(t, tc.profile), vpcd.Options{})
			cfg := terminalConfig(t)
			var trace []kernel.Exchange
			cfg.Trace = func(e kernel.Exchange) { trace = append(trace, e) }
			r.present(ctx)
			r.server.RemoveAfter(tc.after)
			ep, out := r.startTap(ctx, cfg, tc.amount)
			// Try Again (C-3), or End Application with a restart at Start
			// B (C-2 after the application was selected): both ask for the
			// card again.
			require.Contains(t, []kernel.OutcomeType{kernel.TryAgain, kernel.EndApplication}, out.Type, "after %d commands: %v", tc.after, out)
			require.Equal(t, kernel.StartB, out.Start, "%v", out)
			require.Equal(t, kernel.L2CommunicationError, out.Error)
			require.True(t, asksCardAgain(out), "%v", out)
			require.Len(t, trace, tc.after+1)
			last := trace[len(trace)-1]
			require.Equal(t, tc.ins, last.C[1], "command in flight")
			require.ErrorIs(t, last.Err, kernel.ErrCardRemoved)
			require.ErrorIs(t, last.Err, pcsc.ErrEmptyResponse, "the card left with the command in flight")
			require.ErrorIs(t, r.server.Err(), vpcd.ErrRemoved)

			r.takeAway(ctx)
			r.present(ctx)
			out, err := ep.Restart(ctx, r.reader)
			require.NoError(t, err)
			require.Equal(t, tc.want, out.Type, "presented again: %v", out)
		})
	}
}

// asksCardAgain reports an outcome that shows "Present Card Again", with
// the outcome or on the restart.
func asksCardAgain(o kernel.Outcome) bool {
	for _, u := range []*kernel.UIRequest{o.UIOnOutcome, o.UIOnRestart} {
		if u != nil && u.Message == kernel.MsgPresentCardAgain {
			return true
		}
	}
	return false
}
