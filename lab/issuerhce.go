package lab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire"
)

// An issuer run on its own ("tapsim issuer", "tapsim issuer init") enrols
// the sample HCE phones with its own cloud platform when it creates its
// sample data, as the embedded world does at each start: the phone's HCE
// app registers with its device keys, the cardholder answers the OTP in
// the issuer's message centre, the phone downloads its card and
// limited-use keys. The phone's storage (hceapp.App.Save) is kept in the
// issuer's data directory, so that "tapsim terminal --card hce-phone" and
// "tapsim card serve --profile hce-phone" on that directory pay with it.

// CloudKeysFile is the file in the issuer's data directory that holds the
// public keys of the issuer's cloud platform (a wire trust list of one
// party), which its phones trust; the private keys never leave the
// issuer's security module.
const CloudKeysFile = "cloud-platform.pub.json"

// SampleHCEProfiles are the built-in profiles of the sample HCE phones.
var SampleHCEProfiles = []string{SampleHCEProfile, SampleHCEMCProfile}

// IsSampleHCE reports whether name is a sample HCE phone's profile, a
// phone an issuer enrols with its cloud platform.
func IsSampleHCE(name string) bool { return slices.Contains(SampleHCEProfiles, name) }

// ErrNoHCEPhone reports a data directory that holds no phone of a sample
// HCE profile.
var ErrNoHCEPhone = errors.New("no enrolled HCE phone")

// IssuerCloudParty is the issuer's cloud platform's JOSE keys (ES256
// signing, ECDH-ES key agreement), generated in r's security module on
// first use and found there again after (R-S5a, R-G5a): the same keys as
// the embedded world's platform.
func IssuerCloudParty(r *Issuer) (*wire.Party, error) {
	if r == nil || r.HSM == nil {
		return nil, ErrIssuerDown
	}
	// Generated where missing first, so that the module is never asked
	// for a key it lacks (which it logs as a refusal).
	have, err := labels(r.HSM)
	if err != nil {
		return nil, err
	}
	for _, k := range []struct {
		label string
		usage hsm.Usage
	}{{CloudPartyKeys + wire.HSMLabelSign, hsm.UsageECSign}, {CloudPartyKeys + wire.HSMLabelEnc, hsm.UsageECDH}} {
		if !have[k.label] {
			if _, _, err := r.HSM.GenerateP256(k.label, k.usage); err != nil {
				return nil, fmt.Errorf("cloud platform keys: %w", err)
			}
		}
	}
	return wire.HSMParty(PartyCloud, r.HSM, CloudPartyKeys)
}

// labels are the labels of the keys in m.
func labels(m hsm.KeyManager) (map[string]bool, error) {
	all, err := m.List()
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(all))
	for _, h := range all {
		out[h.Label] = true
	}
	return out, nil
}

// PublishCloudKeys writes the public keys of r's cloud platform to
// dir/CloudKeysFile (mode 0600, as every file of the issuer's data), for
// the phones that enrol with it from another process.
func PublishCloudKeys(r *Issuer, dir string) (wire.PublicKeys, error) {
	me, err := IssuerCloudParty(r)
	if err != nil {
		return wire.PublicKeys{}, fmt.Errorf("cloud platform keys: %w", err)
	}
	tl, err := wire.NewTrustList(me.Public())
	if err != nil {
		return wire.PublicKeys{}, err
	}
	b, err := tl.MarshalJSON()
	if err != nil {
		return wire.PublicKeys{}, err
	}
	if err := writePrivate(filepath.Join(dir, CloudKeysFile), append(b, '\n')); err != nil {
		return wire.PublicKeys{}, fmt.Errorf("cloud platform keys: %w", err)
	}
	return me.Public(), nil
}

// ReadCloudKeys reads the public keys of the cloud platform of the issuer
// whose data directory is dir (PublishCloudKeys).
func ReadCloudKeys(dir string) (wire.PublicKeys, error) {
	tl, err := wire.LoadTrustList(filepath.Join(dir, CloudKeysFile))
	if err != nil {
		return wire.PublicKeys{}, fmt.Errorf("%w: the cloud platform's public keys in %s (start tapsim issuer --data %s first): %w",
			ErrPKI, dir, dir, err)
	}
	p, ok := tl.Party(PartyCloud)
	if !ok {
		return wire.PublicKeys{}, fmt.Errorf("%w: %s names no %s", ErrPKI, CloudKeysFile, PartyCloud)
	}
	return p, nil
}

// HCEPhoneFile is the file of the phone of sample profile name in an
// issuer's data directory.
func HCEPhoneFile(dir, name string) string { return filepath.Join(dir, "phone-"+name+".json") }

// IssuerHCEOptions tune EnrolIssuerSampleHCE.
type IssuerHCEOptions struct {
	// Clock and Rand are the platform's and the phones' (time.Now and
	// crypto/rand when nil).
	Clock func() time.Time
	Rand  io.Reader
	// Logger receives the platform's events, masked; nil discards them.
	Logger *slog.Logger
}

// EnrolIssuerSampleHCE enrols the sample HCE phones (SampleHCEProfiles)
// with the cloud platform of the issuer r, whose data directory is dir,
// and keeps each phone's storage there; a phone whose storage is there
// already is left alone. The platform is r's (its state in r's database,
// its keys in r's module), served for the enrolment on loopback HTTPS
// with mutual TLS under a test CA of this call only. It returns the
// phones it enrolled, masked.
func EnrolIssuerSampleHCE(ctx context.Context, r *Issuer, dir string, o IssuerHCEOptions) ([]string, error) {
	var todo []string
	for _, name := range SampleHCEProfiles {
		if _, err := os.Stat(HCEPhoneFile(dir, name)); errors.Is(err, fs.ErrNotExist) {
			todo = append(todo, name)
		} else if err != nil {
			return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	logger, clock, rnd := o.Logger, o.Clock, o.Rand
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	if err := cloudKeys(r.HSM); err != nil {
		return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	me, err := IssuerCloudParty(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	ledger, err := OpenCloudLedger(r, clock)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	side, err := loadIssuerSide(r, clock, rnd, logger)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	svc, err := newIssuerCloud(r, side.idv, me, ledger, clock, rnd, logger)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	// The platform on loopback for the enrolment, under a CA of this call;
	// TLS checks its certificates on the real time, whatever the
	// platform's clock.
	now := time.Now()
	ca, err := tlsconf.NewCA(rnd, "tapsim issuer enrolment CA", now, time.Hour)
	if err != nil {
		return nil, err
	}
	srvID, err := ca.Issue(rnd, PartyCloud, []string{PartyCloud, "localhost", "127.0.0.1"}, now, time.Hour)
	if err != nil {
		return nil, err
	}
	phoneID, err := ca.Issue(rnd, PartyPhone, []string{PartyPhone}, now, time.Hour)
	if err != nil {
		return nil, err
	}
	srvCfg, err := tlsconf.Server(srvID.TLSCertificate(), ca.Pool())
	if err != nil {
		return nil, err
	}
	srv, err := wire.NewServer(svc.Handler(), srvCfg, wire.Limits{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSampleHCE, err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	defer func() { _ = srv.Close(); <-done }()
	cliCfg, err := tlsconf.Client(phoneID.TLSCertificate(), ca.Pool(), "")
	if err != nil {
		return nil, err
	}
	cl, err := wire.NewClient(cliCfg, wire.ClientLimits{Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	defer cl.CloseIdleConnections()

	var out []string
	for _, name := range todo {
		prof, err := cards.Builtin(name)
		if err != nil {
			return out, fmt.Errorf("%w: %w", errSampleHCE, err)
		}
		if prof.App == nil || prof.App.Token == nil || prof.Phone == nil || len(prof.Phone.DeviceID) == 0 {
			return out, fmt.Errorf("%w: profile %s names no funding card or device", errSampleHCE, name)
		}
		cvn, pin := wire.HCECVNVisaCloud, ""
		if name == SampleHCEMCProfile {
			cvn, pin = wire.HCECVNMCCloud, SampleHCEMobilePIN
		}
		fc, err := issuerFundingCard(ctx, r, prof.App.Token.FundingPAN)
		if err != nil {
			return out, fmt.Errorf("%w: %s: funding card: %w", errSampleHCE, name, err)
		}
		if err := enrolCloudCard(ctx, svc, r.DB, store.Card{ID: fc.CardID, PAN: fc.Card.PAN, Expiry: fc.Card.Expiry},
			prof.Name, prof.App.PAN, yymm(prof.App.Expiry), prof.App.PSN, cvn); err != nil {
			return out, fmt.Errorf("%w: %s: %w", errSampleHCE, name, err)
		}
		app, err := hceapp.New(hceapp.Config{DeviceID: deviceID(prof), Platform: me.Public(), URL: "https://" + ln.Addr().String(),
			Client: cl, Rand: rnd, Clock: clock})
		if err != nil {
			return out, fmt.Errorf("%w: %s: %w", errSampleHCE, name, err)
		}
		card, err := app.Enrol(ctx, "reg-"+deviceID(prof), prof.Name, fc.Card.SecurityCode, pin,
			func(ctx context.Context, _ wire.HCERegisterResult) (string, error) {
				ms, err := side.idv.Inbox(ctx, fc.Phone)
				if err != nil {
					return "", err
				}
				for i := len(ms) - 1; i >= 0; i-- {
					if m := otpRE.FindStringSubmatch(ms[i].Body); ms[i].Kind == "otp" && m != nil {
						return m[1], nil
					}
				}
				return "", errors.New("no one-time password in the cardholder's inbox")
			})
		if err != nil {
			return out, fmt.Errorf("%w: %s: %w", errSampleHCE, name, err)
		}
		b, err := app.Save()
		if err != nil {
			return out, fmt.Errorf("%w: %s: %w", errSampleHCE, name, err)
		}
		if err := writePrivate(HCEPhoneFile(dir, name), b); err != nil {
			return out, fmt.Errorf("%w: %s: %w", errSampleHCE, name, err)
		}
		out = append(out, fmt.Sprintf("%s: device %s, %s, %d limited-use keys", name, app.DeviceID(), card, card.KeysLeft()))
	}
	return out, nil
}

// issuerFundingCard reads r's card of PAN number as its holder would type
// it.
func issuerFundingCard(ctx context.Context, r *Issuer, number string) (FundingCard, error) {
	if r == nil || r.HSM == nil {
		return FundingCard{}, ErrIssuerDown
	}
	return fundingCardAt(ctx, r, number)
}

// IssuerHCEPhone is a sample HCE phone kept in an issuer's data directory
// (EnrolIssuerSampleHCE): the phone that pays with its card, and Save,
// which writes the phone's storage back (the keys it spent are gone from
// it, R-S5b).
type IssuerHCEPhone struct {
	// Phone is the HCE phone.
	Phone cards.Card
	// Card is the card on it.
	Card *hceapp.Card
	app  *hceapp.App
	path string
}

// OpenIssuerHCEPhone opens the phone of sample HCE profile name (one of
// SampleHCEProfiles) kept in the issuer's data directory dir; its clock is
// now. A directory without it gives ErrNoHCEPhone.
func OpenIssuerHCEPhone(dir, name string, now func() time.Time, rnd io.Reader) (*IssuerHCEPhone, error) {
	prof, err := cards.Builtin(name)
	if err != nil || prof.FormFactor != cards.FormHCEPhone {
		return nil, fmt.Errorf("%s is not a sample HCE phone", name)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	if now == nil {
		now = time.Now
	}
	path := HCEPhoneFile(dir, name)
	b, err := readBoundedFile(path, hceapp.MaxStorage)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s (an issuer enrols it with its cloud platform when it creates its data: "+
			"tapsim issuer init --data on a new directory)", ErrNoHCEPhone, name, dir)
	}
	if err != nil {
		return nil, err
	}
	app, err := hceapp.Restore(hceapp.Config{Clock: now, Rand: rnd}, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	card, ok := app.Card(prof.Name)
	if !ok {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), hceapp.ErrUnknownCard)
	}
	h := SampleHCE{profile: prof}
	if name == SampleHCEMCProfile {
		h.mobilePIN = SampleHCEMobilePIN
	}
	ph, err := h.phone(card, now, rnd)
	if err != nil {
		return nil, err
	}
	return &IssuerHCEPhone{Phone: ph, Card: card, app: app, path: path}, nil
}

// Save writes the phone's storage back to the data directory.
func (p *IssuerHCEPhone) Save() error {
	b, err := p.app.Save()
	if err != nil {
		return err
	}
	return writePrivate(p.path, b)
}

// writePrivate writes b to path (mode 0600) through a temporary file
// renamed over it, so that a crash leaves the old file or the new one.
func writePrivate(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readBoundedFile reads path, refusing one longer than limit bytes.
func readBoundedFile(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s: longer than %d bytes", filepath.Base(path), limit)
	}
	return b, nil
}

// ReplenishIssuerHCEPhone asks the cloud platform at cloudURL (the running
// issuer's --provisioning-listen, mutual TLS with the phones' certificate
// of pki) for keys for the sample HCE phone name kept in the issuer's data
// directory dir, signed with the phone's device key and reporting the keys
// it spent, and writes its storage back. It returns the keys left before
// and after.
func ReplenishIssuerHCEPhone(ctx context.Context, dir, name, cloudURL string, pki ProvisioningPKI) (int, int, error) {
	p, err := OpenIssuerHCEPhone(dir, name, nil, nil)
	if err != nil {
		return 0, 0, err
	}
	cl, err := pki.Client(PartyPhone, time.Now())
	if err != nil {
		return 0, 0, err
	}
	defer cl.CloseIdleConnections()
	b, err := readBoundedFile(p.path, hceapp.MaxStorage)
	if err != nil {
		return 0, 0, err
	}
	app, err := hceapp.Restore(hceapp.Config{URL: cloudURL, Client: cl}, b)
	if err != nil {
		return 0, 0, err
	}
	card, ok := app.Card(name)
	if !ok {
		return 0, 0, hceapp.ErrUnknownCard
	}
	before := card.KeysLeft()
	after, err := app.Replenish(ctx, name)
	if err != nil {
		return before, before, err
	}
	p.app = app
	if err := p.Save(); err != nil {
		return before, after, err
	}
	return before, after, nil
}
