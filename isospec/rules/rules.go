package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/isospec"
)

// Rules is a parsed rules file: the rules in order, first match wins.
type Rules struct {
	// TerminalTimeout is how long the terminals wait for an answer, for
	// after_timeout (0: the host's own setting).
	TerminalTimeout time.Duration
	// List holds the rules in file order.
	List []*Rule
}

// Rule is one rule of a file.
type Rule struct {
	// Name names the rule in logs; unique in its file.
	Name string
	// Match selects the requests the rule applies to.
	Match Match
	// Action is what the host does with them.
	Action Action
	// Limit is how many times the rule fires (0: no limit; once is 1).
	Limit int
}

// Match holds the conditions of a rule; an empty condition always holds.
type Match struct {
	// MTI lists the message types (0100, 0200).
	MTI []string
	// ProcessingCode is a prefix of DE3: "30" for any balance inquiry.
	ProcessingCode string
	// Amount bounds DE4.
	Amount *AmountMatch
	// PAN selects the account number (DE2 or track 2's): a card or a token.
	PAN *PANMatch
	// Profile lists card profile names, for hosts that know them.
	Profile []string
	// TID and MID list terminal and merchant IDs (DE41, DE42, trimmed).
	TID, MID []string
	// EntryMode is a prefix of DE22 ("07": contactless chip).
	EntryMode string
}

// AmountMatch is a condition on DE4 in minor units.
type AmountMatch struct {
	Eq, Min, Max *int64
	// Ends is the amount's last digits: "51" matches 1051 and 151.
	Ends string
}

// PANMatch selects account numbers by prefix, or by the range from..to
// compared on the PAN's first len(from) digits.
type PANMatch struct {
	Prefix, From, To string
}

// Action is what a rule does. Respond empty means the host's normal answer
// (possibly delayed or with a corrupted MAC).
type Action struct {
	// Respond is the DE39 answered instead of the normal processing.
	Respond isospec.ResponseCode
	// Reason is the decline reason sent in DE48 (the code's usual one
	// when empty).
	Reason isospec.DeclineReason
	// PartialAmount or PartialPercent sets the approved DE4 of a partial
	// approval (Respond 10).
	PartialAmount  int64
	PartialPercent int
	// Balance, when set, is answered in DE54 as the available balance.
	Balance *int64
	// Delay holds the answer back this long.
	Delay time.Duration
	// AfterTimeout holds the answer back until after the terminal's
	// timeout.
	AfterTimeout bool
	// NoAnswer never answers; Close closes the connection unanswered.
	NoAnswer, Close bool
	// CorruptMAC spoils the answer's MAC.
	CorruptMAC bool
	// StandInLimit, when positive, lets the acquirer approve in the
	// issuer's stead up to this amount when the issuer is down or silent;
	// the request is forwarded as usual. The issuer host ignores it.
	StandInLimit int64
}

// Request is what rules match on, taken from a request by the host.
type Request struct {
	MTI            isospec.MTI
	ProcessingCode string
	Amount         int64
	PAN            string
	// Profile is the card profile name, when the host knows it.
	Profile   string
	TID, MID  string
	EntryMode string
}

// Matches reports whether every condition of m holds for req.
func (m *Match) Matches(req Request) bool {
	if len(m.MTI) > 0 && !oneOf(m.MTI, string(req.MTI)) {
		return false
	}
	if !strings.HasPrefix(req.ProcessingCode, m.ProcessingCode) || !strings.HasPrefix(req.EntryMode, m.EntryMode) {
		return false
	}
	if a := m.Amount; a != nil {
		switch {
		case a.Eq != nil && req.Amount != *a.Eq,
			a.Min != nil && req.Amount < *a.Min,
			a.Max != nil && req.Amount > *a.Max,
			a.Ends != "" && !strings.HasSuffix(fmt.Sprintf("%0*d", len(a.Ends), req.Amount), a.Ends):
			return false
		}
	}
	if p := m.PAN; p != nil {
		if p.Prefix != "" && !strings.HasPrefix(req.PAN, p.Prefix) {
			return false
		}
		if p.From != "" {
			if len(req.PAN) < len(p.From) {
				return false
			}
			head := req.PAN[:len(p.From)]
			if head < p.From || head > p.To {
				return false
			}
		}
	}
	if len(m.Profile) > 0 && (req.Profile == "" || !oneOf(m.Profile, req.Profile)) {
		return false
	}
	if len(m.TID) > 0 && !oneOf(m.TID, strings.TrimSpace(req.TID)) {
		return false
	}
	if len(m.MID) > 0 && !oneOf(m.MID, strings.TrimSpace(req.MID)) {
		return false
	}
	return true
}

func oneOf(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// Decision is a fired rule's action made concrete for one request.
type Decision struct {
	// Rule is the name of the rule that fired.
	Rule string
	// Respond is the DE39 to answer with; "" means the normal answer.
	Respond isospec.ResponseCode
	// Reason is the decline reason for DE48 ("" for approvals).
	Reason isospec.DeclineReason
	// Amount is the approved DE4 of a partial approval (0 otherwise).
	Amount int64
	// Balance, when set, goes in DE54.
	Balance *int64
	// Delay is how long to hold the answer back.
	Delay time.Duration
	// NoAnswer, Close and CorruptMAC are as in Action.
	NoAnswer, Close, CorruptMAC bool
	// StandInLimit is as in Action.
	StandInLimit int64
}

// decide makes a's action concrete for req.
func (a *Action) decide(name string, req Request, terminalTimeout time.Duration) Decision {
	d := Decision{Rule: name, Respond: a.Respond, Reason: a.Reason, Balance: a.Balance, Delay: a.Delay,
		NoAnswer: a.NoAnswer, Close: a.Close, CorruptMAC: a.CorruptMAC, StandInLimit: a.StandInLimit}
	if a.AfterTimeout {
		d.Delay = terminalTimeout + AfterTimeoutMargin
	}
	if d.Respond != "" && d.Reason == "" && d.Respond != isospec.RCApproved && d.Respond != isospec.RCPartialApproval {
		d.Reason = reasonFor(d.Respond)
	}
	if d.Respond == isospec.RCPartialApproval {
		switch {
		case a.PartialAmount > 0:
			d.Amount = min(a.PartialAmount, req.Amount)
		default:
			d.Amount = req.Amount * int64(a.PartialPercent) / 100
		}
		if d.Balance == nil {
			zero := int64(0)
			d.Balance = &zero
		}
	}
	return d
}

// AfterTimeoutMargin is how much longer than the terminal's timeout an
// after_timeout rule waits.
const AfterTimeoutMargin = time.Second

// reasonFor returns the decline reason that goes with a response code.
func reasonFor(rc isospec.ResponseCode) isospec.DeclineReason {
	for _, r := range isospec.DeclineReasons() {
		if r.ResponseCode() == rc {
			return r
		}
	}
	return isospec.DeclineReason(strings.ReplaceAll(rc.Meaning(), " ", "_"))
}

// String describes the decision for logs: "answer 51 (insufficient funds)
// reason insufficient_funds", "no answer", "delay 2s, normal answer".
func (d Decision) String() string {
	var parts []string
	if d.Delay > 0 {
		parts = append(parts, "delay "+d.Delay.String())
	}
	switch {
	case d.NoAnswer:
		parts = append(parts, "no answer")
	case d.Close:
		parts = append(parts, "close the connection")
	case d.Respond != "":
		s := "answer " + d.Respond.String()
		if d.Reason != "" {
			s += " reason " + string(d.Reason)
		}
		if d.Respond == isospec.RCPartialApproval {
			s += fmt.Sprintf(" amount %d", d.Amount)
		}
		if d.Balance != nil {
			s += fmt.Sprintf(" balance %d", *d.Balance)
		}
		parts = append(parts, s)
	case d.StandInLimit > 0:
		parts = append(parts, fmt.Sprintf("forward, stand-in up to %d if the issuer is down", d.StandInLimit))
	default:
		parts = append(parts, "normal answer")
	}
	if d.CorruptMAC {
		parts = append(parts, "MAC corrupted")
	}
	return strings.Join(parts, ", ")
}
