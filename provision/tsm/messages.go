package tsm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/tapsim/tapsim/provision/wire"
)

// Message types (the signed typ claim).
const (
	// TypeOrder: issuer to SP TSM.
	TypeOrder = "tsm.order"
	// TypeScript: issuer to SP TSM, carried inside an Order.
	TypeScript = "tsm.script"
	// TypeCheck: SP TSM to SE TSM, is this the designated SE?
	TypeCheck = "tsm.check"
	// TypeHandover: SP TSM to SE TSM, the order to run.
	TypeHandover = "tsm.handover"
	// TypeStatus: SP TSM to SE TSM, how did an order end?
	TypeStatus = "tsm.status"
	// TypeRelay: SE TSM to SP TSM, the SE's response to the last secured
	// command (or the start of the download).
	TypeRelay = "tsm.relay"
	// TypeRelayNext: SP TSM to SE TSM, the next secured command.
	TypeRelayNext = "tsm.relay-next"
	// TypeVerify: SE TSM to SP TSM, the one-time code the cardholder
	// typed at download, for the issuer's ID&V.
	TypeVerify = "tsm.verify"
)

// VerifyOTP carries the cardholder's one-time code from the SE TSM to the
// SP TSM, which has the issuer's ID&V check it (R-S3c).
type VerifyOTP struct {
	OrderID string `json:"order_id"`
	OTP     string `json:"otp"`
}

// String never shows the code.
func (v VerifyOTP) String() string { return "one-time code for " + v.OrderID }

// GoString is String.
func (v VerifyOTP) GoString() string { return v.String() }

// Validate checks the form.
func (v VerifyOTP) Validate() error {
	if !idRE.MatchString(v.OrderID) || len(v.OTP) > 16 {
		return fmt.Errorf("%w: one-time code", wire.ErrInvalid)
	}
	return nil
}

// CardholderVerifier is the issuer's ID&V as the SP TSM reaches it: it
// checks the one-time code the issuer sent for the order (the order ID is
// the ID&V attempt's correlation ID) under the issuer's rules (expiry,
// single use, try limit and lock, R-G3c). A refusal is a *wire.Refusal with
// the ID&V's reason (ReasonOTPWrong with TriesLeft, ReasonIDVLocked, ...).
type CardholderVerifier interface {
	VerifyOTP(ctx context.Context, correlationID, otp string) error
}

// Reasons of the issuer's ID&V the TSMs pass on as they are.
const (
	ReasonOTPWrong  = "otp_wrong"
	ReasonIDVLocked = "idv_locked"
	// ReasonNotVerified: a download started before the cardholder was
	// verified.
	ReasonNotVerified = "cardholder_not_verified"
	// ReasonIDVRequired: an order whose cardholder the issuer's ID&V
	// cannot verify at download (the SP TSM has no link to it), refused
	// when it arrives.
	ReasonIDVRequired = "issuer_idv_required"
	// ReasonNoVerifier: the SP TSM has no way to reach the issuer's ID&V.
	ReasonNoVerifier = "no_cardholder_verifier"
	// ReasonAlreadyVerified: the order's cardholder was verified before.
	ReasonAlreadyVerified = "already_verified"
)

// Order is the issuer's personalisation order to the SP TSM. It carries no
// card number and no key: those are inside Script, sealed to the SE TSM.
type Order struct {
	// OrderID names the order (letters, digits, "-", at most 64).
	OrderID string `json:"order_id"`
	// CardRef is the issuer's reference of the card.
	CardRef string `json:"card_ref"`
	// SEID is the SE identifier of the SE the cardholder designated (from
	// its CPLC, gp.CPLC.SEID).
	SEID string `json:"se_id"`
	// DeviceID and PhoneNumber are the device binding registered for the
	// cardholder (R-S3a).
	DeviceID    string `json:"device_id"`
	PhoneNumber string `json:"phone_number"`
	// SSD is the issuer's Supplementary Security Domain, hex.
	SSD string `json:"ssd"`
	// Owner names the SSD's owner (the parameter of the INSTALL that
	// creates it on a shared SE).
	Owner string `json:"owner,omitempty"`
	// Shared says the SE belongs to an SE operator (R-M2); IssuerConsent
	// is then required (R-S1).
	Shared        bool `json:"shared"`
	IssuerConsent bool `json:"issuer_consent"`
	// Nothing of the cardholder's one-time code is in the order: the
	// issuer's ID&V checks it for the SP TSM at download (R-S3c), so that
	// no store of either TSM holds a value a reader could test codes
	// against offline.
	// Script is the download script sealed by the issuer to the SP TSM;
	// empty in the hand-over to the SE TSM, which never sees it.
	Script string `json:"script,omitempty"`
}

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	hexRE   = regexp.MustCompile(`^[0-9A-Fa-f]{10,32}$`)
	phoneRE = regexp.MustCompile(`^\+[0-9]{6,15}$`)
	seidRE  = regexp.MustCompile(`^[0-9A-F]{8,64}$`)
	ownerRE = regexp.MustCompile(`^[ -~]{0,32}$`)
)

// String never shows the script or the phone number.
func (o Order) String() string {
	return fmt.Sprintf("order %s for SE %s device %s", o.OrderID, o.SEID, o.DeviceID)
}

// GoString is String.
func (o Order) GoString() string { return o.String() }

// Validate checks every field's form.
func (o Order) Validate() error {
	switch {
	case !idRE.MatchString(o.OrderID), !idRE.MatchString(o.CardRef), !idRE.MatchString(o.DeviceID):
		return fmt.Errorf("%w: order, card or device identifier", wire.ErrInvalid)
	case !seidRE.MatchString(o.SEID):
		return fmt.Errorf("%w: SE identifier", wire.ErrInvalid)
	case !phoneRE.MatchString(o.PhoneNumber):
		return fmt.Errorf("%w: phone number", wire.ErrInvalid)
	case !hexRE.MatchString(o.SSD):
		return fmt.Errorf("%w: security domain", wire.ErrInvalid)
	case !ownerRE.MatchString(o.Owner):
		return fmt.Errorf("%w: owner", wire.ErrInvalid)
	case o.Script == "" || len(o.Script) > wire.MaxEnvelope:
		return fmt.Errorf("%w: script", wire.ErrInvalid)
	}
	return nil
}

// ValidateHandover checks an order as the SE TSM gets it: every field but
// the script, which stays with the SP TSM.
func (o Order) ValidateHandover() error {
	if o.Script != "" {
		return fmt.Errorf("%w: a hand-over carries no script", wire.ErrInvalid)
	}
	o.Script = "-"
	return o.Validate()
}

// Relay is the SE TSM's request to the SP TSM during a download: Step 0
// starts it (with, on a shared SE, the initial key set of the SSD the SE
// TSM just created, sealed with the request to the SP TSM); then each
// step carries the SE's response to that step's command.
type Relay struct {
	OrderID  string   `json:"order_id"`
	Step     int      `json:"step"`
	Response string   `json:"response,omitempty"`
	Initial  *SSDKeys `json:"initial_keys,omitempty"`
	// Abort ends the SP TSM's side of a download the OTA session lost.
	Abort bool `json:"abort,omitempty"`
}

// String never shows the response or keys.
func (r Relay) String() string { return fmt.Sprintf("relay %s step %d", r.OrderID, r.Step) }

// GoString is String.
func (r Relay) GoString() string { return r.String() }

// Validate checks the form.
func (r Relay) Validate() error {
	switch {
	case !idRE.MatchString(r.OrderID), r.Step < 0, r.Step > MaxRelaySteps:
		return fmt.Errorf("%w: relay", wire.ErrInvalid)
	case r.Step > 0 && (len(r.Response) < 4 || len(r.Response) > 2*258):
		return fmt.Errorf("%w: relay response", wire.ErrInvalid)
	case r.Step == 0 && r.Response != "":
		return fmt.Errorf("%w: relay start carries no response", wire.ErrInvalid)
	case r.Initial != nil && (r.Step != 0 || r.Initial.Validate() != nil):
		return fmt.Errorf("%w: relay initial keys", wire.ErrInvalid)
	}
	return nil
}

// MaxRelaySteps bounds one download.
const MaxRelaySteps = 1000

// RelayNext is the SP TSM's answer: the next secured command for the SE,
// or the end of the download with its outcome.
type RelayNext struct {
	OrderID string `json:"order_id"`
	Step    int    `json:"step"`
	Command string `json:"command,omitempty"`
	Done    bool   `json:"done,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// Validate checks the form.
func (n RelayNext) Validate() error {
	if !idRE.MatchString(n.OrderID) || n.Step < 0 || n.Step > MaxRelaySteps || (!n.Done && (len(n.Command) < 8 || len(n.Command) > 2*261)) || len(n.Outcome) > 64 {
		return fmt.Errorf("%w: relay answer", wire.ErrInvalid)
	}
	return nil
}

// Check asks the SE TSM whether SEID is the SE registered for the device
// and phone number (R-S3a).
type Check struct {
	SEID        string `json:"se_id"`
	DeviceID    string `json:"device_id"`
	PhoneNumber string `json:"phone_number"`
}

// StatusQuery asks the SE TSM where an order stands.
type StatusQuery struct {
	OrderID string `json:"order_id"`
}

// Validate checks the form.
func (q StatusQuery) Validate() error {
	if !idRE.MatchString(q.OrderID) {
		return fmt.Errorf("%w: order", wire.ErrInvalid)
	}
	return nil
}

// Order statuses at the SE TSM besides the download outcomes.
const (
	StatusWaiting     = "waiting"
	StatusDownloading = "downloading"
	StatusUnknown     = "unknown"
)

// ReasonInProgress refuses an order while an earlier one for the same SE
// or device is still waiting or downloading.
const ReasonInProgress = "order_in_progress"

var errInProgress = refuse(http.StatusConflict, ReasonInProgress, "an earlier order for this SE or device is still under way")

// Result answers an order or a check.
type Result struct {
	OrderID string `json:"order_id,omitempty"`
	Status  string `json:"status"`
}

// OTA relay messages: the provisioning wire package's, shared with the
// phone's OTA agent.
type (
	// OTAOpen is wire.OTAOpen.
	OTAOpen = wire.OTAOpen
	// OTAStep is wire.OTAStep.
	OTAStep = wire.OTAStep
	// OTANext is wire.OTANext.
	OTANext = wire.OTANext
)

// Refusal reasons of the TSMs.
const (
	ReasonNotDesignated  = "se_not_designated"
	ReasonNoConsent      = "no_issuer_consent"
	ReasonAlreadyDone    = "already_personalised"
	ReasonNoOrder        = "no_pending_order"
	ReasonOTPExpired     = "otp_expired"
	ReasonOTAReplay      = "ota_replay"
	ReasonOTAClosed      = "ota_session_closed"
	ReasonCardCryptogram = "card_cryptogram"
	ReasonHostCryptogram = "host_cryptogram_refused"
	ReasonKeyVersion     = "key_version_unknown"
	ReasonBadMAC         = "bad_cmac"
	ReasonBadRMAC        = "bad_rmac"
	// ReasonScriptMismatch: the script was written for another order or
	// another SE.
	ReasonScriptMismatch = "script_mismatch"
	ReasonOutOfOrder     = "store_data_out_of_order"
	ReasonSSDWritten     = "ssd_already_written"
	ReasonSERefused      = "se_refused"
	ReasonTransport      = "ota_transport"
	ReasonScript         = "invalid_script"
	ReasonPersonalised   = "personalised"
)

func refuse(code int, reason, msg string) *wire.Refusal { return wire.Refuse(code, reason, msg) }

var (
	errNotDesignated = refuse(http.StatusForbidden, ReasonNotDesignated, "the SE is not the one registered for the cardholder's device")
	errNoConsent     = refuse(http.StatusForbidden, ReasonNoConsent, "a shared SE needs the issuer's consent")
	errAlreadyDone   = refuse(http.StatusConflict, ReasonAlreadyDone, "this SE and security domain already received a personalisation set")
	errNoOrder       = refuse(http.StatusNotFound, ReasonNoOrder, "no download waits for this device")
	errOTPExpired    = refuse(http.StatusForbidden, ReasonOTPExpired, "the one-time code has expired: the order is cancelled")
	errOTAReplay     = refuse(http.StatusConflict, ReasonOTAReplay, "this OTA step was already answered or is out of turn")
	errOTAClosed     = refuse(http.StatusConflict, ReasonOTAClosed, "this OTA session is over")
)

func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}

// ReasonPeer refuses a client certificate not among the listener's peers.
const ReasonPeer = "peer_not_allowed"

var errPeer = refuse(http.StatusForbidden, ReasonPeer, "this listener does not serve this client")

func peerAllowed(r *wire.Request, peers []string) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if r.Peer.Subject.CommonName == p {
			return true
		}
	}
	return false
}
