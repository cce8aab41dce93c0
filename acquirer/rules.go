package acquirer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
)

// ruleRequest is what the host response rules see of a request. The
// acquirer does not know card profiles.
func ruleRequest(req *isospec.AuthorizationRequest) rules.Request {
	return rules.Request{
		MTI: req.MTI, ProcessingCode: string(req.ProcessingCode), Amount: req.Amount,
		PAN: accountNumber(req.PAN, req.Track2), TID: req.TerminalID, MID: req.MerchantID,
		EntryMode: string(req.POSEntryMode),
	}
}

// applyRule carries out a fired rule on a request whose MAC and format
// were good. A rule that answers journals the request as not forwarded
// (its reason "rule:NAME"), so that a reversal of it is not sent on. The
// answer is made (and the request forwarded) first, then held back for the
// rule's delay: a terminal that gives up meanwhile finds the original in
// the journal when it reverses.
func (s *Server) applyRule(ctx context.Context, d rules.Decision, req *isospec.AuthorizationRequest, term Terminal) ([]byte, bool) {
	var reply []byte
	switch {
	case d.NoAnswer, d.Close:
		s.journalRule(ctx, req, "", d)
	case d.Respond == "":
		reply = s.forward(ctx, req, term, "", "", d.StandInLimit)
	default:
		reply = s.ruleAnswer(ctx, d, req, term)
	}
	if d.CorruptMAC {
		reply = corruptMAC(reply)
	}
	if err := s.cfg.Rules.Sleep(s.ruleCtx, d.Delay); err != nil {
		return nil, true // closing
	}
	return reply, d.Close
}

// ruleAnswer is the answer a rule gives in the issuer's stead.
func (s *Server) ruleAnswer(ctx context.Context, d rules.Decision, req *isospec.AuthorizationRequest, term Terminal) []byte {
	s.journalRule(ctx, req, d.Respond, d)
	r, err := isospec.NewAuthorizationResponse(req, d.Respond)
	if err != nil {
		return nil
	}
	reply, err := ruleResponse(r, d, req)
	if err != nil {
		s.log.Error("rule answer not encodable", slog.String("rule", d.Rule), slog.String("error", err.Error()))
		return nil
	}
	return s.encodeReply(reply, term.TAK)
}

// ruleResponse fills a response with what a rule decided: the decline
// reason, the approved amount and auth code, the balance.
func ruleResponse(r *isospec.AuthorizationResponse, d rules.Decision, req *isospec.AuthorizationRequest) (*isospec.AuthorizationResponse, error) {
	if d.Reason != "" {
		r.PrivateData = declineData(string(d.Reason))
	}
	if d.Respond == isospec.RCApproved || d.Respond == isospec.RCPartialApproval {
		r.AuthCode = ruleAuthCode(req.STAN)
	}
	if d.Respond == isospec.RCPartialApproval {
		r.Amount = d.Amount
	}
	if d.Balance != nil {
		cur := req.Currency
		if cur == "" {
			cur = "000"
		}
		de54, err := isospec.AdditionalAmount{Currency: cur, Amount: *d.Balance}.Encode()
		if err != nil {
			return nil, fmt.Errorf("acquirer: balance: %w", err)
		}
		r.AdditionalAmounts = de54
	}
	return r, nil
}

// ruleAuthCode is the authorisation code of a rule's approval: "R" and the
// last five digits of the STAN.
func ruleAuthCode(stan string) string {
	code := fmt.Sprintf("%05s", stan)
	return "R" + code[len(code)-5:]
}

// journalRule records a request a rule answered (rc "" when unanswered).
func (s *Server) journalRule(ctx context.Context, req *isospec.AuthorizationRequest, rc isospec.ResponseCode, d rules.Decision) {
	account := accountNumber(req.PAN, req.Track2)
	e := store.Entry{
		At: s.cfg.Now(), MTI: string(req.MTI), TID: req.TerminalID, MID: req.MerchantID,
		TermSTAN: req.STAN, TermDE7: req.TransmissionDateTime, TermRRN: req.RRN,
		MaskedPAN: pan.Mask(account), Amount: req.Amount, Currency: req.Currency,
		ResponseCode: string(rc), Reason: "rule:" + d.Rule, State: store.StateAnswered,
	}
	if len(account) >= 6 {
		e.BIN = account[:6]
	}
	if _, err := s.store.Record(ctx, e); err != nil {
		s.log.Error("journal write failed", slog.String("error", err.Error()))
	}
}

// corruptMAC spoils the MAC of a packed message, its last field.
func corruptMAC(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 0x01
	return out
}
