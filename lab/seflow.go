package lab

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/otaagent"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// Names of the SE personalisation parties (JOSE and TLS).
const (
	PartySPTSM    = "sp-tsm"
	PartySETSM    = "se-tsm"
	PartySEOTA    = "se-tsm-ota"
	PartySEIssuer = "se-issuer"
	PartySEPhone  = "se-phone"
	// SEPhonePasscode unlocks the phones SE flows make.
	SEPhonePasscode = "2468"
	// SamplePhoneNumber is the cardholder's registered phone number.
	SamplePhoneNumber = "+886912345678"
)

// SEPlatform is the over-the-air SE personalisation path on loopback: the
// issuer's side, the SP TSM, and the SE TSM with its back-office and OTA
// listeners apart (R-S4b), all over mutual TLS with an in-memory test CA.
type SEPlatform struct {
	now     func() time.Time
	rand    io.Reader
	ca      *tlsconf.Authority
	ids     map[string]*tlsconf.Identity
	issuer  *wire.Party
	spParty *wire.Party
	seParty *wire.Party
	vault   *soft.HSM // the SE TSM's module
	spHSM   *soft.HSM // the SP TSM's module
	SP      *tsm.SPTSM
	SE      *tsm.SETSM
	spURL   string
	otaURL  string
	servers []*http.Server
	issuerC *wire.Client
	phoneC  *wire.Client
	spC     *wire.Client
	seC     *wire.Client
	// seCA certifies the SEs' key-agreement keys at manufacture; the SP
	// TSM trusts it.
	seCA *ecdsa.PrivateKey

	// initial are the SSD key sets the SE TSM created, by SEID: the
	// operator's copy, to show that after the issuer's rotation they open
	// nothing (R-M2).
	initialMu sync.Mutex
	initial   map[string]tsm.Keys

	// Messages, when set, is the issuer's ID&V and message centre: the
	// issuer opens an ID&V attempt per order and sends the one-time code
	// by SMS to the card's registered phone, and the SP TSM has it check
	// the code the cardholder types at download (R-S3c, R-G3c). Without
	// it, a simpler model: the issuer hands a code to the cardholder
	// directly and checks it for the SP TSM itself (codes); nothing of
	// the code goes to either TSM.
	Messages MessageCentre

	mu  sync.Mutex
	seq int
	// codes are the simpler model's codes waiting, by order, with the
	// wrong tries counted.
	codes map[string]*standInCode
}

// standInCode is a code of the simpler model and its wrong tries.
type standInCode struct {
	code  string
	wrong int
}

// standInTries is the simpler model's limit of wrong codes per order.
const standInTries = 3

// MessageCentre is the issuer's side of the cardholder verification at
// download: its ID&V (issuerhost/idv) and its message centre, where the
// cardholder reads the code.
type MessageCentre interface {
	// BeginOTP opens the ID&V attempt correlationID for the card of the
	// se-phone profile on device and sends its one-time code by SMS to
	// the card's registered phone, whose number it returns.
	BeginOTP(ctx context.Context, correlationID, profile, device string) (string, error)
	// VerifyOTP checks a code typed for the attempt: a refusal is a
	// *wire.Refusal with the ID&V's reason and tries left.
	VerifyOTP(ctx context.Context, correlationID, otp string) error
	// LastCode is the last code in recipient's inbox.
	LastCode(ctx context.Context, recipient string) (string, bool, error)
}

// IssuerMessages is the embedded issuer's ID&V and message centre, the
// ones the wallet flow's OTPs go through.
func IssuerMessages(n *Network) MessageCentre { return issuerMessages{n} }

type issuerMessages struct{ n *Network }

var seOTPRE = regexp.MustCompile(`\b([0-9]{6}) is your one-time password to put the card`)

func (m issuerMessages) idv() (*idv.Service, error) {
	p := m.n.Provisioning()
	if p == nil {
		return nil, ErrIssuerDown
	}
	s := p.IDV()
	if s == nil {
		return nil, ErrIssuerDown
	}
	return s, nil
}

func (m issuerMessages) BeginOTP(ctx context.Context, correlationID, profile, device string) (string, error) {
	s, err := m.idv()
	if err != nil {
		return "", err
	}
	cardID, err := seCardID(ctx, m.n, profile)
	if err != nil {
		return "", err
	}
	if _, err := s.BeginSE(ctx, correlationID, cardID, device); err != nil {
		return "", idvRefusal(err)
	}
	res, err := s.SendOTP(ctx, correlationID, "sms")
	if err != nil {
		return "", idvRefusal(err)
	}
	phone, _ := issuerhost.SampleContact(cardID)
	_ = res
	return phone, nil
}

// seCardID is the issuer's card ID of an se-phone profile's card.
func seCardID(ctx context.Context, n *Network, profile string) (string, error) {
	prof, err := Profile(profile)
	if err != nil || prof.App == nil {
		return "", fmt.Errorf("lab: %s has no card", profile)
	}
	is := n.Issuer()
	if is == nil {
		return "", ErrIssuerDown
	}
	var cardID string
	if err := is.Store().View(ctx, func(tx *store.Tx) error {
		c, err := tx.CardByPAN(ctx, prof.App.PAN)
		cardID = c.ID
		return err
	}); err != nil {
		return "", fmt.Errorf("lab: the issuer's card of %s: %w", profile, err)
	}
	return cardID, nil
}

// ResetSEProvisioning is the issuer's service centre unlocking the
// provisioning of an se-phone profile's card after too many wrong codes
// (R-G3c), once it verified the cardholder by other means.
func ResetSEProvisioning(ctx context.Context, n *Network, profile, operator string) error {
	s, err := issuerMessages{n}.idv()
	if err != nil {
		return err
	}
	cardID, err := seCardID(ctx, n, profile)
	if err != nil {
		return err
	}
	return s.ResetProvisioning(ctx, cardID, operator)
}

func (m issuerMessages) VerifyOTP(ctx context.Context, correlationID, otp string) error {
	s, err := m.idv()
	if err != nil {
		return err
	}
	if _, err := s.VerifyOTP(ctx, correlationID, otp); err != nil {
		return idvRefusal(err)
	}
	return nil
}

// idvRefusal is an ID&V refusal as the TSMs pass it on.
func idvRefusal(err error) error {
	var e *idv.Error
	if !errors.As(err, &e) {
		return err
	}
	r := wire.Refuse(e.Reason.HTTPStatus(), string(e.Reason), e.Message)
	r.TriesLeft = e.TriesLeft
	return r
}

func (m issuerMessages) LastCode(ctx context.Context, recipient string) (string, bool, error) {
	s, err := m.idv()
	if err != nil {
		return "", false, err
	}
	ms, err := s.Inbox(ctx, recipient)
	if err != nil {
		return "", false, err
	}
	code := ""
	for _, msg := range ms {
		if g := seOTPRE.FindStringSubmatch(msg.Body); g != nil {
			code = g[1]
		}
	}
	return code, code != "", nil
}

// VerifyOTP is the SP TSM's CardholderVerifier: the issuer's ID&V, through
// Messages.
func (p *SEPlatform) VerifyOTP(ctx context.Context, correlationID, otp string) error {
	if p.Messages != nil {
		return p.Messages.VerifyOTP(ctx, correlationID, otp)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.codes[correlationID]
	switch {
	case !ok:
		return wire.Refuse(http.StatusServiceUnavailable, tsm.ReasonNoVerifier, "no issuer ID&V attempt for this order")
	case subtle.ConstantTimeCompare([]byte(c.code), []byte(otp)) == 1:
		delete(p.codes, correlationID)
		return nil
	}
	if c.wrong++; c.wrong >= standInTries {
		delete(p.codes, correlationID)
		return wire.Refuse(http.StatusForbidden, tsm.ReasonIDVLocked, "too many wrong codes")
	}
	ref := wire.Refuse(http.StatusForbidden, tsm.ReasonOTPWrong, "the one-time code is wrong")
	ref.TriesLeft = standInTries - c.wrong
	return ref
}

// newSoftModule is a TSM's in-memory security module under a fresh LMK.
func newSoftModule(rnd io.Reader) (*soft.HSM, error) {
	lmk := make([]byte, 32)
	if _, err := io.ReadFull(rnd, lmk); err != nil {
		return nil, err
	}
	return soft.Open(soft.Config{LMK: keys.MustNew(keys.AES, lmk), Rand: rnd})
}

// StartSEPlatform starts the TSMs on loopback; now and rnd default to
// time.Now and crypto/rand.
func StartSEPlatform(now func() time.Time, rnd io.Reader, logger *slog.Logger) (_ *SEPlatform, err error) {
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	p := &SEPlatform{now: now, rand: rnd, ids: map[string]*tlsconf.Identity{}, initial: map[string]tsm.Keys{}, codes: map[string]*standInCode{}}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.ca, err = tlsconf.NewCA(rnd, "tapsim SE TSM test CA", now(), 24*time.Hour); err != nil {
		return nil, err
	}
	for _, n := range []string{PartySPTSM, PartySETSM, PartySEOTA, PartySEIssuer, PartySEPhone} {
		if p.ids[n], err = p.ca.Issue(rnd, n, []string{"127.0.0.1", "localhost"}, now(), 24*time.Hour); err != nil {
			return nil, err
		}
	}
	if p.issuer, err = wire.NewParty(PartySEIssuer, rnd); err != nil {
		return nil, err
	}
	if p.seCA, err = ecdsa.GenerateKey(elliptic.P256(), rnd); err != nil {
		return nil, err
	}
	// Each TSM has its own security module (R-S4a): the SE TSM's also
	// keeps the key the waiting scripts are sealed under; each TSM's JOSE
	// keys are generated and kept in its module.
	if p.vault, err = newSoftModule(rnd); err != nil {
		return nil, err
	}
	if p.spHSM, err = newSoftModule(rnd); err != nil {
		return nil, err
	}
	if p.spParty, err = wire.HSMParty(PartySPTSM, p.spHSM, "tsm/"+PartySPTSM); err != nil {
		return nil, err
	}
	if p.seParty, err = wire.HSMParty(PartySETSM, p.vault, "tsm/"+PartySETSM); err != nil {
		return nil, err
	}
	spTrust, err := wire.NewTrustList(p.issuer.Public(), p.seParty.Public())
	if err != nil {
		return nil, err
	}
	seTrust, err := wire.NewTrustList(p.issuer.Public(), p.spParty.Public())
	if err != nil {
		return nil, err
	}
	dek, err := p.vault.GenerateKey("se-tsm/isd-keys", hsm.UsageDEK, keys.AES, 32)
	if err != nil {
		return nil, err
	}
	spDEK, err := p.spHSM.GenerateKey("sp-tsm/scripts", hsm.UsageDEK, keys.AES, 32)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The listeners first: each TSM calls the other.
	boLn, bo, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	spLn, spURL, err := listenLoopback()
	if err != nil {
		_ = boLn.Close()
		return nil, err
	}
	p.spURL = spURL
	if p.seC, err = p.client(PartySETSM); err != nil {
		_, _ = boLn.Close(), spLn.Close()
		return nil, err
	}
	if p.SE, err = tsm.NewSETSM(tsm.SEConfig{Party: p.seParty, Trust: seTrust, SPTSMs: []string{PartySPTSM}, Issuers: []string{PartySEIssuer}, BackOfficePeers: []string{PartySPTSM},
		SPTSMURLs: map[string]string{PartySPTSM: spURL}, Client: p.seC, NewKeys: p.newInitialKeys,
		Vault: p.vault, DEK: dek, Now: now, Rand: rnd, Logger: logger.With("host", PartySETSM)}); err != nil {
		_, _ = boLn.Close(), spLn.Close()
		return nil, err
	}
	if err := p.serveOn(p.SE.BackOffice(), boLn, PartySETSM); err != nil {
		_ = spLn.Close()
		return nil, err
	}
	if p.otaURL, err = p.serve(p.SE.OTA(), PartySEOTA); err != nil {
		_ = spLn.Close()
		return nil, err
	}
	if p.spC, err = p.client(PartySPTSM); err != nil {
		_ = spLn.Close()
		return nil, err
	}
	if p.SP, err = tsm.NewSPTSM(tsm.SPConfig{Party: p.spParty, Trust: spTrust, Issuers: []string{PartySEIssuer}, Peers: []string{PartySEIssuer}, SETSMPeers: []string{PartySETSM},
		SETSM: PartySETSM, SETSMURL: bo, Client: p.spC, Verifier: p, SEAuthority: &p.seCA.PublicKey, Vault: p.spHSM, DEK: spDEK, Now: now, Rand: rnd, Logger: logger.With("host", PartySPTSM)}); err != nil {
		_ = spLn.Close()
		return nil, err
	}
	if err := p.serveOn(p.SP.Handler(), spLn, PartySPTSM); err != nil {
		return nil, err
	}
	if p.issuerC, err = p.client(PartySEIssuer); err != nil {
		return nil, err
	}
	if p.phoneC, err = p.client(PartySEPhone); err != nil {
		return nil, err
	}
	return p, nil
}

func listenLoopback() (net.Listener, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return ln, "https://" + ln.Addr().String(), nil
}

func (p *SEPlatform) serve(h http.Handler, name string) (string, error) {
	ln, url, err := listenLoopback()
	if err != nil {
		return "", err
	}
	return url, p.serveOn(h, ln, name)
}

// serveOn serves h on ln as name over mutual TLS; ln is closed on error.
func (p *SEPlatform) serveOn(h http.Handler, ln net.Listener, name string) error {
	cfg, err := tlsconf.Server(p.ids[name].TLSCertificate(), p.ca.Pool())
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv, err := tsm.Serve(h, ln, cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	p.servers = append(p.servers, srv)
	return nil
}

// newInitialKeys is the SE TSM's key generation for the SSDs it creates,
// of which the operator keeps a copy here.
func (p *SEPlatform) newInitialKeys(seid string) (scp03.StaticKeys, error) {
	ks, err := tsm.RandomKeys(p.rand)
	if err != nil {
		return ks, err
	}
	p.initialMu.Lock()
	p.initial[seid] = tsm.Keys{KVN: tsm.InitialKVN, Keys: ks}
	p.initialMu.Unlock()
	return ks, nil
}

// OperatorCopy is the initial SSD key set the SE TSM created on the SE
// seid, as a dishonest operator would have kept it.
func (p *SEPlatform) OperatorCopy(seid string) (tsm.Keys, bool) {
	p.initialMu.Lock()
	defer p.initialMu.Unlock()
	k, ok := p.initial[seid]
	return k, ok
}

func (p *SEPlatform) client(name string) (*wire.Client, error) {
	cfg, err := tlsconf.Client(p.ids[name].TLSCertificate(), p.ca.Pool(), "")
	if err != nil {
		return nil, err
	}
	return wire.NewClient(cfg, wire.ClientLimits{Timeout: 30 * time.Second})
}

// Close stops the services.
func (p *SEPlatform) Close() {
	for _, s := range p.servers {
		_ = s.Close()
	}
	if p.SE != nil {
		p.SE.Close()
	}
	if p.SP != nil {
		p.SP.Close()
	}
	for _, c := range []*wire.Client{p.issuerC, p.phoneC, p.spC, p.seC} {
		if c != nil {
			c.CloseIdleConnections()
		}
	}
	if p.spHSM != nil {
		_ = p.spHSM.Close()
	}
	if p.vault != nil {
		_ = p.vault.Close()
	}
}

// SEDevice is a phone with an empty secure element: its ISD keys (the SE
// owner's), its CPLC.
type SEDevice struct {
	ID      string
	Phone   *phone.Phone
	ISDKeys tsm.Keys
	SEID    string
	// Passcode unlocks the phone.
	Passcode string
}

func seKeySet(rnd io.Reader) (scp03.StaticKeys, error) {
	var ks [3]keys.Key
	for i := range ks {
		b := make([]byte, 16)
		if _, err := io.ReadFull(rnd, b); err != nil {
			return scp03.StaticKeys{}, err
		}
		ks[i] = keys.MustNew(keys.AES, b)
	}
	return scp03.StaticKeys{ENC: ks[0], MAC: ks[1], DEK: ks[2]}, nil
}

// NewSEDevice makes a phone whose SE has serial number serial; register
// has the SE operator register it for the device and SamplePhoneNumber
// (R-S3a).
func (p *SEPlatform) NewSEDevice(id string, serial uint32, register bool) (*SEDevice, error) {
	return p.newSEDevice(id, serial, register, phone.Config{Passcode: SEPhonePasscode})
}

// newSEDevice is NewSEDevice with the phone's settings cfg (kind, clock
// and random source set here).
func (p *SEPlatform) newSEDevice(id string, serial uint32, register bool, cfg phone.Config) (*SEDevice, error) {
	cfg.Kind, cfg.Clock, cfg.Rand = phone.SE, p.now, p.rand
	ph, err := phone.New(cfg)
	if err != nil {
		return nil, err
	}
	ph.CardOn()
	ks, err := seKeySet(p.rand)
	if err != nil {
		return nil, err
	}
	d := &SEDevice{ID: id, Phone: ph, ISDKeys: tsm.Keys{KVN: 1, Keys: ks}, Passcode: cfg.Passcode}
	if err := ph.SE().SetKeys(phone.ISDAID, 1, ks); err != nil {
		return nil, err
	}
	ph.SE().SetCPLC(gp.CPLC{ICFabricator: [2]byte{0x47, 0x90}, ICType: [2]byte{0x50, 0x40},
		ICSerial: [4]byte{byte(serial >> 24), byte(serial >> 16), byte(serial >> 8), byte(serial)}, ICBatch: [2]byte{0, 1}})
	if err := ph.SE().AddPaymentModule(emvapp.Env{Holder: ph.Holder(), Rand: p.rand}); err != nil {
		return nil, err
	}
	d.SEID = ph.SE().SEID()
	// The SE's key-agreement key pair, certified at manufacture.
	agree, err := ecdh.P256().GenerateKey(p.rand)
	if err != nil {
		return nil, err
	}
	cert, err := gp.SignSECert(p.seCA, d.SEID, agree.PublicKey(), p.rand)
	if err != nil {
		return nil, err
	}
	ph.SE().SetAgreementKey(agree, cert)
	if register {
		isd := d.ISDKeys
		if err := p.SE.Register(tsm.Binding{SEID: d.SEID, DeviceID: id, PhoneNumber: SamplePhoneNumber, ISDKeys: &isd}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// SERun is one over-the-air personalisation.
type SERun struct {
	// Profile is the se-phone sample (visa-se-phone, mc-se-phone).
	Profile string
	// Shared: the SE belongs to an SE operator that creates the SSD first
	// (R-M2); otherwise the issuer owns it (R-M1).
	Shared bool
	// NoConsent withholds the issuer's consent to a shared SE (R-S1).
	NoConsent bool
	// OTP is what the cardholder types; the code sent when empty.
	OTP string
	// WrongISDKeys makes the issuer's script use keys the SE does not
	// hold (a failing SCP03 cryptogram).
	WrongISDKeys bool
	// Agent, when set, adjusts the phone's OTA agent (tests, demo cases).
	Agent func(*otaagent.Agent)
	// AskOTP, when set with a message centre, asks the cardholder for the
	// code sent to recipient's inbox instead of reading it there;
	// triesLeft is -1 on the first ask, else the wrong codes the issuer
	// still accepts before it locks the card's provisioning. An error
	// ends the run.
	AskOTP func(ctx context.Context, recipient string, triesLeft int) (string, error)
	// Step receives one line per step of the flow, Trace one per OTA
	// command (gp.Describe and status word, never data).
	Step, Trace func(string)
}

// SEResult is how a run ended.
type SEResult struct {
	OrderID string
	// Outcome is tsm.ReasonPersonalised or the refusal's reason.
	Outcome string
	// Apps is the number of applications the phone offers afterwards.
	Apps int
	// Last is the agent's last OTA step.
	Last tsm.OTAStep
	// Agent is the agent used.
	Agent *otaagent.Agent
	// Recipient is the registered phone the issuer sent the one-time code
	// to.
	Recipient string
	// OperatorKeys is the initial SSD key set the SE operator's TSM
	// created (shared SE), as a dishonest operator would keep it.
	OperatorKeys *tsm.Keys
}

// oneTimeCode is the code the issuer sends the cardholder (R-S3c): through
// Messages when set, else handed over directly (a simpler model).
func (p *SEPlatform) oneTimeCode() (string, error) { return drawCode(p.rand) }

// drawCode is a 6-digit code from rnd.
func drawCode(rnd io.Reader) (string, error) {
	b := make([]byte, 4)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", err
	}
	n := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) % 1000000
	return fmt.Sprintf("%06d", n), nil
}

// Personalise runs the flow for d: data preparation at the issuer, the
// order to the SP TSM, the SE check and hand-over to the SE TSM, then the
// phone's agent relays the download. A refusal is a result with its
// reason, not an error.
func (p *SEPlatform) Personalise(ctx context.Context, d *SEDevice, r SERun) (SEResult, error) {
	step := func(format string, a ...any) {
		if r.Step != nil {
			r.Step(fmt.Sprintf(format, a...))
		}
	}
	prof, err := Profile(r.Profile)
	if err != nil {
		return SEResult{}, err
	}
	ps, err := cards.PrepareSE(prof, cards.Options{Clock: p.now, Rand: p.rand})
	if err != nil {
		return SEResult{}, err
	}
	if len(ps) != 1 {
		return SEResult{}, errors.New("lab: one SE personalisation set expected")
	}
	perso := ps[0]
	step("issuer: data preparation of %s: %d DGIs for applet %X in SSD %X", r.Profile, len(perso.DGIs), perso.App, perso.SD)
	issuerKeys, err := seKeySet(p.rand)
	if err != nil {
		return SEResult{}, err
	}
	res := SEResult{}
	var sc tsm.Script
	if r.Shared {
		if sc, err = tsm.Shared(tsm.Keys{KVN: tsm.InitialKVN + 1, Keys: issuerKeys}, perso); err != nil {
			return SEResult{}, err
		}
	} else {
		isd := d.ISDKeys
		if r.WrongISDKeys {
			if isd.Keys, err = seKeySet(p.rand); err != nil {
				return SEResult{}, err
			}
		}
		if sc, err = tsm.IssuerOwned(phone.ISDAID, isd, tsm.Keys{KVN: 0x30, Keys: issuerKeys}, perso); err != nil {
			return SEResult{}, err
		}
	}
	step("issuer: %v, key DGIs enciphered under the SSD's K-DEK, sealed to the SP TSM with the issuer's keys", sc)
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	// Unique across runs on the same issuer data: the order ID is the
	// issuer's ID&V correlation ID.
	nonce := make([]byte, 4)
	if _, err := io.ReadFull(p.rand, nonce); err != nil {
		return SEResult{}, err
	}
	res.OrderID = fmt.Sprintf("se-order-%d-%x", seq, nonce)
	otp := ""
	if p.Messages == nil {
		if otp, err = p.oneTimeCode(); err != nil {
			return SEResult{}, err
		}
		p.mu.Lock()
		p.codes[res.OrderID] = &standInCode{code: otp}
		p.mu.Unlock()
	}
	o := tsm.Order{OrderID: res.OrderID, CardRef: "card-" + strings.ToLower(r.Profile), SEID: d.SEID, DeviceID: d.ID, PhoneNumber: SamplePhoneNumber,
		SSD: fmt.Sprintf("%X", perso.SD), Owner: perso.Owner, Shared: r.Shared, IssuerConsent: !r.NoConsent}
	// The script must outlive the one-time code: the download starts when
	// the cardholder types it.
	tok, err := tsm.OrderFor(p.issuer, p.spParty.Public(), o, sc, wire.Header{Clock: p.now, Rand: p.rand,
		TTL: tsm.DefaultOTPTTL + time.Minute})
	if err != nil {
		return SEResult{}, err
	}
	if _, _, err := p.issuerC.Post(ctx, p.spURL+"/order", wire.MediaJOSE, []byte(tok)); err != nil {
		var ref *wire.Refusal
		if errors.As(err, &ref) {
			step("SP TSM: order %s refused: %s", o.OrderID, ref.Reason)
			res.Outcome = ref.Reason
			return res, nil
		}
		return res, err
	}
	step("SP TSM: order %s for SE %s: designated SE confirmed by the SE operator, handed to the SE TSM", o.OrderID, d.SEID)
	if p.Messages != nil {
		to, err := p.Messages.BeginOTP(ctx, o.OrderID, r.Profile, d.ID)
		if err != nil {
			var ref *wire.Refusal
			if errors.As(err, &ref) {
				step("issuer ID&V: refused: %s", ref.Reason)
				res.Outcome = ref.Reason
				return res, nil
			}
			return res, err
		}
		res.Recipient = to
		step("issuer ID&V: one-time code sent by SMS to the card's registered phone %s", maskPhone(to))
		if r.AskOTP != nil {
			return p.download(ctx, d, r, res, o.OrderID, to, step)
		}
		if r.OTP == "" {
			code, ok, err := p.Messages.LastCode(ctx, to)
			if err != nil {
				return res, err
			}
			if !ok {
				return res, errors.New("lab: no one-time code in the cardholder's inbox")
			}
			otp = code
			step("cardholder: reads the code in the inbox and types it in the phone")
		}
	} else {
		step("issuer: one-time code given to the cardholder (simplified message centre)")
	}
	a := &otaagent.Agent{Client: p.phoneC, URL: p.otaURL, DeviceID: d.ID, SE: d.Phone.SE().Process, Trace: r.Trace}
	if r.Agent != nil {
		r.Agent(a)
	}
	res.Agent = a
	code := otp
	if r.OTP != "" {
		code = r.OTP
	}
	out, err := a.Run(ctx, o.OrderID, code)
	res.Last = out.Last
	if err != nil {
		var ref *wire.Refusal
		if errors.As(err, &ref) {
			step("SE TSM: download refused: %s", ref.Reason)
			res.Outcome = ref.Reason
			return res, nil
		}
		return res, err
	}
	return p.downloaded(d, res, out, step)
}

// downloaded ends a download that the SE TSM ran to its end.
func (p *SEPlatform) downloaded(d *SEDevice, res SEResult, out otaagent.Result, step func(string, ...any)) (SEResult, error) {
	res.Outcome = out.Outcome
	step("SE TSM: OTA session of %d steps ended: %s", out.Steps, out.Outcome)
	if ks, ok := p.OperatorCopy(d.SEID); ok {
		res.OperatorKeys = &ks
	}
	n, err := d.Phone.SyncSE()
	if err != nil {
		return res, err
	}
	res.Apps = n
	return res, nil
}

// download is the phone's side when the cardholder types the code
// (SERun.AskOTP): a wrong code is asked again while the SE TSM keeps the
// order open.
func (p *SEPlatform) download(ctx context.Context, d *SEDevice, r SERun, res SEResult, orderID, recipient string, step func(string, ...any)) (SEResult, error) {
	a := &otaagent.Agent{Client: p.phoneC, URL: p.otaURL, DeviceID: d.ID, SE: d.Phone.SE().Process, Trace: r.Trace}
	if r.Agent != nil {
		r.Agent(a)
	}
	res.Agent = a
	left := -1
	for {
		code, err := r.AskOTP(ctx, recipient, left)
		if err != nil {
			return res, err
		}
		step("cardholder: types the code from the inbox in the phone")
		out, err := a.Run(ctx, orderID, code)
		res.Last = out.Last
		var ref *wire.Refusal
		switch {
		case err == nil:
			return p.downloaded(d, res, out, step)
		case !errors.As(err, &ref):
			return res, err
		case ref.Reason == tsm.ReasonOTPWrong && ref.TriesLeft > 0:
			left = ref.TriesLeft
			step("issuer ID&V: wrong one-time code, %d tries left", left)
		default:
			step("SE TSM: download refused: %s", ref.Reason)
			res.Outcome = ref.Reason
			return res, nil
		}
	}
}

func maskPhone(s string) string {
	if len(s) < 4 {
		return "****"
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// OperatorKeysOpen reports whether a key set still opens the SSD (after
// the issuer's rotation it must not, R-M2).
func OperatorKeysOpen(d *SEDevice, ssd []byte, ks tsm.Keys, rnd io.Reader) bool {
	if rnd == nil {
		rnd = rand.Reader
	}
	t := func(c []byte) ([]byte, error) { return d.Phone.SE().Process(c), nil }
	s, err := gp.Open(t, gp.Config{SD: ssd, KeyVersion: ks.KVN, Keys: ks.Keys, Level: scp03.LevelCMAC, Rand: rnd})
	if err != nil {
		return false
	}
	s.Close()
	return true
}

// SSDOf is the SSD AID of an se-phone profile.
func SSDOf(profile string) ([]byte, error) {
	prof, err := Profile(profile)
	if err != nil {
		return nil, err
	}
	if len(prof.Phone.SDAID) > 0 {
		return []byte(prof.Phone.SDAID), nil
	}
	return bytes.Clone([]byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x01}), nil
}

// TapSE taps the phone at term (a terminal of the embedded network: its
// issuer host decides), after the cardholder unlocks it.
func TapSE(ctx context.Context, term *pos.Terminal, d *SEDevice, amount int64) (isospec.ResponseCode, error) {
	if err := d.Phone.Unlock(d.Passcode); err != nil {
		return "", err
	}
	res, err := term.Sale(ctx, amount, inproc.New(d.Phone))
	if err != nil {
		return "", err
	}
	return res.ResponseCode, nil
}

// SampleSEPhone builds the phone of se-phone profile name with the
// profile's phone settings (passcode, biometric, validity, CDCVM) and
// state, its SE empty, registers its SE for the cardholder under device ID
// id, and personalises it over the air (issuer-owned SE, or shared with an
// operator when shared): the sample world can build its se-phone samples
// this way instead of installing their applets directly.
func (p *SEPlatform) SampleSEPhone(ctx context.Context, name, id string, serial uint32, shared bool) (*SEDevice, SEResult, error) {
	prof, err := Profile(name)
	if err != nil {
		return nil, SEResult{}, err
	}
	if prof.FormFactor != cards.FormSEPhone || prof.Phone == nil {
		return nil, SEResult{}, fmt.Errorf("lab: %s is not an se-phone profile", name)
	}
	pp := prof.Phone
	var validity time.Duration
	if pp.Validity != "" {
		if validity, err = time.ParseDuration(pp.Validity); err != nil || validity < 0 {
			return nil, SEResult{}, fmt.Errorf("lab: %s: validity %q", name, pp.Validity)
		}
	}
	d, err := p.newSEDevice(id, serial, true, phone.Config{Passcode: pp.Passcode, Biometric: pp.Biometric, Validity: validity,
		AlwaysVerify: pp.AlwaysCDCVM, ATR: prof.ATR})
	if err != nil {
		return nil, SEResult{}, err
	}
	res, err := p.Personalise(ctx, d, SERun{Profile: name, Shared: shared})
	if err != nil {
		return d, res, err
	}
	if res.Outcome != tsm.ReasonPersonalised {
		return d, res, fmt.Errorf("lab: %s over the air: %s", name, res.Outcome)
	}
	st := prof.State
	if st.CardOn != nil && !*st.CardOn {
		d.Phone.CardOff()
	}
	d.Phone.SetPasscodeFailures(st.PasscodeFailures)
	d.Phone.SetVerified(st.Unlocked)
	return d, res, nil
}
