package se_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/tlv"
)

// directApp builds the SE phone of a sample profile the way the sample
// world does today (phone.InstallSE) and returns its payment application.
func directApp(t *testing.T, profile string) (*emvapp.App, emvapp.Holder) {
	t.Helper()
	p, err := cards.Builtin(profile)
	require.NoError(t, err)
	clock := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	c, err := cards.FromProfile(p, cards.Options{Rand: rand.NewChaCha8([32]byte{1}), Clock: clock})
	require.NoError(t, err)
	ph, ok := cards.Phone(c)
	require.True(t, ok)
	apps := ph.Apps()
	require.Len(t, apps, 1)
	return apps[0], ph.Holder()
}

// otaApp personalises the same application into an SSD over SCP03, as the
// TSMs will: the SE operator creates the issuer's SSD and hands over its
// initial keys, the issuer rotates them, installs the payment applet and
// sends its DGIs, keys enciphered (R-M2, R-S3b).
func otaApp(t *testing.T, direct *emvapp.App, holder emvapp.Holder) *emvapp.App {
	t.Helper()
	w := newWorld(t)
	require.NoError(t, w.se.AddPaymentModule(emvapp.Env{Holder: holder, Rand: rand.NewChaCha8([32]byte{2})}))
	initial, rotated := keySet(0x60), keySet(0x70)
	w.createSSD(t, ssdA, "tapsim test bank", initial)
	iss := w.open(t, ssdA, initKVN, initial)
	require.NoError(t, iss.PutKey(initKVN, 0x31, rotated))
	require.NoError(t, iss.InstallApplet(emvapp.LoadFileAID, emvapp.ModuleAID, direct.AID(), []byte{0x00}, nil, true))
	require.NoError(t, iss.Personalize(direct.AID()))
	ds, err := direct.DGIs()
	require.NoError(t, err)
	require.NoError(t, iss.StoreDGIs(ds))
	iss.Close()
	a, ok := w.se.Select(direct.AID()).(*emvapp.App)
	require.True(t, ok)
	return a
}

// without drops the tags of a 77 template that come from the card's random
// source, so that two applications with different random sources compare.
func without(t *testing.T, resp []byte, tags ...tlv.Tag) []byte {
	t.Helper()
	l, err := tlv.Decode(resp[:len(resp)-2])
	require.NoError(t, err)
	require.Len(t, l, 1)
	var keep []tlv.TLV
	for _, o := range l[0].Children {
		drop := false
		for _, tg := range tags {
			drop = drop || o.Tag == tg
		}
		if !drop {
			keep = append(keep, o)
		}
	}
	b, err := tlv.EncodeConstructed(l[0].Tag, keep...)
	require.NoError(t, err)
	return b
}

// TestOTAAppMatchesDirect: the applet personalised over the air answers a
// contactless transaction as the directly installed one does: same FCI,
// PPSE entry, records and ICC key, and the same ARQC under the same master
// key (R-M1, R-M6, R-S1).
func TestOTAAppMatchesDirect(t *testing.T) {
	for _, profile := range []string{"visa-se-phone", "mc-se-phone"} {
		t.Run(profile, func(t *testing.T) {
			direct, holder := directApp(t, profile)
			ota := otaApp(t, direct, holder)
			require.Equal(t, direct.Records(), ota.Records())
			require.Equal(t, direct.AFL(), ota.AFL())
			require.Equal(t, direct.AIP(), ota.AIP())
			require.Equal(t, direct.DirectoryEntry(), ota.DirectoryEntry())
			require.Equal(t, direct.PAN(), ota.PAN())
			require.Equal(t, direct.Expiry(), ota.Expiry())
			require.Equal(t, direct.State(), ota.State())
			require.NotNil(t, ota.ICC())
			require.Equal(t, direct.ICC().PublicKey(), ota.ICC().PublicKey())
			require.Equal(t, direct.String(), ota.String())

			for _, app := range []*emvapp.App{direct, ota} {
				require.Equal(t, direct.Select(), app.Select())
			}
			var gpo apdu.Command
			if direct.Scheme() == emvapp.Visa {
				// TTQ: qVSDC, online PIN and signature, online cryptogram
				// required, no CDCVM; amount 100.00; TWD; date; UN.
				pdol := bytes.Join([][]byte{
					{0x26, 0x80, 0x00, 0x00}, {0, 0, 0, 0, 0x10, 0x00}, make([]byte, 6), {0x01, 0x58},
					make([]byte, 5), {0x09, 0x01}, {0x26, 0x01, 0x01}, {0x00}, {0xDE, 0xAD, 0xBE, 0xEF},
				}, nil)
				gpo = apdu.GPO(pdol)
			} else {
				gpo = apdu.GPO(nil)
			}
			rd := direct.Process(gpo)
			ro := ota.Process(gpo)
			require.Equal(t, []byte{0x90, 0x00}, rd[len(rd)-2:], "%X", rd)
			require.Equal(t, without(t, rd, 0x9F69), without(t, ro, 0x9F69))
			afl := direct.AFL()
			for i := 0; i+4 <= len(afl); i += 4 {
				for r := afl[i+1]; r <= afl[i+2]; r++ {
					cmd := apdu.ReadRecord(afl[i]>>3, r)
					require.Equal(t, direct.Process(cmd), ota.Process(cmd))
				}
			}
			if direct.Scheme() == emvapp.Mastercard {
				cdol := make([]byte, 0, 64)
				cdol = append(cdol, 0, 0, 0, 0, 0x10, 0x00)             // 9F02
				cdol = append(cdol, make([]byte, 6)...)                 // 9F03
				cdol = append(cdol, 0x01, 0x58)                         // 9F1A
				cdol = append(cdol, make([]byte, 5)...)                 // 95
				cdol = append(cdol, 0x09, 0x01, 0x26, 0x01, 0x01, 0x00) // 5F2A 9A 9C
				cdol = append(cdol, 0xDE, 0xAD, 0xBE, 0xEF, 0x22)       // 9F37 9F35
				cdol = append(cdol, 0x1F, 0x03, 0x02)                   // 9F34
				cdol = append(cdol, make([]byte, 9)...)                 // 9F1D 9F7E
				gac := apdu.GenerateAC(apdu.ARQC, cdol)
				rd, ro = direct.Process(gac), ota.Process(gac)
				require.Equal(t, []byte{0x90, 0x00}, rd[len(rd)-2:], "%X", rd)
				require.Equal(t, rd, ro)

				// A second transaction with CDA: the ICC private key that
				// travelled as CRT components signs.
				require.Equal(t, direct.Select(), ota.Select())
				ota.Process(gpo)
				r := ota.Process(apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, cdol))
				require.Equal(t, []byte{0x90, 0x00}, r[len(r)-2:], "%X", r)
				require.True(t, ota.Last().Signed)
				require.Equal(t, uint16(2), ota.Last().ATC)
				direct.Select()
				direct.Process(gpo)
				direct.Process(apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, cdol))
			}
			require.Equal(t, direct.Last(), ota.Last())
			require.Equal(t, byte(0x80), ota.Last().CID, "an ARQC")
		})
	}
}

// TestOTARefusesSecondPersonalisation: an instance personalised once takes
// no second set of personalisation data (R-S4e), and a set personalised
// under the operator's keys is impossible once the issuer rotated them.
func TestOTARefusesSecondPersonalisation(t *testing.T) {
	direct, holder := directApp(t, "visa-se-phone")
	w := newWorld(t)
	require.NoError(t, w.se.AddPaymentModule(emvapp.Env{Holder: holder, Rand: rand.NewChaCha8([32]byte{2})}))
	w.createSSD(t, ssdA, "bank", keySet(0x60))
	iss := w.open(t, ssdA, initKVN, keySet(0x60))
	require.NoError(t, iss.InstallApplet(emvapp.LoadFileAID, emvapp.ModuleAID, direct.AID(), []byte{0x00}, nil, true))
	ds, err := direct.DGIs()
	require.NoError(t, err)
	require.NoError(t, iss.Personalize(direct.AID()))
	require.NoError(t, iss.StoreDGIs(ds))
	requireSW(t, iss.Personalize(direct.AID()), gp.SWConditions)

	// Missing data: the applet refuses and stays unpersonalised.
	require.NoError(t, iss.InstallApplet(emvapp.LoadFileAID, emvapp.ModuleAID, appB, []byte{0x00}, nil, true))
	require.NoError(t, iss.Personalize(appB))
	requireSW(t, iss.StoreDGIs(ds[:2]), gp.SWWrongData)
	require.Nil(t, w.se.Select(appB))
}

// TestPrepareSE: the data preparation from a profile gives the same DGIs
// as the directly installed application.
func TestPrepareSE(t *testing.T) {
	for _, name := range []string{"visa-se-phone", "mc-se-phone"} {
		p, err := cards.Builtin(name)
		require.NoError(t, err)
		ps, err := cards.PrepareSE(p, cards.Options{Rand: rand.NewChaCha8([32]byte{3})})
		require.NoError(t, err)
		require.Len(t, ps, 1)
		direct, _ := directApp(t, name)
		want, err := direct.DGIs()
		require.NoError(t, err)
		require.Equal(t, want, ps[0].DGIs)
		require.Equal(t, direct.AID(), ps[0].App)
		require.Equal(t, []byte(p.Phone.SDAID), ps[0].SD)
		require.NotContains(t, ps[0].String(), direct.PAN())
	}
	p, err := cards.Builtin("visa-plastic")
	require.NoError(t, err)
	_, err = cards.PrepareSE(p, cards.Options{})
	require.ErrorIs(t, err, cards.ErrProfile)
}
