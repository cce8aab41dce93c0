package hceapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/provision/wire"
)

// ErrConfig reports a missing or inconsistent configuration.
var ErrConfig = errors.New("hceapp: configuration")

// ErrBatch reports a batch that is not for this phone or card, or a key
// in it that does not unwrap with this phone's key.
var ErrBatch = errors.New("hceapp: batch refused")

// ErrUnknownCard reports a card the app has not downloaded.
var ErrUnknownCard = errors.New("hceapp: card not on this phone")

// Config configures an App.
type Config struct {
	// DeviceID is the phone's hardware device ID.
	DeviceID string
	// Platform is the cloud platform's public keys (the app's trust list).
	Platform wire.PublicKeys
	// URL is the platform's base URL (https://host:port).
	URL string
	// Client is the mutual-TLS client to the platform.
	Client *wire.Client
	// Rand draws the device keys; crypto/rand when nil.
	Rand io.Reader
	// Clock is the phone's time; time.Now when nil.
	Clock func() time.Time
	// Replay remembers the platform's envelopes; a fresh cache when nil.
	Replay wire.ReplayCache
}

// App is the HCE app of one phone.
type App struct {
	cfg   Config
	me    *wire.Party
	trust *wire.TrustList

	mu    sync.Mutex
	cards map[string]*Card
}

// New makes the app and its device keys.
func New(cfg Config) (*App, error) {
	if cfg.DeviceID == "" || cfg.Client == nil || cfg.URL == "" || cfg.Platform.Sign == nil {
		return nil, fmt.Errorf("%w: device ID, platform keys, URL and client are required", ErrConfig)
	}
	me, err := wire.NewParty("hce-"+cfg.DeviceID, cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("hceapp: device keys: %w", err)
	}
	return newApp(cfg, me)
}

// newApp is the app of cfg with device keys me; cfg's client and URL may
// be missing (online refuses the calls to the platform then).
func newApp(cfg Config, me *wire.Party) (*App, error) {
	if cfg.DeviceID == "" || cfg.Platform.Sign == nil {
		return nil, fmt.Errorf("%w: device ID and platform keys are required", ErrConfig)
	}
	trust, err := wire.NewTrustList(cfg.Platform)
	if err != nil {
		return nil, fmt.Errorf("%w: platform keys: %w", ErrConfig, err)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Replay == nil {
		cfg.Replay = wire.NewMemoryReplayCache(0)
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &App{cfg: cfg, me: me, trust: trust, cards: map[string]*Card{}}, nil
}

// DeviceID is the phone's device ID.
func (a *App) DeviceID() string { return a.cfg.DeviceID }

// DeviceKeys is the public half of the phone's device keys.
func (a *App) DeviceKeys() wire.PublicKeys { return a.me.Public() }

// String names the phone and its key IDs only.
func (a *App) String() string { return "hce app on " + a.cfg.DeviceID + " (" + a.me.String() + ")" }

// online refuses a call to the platform from an app restored without a
// client or URL.
func (a *App) online() error {
	if a.cfg.Client == nil || a.cfg.URL == "" {
		return fmt.Errorf("%w: no connection to the platform configured", ErrConfig)
	}
	return nil
}

func (a *App) seal(v any, typ string) (string, error) {
	return wire.Seal(v, a.me, a.cfg.Platform, wire.Header{Type: typ, Clock: a.cfg.Clock})
}

// post seals v, posts it to path and decodes the JSON answer into out.
func (a *App) post(ctx context.Context, path, typ string, v, out any) error {
	if err := a.online(); err != nil {
		return err
	}
	env, err := a.seal(v, typ)
	if err != nil {
		return err
	}
	_, body, err := a.cfg.Client.Post(ctx, a.cfg.URL+path, wire.MediaJOSE, []byte(env))
	if err != nil {
		return err
	}
	return decodeJSON(body, out)
}

// Register registers the phone for card account cardRef with the card's
// security code: the issuer sends an OTP to the cardholder's contact by
// method (its first when empty). mobilePIN is the PIN the cardholder sets
// for an mc-cloud card ("" for a visa-cloud card). requestID is the app's
// unique ID of this registration.
func (a *App) Register(ctx context.Context, requestID, cardRef, securityCode, method, mobilePIN string) (wire.HCERegisterResult, error) {
	return a.register(ctx, wire.HCERegister{RequestID: requestID, DeviceID: a.cfg.DeviceID, CardRef: cardRef,
		SecurityCode: securityCode, Method: method, MobilePIN: mobilePIN})
}

// register sends a registration, sealed to the platform and signed with
// the device key.
func (a *App) register(ctx context.Context, reg wire.HCERegister) (wire.HCERegisterResult, error) {
	if err := reg.Validate(); err != nil {
		return wire.HCERegisterResult{}, err
	}
	if err := a.online(); err != nil {
		return wire.HCERegisterResult{}, err
	}
	env, err := a.seal(reg, wire.TypeHCERegister)
	if err != nil {
		return wire.HCERegisterResult{}, err
	}
	var out wire.HCERegisterResult
	err = a.cfg.Client.PostJSON(ctx, a.cfg.URL+wire.PathHCERegister,
		wire.HCERegisterRequest{DevicePublicKeys: a.me.Public(), Envelope: env}, &out)
	return out, err
}

// RegisterWithPasscode registers the phone for card account cardRef with
// the card's security code and the cardholder's issuer-set passcode
// (R-G3a) instead of an OTP: the passcode travels as an ISO 9564 format 1
// PIN block inside the envelope sealed to the platform only (R-S2a, R-G1),
// and the issuer checks it in its security module; a wrong one counts
// toward the lock of the card's provisioning (R-G3c). The answer's Binding
// is the phone's binding when the passcode was right.
func (a *App) RegisterWithPasscode(ctx context.Context, requestID, cardRef, securityCode, passcode, mobilePIN string) (wire.HCERegisterResult, error) {
	rnd := a.cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	block, err := pin.Encode(pin.Format1, passcode, "", rnd)
	if err != nil {
		return wire.HCERegisterResult{}, fmt.Errorf("%w: passcode: %w", ErrConfig, err)
	}
	reg := wire.HCERegister{RequestID: requestID, DeviceID: a.cfg.DeviceID, CardRef: cardRef, SecurityCode: securityCode,
		Method: wire.HCEMethodPasscode, MobilePIN: mobilePIN, Passcode: strings.ToUpper(hex.EncodeToString(block))}
	clear(block)
	return a.register(ctx, reg)
}

// EnrolWithPasscode is Enrol with the cardholder verified by the issuer-set
// passcode instead of an OTP.
func (a *App) EnrolWithPasscode(ctx context.Context, requestID, cardRef, securityCode, passcode, mobilePIN string) (*Card, error) {
	res, err := a.RegisterWithPasscode(ctx, requestID, cardRef, securityCode, passcode, mobilePIN)
	if err != nil {
		return nil, err
	}
	if res.Binding == nil {
		return nil, fmt.Errorf("%w: the platform bound nothing", ErrBatch)
	}
	return a.Download(ctx, cardRef)
}

// OTPReader gives the one-time password the cardholder received (from
// the message centre, or typed by a person) for the registration the
// platform answered.
type OTPReader func(ctx context.Context, r wire.HCERegisterResult) (string, error)

// Enrol is the whole enrolment of the phone for card account cardRef:
// registration with the card's security code (and, for an mc-cloud card,
// the mobile PIN the cardholder sets), the OTP the cardholder received
// (read by otp), then the download of the card and its first keys.
func (a *App) Enrol(ctx context.Context, requestID, cardRef, securityCode, mobilePIN string, otp OTPReader) (*Card, error) {
	res, err := a.Register(ctx, requestID, cardRef, securityCode, "", mobilePIN)
	if err != nil {
		return nil, err
	}
	code, err := otp(ctx, res)
	if err != nil {
		return nil, fmt.Errorf("hceapp: read OTP: %w", err)
	}
	if _, err := a.VerifyRegistration(ctx, res.RegistrationID, code); err != nil {
		return nil, err
	}
	return a.Download(ctx, cardRef)
}

// VerifyRegistration sends the OTP the cardholder received; the binding
// is stored when it is right.
func (a *App) VerifyRegistration(ctx context.Context, registrationID, otp string) (wire.HCEBinding, error) {
	var out wire.HCEBinding
	err := a.post(ctx, wire.PathHCEVerify, wire.TypeHCEVerify, wire.HCEVerifyRegistration{RegistrationID: registrationID, OTP: otp}, &out)
	return out, err
}

// Challenge asks the platform for a download challenge.
func (a *App) Challenge(ctx context.Context, cardRef string) (wire.HCEChallenge, error) {
	var out wire.HCEChallenge
	err := a.post(ctx, wire.PathHCEChallenge, wire.TypeHCEChallenge, wire.HCEChallengeRequest{DeviceID: a.cfg.DeviceID, CardRef: cardRef}, &out)
	return out, err
}

// SignChallenge is the phone's signature of a challenge.
func (a *App) SignChallenge(challenge, cardRef string) (string, error) {
	return a.me.SignHCEChallenge(challenge, a.cfg.DeviceID, cardRef)
}

// Download fetches a challenge, answers it with the device key and
// installs the card and its first keys.
func (a *App) Download(ctx context.Context, cardRef string) (*Card, error) {
	ch, err := a.Challenge(ctx, cardRef)
	if err != nil {
		return nil, err
	}
	sig, err := a.SignChallenge(ch.Challenge, cardRef)
	if err != nil {
		return nil, err
	}
	return a.DownloadWith(ctx, wire.HCEDownloadRequest{DeviceID: a.cfg.DeviceID, CardRef: cardRef, Challenge: ch.Challenge, Signature: sig})
}

// DownloadWith sends a download request as given and installs what
// comes back.
func (a *App) DownloadWith(ctx context.Context, req wire.HCEDownloadRequest) (*Card, error) {
	ans, err := a.RequestDownload(ctx, req)
	if err != nil {
		return nil, err
	}
	return a.Install(req.CardRef, ans)
}

// RequestDownload sends a download request, signed with the device key,
// and returns the platform's answer unopened (the batch envelope), for
// Install.
func (a *App) RequestDownload(ctx context.Context, req wire.HCEDownloadRequest) (string, error) {
	if err := a.online(); err != nil {
		return "", err
	}
	env, err := a.seal(req, wire.TypeHCEDownload)
	if err != nil {
		return "", err
	}
	return a.cfg.Client.PostEnvelope(ctx, a.cfg.URL+wire.PathHCEDownload, env)
}

// Replenish asks for more keys for cardRef, reporting the keys spent.
func (a *App) Replenish(ctx context.Context, cardRef string) (int, error) {
	c, ok := a.Card(cardRef)
	if !ok {
		return 0, ErrUnknownCard
	}
	// The log goes until the platform takes it: a refused request
	// (too early, offline) leaves it for the next one.
	log := c.spent()
	ans, err := a.RequestReplenish(ctx, cardRef, log)
	if err != nil {
		return 0, err
	}
	c.reported(log)
	if _, err := a.Install(cardRef, ans); err != nil {
		return 0, err
	}
	return c.KeysLeft(), nil
}

// ReplenishIfLow forgets the card's keys past their time to live
// (emv/cloud.DefaultValidity), then asks for more keys for cardRef when
// lowWater keys or fewer are left (DefaultLowWater when lowWater is 0):
// the count and the time thresholds. It reports whether it asked.
func (a *App) ReplenishIfLow(ctx context.Context, cardRef string, lowWater int) (bool, error) {
	c, ok := a.Card(cardRef)
	if !ok {
		return false, ErrUnknownCard
	}
	if lowWater <= 0 {
		lowWater = DefaultLowWater
	}
	c.Prune(a.cfg.Clock(), cloud.DefaultValidity.TimeToLive)
	if !c.NeedsReplenish(lowWater) {
		return false, nil
	}
	_, err := a.Replenish(ctx, cardRef)
	return err == nil, err
}

// RequestReplenish sends a replenishment request for cardRef, signed with
// the device key, reporting the key indexes used, and returns the
// platform's answer unopened (the batch envelope), for Install.
func (a *App) RequestReplenish(ctx context.Context, cardRef string, used []string) (string, error) {
	if err := a.online(); err != nil {
		return "", err
	}
	env, err := a.seal(wire.HCEReplenishRequest{DeviceID: a.cfg.DeviceID, CardRef: cardRef, Used: used}, wire.TypeHCEReplenish)
	if err != nil {
		return "", err
	}
	return a.cfg.Client.PostEnvelope(ctx, a.cfg.URL+wire.PathHCEReplenish, env)
}

// Install opens a batch envelope (sealed to this phone, signed by the
// platform), checks it is for this phone and cardRef, unwraps every key
// and adds them to the card (made from the batch's profile on a
// download). Nothing is installed unless everything checks.
func (a *App) Install(cardRef, envelope string) (*Card, error) {
	var b wire.HCEBatch
	_, err := wire.OpenInto(envelope, a.me, a.trust, wire.Expect{
		Type: wire.TypeHCEBatch, From: a.cfg.Platform.Name, Replay: a.cfg.Replay, Clock: a.cfg.Clock,
	}, &b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBatch, err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBatch, err)
	}
	if b.DeviceID != a.cfg.DeviceID || b.CardRef != cardRef {
		return nil, fmt.Errorf("%w: the batch is for another phone or card", ErrBatch)
	}
	keys, err := a.unwrap(b.Keys)
	if err != nil {
		return nil, err
	}
	suks, err := a.unwrapSUKs(b.SUKs)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	card, ok := a.cards[cardRef]
	if !ok {
		if b.Profile == nil {
			return nil, fmt.Errorf("%w: keys for a card not downloaded", ErrBatch)
		}
		card, err = newCard(cardRef, a.cfg.DeviceID, *b.Profile)
		if err != nil {
			return nil, err
		}
	}
	if (card.profile.CVN == wire.HCECVNMCCloud) != (len(keys) == 0) {
		return nil, fmt.Errorf("%w: keys of the other cryptogram version", ErrBatch)
	}
	a.cards[cardRef] = card
	card.add(keys, suks)
	return card, nil
}

// Card is the downloaded card cardRef.
func (a *App) Card(cardRef string) (*Card, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.cards[cardRef]
	return c, ok
}
