package vault_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

var ctx = context.Background()

func TestDetokenise(t *testing.T) {
	n := issuertest.New(t)
	v := vault.New(n.DB, n.Clock.Now)
	d, err := v.Detokenise(ctx, "4895370012340011")
	require.NoError(t, err)
	require.Equal(t, "4761739001010044", d.PAN)
	require.Equal(t, "2912", d.Expiry)
	require.Equal(t, issuertest.HCE, d.Token.ID)
	require.Equal(t, "2812", d.Token.Expiry)
	for _, s := range []string{d.String(), d.GoString(), fmt.Sprintf("%v %+v %#v", d, d, d)} {
		require.NotContains(t, s, "9001010044")
		require.NotContains(t, s, "0012340011")
	}
	_, err = v.Detokenise(ctx, "4761739001010010")
	require.ErrorIs(t, err, store.ErrNotFound, "a card number is no token")
}

func TestLifeCycle(t *testing.T) {
	n := issuertest.New(t)
	v := vault.New(n.DB, n.Clock.Now)
	status := func() store.TokenStatus {
		d, err := v.Detokenise(ctx, "4895370098760017")
		require.NoError(t, err)
		return d.Token.Status
	}
	require.NoError(t, v.Suspend(ctx, issuertest.Wallet, "cardholder request"))
	require.Equal(t, store.TokenSuspended, status())
	require.NoError(t, v.Suspend(ctx, issuertest.Wallet, "again"), "no change")
	require.NoError(t, v.Resume(ctx, issuertest.Wallet, "found the phone"))
	require.Equal(t, store.TokenActive, status())
	require.NoError(t, v.Delete(ctx, issuertest.Wallet, "card closed"))
	require.Equal(t, store.TokenDeleted, status())
	require.ErrorIs(t, v.Resume(ctx, issuertest.Wallet, "too late"), vault.ErrTransition)
	require.ErrorIs(t, v.Suspend(ctx, issuertest.Wallet, "too late"), vault.ErrTransition)
	require.ErrorIs(t, v.Suspend(ctx, "nope", ""), store.ErrNotFound)

	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		trail, err := tx.AuditTrail(ctx)
		require.NoError(t, err)
		var actions []string
		for _, e := range trail {
			if e.Actor == vault.Actor {
				actions = append(actions, e.Action)
				require.NotContains(t, e.Subject, "0098760017")
			}
		}
		require.Equal(t, []string{"token.suspended", "token.active", "token.deleted"}, actions)
		return nil
	}))
}

// R-S2a: a token made before its cardholder was verified is inactive: the
// service centre cannot resume it, it cannot be suspended; it becomes
// active when the cardholder is verified, or is ended.
func TestInactiveToken(t *testing.T) {
	n := issuertest.New(t)
	v := vault.New(n.DB, n.Clock.Now)
	set := func(to store.TokenStatus) error {
		return n.DB.Update(ctx, func(tx *store.Tx) error {
			_, err := vault.SetStatus(ctx, tx, issuertest.Wallet, to, "test", "step-up", n.Clock.Now())
			return err
		})
	}
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.SetTokenStatus(ctx, issuertest.Wallet, store.TokenInactive, n.Clock.Now())
	}))
	require.ErrorIs(t, v.Resume(ctx, issuertest.Wallet, "service centre"), vault.ErrTransition)
	require.ErrorIs(t, v.Suspend(ctx, issuertest.Wallet, "lost"), vault.ErrTransition)
	require.NoError(t, set(store.TokenActive), "activated: the cardholder verified")
	d, err := v.Detokenise(ctx, "4895370098760017")
	require.NoError(t, err)
	require.Equal(t, store.TokenActive, d.Token.Status)
	require.ErrorIs(t, set(store.TokenInactive), vault.ErrTransition, "an active token never goes back to inactive")
}

func TestProvision(t *testing.T) {
	n := issuertest.New(t)
	v := vault.New(n.DB, n.Clock.Now)
	tok := store.Token{ID: "new", Number: "4895370012340029", CardID: issuertest.VisaPlastic, Expiry: "2812",
		Domain: vault.DomainMobile, RequestorID: "40010030273", CVN: "visa18", IMKRef: "issuer/imk/token", FormFactor: "wallet-phone"}
	require.NoError(t, v.Provision(ctx, tok))
	d, err := v.Detokenise(ctx, tok.Number)
	require.NoError(t, err)
	require.Equal(t, "4761739001010010", d.PAN)
	require.Equal(t, store.TokenActive, d.Token.Status)

	require.ErrorIs(t, v.Provision(ctx, tok), vault.ErrToken, "already in the vault")
	bad := tok
	bad.Number = "4895370012340028"
	require.ErrorIs(t, v.Provision(ctx, bad), vault.ErrToken, "check digit")
	bad = tok
	bad.Number, bad.Domain = "4895370012340037", "ecommerce"
	require.ErrorIs(t, v.Provision(ctx, bad), vault.ErrDomain)
	bad = tok
	bad.Number, bad.CardID = "4895370012340037", "nope"
	require.ErrorIs(t, v.Provision(ctx, bad), store.ErrNotFound)
}

func TestAllowsEntryMode(t *testing.T) {
	tests := []struct {
		domain, mode string
		want         bool
	}{
		{vault.DomainMobile, "071", true},
		{vault.DomainMobile, "072", true},
		{vault.DomainMobile, "051", false},
		{vault.DomainMobile, "911", false},
		{vault.DomainMobile, "012", false},
		{vault.DomainAny, "051", true},
		{"ecommerce", "071", false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, vault.AllowsEntryMode(tc.domain, tc.mode), "%s %s", tc.domain, tc.mode)
	}
}
