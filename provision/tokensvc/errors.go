package tokensvc

import (
	"errors"
	"net/http"

	"github.com/tapsim/tapsim/provision/wire"
)

// Sentinel errors of the vault and the issuer.
var (
	// ErrUnknownToken reports a token reference the vault does not hold.
	ErrUnknownToken = errors.New("tokensvc: unknown token")
	// ErrState reports a life-cycle change the token's state forbids.
	ErrState = errors.New("tokensvc: token state forbids the change")
	// ErrNotSuspendedBy reports a resume by an actor whose suspension does
	// not hold (a resume clears only the caller's own).
	ErrNotSuspendedBy = errors.New("tokensvc: not suspended by this actor")
	// ErrOTPLocked reports a cardholder locked after too many wrong OTPs
	// (R-G3c).
	ErrOTPLocked = errors.New("tokensvc: OTP locked")
	// ErrUnknownCard reports a card the issuer does not know.
	ErrUnknownCard = errors.New("tokensvc: unknown card")
	// ErrConfig reports a missing or inconsistent configuration.
	ErrConfig = errors.New("tokensvc: configuration")
)

// Refusal reasons of the token service (besides package wire's).
const (
	ReasonUnknownRequestor   = "unknown_requestor"
	ReasonTaskIDReused       = "task_id_reused"
	ReasonWrongDevice        = "wrong_device"
	ReasonUnknownToken       = "unknown_token"
	ReasonTokenState         = "token_state"
	ReasonNotSuspendedBy     = "not_suspended_by_actor"
	ReasonUnknownMethod      = "unknown_method"
	ReasonOTPUsed            = "otp_used"
	ReasonOTPLocked          = "otp_locked"
	ReasonActorNotAllowed    = "actor_not_allowed"
	ReasonIssuerUnavailable  = "issuer_unavailable"
	ReasonDeviceKeyConflict  = "device_key_conflict"
	ReasonDownloadFailed     = "download_failed"
	ReasonNoTokens           = "no_tokens"
	ReasonNotYetDelivered    = "not_delivered"
	ReasonPeerNotAWallet     = "peer_not_a_wallet_provider"
	ReasonVaultFailed        = "vault_failed"
	ReasonNotAwaitingStepUp  = "not_awaiting_activation"
	ReasonRequestorMismatch  = "requestor_mismatch"
	ReasonNotificationFailed = "notification_failed"
	ReasonStoreFailed        = "store_failed"
	// ReasonActivationUnsupported refuses a passcode activation when the
	// issuer offers none.
	ReasonActivationUnsupported = "activation_unsupported"
	// ReasonPasscodeUnavailable refuses a passcode activation of a card
	// that has no PIN (MemoryIssuer).
	ReasonPasscodeUnavailable = "passcode_unavailable"
)

func refuse(code int, reason, msg string) *wire.Refusal { return wire.Refuse(code, reason, msg) }

var (
	errUnknownRequestor  = refuse(http.StatusForbidden, ReasonUnknownRequestor, "the token requestor is not known to this token service")
	errRequestorMismatch = refuse(http.StatusForbidden, ReasonRequestorMismatch, "the token requestor is not the signer's")
	errTaskIDReused      = refuse(http.StatusConflict, ReasonTaskIDReused, "this taskId was used for another request")
	errWrongDevice       = refuse(http.StatusForbidden, ReasonWrongDevice, "the message is not from the device the token is bound to")
	errUnknownTok        = refuse(http.StatusNotFound, ReasonUnknownToken, "no such token for this requestor")
	errNotAwaiting       = refuse(http.StatusConflict, ReasonNotAwaitingStepUp, "the token is not awaiting activation")
	errUnknownMethod     = refuse(http.StatusUnprocessableEntity, ReasonUnknownMethod, "the authentication method was not offered")
	errOTPUsed           = refuse(http.StatusConflict, ReasonOTPUsed, "the one-time password was already used")
	errOTPLocked         = refuse(http.StatusForbidden, ReasonOTPLocked, "too many wrong one-time passwords: the issuer's service centre must reset the cardholder")
	errActor             = refuse(http.StatusForbidden, ReasonActorNotAllowed, "this caller may not act as that actor")
	errIssuer            = refuse(http.StatusBadGateway, ReasonIssuerUnavailable, "the issuer did not answer")
	errDeviceKeys        = refuse(http.StatusConflict, ReasonDeviceKeyConflict, "the device name is already bound to other keys")
	errDownloadFailed    = refuse(http.StatusConflict, ReasonDownloadFailed, "the phone reported a failed installation")
	errNoTokens          = refuse(http.StatusNotFound, ReasonNoTokens, "no token is bound to that device")
	errNotDelivered      = refuse(http.StatusConflict, ReasonNotYetDelivered, "the token data was not delivered yet")
	errPeer              = refuse(http.StatusForbidden, ReasonPeerNotAWallet, "the TLS client is not the wallet provider of this token")
	errVault             = refuse(http.StatusInternalServerError, ReasonVaultFailed, "the vault failed")
	errNoPasscode        = refuse(http.StatusNotImplemented, ReasonActivationUnsupported, "the issuer does not activate tokens by passcode")
	errStore             = refuse(http.StatusInternalServerError, ReasonStoreFailed, "the token service's store failed")
)
