package cards

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards/chip"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/recorded"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/magstripe"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// Options are the sources a card draws from.
type Options struct {
	// Rand supplies card unpredictable numbers, ICC dynamic numbers,
	// passcode salts and SE challenges; nil means crypto/rand.
	Rand io.Reader
	// Clock gives the time (phone verification validity); nil means
	// time.Now.
	Clock func() time.Time
	// Elapse, when set, is told how long each timed exchange takes (relay
	// resistance), so that a simulated reader's stopwatch advances by it;
	// the card never sleeps.
	Elapse func(time.Duration)
}

// Default settings of a profile.
var (
	defaultSDAID = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x01}
)

// FromProfile builds the card or phone a profile describes, in the state
// the profile gives.
func FromProfile(p Profile, o Options) (Card, error) {
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	ff := strings.ToLower(strings.TrimSpace(p.FormFactor))
	if ff == FormRecorded {
		b, err := p.readTrace()
		if err != nil {
			return nil, err
		}
		tr, err := recorded.Parse(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Trace, err)
		}
		if p.ATR != nil {
			tr.ATR = p.ATR
		}
		return recorded.New(tr), nil
	}
	// Work on copies: defaults filled in must not change the caller's profile.
	aps := append([]AppProfile(nil), p.Apps...)
	if p.App != nil {
		aps = append([]AppProfile{*p.App}, aps...)
	}
	if len(aps) == 0 {
		return nil, fmt.Errorf("%w: %q has no application", ErrProfile, p.Name)
	}
	noPPSE := p.PPSE != nil && !*p.PPSE

	if ff == FormPlastic || ff == "" {
		if p.Phone != nil {
			return nil, fmt.Errorf("%w: a plastic card has no phone settings", ErrProfile)
		}
		apps := make([]chip.Application, 0, len(aps))
		for i := range aps {
			cfg, err := appConfig(&aps[i], o)
			if err != nil {
				return nil, err
			}
			a, err := newApp(cfg, &aps[i], p.State)
			if err != nil {
				return nil, err
			}
			apps = append(apps, a)
		}
		var opts []chip.Option
		if p.ATR != nil {
			opts = append(opts, chip.WithATR(p.ATR))
		}
		if noPPSE {
			opts = append(opts, chip.WithoutPPSE())
		}
		return chip.New(apps, opts...), nil
	}

	var kind phone.Kind
	switch ff {
	case FormSEPhone:
		kind = phone.SE
	case FormHCEPhone:
		return hceFromProfile(p, o)
	case FormWallet:
		kind = phone.Wallet
	default:
		return nil, fmt.Errorf("%w: form factor %q (want plastic, se-phone, hce-phone, wallet-phone or recorded)", ErrProfile, p.FormFactor)
	}
	pp := p.Phone
	if pp == nil {
		return nil, fmt.Errorf("%w: a phone needs phone settings (at least a passcode)", ErrProfile)
	}
	var validity time.Duration
	if pp.Validity != "" {
		d, err := time.ParseDuration(pp.Validity)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%w: validity %q", ErrProfile, pp.Validity)
		}
		validity = d
	}
	ph, err := phone.New(phone.Config{
		Kind: kind, Passcode: pp.Passcode, Biometric: pp.Biometric, Validity: validity,
		AlwaysVerify: pp.AlwaysCDCVM, LowWater: pp.LowWater, ATR: p.ATR, NoPPSE: noPPSE,
		Clock: o.Clock, Rand: o.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	for i := range aps {
		ap := &aps[i]
		cfg, err := appConfig(ap, o)
		if err != nil {
			return nil, err
		}
		cfg.Holder = ph.Holder()
		if kind != phone.SE {
			cfg.DeviceID = pp.DeviceID
		}
		a, err := newApp(cfg, ap, p.State)
		if err != nil {
			return nil, err
		}
		if kind == phone.SE {
			sdAID := pp.SDAID
			if sdAID == nil {
				sdAID = defaultSDAID
			}
			var sdKey keys.Key
			if pp.SDKey != nil {
				sdKey, err = keys.New(keys.AES, pp.SDKey)
				if err != nil {
					return nil, fmt.Errorf("%w: security domain key: %w", ErrProfile, err)
				}
			} else if sdKey, err = keys.Generate(keys.AES, 16, o.Rand); err != nil {
				return nil, fmt.Errorf("%w: security domain key: %w", ErrProfile, err)
			}
			owner := pp.SDOwner
			if owner == "" {
				owner = "card issuer"
			}
			if err := ph.InstallSE(sdAID, owner, sdKey, a); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrProfile, err)
			}
		} else if err := ph.Install(a); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProfile, err)
		}
	}
	st := p.State
	if st.CardOn == nil || *st.CardOn {
		ph.CardOn()
	}
	ph.SetPasscodeFailures(st.PasscodeFailures)
	ph.SetVerified(st.Unlocked)
	return ph, nil
}

// masterKey derives the ICC master key from the profile's issuer master key.
// IssuerARPC answers an application's ARQC as its issuer would, for tests
// and simulations of the issuer's response: the Issuer Authentication Data
// (91) for the cryptogram in tags (the data record of the online
// transaction: 9F26, 9F36, 9F10 and the data the cryptogram covers) with
// the profile's test keys: the ARPC and the ARC (method 1), or the ARPC and
// the CSU (method 2).
func IssuerARPC(ap AppProfile, tags cryptogram.Source, arc, csu []byte) ([]byte, error) {
	cvn, err := cryptogram.Lookup(ap.CVN)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	mk, err := masterKey(cvn, &ap)
	if err != nil {
		return nil, err
	}
	arqc, ok := tags.Value(0x9F26)
	if !ok {
		return nil, fmt.Errorf("%w: no application cryptogram to answer", ErrProfile)
	}
	resp := csu
	if cvn.ARPCMethod == cryptogram.ARPC1 {
		resp = arc
	}
	arpc, err := cvn.ARPC(mk, tags, arqc, resp, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: ARPC: %w", ErrProfile, err)
	}
	return append(arpc, resp...), nil
}

// IssuerCheckCVC3 checks the track data of a mag-stripe mode data record
// (9F6B, and 56 when present) as the application's issuer would, with the
// profile's test keys: the dynamic digits are read back (emv/magstripe,
// the layout of emvapp.MagStripe), the ATC's digits must match the ATC
// (9F36), and the CVC3 recomputed over the track as personalised must give
// the digits the track carries. It fails with cryptogram.ErrMismatch for a
// wrong CVC3.
func IssuerCheckCVC3(ap AppProfile, record tlv.List) error {
	cvn, err := cryptogram.Lookup(ap.CVN)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProfile, err)
	}
	mk, err := masterKey(cvn, &ap)
	if err != nil {
		return err
	}
	atcv, ok := record.Find(0x9F36)
	if !ok || len(atcv.Value) != 2 {
		return fmt.Errorf("%w: no ATC in the record", ErrProfile)
	}
	atc := uint16(atcv.Value[0])<<8 | uint16(atcv.Value[1])
	check := func(tag tlv.Tag, parse func([]byte) (*magstripe.Track, error), l magstripe.Layout) error {
		v, ok := record.Find(tag)
		if !ok {
			return fmt.Errorf("%w: no track data %s in the record", ErrProfile, tag)
		}
		t, err := parse(v.Value)
		if err != nil {
			return err
		}
		static, cvc3, un, atcDigits, err := magstripe.Read(t, l)
		if err != nil {
			return err
		}
		if atcDigits != magstripe.ATCDigits(atc, l) {
			return fmt.Errorf("%w: ATC digits in track %s", cryptogram.ErrMismatch, tag)
		}
		iv, err := cryptogram.CVC3IV(mk, static.Bytes())
		if err != nil {
			return err
		}
		want, err := cryptogram.ComputeCVC3(mk, iv, un, atc)
		if err != nil {
			return err
		}
		if magstripe.CVC3Digits(want, l) != cvc3 {
			return fmt.Errorf("%w: CVC3 in track %s", cryptogram.ErrMismatch, tag)
		}
		return nil
	}
	l := emvapp.MagStripeLayout
	if err := check(0x9F6B, magstripe.ParseTrack2, l); err != nil {
		return err
	}
	if _, ok := record.Find(0x56); ok {
		return check(0x56, magstripe.ParseTrack1, l)
	}
	return nil
}

func masterKey(cvn *cryptogram.CVN, ap *AppProfile) (keys.Key, error) {
	if len(ap.MK) > 0 {
		mk, err := keys.New(cvn.Alg, ap.MK)
		if err != nil {
			return keys.Key{}, fmt.Errorf("%w: ICC master key: %w", ErrProfile, err)
		}
		return mk, nil
	}
	imk, err := keys.New(cvn.Alg, ap.IMK)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: issuer master key: %w", ErrProfile, err)
	}
	mk, err := cvn.DeriveMK(imk, ap.PAN, ap.PSN)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	return mk, nil
}

func newApp(cfg emvapp.Config, ap *AppProfile, st StateProfile) (*emvapp.App, error) {
	a, err := emvapp.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: application %X: %w", ErrProfile, ap.AID, err)
	}
	if st.ATC < 0 || st.ATC > 0xFFFF || st.LastOnlineATC < 0 || st.LastOnlineATC > 0xFFFF {
		return nil, fmt.Errorf("%w: ATC out of range", ErrProfile)
	}
	a.SetState(emvapp.State{ATC: uint16(st.ATC), LastOnlineATC: uint16(st.LastOnlineATC), ConsecutiveOffline: st.ConsecutiveOff})
	return a, nil
}

// appConfig turns an application profile into an emvapp configuration with
// a master-key source (HCE phones replace it).
func appConfig(ap *AppProfile, o Options) (emvapp.Config, error) {
	scheme, err := emvapp.ParseScheme(ap.Scheme)
	if err != nil {
		return emvapp.Config{}, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	if ap.AID == nil {
		ap.AID = map[emvapp.Scheme]Hex{emvapp.Visa: {0xA0, 0, 0, 0, 0x03, 0x10, 0x10}, emvapp.Mastercard: {0xA0, 0, 0, 0, 0x04, 0x10, 0x10}}[scheme]
	}
	if ap.Label == "" {
		ap.Label = map[emvapp.Scheme]string{emvapp.Visa: "VISA CREDIT", emvapp.Mastercard: "MASTERCARD"}[scheme]
	}
	cvn, err := cryptogram.Lookup(ap.CVN)
	if err != nil {
		return emvapp.Config{}, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	exp, err := parseDate(ap.Expiry)
	if err != nil {
		return emvapp.Config{}, err
	}
	var eff emvapp.Date
	if ap.Effective != "" {
		if eff, err = parseDate(ap.Effective); err != nil {
			return emvapp.Config{}, err
		}
	}
	if ap.Priority < 0 || ap.Priority > 15 || ap.KernelID < 0 || ap.KernelID > 255 || ap.DKI < 0 || ap.DKI > 255 {
		return emvapp.Config{}, fmt.Errorf("%w: priority, kernel ID or DKI out of range", ErrProfile)
	}
	mk, err := masterKey(cvn, ap)
	if err != nil {
		return emvapp.Config{}, err
	}
	cfg := emvapp.Config{
		Scheme: scheme, AID: ap.AID, Label: ap.Label, Priority: byte(ap.Priority), KernelID: byte(ap.KernelID),
		Language: ap.Language, PAN: ap.PAN, PSN: ap.PSN, Expiry: exp, Effective: eff, Name: ap.Name,
		ServiceCode: ap.Service, IssuerCountry: ap.Country, Currency: ap.Currency,
		CVN: cvn, DKI: byte(ap.DKI), Keys: emvapp.MasterKey{MK: mk},
		AIP: ap.AIP, AUC: ap.AUC, IACDefault: ap.IACDefault, IACDenial: ap.IACDenial, IACOnline: ap.IACOnline,
		CVMList: ap.CVMList, CTQ: ap.CTQ, FormFactor: ap.FFI, CVMLimit: ap.CVMLimit,
		Blocked: ap.Blocked, Rand: o.Rand, Elapse: o.Elapse,
	}
	cfg.BalanceReading = ap.BalanceReading
	cfg.CDAOverAAC = ap.CDAOverAAC
	if ds := ap.DataStorage; ds != nil {
		cfg.DataStorage = &emvapp.DataStorage{ODSCard: ds.ODSCard, Summary: ds.Summary, Volatile: ds.Volatile, SignedSummary: ds.SignedSummary,
			OperatorID: ds.OperatorID, Locked: ds.Locked, Deactivated: ds.Deactivated, DSID: ds.DSID, Unsigned: ds.UnsignedSummaries}
	}
	for _, t := range ap.WritableTags {
		if len(t) == 0 || len(t) > 2 {
			return emvapp.Config{}, fmt.Errorf("%w: writable tag %X is not a tag of one or two bytes", ErrProfile, []byte(t))
		}
		tag := uint16(t[0])
		if len(t) == 2 {
			tag = tag<<8 | uint16(t[1])
		}
		cfg.WritableTags = append(cfg.WritableTags, tag)
	}
	cfg.TornRecovery = ap.TornRecovery
	if ms := ap.MagStripe; ms != nil {
		cfg.MagStripe = &emvapp.MagStripe{EMV: ms.EMV, Track1: ms.Track1}
	}
	if rr := ap.RelayResistance; rr != nil {
		cfg.RelayResistance = &emvapp.RelayResistance{Min: rr.Min, Max: rr.Max, Transmission: rr.Transmission,
			Processing: rr.Processing, Slow: rr.Slow, SlowCount: rr.SlowCount}
	}
	if cfg.DKI == 0 {
		cfg.DKI = 1
	}
	if ap.PDOL != nil {
		if cfg.PDOL, err = tlv.ParseDOL(ap.PDOL); err != nil {
			return emvapp.Config{}, fmt.Errorf("%w: PDOL: %w", ErrProfile, err)
		}
	}
	if ap.CDOL1 != nil {
		if cfg.CDOL1, err = tlv.ParseDOL(ap.CDOL1); err != nil {
			return emvapp.Config{}, fmt.Errorf("%w: CDOL1: %w", ErrProfile, err)
		}
	}
	for _, c := range ap.CVMs {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "online_pin", "online-pin":
			cfg.CVMs.OnlinePIN = true
		case "signature":
			cfg.CVMs.Signature = true
		default:
			return emvapp.Config{}, fmt.Errorf("%w: CVM %q (want online_pin or signature)", ErrProfile, c)
		}
	}
	if off := ap.Offline; off != nil {
		cfg.Offline = emvapp.Offline{Allowed: off.Allowed, MaxConsecutive: off.MaxConsecutive, Limit: off.Limit}
	}
	if t := ap.Token; t != nil {
		cfg.Token = &emvapp.Token{RequestorID: t.RequestorID, PANLast4: t.PANLast4}
	}
	if len(ap.Faults) > 0 {
		cfg.Faults = map[byte]uint16{}
		for ins, sw := range ap.Faults {
			i, err1 := strconv.ParseUint(ins, 16, 8)
			s, err2 := strconv.ParseUint(sw, 16, 16)
			if err1 != nil || err2 != nil || len(sw) != 4 {
				return emvapp.Config{}, fmt.Errorf("%w: fault %q: %q (want an instruction byte and a status word in hex)", ErrProfile, ins, sw)
			}
			cfg.Faults[byte(i)] = uint16(s)
		}
	}
	if ap.ODA != nil {
		if cfg.ODA, err = odaConfig(ap.ODA, ap.PAN, exp); err != nil {
			return emvapp.Config{}, err
		}
	}
	return cfg, nil
}

// odaConfig takes the test CA keys the profile names.
func odaConfig(op *ODAProfile, pan string, cardExpiry emvapp.Date) (*emvapp.ODA, error) {
	if op.CAIndex < 0 || op.CAIndex > 255 {
		return nil, fmt.Errorf("%w: CA index %d", ErrProfile, op.CAIndex)
	}
	issuerExp := emvapp.Date{Year: cardExpiry.Year + 2, Month: cardExpiry.Month}
	if op.IssuerExpiry != "" {
		d, err := parseDate(op.IssuerExpiry)
		if err != nil {
			return nil, err
		}
		issuerExp = d
	}
	var iccExp emvapp.Date
	if op.ICCExpiry != "" {
		d, err := parseDate(op.ICCExpiry)
		if err != nil {
			return nil, err
		}
		iccExp = d
	}
	if len(pan) < 6 {
		return nil, fmt.Errorf("%w: PAN too short", ErrProfile)
	}
	is, err := testca.Issuer(byte(op.CAIndex), op.IssuerKey, oda.IssuerTemplate{IssuerID: pan[:6], Expiry: issuerExp, Serial: [3]byte{0x00, 0x00, 0x01}})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	k, err := testca.ICCKey(op.ICCKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	o := &emvapp.ODA{CAIndex: byte(op.CAIndex), Issuer: is, ICCKey: k, ICCExpiry: iccExp, ICCSerial: [3]byte{0x00, 0x00, 0x02}, Tamper: testca.Tamper}
	switch strings.ToLower(strings.TrimSpace(op.Tamper)) {
	case "", "none":
	case "issuer":
		o.TamperIssuerCert = true
	case "icc":
		o.TamperICCCert = true
	default:
		return nil, fmt.Errorf("%w: tamper %q (want none, issuer or icc)", ErrProfile, op.Tamper)
	}
	return o, nil
}
