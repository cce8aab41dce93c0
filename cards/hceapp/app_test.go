package hceapp_test

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

type rig struct {
	platform *wire.Party
	app      *hceapp.App
	clock    *wiretest.Clock
}

func newRig(t testing.TB) rig {
	t.Helper()
	pki := tlstest.NewPKI(t, "phone")
	c, err := wire.NewClient(pki.Client("phone", ""), wire.ClientLimits{})
	require.NoError(t, err)
	platform := wiretest.Party(t, "cloud-platform", 3)
	clock := wiretest.NewClock(wiretest.Epoch)
	app, err := hceapp.New(hceapp.Config{DeviceID: "phone-1", Platform: platform.Public(), URL: "https://127.0.0.1:1",
		Client: c, Rand: wiretest.NewSeeded(1), Clock: clock.Now})
	require.NoError(t, err)
	return rig{platform: platform, app: app, clock: clock}
}

// batch is a batch of n keys for the app's phone, sealed by the platform,
// and the keys in clear.
func (r rig) batch(t testing.TB, n int, profile bool) (string, []keys.Key) {
	t.Helper()
	mk := keys.MustHex(keys.TDES, "9249345E0220CEBA0D20D6A2453BF407")
	var (
		ks  []wire.HCEKey
		out []keys.Key
	)
	for i := range n {
		ki, err := cloud.NewKeyIndex(r.clock.Now(), i)
		require.NoError(t, err)
		luk, err := cloud.DeriveLUK(mk, 1, ki)
		require.NoError(t, err)
		w, err := devicekey.Wrap(wiretest.NewSeeded(byte(i)), r.app.DeviceKeys().Enc, luk)
		require.NoError(t, err)
		ks = append(ks, wire.HCEKey{KeyIndex: ki.String(), API: 1, KCV: luk.KCVHex(), Wrapped: w})
		out = append(out, luk)
	}
	b := wire.HCEBatch{CardRef: "card-1", DeviceID: "phone-1", Keys: ks, NextReplenish: r.clock.Now()}
	if profile {
		b.Profile = &wire.HCEProfile{AccountNumber: "4895370012345671", Expiry: "2812", PSN: "01", CVN: wire.HCECVNVisaCloud, DKI: 1, API: 1}
	}
	env, err := wire.Seal(b, r.platform, r.app.DeviceKeys(), wire.Header{Type: wire.TypeHCEBatch, Clock: r.clock.Now})
	require.NoError(t, err)
	return env, out
}

func terminal() cryptogram.Values {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	return cryptogram.Values{0x9F02: h("000000001000"), 0x9F03: h("000000000000"), 0x9F1A: h("0158"), 0x95: h("0000000000"),
		0x5F2A: h("0901"), 0x9A: h("261207"), 0x9C: h("00"), 0x9F37: h("01020304")}
}

// The card pays with each key once, oldest first, records the cardholder
// verification in the CVR the cryptogram covers, and runs out.
func TestCardPays(t *testing.T) {
	r := newRig(t)
	env, luks := r.batch(t, 2, true)
	c, err := r.app.Install("card-1", env)
	require.NoError(t, err)
	require.NotContains(t, c.String(), "4895370012345671")
	for i, cdcvm := range []bool{true, false} {
		tap, err := c.Pay(terminal(), hceapp.Verification{CDCVM: cdcvm})
		require.NoError(t, err)
		iad, err := cloud.ParseIAD(tap.Tags[cryptogram.TagIssuerAppData])
		require.NoError(t, err)
		require.Equal(t, cdcvm, iad.CDCVM())
		require.Equal(t, []byte{0, byte(i + 1)}, tap.Tags[cryptogram.TagATC])
		want, err := cloud.GenerateLUKAC(luks[i], tap.Tags)
		require.NoError(t, err)
		require.Equal(t, want, tap.AC())
	}
	_, err = c.Pay(terminal(), hceapp.Verification{CDCVM: true})
	require.ErrorIs(t, err, hceapp.ErrNoKeys)
}

// A batch the app cannot trust installs nothing: for another card, keys
// without a downloaded card, expired, or from another signer.
func TestInstallRefusals(t *testing.T) {
	r := newRig(t)
	env, _ := r.batch(t, 1, true)
	_, err := r.app.Install("card-2", env)
	require.ErrorIs(t, err, hceapp.ErrBatch)

	keysOnly, _ := r.batch(t, 1, false)
	_, err = r.app.Install("card-1", keysOnly)
	require.ErrorIs(t, err, hceapp.ErrBatch)

	late, _ := r.batch(t, 1, true)
	r.clock.Advance(time.Hour)
	_, err = r.app.Install("card-1", late)
	require.ErrorIs(t, err, hceapp.ErrBatch)

	rogue := wiretest.Party(t, "cloud-platform", 9)
	b := wire.HCEBatch{CardRef: "card-1", DeviceID: "phone-1", Keys: []wire.HCEKey{{KeyIndex: "5123407"}}}
	forged, err := wire.Seal(b, rogue, r.app.DeviceKeys(), wire.Header{Type: wire.TypeHCEBatch, Clock: r.clock.Now})
	require.NoError(t, err)
	_, err = r.app.Install("card-1", forged)
	require.ErrorIs(t, err, hceapp.ErrBatch)
	_, ok := r.app.Card("card-1")
	require.False(t, ok)
}

// Whatever the platform's answer, Install refuses it or installs a card.
func FuzzInstall(f *testing.F) {
	r := newRig(f)
	env, _ := r.batch(f, 1, true)
	f.Add(env)
	f.Add(env[:len(env)/2])
	f.Add("a.b.c.d.e")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := r.app.Install("card-1", s)
		if err != nil {
			require.ErrorIs(t, err, hceapp.ErrBatch)
			return
		}
		require.NotNil(t, c)
	})
}

// The key source takes the oldest key once, names it in the IAD with the
// cardholder verification, and refuses a cryptogram for another ATC.
func TestKeySource(t *testing.T) {
	r := newRig(t)
	env, luks := r.batch(t, 2, true)
	c, err := r.app.Install("card-1", env)
	require.NoError(t, err)
	ks, err := c.KeySource(nil)
	require.NoError(t, err)
	require.Equal(t, "limited-use keys: 2 left", fmt.Sprintf("%v", ks))

	atc, err := ks.Next(0)
	require.NoError(t, err)
	require.Equal(t, uint16(1), atc)
	_, err = ks.AC(nil, atc+1, nil)
	require.Error(t, err)
	iad, err := ks.IAD(atc, 0x80, true)
	require.NoError(t, err)
	p, err := cloud.ParseIAD(iad)
	require.NoError(t, err)
	require.True(t, p.CDCVM())
	tags := terminal()
	tags[cryptogram.TagAIP] = []byte{0x19, 0x80}
	tags[cryptogram.TagATC] = []byte{0, 1}
	tags[cryptogram.TagIssuerAppData] = iad
	ac, err := ks.AC(nil, atc, tags)
	require.NoError(t, err)
	want, err := cloud.GenerateLUKAC(luks[0], tags)
	require.NoError(t, err)
	require.Equal(t, want, ac)
	_, err = ks.AC(nil, atc, tags)
	require.Error(t, err, "a key serves once")
	require.Equal(t, 1, c.KeysLeft())
}
