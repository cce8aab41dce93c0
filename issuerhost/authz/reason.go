package authz

import (
	"fmt"
	"slices"

	"github.com/tapsim/tapsim/isospec"
)

// Stage is a step of the decision pipeline, in the order they run.
type Stage string

// The stages of the pipeline.
const (
	StageFormat    Stage = "format"         // message content
	StageLookup    Stage = "lookup"         // card or token, detokenisation, token status, domain controls
	StageARQC      Stage = "arqc"           // application cryptogram through the security module
	StageReplay    Stage = "replay"         // ATC high-water mark, used cryptograms, duplicates (R-G4)
	StageBinding   Stage = "binding"        // the message's amount, currency, type and date against the cryptogram's (R-G2, R-G4)
	StageSingleUse Stage = "single_use_key" // HCE single-use keys (R-S5b)
	StageDevice    Stage = "device"         // device binding on authenticated data (R-S5d)
	StageCVM       Stage = "cvm"            // cardholder verification policy (R-S2d, R-S2e)
	StagePIN       Stage = "pin"            // online PIN against the PVV, try counter (R-G3c)
	StageLimits    Stage = "limits"         // expiry, limits, open-to-buy
	StageApprove   Stage = "approve"        // auth code, hold, ARPC
	StageReversal  Stage = "reversal"       // hold release
	StageMAC       Stage = "mac"            // message authentication (checked by the server)
	StageSystem    Stage = "system"         // the host could not decide
)

// Reason is the machine-readable reason of a decision. Declines use the
// network's vocabulary, isospec.DeclineReason (carried in DE48 subelement
// 01 of the response), and take their response code from it; the few
// reasons isospec does not list yet carry their own code here. Approvals
// and reversals have outcome names of their own (Approved, Reversed ...),
// with code 00, that never go in DE48.
type Reason string

// Outcomes with response code 00.
const (
	Approved         Reason = "approved"
	Reversed         Reason = "reversed"           // the hold was released
	AlreadyReversed  Reason = "already_reversed"   // a repeat: nothing left to release
	OriginalNotFound Reason = "original_not_found" // no approved original; the reversal is recorded
)

// Decline reasons of what the issuer does not do, each of its own cause
// (57 transaction not permitted to cardholder, as TransactionNotAllowed,
// which remains for what none of these names).
const (
	// ProcessingCodeNotSupported: DE3 is neither a purchase (00) nor a
	// refund (20).
	ProcessingCodeNotSupported Reason = "processing_code_not_supported"
	// EntryModeNotAccepted: DE22 is not an entry mode of the policy
	// (Policy.ChipEntryModes) nor contactless mag-stripe mode (91).
	EntryModeNotAccepted Reason = "entry_mode_not_accepted"
	// NoChipProfile: the card on file has no CVN or issuer master key: it
	// cannot have made a cryptogram.
	NoChipProfile Reason = "no_chip_profile"
	// AccountCurrencyMismatch: DE49 is not the currency of the card's
	// account.
	AccountCurrencyMismatch Reason = "account_currency_mismatch"
	// CheckNotAvailable: the issuer lacks what checks this card's kind of
	// cryptogram (no cloud key ledger for a cloud card, no CVC3 in its
	// security module for a mag-stripe mode one).
	CheckNotAvailable Reason = "check_not_available"
)

// Decline reasons of the network vocabulary (package isospec).
const (
	FormatError           = Reason(isospec.ReasonFormat)
	TransactionNotAllowed = Reason(isospec.ReasonTransactionNotAllowed)
	UnknownCard           = Reason(isospec.ReasonCardUnknown)
	CardBlocked           = Reason(isospec.ReasonCardBlocked)
	TokenSuspended        = Reason(isospec.ReasonTokenSuspended)
	TokenDeleted          = Reason(isospec.ReasonTokenDeleted)
	TokenExpired          = Reason(isospec.ReasonTokenExpired)
	TokenDomain           = Reason(isospec.ReasonTokenDomain)
	DeviceNotBound        = Reason(isospec.ReasonDeviceNotBound)
	ARQCInvalid           = Reason(isospec.ReasonARQCInvalid)
	ARQCReplayed          = Reason(isospec.ReasonCryptogramReplay)
	ATCNotAhead           = Reason(isospec.ReasonATCReplay)
	DuplicateTransmission = Reason(isospec.ReasonDuplicate)
	KeyNotIssued          = Reason(isospec.ReasonHCEKeyNotIssued)
	KeyUsed               = Reason(isospec.ReasonHCEKeyUsed)
	KeyExpired            = Reason(isospec.ReasonHCEKeyExpired)
	CVMRequired           = Reason(isospec.ReasonCVMRequired)
	CDCVMRequired         = Reason(isospec.ReasonHCECVMRequired)
	PINIncorrect          = Reason(isospec.ReasonPINIncorrect)
	PINTriesExceeded      = Reason(isospec.ReasonPINTriesExceeded)
	PINLocked             = Reason(isospec.ReasonPINLocked)
	CardExpired           = Reason(isospec.ReasonCardExpired)
	AmountLimitExceeded   = Reason(isospec.ReasonAmountLimit)
	InsufficientFunds     = Reason(isospec.ReasonInsufficientFunds)
	MACInvalid            = Reason(isospec.ReasonMACInvalid)
	SystemError           = Reason(isospec.ReasonSystemError)
)

// Decline reasons the network vocabulary does not list (yet), with their
// own response codes.
const (
	// ExpiryMismatch: the expiry date sent is not the card's or token's (54).
	ExpiryMismatch Reason = "expiry_mismatch"
	// TokenInactive: the token was made before its cardholder was verified
	// and was never activated (62, R-S2a).
	TokenInactive Reason = "token_inactive"
	// DeviceLost: the phone was reported lost (62, R-C1).
	DeviceLost Reason = "device_lost"
	// CardLost: the card (or the SE phone holding it) was reported lost
	// (41, R-C1).
	CardLost Reason = "card_lost"
	// ATCOutOfWindow: the ATC jumps further ahead than the window allows
	// (82, R-G4).
	ATCOutOfWindow Reason = "atc_out_of_window"
	// PINBlockInvalid: the PIN block does not decode under the zone PIN key
	// (55; not counted as a wrong PIN).
	PINBlockInvalid Reason = "pin_block_invalid"
	// PINNotSet: no PIN verification value on file (55).
	PINNotSet Reason = "pin_not_set"
	// ReversalMismatch: the reversal names an approval whose amount,
	// currency, card or RRN it does not carry; the hold stays (12).
	ReversalMismatch Reason = "reversal_mismatch"
)

// Decline reasons of the check that the message says what the card signed
// (stage binding, after the cryptogram verified, so that an unauthenticated
// message learns nothing, and after the replay stage, so that the
// cryptogram of a tampered message is spent). 9F02, 5F2A, 9C and 9A are in the minimum data
// set every CVN's cryptogram covers (Covered).
const (
	// AmountMismatch: DE4 is not the amount authorised of the cryptogram
	// (9F02) (13 invalid amount, R-G2).
	AmountMismatch Reason = "amount_mismatch"
	// CurrencyMismatch: DE49 is not the transaction currency of the
	// cryptogram (5F2A) (12 invalid transaction, R-G2).
	CurrencyMismatch Reason = "currency_mismatch"
	// TypeMismatch: DE3 does not match the transaction type of the
	// cryptogram (9C): purchase 00 goes with 9C 00, refund 20 with 9C 20
	// (12 invalid transaction, R-G2).
	TypeMismatch Reason = "transaction_type_mismatch"
	// DateMismatch: the local date (DE13) is more than a day from the
	// transaction date of the cryptogram (9A): an old cryptogram in a new
	// message (12 invalid transaction, R-G4).
	DateMismatch Reason = "transaction_date_mismatch"
	// DateOutOfRange: the transaction date of the cryptogram (9A) is more
	// than a day from the host's date: a cryptogram made earlier (or
	// made up ahead) and sent now, with or without a DE13 that agrees
	// with it (12 invalid transaction, R-G4).
	DateOutOfRange Reason = "transaction_date_out_of_range"
	// ACTypeMismatch: the cryptogram is not of the type the request
	// needs, as the CVR it covers records it: an AAC (the card declined
	// offline) sent for an online authorisation with 9F27 changed to an
	// ARQC or left out, or a 9F27 that says another type than the CVR
	// (12 invalid transaction, R-G2).
	ACTypeMismatch Reason = "cryptogram_type_mismatch"
	// CVC3TriesExceeded: the contactless mag-stripe mode card's CVC3
	// failed Policy.MaxCVC3Failures times in a row; its mag-stripe
	// transactions are declined unchecked until the service centre lifts
	// the block (63 security violation).
	CVC3TriesExceeded Reason = "cvc3_tries_exceeded"
)

// Decline reasons of cardholder verification and device binding claims
// that the authenticated data contradict.
const (
	// CVMClaimUnverified: the terminal's CVM Results (9F34), the Card
	// Transaction Qualifiers (9F6C) or the private field claim a
	// consumer-device CVM or an online PIN that the cryptogram-covered CVR
	// or the message does not bear out (63 security violation, R-S2d; on
	// an HCE phone R-S2e too).
	CVMClaimUnverified Reason = "cvm_claim_unverified"
	// DeviceMismatch: the device ID the message names (9F10's device
	// binding, or the private field) is not the device the authenticated
	// data name: the device the HCE single-use key was issued to, or the
	// binding in a 9F10 the cryptogram covers (63 security violation,
	// R-S5d).
	DeviceMismatch Reason = "device_mismatch"
	// DeviceBindingUnauthenticated: a device-bound token that is not an HCE
	// token (no single-use key names its device) uses a CVN whose
	// cryptogram does not cover the device binding (57, R-S5d).
	DeviceBindingUnauthenticated Reason = "device_binding_unauthenticated"
)

// Decline reasons of the cloud-payment cryptograms (package
// issuerhost/cloud; the others map to KeyNotIssued, KeyUsed, KeyExpired,
// DeviceMismatch, DeviceLost, ARQCInvalid and CDCVMRequired).
const (
	// CloudMDInvalid: the mc-cloud MD cryptogram is not the card's: the
	// phone does not hold this card's keys (82).
	CloudMDInvalid Reason = "cloud_md_invalid"
	// CloudUMDInvalid: the mc-cloud UMD cryptogram fails while the MD one
	// holds: the cardholder was not verified, a wrong mobile PIN (55,
	// R-S2e).
	CloudUMDInvalid Reason = "cloud_umd_invalid"
	// CloudPINLocked: the phone's card is locked after
	// cloud.MaxPINTries consecutive wrong mobile PINs, until the
	// issuer's service centre resets it (75, R-G3c).
	CloudPINLocked Reason = "cloud_mobile_pin_locked"
)

// Decline reasons of a token's domain restriction controls
// (vault.Controls), one per control (57 transaction not permitted to
// cardholder, R-S5d: a phone's token serves that phone's payments only).
const (
	// TokenDomainEntryMode: the POS entry mode (DE22) is not allowed.
	TokenDomainEntryMode Reason = "token_domain_entry_mode"
	// TokenDomainChannel: the channel (from DE22 and DE25) is not allowed.
	TokenDomainChannel Reason = "token_domain_channel"
	// TokenDomainRequestor: the token requestor the message names (9F19 or
	// the private field) is not the token's, or none is named where the
	// controls require one.
	TokenDomainRequestor Reason = "token_domain_requestor"
	// TokenDomainMerchant: the card acceptor (DE42) is not allowed.
	TokenDomainMerchant Reason = "token_domain_merchant"
	// TokenDomainMCC: the merchant category (DE18) is not allowed.
	TokenDomainMCC Reason = "token_domain_mcc"
)

// reasonInfo is what the table knows of a reason.
type reasonInfo struct {
	code  string // own response code, for reasons isospec does not list
	stage Stage
	rule  string // the requirement the decline demonstrates, if any
}

var reasons = map[Reason]reasonInfo{
	Approved:         {"00", StageApprove, ""},
	Reversed:         {"00", StageReversal, ""},
	AlreadyReversed:  {"00", StageReversal, ""},
	OriginalNotFound: {"00", StageReversal, ""},

	FormatError:           {"", StageFormat, ""},
	TransactionNotAllowed: {"", StageFormat, ""},

	ProcessingCodeNotSupported: {"57", StageFormat, ""},
	EntryModeNotAccepted:       {"57", StageFormat, ""},
	NoChipProfile:              {"57", StageLookup, ""},
	AccountCurrencyMismatch:    {"57", StageLimits, ""},
	CheckNotAvailable:          {"57", StageARQC, ""},

	UnknownCard:    {"", StageLookup, ""},
	CardBlocked:    {"", StageLookup, ""},
	CardLost:       {"41", StageLookup, "R-C1"},
	ExpiryMismatch: {"54", StageLookup, ""},
	TokenSuspended: {"", StageLookup, "R-C1"},
	TokenInactive:  {"62", StageLookup, "R-S2a"},
	TokenDeleted:   {"", StageLookup, ""},
	TokenExpired:   {"", StageLookup, ""},
	TokenDomain:    {"", StageLookup, "R-S5d"},

	TokenDomainEntryMode: {"57", StageLookup, "R-S5d"},
	TokenDomainChannel:   {"57", StageLookup, "R-S5d"},
	TokenDomainRequestor: {"57", StageLookup, "R-S5d"},
	TokenDomainMerchant:  {"57", StageLookup, "R-S5d"},
	TokenDomainMCC:       {"57", StageLookup, "R-S5d"},

	ARQCInvalid: {"", StageARQC, ""},

	AmountMismatch:   {"13", StageBinding, "R-G2"},
	CurrencyMismatch: {"12", StageBinding, "R-G2"},
	TypeMismatch:     {"12", StageBinding, "R-G2"},
	DateMismatch:     {"12", StageBinding, "R-G4"},
	DateOutOfRange:   {"12", StageBinding, "R-G4"},
	ACTypeMismatch:   {"12", StageBinding, "R-G2"},

	CVC3TriesExceeded: {"63", StageARQC, ""},

	ARQCReplayed:          {"", StageReplay, "R-G4"},
	ATCNotAhead:           {"", StageReplay, "R-G4"},
	ATCOutOfWindow:        {"82", StageReplay, "R-G4"},
	DuplicateTransmission: {"", StageReplay, "R-G4"},

	KeyNotIssued: {"", StageSingleUse, "R-S5b"},
	KeyUsed:      {"", StageSingleUse, "R-S5b"},
	KeyExpired:   {"", StageSingleUse, "R-S5b"},

	DeviceNotBound:               {"", StageDevice, "R-S5d"},
	DeviceMismatch:               {"63", StageDevice, "R-S5d"},
	DeviceBindingUnauthenticated: {"57", StageDevice, "R-S5d"},
	DeviceLost:                   {"62", StageDevice, "R-C1"},

	CloudMDInvalid:  {"82", StageARQC, "R-S5d"},
	CloudUMDInvalid: {"55", StageCVM, "R-S2e"},
	CloudPINLocked:  {"75", StageDevice, "R-G3c"},

	CVMRequired:        {"", StageCVM, "R-S2d"},
	CDCVMRequired:      {"", StageCVM, "R-S2e"},
	CVMClaimUnverified: {"63", StageCVM, "R-S2d"},

	PINIncorrect:     {"", StagePIN, "R-G3c"},
	PINTriesExceeded: {"", StagePIN, "R-G3c"},
	PINLocked:        {"", StagePIN, "R-G3c"},
	PINBlockInvalid:  {"55", StagePIN, ""},
	PINNotSet:        {"55", StagePIN, ""},

	ReversalMismatch: {"12", StageReversal, "R-G2"},

	CardExpired:         {"", StageLimits, ""},
	AmountLimitExceeded: {"", StageLimits, ""},
	InsufficientFunds:   {"", StageLimits, ""},

	MACInvalid:  {"", StageMAC, "R-G2"},
	SystemError: {"", StageSystem, ""},
}

// Reasons returns every reason the engine gives, sorted.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasons))
	for r := range reasons {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Known reports whether r is a reason of the engine.
func (r Reason) Known() bool { _, ok := reasons[r]; return ok }

// Code is the ISO 8583 response code (DE39) of r: 00 for the outcomes that
// approve or accept, isospec's code for the network's decline reasons, the
// engine's own for the others; 96 for an unknown reason.
func (r Reason) Code() string {
	i, ok := reasons[r]
	switch {
	case !ok:
		return string(isospec.RCSystemMalfunction)
	case i.code != "":
		return i.code
	}
	return string(isospec.DeclineReason(r).ResponseCode())
}

// Stage is the pipeline stage that gives r.
func (r Reason) Stage() Stage {
	if i, ok := reasons[r]; ok {
		return i.stage
	}
	return StageSystem
}

// Rule is the requirement ID (R-xx) the decline demonstrates, or "".
func (r Reason) Rule() string { return reasons[r].rule }

// Declines reports whether r is a decline (its code is not 00).
func (r Reason) Declines() bool { return r.Code() != "00" }

// DeclineReason is r as DE48 carries it, or "" for an approval or an
// accepted reversal.
func (r Reason) DeclineReason() isospec.DeclineReason {
	if !r.Declines() {
		return ""
	}
	return isospec.DeclineReason(r)
}

// String is the reason itself.
func (r Reason) String() string { return string(r) }

// GoString quotes the reason.
func (r Reason) GoString() string { return fmt.Sprintf("%q", string(r)) }
