package authz_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

func auditTrail(t *testing.T, n *issuertest.Net) []store.AuditEvent {
	t.Helper()
	var trail []store.AuditEvent
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		trail, err = tx.AuditTrail(ctx)
		return err
	}))
	return trail
}

// R-C1: an SE phone reported lost has its card marked lost at once; its
// next tap, and a tap with a token the card funds, are declined at look-up
// with 62; the report is in the audit trail with its reason, the PAN
// masked; a second report changes nothing.
func TestReportCardLost(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	require.Equal(t, authz.Approved, decide(t, e, n.Request(issuertest.VisaSE, issuertest.Tap{Amount: 1000})).Reason)
	require.Equal(t, authz.Approved, decide(t, e, n.Request(issuertest.HCE, issuertest.Tap{Amount: 1000, CDCVM: true, ATC: 1})).Reason)

	n.Clock.Advance(time.Minute)
	before := len(auditTrail(t, n))
	changed, err := e.ReportCardLost(ctx, issuertest.VisaSE, "reported lost by the cardholder")
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, store.CardLost, card(t, n, issuertest.VisaSE).Status)

	trail := auditTrail(t, n)
	require.Len(t, trail, before+1)
	last := trail[len(trail)-1]
	require.Equal(t, "card.lost", last.Action)
	require.Equal(t, "service-centre", last.Actor)
	require.True(t, last.At.Equal(n.Clock.Now()), "the engine's clock: %s", last.At)
	require.Equal(t, "card visa-se-phone 476173******0044", last.Subject)
	require.Equal(t, "reported lost by the cardholder (was active; R-C1)", last.Detail)
	for _, ev := range trail {
		require.NotContains(t, ev.Subject+ev.Detail, "4761739001010044")
	}

	d := decide(t, e, n.Request(issuertest.VisaSE, issuertest.Tap{Amount: 1000}))
	require.Equal(t, authz.CardLost, d.Reason)
	require.Equal(t, "41", d.Code, "lost card")
	require.Equal(t, authz.StageLookup, d.Reason.Stage())
	d = decide(t, e, n.Request(issuertest.HCE, issuertest.Tap{Amount: 1000, CDCVM: true, ATC: 2}))
	require.Equal(t, authz.CardLost, d.Reason, "the token's funding card is lost")

	// Other cards go on.
	require.Equal(t, authz.Approved, decide(t, e, n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000})).Reason)

	changed, err = e.ReportCardLost(ctx, issuertest.VisaSE, "again")
	require.NoError(t, err)
	require.False(t, changed)
	require.Len(t, auditTrail(t, n), len(trail)+3, "three authorisations audited, no second report")
	require.Equal(t, store.CardLost, card(t, n, issuertest.VisaSE).Status)
}

func TestReportCardLostCases(t *testing.T) {
	n := issuertest.New(t)
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.SetCardStatus(ctx, issuertest.MCPlastic, store.CardBlocked)
	}))
	at := issuertest.Start.Add(time.Hour)
	for _, tc := range []struct {
		name, card, reason string
		changed            bool
		err                error
		detail             string
	}{
		{name: "active", card: issuertest.VisaPlastic, reason: "stolen", changed: true, detail: "stolen (was active; R-C1)"},
		{name: "blocked becomes lost", card: issuertest.MCPlastic, reason: "lost abroad", changed: true, detail: "lost abroad (was blocked; R-C1)"},
		{name: "no reason", card: issuertest.Visa22, changed: true, detail: "no reason given (was active; R-C1)"},
		{name: "already lost", card: issuertest.VisaPlastic, reason: "twice"},
		{name: "unknown card", card: "no-such-card", reason: "x", err: store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := auditTrail(t, n)
			changed, err := authz.ReportCardLost(ctx, n.DB, tc.card, tc.reason, at)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.True(t, strings.HasPrefix(err.Error(), "authz: "), err.Error())
				require.False(t, changed)
				require.Len(t, auditTrail(t, n), len(before))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.changed, changed)
			require.Equal(t, store.CardLost, card(t, n, tc.card).Status)
			after := auditTrail(t, n)
			if !tc.changed {
				require.Len(t, after, len(before))
				return
			}
			require.Len(t, after, len(before)+1)
			ev := after[len(after)-1]
			require.Equal(t, tc.detail, ev.Detail)
			require.True(t, ev.At.Equal(at))
		})
	}
	var ok int
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		ok, err = tx.VerifyAudit(ctx)
		return err
	}))
	require.Positive(t, ok)
}

// A cardholder reports the card in their SE phone lost: the card is
// marked lost at once and the report is in the audit trail, PAN masked.
func ExampleReportCardLost() {
	dir, _ := os.MkdirTemp("", "authz-example-")
	defer os.RemoveAll(dir)
	db, _ := store.OpenDir(dir, storetest.Options())
	defer db.Close()
	_ = db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutAccount(ctx, store.Account{ID: "acct-1", Currency: 901, CreditLimit: 5_000_000}); err != nil {
			return err
		}
		return tx.PutCard(ctx, store.Card{ID: "se-phone-card", PAN: "4761739001010044", AccountID: "acct-1", Expiry: "2912",
			FormFactor: "se-phone"})
	})
	at := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	for range 2 {
		changed, err := authz.ReportCardLost(ctx, db, "se-phone-card", "reported lost by the cardholder", at)
		fmt.Println(changed, err)
	}
	_ = db.View(ctx, func(tx *store.Tx) error {
		c, _ := tx.Card(ctx, "se-phone-card")
		trail, _ := tx.AuditTrail(ctx)
		e := trail[len(trail)-1]
		fmt.Println(c)
		fmt.Println(e.Actor, e.Action, e.Subject+":", e.Detail)
		return nil
	})
	// Output:
	// true <nil>
	// false <nil>
	// card se-phone-card (476173******0044, se-phone, lost)
	// service-centre card.lost card se-phone-card 476173******0044: reported lost by the cardholder (was active; R-C1)
}
