package phone

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

// TestSyncSE: a payment applet personalised into the phone's SE over SCP03
// answers the terminal once the phone syncs, and stops when its SSD locks
// it.
func TestSyncSE(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := New(Config{Kind: SE, Passcode: "5791", Clock: c.now, Rand: rnd()})
	require.NoError(t, err)
	p.CardOn()
	ks := func(b byte) scp03.StaticKeys {
		k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
		return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
	}
	r := rand.NewChaCha8([32]byte{5})
	s := p.SE()
	require.NoError(t, s.SetKeys(ISDAID, 1, ks(0x40)))
	require.NoError(t, s.AddPaymentModule(emvapp.Env{Holder: p.Holder(), Rand: r}))
	ota := func(c []byte) ([]byte, error) { return s.Process(c), nil }

	// Data preparation: the application as the issuer would install it.
	cvn, err := cryptogram.Lookup("visa18")
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(imk, testPAN, "01")
	require.NoError(t, err)
	aid := h("A0000000031010")
	prepared, err := emvapp.New(emvapp.Config{
		Scheme: emvapp.Visa, AID: aid, Label: "VISA", PAN: testPAN, PSN: "01",
		Expiry: emvapp.Date{Year: 2029, Month: 12}, CVN: cvn, DKI: 1, Keys: emvapp.MasterKey{MK: mk},
		Holder: p.Holder(), Rand: rnd(),
	})
	require.NoError(t, err)
	ds, err := prepared.DGIs()
	require.NoError(t, err)

	isd, err := gp.Open(ota, gp.Config{SD: ISDAID, Keys: ks(0x40), Level: scp03.LevelCMACCDec, Rand: r})
	require.NoError(t, err)
	require.NoError(t, isd.InstallApplet(se.SDLoadFile, se.SDModule, sdAID, []byte{gp.PrivSecurityDomain}, []byte("bank"), true))
	require.NoError(t, isd.Personalize(sdAID))
	require.NoError(t, isd.PutKey(0, 0x30, ks(0x60)))
	bank, err := gp.Open(ota, gp.Config{SD: sdAID, KeyVersion: 0x30, Keys: ks(0x60), Level: scp03.LevelCMACCDecRMAC, Rand: r})
	require.NoError(t, err)
	require.NoError(t, bank.PutKey(0x30, 0x31, ks(0x70)))
	require.NoError(t, bank.InstallApplet(emvapp.LoadFileAID, emvapp.ModuleAID, aid, []byte{0}, nil, true))
	require.NoError(t, bank.Personalize(aid))
	require.NoError(t, bank.StoreDGIs(ds))

	ppse := cmd(t, apdu.SelectPPSE())
	require.Equal(t, uint16(0x6A82), sw(p.Process(ppse)), "not synced yet")
	n, err := p.SyncSE()
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = p.SyncSE()
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, uint16(0x9000), sw(p.Process(ppse)))
	require.Equal(t, uint16(0x9000), sw(p.Process(cmd(t, apdu.Select(aid, true)))))

	require.NoError(t, bank.SetStatus(aid, gp.StatePersonalized|gp.StateLockedBit))
	p.Reset()
	require.Equal(t, uint16(0x6A82), sw(p.Process(cmd(t, apdu.Select(aid, true)))))

	hcePhone, err := New(Config{Kind: HCE, Passcode: "5791", Rand: rnd(), CloudKeys: &counter{n: 1}})
	require.NoError(t, err)
	_, err = hcePhone.SyncSE()
	require.ErrorIs(t, err, ErrKind)
}
