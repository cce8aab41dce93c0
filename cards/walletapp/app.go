package walletapp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/provision/wire"
)

// Paths of the wallet provider's phones' API.
const (
	pathCards      = "/wallet/cards"
	pathRequestOTP = "/wallet/otp/request"
	pathSubmitOTP  = "/wallet/otp/submit"
	pathActivate   = "/wallet/activate"
	pathAck        = "/wallet/ack"
	pathLifecycle  = "/wallet/lifecycle"
	pathTokens     = "/wallet/tokens"
)

// Message types of the app's signed requests to the wallet provider
// (walletsvc.Type*).
const (
	typeRequestOTP = "wallet.otp.request"
	typeSubmitOTP  = "wallet.otp.submit"
	typeActivate   = "wallet.activate"
	typeAck        = "wallet.ack"
	typeLifecycle  = "wallet.lifecycle"
	typeTokens     = "wallet.tokens"
)

// DeviceCVMNone is Config.DeviceCVM for a phone that adds a card without
// verifying the cardholder first.
const DeviceCVMNone = "NONE"

// DefaultWalletParty is the wallet provider's party name when
// Config.WalletParty is empty.
const DefaultWalletParty = "wallet-provider"

// Errors of the app.
var (
	// ErrConfig reports a missing or inconsistent configuration.
	ErrConfig = errors.New("walletapp: configuration")
	// ErrTokenData reports token data that is not for this device, not
	// from the trusted token service, or not the token asked for.
	ErrTokenData = errors.New("walletapp: token data refused")
	// ErrUnknownToken reports a token the app does not hold.
	ErrUnknownToken = errors.New("walletapp: unknown token")
	// ErrProtocol reports an answer of the wallet provider that does not
	// make sense.
	ErrProtocol = errors.New("walletapp: unexpected answer")
)

// Config configures an App.
type Config struct {
	// DeviceID is the phone's hardware device ID (hex, 1 to 8 bytes).
	DeviceID string
	// WalletAccountID is the cardholder's wallet account.
	WalletAccountID string
	// Device is the app's party (its P-256 keys); made from Rand under
	// the name "phone-<DeviceID>" when nil.
	Device *wire.Party
	// Trust is the app's own trust list: the token service and the wallet
	// provider.
	Trust *wire.TrustList
	// TSPParty names the token service in Trust.
	TSPParty string
	// WalletParty names the wallet provider in Trust, to which the app
	// seals its signed requests; DefaultWalletParty when empty.
	WalletParty string
	// WalletURL is the wallet provider's base URL (https://host:port).
	WalletURL string
	// Client is the mutual-TLS client to the wallet provider.
	Client *wire.Client
	// Language is the cardholder's language; "zh" when empty.
	Language string
	// DeviceCVM is how the phone verifies the cardholder before it adds a
	// card (consumer-device CVM, R-G3f): wire.DeviceCVMPasscode (the
	// default: the phone asks its passcode first, as wallets do),
	// wire.DeviceCVMBiometric or wire.DeviceCVMPattern; DeviceCVMNone
	// when the phone does not, and the issuer then steps the cardholder
	// up. The claim is signed with the device key.
	DeviceCVM string
	// Clock is the phone's time; time.Now when nil.
	Clock func() time.Time
	// Rand gives the keys (when Device is nil), nonces and request IDs;
	// crypto/rand when nil.
	Rand io.Reader
}

// Token is a token as the app shows it: masked, with its state.
type Token struct {
	// TokenUniqueReference names the token.
	TokenUniqueReference string
	// Masked is the token PAN masked as on a sales slip (R-S2c).
	Masked string
	// AccountPanSuffix is the funding card's last 4 digits.
	AccountPanSuffix string
	// Status is INACTIVE, ACTIVE, SUSPENDED or DEACTIVATED.
	Status string
	// SuspendedBy lists the actors whose suspension holds.
	SuspendedBy []string
	// Installed says the token data is on the phone.
	Installed bool
}

// Card is what the sample world needs to build a wallet-phone card from
// an installed token. It holds the key: never print it.
type Card struct {
	// TokenPAN is the token, used as the card's PAN.
	TokenPAN string
	// TokenExpiry is YYMM.
	TokenExpiry string
	// PSN is the PAN sequence number.
	PSN string
	// CVN names the cryptogram version (emv/cryptogram).
	CVN string
	// MasterKey is the ICC master key, 16 bytes.
	MasterKey []byte
	// RequestorID is the wallet's token requestor ID.
	RequestorID string
	// DeviceID is the phone the token is bound to.
	DeviceID string
}

// String hides the token PAN and the key.
func (c Card) String() string { return "wallet card " + pan.Mask(c.TokenPAN) }

// GoString is String.
func (c Card) GoString() string { return c.String() }

// stored is one token in the app's store: the token data only.
type stored struct {
	TUR              string          `json:"tokenUniqueReference"`
	Data             *wire.TokenData `json:"tokenData,omitempty"`
	AccountPanSuffix string          `json:"accountPanSuffix,omitempty"`
	TokenPanSuffix   string          `json:"tokenPanSuffix,omitempty"`
	Status           string          `json:"status"`
	SuspendedBy      []string        `json:"suspendedBy,omitempty"`
	// key is the token's ICC master key, unwrapped from the token data
	// with the device's key; never in Dump.
	key keys.Key
}

// App is the wallet app. It is safe for concurrent use.
type App struct {
	cfg    Config
	tsp    wire.PublicKeys
	wp     wire.PublicKeys
	replay *wire.MemoryReplayCache

	mu     sync.Mutex
	tokens map[string]*stored
}

// New checks cfg and makes an App.
func New(cfg Config) (*App, error) {
	if err := wire.ValidDeviceID(cfg.DeviceID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.Trust == nil || cfg.Client == nil || cfg.WalletURL == "" || cfg.WalletAccountID == "" {
		return nil, fmt.Errorf("%w: trust list, wallet provider client and URL, wallet account are required", ErrConfig)
	}
	tsp, ok := cfg.Trust.Party(cfg.TSPParty)
	if !ok {
		return nil, fmt.Errorf("%w: the token service is not in the trust list", ErrConfig)
	}
	if cfg.WalletParty == "" {
		cfg.WalletParty = DefaultWalletParty
	}
	wp, ok := cfg.Trust.Party(cfg.WalletParty)
	if !ok {
		return nil, fmt.Errorf("%w: the wallet provider is not in the trust list", ErrConfig)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Language == "" {
		cfg.Language = "zh"
	}
	switch cfg.DeviceCVM {
	case "":
		cfg.DeviceCVM = wire.DeviceCVMPasscode
	case DeviceCVMNone:
		cfg.DeviceCVM = ""
	default:
		if !wire.ValidDeviceCVM(cfg.DeviceCVM) {
			return nil, fmt.Errorf("%w: device CVM must be PASSCODE, BIOMETRIC, PATTERN or NONE", ErrConfig)
		}
	}
	if cfg.Device == nil {
		p, err := wire.NewParty("phone-"+cfg.DeviceID, cfg.Rand)
		if err != nil {
			return nil, fmt.Errorf("%w: device keys: %w", ErrConfig, err)
		}
		cfg.Device = p
	}
	cfg.WalletURL = strings.TrimRight(cfg.WalletURL, "/")
	return &App{cfg: cfg, tsp: tsp, wp: wp, replay: wire.NewMemoryReplayCache(0), tokens: map[string]*stored{}}, nil
}

// DeviceID is the phone's device ID.
func (a *App) DeviceID() string { return a.cfg.DeviceID }

// Public is the device's public keys.
func (a *App) Public() wire.PublicKeys { return a.cfg.Device.Public() }

func (a *App) seal(v any, typ string) (string, error) {
	return wire.Seal(v, a.cfg.Device, a.tsp, wire.Header{Type: typ, Clock: a.cfg.Clock, Rand: a.cfg.Rand})
}

func (a *App) post(ctx context.Context, path string, in, out any) error {
	if err := a.cfg.Client.PostJSON(ctx, a.cfg.WalletURL+path, in, out); err != nil {
		return fmt.Errorf("walletapp: %s: %w", path, err)
	}
	return nil
}

// postSigned seals in to the wallet provider as a message of type typ,
// signed with the device's key bound to the wallet account, posts it and
// decodes the JSON answer into out strictly.
func (a *App) postSigned(ctx context.Context, path, typ string, in, out any) error {
	env, err := wire.Seal(in, a.cfg.Device, a.wp, wire.Header{Type: typ, Clock: a.cfg.Clock, Rand: a.cfg.Rand})
	if err != nil {
		return fmt.Errorf("walletapp: %s: %w", path, err)
	}
	mt, b, err := a.cfg.Client.Post(ctx, a.cfg.WalletURL+path, wire.MediaJOSE, []byte(env))
	if err != nil {
		return fmt.Errorf("walletapp: %s: %w", path, err)
	}
	if mt != wire.MediaJSON {
		return fmt.Errorf("%w: %s: the answer is not JSON", ErrProtocol, path)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil || dec.More() {
		return fmt.Errorf("%w: %s: the answer does not parse", ErrProtocol, path)
	}
	return nil
}

// AddCardRequest is the JSON request the app posts to add a card
// (walletsvc.AddCardRequest).
type AddCardRequest struct {
	// RequestID names the request; a retry carries the same one.
	RequestID string `json:"requestId"`
	// WalletAccountID names the cardholder's wallet account.
	WalletAccountID string `json:"walletAccountId"`
	// DeviceID is the phone's device ID.
	DeviceID string `json:"deviceId"`
	// DevicePublicKeys are the app's public keys.
	DevicePublicKeys wire.PartyKeys `json:"devicePublicKeys"`
	// CardData is the card sealed to the token service.
	CardData string `json:"cardData"`
	// Language is the cardholder's language.
	Language string `json:"language"`
	// DeviceCVM is the phone's cardholder verification at add-card
	// (R-G3f), also signed inside CardData; "" for none.
	DeviceCVM string `json:"deviceCvm,omitempty"`
}

type addCardResponse struct {
	Decision             string                      `json:"decision"`
	TokenUniqueReference string                      `json:"tokenUniqueReference,omitempty"`
	Methods              []wire.AuthenticationMethod `json:"authenticationMethods,omitempty"`
	AccountPanSuffix     string                      `json:"accountPanSuffix,omitempty"`
	TokenPanSuffix       string                      `json:"tokenPanSuffix,omitempty"`
	Status               string                      `json:"status,omitempty"`
	Reason               string                      `json:"reason,omitempty"`
	TokenData            string                      `json:"tokenData,omitempty"`
}

// Result is the outcome of AddCard.
type Result struct {
	// Decision is APPROVED, REQUIRE_ADDITIONAL_AUTHENTICATION or DECLINED.
	Decision string
	// TokenUniqueReference names the token (not when DECLINED).
	TokenUniqueReference string
	// Methods are the step-up methods offered (masked contacts).
	Methods []wire.AuthenticationMethod
	// Reason is the machine-readable reason of a decline.
	Reason string
	// Status is the token's state after the call.
	Status string
}

// NewAddCardRequest seals the card to the token service and makes the
// request; Submit posts it (twice is one task: a retry).
func (a *App) NewAddCardRequest(card wire.CardData) (AddCardRequest, error) {
	card.DeviceCVM = a.cfg.DeviceCVM
	if err := card.Validate(); err != nil {
		return AddCardRequest{}, err
	}
	env, err := a.seal(card, wire.TypeCardData)
	if err != nil {
		return AddCardRequest{}, err
	}
	keys, err := a.cfg.Device.Public().Keys()
	if err != nil {
		return AddCardRequest{}, err
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(a.cfg.Rand, b); err != nil {
		return AddCardRequest{}, fmt.Errorf("walletapp: random source: %w", err)
	}
	return AddCardRequest{
		RequestID: "app-" + hex.EncodeToString(b), WalletAccountID: a.cfg.WalletAccountID, DeviceID: a.cfg.DeviceID,
		DevicePublicKeys: keys, CardData: env, Language: a.cfg.Language, DeviceCVM: a.cfg.DeviceCVM,
	}, nil
}

// AddCard adds a card: the PAN, expiry (YYMM) and security code the
// cardholder typed are sealed to the token service and never kept. An
// APPROVED token is installed and acknowledged before AddCard returns.
func (a *App) AddCard(ctx context.Context, card wire.CardData) (Result, error) {
	req, err := a.NewAddCardRequest(card)
	if err != nil {
		return Result{}, err
	}
	return a.Submit(ctx, req)
}

// Submit posts an add-card request and handles the answer.
func (a *App) Submit(ctx context.Context, req AddCardRequest) (Result, error) {
	var resp addCardResponse
	if err := a.post(ctx, pathCards, req, &resp); err != nil {
		return Result{}, err
	}
	res := Result{Decision: resp.Decision, TokenUniqueReference: resp.TokenUniqueReference, Methods: resp.Methods, Reason: resp.Reason, Status: resp.Status}
	if resp.Decision == wire.DecisionDeclined || resp.TokenUniqueReference == "" {
		return res, nil
	}
	a.mu.Lock()
	if _, ok := a.tokens[resp.TokenUniqueReference]; !ok {
		a.tokens[resp.TokenUniqueReference] = &stored{TUR: resp.TokenUniqueReference, Status: resp.Status,
			AccountPanSuffix: resp.AccountPanSuffix, TokenPanSuffix: resp.TokenPanSuffix}
	}
	a.mu.Unlock()
	if resp.TokenData != "" {
		st, err := a.install(ctx, resp.TokenUniqueReference, resp.TokenData)
		if err != nil {
			return res, err
		}
		res.Status = st
	}
	return res, nil
}

// install checks and stores token data, then acknowledges it.
func (a *App) install(ctx context.Context, tur, env string) (string, error) {
	var td wire.TokenData
	_, err := wire.OpenInto(env, a.cfg.Device, a.cfg.Trust, wire.Expect{
		Type: wire.TypeTokenData, From: a.cfg.TSPParty, Replay: a.replay, Clock: a.cfg.Clock,
	}, &td)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTokenData, err)
	}
	if err := td.Validate(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrTokenData, err)
	}
	if td.TokenUniqueReference != tur || td.DomainControls.DeviceID != a.cfg.DeviceID {
		return "", fmt.Errorf("%w: not bound to this device or not the token asked for", ErrTokenData)
	}
	// The key comes wrapped for this phone by the issuer's security
	// module; it is opened here and checked against its check value.
	cvn, err := cryptogram.Lookup(td.CVN)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTokenData, err)
	}
	mk, err := a.cfg.Device.UnwrapICCMasterKey(cvn.Alg, td.WrappedICCMasterKey, td.ICCMasterKeyKCV)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTokenData, err)
	}
	a.mu.Lock()
	s := a.tokens[tur]
	if s == nil {
		s = &stored{TUR: tur}
		a.tokens[tur] = s
	}
	s.Data, s.Status, s.TokenPanSuffix, s.key = &td, td.Status, pan.Last4(td.TokenPAN), mk
	a.mu.Unlock()

	ack, err := a.seal(wire.TokenDataAck{TokenUniqueReference: tur, DeviceID: a.cfg.DeviceID, Result: wire.AckInstalled}, wire.TypeTokenDataAck)
	if err != nil {
		return "", err
	}
	var res struct {
		Status string `json:"status"`
	}
	if err := a.postSigned(ctx, pathAck, typeAck, map[string]string{"walletAccountId": a.cfg.WalletAccountID, "tokenUniqueReference": tur, "ack": ack}, &res); err != nil {
		return "", err
	}
	a.setStatus(tur, res.Status, nil)
	return res.Status, nil
}

func (a *App) setStatus(tur, status string, by []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.tokens[tur]; s != nil && status != "" {
		s.Status, s.SuspendedBy = status, slices.Clone(by)
	}
}

// RequestOTP asks the issuer, through the wallet provider and the token
// service, to send an OTP by the method; it returns the OTP's expiry.
func (a *App) RequestOTP(ctx context.Context, tur, methodID string) (time.Time, error) {
	var res struct {
		Result    string    `json:"result"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := a.postSigned(ctx, pathRequestOTP, typeRequestOTP, map[string]string{"walletAccountId": a.cfg.WalletAccountID, "tokenUniqueReference": tur, "methodId": methodID}, &res); err != nil {
		return time.Time{}, err
	}
	if res.Result != wire.ResultSuccess {
		return time.Time{}, fmt.Errorf("%w: OTP not sent: %s", ErrProtocol, res.Result)
	}
	return res.ExpiresAt, nil
}

// OTPResult is the outcome of SubmitOTP.
type OTPResult struct {
	// Result is SUCCESS, INCORRECT_CODE, EXPIRED_CODE or
	// INCORRECT_CODE_RETRIES_EXCEEDED.
	Result string
	// RetriesRemaining counts the tries left after INCORRECT_CODE.
	RetriesRemaining int
	// Status is the token's state after the call.
	Status string
}

// SubmitOTP sends the OTP the cardholder read, sealed to the token
// service (R-S2a); on SUCCESS the token data is installed and
// acknowledged before it returns.
func (a *App) SubmitOTP(ctx context.Context, tur, otp string) (OTPResult, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(a.cfg.Rand, b); err != nil {
		return OTPResult{}, fmt.Errorf("walletapp: random source: %w", err)
	}
	env, err := a.seal(wire.SubmitOTP{TaskID: "app-" + hex.EncodeToString(b), TokenUniqueReference: tur, OTP: otp}, wire.TypeSubmitOTP)
	if err != nil {
		return OTPResult{}, err
	}
	var res struct {
		Result           string `json:"result"`
		RetriesRemaining int    `json:"retriesRemaining"`
		TokenData        string `json:"tokenData,omitempty"`
	}
	if err := a.postSigned(ctx, pathSubmitOTP, typeSubmitOTP, map[string]string{"walletAccountId": a.cfg.WalletAccountID, "tokenUniqueReference": tur, "submitOtp": env}, &res); err != nil {
		return OTPResult{}, err
	}
	out := OTPResult{Result: res.Result, RetriesRemaining: res.RetriesRemaining}
	if res.Result == wire.ResultSuccess {
		if res.TokenData == "" {
			return out, fmt.Errorf("%w: success without token data", ErrProtocol)
		}
		st, err := a.install(ctx, tur, res.TokenData)
		if err != nil {
			return out, err
		}
		out.Status = st
	}
	return out, nil
}

// ErrPasscode reports a passcode that cannot be a card's PIN (4 to 12
// digits); nothing was sent.
var ErrPasscode = errors.New("walletapp: the passcode must be 4 to 12 digits")

// Activate activates a token afterwards with the card's passcode, its PIN
// (R-S2a: activation afterwards by phone), when the step-up was not
// completed. The PIN goes into an ISO 9564 format 1 PIN block (the format
// that needs no PAN: the phone never holds the funding card's number),
// sealed to the token service and signed with the device key (R-G1,
// R-G2): the wallet provider relays it and cannot read it. The issuer
// checks it against the card's PIN verification value; a wrong passcode
// counts toward the lock (R-G3c). On SUCCESS the token data, when the
// token was inactive, is installed and acknowledged before it returns.
// Result is SUCCESS, INCORRECT_CODE (RetriesRemaining) or
// INCORRECT_CODE_RETRIES_EXCEEDED. The passcode is the card's PIN, which
// the issuer sets (R-G3a) and checks: the rules of cards/passcode (R-G3b)
// are those of the phone's own passcode and are not applied here.
func (a *App) Activate(ctx context.Context, tur, passcode string) (OTPResult, error) {
	if len(passcode) < 4 || len(passcode) > 12 || strings.Trim(passcode, "0123456789") != "" {
		return OTPResult{}, ErrPasscode
	}
	block, err := pin.Encode(pin.Format1, passcode, "", a.cfg.Rand)
	if err != nil {
		return OTPResult{}, fmt.Errorf("walletapp: PIN block: %w", ErrPasscode)
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(a.cfg.Rand, b); err != nil {
		clear(block)
		return OTPResult{}, fmt.Errorf("walletapp: random source: %w", err)
	}
	msg := wire.ActivatePasscode{TaskID: "app-" + hex.EncodeToString(b), TokenUniqueReference: tur,
		PINBlock: strings.ToUpper(hex.EncodeToString(block))}
	clear(block)
	env, err := a.seal(msg, wire.TypeActivate)
	msg.PINBlock = ""
	if err != nil {
		return OTPResult{}, err
	}
	var res struct {
		Result           string `json:"result"`
		RetriesRemaining int    `json:"retriesRemaining"`
		TokenData        string `json:"tokenData,omitempty"`
	}
	if err := a.postSigned(ctx, pathActivate, typeActivate, map[string]string{"walletAccountId": a.cfg.WalletAccountID, "tokenUniqueReference": tur, "activation": env}, &res); err != nil {
		return OTPResult{}, err
	}
	out := OTPResult{Result: res.Result, RetriesRemaining: res.RetriesRemaining}
	if res.Result != wire.ResultSuccess {
		return out, nil
	}
	if res.TokenData != "" {
		st, err := a.install(ctx, tur, res.TokenData)
		if err != nil {
			return out, err
		}
		out.Status = st
		return out, nil
	}
	a.setStatus(tur, wire.StatusActive, nil)
	out.Status = wire.StatusActive
	return out, nil
}

type lifecycleResult struct {
	Tokens []wire.TokenStatus `json:"tokens"`
}

func (a *App) lifecycle(ctx context.Context, tur, action, reason string) (Token, error) {
	if _, ok := a.Token(tur); !ok {
		return Token{}, fmt.Errorf("%w: %s", ErrUnknownToken, tur)
	}
	var res lifecycleResult
	if err := a.postSigned(ctx, pathLifecycle, typeLifecycle, map[string]string{"walletAccountId": a.cfg.WalletAccountID, "tokenUniqueReference": tur, "action": action, "reason": reason}, &res); err != nil {
		return Token{}, err
	}
	if len(res.Tokens) != 1 || res.Tokens[0].TokenUniqueReference != tur {
		return Token{}, fmt.Errorf("%w: life cycle", ErrProtocol)
	}
	if st := res.Tokens[0]; st.Reason != "" {
		return Token{}, fmt.Errorf("%w: %s refused: %s", ErrProtocol, strings.ToLower(action), st.Reason)
	}
	a.setStatus(tur, res.Tokens[0].Status, res.Tokens[0].SuspendedBy)
	if action == wire.ActionDelete {
		a.mu.Lock()
		if s := a.tokens[tur]; s != nil {
			s.Data = nil // a deleted token's credentials leave the phone
		}
		a.mu.Unlock()
	}
	t, _ := a.Token(tur)
	return t, nil
}

// Suspend suspends a token as the cardholder.
func (a *App) Suspend(ctx context.Context, tur string) (Token, error) {
	return a.lifecycle(ctx, tur, wire.ActionSuspend, "CARDHOLDER_REQUEST")
}

// Resume resumes a token the cardholder suspended.
func (a *App) Resume(ctx context.Context, tur string) (Token, error) {
	return a.lifecycle(ctx, tur, wire.ActionResume, "CARDHOLDER_REQUEST")
}

// Delete deletes a token; its credentials are removed from the phone.
func (a *App) Delete(ctx context.Context, tur string) (Token, error) {
	return a.lifecycle(ctx, tur, wire.ActionDelete, "CARDHOLDER_REQUEST")
}

// Refresh reads the tokens' states from the wallet provider (which the
// token service's notifications keep current).
func (a *App) Refresh(ctx context.Context) error {
	var res struct {
		Tokens []struct {
			WalletAccountID  string   `json:"walletAccountId"`
			DeviceID         string   `json:"deviceId"`
			TUR              string   `json:"tokenUniqueReference"`
			Status           string   `json:"status"`
			SuspendedBy      []string `json:"suspendedBy,omitempty"`
			AccountPanSuffix string   `json:"accountPanSuffix"`
			TokenPanSuffix   string   `json:"tokenPanSuffix"`
		} `json:"tokens"`
	}
	if err := a.postSigned(ctx, pathTokens, typeTokens, map[string]string{"walletAccountId": a.cfg.WalletAccountID}, &res); err != nil {
		return err
	}
	for _, t := range res.Tokens {
		a.setStatus(t.TUR, t.Status, t.SuspendedBy)
		if t.Status == wire.StatusDeactivated {
			a.mu.Lock()
			if s := a.tokens[t.TUR]; s != nil {
				s.Data = nil
			}
			a.mu.Unlock()
		}
	}
	return nil
}

// Token shows one token.
func (a *App) Token(tur string) (Token, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.tokens[tur]
	if !ok {
		return Token{}, false
	}
	return view(s), true
}

// Tokens shows every token, sorted by reference.
func (a *App) Tokens() []Token {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Token, 0, len(a.tokens))
	for _, s := range a.tokens {
		out = append(out, view(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TokenUniqueReference < out[j].TokenUniqueReference })
	return out
}

func view(s *stored) Token {
	t := Token{TokenUniqueReference: s.TUR, AccountPanSuffix: s.AccountPanSuffix, Status: s.Status,
		SuspendedBy: slices.Clone(s.SuspendedBy), Installed: s.Data != nil}
	if s.Data != nil {
		t.Masked = pan.Mask(s.Data.TokenPAN)
	} else if s.TokenPanSuffix != "" {
		t.Masked = "************" + s.TokenPanSuffix
	}
	return t
}

// Card is the installed token's credentials, for building a wallet-phone
// card (ErrUnknownToken when the token is not installed).
func (a *App) Card(tur string) (Card, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.tokens[tur]
	if !ok || s.Data == nil {
		return Card{}, fmt.Errorf("%w: %s is not installed", ErrUnknownToken, tur)
	}
	d := s.Data
	return Card{TokenPAN: d.TokenPAN, TokenExpiry: d.TokenExpiry, PSN: d.PSN, CVN: d.CVN, MasterKey: s.key.Bytes(),
		RequestorID: d.TokenRequestorID, DeviceID: d.DomainControls.DeviceID}, nil
}

// Dump is the app's whole store as JSON, for tests: the token data of
// each token and its state, nothing else.
func (a *App) Dump() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	list := make([]stored, 0, len(a.tokens))
	for _, s := range a.tokens {
		list = append(list, *s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].TUR < list[j].TUR })
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("walletapp: dump: %w", err)
	}
	return b, nil
}
