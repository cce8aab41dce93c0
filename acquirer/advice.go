package acquirer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/isospec"
)

// kickAdvices wakes the advice worker.
func (s *Server) kickAdvices() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Server) adviceLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.AdvicePoll)
	defer t.Stop()
	for {
		if _, err := s.RetryAdvices(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("advice queue", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// adviceDelay is the wait after the n-th send of an advice: AdviceRetry
// doubled for each earlier send, at most AdviceRetryMax.
func (s *Server) adviceDelay(n int) time.Duration {
	d := s.cfg.AdviceRetry
	for i := 1; i < n && d < s.cfg.AdviceRetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.AdviceRetryMax)
}

// RetryAdvices sends every stored advice that is due and whose issuer link
// is up: a reversal advice as a 0420 the first time, a 0421 after, and the
// advice of a stand-in approval as a 0120, then 0121; each is recorded in
// the store before it is sent. An advice is done when the issuer
// acknowledges it (0430, 0130) with any code but 96 or 91 (it could not
// take it: the advice goes again). The advices of one original go in
// their order in a pass. It returns how many were acknowledged. The
// advice worker calls it on its own; tests and tools may call it to flush
// the queue at once.
func (s *Server) RetryAdvices(ctx context.Context) (int, error) {
	if s.store == nil {
		return 0, ErrClosed
	}
	// One pass at a time, so an advice is never sent twice at once.
	s.adviceMu.Lock()
	defer s.adviceMu.Unlock()
	// Page through every due advice once: those of an issuer whose link
	// is down stay due and do not hold up the others'.
	now := s.cfg.Now()
	var after int64
	acked, unrouted := 0, 0
	defer func() {
		if unrouted > 0 {
			s.log.Error("advices without a route", slog.Int("advices", unrouted))
		}
	}()
	for ctx.Err() == nil {
		due, err := s.store.Due(ctx, now, after, 64)
		if err != nil {
			return acked, fmt.Errorf("acquirer: advice queue: %w", err)
		}
		for _, a := range due {
			after = a.ID
			switch s.sendAdvice(ctx, a, now) {
			case adviceTaken:
				acked++
			case adviceNoRoute:
				unrouted++
			}
		}
		if len(due) < 64 {
			return acked, nil
		}
	}
	return acked, ctx.Err()
}

// What became of one advice in a pass.
type adviceOutcome int

const (
	adviceNotTaken adviceOutcome = iota // not sent, or the issuer did not take it
	adviceTaken                         // acknowledged
	adviceNoRoute                       // no route for its BIN
)

// sendAdvice sends one advice and reports what became of it.
func (s *Server) sendAdvice(ctx context.Context, a store.Advice, now time.Time) adviceOutcome {
	rt, err := s.cfg.Routes.LookupBIN(a.BIN)
	if err != nil {
		return adviceNoRoute // counted and logged once a pass
	}
	lk := s.links[rt.Issuer]
	if lk == nil || !lk.Up() {
		return adviceNotTaken // sent when the link signs on
	}
	a, err = s.store.Attempted(ctx, a.ID, now.Add(s.adviceDelay(a.Attempts+1)))
	if err != nil {
		s.log.Error("advice not updated", slog.String("error", err.Error()))
		return adviceNotTaken
	}
	adv := &isospec.ReversalRequest{
		MTI:                  isospec.MTIReversalAdvice,
		ProcessingCode:       isospec.ProcessingCode(a.ProcessingCode),
		Amount:               a.Amount,
		TransmissionDateTime: isospec.TransmissionDateTime(now),
		STAN:                 a.STAN,
		AcquirerID:           s.cfg.AcquirerID,
		RRN:                  a.RRN,
		ResponseCode:         isospec.ResponseCode(a.ReasonCode),
		TerminalID:           a.TID,
		MerchantID:           a.MID,
		Currency:             a.Currency,
		OriginalData:         a.DE90,
	}
	if a.Attempts > 1 {
		adv.MTI = isospec.MTIReversalAdviceRepeat
	}
	wantMTI := isospec.MTIReversalAdviceResponse
	if a.Kind == store.KindStandIn {
		// The advice of an approval given in the issuer's stead.
		adv.MTI, wantMTI = isospec.MTIAuthorizationAdvice, isospec.MTIAuthorizationAdviceResponse
		if a.Attempts > 1 {
			adv.MTI = isospec.MTIAuthorizationAdviceRepeat
		}
		adv.AuthCode = a.AuthCode
		if adv.PrivateData, err = (isospec.PrivateData{StandIn: true}).Encode(); err != nil {
			return adviceNotTaken
		}
	}
	msg, err := isospec.Encode(adv)
	if err != nil {
		s.log.Error("advice not encodable", slog.Int64("advice", a.ID), slog.String("error", err.Error()))
		return adviceNotTaken
	}
	resp, err := lk.Exchange(msg, s.cfg.IssuerTimeout)
	if err != nil {
		s.log.Info("advice not acknowledged", slog.Int64("advice", a.ID), slog.String("mti", string(adv.MTI)), slog.String("error", err.Error()))
		return adviceNotTaken
	}
	var r isospec.ReversalResponse
	if err := isospec.Decode(resp, &r); err != nil || r.MTI != wantMTI {
		return adviceNotTaken
	}
	if r.ResponseCode == isospec.RCSystemMalfunction || r.ResponseCode == isospec.RCIssuerInoperative {
		// The issuer could not take it (its transaction lost): it goes
		// again, as a repeat. Any other code is its answer, kept with it.
		s.log.Info("advice not taken", slog.Int64("advice", a.ID), slog.String("mti", string(adv.MTI)), slog.String("code", string(r.ResponseCode)))
		return adviceNotTaken
	}
	if err := s.store.Acknowledge(ctx, a.ID, string(r.ResponseCode), s.cfg.Now()); err != nil {
		s.log.Error("advice acknowledgement not stored", slog.String("error", err.Error()))
		return adviceNotTaken
	}
	s.log.Info("advice acknowledged", slog.Int64("advice", a.ID), slog.String("mti", string(adv.MTI)), slog.String("code", string(r.ResponseCode)))
	return adviceTaken
}
