package lab

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hceapp"
	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// The embedded world's HCE cloud platform (provision/cloudsvc) and its
// keys in the issuer's security module.
const (
	// SampleHCEProfile is the built-in profile of the sample HCE phone:
	// its passcode, CDCVM rules, device and funding card. The embedded
	// world enrols it with the cloud platform when it starts
	// (SampleHCE), an issuer run on its own when it makes its data
	// (EnrolIssuerSampleHCE); the phone built from the profile alone
	// (cards.FromProfile, for tapsim tap and tapsim run) is its app's
	// storage as such a platform enrolled it on a fixed clock, its keys
	// from the sample cloud master keys (CloudIMK, CloudUMDIMK).
	SampleHCEProfile = "hce-phone"
	// PartyCloud is the cloud platform's name (TLS certificate and JOSE
	// keys).
	PartyCloud = "cloud-platform"
	// CloudIMKLabel labels the issuer master key of the cloud cards'
	// limited-use keys in the issuer's security module.
	CloudIMKLabel = "issuer/cloud-imk"
	// CloudIMK is the sample value of that key (test key, double-length
	// TDES), loaded once into the module.
	CloudIMK = "8A3F51C2D4E6079B1C2D3E4F50617283"
	// CloudUMDIMK is the sample second master key of the mc-cloud cards
	// (their UMD keys), labelled CloudIMKLabel + authz.UMDKeySuffix.
	CloudUMDIMK = "3E7A19C5B2D40F6E81A7C3D95B0E2F46"
	// SampleCloudRequestor is the ID the cloud platform is known under
	// among the issuer's token requestors (the hce-phone profile's).
	SampleCloudRequestor = "40010030273"
	// sampleReplenishInterval is the world's platform's shortest time
	// between two batches of one phone: short, so that a person at the
	// TUI replenishes as soon as the phone asks (the phone asks only at
	// its low-water mark; the platform's hourly key cap still holds).
	sampleReplenishInterval = time.Millisecond
	// staffServiceCentre is who takes a lost-phone report.
	staffServiceCentre = "service-centre"
)

// SampleHCE is the embedded world's HCE phone: the issuer's HCE app on the
// sample device, the card it enrolled with the cloud platform when the
// world was created (registration with the cardholder's OTP, then the
// challenge-signed download), and the phone that pays with it.
type SampleHCE struct {
	// App is the phone's HCE app.
	App *hceapp.App
	// Card is the card on the phone: emulated data and limited-use keys.
	Card *hceapp.Card
	// Ref is the card account's reference at the platform, the token's ID
	// at the issuer.
	Ref string
	// DeviceID is the phone's hardware device ID (hex).
	DeviceID string
	// Masked is the cloud account number masked (first 6 and last 4).
	Masked string
	// Phone is the HCE phone holding the card.
	Phone cards.Card
	// backup is the card as downloaded, for a phone restored from a
	// backup (RestoredCard).
	backup    *hceapp.Card
	profile   cards.Profile
	mobilePIN string
}

// Cloud is the world's HCE cloud platform on loopback HTTPS with mutual
// TLS, its keys in the issuer's security module, and the issuer's ledger
// of the keys it issued, which the issuer host's authorisation reads.
type Cloud struct {
	// Addr is the platform's host:port.
	Addr string

	n      *Network
	p      *Provisioning
	svc    *cloudsvc.Service
	me     *wire.Party
	ledger *issuercloud.Ledger
	clock  func() time.Time
	rand   io.Reader

	mu  sync.Mutex
	seq int
	// enrolMu takes the load phones' enrolments one at a time (each
	// reads its OTP from an inbox).
	enrolMu sync.Mutex
}

// errSampleHCE reports that the world could not enrol its HCE phone.
var errSampleHCE = errors.New("sample HCE phone")

// cloudHSM is the running issuer's security module, as the platform sees
// it: the issuer host may have been stopped and started again (a new
// module on the same keystore), so each call finds the module and its key
// by label again.
type cloudHSM struct{ n *Network }

func (c cloudHSM) cur() (*soft.HSM, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.n.issuer == nil || c.n.issuer.HSM == nil {
		return nil, ErrIssuerDown
	}
	return c.n.issuer.HSM, nil
}

func (c cloudHSM) key(h hsm.Handle) (*soft.HSM, hsm.Handle, error) {
	m, err := c.cur()
	if err != nil {
		return nil, hsm.Handle{}, err
	}
	k, err := m.Lookup(h.Label)
	return m, k, err
}

func (c cloudHSM) Lookup(label string) (hsm.Handle, error) {
	m, err := c.cur()
	if err != nil {
		return hsm.Handle{}, err
	}
	return m.Lookup(label)
}

func (c cloudHSM) ExportLUKsToDevice(imk hsm.Handle, p, psn string, api uint16, kis []emvcloud.KeyIndex, device *ecdsa.PublicKey) ([]hsm.DeviceLUK, error) {
	m, k, err := c.key(imk)
	if err != nil {
		return nil, err
	}
	return m.ExportLUKsToDevice(k, p, psn, api, kis, device)
}

func (c cloudHSM) ExportSUKsToDevice(mkMD, mkUMD hsm.Handle, p, psn string, firstATC uint16, n int, pin string, salt []byte, tokenRef string, device *ecdsa.PublicKey) ([]hsm.DeviceSUK, error) {
	m, md, err := c.key(mkMD)
	if err != nil {
		return nil, err
	}
	_, umd, err := c.key(mkUMD)
	if err != nil {
		return nil, err
	}
	return m.ExportSUKsToDevice(md, umd, p, psn, firstATC, n, pin, salt, tokenRef, device)
}

func (c cloudHSM) EncryptData(dek hsm.Handle, plain, aad []byte) ([]byte, error) {
	m, k, err := c.key(dek)
	if err != nil {
		return nil, err
	}
	return m.EncryptData(k, plain, aad)
}

func (c cloudHSM) DecryptData(dek hsm.Handle, sealed, aad []byte) ([]byte, error) {
	m, k, err := c.key(dek)
	if err != nil {
		return nil, err
	}
	return m.DecryptData(k, sealed, aad)
}

// cloudIDV is the running issuer's ID&V as the platform's cardholder
// verifier.
type cloudIDV struct{ p *Provisioning }

func (v cloudIDV) verifier() (idv.HCEVerifier, error) {
	s := v.p.IDV()
	if s == nil {
		return idv.HCEVerifier{}, ErrIssuerDown
	}
	m, err := cloudHSM{v.p.n}.cur()
	if err != nil {
		return idv.HCEVerifier{}, err
	}
	return idv.HCEVerifier{Service: s, RequestorID: SampleCloudRequestor, Zone: m, Rand: v.p.rand}, nil
}

func (v cloudIDV) VerifyPasscode(ctx context.Context, correlationID, p string, block []byte) error {
	iv, err := v.verifier()
	if err != nil {
		return err
	}
	return iv.VerifyPasscode(ctx, correlationID, p, block)
}

func (v cloudIDV) Begin(ctx context.Context, correlationID, p, expiry, securityCode, deviceID string) ([]string, error) {
	iv, err := v.verifier()
	if err != nil {
		return nil, err
	}
	return iv.Begin(ctx, correlationID, p, expiry, securityCode, deviceID)
}

func (v cloudIDV) SendOTP(ctx context.Context, correlationID, method string) (string, error) {
	iv, err := v.verifier()
	if err != nil {
		return "", err
	}
	return iv.SendOTP(ctx, correlationID, method)
}

func (v cloudIDV) VerifyOTP(ctx context.Context, correlationID, otp string) error {
	iv, err := v.verifier()
	if err != nil {
		return err
	}
	return iv.VerifyOTP(ctx, correlationID, otp)
}

// cloudKeys loads the platform's keys into the issuer's module where they
// are missing: the cloud IMKs and the data key the card data is sealed
// under.
func cloudKeys(m *soft.HSM) error {
	if _, err := issuerKey(m, CloudIMKLabel, hsm.UsageIMKAC, keys.MustHex(keys.TDES, CloudIMK)); err != nil {
		return fmt.Errorf("cloud IMK: %w", err)
	}
	if _, err := issuerKey(m, CloudIMKLabel+authz.UMDKeySuffix, hsm.UsageIMKAC, keys.MustHex(keys.TDES, CloudUMDIMK)); err != nil {
		return fmt.Errorf("cloud UMD IMK: %w", err)
	}
	// Generated where missing, without asking the module for a key it
	// lacks (which it logs as a refusal).
	have, err := labels(m)
	if err != nil {
		return fmt.Errorf("cloud data key: %w", err)
	}
	if !have[cloudsvc.DefaultDEKLabel] {
		if _, err := m.GenerateKey(cloudsvc.DefaultDEKLabel, hsm.UsageDEK, keys.AES, 32); err != nil {
			return fmt.Errorf("cloud data key: %w", err)
		}
	}
	if !have[idv.DefaultOTPKeyLabel] {
		// The issuer's OTP key, which its ID&V makes otherwise.
		if _, err := m.GenerateKey(idv.DefaultOTPKeyLabel, hsm.UsageDataHash, keys.AES, 32); err != nil {
			return fmt.Errorf("OTP key: %w", err)
		}
	}
	return nil
}

// startCloud starts the world's cloud platform on loopback (its TLS
// certificate from the provisioning services' CA) and enrols the sample
// HCE phone through it.
func (n *Network) startCloud(ctx context.Context, p *Provisioning) error {
	m, err := cloudHSM{n}.cur()
	if err != nil {
		return err
	}
	if err := cloudKeys(m); err != nil {
		return fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	// The platform's signing and key-agreement keys are generated and kept
	// in the issuer's security module, which operates the platform (R-S5a).
	me, err := wire.HSMParty(PartyCloud, wire.ModuleFunc(p.issuerModule), CloudPartyKeys)
	if err != nil {
		return err
	}
	cfg := cloudsvc.Config{
		Me: me, HSM: cloudHSM{n}, Verifier: cloudIDV{p}, Ledger: n.ledger,
		MinReplenishInterval: sampleReplenishInterval, CardReaders: []string{staffServiceCentre},
		Clock: p.clock, Rand: p.rand, Log: p.opts.Logger.With("host", PartyCloud),
	}
	if !n.cloudMemory {
		// Its state in the issuer's database, as an issuer run on its own
		// keeps it (CloudStore), and the envelopes it accepted too.
		cfg.Store = CloudStore{DB: worldDB{n}, Clock: p.clock}
		cfg.Replay = &serviceReplay{db: issuerDB(p.side)}
	}
	svc, err := cloudsvc.New(cfg)
	if err != nil {
		return err
	}
	now := time.Now()
	id, err := p.ca.Issue(p.rand, PartyCloud, []string{PartyCloud, "localhost", "127.0.0.1"}, now, 24*time.Hour)
	if err != nil {
		return fmt.Errorf("cloud platform: %w", err)
	}
	p.ids[PartyCloud] = id
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cloud platform: %w", err)
	}
	c := &Cloud{Addr: ln.Addr().String(), n: n, p: p, svc: svc, me: me, ledger: n.ledger, clock: p.clock, rand: p.rand}
	if err := p.serve(svc.Handler(), PartyCloud, ln); err != nil {
		return err
	}
	n.mu.Lock()
	n.cloud = c
	n.mu.Unlock()
	return n.enrolSampleHCE(ctx, c)
}

// Cloud is the world's HCE cloud platform.
func (n *Network) Cloud() *Cloud {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cloud
}

// SampleHCE is the world's HCE phone, enrolled with the cloud platform
// when the world was created.
func (n *Network) SampleHCE() SampleHCE {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hce
}

// Service is the platform itself, for its staff operations (ReportLost,
// ReadCard, Bindings).
func (c *Cloud) Service() *cloudsvc.Service { return c.svc }

// Ledger is the issuer's ledger of the keys the platform issued.
func (c *Cloud) Ledger() *issuercloud.Ledger { return c.ledger }

// NewApp makes the issuer's HCE app on a new phone of hardware device ID
// deviceID: its own device keys, trusting the platform only, talking to
// it over mutual TLS.
func (c *Cloud) NewApp(deviceID string) (*hceapp.App, error) {
	cl, err := c.p.client(partyPhone)
	if err != nil {
		return nil, err
	}
	return hceapp.New(hceapp.Config{DeviceID: deviceID, Platform: c.me.Public(), URL: "https://" + c.Addr,
		Client: cl, Rand: c.rand, Clock: c.clock})
}

// RequestID is a new registration request ID.
func (c *Cloud) RequestID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return fmt.Sprintf("reg-%06d", c.seq)
}

// yymm turns an expiry of the store or a profile (YYMM or YYYY-MM) into
// YYMM.
func yymm(s string) string {
	if len(s) == 7 && s[4] == '-' {
		return s[2:4] + s[5:]
	}
	return s
}

// AddCardAccount enrols the issuer's card of PAN fundingPAN on the
// platform under ref, its phones to present cloudPAN (expiry cloudExpiry,
// YYMM), and records cloudPAN at the issuer as a token of that card, of
// the visa-cloud model (the token ID is ref), replacing a token of that ID
// of another model. An account already on the platform is kept (another
// phone enrols on it). It returns the funding card as its holder types it.
func (c *Cloud) AddCardAccount(ctx context.Context, ref, fundingPAN, cloudPAN, cloudExpiry, psn string) (FundingCard, error) {
	return c.addCardAccount(ctx, ref, fundingPAN, cloudPAN, cloudExpiry, psn, wire.HCECVNVisaCloud)
}

// addCardAccount is AddCardAccount of the cloud model cvn
// (wire.HCECVNVisaCloud or wire.HCECVNMCCloud).
func (c *Cloud) addCardAccount(ctx context.Context, ref, fundingPAN, cloudPAN, cloudExpiry, psn, cvn string) (FundingCard, error) {
	fc, err := fundingCard(ctx, c.n, fundingPAN)
	if err != nil {
		return FundingCard{}, fmt.Errorf("funding card: %w", err)
	}
	iss := c.n.Issuer()
	if iss == nil {
		return FundingCard{}, ErrIssuerDown
	}
	if err := enrolCloudCard(ctx, c.svc, iss.Store(), store.Card{ID: fc.CardID, PAN: fc.Card.PAN, Expiry: fc.Card.Expiry},
		ref, cloudPAN, cloudExpiry, psn, cvn); err != nil {
		return FundingCard{}, err
	}
	return fc, nil
}

// Enrol enrols app for card account ref: registration with the card's
// security code, the OTP read from the cardholder's inbox at contact, and
// the download.
func (c *Cloud) Enrol(ctx context.Context, app *hceapp.App, ref, securityCode, contact string) (*hceapp.Card, error) {
	return c.enrol(ctx, app, ref, securityCode, "", contact)
}

// enrol is Enrol with the mobile PIN of an mc-cloud card ("" for none).
func (c *Cloud) enrol(ctx context.Context, app *hceapp.App, ref, securityCode, mobilePIN, contact string) (*hceapp.Card, error) {
	return app.Enrol(ctx, c.RequestID(), ref, securityCode, mobilePIN, func(ctx context.Context, _ wire.HCERegisterResult) (string, error) {
		otp, ok, err := c.p.LastOTP(ctx, contact)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errors.New("no one-time password in the cardholder's inbox")
		}
		return otp, nil
	})
}

// SampleHCEMobilePIN is the mobile PIN the cardholder of the world's
// mc-cloud phone (SampleHCEMCProfile) set at registration and types at
// each tap, unlocking the phone's UMD key: the profile's mobile_pin.
const SampleHCEMobilePIN = "4827"

// SampleHCEMCProfile is the built-in profile of the world's mc-cloud HCE
// phone, enrolled with the cloud platform at start like SampleHCEProfile.
const SampleHCEMCProfile = sampleHCEMCProfile

// enrolSampleHCE enrols the sample HCE phones: for each, its card account
// on the platform, the phone's app registered and its card downloaded.
func (n *Network) enrolSampleHCE(ctx context.Context, c *Cloud) error {
	h, err := c.enrolSample(ctx, SampleHCEProfile, "")
	if err != nil {
		return err
	}
	mc, err := c.enrolSample(ctx, SampleHCEMCProfile, SampleHCEMobilePIN)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.hce, n.hceMC = h, mc
	n.mu.Unlock()
	return nil
}

// enrolSample enrols the phone of sample profile name (its device, its
// token as the card account's cloud number, funded by the token's card);
// mobilePIN is the mobile PIN of an mc-cloud card, "" for a visa-cloud
// one.
func (c *Cloud) enrolSample(ctx context.Context, name, mobilePIN string) (SampleHCE, error) {
	prof, err := cards.Builtin(name)
	if err != nil {
		return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	if prof.App == nil || prof.App.Token == nil || prof.Phone == nil || len(prof.Phone.DeviceID) == 0 {
		return SampleHCE{}, fmt.Errorf("%w: profile %s names no funding card or device", errSampleHCE, name)
	}
	ref := prof.Name
	cvn := wire.HCECVNVisaCloud
	if mobilePIN != "" {
		cvn = wire.HCECVNMCCloud
	}
	fc, err := c.addCardAccount(ctx, ref, prof.App.Token.FundingPAN, prof.App.PAN, yymm(prof.App.Expiry), prof.App.PSN, cvn)
	if err != nil {
		return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	device := deviceID(prof)
	app, card, err := c.restoreSample(ctx, name, ref, prof)
	if err != nil {
		return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	if app == nil {
		if app, err = c.NewApp(device); err != nil {
			return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
		}
		if card, err = c.enrol(ctx, app, ref, fc.Card.SecurityCode, mobilePIN, fc.Phone); err != nil {
			return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
		}
		if err := c.saveSample(name, app); err != nil {
			return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
		}
	}
	h := SampleHCE{App: app, Card: card, Ref: ref, DeviceID: device, Masked: pan.Mask(card.Profile().AccountNumber),
		backup: card.Copy(), profile: prof, mobilePIN: mobilePIN}
	if h.Phone, err = h.phone(card, c.clock, c.rand); err != nil {
		return SampleHCE{}, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	return h, nil
}

// sampleFile is the storage of the world's sample HCE phone of profile
// name, beside the issuer's data; "" when the platform lives in memory.
func (c *Cloud) sampleFile(name string) string {
	if c.n.cloudMemory {
		return ""
	}
	return HCEPhoneFile(filepath.Join(c.n.dir, "issuer"), name)
}

// restoreSample brings back the world's sample phone of profile name from
// its storage, when the world keeps one: the app with its device keys
// talking to this run's platform, its card with the keys it had left;
// keys past their time to live are dropped and the phone replenishes when
// low. nil when there is none.
func (c *Cloud) restoreSample(ctx context.Context, name, ref string, prof cards.Profile) (*hceapp.App, *hceapp.Card, error) {
	path := c.sampleFile(name)
	if path == "" {
		return nil, nil, nil
	}
	b, err := readBoundedFile(path, hceapp.MaxStorage)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.p.client(partyPhone)
	if err != nil {
		return nil, nil, err
	}
	app, err := hceapp.Restore(hceapp.Config{DeviceID: deviceID(prof), Platform: c.me.Public(), URL: "https://" + c.Addr,
		Client: cl, Rand: c.rand, Clock: c.clock}, b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	card, ok := app.Card(ref)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), hceapp.ErrUnknownCard)
	}
	low := 0
	if prof.Phone != nil {
		low = prof.Phone.LowWater
	}
	if _, err := app.ReplenishIfLow(ctx, ref, low); err != nil {
		return nil, nil, fmt.Errorf("replenish: %w", err)
	}
	return app, card, nil
}

// saveSample writes the storage of the world's sample phone of profile
// name, when the world keeps one.
func (c *Cloud) saveSample(name string, app *hceapp.App) error {
	path := c.sampleFile(name)
	if path == "" || app == nil {
		return nil
	}
	b, err := app.Save()
	if err != nil {
		return err
	}
	return writePrivate(path, b)
}

// saveSampleHCE writes the storage of the world's sample HCE phones, with
// the keys they have left.
func (n *Network) saveSampleHCE() error {
	c := n.Cloud()
	if c == nil {
		return nil
	}
	n.mu.Lock()
	hs := []SampleHCE{n.hce, n.hceMC}
	n.mu.Unlock()
	var errs []error
	for _, h := range hs {
		if h.App != nil {
			errs = append(errs, c.saveSample(h.profile.Name, h.App))
		}
	}
	return errors.Join(errs...)
}

// phone is a phone of h's profile paying with card (h's or a copy).
func (h SampleHCE) phone(card *hceapp.Card, now func() time.Time, rnd io.Reader) (cards.Card, error) {
	if h.mobilePIN == "" {
		return HCEPhone(h.profile, card, now, rnd)
	}
	pin := h.mobilePIN
	return hcePhone(h.profile, card, func() string { return pin }, "", now, rnd)
}

// sampleHCE is the world's HCE phone of profile name (SampleHCEProfile or
// SampleHCEMCProfile), when the world enrolled it.
func (n *Network) sampleHCE(name string) (SampleHCE, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hce
	if name == SampleHCEMCProfile {
		h = n.hceMC
	} else if name != SampleHCEProfile {
		return SampleHCE{}, false
	}
	return h, h.Phone != nil
}

// SampleHCEOf is the world's HCE phone of profile name: SampleHCE for
// SampleHCEProfile, the mc-cloud phone for SampleHCEMCProfile.
func (n *Network) SampleHCEOf(name string) (SampleHCE, bool) { return n.sampleHCE(name) }

// HCEPhone builds the HCE phone of profile p (its passcode, CDCVM rules
// and token requestor) paying with card, a card an HCE app downloaded:
// the phone verifies its holder before every tap and counts the card's
// keys (R-S2e, R-S5b). Its clock is now.
func HCEPhone(p cards.Profile, card *hceapp.Card, now func() time.Time, rnd io.Reader) (cards.Card, error) {
	return hcePhone(p, card, nil, "", now, rnd)
}

// hcePhone is HCEPhone with pin, the mobile PIN typed at each tap of an
// mc-cloud card (nil: the profile's mobile_pin; the card also signs with
// CDA, its ICC key certified under the test CA as p's ODA settings name
// it), and last4, the funding card's
// last 4 digits the phone shows (9F25; "" keeps the profile's).
func hcePhone(p cards.Profile, card *hceapp.Card, pin func() string, last4 string, now func() time.Time, rnd io.Reader) (cards.Card, error) {
	// The cloud platform is the token's requestor (9F19).
	ph, err := cards.HCEPhone(p, card, cards.HCEPhoneOptions{MobilePIN: pin, RequestorID: SampleCloudRequestor,
		PANLast4: last4, Clock: now, Rand: rnd})
	if err != nil {
		return nil, fmt.Errorf("hce phone: %w", err)
	}
	ph.CardOn()
	return ph, nil
}

// RestoredCard is the card or phone of Profile(name) as a backup would
// bring it back: for the world's HCE phone, a phone on a copy of the card
// as it was downloaded (its first keys, which the issuer refuses once the
// phone spent them, R-S5b); for any other, the card built from its
// profile (Card).
func (n *Network) RestoredCard(name string, now time.Time) (cards.Card, error) {
	if h, ok := n.sampleHCE(name); ok {
		return h.phone(h.backup.Copy(), func() time.Time { return now }, n.Cloud().rand)
	}
	return Card(name, now)
}

// replenishSampleHCE asks the platform for a batch for the world's HCE
// phone when it holds its low-water mark of keys or fewer; it returns the
// number of keys loaded.
func (n *Network) replenishSampleHCE(ctx context.Context, h SampleHCE) (int, error) {
	low := 0
	if h.profile.Phone != nil {
		low = h.profile.Phone.LowWater
	}
	if !h.Card.NeedsReplenish(low) {
		return 0, nil
	}
	before := h.Card.KeysLeft()
	left, err := h.App.Replenish(ctx, h.Ref)
	if err != nil {
		return 0, fmt.Errorf("replenish: %w", err)
	}
	if err := n.saveSampleHCE(); err != nil {
		return 0, fmt.Errorf("phone storage: %w", err)
	}
	return left - before, nil
}

// reportSampleHCELost reports the world's HCE phone lost at the cloud
// platform: its binding and every key issued to it are suspended at once;
// the account's other phones go on (R-C1, R-S5d).
func (n *Network) reportSampleHCELost(ctx context.Context, h SampleHCE) (string, error) {
	c := n.Cloud()
	b, err := c.svc.ReportLost(staffServiceCentre, h.Ref, h.DeviceID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("device %s: cloud binding of %s %s, its %d keys refused from now on", b.DeviceID, h.Ref,
		strings.ToLower(string(b.Status)), h.Card.KeysLeft()), nil
}

// Tap unlocks phone with passcode (none when empty) and taps it on the
// world's terminal for a sale of amount minor units; it returns the
// issuer's answer and decline reason.
func (c *Cloud) Tap(ctx context.Context, phone cards.Card, passcode string, amount int64) (isospec.ResponseCode, isospec.DeclineReason, error) {
	if passcode != "" {
		ph, ok := cards.Phone(phone)
		if !ok {
			return "", "", errors.New("not a phone")
		}
		if err := ph.Unlock(passcode); err != nil {
			return "", "", err
		}
	}
	term, err := c.p.terminal()
	if err != nil {
		return "", "", err
	}
	res, err := term.Sale(ctx, amount, inproc.New(phone))
	if err != nil {
		return "", "", err
	}
	return res.ResponseCode, res.DeclineReason, nil
}
