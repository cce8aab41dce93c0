package wire

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/pan"
)

// Message types: the signed "typ" claim of each envelope. A receiver opens
// an envelope only as the type it expects at that endpoint (Expect.Type).
const (
	TypeCardData          = "card-data"
	TypeTokenizeRequest   = "tokenize-request"
	TypeTokenizeResponse  = "tokenize-response"
	TypeRequestOTP        = "request-otp"
	TypeRequestOTPResult  = "request-otp-result"
	TypeSubmitOTP         = "submit-otp"
	TypeSubmitOTPResult   = "submit-otp-result"
	TypeActivate          = "activate-passcode"
	TypeActivateResult    = "activate-passcode-result"
	TypeTokenData         = "token-data"
	TypeTokenDataAck      = "token-data-ack"
	TypeNotification      = "notification"
	TypeNotificationAck   = "notification-ack"
	TypeLifecycleRequest  = "lifecycle-request"
	TypeLifecycleResponse = "lifecycle-response"
)

// Validator is a message that checks its own fields. Every message type
// of this package is one; services call Validate after Decode.
type Validator interface {
	Validate() error
}

// CardData is the funding card as the cardholder typed it into the wallet
// app. The app seals it (TypeCardData) to the token service, and the
// wallet provider forwards the envelope untouched in
// TokenizeRequest.FundingAccountInfo: the wallet provider never sees it in
// clear (R-G1, R-G5g). Field names after MDES cardAccountData (FACT).
type CardData struct {
	// PAN is the card number, 12 to 19 digits, Luhn-valid.
	PAN string `json:"accountNumber"`
	// Expiry is the card's expiry date, YYMM.
	Expiry string `json:"expiry"`
	// SecurityCode is the 3- or 4-digit code printed on the card.
	SecurityCode string `json:"securityCode,omitempty"`
	// DeviceCVM is how the phone verified the cardholder before the card
	// was added (consumer-device CVM, R-G3f): DeviceCVMPasscode,
	// DeviceCVMBiometric or DeviceCVMPattern; "" for none. It rides in
	// the envelope the device signs, so that the token service can tell
	// the phone's own claim from the wallet provider's copy in RiskData
	// (MODEL).
	DeviceCVM string `json:"deviceCvm,omitempty"`
}

// Consumer-device CVMs a phone may claim (R-G3f; MODEL names).
const (
	DeviceCVMPasscode  = "PASSCODE"
	DeviceCVMBiometric = "BIOMETRIC"
	DeviceCVMPattern   = "PATTERN"
)

// ValidDeviceCVM reports whether m is "" or one of the consumer-device
// CVMs.
func ValidDeviceCVM(m string) bool {
	return m == "" || m == DeviceCVMPasscode || m == DeviceCVMBiometric || m == DeviceCVMPattern
}

// String is a masked rendering (first 6, last 4 at most): never the full
// PAN or the code.
func (c CardData) String() string { return "card " + pan.Mask(c.PAN) }

// GoString is String.
func (c CardData) GoString() string { return c.String() }

// Validate implements Validator. Its errors never quote the fields.
func (c CardData) Validate() error {
	if !digits(c.PAN, 12, 19) || !pan.LuhnValid(c.PAN) {
		return fmt.Errorf("%w: card data: accountNumber is not a 12 to 19 digit Luhn-valid PAN", ErrInvalid)
	}
	if !validYYMM(c.Expiry) {
		return fmt.Errorf("%w: card data: expiry is not YYMM", ErrInvalid)
	}
	if c.SecurityCode != "" && !digits(c.SecurityCode, 3, 4) {
		return fmt.Errorf("%w: card data: securityCode is not 3 or 4 digits", ErrInvalid)
	}
	if !ValidDeviceCVM(c.DeviceCVM) {
		return fmt.Errorf("%w: card data: deviceCvm is not PASSCODE, BIOMETRIC or PATTERN", ErrInvalid)
	}
	return nil
}

// FundingAccountInfo carries the card data to the token service as an
// envelope the wallet provider cannot open (MDES fundingAccountInfo,
// FACT; its content is tapsim's envelope, MODEL).
type FundingAccountInfo struct {
	// EncryptedPayload is a Seal of CardData (TypeCardData) by the phone's
	// app to the token service.
	EncryptedPayload string `json:"encryptedPayload"`
}

// Recommendations of the wallet provider's risk assessment and decisions
// of the token service (FACT: MDES decision values).
const (
	DecisionApproved     = "APPROVED"
	DecisionDeclined     = "DECLINED"
	DecisionRequireAuthN = "REQUIRE_ADDITIONAL_AUTHENTICATION"
)

// RiskData is the wallet provider's assessment of the request (MDES
// decisioningData, FACT; the scoring is tapsim's MODEL).
type RiskData struct {
	// Recommendation is APPROVED, DECLINED or
	// REQUIRE_ADDITIONAL_AUTHENTICATION.
	Recommendation string `json:"recommendation"`
	// DeviceScore and AccountScore go from 1 (risky) to 5 (trusted).
	DeviceScore  int `json:"deviceScore"`
	AccountScore int `json:"accountScore"`
	// Reasons are machine-readable codes behind the recommendation
	// (MDES recommendationReasons), e.g. "ACCOUNT_TOO_NEW".
	Reasons []string `json:"recommendationReasons,omitempty"`
	// DeviceCVM is the phone's claim, as the wallet provider received it
	// with the add-card request, that the cardholder was verified on the
	// device (R-G3f); "" for none. The token service passes it to the
	// issuer only when the device's signed card data says the same.
	DeviceCVM string `json:"deviceCvm,omitempty"`
}

// Validate implements Validator.
func (r RiskData) Validate() error {
	if !decision(r.Recommendation) {
		return fmt.Errorf("%w: risk data: recommendation %s", ErrInvalid, safeName(r.Recommendation))
	}
	if r.DeviceScore < 1 || r.DeviceScore > 5 || r.AccountScore < 1 || r.AccountScore > 5 {
		return fmt.Errorf("%w: risk data: scores go from 1 to 5", ErrInvalid)
	}
	if len(r.Reasons) > 16 {
		return fmt.Errorf("%w: risk data: more than 16 reasons", ErrInvalid)
	}
	if !ValidDeviceCVM(r.DeviceCVM) {
		return fmt.Errorf("%w: risk data: deviceCvm is not PASSCODE, BIOMETRIC or PATTERN", ErrInvalid)
	}
	for _, s := range r.Reasons {
		if !code(s) {
			return fmt.Errorf("%w: risk data: a reason is not an upper-case code", ErrInvalid)
		}
	}
	return nil
}

// TokenizeRequest asks the token service to make a token of a card for a
// device (TypeTokenizeRequest, wallet provider -> token service). After
// MDES tokenize (FACT); deviceId and devicePublicKeys are tapsim's binding
// of the token to the phone (MODEL, R-S5d).
type TokenizeRequest struct {
	// TaskID is unique per token requestor: a repeated taskId is a
	// replay of the same task (MDES taskId).
	TaskID string `json:"taskId"`
	// TokenRequestorID is the wallet's 11-digit token requestor ID.
	TokenRequestorID string `json:"tokenRequestorId"`
	// WalletAccountID names the cardholder's wallet account.
	WalletAccountID string `json:"walletAccountId"`
	// DeviceID is the phone's hardware device ID, hex, 1 to 8 bytes.
	DeviceID string `json:"deviceId"`
	// DevicePublicKeys are the phone app's keys: token data is sealed to
	// its encryption key; its signing key verifies the card data and the
	// acknowledgement the app signs. They are trusted only as far as the
	// wallet provider's signature on this request.
	DevicePublicKeys PartyKeys `json:"devicePublicKeys"`
	// FundingAccountInfo carries the card data, sealed to the token
	// service by the app.
	FundingAccountInfo FundingAccountInfo `json:"fundingAccountInfo"`
	// DecisioningData is the wallet provider's risk assessment.
	DecisioningData RiskData `json:"decisioningData"`
	// ConsumerLanguage is the cardholder's language, ISO 639-1 ("zh").
	ConsumerLanguage string `json:"consumerLanguage"`
}

// Validate implements Validator.
func (r TokenizeRequest) Validate() error {
	if !token(r.TaskID, 64) {
		return fmt.Errorf("%w: tokenize: taskId must be 1 to 64 of [A-Za-z0-9._:-]", ErrInvalid)
	}
	if !digits(r.TokenRequestorID, 11, 11) {
		return fmt.Errorf("%w: tokenize: tokenRequestorId must be 11 digits", ErrInvalid)
	}
	if !token(r.WalletAccountID, 64) {
		return fmt.Errorf("%w: tokenize: walletAccountId must be 1 to 64 of [A-Za-z0-9._:-]", ErrInvalid)
	}
	if err := ValidDeviceID(r.DeviceID); err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	if _, err := r.DevicePublicKeys.PublicKeys(); err != nil {
		return fmt.Errorf("%w: tokenize: devicePublicKeys: %w", ErrInvalid, err)
	}
	if n := strings.Count(r.FundingAccountInfo.EncryptedPayload, "."); n != 4 {
		return fmt.Errorf("%w: tokenize: fundingAccountInfo.encryptedPayload is not an envelope", ErrInvalid)
	}
	if err := r.DecisioningData.Validate(); err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	if len(r.ConsumerLanguage) != 2 || !lower(r.ConsumerLanguage) {
		return fmt.Errorf("%w: tokenize: consumerLanguage must be an ISO 639-1 code", ErrInvalid)
	}
	return nil
}

// DeviceKeys parses DevicePublicKeys.
func (r TokenizeRequest) DeviceKeys() (PublicKeys, error) {
	k, err := r.DevicePublicKeys.PublicKeys()
	if err != nil {
		return PublicKeys{}, fmt.Errorf("tokenize: devicePublicKeys: %w", err)
	}
	return k, nil
}

// OpenCardData is the token service's side of the nested envelope: it
// opens FundingAccountInfo.EncryptedPayload as card data sealed to me by
// the phone's app, whose signing key is the one in DevicePublicKeys
// (trusted as far as the signature of the wallet provider on the request
// that carries it, which the caller has checked), and validates it.
// want.Type and want.From are set here; want.Replay records the inner
// jti too, so a card payload cannot be reused in another request.
func (r TokenizeRequest) OpenCardData(me *Party, want Expect) (CardData, Claims, error) {
	dev, err := r.DeviceKeys()
	if err != nil {
		return CardData{}, Claims{}, err
	}
	trust, err := NewTrustList(dev)
	if err != nil {
		return CardData{}, Claims{}, fmt.Errorf("tokenize: devicePublicKeys: %w", err)
	}
	want.Type, want.From = TypeCardData, dev.Name
	var cd CardData
	c, err := OpenInto(r.FundingAccountInfo.EncryptedPayload, me, trust, want, &cd)
	if err != nil {
		return CardData{}, Claims{}, fmt.Errorf("tokenize: card data: %w", err)
	}
	if err := cd.Validate(); err != nil {
		return CardData{}, Claims{}, fmt.Errorf("tokenize: %w", err)
	}
	return cd, c, nil
}

// ValidDeviceID checks a hardware device ID: hex, 1 to 8 bytes.
func ValidDeviceID(id string) error {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) == 0 || len(b) > 8 {
		return fmt.Errorf("%w: deviceId must be 1 to 8 bytes of hex", ErrInvalid)
	}
	return nil
}

// Authentication method types (FACT: MDES / VTS step-up types).
const (
	AuthTextToCardholder  = "TEXT_TO_CARDHOLDER_NUMBER"
	AuthEmailToCardholder = "EMAIL_TO_CARDHOLDER_ADDRESS"
	AuthIssuerApp         = "CARDHOLDER_TO_USE_ISSUER_MOBILE_APP"
)

// AuthenticationMethod is one way the issuer can verify the cardholder
// (ID&V step-up, FACT).
type AuthenticationMethod struct {
	// ID names the method in RequestOTP.
	ID string `json:"id"`
	// Type is TEXT_TO_CARDHOLDER_NUMBER, EMAIL_TO_CARDHOLDER_ADDRESS or
	// CARDHOLDER_TO_USE_ISSUER_MOBILE_APP.
	Type string `json:"type"`
	// Value is the masked contact, e.g. "*******1234" or "a***@example.com".
	Value string `json:"value"`
}

// Token states (FACT: MDES / EMVCo life cycle).
const (
	StatusInactive    = "INACTIVE"
	StatusActive      = "ACTIVE"
	StatusSuspended   = "SUSPENDED"
	StatusDeactivated = "DEACTIVATED"
)

// TokenInfo describes a token without revealing it (MDES tokenInfo, FACT).
type TokenInfo struct {
	// TokenPanSuffix and AccountPanSuffix are the last 4 digits.
	TokenPanSuffix   string `json:"tokenPanSuffix"`
	AccountPanSuffix string `json:"accountPanSuffix"`
	// TokenExpiry is MMYY.
	TokenExpiry string `json:"tokenExpiry"`
	// Status is INACTIVE, ACTIVE, SUSPENDED or DEACTIVATED.
	Status string `json:"status"`
}

// TokenizeResponse is the token service's answer to a TokenizeRequest
// (TypeTokenizeResponse). APPROVED: the token is ACTIVE and its TokenData
// follows; REQUIRE_ADDITIONAL_AUTHENTICATION: the token exists INACTIVE
// until the cardholder passes one of AuthenticationMethods (the yellow
// path); DECLINED: nothing was made.
type TokenizeResponse struct {
	// TaskID echoes the request's.
	TaskID string `json:"taskId"`
	// Decision is APPROVED, DECLINED or REQUIRE_ADDITIONAL_AUTHENTICATION.
	Decision string `json:"decision"`
	// AuthenticationMethods are offered with
	// REQUIRE_ADDITIONAL_AUTHENTICATION.
	AuthenticationMethods []AuthenticationMethod `json:"authenticationMethods,omitempty"`
	// TokenUniqueReference (TUR) names the token everywhere outside the
	// vault.
	TokenUniqueReference string `json:"tokenUniqueReference,omitempty"`
	// PanUniqueReference names the funding account.
	PanUniqueReference string `json:"panUniqueReference,omitempty"`
	// TokenInfo describes the token (absent when DECLINED).
	TokenInfo *TokenInfo `json:"tokenInfo,omitempty"`
	// Reason is a machine-readable reason for a DECLINED decision.
	Reason string `json:"reason,omitempty"`
	// TokenData is the TokenData envelope sealed by the token service to
	// the device (APPROVED only): the wallet provider forwards it to the
	// phone without being able to open it.
	TokenData string `json:"tokenData,omitempty"`
}

// Validate implements Validator.
func (r TokenizeResponse) Validate() error {
	if !token(r.TaskID, 64) || !decision(r.Decision) {
		return fmt.Errorf("%w: tokenize response: taskId or decision", ErrInvalid)
	}
	if r.Decision == DecisionDeclined {
		return nil
	}
	if !token(r.TokenUniqueReference, 64) || r.TokenInfo == nil {
		return fmt.Errorf("%w: tokenize response: a token needs its reference and info", ErrInvalid)
	}
	if r.Decision == DecisionRequireAuthN && len(r.AuthenticationMethods) == 0 {
		return fmt.Errorf("%w: tokenize response: additional authentication without methods", ErrInvalid)
	}
	for _, m := range r.AuthenticationMethods {
		switch m.Type {
		case AuthTextToCardholder, AuthEmailToCardholder, AuthIssuerApp:
		default:
			return fmt.Errorf("%w: tokenize response: authentication type %s", ErrInvalid, safeName(m.Type))
		}
		if !token(m.ID, 32) {
			return fmt.Errorf("%w: tokenize response: authentication method id", ErrInvalid)
		}
	}
	ti := r.TokenInfo
	if !digits(ti.TokenPanSuffix, 4, 4) || !digits(ti.AccountPanSuffix, 4, 4) || !validMMYY(ti.TokenExpiry) || !status(ti.Status) {
		return fmt.Errorf("%w: tokenize response: tokenInfo", ErrInvalid)
	}
	return nil
}

// RequestOTP asks for a one-time password to be sent by one of the offered
// methods (TypeRequestOTP, wallet provider -> token service; MDES
// requestActivationCode, FACT).
type RequestOTP struct {
	// TaskID is unique per token requestor.
	TaskID string `json:"taskId"`
	// TokenUniqueReference names the INACTIVE token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// AuthenticationMethodID is the ID of the chosen method.
	AuthenticationMethodID string `json:"authenticationMethodId"`
}

// Validate implements Validator.
func (r RequestOTP) Validate() error {
	if !token(r.TaskID, 64) || !token(r.TokenUniqueReference, 64) || !token(r.AuthenticationMethodID, 32) {
		return fmt.Errorf("%w: request OTP: taskId, tokenUniqueReference and authenticationMethodId are required", ErrInvalid)
	}
	return nil
}

// OTP results (FACT: MDES activate results).
const (
	ResultSuccess         = "SUCCESS"
	ResultIncorrectCode   = "INCORRECT_CODE"
	ResultExpiredCode     = "EXPIRED_CODE"
	ResultRetriesExceeded = "INCORRECT_CODE_RETRIES_EXCEEDED"
)

// RequestOTPResult answers RequestOTP (TypeRequestOTPResult).
type RequestOTPResult struct {
	// Result is SUCCESS when the OTP was sent.
	Result string `json:"result"`
	// ExpiresAt is when the OTP stops being accepted (5 minutes by default, the issuer's setting).
	ExpiresAt time.Time `json:"expiresAt"`
}

// Validate implements Validator.
func (r RequestOTPResult) Validate() error {
	if !code(r.Result) {
		return fmt.Errorf("%w: request OTP result", ErrInvalid)
	}
	return nil
}

// SubmitOTP carries the OTP the cardholder typed (TypeSubmitOTP; MDES
// activate, FACT). It travels only inside an envelope (R-S2a, R-G3e).
type SubmitOTP struct {
	// TaskID is unique per token requestor.
	TaskID string `json:"taskId"`
	// TokenUniqueReference names the INACTIVE token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// OTP is the code, 6 to 8 digits (MODEL: 6).
	OTP string `json:"authenticationCode"`
}

// String hides the OTP.
func (r SubmitOTP) String() string { return "submit OTP for " + r.TokenUniqueReference }

// GoString is String.
func (r SubmitOTP) GoString() string { return r.String() }

// Validate implements Validator.
func (r SubmitOTP) Validate() error {
	if !token(r.TaskID, 64) || !token(r.TokenUniqueReference, 64) || !digits(r.OTP, 6, 8) {
		return fmt.Errorf("%w: submit OTP: taskId, tokenUniqueReference and a 6 to 8 digit code are required", ErrInvalid)
	}
	return nil
}

// SubmitOTPResult answers SubmitOTP (TypeSubmitOTPResult).
type SubmitOTPResult struct {
	// Result is SUCCESS, INCORRECT_CODE, EXPIRED_CODE or
	// INCORRECT_CODE_RETRIES_EXCEEDED.
	Result string `json:"result"`
	// RetriesRemaining counts the tries left after INCORRECT_CODE.
	RetriesRemaining int `json:"retriesRemaining"`
	// TokenData is the TokenData envelope sealed to the device, sent with
	// SUCCESS (the token is now ACTIVE).
	TokenData string `json:"tokenData,omitempty"`
}

// Validate implements Validator.
func (r SubmitOTPResult) Validate() error {
	switch r.Result {
	case ResultSuccess, ResultIncorrectCode, ResultExpiredCode, ResultRetriesExceeded:
	default:
		return fmt.Errorf("%w: submit OTP result %s", ErrInvalid, safeName(r.Result))
	}
	if r.RetriesRemaining < 0 {
		return fmt.Errorf("%w: submit OTP result: negative retries", ErrInvalid)
	}
	return nil
}

// ActivatePasscode carries the card's passcode (its PIN) with which the
// cardholder activates a token afterwards, when the step-up was not
// completed (TypeActivate, phone -> token service, relayed untouched by
// the wallet provider; R-S2a: activation afterwards by phone). The PIN is
// an ISO 9564 format 1 PIN block, the one format that needs no PAN (the
// phone holds the token, never the funding card's number), and travels
// only inside this envelope, sealed to the token service (R-G1); the
// token service hands it to the issuer's security module, where it is
// re-enciphered under the zone PIN key and checked against the card's PIN
// verification value (MODEL).
type ActivatePasscode struct {
	// TaskID is unique per token requestor.
	TaskID string `json:"taskId"`
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// PINBlock is the clear format 1 PIN block, 16 hex digits.
	PINBlock string `json:"pinBlock"`
}

// String hides the PIN block.
func (r ActivatePasscode) String() string { return "passcode activation of " + r.TokenUniqueReference }

// GoString is String.
func (r ActivatePasscode) GoString() string { return r.String() }

// Validate implements Validator. Its errors never quote the block.
func (r ActivatePasscode) Validate() error {
	if !token(r.TaskID, 64) || !token(r.TokenUniqueReference, 64) {
		return fmt.Errorf("%w: activate: taskId and tokenUniqueReference are required", ErrInvalid)
	}
	if b, err := hex.DecodeString(r.PINBlock); err != nil || len(b) != 8 || b[0]>>4 != 1 {
		return fmt.Errorf("%w: activate: pinBlock must be an 8-byte ISO 9564 format 1 block in hex", ErrInvalid)
	}
	return nil
}

// ActivateResult answers ActivatePasscode (TypeActivateResult): SUCCESS
// (with the token data sealed to the device when the token was inactive),
// INCORRECT_CODE with the tries left, INCORRECT_CODE_RETRIES_EXCEEDED when
// the card's provisioning is locked (R-G3c).
type ActivateResult = SubmitOTPResult

// DomainControls summarise where the token may be used (EMVCo Token
// Domain Restriction Controls, FACT; this set of fields is tapsim's
// MODEL). The token service enforces them at detokenisation; the phone
// only displays them.
type DomainControls struct {
	// POSEntryModes are the allowed ISO 8583 POS entry modes (e.g. "07"
	// contactless chip).
	POSEntryModes []string `json:"posEntryModes"`
	// DeviceID binds the token to this phone.
	DeviceID string `json:"deviceId"`
	// MaxAmount is the largest amount in minor units (0: no limit).
	MaxAmount int64 `json:"maxAmount,omitempty"`
	// Currency is the ISO 4217 numeric code of MaxAmount.
	Currency string `json:"currency,omitempty"`
}

// TokenData personalises the wallet phone with its token (TypeTokenData,
// token service -> wallet provider -> phone). It is sealed by the token
// service to the phone's encryption key (DevicePublicKeys), so the wallet
// provider forwards an envelope it cannot open (R-G1, R-G5e, R-G5g). The
// content is tapsim's MODEL (MDES/VTS device personalisation is licensed).
type TokenData struct {
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// TokenPAN is the token, 12 to 19 digits, Luhn-valid.
	TokenPAN string `json:"tokenPan"`
	// TokenExpiry is YYMM.
	TokenExpiry string `json:"tokenExpiry"`
	// PSN is the PAN sequence number, 2 digits.
	PSN string `json:"psn"`
	// CVN names the cryptogram version (emv/cryptogram names: visa10,
	// visa18, visa22, mc16, mc17, mc20, mc21).
	CVN string `json:"cvn"`
	// WrappedICCMasterKey is the token's ICC master key for application
	// cryptograms, wrapped by the security module for the phone's
	// encryption key (emv/devicekey: ephemeral P-256 key and AES key
	// wrap). The envelope around the token data is a second layer: the
	// key exists in clear only inside the module and the phone (R-G5b).
	// The phone opens it with Party.UnwrapICCMasterKey.
	WrappedICCMasterKey []byte `json:"wrappedIccMasterKey"`
	// ICCMasterKeyKCV is the key's check value (hex, keys.Key.KCVHex),
	// for the phone to check what it unwrapped.
	ICCMasterKeyKCV string `json:"iccMasterKeyKcv"`
	// DKI is the derivation key index the issuer host uses.
	DKI int `json:"dki,omitempty"`
	// TokenRequestorID is the wallet's 11-digit token requestor ID.
	TokenRequestorID string `json:"tokenRequestorId"`
	// DomainControls summarise where the token may be used.
	DomainControls DomainControls `json:"domainControls"`
	// Status is the token's state at delivery (INACTIVE or ACTIVE).
	Status string `json:"status"`
}

// String hides the token PAN and the key.
func (d TokenData) String() string {
	return "token data " + d.TokenUniqueReference + " " + pan.Mask(d.TokenPAN)
}

// GoString is String.
func (d TokenData) GoString() string { return d.String() }

// Validate implements Validator. Its errors never quote the PAN or key.
func (d TokenData) Validate() error {
	if !token(d.TokenUniqueReference, 64) {
		return fmt.Errorf("%w: token data: tokenUniqueReference", ErrInvalid)
	}
	if !digits(d.TokenPAN, 12, 19) || !pan.LuhnValid(d.TokenPAN) {
		return fmt.Errorf("%w: token data: tokenPan is not a Luhn-valid PAN", ErrInvalid)
	}
	if !validYYMM(d.TokenExpiry) || !digits(d.PSN, 2, 2) {
		return fmt.Errorf("%w: token data: tokenExpiry (YYMM) or psn", ErrInvalid)
	}
	if !token(d.CVN, 16) {
		return fmt.Errorf("%w: token data: cvn", ErrInvalid)
	}
	if n := len(d.WrappedICCMasterKey); n < devicekey.MinWrapped || n > devicekey.MaxWrapped || d.WrappedICCMasterKey[0] != devicekey.Version {
		return fmt.Errorf("%w: token data: wrappedIccMasterKey is not a wrapped key", ErrInvalid)
	}
	if k, err := hex.DecodeString(d.ICCMasterKeyKCV); err != nil || (len(k) != 3 && len(k) != 5) {
		return fmt.Errorf("%w: token data: iccMasterKeyKcv is not 3 or 5 bytes of hex", ErrInvalid)
	}
	if !digits(d.TokenRequestorID, 11, 11) {
		return fmt.Errorf("%w: token data: tokenRequestorId", ErrInvalid)
	}
	if err := ValidDeviceID(d.DomainControls.DeviceID); err != nil {
		return fmt.Errorf("token data: domain controls: %w", err)
	}
	if d.Status != StatusInactive && d.Status != StatusActive {
		return fmt.Errorf("%w: token data: status", ErrInvalid)
	}
	return nil
}

// Acknowledgement results of the phone.
const (
	AckInstalled = "INSTALLED"
	AckFailed    = "FAILED"
)

// TokenDataAck is the phone's answer to TokenData (TypeTokenDataAck,
// phone -> wallet provider -> token service), signed by the phone's app:
// the token service then tells the issuer the download completed (R-M5).
type TokenDataAck struct {
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// DeviceID is the phone's device ID.
	DeviceID string `json:"deviceId"`
	// Result is INSTALLED or FAILED.
	Result string `json:"result"`
	// Reason is a machine-readable reason when FAILED.
	Reason string `json:"reason,omitempty"`
}

// Validate implements Validator.
func (a TokenDataAck) Validate() error {
	if !token(a.TokenUniqueReference, 64) || (a.Result != AckInstalled && a.Result != AckFailed) {
		return fmt.Errorf("%w: token data ack: tokenUniqueReference and result", ErrInvalid)
	}
	return ValidDeviceID(a.DeviceID)
}

// Notification events (FACT in substance: MDES notifyTokenUpdated, VTS
// token notifications; names MODEL).
const (
	EventTokenCreated     = "tokenCreated"
	EventDownloadComplete = "downloadComplete"
	EventSuspended        = "suspended"
	EventResumed          = "resumed"
	EventDeleted          = "deleted"
)

// Notification tells a party of a token event (TypeNotification: token
// service -> issuer, token service -> wallet provider). Notifications may
// arrive twice or out of order: a receiver handles each CorrelationID once
// and answers a repeat with the same NotificationAck (idempotent).
type Notification struct {
	// CorrelationID names this event; repeats carry the same one.
	CorrelationID string `json:"correlationId"`
	// Event is tokenCreated, downloadComplete, suspended, resumed or
	// deleted.
	Event string `json:"event"`
	// TokenUniqueReference names the token; PanUniqueReference the
	// account.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	PanUniqueReference   string `json:"panUniqueReference,omitempty"`
	// Status is the token's state after the event.
	Status string `json:"status"`
	// Reason is a machine-readable reason (suspend, delete).
	Reason string `json:"reason,omitempty"`
	// OccurredAt is when the event happened at the sender.
	OccurredAt time.Time `json:"occurredAt"`
}

// Validate implements Validator.
func (n Notification) Validate() error {
	if !token(n.CorrelationID, 64) || !token(n.TokenUniqueReference, 64) || !status(n.Status) {
		return fmt.Errorf("%w: notification: correlationId, tokenUniqueReference and status", ErrInvalid)
	}
	switch n.Event {
	case EventTokenCreated, EventDownloadComplete, EventSuspended, EventResumed, EventDeleted:
	default:
		return fmt.Errorf("%w: notification: event %s", ErrInvalid, safeName(n.Event))
	}
	if n.OccurredAt.IsZero() {
		return fmt.Errorf("%w: notification: occurredAt", ErrInvalid)
	}
	return nil
}

// NotificationAck answers a Notification (TypeNotificationAck).
type NotificationAck struct {
	// CorrelationID echoes the notification's.
	CorrelationID string `json:"correlationId"`
	// Duplicate is true when the event had been handled before.
	Duplicate bool `json:"duplicate"`
}

// Validate implements Validator.
func (a NotificationAck) Validate() error {
	if !token(a.CorrelationID, 64) {
		return fmt.Errorf("%w: notification ack: correlationId", ErrInvalid)
	}
	return nil
}

// Life-cycle actions (FACT: MDES suspend, unsuspend, delete).
const (
	ActionSuspend = "SUSPEND"
	ActionResume  = "RESUME"
	ActionDelete  = "DELETE"
)

// Actors of a life-cycle change; suspensions stack per actor (FACT: MDES
// suspendedBy; resume clears only the caller's own is tapsim's MODEL).
const (
	ActorIssuer          = "ISSUER"
	ActorTokenRequestor  = "TOKEN_REQUESTOR"
	ActorCardholder      = "CARDHOLDER"
	ActorMobilePINLocked = "MOBILE_PIN_LOCKED"
)

// MaxLifecycleTokens is the most tokens one life-cycle request names
// (FACT: MDES, 10).
const MaxLifecycleTokens = 10

// LifecycleRequest suspends, resumes or deletes tokens
// (TypeLifecycleRequest).
type LifecycleRequest struct {
	// TaskID is unique per requestor.
	TaskID string `json:"taskId"`
	// Action is SUSPEND, RESUME or DELETE.
	Action string `json:"action"`
	// TokenUniqueReferences name 1 to 10 tokens.
	TokenUniqueReferences []string `json:"tokenUniqueReferences"`
	// Actor is who asks: ISSUER, TOKEN_REQUESTOR, CARDHOLDER or
	// MOBILE_PIN_LOCKED.
	Actor string `json:"actor"`
	// Reason is machine-readable, e.g. "DEVICE_LOST" (R-C1).
	Reason string `json:"reason"`
	// DeviceID, when set, names a phone: the action applies to every
	// token bound to it (a lost-phone report, R-C1), and
	// TokenUniqueReferences may be empty.
	DeviceID string `json:"deviceId,omitempty"`
}

// Validate implements Validator.
func (r LifecycleRequest) Validate() error {
	if !token(r.TaskID, 64) {
		return fmt.Errorf("%w: life cycle: taskId", ErrInvalid)
	}
	switch r.Action {
	case ActionSuspend, ActionResume, ActionDelete:
	default:
		return fmt.Errorf("%w: life cycle: action %s", ErrInvalid, safeName(r.Action))
	}
	switch r.Actor {
	case ActorIssuer, ActorTokenRequestor, ActorCardholder, ActorMobilePINLocked:
	default:
		return fmt.Errorf("%w: life cycle: actor %s", ErrInvalid, safeName(r.Actor))
	}
	if r.DeviceID != "" {
		if err := ValidDeviceID(r.DeviceID); err != nil {
			return fmt.Errorf("life cycle: %w", err)
		}
	}
	if n := len(r.TokenUniqueReferences); (n == 0 && r.DeviceID == "") || n > MaxLifecycleTokens {
		return fmt.Errorf("%w: life cycle: 1 to %d tokens", ErrInvalid, MaxLifecycleTokens)
	}
	for _, t := range r.TokenUniqueReferences {
		if !token(t, 64) {
			return fmt.Errorf("%w: life cycle: tokenUniqueReference", ErrInvalid)
		}
	}
	if !code(r.Reason) {
		return fmt.Errorf("%w: life cycle: reason is an upper-case code", ErrInvalid)
	}
	return nil
}

// TokenStatus is one token's state after a life-cycle request.
type TokenStatus struct {
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// Status is its state now.
	Status string `json:"status"`
	// SuspendedBy lists the actors whose suspension still holds.
	SuspendedBy []string `json:"suspendedBy,omitempty"`
	// Reason is a machine-readable reason when the change was not made.
	Reason string `json:"reason,omitempty"`
}

// LifecycleResponse answers a LifecycleRequest (TypeLifecycleResponse).
type LifecycleResponse struct {
	// TaskID echoes the request's.
	TaskID string `json:"taskId"`
	// Tokens holds one entry per token of the request.
	Tokens []TokenStatus `json:"tokens"`
}

// Validate implements Validator.
func (r LifecycleResponse) Validate() error {
	if !token(r.TaskID, 64) || len(r.Tokens) == 0 || len(r.Tokens) > MaxLifecycleTokens {
		return fmt.Errorf("%w: life cycle response: taskId and 1 to %d tokens", ErrInvalid, MaxLifecycleTokens)
	}
	for _, t := range r.Tokens {
		if !token(t.TokenUniqueReference, 64) || !status(t.Status) {
			return fmt.Errorf("%w: life cycle response: token reference or status", ErrInvalid)
		}
	}
	return nil
}

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

// token is an identifier: 1 to max of the party-name alphabet.
func token(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameChar(s[i]) {
			return false
		}
	}
	return true
}

// code is an upper-case machine-readable code: [A-Z0-9_], 1 to 64.
func code(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func lower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func validYYMM(s string) bool {
	return digits(s, 4, 4) && s[2:] >= "01" && s[2:] <= "12"
}

func validMMYY(s string) bool {
	return digits(s, 4, 4) && s[:2] >= "01" && s[:2] <= "12"
}

func decision(s string) bool {
	return s == DecisionApproved || s == DecisionDeclined || s == DecisionRequireAuthN
}

func status(s string) bool {
	return s == StatusInactive || s == StatusActive || s == StatusSuspended || s == StatusDeactivated
}
