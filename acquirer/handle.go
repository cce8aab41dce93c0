package acquirer

import (
	"context"
	"errors"
	"log/slog"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/acquirer/dedup"
	"github.com/tapsim/tapsim/acquirer/link"
	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
)

// Journal reasons of the acquirer's own outcomes that are not declines.
const (
	reasonOriginalNotFound = "original_not_found"
	reasonNotForwarded     = "original_not_forwarded"
	reasonAlreadyReversed  = "already_reversed"
	reasonReversalQueued   = "reversal_queued"
	reasonIssuerBadMAC     = "issuer_mac_invalid"
	reasonUnknownTerminal  = "unknown_terminal"
	reasonOriginalDeclined = "original_declined"
	// reasonReversalMismatch is a decline: a reversal whose amount,
	// currency or card is not its original's.
	reasonReversalMismatch = "reversal_mismatch"
)

// HandleFrame processes one frame from a terminal (length header excluded)
// exactly as the server does, and returns the frame to answer with (nil for
// none) and whether to close the connection. A frame that does not parse,
// and a response sent to the acquirer (0110...), is answered with 30 in
// the response type of its class, echoing what can be read of DE7, DE11 and
// DE41 (isospec.Peek) and MACed under the TAK of that terminal; a frame
// whose type has no response (no digits, 9999) closes the connection. Such
// frames are logged, rate-limited. It never panics on any input. Before
// Start and after Close every request is answered 96.
func (s *Server) HandleFrame(ctx context.Context, frame []byte) (reply []byte, hangUp bool) {
	msg, err := isospec.Unpack(frame)
	if err != nil {
		return s.malformed(frame, err)
	}
	mtiS, _ := msg.GetMTI()
	mti := isospec.MTI(mtiS)
	if !mti.IsRequest() {
		return s.unexpected(frame, mti)
	}
	if !s.ready.Load() {
		return s.minimal(mti, msg, isospec.RCSystemMalfunction, isospec.ReasonSystemError), false
	}
	switch mti {
	case isospec.MTIAuthorizationRequest, isospec.MTIFinancialRequest:
		return s.authorize(ctx, frame, msg)
	case isospec.MTIReversalRequest, isospec.MTIReversalAdvice, isospec.MTIReversalAdviceRepeat:
		return s.reverse(ctx, frame, msg), false
	case isospec.MTINetworkRequest:
		return s.network(ctx, frame, msg), false
	}
	return s.minimal(mti, msg, isospec.RCFormatError, isospec.ReasonFormat), false
}

// malformed answers a frame that does not parse: 30 in the response type
// of its type, echoing what can be read; without such a type the
// connection is closed.
func (s *Server) malformed(frame []byte, err error) ([]byte, bool) {
	g := isospec.Peek(frame)
	rmti, ok := isospec.ResponseMTI(g.MTI)
	if !ok {
		s.noisy.Log("terminal frame without an answerable message type, connection closed", slog.Int("bytes", len(frame)), slog.String("error", err.Error()))
		return nil, true
	}
	s.noisy.Log("malformed terminal frame", slog.String("mti", string(g.MTI)), slog.String("tid", g.TerminalID), slog.Int("bytes", len(frame)), slog.String("error", err.Error()))
	return s.echo(g, rmti, isospec.RCFormatError, isospec.ReasonFormat), false
}

// unexpected answers a well-formed message that is not a request: a
// response gets 30 in its own type, echoing its identifiers; a type with
// no response closes the connection.
func (s *Server) unexpected(frame []byte, mti isospec.MTI) ([]byte, bool) {
	g := isospec.Peek(frame)
	rmti, ok := isospec.ResponseMTI(mti)
	if !ok {
		s.noisy.Log("terminal message type without a response, connection closed", slog.String("mti", string(mti)))
		return nil, true
	}
	s.noisy.Log("terminal message that is not a request answered 30", slog.String("mti", string(mti)), slog.String("tid", g.TerminalID))
	return s.echo(g, rmti, isospec.RCFormatError, isospec.ReasonFormat), false
}

// minimal answers req, a request of type mti, with rc, its reason and
// only the fields that identify it.
func (s *Server) minimal(mti isospec.MTI, req *iso8583.Message, rc isospec.ResponseCode, reason isospec.DeclineReason) []byte {
	resp, err := mti.Response()
	if err != nil {
		return nil
	}
	g := isospec.Glimpse{MTI: mti}
	if req != nil {
		g.TransmissionDateTime, _ = req.GetString(isospec.FieldTransmissionDateTime)
		g.STAN, _ = req.GetString(isospec.FieldSTAN)
		g.TerminalID, _ = req.GetString(isospec.FieldTerminalID)
	}
	return s.echo(g, resp, rc, reason)
}

// echo is an answer of type rmti with code rc and its reason (DE48) that
// carries the identifiers read from the request (DE7, DE11, DE41), MACed
// under the TAK of the terminal DE41 names when the acquirer knows it.
func (s *Server) echo(g isospec.Glimpse, rmti isospec.MTI, rc isospec.ResponseCode, reason isospec.DeclineReason) []byte {
	m, err := g.Answer(rmti, rc, reason)
	if err != nil {
		s.log.Error("terminal reply not encodable", slog.String("error", err.Error()))
		return nil
	}
	var b []byte
	if t, ok := s.terminals[g.TerminalID]; ok && g.TerminalID != "" {
		b, err = isospec.PackWithMAC(m, func(d []byte) ([]byte, error) { return s.cfg.HSM.GenerateMAC(t.TAK, d) })
	} else {
		b, err = isospec.Pack(m)
	}
	if err != nil {
		s.log.Error("terminal reply not packable", slog.String("error", err.Error()))
		return nil
	}
	return b
}

// encodeReply encodes a typed response, MACs it under the terminal's TAK
// when known, and packs it.
func (s *Server) encodeReply(v any, tak hsm.Handle) []byte {
	m, err := isospec.Encode(v)
	if err != nil {
		s.log.Error("terminal reply not encodable", slog.String("error", err.Error()))
		return nil
	}
	if !tak.IsZero() {
		b, err := isospec.PackWithMAC(m, func(d []byte) ([]byte, error) { return s.cfg.HSM.GenerateMAC(tak, d) })
		if err != nil {
			s.log.Error("terminal reply MAC failed", slog.String("error", err.Error()))
			return nil
		}
		return b
	}
	b, err := isospec.Pack(m)
	if err != nil {
		s.log.Error("terminal reply not packable", slog.String("error", err.Error()))
		return nil
	}
	return b
}

// checkTerminal finds the terminal of a message and verifies the MAC of its
// frame under the terminal's TAK. It returns the response code to refuse
// with: 30 without a terminal ID, 63 for an unknown terminal or a missing
// or wrong MAC (R-G2); a missing MAC is accepted from a terminal whose
// MAC is optional. A MAC verified proves the connection the frame came on
// as the terminal's (frameserver.Vouch): a newcomer at the connection cap
// does not take its place.
func (s *Server) checkTerminal(ctx context.Context, frame []byte, tid string, macRequired bool) (Terminal, isospec.ResponseCode, string) {
	if tid == "" {
		return Terminal{}, isospec.RCFormatError, string(isospec.ReasonFormat)
	}
	t, ok := s.terminals[tid]
	if !ok {
		return Terminal{}, isospec.RCSecurityViolation, reasonUnknownTerminal
	}
	err := isospec.VerifyMAC(frame, func(d, m []byte) error { return s.cfg.HSM.VerifyMAC(t.TAK, d, m) })
	if err != nil && ((macRequired && !t.MACOptional) || !errors.Is(err, isospec.ErrMACMissing)) {
		s.alarms.Log("terminal MAC rejected", slog.String("tid", tid), slog.String("error", err.Error()))
		return t, isospec.RCSecurityViolation, string(isospec.ReasonMACInvalid)
	}
	if err == nil {
		frameserver.Vouch(ctx, "terminal "+tid)
	}
	return t, "", ""
}

func declineData(reason string) string {
	if reason == "" {
		return ""
	}
	pd, err := isospec.PrivateData{DeclineReason: isospec.DeclineReason(reason)}.Encode()
	if err != nil {
		return ""
	}
	return pd
}

// accountNumber returns the PAN of DE2, or of track 2 when DE2 is absent.
func accountNumber(pan, track2 string) string {
	if pan != "" || track2 == "" {
		return pan
	}
	p, _, _, err := isospec.SplitTrack2(track2)
	if err != nil {
		return ""
	}
	return p
}

func (s *Server) authorize(ctx context.Context, frame []byte, msg *iso8583.Message) (reply []byte, hangUp bool) {
	var req isospec.AuthorizationRequest
	if err := isospec.Decode(msg, &req); err != nil {
		mti, _ := msg.GetMTI() // 0100 or 0200
		return s.minimal(isospec.MTI(mti), msg, isospec.RCFormatError, isospec.ReasonFormat), false
	}
	term, rc, reason := s.checkTerminal(ctx, frame, req.TerminalID, true)
	if rc == "" {
		if err := isospec.Validate(msg); err != nil {
			s.noisy.Log("terminal message format error", slog.String("tid", req.TerminalID), slog.String("error", err.Error()))
			rc, reason = isospec.RCFormatError, string(isospec.ReasonFormat)
		}
	}
	if rc == "" && s.cfg.Rules != nil {
		if d, ok := s.cfg.Rules.Match(ruleRequest(&req)); ok {
			return s.applyRule(ctx, d, &req, term)
		}
	}
	return s.forward(ctx, &req, term, rc, reason, 0), false
}

// forward answers a checked request (rc "" when its MAC and format are
// good, else the code to refuse it with) by forwarding it to its issuer.
// With standIn positive, an amount up to standIn is approved in the
// issuer's stead when the issuer is down or gives no valid answer.
func (s *Server) forward(ctx context.Context, reqp *isospec.AuthorizationRequest, term Terminal, rc isospec.ResponseCode, reason string, standIn int64) []byte {
	now := s.cfg.Now()
	req := *reqp
	refuse := func(t Terminal, rc isospec.ResponseCode, reason string) []byte {
		r, err := isospec.NewAuthorizationResponse(&req, rc)
		if err != nil {
			return nil
		}
		r.PrivateData = declineData(reason)
		return s.encodeReply(r, t.TAK)
	}
	if rc != "" {
		return refuse(term, rc, reason)
	}
	account := accountNumber(req.PAN, req.Track2)
	entry := store.Entry{
		At: now, MTI: string(req.MTI), TID: req.TerminalID, MID: req.MerchantID,
		TermSTAN: req.STAN, TermDE7: req.TransmissionDateTime, TermRRN: req.RRN,
		MaskedPAN: pan.Mask(account), Amount: req.Amount, Currency: req.Currency,
	}
	if len(account) >= 6 {
		entry.BIN = account[:6]
	}
	key := dedup.Key{Class: string(req.MTI), TID: req.TerminalID, STAN: req.STAN, DE7: req.TransmissionDateTime}
	// R-G4: a message seen before within the window is never forwarded.
	dup, err := s.duplicate(ctx, key, now)
	if err != nil {
		s.log.Error("journal read failed", slog.String("error", err.Error()))
		return refuse(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	if dup {
		s.log.Warn("duplicate transmission refused", slog.String("tid", req.TerminalID), slog.String("stan", req.STAN))
		s.journalDecline(ctx, entry, isospec.RCDuplicateTransmission, string(isospec.ReasonDuplicate))
		return refuse(term, isospec.RCDuplicateTransmission, string(isospec.ReasonDuplicate))
	}
	rt, err := s.cfg.Routes.Lookup(account)
	if err != nil {
		s.journalDecline(ctx, entry, isospec.RCInvalidCardNumber, string(isospec.ReasonNoRoute))
		return refuse(term, isospec.RCInvalidCardNumber, string(isospec.ReasonNoRoute))
	}
	entry.Issuer = rt.Issuer
	lk, is := s.links[rt.Issuer], s.issuers[rt.Issuer]
	stan, rrn, err := s.numbers.Next(ctx, now)
	if err != nil {
		s.dedup.Forget(key)
		s.log.Error("no trace number", slog.String("error", err.Error()))
		return refuse(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	entry.AcqSTAN, entry.AcqDE7, entry.RRN = stan, isospec.TransmissionDateTime(now), rrn
	// The journal line is committed before anything leaves, so a reversal
	// can always find the original's issuer-link numbers.
	id, err := s.store.Record(ctx, entry)
	if err != nil {
		s.dedup.Forget(key)
		s.log.Error("journal write failed", slog.String("error", err.Error()))
		return refuse(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	// The outcome goes to the journal with the next commit: the line
	// recorded before forwarding is what a reversal needs, and the issuer
	// committed its own decision before it answered.
	finish := func(rc isospec.ResponseCode, authCode, reason string) {
		s.store.CompleteLater(ctx, id, store.Result{ResponseCode: string(rc), AuthCode: authCode, Reason: reason, State: store.StateAnswered},
			s.journalFailed)
	}
	decline := func(rc isospec.ResponseCode, reason string) []byte {
		finish(rc, "", reason)
		return refuse(term, rc, reason)
	}

	fwd := req
	fwd.STAN, fwd.TransmissionDateTime, fwd.RRN = stan, entry.AcqDE7, rrn
	fwd.AcquirerID = s.cfg.AcquirerID
	fwd.SecurityControl, fwd.MAC = nil, nil
	if len(req.PINBlock) > 0 {
		if len(req.SecurityControl) == 0 {
			return decline(isospec.RCFormatError, string(isospec.ReasonFormat))
		}
		bdk := term.BDK
		if bdk.IsZero() {
			return decline(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
		}
		block, err := s.cfg.HSM.TranslatePINDUKPT(bdk, req.SecurityControl, req.PINBlock, is.ZPK, account)
		if err != nil {
			s.log.Warn("PIN translation failed", slog.String("tid", req.TerminalID), slog.String("error", err.Error()))
			if errors.Is(err, hsm.ErrInput) {
				return decline(isospec.RCFormatError, string(isospec.ReasonFormat))
			}
			return decline(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
		}
		fwd.PINBlock = block
	}
	out, err := isospec.Encode(&fwd)
	if err != nil {
		return decline(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	resp, err := lk.Exchange(out, s.cfg.IssuerTimeout)
	if err != nil {
		standsIn := standIn > 0 && req.Amount <= standIn
		if errors.Is(err, link.ErrDown) || errors.Is(err, link.ErrClosed) {
			// Nothing left: nothing to reverse.
			s.log.Warn("issuer down", slog.String("issuer", rt.Issuer))
			if standsIn {
				return s.standIn(ctx, id, &req, rt, entry, term)
			}
			return decline(isospec.RCIssuerInoperative, string(isospec.ReasonIssuerUnavailable))
		}
		jr := string(isospec.ReasonIssuerUnavailable)
		if errors.Is(err, link.ErrBadMAC) {
			jr = reasonIssuerBadMAC
		}
		s.log.Warn("no valid issuer answer: reversal advice queued", slog.String("issuer", rt.Issuer), slog.String("error", err.Error()))
		s.queueTimeout(ctx, id, &req, rt, entry, jr)
		if standsIn {
			return s.standIn(ctx, id, &req, rt, entry, term)
		}
		return refuse(term, isospec.RCIssuerInoperative, string(isospec.ReasonIssuerUnavailable))
	}
	var ir isospec.AuthorizationResponse
	if err := isospec.Decode(resp, &ir); err != nil || ir.MTI != mustResponse(req.MTI) || !ir.ResponseCode.Known() {
		s.log.Warn("issuer answer unusable: reversal advice queued", slog.String("issuer", rt.Issuer))
		s.queueTimeout(ctx, id, &req, rt, entry, string(isospec.ReasonSystemError))
		if standIn > 0 && req.Amount <= standIn {
			return s.standIn(ctx, id, &req, rt, entry, term)
		}
		return refuse(term, isospec.RCIssuerInoperative, string(isospec.ReasonIssuerUnavailable))
	}
	jr := ""
	if pd, err := isospec.ParsePrivateData(ir.PrivateData); err == nil {
		jr = string(pd.DeclineReason)
	}
	finish(ir.ResponseCode, ir.AuthCode, jr)
	r, err := isospec.NewAuthorizationResponse(&req, ir.ResponseCode)
	if err != nil {
		return nil
	}
	// The terminal gets the retrieval reference number the issuer saw, so
	// that one RRN names the sale at the terminal, the acquirer and the
	// issuer (the terminal's own, if it sent one, stays in the journal).
	r.AuthCode, r.PrivateData, r.ICCData, r.RRN = ir.AuthCode, ir.PrivateData, ir.ICCData, rrn
	// A partial approval's amount and the balances go back as the issuer
	// gave them.
	r.AdditionalAmounts = ir.AdditionalAmounts
	if ir.ResponseCode == isospec.RCPartialApproval && ir.Amount < req.Amount {
		r.Amount = ir.Amount
	}
	return s.encodeReply(r, term.TAK)
}

func mustResponse(m isospec.MTI) isospec.MTI {
	r, _ := m.Response()
	return r
}

// journalFailed logs a journal write that failed, if it did.
func (s *Server) journalFailed(err error) {
	if err != nil {
		s.log.Error("journal write failed", slog.String("error", err.Error()))
	}
}

// journalDecline records a message the acquirer refused itself.
func (s *Server) journalDecline(ctx context.Context, e store.Entry, rc isospec.ResponseCode, reason string) {
	e.ResponseCode, e.Reason, e.State = string(rc), reason, store.StateAnswered
	if _, err := s.store.Record(ctx, e); err != nil {
		s.log.Error("journal write failed", slog.String("error", err.Error()))
	}
}

// queueTimeout stores the reversal advice of an authorisation the issuer
// did not answer validly, and the 91 outcome of its journal line, in one
// transaction.
func (s *Server) queueTimeout(ctx context.Context, journalID int64, req *isospec.AuthorizationRequest, rt route.Route, e store.Entry, reason string) {
	de90, err := isospec.OriginalData{
		MTI: req.MTI, STAN: e.AcqSTAN, TransmissionDateTime: e.AcqDE7, AcquirerID: s.cfg.AcquirerID,
	}.Encode()
	if err == nil {
		_, err = s.store.Enqueue(ctx, store.Advice{
			JournalID: journalID, CreatedAt: e.At, BIN: rt.BIN, DE90: de90, STAN: e.AcqSTAN,
			ProcessingCode: string(req.ProcessingCode), RRN: e.RRN, TID: req.TerminalID, MID: req.MerchantID,
			Amount: req.Amount, Currency: req.Currency, MaskedPAN: e.MaskedPAN,
			ReasonCode: string(isospec.RCResponseTooLate),
		}, store.Result{ResponseCode: string(isospec.RCIssuerInoperative), Reason: reason, State: store.StateTimedOut})
	}
	if err != nil {
		s.log.Error("reversal advice not stored", slog.String("error", err.Error()))
		return
	}
	s.kickAdvices()
}

func (s *Server) network(ctx context.Context, frame []byte, msg *iso8583.Message) []byte {
	var req isospec.NetworkManagement
	if err := isospec.Decode(msg, &req); err != nil {
		return s.minimal(isospec.MTINetworkRequest, msg, isospec.RCFormatError, isospec.ReasonFormat)
	}
	answer := func(t Terminal, rc isospec.ResponseCode, reason string) []byte {
		r, err := req.Response(rc)
		if err != nil {
			return nil
		}
		if !rc.Approved() {
			r.PrivateData = declineData(reason)
		}
		return s.encodeReply(r, t.TAK)
	}
	// A network management message may come without a MAC; one that has
	// a MAC must verify.
	term, rc, reason := s.checkTerminal(ctx, frame, req.TerminalID, false)
	if rc != "" {
		return answer(term, rc, reason)
	}
	if err := isospec.Validate(msg); err != nil {
		return answer(term, isospec.RCFormatError, string(isospec.ReasonFormat))
	}
	if req.NetworkCode == isospec.NetKeyChange {
		// Terminal keys are loaded through the security module only.
		return answer(term, isospec.RCInvalidTransaction, string(isospec.ReasonKeyChange))
	}
	return answer(term, isospec.RCApproved, "")
}
