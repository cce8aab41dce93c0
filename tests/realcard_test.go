package tests

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/recorded"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/c2"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// TestRealPayPassCardReplay replays the recorded exchange of a real
// Mastercard PayPass test card (testdata/realcards, with its source and
// licence) through the C-2 kernel. The recording has no PPSE, so the test
// selects the AID itself and activates the kernel with the card's FCI, as
// the Entry Point would, on a reader that supports mag-stripe mode as the
// recording one did. The kernel takes the real card's FCI and GET
// PROCESSING OPTIONS response (AIP 5980: CDA, no relay resistance) and
// reads the records its AFL lists. The AFL lists SFI 3 records 1 and 2, but
// the recording reader read only record 1, so the replay has no answer to
// READ RECORD SFI 3 record 2 ('6D00') and the kernel ends the application
// on the status bytes (Book C-2: a READ RECORD not answered '9000'), before
// ODA. The card's certificates, all in the records it was asked for, are
// then checked on their own: without the scheme's CA key A000000004/EF
// they cannot be recovered, and the failure names that key.
func TestRealPayPassCardReplay(t *testing.T) {
	tr, err := recorded.ParseFile("testdata/realcards/paypass-mchip-test-card.trace")
	require.NoError(t, err)
	reader := inproc.New(recorded.New(tr))

	cfg := kernel.DefaultConfig() // no scheme CA keys, no test CA
	cfg.Clock = kernel.FixedClock(time.Date(2012, 3, 15, 10, 0, 0, 0, time.UTC))
	var cmds [][]byte
	ctx := context.Background()
	card := kernel.NewCard(ctx, reader, func(e kernel.Exchange) { cmds = append(cmds, e.C) })

	aid := []byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10}
	sel, err := card.Send(apdu.Select(aid, true))
	require.NoError(t, err)
	require.True(t, sel.OK())
	var cb *kernel.Combination
	for i := range cfg.Combinations {
		if c := &cfg.Combinations[i]; c.KernelID == c2.ID && string(c.AID) == string(aid) {
			cb = c
		}
	}
	require.NotNil(t, cb, "the default terminal has a C-2 combination for A0000000041010")
	// The recording reader supported mag-stripe mode: it skipped the
	// AFL's mag-stripe-only first entry (08010100), as Book C-2 S3.32
	// says. The default terminal does not, and would read a record the
	// card was never asked for.
	cb.KernelConfiguration = kernel.HexBytes{0x30}

	txn := kernel.Transaction{Amount: 10001, Date: cfg.Now()}
	out, err := c2.New().Activate(ctx, &kernel.Activation{
		Card: card, Config: &cfg, Combination: cb, Transaction: txn,
		UN: [4]byte{0x00, 0x0E, 0xEC, 0x85}, ADFName: aid, FCI: sel.Data, SW: sel.SW,
	})
	require.NoError(t, err)

	// The commands are the recording reader's until the record it did
	// not read.
	want := []string{"00A4040007A000000004101000", "80A8000002830000", "00B2011400", "00B2011C00", "00B2021C00"}
	require.Len(t, cmds, len(want))
	for i, w := range want {
		require.Equal(t, w, strings.ToUpper(hex.EncodeToString(cmds[i])), "command %d", i+1)
	}
	require.Equal(t, kernel.EndApplication, out.Type, out.String())
	require.Equal(t, kernel.L2StatusBytes, out.Error)
	require.Equal(t, uint16(0x6D00), out.SW)
	require.Equal(t, kernel.CVMNA, out.CVM)
	// No relay resistance in the card's AIP; CDA was to be done (both
	// sides support it), so ODA is not reported as not performed.
	require.True(t, out.TVR.Has(kernel.TVRRRNotPerformed), out.TVR.String())
	require.False(t, out.TVR.Has(kernel.TVRODANotPerformed), out.TVR.String())
	require.Equal(t, "PPC MCD 04  v20", out.Label)
	require.Equal(t, aid, out.AID)

	// The certificates the card gave in the records it was asked for
	// chain to its scheme CA key A000000004/EF: a reader without the
	// scheme's keys cannot recover them, and a real card is never looked
	// up under the test CA.
	data := tlv.Map{}
	for _, ex := range tr.Exchanges {
		if len(ex.Command) < 2 || ex.Command[1] != 0xB2 || len(ex.Response) < 2 {
			continue
		}
		l, err := tlv.Decode(ex.Response[:len(ex.Response)-2])
		require.NoError(t, err)
		require.Len(t, l, 1)
		require.Equal(t, tlv.Tag(0x70), l[0].Tag)
		for _, d := range l[0].Children {
			data[d.Tag] = d.Value
		}
	}
	require.Equal(t, []byte{0xEF}, data[0x8F])
	_, err = kernel.RecoverICCKey(&cfg, aid, data, nil, cfg.Now())
	require.ErrorIs(t, err, oda.ErrUnknownCA)
	require.Contains(t, kernel.ODAReason(err), "A000000004/EF")
	// With the test CA's keys loaded and allowed to stand in, the failure
	// still names the card's own key.
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(t, err)
	cfg.CAPublicKeys, cfg.AcceptTestCA = capk, true
	_, err = kernel.RecoverICCKey(&cfg, aid, data, nil, cfg.Now())
	require.ErrorIs(t, err, oda.ErrUnknownCA)
	require.Contains(t, kernel.ODAReason(err), "A000000004/EF")
	require.NotContains(t, kernel.ODAReason(err), "F000000001")
}
