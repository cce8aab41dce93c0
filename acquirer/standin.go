package acquirer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/isospec"
)

// reasonStandIn is the journal reason of an approval given in the
// issuer's stead.
const reasonStandIn = "stand_in"

// standIn approves a request in the issuer's stead (stand-in processing):
// DE39 00 with an authorisation code of its own ("S" and the last five
// digits of the issuer-link STAN) and the stand-in marker in DE48. An
// authorisation advice (0120, repeated as 0121) is queued in the same
// transaction as the journal's outcome, to tell the issuer once its link
// is up; a reversal advice already queued for the same original goes
// first. When the advice cannot be stored the terminal gets 91.
func (s *Server) standIn(ctx context.Context, journalID int64, req *isospec.AuthorizationRequest, rt route.Route, e store.Entry, term Terminal) []byte {
	refuse := func() []byte {
		r, err := isospec.NewAuthorizationResponse(req, isospec.RCIssuerInoperative)
		if err != nil {
			return nil
		}
		r.PrivateData = declineData(string(isospec.ReasonIssuerUnavailable))
		return s.encodeReply(r, term.TAK)
	}
	code := fmt.Sprintf("%05s", e.AcqSTAN)
	authCode := "S" + code[len(code)-5:]
	de90, err := isospec.OriginalData{
		MTI: req.MTI, STAN: e.AcqSTAN, TransmissionDateTime: e.AcqDE7, AcquirerID: s.cfg.AcquirerID,
	}.Encode()
	if err == nil {
		_, err = s.store.Enqueue(ctx, store.Advice{
			Kind: store.KindStandIn, AuthCode: authCode,
			JournalID: journalID, CreatedAt: e.At, BIN: rt.BIN, DE90: de90, STAN: e.AcqSTAN,
			ProcessingCode: string(req.ProcessingCode), RRN: e.RRN, TID: req.TerminalID, MID: req.MerchantID,
			Amount: req.Amount, Currency: req.Currency, MaskedPAN: e.MaskedPAN,
			ReasonCode: string(isospec.RCApproved),
		}, store.Result{ResponseCode: string(isospec.RCApproved), AuthCode: authCode, Reason: reasonStandIn, State: store.StateAnswered})
	}
	if err != nil {
		s.log.Error("stand-in advice not stored: no stand-in", slog.String("error", err.Error()))
		return refuse()
	}
	s.kickAdvices()
	s.log.Warn("stand-in approval in the issuer's stead, advice queued", slog.String("issuer", rt.Issuer),
		slog.String("pan", e.MaskedPAN), slog.Int64("amount", req.Amount), slog.String("tid", req.TerminalID), slog.String("auth_code", authCode))
	r, err := isospec.NewAuthorizationResponse(req, isospec.RCApproved)
	if err != nil {
		return nil
	}
	pd, err := isospec.PrivateData{StandIn: true}.Encode()
	if err != nil {
		return nil
	}
	r.AuthCode, r.PrivateData, r.RRN = authCode, pd, e.RRN
	return s.encodeReply(r, term.TAK)
}
