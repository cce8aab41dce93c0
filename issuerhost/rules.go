package issuerhost

import (
	"context"
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// errHangUp asks the listener to close the connection unanswered.
var errHangUp = errors.New("issuerhost: connection closed by a rule")

// ruleRequest is what the host response rules see of a request; the card
// profile is looked up only when a rule asks for it.
func (s *Server) ruleRequest(ctx context.Context, ar authz.Request) rules.Request {
	req := rules.Request{
		MTI: isospec.MTI(ar.MTI), ProcessingCode: ar.ProcessingCode, Amount: ar.Amount, PAN: ar.PAN,
		TID: ar.TerminalID, MID: ar.MerchantID, EntryMode: ar.EntryMode,
	}
	if s.cfg.Rules.UsesProfile() {
		req.Profile = s.profileOf(ctx, ar.PAN)
	}
	return req
}

// profileOf names the card or token of an account number as the sample
// data does (the card's or token's identifier), or "".
func (s *Server) profileOf(ctx context.Context, p string) string {
	var name string
	_ = s.db.View(ctx, func(tx *store.Tx) error {
		if c, err := tx.CardByPAN(ctx, p); err == nil {
			name = c.ID
			return nil
		}
		if k, err := tx.TokenByNumber(ctx, p); err == nil {
			name = k.ID
		}
		return nil
	})
	return name
}

// applyRule carries out a fired rule in place of the engine's decision
// (or, for a rule without an answer of its own, around it). The answer is
// made first, then held back for the rule's delay.
func (s *Server) applyRule(ctx context.Context, d rules.Decision, msg *iso8583.Message, req *isospec.AuthorizationRequest, mac bool) ([]byte, error) {
	var (
		reply []byte
		err   error
	)
	switch {
	case d.NoAnswer, d.Close:
	case d.Respond == "":
		ar, aerr := authzRequest(req)
		if aerr != nil {
			return s.answer(msg, req.MTI, isospec.RCFormatError, isospec.ReasonFormat, mac)
		}
		reply, err = s.decide(ctx, msg, req, ar, mac)
	default:
		reply, err = s.ruleAnswer(d, req, mac)
	}
	if err != nil {
		return nil, err
	}
	if d.CorruptMAC && len(reply) > 0 {
		reply = append([]byte(nil), reply...)
		reply[len(reply)-1] ^= 0x01 // DE64, the last field
	}
	if err := s.cfg.Rules.Sleep(s.ruleCtx, d.Delay); err != nil || d.Close {
		return nil, errHangUp // closing, or closed by the rule
	}
	return reply, nil
}

// ruleAnswer is the answer a rule gives instead of the engine's.
func (s *Server) ruleAnswer(d rules.Decision, req *isospec.AuthorizationRequest, mac bool) ([]byte, error) {
	resp, err := isospec.NewAuthorizationResponse(req, d.Respond)
	if err != nil {
		return nil, err
	}
	if d.Reason != "" {
		if resp.PrivateData, err = (isospec.PrivateData{DeclineReason: d.Reason}).Encode(); err != nil {
			return nil, fmt.Errorf("issuerhost: %w", err)
		}
	}
	if d.Respond == isospec.RCApproved || d.Respond == isospec.RCPartialApproval {
		code := fmt.Sprintf("%05s", req.STAN)
		resp.AuthCode = "R" + code[len(code)-5:]
	}
	if d.Respond == isospec.RCPartialApproval {
		resp.Amount = d.Amount
	}
	if d.Balance != nil {
		cur := req.Currency
		if cur == "" {
			cur = "000"
		}
		if resp.AdditionalAmounts, err = (isospec.AdditionalAmount{Currency: cur, Amount: *d.Balance}).Encode(); err != nil {
			return nil, fmt.Errorf("issuerhost: balance: %w", err)
		}
	}
	s.log.Info("issuer authorisation by rule", "rule", d.Rule, "mti", string(req.MTI), "stan", req.STAN,
		"pan", pan.Mask(req.PAN), "amount", req.Amount, "code", string(d.Respond), "reason", string(d.Reason))
	return s.pack(resp, mac)
}

// standInAdvice acknowledges an authorisation advice (0120, 0121): the
// acquirer approved in this host's stead while it was unreachable. The
// advice carries no PAN (the acquirer keeps none), so it is logged, with
// its identifiers, for the issuer's reconciliation; the ledger is not
// changed.
func (s *Server) standInAdvice(msg *iso8583.Message, mac bool) ([]byte, error) {
	var adv isospec.AuthorizationAdvice
	if err := isospec.Decode(msg, &adv); err != nil {
		return s.answer(msg, isospec.MTIAuthorizationAdvice, isospec.RCFormatError, isospec.ReasonFormat, mac)
	}
	s.log.Warn("stand-in advice: the acquirer approved in the issuer's stead", "mti", string(adv.MTI), "rrn", adv.RRN,
		"tid", adv.TerminalID, "amount", adv.Amount, "currency", adv.Currency, "auth_code", adv.AuthCode, "code", string(adv.ResponseCode))
	resp, err := isospec.NewReversalResponse(&adv, isospec.RCApproved)
	if err != nil {
		return nil, err
	}
	return s.pack(resp, mac)
}
