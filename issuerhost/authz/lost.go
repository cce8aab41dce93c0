package authz

import (
	"context"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// ReportCardLost marks card cardID lost on the cardholder's notice (R-C1):
// from then on every authorisation with the card, or with a token it
// funds, is declined at look-up (CardBlocked). The change is written to
// the audit trail with reason in the same transaction. A blocked card
// becomes lost; a card already lost is left as it is and ReportCardLost
// reports false.
func (e *Engine) ReportCardLost(ctx context.Context, cardID, reason string) (bool, error) {
	return ReportCardLost(ctx, e.db, cardID, reason, e.cfg.Now())
}

// ReportCardLost is Engine.ReportCardLost on a store, at time at; it needs
// no security module.
func ReportCardLost(ctx context.Context, db *store.DB, cardID, reason string, at time.Time) (bool, error) {
	changed := false
	err := db.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.Card(ctx, cardID)
		if err != nil {
			return err
		}
		if c.Status == store.CardLost {
			return nil
		}
		if err := tx.SetCardStatus(ctx, cardID, store.CardLost); err != nil {
			return err
		}
		if reason == "" {
			reason = "no reason given"
		}
		if err := tx.Audit(ctx, store.AuditEvent{At: at, Actor: "service-centre", Action: "card.lost",
			Subject: "card " + cardID + " " + pan.Mask(c.PAN),
			Detail:  fmt.Sprintf("%s (was %s; R-C1)", reason, c.Status)}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("authz: report card %s lost: %w", cardID, err)
	}
	return changed, nil
}
