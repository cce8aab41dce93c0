package acquirer

import (
	"context"
	"errors"
	"log/slog"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/acquirer/dedup"
	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
)

// reverse handles a terminal's reversal (0400) or reversal advice (0420,
// 0421). The original is found in the journal by the terminal's numbers in
// DE90; the reversal goes to the issuer with DE90 naming the original as
// the issuer saw it. When the issuer cannot take it, it is stored as an
// advice and the terminal is told the reversal is accepted (00): the
// acquirer has taken over delivering it. A reversal is forwarded once:
// repeats are answered from the journal.
func (s *Server) reverse(ctx context.Context, frame []byte, msg *iso8583.Message) []byte {
	now := s.cfg.Now()
	var req isospec.ReversalRequest
	if err := isospec.Decode(msg, &req); err != nil {
		return s.minimal(isospec.MTIReversalRequest, msg, isospec.RCFormatError, isospec.ReasonFormat)
	}
	answer := func(t Terminal, rc isospec.ResponseCode, reason string) []byte {
		r, err := isospec.NewReversalResponse(&req, rc)
		if err != nil {
			return nil
		}
		if !rc.Approved() {
			r.PrivateData = declineData(reason)
		}
		return s.encodeReply(r, t.TAK)
	}
	term, rc, reason := s.checkTerminal(ctx, frame, req.TerminalID, true)
	if rc != "" {
		return answer(term, rc, reason)
	}
	if err := isospec.Validate(msg); err != nil {
		s.noisy.Log("terminal message format error", slog.String("tid", req.TerminalID), slog.String("error", err.Error()))
		return answer(term, isospec.RCFormatError, string(isospec.ReasonFormat))
	}
	od, err := isospec.ParseOriginalData(req.OriginalData)
	if err != nil {
		return answer(term, isospec.RCFormatError, string(isospec.ReasonFormat))
	}
	// A repeated advice (0421) is the same reversal as its 0420.
	class := string(req.MTI)
	if req.MTI == isospec.MTIReversalAdviceRepeat {
		class = string(isospec.MTIReversalAdvice)
	}
	key := dedup.Key{Class: class, TID: req.TerminalID, STAN: req.STAN, DE7: req.TransmissionDateTime}
	dup, err := s.duplicate(ctx, key, now)
	if err != nil {
		s.log.Error("journal read failed", slog.String("error", err.Error()))
		return answer(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	if dup {
		// Answer a repeat with the first outcome, forward nothing.
		prev, err := s.store.Original(ctx, class, req.TerminalID, req.STAN, req.TransmissionDateTime)
		if err == nil && prev.ResponseCode != "" {
			return answer(term, isospec.ResponseCode(prev.ResponseCode), prev.Reason)
		}
		return answer(term, isospec.RCDuplicateTransmission, string(isospec.ReasonDuplicate))
	}

	account := accountNumber(req.PAN, "")
	entry := store.Entry{
		At: now, MTI: class, TID: req.TerminalID, MID: req.MerchantID,
		TermSTAN: req.STAN, TermDE7: req.TransmissionDateTime, TermRRN: req.RRN,
		MaskedPAN: pan.Mask(account), Amount: req.Amount, Currency: req.Currency,
	}
	orig, err := s.store.Original(ctx, string(od.MTI), req.TerminalID, od.STAN, od.TransmissionDateTime)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.dedup.Forget(key)
		s.log.Error("journal read failed", slog.String("error", err.Error()))
		return answer(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	if found {
		// The original's outcome as written, the issuer's answer too
		// (written without its sender waiting: Entry waits for it).
		e, err := s.store.Entry(ctx, orig.ID)
		if err != nil {
			s.dedup.Forget(key)
			s.log.Error("journal read failed", slog.String("error", err.Error()))
			return answer(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
		}
		orig = e
		entry.MaskedPAN, entry.BIN, entry.Issuer = orig.MaskedPAN, orig.BIN, orig.Issuer
	}
	id, err := s.store.Record(ctx, entry)
	if err != nil {
		s.dedup.Forget(key)
		s.log.Error("journal write failed", slog.String("error", err.Error()))
		return answer(term, isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	done := func(rc isospec.ResponseCode, reason string) []byte {
		if err := s.store.Complete(ctx, id, store.Result{ResponseCode: string(rc), Reason: reason, State: store.StateAnswered}); err != nil {
			s.log.Error("journal write failed", slog.String("error", err.Error()))
		}
		return answer(term, rc, reason)
	}
	switch {
	case !found:
		// The original never reached the acquirer: nothing to reverse.
		return done(isospec.RCApproved, reasonOriginalNotFound)
	case !reversalAmountOK(req.Amount, orig) || req.Currency != orig.Currency ||
		(account != "" && pan.Mask(account) != orig.MaskedPAN):
		// A reversal undoes its original whole: another amount, currency
		// or card contradicts it (the dialect has no partial reversal).
		return done(isospec.RCInvalidTransaction, reasonReversalMismatch)
	case orig.State == store.StateTimedOut || orig.State == store.StateReversed:
		return done(isospec.RCApproved, reasonAlreadyReversed)
	case orig.AcqSTAN == "" || orig.Issuer == "":
		// Refused by the acquirer itself: the issuer never saw it.
		return done(isospec.RCApproved, reasonNotForwarded)
	case orig.State == store.StateAnswered && !isospec.ResponseCode(orig.ResponseCode).Approved() &&
		isospec.ResponseCode(orig.ResponseCode) != isospec.RCPartialApproval:
		// Declined: the issuer holds nothing for it.
		return done(isospec.RCApproved, reasonOriginalDeclined)
	}

	de90, err := isospec.OriginalData{
		MTI: od.MTI, STAN: orig.AcqSTAN, TransmissionDateTime: orig.AcqDE7, AcquirerID: s.cfg.AcquirerID,
	}.Encode()
	if err != nil {
		return done(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	stan, _, err := s.numbers.Next(ctx, now)
	if err != nil {
		return done(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	// The terminal's reason (68 after a timeout; none for a void) goes on.
	reasonCode := req.ResponseCode
	acqDE7 := isospec.TransmissionDateTime(now)
	if err := s.store.Stamp(ctx, id, stan, acqDE7, orig.RRN); err != nil {
		s.log.Error("journal write failed", slog.String("error", err.Error()))
	}
	queue := func() []byte {
		_, err := s.store.Enqueue(ctx, store.Advice{
			JournalID: orig.ID, CreatedAt: now, BIN: orig.BIN, DE90: de90, STAN: stan,
			ProcessingCode: string(req.ProcessingCode), RRN: orig.RRN, TID: req.TerminalID, MID: req.MerchantID,
			Amount: req.Amount, Currency: req.Currency, MaskedPAN: orig.MaskedPAN, ReasonCode: string(reasonCode),
		}, store.Result{State: store.StateReversed})
		if err != nil {
			s.log.Error("reversal advice not stored", slog.String("error", err.Error()))
			return done(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
		}
		s.kickAdvices()
		return done(isospec.RCApproved, reasonReversalQueued)
	}
	lk := s.links[orig.Issuer]
	if lk == nil {
		return queue()
	}
	fwd := req
	fwd.STAN, fwd.TransmissionDateTime, fwd.RRN = stan, acqDE7, orig.RRN
	fwd.AcquirerID, fwd.OriginalData, fwd.ResponseCode, fwd.MAC = s.cfg.AcquirerID, de90, reasonCode, nil
	out, err := isospec.Encode(&fwd)
	if err != nil {
		return done(isospec.RCSystemMalfunction, string(isospec.ReasonSystemError))
	}
	resp, err := lk.Exchange(out, s.cfg.IssuerTimeout)
	if err != nil {
		s.log.Warn("reversal not delivered: stored as advice", slog.String("issuer", orig.Issuer), slog.String("error", err.Error()))
		return queue()
	}
	var ir isospec.ReversalResponse
	if err := isospec.Decode(resp, &ir); err != nil || !ir.ResponseCode.Known() {
		return queue()
	}
	if ir.ResponseCode.Approved() {
		if err := s.store.Mark(ctx, orig.ID, store.StateReversed); err != nil {
			s.log.Error("journal write failed", slog.String("error", err.Error()))
		}
	}
	jr := ""
	if pd, err := isospec.ParsePrivateData(ir.PrivateData); err == nil {
		jr = string(pd.DeclineReason)
	}
	return done(ir.ResponseCode, jr)
}

// reversalAmountOK tells whether amount is what a reversal of orig
// carries: its amount, or for a partial approval (10) the smaller amount
// approved, which the terminal's void carries.
func reversalAmountOK(amount int64, orig store.Entry) bool {
	if amount == orig.Amount {
		return true
	}
	return isospec.ResponseCode(orig.ResponseCode) == isospec.RCPartialApproval && amount > 0 && amount < orig.Amount
}
