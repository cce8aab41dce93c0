package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/pos"
)

// The load-test part of the sample world. The sample issuer holds
// LoadMaxTerminals cards of each load profile (same BIN, issuer master key,
// expiry and PIN as the profile's card; account digits 98nnnnnnn), and the
// sample acquirer knows the terminals L0000001 to L0000256, whose MAC key is
// the sample terminal's and whose PIN pads are DUKPT devices of the sample
// BDK.
const (
	// LoadMaxTerminals is how many load terminals, and load cards of each
	// load profile, the sample world holds.
	LoadMaxTerminals = 256
	// LoadTAKLabel is the acquirer's key shared by the load terminals.
	LoadTAKLabel = "acq/load-tak"
	// LoadCardPrefix starts the issuer's IDs of the load cards.
	LoadCardPrefix = "load-"
	// loadAccountDigits follow the BIN in a load card's PAN.
	loadAccountDigits = "98"
	// loadCreditLimit is each load card's credit limit (NT$10 billion):
	// holds add up over a long run.
	loadCreditLimit = 1_000_000_000_000
)

// loadProfiles are the profiles whose cards the sample issuer holds for
// load tests: plastic cards that go online above the floor limit.
var loadProfiles = []string{"visa-plastic", "mc-plastic"}

// LoadProfiles lists the profiles of the load cards.
func LoadProfiles() []string { return slices.Clone(loadProfiles) }

// LoadTID is the terminal ID of load terminal i (from 0): L0000001...
func LoadTID(i int) string { return fmt.Sprintf("L%07d", i+1) }

// LoadCardID is the issuer's ID of load card i (from 0) of a profile.
func LoadCardID(profile string, i int) string {
	return fmt.Sprintf("%s%s-%03d", LoadCardPrefix, profile, i+1)
}

// IsLoadCard reports whether a sample card ID is a load card's.
func IsLoadCard(id string) bool { return strings.HasPrefix(id, LoadCardPrefix) }

// loadCardPAN is the PAN of load card i (from 0) of a card whose PAN is
// base: the same BIN and length, account digits 98 and the card's number,
// and a Luhn check digit.
func loadCardPAN(base string, i int) (string, error) {
	width := len(base) - 1 - 6 - len(loadAccountDigits)
	if len(base) < 13 || width < 3 {
		return "", fmt.Errorf("load cards: PAN %s too short", pan.Mask(base))
	}
	body := base[:6] + loadAccountDigits + fmt.Sprintf("%0*d", width, i+1)
	if len(body) != len(base)-1 {
		return "", fmt.Errorf("load cards: card %d does not fit the PAN", i+1)
	}
	d, err := pan.CheckDigit(body)
	if err != nil {
		return "", fmt.Errorf("load cards: card %d: %w", i+1, err)
	}
	return body + string(d), nil
}

// LoadCardProfile is the profile of load card i (from 0) of a load
// profile: the profile's card with the load card's name (LoadCardID) and
// PAN.
func LoadCardProfile(profile string, i int) (cards.Profile, error) {
	p, err := cards.Builtin(profile)
	if err != nil {
		return p, err
	}
	if p.App == nil || p.App.Token != nil || p.FormFactor != cards.FormPlastic {
		return p, fmt.Errorf("load cards: %s is not a single-application plastic card", profile)
	}
	app := *p.App
	if app.PAN, err = loadCardPAN(app.PAN, i); err != nil {
		return p, err
	}
	p.App = &app
	p.Name = LoadCardID(profile, i)
	return p, nil
}

// addLoadCards adds the load cards of every load profile, each with its own
// account, to the sample seed. imk gives the label of an issuer master key
// (loaded once per value); pvv the PIN verification value of a PAN.
func addLoadCards(seed *issuerhost.Seed, imk func(cvn string, key []byte) (string, error), pvv func(pan string) (string, error)) error {
	for _, name := range loadProfiles {
		for i := range LoadMaxTerminals {
			p, err := LoadCardProfile(name, i)
			if err != nil {
				return err
			}
			a := p.App
			l, err := imk(a.CVN, a.IMK)
			if err != nil {
				return fmt.Errorf("load cards of %s: %w", name, err)
			}
			v, err := pvv(a.PAN)
			if err != nil {
				return fmt.Errorf("load card %s: %w", p.Name, err)
			}
			acct := "acct-" + p.Name
			// A contact, where the issuer sends the OTP when a load HCE
			// phone enrols on this card (LoadHCEPhone).
			phone, email := issuerhost.SampleContact(p.Name)
			seed.Accounts = append(seed.Accounts, issuerhost.SeedAccount{ID: acct, Currency: 901, CreditLimit: loadCreditLimit})
			seed.Cards = append(seed.Cards, issuerhost.SeedCard{ID: p.Name, PAN: a.PAN, PSN: a.PSN, Account: acct,
				Expiry: a.Expiry, CVN: a.CVN, IMK: l, PVKI: 1, PVV: v, FormFactor: p.FormFactor, InitialATC: int(p.State.ATC),
				Phone: phone, Email: email})
		}
	}
	return nil
}

// addLoadTerminals gives the acquirer the load terminals, all with the
// load MAC key (the sample TAK, loaded once), unless a terminal of that ID
// is configured already.
func addLoadTerminals(m hsm.KeyManager, have map[string]hsm.Handle, cfg *acquirer.Config) error {
	h, err := acqKey(m, have, LoadTAKLabel, hsm.UsageTAK, TAK)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, t := range cfg.Terminals {
		known[t.TID] = true
	}
	for i := range LoadMaxTerminals {
		if tid := LoadTID(i); !known[tid] {
			cfg.Terminals = append(cfg.Terminals, acquirer.Terminal{TID: tid, TAK: h})
		}
	}
	return nil
}

// LoadTerminalConfig is load terminal i (from 0): the sample terminal with
// its own ID (LoadTID) and its own DUKPT PIN pad (device i of the sample
// BDK); timeout, when positive, is its response timeout.
func LoadTerminalConfig(i int, timeout time.Duration) (pos.Config, error) {
	cfg, err := TerminalConfig("")
	if err != nil {
		return cfg, err
	}
	cfg.TerminalID = LoadTID(i)
	base, err := dukpt.ParseKSNHex(pos.DefaultKSNHex)
	if err != nil {
		return cfg, err
	}
	b := base.Initial().Bytes()
	// The device ID sits between the key set ID and the 21-bit counter:
	// bytes 5 and 6 name the load terminal.
	b[5], b[6] = byte(0x40|(i>>8)&0x3F), byte(i)
	ksn, err := dukpt.ParseKSN(b)
	if err != nil {
		return cfg, err
	}
	bdk, err := keys.ParseHex(keys.TDES, BDK)
	if err != nil {
		return cfg, err
	}
	if cfg.IPEK, err = dukpt.DeriveIPEK(bdk, ksn.Bytes()); err != nil {
		return cfg, err
	}
	cfg.KSN = ksn
	if timeout > 0 {
		cfg.ResponseTimeout = timeout
	}
	return cfg, cfg.Validate()
}

// loadHCEFunding is the load profile whose load card i funds the card
// account of load HCE phone i of each sample HCE phone profile.
var loadHCEFunding = map[string]string{SampleHCEProfile: "visa-plastic", SampleHCEMCProfile: "mc-plastic"}

// LoadHCEProfiles lists the HCE phone profiles a load run in the embedded
// world can tap (LoadHCEPhone).
func LoadHCEProfiles() []string { return []string{SampleHCEProfile, SampleHCEMCProfile} }

// LoadHCEMaxSales is how many sales one load HCE phone can make in an
// hour: the platform issues at most 100 limited-use keys per card account
// and hour (the key index counts them in two digits), the first batch and
// the last one left unspent included.
const LoadHCEMaxSales = 90

// LoadHCEPhone is load HCE phone i: the phone of a load terminal in a load
// run of an HCE phone profile.
type LoadHCEPhone struct {
	// Phone is the phone, its card from the cloud platform.
	Phone cards.Card
	// Masked is its cloud account number masked.
	Masked string

	sample SampleHCE
	card   *hceapp.Card
}

// LoadHCEPhone enrols load HCE phone i (from 0) of sample HCE profile name
// with the world's cloud platform, as the sample phone enrols: a card
// account of its own (load card i of the matching load profile funds it;
// the platform's key space is per account and hour), a device ID of its
// own, the OTP read from the load card's holder's inbox, the download.
// Load phones on one card account would share its key space.
func (n *Network) LoadHCEPhone(ctx context.Context, name string, i int) (*LoadHCEPhone, error) {
	fund, ok := loadHCEFunding[name]
	c := n.Cloud()
	if !ok || c == nil {
		return nil, fmt.Errorf("load HCE phone: %s: %w", name, ErrHCEProfile)
	}
	prof, err := cards.Builtin(name)
	if err != nil {
		return nil, err
	}
	lp, err := LoadCardProfile(fund, i)
	if err != nil {
		return nil, err
	}
	ref, cloudPAN, err := cloudAccount(LoadCardPrefix+name+fmt.Sprintf("-%03d", i+1), lp.App.PAN)
	if err != nil {
		return nil, err
	}
	pin := ""
	cvn := wire.HCECVNVisaCloud
	if name == SampleHCEMCProfile {
		pin, cvn = SampleHCEMobilePIN, wire.HCECVNMCCloud
	}
	c.enrolMu.Lock()
	defer c.enrolMu.Unlock()
	fc, err := c.addCardAccount(ctx, ref, lp.App.PAN, cloudPAN, yymm(prof.App.Expiry), "00", cvn)
	if err != nil {
		return nil, fmt.Errorf("load HCE phone %d: %w", i+1, err)
	}
	// "LOAD" or "LOMC" and the phone's number: a device of its own per
	// profile and terminal.
	device := fmt.Sprintf("4C4F4144%08X", i+1)
	if name == SampleHCEMCProfile {
		device = fmt.Sprintf("4C4F4D43%08X", i+1)
	}
	app, err := c.NewApp(device)
	if err != nil {
		return nil, err
	}
	card, err := c.enrol(ctx, app, ref, fc.Card.SecurityCode, pin, fc.Phone)
	if err != nil {
		return nil, fmt.Errorf("load HCE phone %d: %w", i+1, err)
	}
	h := SampleHCE{App: app, Card: card, Ref: ref, DeviceID: device, Masked: pan.Mask(cloudPAN), profile: prof, mobilePIN: pin}
	if h.Phone, err = h.phone(card, c.clock, c.rand); err != nil {
		return nil, err
	}
	return &LoadHCEPhone{Phone: h.Phone, Masked: h.Masked, sample: h, card: card}, nil
}

// Ready readies the phone for its next tap: it asks the platform for keys
// when it holds its low-water mark or fewer, then its holder unlocks it
// with the passcode (an HCE tap is always verified, R-S2e).
func (l *LoadHCEPhone) Ready(ctx context.Context) error {
	low := 0
	if l.sample.profile.Phone != nil {
		low = l.sample.profile.Phone.LowWater
	}
	if l.card.NeedsReplenish(low) {
		if _, err := l.sample.App.Replenish(ctx, l.sample.Ref); err != nil {
			return fmt.Errorf("replenish: %w", err)
		}
	}
	ph, ok := cards.Phone(l.Phone)
	if !ok {
		return errors.New("load HCE phone: not a phone")
	}
	return ph.Unlock(l.sample.profile.Phone.Passcode)
}
