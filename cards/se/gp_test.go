package se_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

var (
	isdAID  = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00}
	ssdA    = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x01}
	ssdB    = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x02}
	payELF  = []byte{0xA0, 0x00, 0x00, 0x09, 0x99, 0x01}
	payMod  = []byte{0xA0, 0x00, 0x00, 0x09, 0x99, 0x01, 0x01}
	appA    = []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
	appB    = []byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10}
	isdKVN  = byte(0x01)
	initKVN = byte(0x30)
)

func keySet(b byte) scp03.StaticKeys {
	k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
	return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
}

// testApplet records the personalisation data it was made from.
type testApplet struct {
	aid  []byte
	data []dgi.DGI
}

func (a *testApplet) AID() []byte { return a.aid }

func personalise(aid []byte, data []dgi.DGI) (se.Applet, error) {
	if _, ok := dgi.Find(data, 0x0101); !ok {
		return nil, errors.New("no record")
	}
	cp := make([]dgi.DGI, len(data))
	for i, d := range data {
		cp[i] = dgi.DGI{Tag: d.Tag, Data: bytes.Clone(d.Data)}
	}
	return &testApplet{aid: aid, data: cp}, nil
}

type world struct {
	se   *se.SE
	rand *rand.ChaCha8
}

func newWorld(t *testing.T) *world {
	t.Helper()
	r := rand.NewChaCha8([32]byte{7})
	s := se.New(r)
	require.NoError(t, s.CreateDomain(isdAID, "SE operator", keys.MustNew(keys.AES, bytes.Repeat([]byte{0x11}, 16))))
	require.NoError(t, s.SetKeys(isdAID, isdKVN, keySet(0x40)))
	var c gp.CPLC
	c.ICFabricator, c.ICType, c.ICSerial, c.ICBatch = [2]byte{0x47, 0x90}, [2]byte{0x50, 0x40}, [4]byte{1, 2, 3, 4}, [2]byte{0, 9}
	s.SetCPLC(c)
	require.NoError(t, s.AddModule(payELF, payMod, personalise))
	return &world{se: s, rand: r}
}

func (w *world) transport(c []byte) ([]byte, error) { return w.se.Process(c), nil }

func (w *world) open(t *testing.T, sd []byte, kvn byte, ks scp03.StaticKeys) *gp.Session {
	t.Helper()
	s, err := gp.Open(w.transport, gp.Config{SD: sd, KeyVersion: kvn, Keys: ks, Level: scp03.LevelCMACCDecRMAC, Rand: w.rand})
	require.NoError(t, err)
	return s
}

func requireSW(t *testing.T, err error, want uint16) {
	t.Helper()
	var se *gp.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, want, se.SW, "%v", err)
}

// createSSD is the SE operator's part (R-M2): it creates the issuer's SSD
// from the ISD and puts its initial key set.
func (w *world) createSSD(t *testing.T, aid []byte, owner string, initial scp03.StaticKeys) {
	t.Helper()
	isd := w.open(t, isdAID, 0, keySet(0x40))
	require.NoError(t, isd.InstallApplet(se.SDLoadFile, se.SDModule, aid, []byte{gp.PrivSecurityDomain}, []byte(owner), true))
	require.NoError(t, isd.Personalize(aid))
	require.NoError(t, isd.PutKey(0, initKVN, initial))
	isd.Close()
}

func perso() []dgi.DGI {
	return []dgi.DGI{
		{Tag: 0x0101, Data: bytes.Repeat([]byte{0x70}, 200)},
		{Tag: 0x0201, Data: bytes.Repeat([]byte{0x71}, 300)},
		{Tag: dgi.KeysDES, Data: bytes.Repeat([]byte{0x5A}, 16)},
		{Tag: dgi.ICCCRTP, Data: bytes.Repeat([]byte{0x33}, 64)},
		{Tag: dgi.FCI, Data: []byte{0x6F, 0x00}},
	}
}

func TestGPIdentity(t *testing.T) {
	w := newWorld(t)
	c, err := gp.ReadCPLC(w.transport, isdAID)
	require.NoError(t, err)
	require.Equal(t, "47905040010203040009", c.SEID())
	require.Equal(t, w.se.SEID(), c.SEID())
	tests := []struct {
		tag  uint16
		head []byte
	}{
		{gp.TagCardData, []byte{0x66, 0x31, 0x73}},
		{gp.TagCIN, []byte{0x45, 0x0A, 0x47, 0x90}},
		{gp.TagKeyInfo, []byte{0xE0, 0x12, 0xC0, 0x04, 0x01, isdKVN, 0x88, 0x10}},
	}
	for _, tc := range tests {
		r := w.se.Process(gp.GetData(tc.tag))
		require.Equal(t, []byte{0x90, 0x00}, r[len(r)-2:])
		require.True(t, bytes.HasPrefix(r, tc.head), "%04X: %X", tc.tag, r)
	}
	require.Equal(t, []byte{0x6A, 0x88}, w.se.Process(gp.GetData(0x1234)))
	sel, _ := gp.Select([]byte{1, 2, 3, 4, 5})
	require.Equal(t, []byte{0x6A, 0x82}, w.se.Process(sel))
}

// TestOTAPersonalisation: the operator creates the issuer's SSD and hands
// its keys over; the issuer rotates them (R-M2), installs and personalises
// its applet with the keys enciphered (R-S3b); the operator's keys no
// longer open the SSD; a second personalisation is refused (R-S4e).
func TestOTAPersonalisation(t *testing.T) {
	w := newWorld(t)
	initial, rotated := keySet(0x60), keySet(0x70)
	w.createSSD(t, ssdA, "bank A", initial)

	iss := w.open(t, ssdA, initKVN, initial)
	require.NoError(t, iss.PutKey(initKVN, 0x31, rotated))
	require.NoError(t, iss.InstallApplet(payELF, payMod, appA, []byte{0x00}, nil, true))
	require.Nil(t, w.se.Select(appA), "not personalised yet")
	require.NoError(t, iss.Personalize(appA))
	require.NoError(t, iss.StoreDGIs(perso()))
	a, ok := w.se.Select(appA).(*testApplet)
	require.True(t, ok)
	require.Equal(t, dgi.Names(perso()), dgi.Names(a.data))
	for i, d := range perso() {
		require.Equal(t, d.Data, a.data[i].Data, "DGI %04X deciphered as sent", d.Tag)
	}
	requireSW(t, iss.Personalize(appA), 0x6985)
	iss.Close()

	// The operator's copy of the initial keys opens nothing any more.
	_, err := gp.Open(w.transport, gp.Config{SD: ssdA, KeyVersion: initKVN, Keys: initial, Level: scp03.LevelCMAC, Rand: w.rand})
	requireSW(t, err, 0x6A88)
	_, err = gp.Open(w.transport, gp.Config{SD: ssdA, Keys: initial, Level: scp03.LevelCMAC, Rand: w.rand})
	require.ErrorIs(t, err, scp03.ErrCryptogram)
	// Nor can the ISD load the SSD's keys again.
	isd := w.open(t, isdAID, 0, keySet(0x40))
	requireSW(t, isd.Personalize(ssdA), 0x6985)

	reg := w.se.Registry()
	require.Len(t, reg, 3)
	require.Equal(t, se.KindISD, reg[0].Kind)
	require.Equal(t, se.Entry{AID: ssdA, Kind: se.KindSSD, State: gp.StatePersonalized, SD: isdAID, Owner: "bank A"}, reg[1])
	require.Equal(t, se.Entry{AID: appA, Kind: se.KindApp, State: gp.StatePersonalized, SD: ssdA, Personalised: true}, reg[2])
	vs, err := w.se.KeyVersions(ssdA)
	require.NoError(t, err)
	require.Equal(t, []byte{0x31}, vs)

	// SET STATUS locks and unlocks; DELETE removes.
	iss = w.open(t, ssdA, 0x31, rotated)
	require.NoError(t, iss.SetStatus(appA, gp.StatePersonalized|gp.StateLockedBit))
	require.Nil(t, w.se.Select(appA))
	require.NoError(t, iss.SetStatus(appA, gp.StatePersonalized))
	require.NotNil(t, w.se.Select(appA))
	require.Len(t, w.se.Selectable(), 1)
	require.NoError(t, iss.Delete(appA))
	require.Nil(t, w.se.Select(appA))
}

// TestFirewall: one SSD's keys can neither read nor change another's
// content (R-G5d).
func TestFirewall(t *testing.T) {
	w := newWorld(t)
	w.createSSD(t, ssdA, "bank A", keySet(0x60))
	w.createSSD(t, ssdB, "bank B", keySet(0x80))
	a := w.open(t, ssdA, initKVN, keySet(0x60))
	require.NoError(t, a.InstallApplet(payELF, payMod, appA, []byte{0x00}, nil, false))
	a.Close()

	b := w.open(t, ssdB, initKVN, keySet(0x80))
	tests := []struct {
		name string
		do   func() error
		sw   uint16
	}{
		{"make selectable", func() error { return b.MakeSelectable(appA) }, 0x6A88},
		{"personalise", func() error { return b.Personalize(appA) }, 0x6A88},
		{"set status", func() error { return b.SetStatus(appA, 0x83) }, 0x6A88},
		{"delete app", func() error { return b.Delete(appA) }, 0x6A88},
		{"delete SSD", func() error { return b.Delete(ssdA) }, 0x6A88},
		{"personalise SSD", func() error { return b.Personalize(ssdA) }, 0x6A88},
		{"install an SSD", func() error {
			return b.InstallApplet(se.SDLoadFile, se.SDModule, []byte{0xA0, 0, 0, 1, 0x51, 0x53, 0x50, 9}, []byte{0x80}, nil, true)
		}, 0x6985},
		{"reuse the AID", func() error { return b.InstallApplet(payELF, payMod, appA, []byte{0}, nil, true) }, 0x6A80},
		{"store without perso", func() error { return b.StoreDGIs(perso()) }, 0x6985},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { requireSW(t, tc.do(), tc.sw) })
	}
	// B's keys do not open A.
	_, err := gp.Open(w.transport, gp.Config{SD: ssdA, KeyVersion: initKVN, Keys: keySet(0x80), Level: scp03.LevelCMAC, Rand: w.rand})
	require.ErrorIs(t, err, scp03.ErrCryptogram)
	reg := w.se.Registry()
	require.Equal(t, appA, reg[2].AID)
	require.Equal(t, gp.StateInstalled, reg[2].State)
}

// raw opens a session and returns the host channel, to send hand-made
// commands.
func rawSession(t *testing.T, w *world, sd []byte, ks scp03.StaticKeys, level scp03.SecurityLevel) *scp03.Channel {
	t.Helper()
	sel, _ := gp.Select(sd)
	require.Equal(t, []byte{0x90, 0x00}, w.se.Process(sel)[len(w.se.Process(sel))-2:])
	hc := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	iu, _ := scp03.InitializeUpdate(0, hc)
	r := w.se.Process(iu)
	require.Equal(t, []byte{0x90, 0x00}, r[len(r)-2:])
	parsed, err := scp03.ParseInitializeUpdateResponse(r[:len(r)-2])
	require.NoError(t, err)
	ch, ea, err := scp03.HostAuthenticate(ks, hc, parsed, level)
	require.NoError(t, err)
	require.Equal(t, []byte{0x90, 0x00}, w.se.Process(ea))
	return ch
}

func TestGPRefusals(t *testing.T) {
	w := newWorld(t)
	w.createSSD(t, ssdA, "bank A", keySet(0x60))
	a := w.open(t, ssdA, initKVN, keySet(0x60))
	require.NoError(t, a.InstallApplet(payELF, payMod, appA, []byte{0x00}, nil, true))
	a.Close()

	send := func(ch *scp03.Channel, cmd []byte) []byte {
		wrapped, err := ch.WrapCommand(cmd)
		require.NoError(t, err)
		r := w.se.Process(wrapped)
		if len(r) > 2 && r[len(r)-2] == 0x90 {
			r, err = ch.UnwrapResponse(r)
			require.NoError(t, err)
		}
		return r[len(r)-2:]
	}
	persoCmd, _ := gp.InstallForPersonalizationCmd(appA)
	rec, _ := dgi.Encode(dgi.DGI{Tag: 0x0101, Data: []byte{0x70, 0x00}})
	key, _ := dgi.Encode(dgi.DGI{Tag: dgi.KeysDES, Data: make([]byte, 16)})
	block := func(n byte, last, enc bool, data []byte) []byte {
		c, err := gp.StoreDataCmd(n, last, enc, data)
		require.NoError(t, err)
		return c
	}

	t.Run("no secure channel", func(t *testing.T) {
		require.Equal(t, []byte{0x69, 0x82}, w.se.Process(persoCmd))
		require.Equal(t, []byte{0x69, 0x82}, w.se.Process(block(0, true, false, rec)))
	})
	t.Run("external authenticate without initialize update", func(t *testing.T) {
		require.Equal(t, []byte{0x69, 0x85}, w.se.Process([]byte{0x84, 0x82, 0x01, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}))
	})
	t.Run("bad C-MAC ends the session", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMAC)
		wrapped, err := ch.WrapCommand(persoCmd)
		require.NoError(t, err)
		wrapped[len(wrapped)-2] ^= 1
		require.Equal(t, []byte{0x69, 0x82}, w.se.Process(wrapped))
		require.Equal(t, []byte{0x69, 0x82}, w.se.Process(persoCmd), "no session any more")
	})
	t.Run("wrong key version", func(t *testing.T) {
		sel, _ := gp.Select(ssdA)
		w.se.Process(sel)
		iu, _ := scp03.InitializeUpdate(0x55, make([]byte, 8))
		require.Equal(t, []byte{0x6A, 0x88}, w.se.Process(iu))
	})
	t.Run("level none refuses management", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelNone)
		_ = ch
		require.Equal(t, []byte{0x69, 0x82}, w.se.Process(persoCmd))
	})
	t.Run("store data out of order", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		require.Equal(t, []byte{0x90, 0x00}, send(ch, block(0, false, false, rec)))
		require.Equal(t, []byte{0x6A, 0x86}, send(ch, block(2, true, false, rec)))
		require.Equal(t, []byte{0x69, 0x85}, send(ch, block(1, true, false, rec)), "personalisation abandoned")
	})
	t.Run("sensitive DGI in clear", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, block(0, true, false, append(rec, key...))))
	})
	t.Run("enciphered block under the wrong key", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		bad, _ := dgi.Encipher(keySet(0x99).DEK, make([]byte, 16))
		enc, _ := dgi.Encode(dgi.DGI{Tag: dgi.KeysDES, Data: bad})
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, block(0, true, true, enc)))
	})
	t.Run("EMV CPS blocks: no format bits, several enciphered DGIs", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		cps := append([]byte{0x80, 0xE2, 0x00, 0x00, byte(len(rec))}, rec...) // P1 '00'
		require.Equal(t, []byte{0x90, 0x00}, send(ch, cps))
		k1, _ := dgi.Encipher(keySet(0x60).DEK, make([]byte, 16))
		k2, _ := dgi.Encipher(keySet(0x60).DEK, make([]byte, 16))
		two, _ := dgi.Encode(dgi.DGI{Tag: dgi.KeysDES, Data: k1}, dgi.DGI{Tag: dgi.KeysDES + 1, Data: k2})
		enc := append([]byte{0x80, 0xE2, 0x60, 0x01, byte(len(two))}, two...) // P1 '60'
		require.Equal(t, []byte{0x90, 0x00}, send(ch, enc))
	})
	t.Run("store data in BER-TLV format", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		tlvBlock := append([]byte{0x80, 0xE2, 0x90, 0x00, byte(len(rec))}, rec...) // b5b4 '10'
		require.Equal(t, []byte{0x6A, 0x86}, send(ch, tlvBlock))
	})
	t.Run("store data without C-DECRYPTION", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACRMAC)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		require.Equal(t, []byte{0x69, 0x82}, send(ch, block(0, true, false, rec)))
	})
	t.Run("incomplete DGI at the last block", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, block(0, true, false, rec[:3])))
	})
	t.Run("applet refuses its data", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDec)
		require.Equal(t, []byte{0x90, 0x00}, send(ch, persoCmd))
		other, _ := dgi.Encode(dgi.DGI{Tag: 0x0202, Data: []byte{0x70, 0x00}})
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, block(0, true, false, other)))
		require.Nil(t, w.se.Select(appA))
	})
	t.Run("put key with a bad check value", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMAC)
		cmd, err := gp.PutKeyCmd(initKVN, 0x31, keySet(0x99).DEK, keySet(0x70))
		require.NoError(t, err)
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, cmd))
		cmd, err = gp.PutKeyCmd(0x22, 0x31, keySet(0x60).DEK, keySet(0x70))
		require.NoError(t, err)
		require.Equal(t, []byte{0x6A, 0x88}, send(ch, cmd))
	})
	t.Run("unknown module", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMAC)
		cmd, _ := gp.InstallForInstallCmd(gp.Install{LoadFile: payELF, Module: appB, Instance: appB, Privileges: []byte{0}}, true)
		require.Equal(t, []byte{0x6A, 0x88}, send(ch, cmd))
	})
	t.Run("malformed", func(t *testing.T) {
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMAC)
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, []byte{0x80, 0xE6, 0x20, 0x00, 0x02, 0x00, 0x00}))
		require.Equal(t, []byte{0x6A, 0x86}, send(ch, []byte{0x80, 0xE6, 0x40, 0x00, 0x02, 0x00, 0x00}))
		require.Equal(t, []byte{0x6A, 0x80}, send(ch, []byte{0x80, 0xE4, 0x00, 0x00, 0x01, 0x4F}))
		require.Equal(t, []byte{0x6D, 0x00}, send(ch, []byte{0x80, 0x12, 0x00, 0x00}))
	})
	require.Equal(t, []byte{0x67, 0x00}, w.se.Process([]byte{0x80}))
}

func FuzzProcess(f *testing.F) {
	iu, _ := scp03.InitializeUpdate(0, make([]byte, 8))
	sel, _ := gp.Select(isdAID)
	perso, _ := gp.InstallForPersonalizationCmd(appA)
	for _, s := range [][]byte{iu, sel, perso, gp.GetData(gp.TagCPLC), {0x84, 0x82, 0x33, 0x00, 0x10}, {0x80, 0xE2, 0x88, 0x00, 0x03, 0x01, 0x01, 0x00}, {}} {
		f.Add(sel, s)
		f.Add(iu, s)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		w := newWorld(t)
		for _, c := range [][]byte{a, b} {
			r := w.se.Process(c)
			require.GreaterOrEqual(t, len(r), 2)
		}
	})
}

// FuzzSessionCommand feeds commands through an open secure channel, so
// that they pass the C-MAC check and reach the command parsers.
func FuzzSessionCommand(f *testing.F) {
	perso, _ := gp.InstallForPersonalizationCmd(appA)
	inst, _ := gp.InstallForInstallCmd(gp.Install{LoadFile: payELF, Module: payMod, Instance: appA, Privileges: []byte{0}}, true)
	put, _ := gp.PutKeyCmd(initKVN, 0x31, keySet(0x60).DEK, keySet(0x70))
	store, _ := gp.StoreDataCmd(0, true, false, []byte{0x01, 0x01, 0x02, 0x70, 0x00})
	enc, _ := gp.StoreDataCmd(0, true, true, []byte{0x80, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	del, _ := gp.DeleteCmd(appA, true)
	st, _ := gp.SetStatusCmd(gp.StatusApplication, 0x83, appA)
	for _, c := range [][]byte{perso, inst, put, store, enc, del, st, gp.GetData(gp.TagKeyInfo)} {
		f.Add(inst, c)
		f.Add(perso, c)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		w := newWorld(t)
		w.createSSD(t, ssdA, "bank A", keySet(0x60))
		ch := rawSession(t, w, ssdA, keySet(0x60), scp03.LevelCMACCDecRMAC)
		for _, c := range [][]byte{a, b} {
			wrapped, err := ch.WrapCommand(c)
			if err != nil {
				return
			}
			r := w.se.Process(wrapped)
			require.GreaterOrEqual(t, len(r), 2)
			if _, err := ch.UnwrapResponse(r); err != nil {
				return
			}
		}
	})
}

// TestHandshakeRefusals: a host cryptogram that does not verify under a
// valid C-MAC is '6300'; a replayed session fails because the card
// challenge moved on (R-G4).
func TestHandshakeRefusals(t *testing.T) {
	w := newWorld(t)
	w.createSSD(t, ssdA, "bank A", keySet(0x60))

	t.Run("wrong host cryptogram", func(t *testing.T) {
		sel, _ := gp.Select(ssdA)
		w.se.Process(sel)
		hc := []byte{8, 7, 6, 5, 4, 3, 2, 1}
		iu, _ := scp03.InitializeUpdate(initKVN, hc)
		r := w.se.Process(iu)
		parsed, err := scp03.ParseInitializeUpdateResponse(r[:len(r)-2])
		require.NoError(t, err)
		s, err := scp03.SessionKeys(keySet(0x60), hc, parsed.CardChallenge)
		require.NoError(t, err)
		host, err := scp03.NewChannel(scp03.HostRole, s, scp03.S8, scp03.LevelCMAC, make([]byte, 16))
		require.NoError(t, err)
		ea, err := host.WrapCommand([]byte{0x80, 0x82, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8})
		require.NoError(t, err)
		require.Equal(t, []byte{0x63, 0x00}, w.se.Process(ea))
	})

	t.Run("replayed session", func(t *testing.T) {
		var rec [][]byte
		tap := func(c []byte) ([]byte, error) {
			rec = append(rec, bytes.Clone(c))
			return w.se.Process(c), nil
		}
		s, err := gp.Open(tap, gp.Config{SD: ssdA, KeyVersion: initKVN, Keys: keySet(0x60), Level: scp03.LevelCMACCDec, Rand: w.rand})
		require.NoError(t, err)
		require.NoError(t, s.InstallApplet(payELF, payMod, appA, []byte{0}, nil, true))
		require.Len(t, rec, 4)
		w.se.Reset()
		var got [][]byte
		for _, c := range rec {
			got = append(got, w.se.Process(c))
		}
		require.Equal(t, []byte{0x90, 0x00}, got[0][len(got[0])-2:], "SELECT")
		require.NotEqual(t, rec[2], got[1], "a new card challenge")
		require.Equal(t, []byte{0x69, 0x82}, got[2], "the recorded EXTERNAL AUTHENTICATE fails its C-MAC")
		require.Equal(t, []byte{0x69, 0x82}, got[3], "no session")
	})

	t.Run("full protection", func(t *testing.T) {
		s, err := gp.Open(w.transport, gp.Config{SD: ssdA, KeyVersion: initKVN, Keys: keySet(0x60), Level: scp03.LevelFull, Rand: w.rand})
		require.NoError(t, err)
		cplc, err := s.GetData(gp.TagCPLC)
		require.NoError(t, err)
		c, err := gp.ParseCPLC(cplc)
		require.NoError(t, err)
		require.Equal(t, w.se.SEID(), c.SEID())
	})

	t.Run("card refuses the host", func(t *testing.T) {
		_, err := gp.Open(w.transport, gp.Config{SD: ssdA, KeyVersion: 0x44, Keys: keySet(0x60), Level: scp03.LevelCMAC, Rand: w.rand})
		requireSW(t, err, 0x6A88)
		_, err = gp.Open(w.transport, gp.Config{SD: ssdB, Keys: keySet(0x60), Level: scp03.LevelCMAC, Rand: w.rand})
		requireSW(t, err, 0x6A82)
		_, err = gp.Open(w.transport, gp.Config{SD: ssdA, Keys: keySet(0x60), Level: scp03.LevelNone, Rand: w.rand})
		require.ErrorIs(t, err, gp.ErrParam)
	})
}

// TestGetStatus: each domain sees its own part of the registry (R-G5d).
func TestGetStatus(t *testing.T) {
	w := newWorld(t)
	w.createSSD(t, ssdA, "bank A", keySet(0x60))
	w.createSSD(t, ssdB, "bank B", keySet(0x80))
	a := w.open(t, ssdA, initKVN, keySet(0x60))
	require.NoError(t, a.InstallApplet(payELF, payMod, appA, []byte{0x00}, nil, true))
	es, err := a.Status(gp.StatusOfApps)
	require.NoError(t, err)
	require.Equal(t, []gp.StatusEntry{{AID: appA, State: gp.StateSelectable, Privileges: []byte{0, 0, 0}}}, es)
	_, err = a.Status(gp.StatusOfISD)
	requireSW(t, err, gp.SWRefNotFound)
	mods, err := a.Status(gp.StatusOfModules)
	require.NoError(t, err)
	require.Len(t, mods, 2)
	require.Equal(t, [][]byte{payMod}, mods[1].Modules)

	b := w.open(t, ssdB, initKVN, keySet(0x80))
	_, err = b.Status(gp.StatusOfApps)
	requireSW(t, err, gp.SWRefNotFound)

	isd := w.open(t, isdAID, 0, keySet(0x40))
	es, err = isd.Status(gp.StatusOfApps)
	require.NoError(t, err)
	require.Len(t, es, 2)
	require.Equal(t, ssdA, es[0].AID)
	require.Equal(t, ssdB, es[1].AID)
	es, err = isd.Status(gp.StatusOfISD)
	require.NoError(t, err)
	require.Equal(t, isdAID, es[0].AID)
	_, err = isd.Send("GET STATUS", []byte{0x80, 0xF2, 0x40, 0x00, 0x02, 0x4F, 0x00, 0x00})
	requireSW(t, err, gp.SWIncorrectP1P2)
}

// TestGetStatusPages: a registry larger than one answer comes in pages,
// '6310' until the last; the host asks for the next occurrences (P2 b1)
// and gets every entry once. A next occurrence without a first is refused,
// and P1 '20' lists the load files without their modules.
func TestGetStatusPages(t *testing.T) {
	w := newWorld(t)
	w.createSSD(t, ssdA, "bank A", keySet(0x60))
	a := w.open(t, ssdA, initKVN, keySet(0x60))
	var want [][]byte
	for i := range 12 {
		aid := append(bytes.Clone(appA), 0x01, byte(i))
		require.NoError(t, a.InstallApplet(payELF, payMod, aid, []byte{0x00}, nil, false))
		want = append(want, aid)
	}
	// Twelve entries do not fit one answer.
	first, err := a.Send("GET STATUS", gp.GetStatusCmd(gp.StatusOfApps))
	var se *gp.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, gp.SWMoreData, se.SW)
	require.Nil(t, first)

	es, err := a.Status(gp.StatusOfApps)
	require.NoError(t, err)
	var got [][]byte
	for _, e := range es {
		got = append(got, e.AID)
	}
	require.Equal(t, want, got)

	next := gp.GetStatusCmd(gp.StatusOfApps)
	next[3] |= gp.StatusNext
	_, err = a.Send("GET STATUS", next)
	requireSW(t, err, gp.SWConditions)
	// Another command between the pages ends them.
	_, err = a.Send("GET STATUS", gp.GetStatusCmd(gp.StatusOfApps))
	require.ErrorAs(t, err, &se)
	require.NoError(t, a.InstallApplet(payELF, payMod, append(bytes.Clone(appA), 0x02), []byte{0x00}, nil, false))
	_, err = a.Send("GET STATUS", next)
	requireSW(t, err, gp.SWConditions)

	files, err := a.Status(gp.StatusOfLoadFiles)
	require.NoError(t, err)
	require.Len(t, files, 2)
	require.Equal(t, payELF, files[1].AID)
	require.Empty(t, files[1].Modules)
}

// TestISDPowers: the SE owner locks, unlocks and deletes an issuer's SSD
// it cannot read (R-M2); the issuer adds key sets up to the limit.
func TestISDPowers(t *testing.T) {
	w := newWorld(t)
	w.createSSD(t, ssdA, "bank A", keySet(0x60))
	iss := w.open(t, ssdA, initKVN, keySet(0x60))
	require.NoError(t, iss.InstallApplet(payELF, payMod, appA, []byte{0x00}, nil, true))
	require.NoError(t, iss.Personalize(appA))
	require.NoError(t, iss.StoreDGIs(perso()))
	for v := byte(0x31); v < 0x38; v++ {
		require.NoError(t, iss.PutKey(0, v, keySet(v)))
	}
	requireSW(t, iss.PutKey(0, 0x40, keySet(0x40)), gp.SWNoMemory)
	requireSW(t, iss.PutKey(0, 0x31, keySet(0x40)), gp.SWWrongData)
	iss.Close()

	isd := w.open(t, isdAID, 0, keySet(0x40))
	require.NoError(t, isd.SetStatus(ssdA, gp.StatePersonalized|gp.StateLockedBit))
	require.Nil(t, w.se.Select(appA))
	require.Empty(t, w.se.Selectable())
	requireSW(t, isd.SetStatus(ssdA, 0x0F), gp.SWWrongData)
	require.NoError(t, isd.SetStatus(ssdA, gp.StateSelectable))
	require.NotNil(t, w.se.Select(appA))
	requireSW(t, isd.SetStatus(ssdA, gp.StateSelectable), gp.SWWrongData)
	requireSW(t, isd.Delete(appA), gp.SWRefNotFound)
	require.NoError(t, isd.Delete(ssdA))
	require.Nil(t, w.se.Select(appA))
	require.Len(t, w.se.Registry(), 1)
	requireSW(t, isd.Delete(isdAID), gp.SWRefNotFound)
}
