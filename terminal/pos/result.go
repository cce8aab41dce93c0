package pos

import (
	"fmt"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
)

// Kind is the transaction a Result is for.
type Kind int

// Kinds of transaction.
const (
	KindSale Kind = iota
	KindRefund
	KindVoid
)

// String names the kind ("sale", "refund", "void").
func (k Kind) String() string {
	switch k {
	case KindRefund:
		return "refund"
	case KindVoid:
		return "void"
	}
	return "sale"
}

// Status is how a transaction ended.
type Status int

// Statuses.
const (
	// StatusNotCompleted: the card or the kernel ended the transaction
	// without a decision (try another interface, a phone still locked, a
	// card that left the field...). Nothing was sent to the host.
	StatusNotCompleted Status = iota
	// StatusApproved: the host approved (DE39 00), or the card approved
	// offline.
	StatusApproved
	// StatusDeclined: the host or the card declined.
	StatusDeclined
	// StatusCancelled: the cardholder cancelled PIN entry; nothing was
	// sent.
	StatusCancelled
	// StatusHostUnavailable: the request could not be sent; nothing to
	// undo.
	StatusHostUnavailable
	// StatusReversed: no valid answer came in time; the terminal reversed
	// the request and the acquirer acknowledged the reversal.
	StatusReversed
	// StatusReversalPending: no valid answer came in time and the reversal
	// is not acknowledged yet; it is kept and sent again before the next
	// transaction (FlushReversals).
	StatusReversalPending
)

var statusNames = [...]string{
	StatusNotCompleted:    "not_completed",
	StatusApproved:        "approved",
	StatusDeclined:        "declined",
	StatusCancelled:       "cancelled",
	StatusHostUnavailable: "host_unavailable",
	StatusReversed:        "reversed",
	StatusReversalPending: "reversal_pending",
}

// String is the status's short name ("approved", "reversed").
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status_%d", int(s))
}

// Offline response codes EMV terminals record for decisions taken without
// the host (EMV Book 4 Annex A6).
const (
	// RCOfflineApproved is "Y1", approved offline by the card.
	RCOfflineApproved isospec.ResponseCode = "Y1"
	// RCOfflineDeclined is "Z1", declined offline by the card.
	RCOfflineDeclined isospec.ResponseCode = "Z1"
)

// Messages the terminal displays at the end of a transaction, besides the
// kernel's own (Book A) messages.
const (
	MsgApproved          = "Approved"
	MsgApprovedSign      = "Approved, Please Sign"
	MsgDeclined          = "Declined"
	MsgReversed          = "No answer from host: reversed"
	MsgReversalPending   = "No answer from host: reversal pending"
	MsgHostUnavailable   = "Host unavailable: not sent"
	MsgCancelled         = "Cancelled"
	MsgVoided            = "Voided"
	MsgVoidPending       = "No answer from host: void pending"
	MsgApprovedOffline   = "Approved offline"
	MsgDeclinedOffline   = "Declined offline"
	MsgInvalidHostAnswer = "Invalid answer from host: reversed"
	MsgApprovedPartial   = "Approved for a partial amount"
	MsgReferral          = "Referral: call the card issuer for a voice authorisation"
	MsgApprovedStandIn   = "Approved by the acquirer in stand-in: the issuer did not answer"
)

// IssuerUpdate is what the issuer sent for the card in field 55 of its
// answer, and whether the kernel asked for it: Issuer Authentication Data
// (tag 91: the ARPC and its response code or CSU) and issuer script
// templates (tags 71 and 72). When the kernel asked for them (an outcome
// with Start B and Online Response Data) and the terminal has a Presenter,
// the card is presented again and the kernel delivers them (Issuer Update
// Processing): Done, with what the card said. It prints with the
// cryptograms hidden.
type IssuerUpdate struct {
	// Requested is true when the kernel's outcome asked for the card
	// again with the online response (Book A Online Response Data).
	Requested bool
	// AuthenticationData is tag 91, nil when absent.
	AuthenticationData []byte
	// Scripts are the tag 71 and 72 templates, whole (tag and length
	// included), in the order received.
	Scripts [][]byte
	// Done is true once the card, presented again, was given the data;
	// AuthenticationFailed then says whether it refused the ARPC, and
	// ScriptResults is the Issuer Script Results (9F5B), nil without
	// scripts.
	Done                 bool
	AuthenticationFailed bool
	ScriptResults        []byte
}

// Available reports whether the issuer sent any data for the card.
func (u IssuerUpdate) Available() bool {
	return len(u.AuthenticationData) > 0 || len(u.Scripts) > 0
}

// String says what is there without printing cryptograms.
func (u IssuerUpdate) String() string {
	var parts []string
	if u.Requested {
		parts = append(parts, "requested by the kernel")
	}
	if len(u.AuthenticationData) > 0 {
		parts = append(parts, fmt.Sprintf("issuer authentication data (%d bytes)", len(u.AuthenticationData)))
	}
	if len(u.Scripts) > 0 {
		parts = append(parts, fmt.Sprintf("%d issuer script(s)", len(u.Scripts)))
	}
	if u.Done {
		auth := "issuer authentication passed"
		if u.AuthenticationFailed {
			auth = "issuer authentication failed"
		}
		parts = append(parts, "delivered to the card: "+auth)
		if len(u.ScriptResults) > 0 {
			parts = append(parts, fmt.Sprintf("script results %X", u.ScriptResults))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Format prints String for every verb.
func (u IssuerUpdate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(u.String())) }

// HostExchange is one message sent to the acquirer and its answer, for the
// ISO 8583 trace.
type HostExchange struct {
	// Purpose names the exchange ("authorisation", "reversal", "void").
	Purpose string
	// Request is the message as sent (MAC included); Response the answer,
	// nil when none came.
	Request  *iso8583.Message
	Response *iso8583.Message
	// Err is why no valid answer came, nil otherwise.
	Err error
	// Duration is how long the exchange took.
	Duration time.Duration
}

// Describe lists both messages field by field, masked by isospec (PAN,
// track 2, PIN block and cryptograms hidden): the form for logs and files.
func (h HostExchange) Describe() string { return h.describe(isospec.DescribeOptions{}) }

// Screen lists both messages field by field for the operator's screen
// (the terminal UI's ISO 8583 pane, tap --trace): as Describe, but with
// the cryptograms shown (9F26, 9F10, the ARPC in 91), which are not
// cardholder data. The PAN, track 2, the PIN block and keys stay masked.
func (h HostExchange) Screen() string {
	return h.describe(isospec.DescribeOptions{ShowCryptograms: true})
}

func (h HostExchange) describe(o isospec.DescribeOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--> %s request\n", h.Purpose)
	b.WriteString(isospec.DescribeWith(h.Request, o))
	switch {
	case h.Response != nil:
		fmt.Fprintf(&b, "<-- %s response (%s)\n", h.Purpose, h.Duration.Round(time.Microsecond))
		b.WriteString(isospec.DescribeWith(h.Response, o))
		if h.Err != nil {
			fmt.Fprintf(&b, "error: %v\n", h.Err)
		}
	case h.Err != nil:
		fmt.Fprintf(&b, "<-- no answer: %v\n", h.Err)
	}
	return b.String()
}

// RawHex prints both messages as their frames' raw hex (length header
// excluded), 32 bytes a line, with the PAN, track 2, expiry, PIN block and
// keys masked (isospec.MaskedHex).
func (h HostExchange) RawHex() string {
	var b strings.Builder
	raw := func(arrow, what string, msg *iso8583.Message) {
		if msg == nil {
			return
		}
		frame, err := isospec.Pack(msg)
		if err != nil {
			fmt.Fprintf(&b, "%s %s: cannot pack: %v\n", arrow, what, err)
			return
		}
		fmt.Fprintf(&b, "%s %s, %d bytes (raw, masked)\n", arrow, what, len(frame))
		for _, line := range strings.Split(isospec.MaskedHex(frame), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	raw("-->", h.Purpose+" request", h.Request)
	raw("<--", h.Purpose+" response", h.Response)
	return b.String()
}

// String is one line per message, masked.
func (h HostExchange) String() string {
	s := h.Purpose + ": " + isospec.Summary(h.Request)
	if h.Response != nil {
		s += " -> " + isospec.Summary(h.Response)
	}
	if h.Err != nil {
		s += fmt.Sprintf(" (%v)", h.Err)
	}
	return s
}

// Format prints String for every verb, so a whole HostExchange never
// prints the raw messages.
func (h HostExchange) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(h.String())) }

// Timings are the durations of a transaction's steps.
type Timings struct {
	// Card is the time spent with the card, every tap included.
	Card time.Duration
	// PIN is the time the cardholder took on the PIN pad.
	PIN time.Duration
	// Host is the time spent waiting for the acquirer, reversals included.
	Host time.Duration
	// Total is the whole transaction.
	Total time.Duration
}

// Result is what a transaction gave: the kernel outcome, the messages
// exchanged with the acquirer, the host's answer, the receipt and timings.
// It prints masked (String, Format).
type Result struct {
	// Kind is sale, refund or void; Status how it ended.
	Kind   Kind
	Status Status
	// Message is what the terminal displayed at the end.
	Message string
	// Outcome is the kernel's final outcome (zero for a void).
	Outcome kernel.Outcome
	// Taps counts the presentations of the card.
	Taps int
	// Online is true when a request was sent to the acquirer.
	Online bool
	// PINEntered is true when an online PIN was enciphered and sent, with
	// the key serial number KSN (field 53).
	PINEntered bool
	KSN        string
	// Amount is the amount in minor units of the terminal's currency.
	Amount int64
	// STAN and RRN identify the request (fields 11 and 37); a void has
	// its own STAN and the original's RRN.
	STAN string
	RRN  string
	// ResponseCode is field 39 (or Y1/Z1 for an offline decision) and
	// DeclineReason the issuer's or acquirer's machine-readable reason
	// from the private data (field 48).
	ResponseCode  isospec.ResponseCode
	DeclineReason isospec.DeclineReason
	// StandIn is true when the acquirer approved in the issuer's stead
	// (the stand-in marker of DE48); the issuer hears of it by advice.
	StandIn bool
	// AuthCode is field 38.
	AuthCode string
	// ApprovedAmount is the amount approved by a partial approval (DE39
	// 10, the answer's DE4), less than Amount; 0 otherwise.
	ApprovedAmount int64
	// Balance is the card's available balance the host answered in
	// DE54, nil when it sent none.
	Balance *int64
	// IssuerUpdate holds what the issuer sent for the card.
	IssuerUpdate IssuerUpdate
	// Exchanges are the ISO 8583 exchanges, in order.
	Exchanges []HostExchange
	// Receipt is the printed slip (customer copy).
	Receipt string
	// Timings are the durations of the steps.
	Timings Timings
}

// Approved reports whether the transaction was approved.
func (r *Result) Approved() bool { return r.Status == StatusApproved }

// ResponseMeaning is the meaning of the response code ("insufficient
// funds"), "" when there is none.
func (r *Result) ResponseMeaning() string {
	switch r.ResponseCode {
	case "":
		return ""
	case RCOfflineApproved:
		return "approved offline"
	case RCOfflineDeclined:
		return "declined offline"
	}
	return r.ResponseCode.Meaning()
}

// String summarises the result on one line, masked: "sale approved: 00
// (approved), auth 123456, STAN 000001, PAN 476173******0010".
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Kind, r.Status)
	if r.Message != "" {
		fmt.Fprintf(&b, " (%s)", r.Message)
	}
	if r.ResponseCode != "" {
		fmt.Fprintf(&b, ": %s %s", string(r.ResponseCode), r.ResponseMeaning())
	}
	if r.DeclineReason != "" {
		fmt.Fprintf(&b, ", reason %s", r.DeclineReason)
	}
	if r.AuthCode != "" {
		fmt.Fprintf(&b, ", auth %s", r.AuthCode)
	}
	if r.STAN != "" {
		fmt.Fprintf(&b, ", STAN %s", r.STAN)
	}
	if p := r.Outcome.MaskedPAN(); p != "" {
		fmt.Fprintf(&b, ", PAN %s", p)
	}
	if r.Outcome.CVM != kernel.CVMNA && r.Outcome.Type != kernel.OutcomeNone {
		fmt.Fprintf(&b, ", CVM %s", r.Outcome.CVM.Name())
	}
	return b.String()
}

// Format prints String for every verb: a Result never prints its raw
// messages or data record.
func (r *Result) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventDisplay: the terminal shows Text to the cardholder or merchant.
	EventDisplay EventKind = iota
	// EventUI: the kernel sent a User Interface Request (UI).
	EventUI
	// EventAPDU: one exchange with the card (Exchange); Text names the
	// command.
	EventAPDU
	// EventPIN: the PIN pad asks for the PIN (Text is the prompt).
	EventPIN
	// EventHostSend and EventHostReceive: a message to or from the
	// acquirer (Message); Text is its masked one-line summary.
	EventHostSend
	EventHostReceive
	// EventReversal: a reversal was queued, sent, acknowledged or left
	// pending (Text says which).
	EventReversal
)

var eventNames = [...]string{"display", "ui", "apdu", "pin", "host_send", "host_receive", "reversal"}

// String names the kind.
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("event_%d", int(k))
}

// Event is one thing that happened during a transaction, for the screen and
// the traces. Text is always safe to show (masked); Exchange and Message
// hold raw data for trace printers that mask (terminal/trace,
// isospec.Describe).
type Event struct {
	Kind     EventKind
	Time     time.Time
	Text     string
	UI       *kernel.UIRequest
	Exchange *kernel.Exchange
	Message  *iso8583.Message
}

// String is the kind and the masked text.
func (e Event) String() string { return e.Kind.String() + ": " + e.Text }

// Format prints String for every verb.
func (e Event) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.String())) }
