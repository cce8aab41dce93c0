package phone

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/passcode"
	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/tlv"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	imk     = keys.MustHex(keys.TDES, "A1B2C3D4E5F60718293A4B5C6D7E8F90")
	testPAN = "4761739001010044"
	sdAID   = h("A000000151535001")
	sdKey   = keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
)

func rnd() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0x33}, 1<<16)) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// cloudKeys stands in for an HCE phone's cloud card (cards/hceapp.Card):
// a count of keys, each serving one transaction of the next ATC, its
// cryptogram made by the CVN from a master key (the phone counts the keys;
// what they are is the card's).
type cloudKeys struct {
	mk   keys.Key
	atc  uint16
	left int
}

func (k *cloudKeys) KeysLeft() int { return k.left }

func (k *cloudKeys) Next(uint16) (uint16, error) {
	if k.left == 0 {
		return 0, errors.New("no key left")
	}
	k.left--
	k.atc++
	return k.atc, nil
}

func (k *cloudKeys) AC(cvn *cryptogram.CVN, _ uint16, tags cryptogram.Source) ([]byte, error) {
	return cvn.GenerateAC(k.mk, tags)
}

// newPhone builds a phone of kind with a Visa-like application; an HCE
// phone's card has two keys.
func newPhone(t *testing.T, kind Kind, c *clock) *Phone {
	p, _ := newPhoneKeys(t, kind, c)
	return p
}

// newPhoneKeys is newPhone, also returning an HCE phone's card's keys.
func newPhoneKeys(t *testing.T, kind Kind, c *clock) (*Phone, *cloudKeys) {
	t.Helper()
	cvn, err := cryptogram.Lookup("visa18")
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(imk, testPAN, "01")
	require.NoError(t, err)
	cfg := Config{Kind: kind, Passcode: "5791", Biometric: true, Validity: time.Minute, Clock: c.now, Rand: rnd(), LowWater: 1}
	var ck *cloudKeys
	if kind == HCE {
		ck = &cloudKeys{mk: mk, left: 2}
		cfg.CloudKeys = ck
	}
	p, err := New(cfg)
	require.NoError(t, err)
	app := emvapp.Config{
		Scheme: emvapp.Visa, AID: h("A0000000031010"), Label: "VISA", PAN: testPAN, PSN: "01",
		Expiry: emvapp.Date{Year: 2029, Month: 12}, CVN: cvn, DKI: 1, Keys: emvapp.MasterKey{MK: mk},
		Holder: p.Holder(), Rand: rnd(),
	}
	if kind == HCE {
		app.Keys = ck
	}
	a, err := emvapp.New(app)
	require.NoError(t, err)
	if kind == SE {
		require.ErrorIs(t, p.Install(a), ErrKind)
		require.NoError(t, p.InstallSE(sdAID, "bank", sdKey, a))
	} else {
		require.NoError(t, p.Install(a))
	}
	p.CardOn()
	return p, ck
}

func sw(r []byte) uint16 { return uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1]) }

func cmd(t *testing.T, c apdu.Command) []byte {
	b, err := c.Bytes()
	require.NoError(t, err)
	return b
}

// tap runs PPSE, SELECT and GPO; it returns the status of the first failing
// step or the GPO response data.
func tap(t *testing.T, p *Phone, amount, ttq string) (uint16, tlv.Map) {
	t.Helper()
	p.Reset()
	if r := p.Process(cmd(t, apdu.SelectPPSE())); sw(r) != apdu.SW9000 {
		return sw(r), nil
	}
	r := p.Process(cmd(t, apdu.Select(h("A0000000031010"), true)))
	if sw(r) != apdu.SW9000 {
		return sw(r), nil
	}
	data := h(ttq + amount + "000000000000" + "0158" + "0000000000" + "0901" + "261124" + "00" + "11223344")
	r = p.Process(cmd(t, apdu.GPO(data)))
	if sw(r) != apdu.SW9000 {
		return sw(r), nil
	}
	l, err := tlv.Decode(r[:len(r)-2])
	require.NoError(t, err)
	return apdu.SW9000, l.Map()
}

// R-S2b: the card function must be on; off, the phone offers no card.
func TestCardFunction(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	for _, kind := range []Kind{SE, HCE, Wallet} {
		t.Run(kind.String(), func(t *testing.T) {
			p := newPhone(t, kind, c)
			p.Events()
			p.CardOff()
			require.False(t, p.CardFunctionOn())
			s, _ := tap(t, p, "000000010000", "36804000")
			require.Equal(t, apdu.SW6A82, s, "R-S2b: PPSE refused while off")
			require.Equal(t, apdu.SW6A82, sw(p.Process(cmd(t, apdu.Select(h("A0000000031010"), true)))), "direct SELECT refused too")
			require.Contains(t, p.Events(), EventCardOff)
			p.CardOn()
			require.NoError(t, p.UnlockBiometric(true))
			s, m := tap(t, p, "000000010000", "36804000")
			require.Equal(t, apdu.SW9000, s)
			require.Equal(t, []byte{0x80}, m[0x9F27])
		})
	}
}

// R-G3a, R-G3b: a phone cannot be set up with a weak passcode; each rule has
// its typed error.
func TestPasscodeRulesAtSetup(t *testing.T) {
	for code, want := range map[string]error{"123": passcode.ErrTooShort, "0000": passcode.ErrAllSame, "3456": passcode.ErrSequence, "12ab": passcode.ErrNotDigits} {
		_, err := New(Config{Kind: SE, Passcode: code, Rand: rnd()})
		require.ErrorIs(t, err, want, code)
		var re *passcode.RuleError
		require.True(t, errors.As(err, &re))
	}
	_, err := New(Config{Kind: 9, Passcode: "5791", Rand: rnd()})
	require.ErrorIs(t, err, ErrConfig)
	_, err = New(Config{Kind: SE, Passcode: "5791"})
	require.ErrorIs(t, err, ErrConfig)
}

// R-G3c: after 5 wrong entries the wallet is locked: no verification, not
// even biometric, no payment, no PAN; the issuer reset reopens it.
func TestWalletLock(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newPhone(t, SE, c)
	for i := 1; i <= 5; i++ {
		err := p.Unlock("0000")
		require.Error(t, err)
		if i < 5 {
			require.ErrorIs(t, err, passcode.ErrWrong)
		} else {
			require.ErrorIs(t, err, passcode.ErrLocked)
		}
	}
	require.True(t, p.Locked())
	require.ErrorIs(t, p.Unlock("5791"), passcode.ErrLocked)
	require.ErrorIs(t, p.UnlockBiometric(true), passcode.ErrLocked)
	_, err := p.RevealPAN("5791")
	require.ErrorIs(t, err, passcode.ErrLocked)
	p.SetVerified(true)
	require.False(t, p.Verified())
	s, _ := tap(t, p, "000000010000", "36804000")
	require.Equal(t, apdu.SW6A82, s, "a locked wallet offers no card")
	require.Contains(t, p.Events(), EventLocked)
	require.Contains(t, p.String(), "locked")

	require.ErrorIs(t, p.IssuerReset("1111"), passcode.ErrAllSame)
	require.NoError(t, p.IssuerReset("2468"))
	require.False(t, p.Locked())
	require.NoError(t, p.Unlock("2468"))
	s, _ = tap(t, p, "000000010000", "36804000")
	require.Equal(t, apdu.SW9000, s)

	p.SetPasscodeFailures(5)
	require.True(t, p.Locked())
	require.Equal(t, 5, p.PasscodeFailures())
}

// R-S2c: the look-up shows the PAN masked; the full PAN needs a
// verification, and a wrong passcode counts.
func TestPANLookup(t *testing.T) {
	p := newPhone(t, Wallet, &clock{t: time.Unix(0, 0)})
	require.Equal(t, []string{"476173******0044"}, p.LookupPAN())
	_, err := p.RevealPAN("1357")
	require.ErrorIs(t, err, passcode.ErrWrong)
	require.Equal(t, 1, p.PasscodeFailures())
	full, err := p.RevealPAN("5791")
	require.NoError(t, err)
	require.Equal(t, []string{testPAN}, full)
	_, err = p.RevealPANBiometric(false)
	require.ErrorIs(t, err, ErrBiometric)
	full, err = p.RevealPANBiometric(true)
	require.NoError(t, err)
	require.Equal(t, []string{testPAN}, full)

	require.Equal(t, "****", MaskPAN("1234"))
	require.Equal(t, "****5678", MaskPAN("12345678"))
	require.Equal(t, "123456*********2345", MaskPAN("1234567890123452345"))
}

// A verification serves taps for the validity period on an SE phone, and
// one tap on an HCE phone (R-S2e).
func TestVerificationValidity(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newPhone(t, SE, c)
	require.False(t, p.Verified())
	require.NoError(t, p.Unlock("5791"))
	require.True(t, p.Verified())
	s, m := tap(t, p, "000000350000", "36C04000")
	require.Equal(t, apdu.SW9000, s)
	require.Equal(t, h("2080"), m[0x9F6C], "CDCVM performed")
	require.True(t, p.Verified(), "still within the minute")
	c.t = c.t.Add(61 * time.Second)
	require.False(t, p.Verified())
	s, _ = tap(t, p, "000000350000", "36C04000")
	require.Equal(t, apdu.SW6986, s, "verification expired: See Phone")
	require.Contains(t, p.Events(), EventVerifyToPay)
	p.SetVerified(true)
	p.Lock()
	require.False(t, p.Verified())

	q := newPhone(t, SE, c)
	q.cfg.Validity = 0
	require.NoError(t, q.UnlockBiometric(true))
	tap(t, q, "000000350000", "36C04000")
	require.False(t, q.Verified(), "no validity period: one tap")

	_, err := New(Config{Kind: Wallet, Passcode: "5791", Rand: rnd()})
	require.NoError(t, err)
	w, _ := New(Config{Kind: Wallet, Passcode: "5791", Rand: rnd()})
	require.ErrorIs(t, w.UnlockBiometric(true), ErrNoBiometric)
}

// HCE: CDCVM before every tap whatever the amount (R-S2e), one key per tap
// (R-S5b), no key left: no card offered and a replenish request; the
// platform's new batch brings it back.
func TestHCEPhone(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p, ck := newPhoneKeys(t, HCE, c)
	require.Equal(t, 2, p.KeysLeft())
	p.Events()

	s, _ := tap(t, p, "000000001000", "36804000")
	require.Equal(t, apdu.SW6986, s, "R-S2e: NT$10 still needs CDCVM (See Phone)")
	require.Equal(t, 2, p.KeysLeft(), "See Phone starts no transaction: no key spent")
	require.Contains(t, p.Events(), EventVerifyToPay)

	require.NoError(t, p.UnlockBiometric(true))
	s, m := tap(t, p, "000000001000", "36804000")
	require.Equal(t, apdu.SW9000, s)
	require.Equal(t, []byte{0x80}, m[0x9F27])
	require.Equal(t, h("0001"), m[0x9F36])
	require.Equal(t, 1, p.KeysLeft(), "R-S5b: one key per tap")
	require.Contains(t, p.Events(), EventReplenish, "at the low-water mark")
	require.False(t, p.Verified(), "R-S2e: the verification served one tap")

	s, _ = tap(t, p, "000000001000", "36804000")
	require.Equal(t, apdu.SW6986, s, "R-S2e: verify again before the next tap")
	require.NoError(t, p.Unlock("5791"))
	s, m = tap(t, p, "000000001000", "36804000")
	require.Equal(t, apdu.SW9000, s)
	require.Equal(t, h("0002"), m[0x9F36])
	require.False(t, p.Verified(), "R-S2e: the verification served one tap")
	require.Equal(t, 0, p.KeysLeft())
	require.True(t, p.NeedsReplenish())

	s, _ = tap(t, p, "000000001000", "36804000")
	require.Equal(t, apdu.SW6986, s, "no key left: the card is offered, GPO says see phone")
	require.Contains(t, p.Events(), EventNoKeys)
	require.Equal(t, "no keys left: replenish", EventNoKeys.String())

	ck.left = 3 // the platform's next batch
	require.NoError(t, p.Unlock("5791"))
	s, m = tap(t, p, "000000001000", "36804000")
	require.Equal(t, apdu.SW9000, s)
	require.Equal(t, h("0003"), m[0x9F36])
	require.Contains(t, p.String(), "2 keys")

	require.Zero(t, newPhone(t, SE, c).KeysLeft())
}

// R-G5d: the card applet of an SE phone sits in the issuer's security
// domain; the SE issuer's domain and wrong keys do not open it.
func TestSEPhoneFirewall(t *testing.T) {
	p := newPhone(t, SE, &clock{})
	require.Len(t, p.SE().Domains(), 2)
	s, err := p.SE().Open(sdAID, sdKey)
	require.NoError(t, err)
	a, err := s.Applet()
	require.NoError(t, err)
	require.Equal(t, h("A0000000031010"), a.AID())
	_, err = p.SE().Open(sdAID, keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F"))
	require.ErrorIs(t, err, se.ErrAuth)

	// The issuer locks its domain (lost phone): the card disappears.
	require.NoError(t, s.Lock())
	require.NoError(t, p.UnlockBiometric(true))
	st, _ := tap(t, p, "000000010000", "36804000")
	require.Equal(t, apdu.SW6A82, st)
	require.NoError(t, s.Unlock())
	st, _ = tap(t, p, "000000010000", "36804000")
	require.Equal(t, apdu.SW9000, st)
	require.Nil(t, newPhone(t, HCE, &clock{}).SE())
	require.ErrorIs(t, newPhone(t, Wallet, &clock{}).InstallSE(sdAID, "x", sdKey, nil), ErrKind)
}

func TestChangePasscodeAndStrings(t *testing.T) {
	p := newPhone(t, Wallet, &clock{})
	require.ErrorIs(t, p.ChangePasscode("5791", "9876"), passcode.ErrSequence)
	require.NoError(t, p.ChangePasscode("5791", "2580"))
	require.NoError(t, p.Unlock("2580"))
	require.Equal(t, "wallet-phone: card on, 1 application(s)", p.String())
	require.NotContains(t, p.String(), testPAN)
	require.Len(t, p.Apps(), 1)
	require.Equal(t, Wallet, p.Kind())
	require.NotEmpty(t, p.ATR())
	for _, e := range []Event{EventVerifyToPay, EventReplenish, EventCardOff, EventLocked, EventPaid, EventNoKeys, 0} {
		require.NotEmpty(t, e.String())
	}
	require.Equal(t, "Kind(0)", Kind(0).String())
}
