// Package vault is the issuer's token service: the token vault that maps
// each payment token to its funding card (PAN and expiry), the token's own
// expiry, its life cycle (inactive until its cardholder is verified,
// active, suspended, deleted) and its domain
// restriction controls (Controls: entry modes, channels, token requestor,
// merchants, merchant categories). Besides the card store it is the only place a PAN is kept
// (R-G5g); everything it reports shows PANs masked.
//
// Every life-cycle change is written to the audit trail in the same
// transaction (R-S4d).
package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// Domains a token may be restricted to, as the tokens' domain column keeps
// them; any other restriction is the JSON of Controls.
const (
	// DomainAny places no restriction.
	DomainAny = ""
	// DomainMobile restricts a mobile token to contactless chip payments at
	// a point of sale: POS entry mode 07x (MobileControls).
	DomainMobile = "mobile"
)

// Actor is the audit trail's name for the token service.
const Actor = "token-service"

// Sentinel errors.
var (
	// ErrTransition reports a life-cycle change the token's state does not
	// allow (anything from deleted, for example).
	ErrTransition = errors.New("vault: token state change not allowed")
	// ErrDomain reports an unknown domain restriction.
	ErrDomain = errors.New("vault: unknown domain restriction")
	// ErrToken reports a token number that is not 13 to 19 digits with a
	// valid check digit, or that is already in the vault.
	ErrToken = errors.New("vault: bad token")
)

// ValidDomain reports whether d is a domain restriction the vault knows:
// DomainAny, DomainMobile or valid Controls in JSON.
func ValidDomain(d string) bool { _, err := ParseDomain(d); return err == nil }

// AllowsEntryMode reports whether a token restricted to domain may be used
// with POS entry mode entryMode (ISO 8583 field 22, 3 digits), by its
// entry-mode and channel controls alone (see Controls.Check for all of
// them). An unknown domain allows nothing.
func AllowsEntryMode(domain, entryMode string) bool {
	c, err := ParseDomain(domain)
	if err != nil {
		return false
	}
	r := c.Check(Usage{EntryMode: entryMode}, "")
	return r != RefuseEntryMode && r != RefuseChannel
}

// Detokenised is a token resolved to its funding card.
type Detokenised struct {
	Token  store.Token
	Card   store.Card
	PAN    string // the funding PAN
	Expiry string // the funding card's expiry, YYMM
}

// String shows the token and funding PAN masked.
func (d Detokenised) String() string {
	return fmt.Sprintf("token %s -> %s (%s)", pan.Mask(d.Token.Number), pan.Mask(d.PAN), d.Token.Status)
}

// GoString is String, so that %#v shows no PAN either.
func (d Detokenised) GoString() string { return d.String() }

// Detokenise resolves a token number inside tx. It fails with an error
// wrapping store.ErrNotFound when the number is no token.
func Detokenise(ctx context.Context, tx *store.Tx, number string) (Detokenised, error) {
	k, err := tx.TokenByNumber(ctx, number)
	if err != nil {
		return Detokenised{}, err
	}
	c, err := tx.Card(ctx, k.CardID)
	if err != nil {
		return Detokenised{}, fmt.Errorf("vault: funding card of token %s: %w", k.ID, err)
	}
	return Detokenised{Token: k, Card: c, PAN: c.PAN, Expiry: c.Expiry}, nil
}

// allowed lists the life-cycle changes.
func allowed(from, to store.TokenStatus) bool {
	switch from {
	case store.TokenActive:
		return to == store.TokenSuspended || to == store.TokenDeleted
	case store.TokenSuspended:
		return to == store.TokenActive || to == store.TokenDeleted
	case store.TokenInactive:
		// Activated once the cardholder is verified (R-S2a), or ended.
		return to == store.TokenActive || to == store.TokenDeleted
	}
	return false
}

// SetStatus moves token id to state to inside tx, writing the change to
// the audit trail as actor with reason. Asking for the state the token is
// already in changes nothing and reports false.
func SetStatus(ctx context.Context, tx *store.Tx, id string, to store.TokenStatus, actor, reason string, at time.Time) (bool, error) {
	k, err := tx.Token(ctx, id)
	if err != nil {
		return false, err
	}
	if k.Status == to {
		return false, nil
	}
	if !allowed(k.Status, to) {
		return false, fmt.Errorf("%w: %s to %s", ErrTransition, k.Status, to)
	}
	if err := tx.SetTokenStatus(ctx, id, to, at); err != nil {
		return false, err
	}
	err = tx.Audit(ctx, store.AuditEvent{At: at, Actor: actor, Action: "token." + string(to),
		Subject: "token " + id + " " + pan.Mask(k.Number), Detail: reason})
	return err == nil, err
}

// Vault is the token service over a store.
type Vault struct {
	db  *store.DB
	now func() time.Time
}

// New returns the token service of db; now is its clock (time.Now when
// nil).
func New(db *store.DB, now func() time.Time) *Vault {
	if now == nil {
		now = time.Now
	}
	return &Vault{db: db, now: now}
}

// Detokenise resolves a token number.
func (v *Vault) Detokenise(ctx context.Context, number string) (Detokenised, error) {
	var d Detokenised
	err := v.db.View(ctx, func(tx *store.Tx) error {
		var err error
		d, err = Detokenise(ctx, tx, number)
		return err
	})
	return d, err
}

func (v *Vault) set(ctx context.Context, id string, to store.TokenStatus, reason string) error {
	return v.db.Update(ctx, func(tx *store.Tx) error {
		_, err := SetStatus(ctx, tx, id, to, Actor, reason, v.now())
		return err
	})
}

// Suspend suspends token id (for example on the cardholder's request):
// taps with it are declined until it is resumed.
func (v *Vault) Suspend(ctx context.Context, id, reason string) error {
	return v.set(ctx, id, store.TokenSuspended, reason)
}

// Resume makes a suspended token active again. An inactive token is not
// resumed: it becomes active only when its cardholder is verified
// (R-S2a).
func (v *Vault) Resume(ctx context.Context, id, reason string) error {
	return v.db.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, id)
		if err != nil {
			return err
		}
		if k.Status == store.TokenInactive {
			return fmt.Errorf("%w: resume an inactive token (it is activated once its cardholder is verified)", ErrTransition)
		}
		_, err = SetStatus(ctx, tx, id, store.TokenActive, Actor, reason, v.now())
		return err
	})
}

// Delete ends token id for good.
func (v *Vault) Delete(ctx context.Context, id, reason string) error {
	return v.set(ctx, id, store.TokenDeleted, reason)
}

// Provision adds token k for its funding card k.CardID, active, after the
// issuer verified the cardholder (ID&V, R-M5). The number must be a valid
// PAN-format number not already in the vault, the expiry YYMM, the domain
// one of the vault's.
func (v *Vault) Provision(ctx context.Context, k store.Token) error {
	if n := len(k.Number); n < 13 || n > 19 || !pan.LuhnValid(k.Number) {
		return fmt.Errorf("%w: number %s", ErrToken, pan.Mask(k.Number))
	}
	if !ValidDomain(k.Domain) {
		return fmt.Errorf("%w: %q", ErrDomain, k.Domain)
	}
	now := v.now()
	return v.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.TokenByNumber(ctx, k.Number); err == nil {
			return fmt.Errorf("%w: %s already in the vault", ErrToken, pan.Mask(k.Number))
		}
		if _, err := tx.Card(ctx, k.CardID); err != nil {
			return fmt.Errorf("vault: funding card: %w", err)
		}
		k.Status, k.CreatedAt, k.StatusAt = store.TokenActive, now, now
		if err := tx.PutToken(ctx, k); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "token.provisioned",
			Subject: "token " + k.ID + " " + pan.Mask(k.Number), Detail: "funding card " + k.CardID + ", requestor " + k.RequestorID})
	})
}
