// Package idv is the issuer's side of provisioning a card onto a phone
// (the wallet flow of R-M5, for the token service of R-M4): the ID&V
// decision on a card the cardholder typed into a wallet, the one-time
// passwords of the step-up, the token service's notifications and the
// activation of the token after its download (R-S2a).
//
// Service is the Go API; Handler serves it as HTTP/JSON (POST
// /idv/authorize, /idv/otp/send, /idv/otp/verify, /idv/notify,
// /idv/activate, /idv/inbox) through a Codec, so that the provisioning
// envelope (JWE/JWS over mutual TLS, built elsewhere) can wrap the same
// plain JSON bodies later.
//
// What is FACT and what is MODEL (docs/provisioning.md, section 1):
//
//   - FACT: the three decisions APPROVED (green), REQUIRE_ADDITIONAL_
//     AUTHENTICATION (yellow: approved, the token stays inactive until the
//     step-up succeeds) and DECLINED (red); the step-up method types
//     TEXT_TO_CARDHOLDER_NUMBER, EMAIL_TO_CARDHOLDER_ADDRESS and
//     CARDHOLDER_TO_USE_ISSUER_MOBILE_APP with masked values; the
//     decisioning data deviceScore and accountScore (1 to 5) and the token
//     service's recommendation; one attempt per correlationId; the token
//     created and download complete notifications.
//   - MODEL (tapsim's own): the rule table (Rules, DefaultRules) from the
//     decisioning data to a colour; the reasons' names; an OTP of 6 digits
//     valid 5 minutes (docs/provisioning.md suggests 10 minutes and 3
//     tries; the brief of this package asks for 5 and 5, R-G3c's
//     maximum), one at a time per attempt; at most 5 consecutive wrong
//     entries per card, across its attempts (wrong expiry dates, security
//     codes, OTPs and passcodes together, R-G3c), before the card's
//     provisioning locks until the service centre resets it
//     (ResetProvisioning). Only a cardholder verification (a right OTP or
//     passcode) ends a run of wrong entries: a right security code does
//     not, or whoever holds the card data could guess OTPs without end by
//     starting new attempts. Activation needs the cardholder verified
//     even after a green decision (R-S2a): PAN, expiry and code are card
//     data, not a verification per R-G3; so the rules approve green only
//     a request that carries the cardholder's verification on the phone
//     (a consumer-device CVM, R-G3f, DecisioningData.DeviceCVM), else
//     step up (no_device_cvm), and a green token is activated on that
//     verification (ProofDeviceCVM). A token whose step-up was not
//     completed is activated afterwards with the card's PIN
//     (ProofPasscode). The JSON field names follow MDES where it has one.
//
// Sensitive data: the PAN, expiry and security code of a request are used
// and forgotten; the security code is checked in the security module
// (hsm.CardCode) and never stored. An OTP is kept only as an HMAC-SHA-256
// under a key of the security module (hsm.Data.HashData), bound to its
// correlation ID, and compared in constant time; its clear text goes only
// into the message centre (the cardholder's SMS or e-mail), never into a
// log line, an error or the audit trail. The audit trail and logs carry
// masked PANs only.
package idv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire"
)

// Actor is the name the service writes in the audit trail.
const Actor = "issuer-idv"

// Default settings.
const (
	// DefaultOTPTTL is how long an OTP may be used (MODEL).
	DefaultOTPTTL = 5 * time.Minute
	// DefaultMaxFailures is the number of consecutive wrong entries after
	// which a card's provisioning locks (R-G3c: at most 5).
	DefaultMaxFailures = 5
	// DefaultMaxSends is the number of OTPs one attempt may be sent
	// (MODEL): more would flood the cardholder's phone.
	DefaultMaxSends = 5
	// OTPDigits is the length of an OTP (MODEL).
	OTPDigits = 6
	// DefaultCVKLabel, DefaultOTPKeyLabel, DefaultZPKLabel and
	// DefaultPVKLabel are the labels of the keys the service uses in the
	// security module.
	DefaultCVKLabel    = "issuer/cvk"
	DefaultOTPKeyLabel = "issuer/otp-hmac"
	DefaultZPKLabel    = "issuer/zpk"
	DefaultPVKLabel    = "issuer/pvk"
)

// SampleRequestors are the token requestor IDs of the sample network's
// wallets and HCE apps (11 digits each).
var SampleRequestors = []string{"40010030273", "50120834693", "40010075001"}

// HSM is the part of the security module the service uses.
type HSM interface {
	Lookup(label string) (hsm.Handle, error)
	GenerateKey(label string, usage hsm.Usage, alg keys.Alg, n int) (hsm.Handle, error)
	VerifyCVV(cvk hsm.Handle, pan, expiry, serviceCode, code string) error
	HashData(key hsm.Handle, data []byte) ([]byte, error)
	VerifyPIN(zpk hsm.Handle, block []byte, pan string, pvk hsm.Handle, pvki int, pvv string) error
}

// Config sets up a Service. DB and HSM are required.
type Config struct {
	DB  *store.DB
	HSM HSM
	// CVKLabel, OTPKeyLabel, ZPKLabel and PVKLabel name the keys
	// (defaults above). The OTP key (hsm.UsageDataHash) is generated in
	// the module when missing; the others must be there.
	CVKLabel, OTPKeyLabel, ZPKLabel, PVKLabel string
	// Requestors are the token requestor IDs the issuer works with
	// (SampleRequestors when nil); any other is declined
	// unknown_requestor.
	Requestors []string
	// Rules decide the colour from the decisioning data (DefaultRules
	// when nil).
	Rules []Rule
	// OTPTTL is how long an OTP may be used (DefaultOTPTTL when zero).
	OTPTTL time.Duration
	// MaxFailures is the number of consecutive wrong entries that locks a
	// card's provisioning (DefaultMaxFailures when zero).
	MaxFailures int
	// MaxSends is the number of OTPs one attempt may be sent
	// (DefaultMaxSends when zero).
	MaxSends int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand draws the OTPs (crypto/rand when nil).
	Rand io.Reader
	// Logger receives one line per decision and refusal, with masked PANs
	// only (slog.Default when nil).
	Logger *slog.Logger
}

// Service is the issuer's provisioning API. It is safe for concurrent
// use: every call is one store transaction.
type Service struct {
	db          *store.DB
	hsm         HSM
	cvk, otpKey hsm.Handle
	zpkLabel    string
	pvkLabel    string
	requestors  map[string]bool
	rules       []Rule
	ttl         time.Duration
	maxFail     int
	maxSends    int
	now         func() time.Time
	rnd         io.Reader
	log         *slog.Logger
}

// New checks cfg and finds the keys.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.HSM == nil {
		return nil, errors.New("idv: a store and a security module are required")
	}
	s := &Service{db: cfg.DB, hsm: cfg.HSM, rules: cfg.Rules, ttl: cfg.OTPTTL, maxFail: cfg.MaxFailures,
		maxSends: cfg.MaxSends, now: cfg.Now, rnd: cfg.Rand, log: cfg.Logger, zpkLabel: cfg.ZPKLabel, pvkLabel: cfg.PVKLabel,
		requestors: map[string]bool{}}
	if s.rules == nil {
		s.rules = DefaultRules()
	}
	if s.ttl <= 0 {
		s.ttl = DefaultOTPTTL
	}
	if s.maxFail <= 0 {
		s.maxFail = DefaultMaxFailures
	}
	if s.maxSends <= 0 {
		s.maxSends = DefaultMaxSends
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rnd == nil {
		s.rnd = rand.Reader
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.zpkLabel == "" {
		s.zpkLabel = DefaultZPKLabel
	}
	if s.pvkLabel == "" {
		s.pvkLabel = DefaultPVKLabel
	}
	reqs := cfg.Requestors
	if reqs == nil {
		reqs = SampleRequestors
	}
	for _, r := range reqs {
		s.requestors[r] = true
	}
	cvk := cfg.CVKLabel
	if cvk == "" {
		cvk = DefaultCVKLabel
	}
	var err error
	if s.cvk, err = cfg.HSM.Lookup(cvk); err != nil {
		return nil, fmt.Errorf("idv: card verification key: %w", err)
	}
	otp := cfg.OTPKeyLabel
	if otp == "" {
		otp = DefaultOTPKeyLabel
	}
	s.otpKey, err = cfg.HSM.Lookup(otp)
	if errors.Is(err, hsm.ErrUnknownKey) {
		s.otpKey, err = cfg.HSM.GenerateKey(otp, hsm.UsageDataHash, keys.AES, 32)
	}
	if err != nil {
		return nil, fmt.Errorf("idv: OTP key: %w", err)
	}
	return s, nil
}

// Decision is the outcome of an ID&V request.
type Decision string

// The decisions (FACT: the names MDES and VTS use).
const (
	Approved          Decision = wire.DecisionApproved
	StepUp            Decision = wire.DecisionRequireAuthN
	Declined          Decision = wire.DecisionDeclined
	recommendApproved          = "APPROVED"
)

// Method types (FACT: MDES activation method types).
const (
	MethodSMS       = wire.AuthTextToCardholder
	MethodEmail     = wire.AuthEmailToCardholder
	MethodIssuerApp = wire.AuthIssuerApp
)

// Method is a step-up method the issuer offers: its ID (to name it in
// SendOTP), type and masked contact.
type Method struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// DecisioningData is the token service's risk data about the request
// (FACT: MDES decisioningData).
type DecisioningData struct {
	// Recommendation is the token service's own: APPROVED, DECLINED or
	// REQUIRE_ADDITIONAL_AUTHENTICATION ("" for none).
	Recommendation        string   `json:"recommendation,omitempty"`
	DeviceScore           int      `json:"deviceScore,omitempty"`  // 1 (risky) to 5, 0 for none
	AccountScore          int      `json:"accountScore,omitempty"` // 1 (risky) to 5, 0 for none
	RecommendationReasons []string `json:"recommendationReasons,omitempty"`
	DeviceIPAddress       string   `json:"deviceIpAddress,omitempty"`
	MobileNumberSuffix    string   `json:"mobileNumberSuffix,omitempty"`
	// DeviceCVM is how the cardholder was verified on the phone when the
	// card was added (a consumer-device CVM, R-G3f): DeviceCVMPasscode,
	// DeviceCVMBiometric or DeviceCVMPattern; "" when the phone did not
	// say it verified the cardholder. The issuer approves green only with
	// it (MODEL, see Authorize).
	//
	// Residual trust: the claim is made by the phone's app and signed
	// with the device key the wallet provider bound to the wallet
	// account; the token service passes it on only when that signature
	// holds. It is as good as that key and the app that holds it, which
	// is the card schemes' own model of consumer-device CVM: the issuer
	// cannot see the fingerprint or the passcode.
	DeviceCVM string `json:"deviceCvm,omitempty"`
}

// Consumer-device CVMs the issuer accepts as a cardholder verification
// (R-G3f; names after the wallets' CDCVM types, MODEL).
const (
	DeviceCVMPasscode  = "PASSCODE"
	DeviceCVMBiometric = "BIOMETRIC"
	DeviceCVMPattern   = "PATTERN"
)

// ValidDeviceCVM reports whether m is one of the consumer-device CVMs.
func ValidDeviceCVM(m string) bool {
	return m == DeviceCVMPasscode || m == DeviceCVMBiometric || m == DeviceCVMPattern
}

// AuthorizeRequest is the token service's ID&V request for a card the
// cardholder typed into a wallet: the PAN, the expiry (YYMM) and the
// security code from the back of the card, with the token requestor, the
// target device and the risk data.
type AuthorizeRequest struct {
	CorrelationID string          `json:"correlationId"`
	RequestorID   string          `json:"tokenRequestorId"`
	TokenType     string          `json:"tokenType,omitempty"` // CLOUD, EMBEDDED_SE, STATIC
	PAN           string          `json:"pan"`
	Expiry        string          `json:"expiry"`       // YYMM
	SecurityCode  string          `json:"securityCode"` // CVV2/CVC2
	DeviceID      string          `json:"deviceId"`
	WalletID      string          `json:"walletId,omitempty"`
	Decisioning   DecisioningData `json:"decisioningData"`
}

// String shows the request with its PAN masked and no expiry or code.
func (r AuthorizeRequest) String() string {
	return fmt.Sprintf("ID&V request %s for %s from requestor %s, device %s", r.CorrelationID, pan.Mask(r.PAN),
		r.RequestorID, r.DeviceID)
}

// GoString is String, so that %#v shows no card data either.
func (r AuthorizeRequest) GoString() string { return r.String() }

// LogValue is String for slog.
func (r AuthorizeRequest) LogValue() slog.Value { return slog.StringValue(r.String()) }

// AuthorizeResponse is the issuer's decision.
type AuthorizeResponse struct {
	CorrelationID string   `json:"correlationId"`
	Decision      Decision `json:"decision"`
	// Reason says why a request was declined or stepped up ("" when
	// approved).
	Reason Reason `json:"reason,omitempty"`
	// Methods are the step-up methods of a yellow decision.
	Methods []Method `json:"authenticationMethods,omitempty"`
	// PANSuffix is the last 4 digits of the PAN (for the wallet's card
	// art), empty when no card was found.
	PANSuffix string `json:"accountPanSuffix,omitempty"`
	// TriesLeft is the number of wrong entries left before the lock, on
	// a wrong security code or expiry.
	TriesLeft int `json:"triesLeft,omitempty"`
}

// SendResult says where an OTP went.
type SendResult struct {
	CorrelationID string    `json:"correlationId"`
	MethodID      string    `json:"methodId"`
	Value         string    `json:"value"` // the masked contact
	ExpiresAt     time.Time `json:"expiresAt"`
}

// VerifyResult is a successful OTP check.
type VerifyResult struct {
	CorrelationID string `json:"correlationId"`
	Verified      bool   `json:"verified"`
}

var (
	correlationRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	refRE         = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	requestorRE   = regexp.MustCompile(`^[0-9]{11}$`)
	deviceRE      = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// subject is the audit subject of a card: its ID and masked PAN.
func subject(c store.Card) string { return "card " + c.ID + " " + pan.Mask(c.PAN) }
