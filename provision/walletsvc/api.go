package walletsvc

import (
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// Paths of the phones' API and of the notification endpoint.
const (
	PathCards      = "/wallet/cards"
	PathRequestOTP = "/wallet/otp/request"
	PathSubmitOTP  = "/wallet/otp/submit"
	PathActivate   = "/wallet/activate"
	PathAck        = "/wallet/ack"
	PathLifecycle  = "/wallet/lifecycle"
	PathTokens     = "/wallet/tokens"
	PathNotify     = "/tsp/notify"
)

// Message types of the phone's signed requests: each request but
// add-card is a JSON message sealed in a wire envelope to the wallet
// provider and signed with the device's signing key bound to the wallet
// account at its first add-card (R-G2, R-G4).
const (
	TypeRequestOTP = "wallet.otp.request"
	TypeSubmitOTP  = "wallet.otp.submit"
	TypeActivate   = "wallet.activate"
	TypeAck        = "wallet.ack"
	TypeLifecycle  = "wallet.lifecycle"
	TypeTokens     = "wallet.tokens"
)

// AddCardRequest is the phone's request to add a card, plain JSON: its
// card data is sealed to the token service, and its device keys are bound
// to the wallet account and device ID on the account's first add-card
// (trust on first use); a later add-card for the account must present
// the same device ID and keys.
type AddCardRequest struct {
	// RequestID names the request; a retry carries the same one (it is
	// the token service's taskId).
	RequestID string `json:"requestId"`
	// WalletAccountID names the cardholder's wallet account.
	WalletAccountID string `json:"walletAccountId"`
	// DeviceID is the phone's hardware device ID (hex).
	DeviceID string `json:"deviceId"`
	// DevicePublicKeys are the app's public keys.
	DevicePublicKeys wire.PartyKeys `json:"devicePublicKeys"`
	// CardData is the card, sealed by the app to the token service.
	CardData string `json:"cardData"`
	// Language is the cardholder's language (ISO 639-1).
	Language string `json:"language"`
	// DeviceCVM is how the phone verified the cardholder before adding
	// the card (R-G3f), "" for none; forwarded in the risk data. The
	// phone signs the same claim inside CardData, which the token service
	// checks: the wallet provider cannot add it on its own.
	DeviceCVM string `json:"deviceCvm,omitempty"`
}

// AddCardResponse answers AddCardRequest.
type AddCardResponse struct {
	// Decision is APPROVED, REQUIRE_ADDITIONAL_AUTHENTICATION or DECLINED.
	Decision string `json:"decision"`
	// TokenUniqueReference names the token (not when DECLINED).
	TokenUniqueReference string `json:"tokenUniqueReference,omitempty"`
	// Methods are the step-up methods offered.
	Methods []wire.AuthenticationMethod `json:"authenticationMethods,omitempty"`
	// AccountPanSuffix and TokenPanSuffix are last 4 digits.
	AccountPanSuffix string `json:"accountPanSuffix,omitempty"`
	TokenPanSuffix   string `json:"tokenPanSuffix,omitempty"`
	// Status is the token's state.
	Status string `json:"status,omitempty"`
	// Reason is the reason of a decline.
	Reason string `json:"reason,omitempty"`
	// TokenData is the token data sealed to the phone (APPROVED).
	TokenData string `json:"tokenData,omitempty"`
}

// OTPRequest asks for an OTP by one of the offered methods.
type OTPRequest struct {
	// WalletAccountID names the wallet account holding the token.
	WalletAccountID string `json:"walletAccountId"`
	// TokenUniqueReference names the INACTIVE token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// MethodID is the ID of one of the offered methods.
	MethodID string `json:"methodId"`
}

// OTPRequestResult answers OTPRequest.
type OTPRequestResult struct {
	// Result is SUCCESS when the OTP was sent.
	Result string `json:"result"`
	// ExpiresAt is when the OTP stops being accepted.
	ExpiresAt time.Time `json:"expiresAt"`
}

// OTPSubmit carries the OTP, sealed by the phone to the token service in
// a SubmitOTP envelope.
type OTPSubmit struct {
	// WalletAccountID names the wallet account holding the token.
	WalletAccountID string `json:"walletAccountId"`
	// TokenUniqueReference names the INACTIVE token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// SubmitOTP is the phone's SubmitOTP envelope to the token service,
	// relayed untouched.
	SubmitOTP string `json:"submitOtp"`
}

// OTPSubmitResult answers OTPSubmit.
type OTPSubmitResult struct {
	// Result is SUCCESS, INCORRECT_CODE, EXPIRED_CODE or
	// INCORRECT_CODE_RETRIES_EXCEEDED.
	Result string `json:"result"`
	// RetriesRemaining counts the tries left after INCORRECT_CODE.
	RetriesRemaining int `json:"retriesRemaining"`
	// TokenData is the token data sealed to the phone (SUCCESS).
	TokenData string `json:"tokenData,omitempty"`
}

// ActivateRequest carries the cardholder's activation afterwards with the
// card's passcode (R-S2a), sealed by the phone to the token service in an
// ActivatePasscode envelope that the wallet provider relays untouched and
// cannot open: it never sees, keeps or logs the PIN block.
type ActivateRequest struct {
	// WalletAccountID names the wallet account holding the token.
	WalletAccountID string `json:"walletAccountId"`
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// Activation is the phone's ActivatePasscode envelope.
	Activation string `json:"activation"`
}

// ActivateResult answers ActivateRequest.
type ActivateResult = OTPSubmitResult

// AckRequest carries the phone's signed TokenDataAck envelope.
type AckRequest struct {
	// WalletAccountID names the wallet account holding the token.
	WalletAccountID string `json:"walletAccountId"`
	// TokenUniqueReference names the token installed.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// Ack is the phone's TokenDataAck envelope to the token service,
	// relayed untouched.
	Ack string `json:"ack"`
}

// AckResult answers AckRequest with the token's state.
type AckResult struct {
	// Status is the token's state after the download completed.
	Status string `json:"status"`
}

// LifecycleRequest is the cardholder's suspend, resume or delete of one
// token, or (DeviceID set, no token) a lost-phone report (R-C1).
type LifecycleRequest struct {
	// WalletAccountID names the cardholder's wallet account.
	WalletAccountID string `json:"walletAccountId"`
	// TokenUniqueReference names the token (not with DeviceID).
	TokenUniqueReference string `json:"tokenUniqueReference,omitempty"`
	// DeviceID names the lost phone, bound to the account.
	DeviceID string `json:"deviceId,omitempty"`
	// Action is SUSPEND, RESUME or DELETE.
	Action string `json:"action"`
	// Reason is a machine-readable code, e.g. DEVICE_LOST.
	Reason string `json:"reason"`
}

// LifecycleResult answers LifecycleRequest.
type LifecycleResult struct {
	// Tokens are the states after the change, one per token.
	Tokens []wire.TokenStatus `json:"tokens"`
}

// TokensRequest lists an account's tokens.
type TokensRequest struct {
	// WalletAccountID names the wallet account.
	WalletAccountID string `json:"walletAccountId"`
}

// TokensResult answers TokensRequest.
type TokensResult struct {
	// Tokens are the account's tokens, sorted by reference.
	Tokens []TokenRecord `json:"tokens"`
}
