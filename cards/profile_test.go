package cards

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/cards/passcode"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/apdu"
	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/tlv"
)

const visaIMK = "A1B2C3D4E5F60718293A4B5C6D7E8F90"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", "name: x\nform_factor: plastic\ncolour: red\n", "colour"},
		{"unknown app field", "name: x\napp: {scheme: visa, pin: 1234}\n", "pin"},
		{"bad hex", "name: x\napp: {scheme: visa, imk: XYZ}\n", "not hex"},
		{"hex not a string", "name: x\napp: {scheme: visa, imk: [1, 2]}\n", "hex string"},
		{"not YAML", "name: [x\n", "bad profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			require.ErrorIs(t, err, ErrProfile)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	base := func() Profile {
		p, err := Builtin("visa-plastic")
		require.NoError(t, err)
		return p
	}
	for _, tc := range []struct {
		name string
		edit func(*Profile)
	}{
		{"form factor", func(p *Profile) { p.FormFactor = "watch" }},
		{"no application", func(p *Profile) { p.App = nil }},
		{"scheme", func(p *Profile) { p.App.Scheme = "amex" }},
		{"CVN", func(p *Profile) { p.App.CVN = "visa99" }},
		{"IMK length", func(p *Profile) { p.App.IMK = h("0102") }},
		{"expiry", func(p *Profile) { p.App.Expiry = "December" }},
		{"effective", func(p *Profile) { p.App.Effective = "13/99" }},
		{"PAN", func(p *Profile) { p.App.PAN = "47617390010100AB" }},
		{"CVM", func(p *Profile) { p.App.CVMs = []string{"retina"} }},
		{"fault", func(p *Profile) { p.App.Faults = map[string]string{"A8": "6F"} }},
		{"tamper", func(p *Profile) { p.App.ODA.Tamper = "both" }},
		{"ODA key", func(p *Profile) { p.App.ODA.ICCKey = "icc-z" }},
		{"CA index", func(p *Profile) { p.App.ODA.CAIndex = 7 }},
		{"PDOL", func(p *Profile) { p.App.PDOL = h("9F") }},
		{"priority", func(p *Profile) { p.App.Priority = 16 }},
		{"ATC", func(p *Profile) { p.State.ATC = 70000 }},
		{"phone settings on plastic", func(p *Profile) { p.Phone = &PhoneProfile{Passcode: "5791"} }},
		{"phone without settings", func(p *Profile) { p.FormFactor = FormSEPhone }},
		{"weak passcode", func(p *Profile) { p.FormFactor = FormSEPhone; p.Phone = &PhoneProfile{Passcode: "1111"} }},
		{"validity", func(p *Profile) {
			p.FormFactor = FormSEPhone
			p.Phone = &PhoneProfile{Passcode: "5791", Validity: "soon"}
		}},
		{"SD key", func(p *Profile) {
			p.FormFactor = FormSEPhone
			p.Phone = &PhoneProfile{Passcode: "5791", SDKey: h("01")}
		}},
		{"recorded without trace", func(p *Profile) { p.FormFactor = FormRecorded }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.edit(&p)
			_, err := FromProfile(p, opts())
			require.ErrorIs(t, err, ErrProfile)
			require.NotContains(t, err.Error(), visaIMK, "errors never quote the key")
		})
	}
	_, err := Builtin("no-such-card")
	require.ErrorIs(t, err, ErrProfile)
	require.Contains(t, err.Error(), "visa-plastic")
}

// FromProfile fills defaults in its own copy: the caller's profile is left
// as it was.
func TestFromProfileDoesNotChangeProfile(t *testing.T) {
	p, err := Builtin("dual-brand")
	require.NoError(t, err)
	_, err = FromProfile(p, opts())
	require.NoError(t, err)
	require.Nil(t, p.Apps[0].AID)
	require.Empty(t, p.Apps[0].Label)
}

func TestLoadFileWithTrace(t *testing.T) {
	dir := t.TempDir()
	tr, err := os.ReadFile(filepath.Join("profiles", "traces", "visa-qvsdc.trace"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "t"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t", "s.trace"), tr, 0o644))
	file := filepath.Join(dir, "rec.yaml")
	require.NoError(t, os.WriteFile(file, []byte("name: rec\nform_factor: recorded\ntrace: t/s.trace\natr: 3B8180018080\n"), 0o644))
	p, err := Load(file)
	require.NoError(t, err)
	c, err := FromProfile(p, opts())
	require.NoError(t, err)
	require.Equal(t, h("3B8180018080"), c.ATR())
	require.Equal(t, "read record", tap(t, c, defaultTerminal("000000012500")).step)

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, ErrProfile)
	require.NoError(t, os.WriteFile(file, []byte("name: rec\nform_factor: recorded\ntrace: t/none.trace\n"), 0o644))
	p, err = Load(file)
	require.NoError(t, err)
	_, err = FromProfile(p, opts())
	require.ErrorIs(t, err, ErrProfile)
	require.NoError(t, os.WriteFile(file, []byte("name: rec\nform_factor: recorded\ntrace: t/bad.trace\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t", "bad.trace"), []byte("< 9000\n"), 0o644))
	p, _ = Load(file)
	_, err = FromProfile(p, opts())
	require.ErrorIs(t, err, ErrProfile)
	require.NoError(t, os.WriteFile(file, []byte("name: [\n"), 0o644))
	_, err = Load(file)
	require.ErrorIs(t, err, ErrProfile)
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string][2]int{"2029-12": {2029, 12}, "2901": {2029, 1}, " 2030-06 ": {2030, 6}} {
		d, err := parseDate(in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]int{d.Year, int(d.Month)})
	}
	for _, in := range []string{"", "2913", "29-1", "abcd", "2029/12"} {
		_, err := parseDate(in)
		require.ErrorIs(t, err, ErrProfile, in)
	}
}

func TestHexYAML(t *testing.T) {
	v, err := Hex(h("0A1B")).MarshalYAML()
	require.NoError(t, err)
	require.Equal(t, "0A1B", v)
}

// Profile state: card function off (R-S2b), passcode locked (R-G3c), no keys
// left (R-S5b).
func TestProfileState(t *testing.T) {
	off := false
	zero := 0
	for _, tc := range []struct {
		name  string
		prof  string
		state StateProfile
		event phone.Event
		step  string
		sw    uint16
	}{
		{"R-S2b card function off", "visa-se-phone", StateProfile{CardOn: &off}, phone.EventCardOff, "ppse", apdu.SW6A82},
		{"R-G3c passcode locked", "mc-se-phone", StateProfile{PasscodeFailures: 5, Unlocked: true}, phone.EventLocked, "ppse", apdu.SW6A82},
		// The card is offered; the phone says "see phone" to the GPO.
		{"R-S5b no single-use key left", "hce-phone", StateProfile{KeysLeft: &zero, Unlocked: true}, phone.EventNoKeys, "gpo", apdu.SW6986},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Builtin(tc.prof)
			require.NoError(t, err)
			p.State = tc.state
			c, err := FromProfile(p, opts())
			require.NoError(t, err)
			res := tap(t, c, defaultTerminal("000000012500"))
			require.Equal(t, tc.step, res.step)
			require.Equal(t, tc.sw, res.sw)
			ph, _ := Phone(c)
			require.Contains(t, ph.Events(), tc.event)
		})
	}
	p, err := Builtin("visa-plastic")
	require.NoError(t, err)
	p.State = StateProfile{ATC: 0x41, LastOnlineATC: 0x40}
	c, err := FromProfile(p, opts())
	require.NoError(t, err)
	res := tap(t, c, defaultTerminal("000000012500"))
	require.Equal(t, h("0042"), res.gpo[0x9F36])
}

// R-S5c: the HCE phone is its issuer app as the cloud platform enrolled
// it: limited-use keys wrapped for its device, no master key in the
// profile; R-S5b: each key is used once, its cryptogram verifying from
// the sample cloud master key.
func TestHCEProfileKeys(t *testing.T) {
	p, c := build(t, "hce-phone")
	require.Empty(t, p.App.IMK, "an HCE profile names no master key")
	ph, ok := Phone(c)
	require.True(t, ok)
	require.Equal(t, phone.HCE, ph.Kind())
	require.Equal(t, 5, ph.KeysLeft())
	for i := 1; i <= 2; i++ {
		require.NoError(t, ph.UnlockBiometric(true))
		x := defaultTerminal("000000012500")
		res := tap(t, c, x)
		require.Equal(t, apdu.SW9000, res.sw)
		require.Equal(t, []byte{0, byte(i)}, res.gpo[0x9F36])
		_, ac, atc, iad := res.check(t, x, p.App.PAN)
		issuerVerify(t, *p.App, x, res.gpo[0x82], atc, iad, ac)
		require.Equal(t, 5-i, ph.KeysLeft())
	}
	n := 0
	p.State.KeysLeft = &n
	c, err := FromProfile(p, opts())
	require.NoError(t, err)
	ph, _ = Phone(c)
	require.Equal(t, 0, ph.KeysLeft(), "the state's keys left")
	p.State = StateProfile{ATC: 3}
	_, err = FromProfile(p, opts())
	require.ErrorIs(t, err, ErrProfile, "an HCE phone's ATC is its keys'")
	p, err = Builtin("hce-phone")
	require.NoError(t, err)
	p.Phone.Storage = "phones/hce-phone-mc.json"
	_, err = FromProfile(p, opts())
	require.ErrorIs(t, err, ErrProfile, "another phone's storage")
	p.Phone.Storage = ""
	_, err = FromProfile(p, opts())
	require.ErrorIs(t, err, ErrProfile, "an HCE phone needs its app's storage")
}

// R-S5d: the HCE phone's keys were issued to its device (the storage's
// device is the profile's), and 9F10 names the key, not the device: the
// issuer finds the device from the key in its ledger.
func TestHCEDeviceBinding(t *testing.T) {
	for _, name := range []string{"hce-phone", "hce-phone-mc"} {
		p, c := build(t, name)
		ph, _ := Phone(c)
		ph.SetVerified(true)
		res := tap(t, c, defaultTerminal("000000012500"))
		require.Equal(t, apdu.SW9000, res.sw, name)
		m := res.gpo
		if res.ac != nil {
			m = res.ac
		}
		iad, err := emvcloud.ParseIAD(m[0x9F10])
		require.NoError(t, err, name)
		require.NotContains(t, string(m[0x9F10]), string(p.Phone.DeviceID), name)
		b, err := p.readFile("storage", p.Phone.Storage)
		require.NoError(t, err)
		app, err := hceapp.Restore(hceapp.Config{}, b)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%X", []byte(p.Phone.DeviceID)), app.DeviceID(), name)
		if name == "hce-phone" {
			require.Equal(t, emvcloud.CVNVisaCloud, iad.CVN)
			require.Equal(t, "6034500", iad.KeyIndex.String(), "the first key, made 2026-01-15 09:00 UTC")
		} else {
			require.Equal(t, emvcloud.CVNMCCloud, iad.CVN)
		}
	}
}

// See Phone and the second tap, for both schemes (R-S2d: above the
// no-signature limit the phone verifies the holder).
func TestSeePhoneSecondTap(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    terminal
	}{
		{"visa-se-phone", terminal{amount: "000000350000", ttq: "36C04000", un: "01020304"}},
		{"mc-se-phone", terminal{amount: "000000350000", cvmResults: "010002", msi: "03", un: "01020304"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := build(t, tc.name)
			ph, _ := Phone(c)
			res := tap(t, c, tc.x)
			if res.ac != nil {
				require.Equal(t, apdu.SW9000, res.sw)
				require.Equal(t, []byte{0x00}, res.ac[0x9F27])
				require.Equal(t, h("000100"), res.ac[0xDF4B])
			} else {
				require.Equal(t, "gpo", res.step)
				require.Equal(t, apdu.SW6986, res.sw)
			}
			require.Contains(t, ph.Events(), phone.EventVerifyToPay)

			require.ErrorIs(t, ph.Unlock("0000"), passcode.ErrWrong)
			require.NoError(t, ph.Unlock(p.Phone.Passcode))
			res = tap(t, c, tc.x)
			cid, ac, atc, iad := res.check(t, tc.x, p.App.PAN)
			require.Equal(t, byte(0x80), cid)
			issuerVerify(t, *p.App, tc.x, res.gpo[0x82], atc, iad, ac)
			if res.ac != nil {
				require.Equal(t, h("001000"), res.ac[0xDF4B])
			} else {
				require.Equal(t, h("2080"), res.gpo[0x9F6C])
				require.Equal(t, res.gpo[0x9F6C], res.gpo[0x9F69][5:7])
			}
		})
	}
}

// R-G5d through a profile: the SE phone's applet is in the domain the
// profile keys; nothing else opens it.
func TestSEPhoneProfileFirewall(t *testing.T) {
	p, c := build(t, "visa-se-phone")
	ph, _ := Phone(c)
	k, err := keys.New(keys.AES, p.Phone.SDKey)
	require.NoError(t, err)
	s, err := ph.SE().Open(p.Phone.SDAID, k)
	require.NoError(t, err)
	owner, err := ph.SE().Owner(p.Phone.SDAID)
	require.NoError(t, err)
	require.Equal(t, "tapsim test bank", owner)
	require.Equal(t, "session(A000000151535001)", s.String())
	_, err = ph.SE().Open(phone.ISDAID, k)
	require.ErrorIs(t, err, se.ErrAuth, "the card issuer's key does not open the SE issuer's domain")
}

func TestBuiltinNamesAreFiles(t *testing.T) {
	for _, n := range BuiltinNames() {
		_, err := os.Stat(filepath.Join("profiles", n+".yaml"))
		require.NoError(t, err)
		p, err := Builtin(n)
		require.NoError(t, err)
		require.Equal(t, n, p.Name, "name matches the file")
		require.False(t, strings.ContainsAny(p.Description, "\n"))
	}
}

// Keys, passcodes and PANs never print: not with %v, %+v or %#v.
func TestNoSecretsInOutput(t *testing.T) {
	p, err := Builtin("hce-phone")
	require.NoError(t, err)
	p2, err := Builtin("visa-se-phone")
	require.NoError(t, err)
	cfg, err := appConfig(p2.App, opts())
	require.NoError(t, err)
	c, err := FromProfile(p, opts())
	require.NoError(t, err)
	_, plastic := build(t, "visa-plastic")
	p3, c3 := build(t, "hce-phone-mc")
	for _, v := range []any{p, &p, *p.App, p.App, *p.Phone, *p.App.Token, cfg, p2, *p2.Phone, c, plastic, Applications(plastic)[0], p3, *p3.Phone, c3} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{"0F1E2D3C4B5A6978", "0f1e2d3c", "4895370012340011", "4761739001010044", "4761739001010010", "5791", "8A3F51C2D4E6079B", "4827", "404142434445"} {
				require.NotContains(t, out, secret, "%T printed with %s", v, verb)
			}
		}
	}
}

// A card personalised with its ICC master key answers as the one whose key
// is derived from the issuer master key; a key of the wrong size is
// refused.
func TestProfileICCMasterKey(t *testing.T) {
	p, err := Builtin("visa-plastic")
	require.NoError(t, err)
	want := tap(t, mustCard(t, p), defaultTerminal("000000012500"))
	require.NotEmpty(t, appCryptogram(want))

	cvn, err := cryptogram.Lookup(p.App.CVN)
	require.NoError(t, err)
	imk, err := keys.New(cvn.Alg, p.App.IMK)
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(imk, p.App.PAN, p.App.PSN)
	require.NoError(t, err)
	app := *p.App
	app.IMK, app.MK = nil, mk.Bytes()
	p.App = &app
	got := tap(t, mustCard(t, p), defaultTerminal("000000012500"))
	require.Equal(t, appCryptogram(want), appCryptogram(got))

	app.MK = []byte{1, 2, 3}
	_, err = FromProfile(p, opts())
	require.ErrorIs(t, err, ErrProfile)
}

func mustCard(t *testing.T, p Profile) Card {
	t.Helper()
	c, err := FromProfile(p, opts())
	require.NoError(t, err)
	return c
}

func appCryptogram(r tapResult) []byte {
	for _, m := range []tlv.Map{r.gpo, r.ac, r.recs} {
		if v, ok := m.Lookup(0x9F26); ok {
			return v
		}
	}
	return nil
}

// TestUsesTestCA: virtual cards are certified by the test CA, a recorded
// card only when its profile says so.
func TestUsesTestCA(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		p    Profile
		want bool
	}{
		{"plastic", Profile{FormFactor: FormPlastic}, true},
		{"hce phone", Profile{FormFactor: FormHCEPhone}, true},
		{"recorded", Profile{FormFactor: FormRecorded}, false},
		{"recorded test card", Profile{FormFactor: FormRecorded, TestCard: &yes}, true},
		{"plastic said not to be", Profile{FormFactor: FormPlastic, TestCard: &no}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.p.UsesTestCA())
		})
	}
	p, err := Builtin("recorded-visa")
	require.NoError(t, err)
	require.True(t, p.UsesTestCA(), "the sample trace is of a virtual card")
}
