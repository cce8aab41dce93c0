package store

import (
	"context"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
)

// AccountStatus is the state of an account.
type AccountStatus string

// Account states.
const (
	AccountActive AccountStatus = "active"
	AccountClosed AccountStatus = "closed"
)

// Account is a credit account: a limit, the posted balance and the sum of
// the active authorisation holds, all in minor units of Currency.
type Account struct {
	ID          string
	Currency    int   // ISO 4217 numeric code
	CreditLimit int64 // minor units
	Posted      int64 // posted balance, minor units
	Held        int64 // sum of active holds, minor units
	TxnLimit    int64 // largest single authorisation, 0 for none
	Status      AccountStatus
}

// OpenToBuy is what may still be authorised: the limit less the posted
// balance and the active holds.
func (a Account) OpenToBuy() int64 { return a.CreditLimit - a.Posted - a.Held }

// CardStatus is the state of a card.
type CardStatus string

// Card states.
const (
	CardActive  CardStatus = "active"
	CardBlocked CardStatus = "blocked"
	CardLost    CardStatus = "lost"
)

// Card is one card of the card store: its PAN and PAN sequence number, the
// account it draws on, its expiry (YYMM), its cryptogram version and the
// reference of its issuer master key in the security module, its PIN
// verification value (Visa PVV with its key index) and PIN try counter.
// Funding cards that are only ever presented through a token have no CVN
// and no key reference.
type Card struct {
	ID          string
	PAN         string
	PSN         string
	AccountID   string
	Expiry      string // YYMM
	CVN         string // emv/cryptogram name (visa18, mc21 ...), empty for none
	IMKRef      string // issuer master key reference in the security module
	PVKI        int    // PIN verification key index
	PVV         string // 4-digit PIN verification value, empty for no PIN
	PINFailures int    // consecutive wrong PINs
	PINLocked   bool   // locked after too many wrong PINs (R-G3c)
	Status      CardStatus
	FormFactor  string // plastic, se-phone, hce-phone, wallet-phone
	CreatedAt   time.Time
}

// String describes the card with its PAN masked; no PVV.
func (c Card) String() string {
	return fmt.Sprintf("card %s (%s, %s, %s)", c.ID, pan.Mask(c.PAN), c.FormFactor, c.Status)
}

// GoString is String, so that %#v shows no PAN either.
func (c Card) GoString() string { return c.String() }

// PutAccount creates or replaces an account.
func (t *Tx) PutAccount(ctx context.Context, a Account) error {
	if a.ID == "" || a.CreditLimit < 0 || a.TxnLimit < 0 || a.Held < 0 {
		return fmt.Errorf("%w: account %q", ErrInvalid, a.ID)
	}
	if a.Status == "" {
		a.Status = AccountActive
	}
	_, err := t.exec(ctx, `INSERT INTO accounts (id, currency, credit_limit, posted, held, txn_limit, status)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET currency = excluded.currency, credit_limit = excluded.credit_limit,
posted = excluded.posted, held = excluded.held, txn_limit = excluded.txn_limit, status = excluded.status`,
		a.ID, a.Currency, a.CreditLimit, a.Posted, a.Held, a.TxnLimit, string(a.Status))
	if err != nil {
		return fmt.Errorf("store: put account: %w", err)
	}
	return nil
}

// Account returns the account id; inside UpdateRows it locks its row
// until the commit (see DB.UpdateRows), as Card, CardByPAN, Token,
// TokenByNumber and CredentialByNumber lock theirs.
func (t *Tx) Account(ctx context.Context, id string) (Account, error) {
	var r accountRow
	if err := t.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`+t.forUpdate(), id).Scan(r.dest()...); err != nil {
		return Account{}, notFound(err, "account "+id)
	}
	return r.account(), nil
}

const accountCols = `id, currency, credit_limit, posted, held, txn_limit, status`

// accountRow is an accounts row as read (accountCols).
type accountRow struct {
	a  Account
	st string
}

func (r *accountRow) dest() []any {
	a := &r.a
	return []any{&a.ID, &a.Currency, &a.CreditLimit, &a.Posted, &a.Held, &a.TxnLimit, &r.st}
}

func (r *accountRow) account() Account {
	a := r.a
	a.Status = AccountStatus(r.st)
	return a
}

// AddHeld adds delta (negative to release) to the account's held amount.
func (t *Tx) AddHeld(ctx context.Context, id string, delta int64) error {
	res, err := t.exec(ctx, `UPDATE accounts SET held = held + ? WHERE id = ?`, delta, id)
	if err != nil {
		return fmt.Errorf("store: hold on account: %w", err)
	}
	return mustAffect(res, "account "+id)
}

const cardCols = `id, pan_index, pan_enc, psn, account_id, expiry_enc, cvn, imk_ref, pvki, pvv_enc, pin_failures, pin_locked, status, form_factor, created_at`

// PutCard creates or replaces a card. Its PAN, expiry and PVV are stored
// encrypted, and its PAN's keyed hash as the look-up index.
func (t *Tx) PutCard(ctx context.Context, c Card) error {
	if c.ID == "" || c.PAN == "" || c.AccountID == "" || len(c.Expiry) != 4 {
		return fmt.Errorf("%w: card %q", ErrInvalid, c.ID)
	}
	if c.Status == "" {
		c.Status = CardActive
	}
	idx, err := t.index(c.PAN)
	if err != nil {
		return err
	}
	var enc [3]string
	for i, f := range []struct{ col, v string }{{"pan", c.PAN}, {"expiry", c.Expiry}, {"pvv", c.PVV}} {
		if enc[i], err = t.sealField("cards", c.ID, f.col, f.v); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `INSERT INTO cards (`+cardCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET pan_index = excluded.pan_index, pan_enc = excluded.pan_enc, psn = excluded.psn,
account_id = excluded.account_id, expiry_enc = excluded.expiry_enc, cvn = excluded.cvn, imk_ref = excluded.imk_ref,
pvki = excluded.pvki, pvv_enc = excluded.pvv_enc, pin_failures = excluded.pin_failures, pin_locked = excluded.pin_locked,
status = excluded.status, form_factor = excluded.form_factor`,
		c.ID, idx, enc[0], c.PSN, c.AccountID, enc[1], c.CVN, c.IMKRef, c.PVKI, enc[2], c.PINFailures, boolInt(c.PINLocked),
		string(c.Status), c.FormFactor, nanos(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put card %s: %w", c.ID, err)
	}
	return nil
}

// scanCard reads a card row and decrypts its sensitive columns; a value
// that does not decrypt is ErrTampered, and so is a PAN whose index is
// not the row's (a row's encrypted PAN put beside another's index).
func (t *Tx) scanCard(row interface{ Scan(...any) error }) (Card, error) {
	var r cardRow
	if err := row.Scan(r.dest()...); err != nil {
		return Card{}, err
	}
	return t.openCard(&r)
}

// cardRow is a cards row as read (cardCols), its sensitive columns still
// sealed.
type cardRow struct {
	c                               Card
	locked                          int
	st, idx, panEnc, expEnc, pvvEnc string
	created                         int64
}

// dest is where a row of cardCols scans to.
func (r *cardRow) dest() []any {
	c := &r.c
	return []any{&c.ID, &r.idx, &r.panEnc, &c.PSN, &c.AccountID, &r.expEnc, &c.CVN, &c.IMKRef, &c.PVKI, &r.pvvEnc,
		&c.PINFailures, &r.locked, &r.st, &c.FormFactor, &r.created}
}

// openCard decrypts the row's sealed columns and checks its PAN against
// its index.
func (t *Tx) openCard(r *cardRow) (Card, error) {
	c := r.c
	c.PINLocked, c.Status, c.CreatedAt = r.locked != 0, CardStatus(r.st), fromNanos(r.created)
	var err error
	for _, f := range []struct {
		col, enc string
		dst      *string
	}{{"pan", r.panEnc, &c.PAN}, {"expiry", r.expEnc, &c.Expiry}, {"pvv", r.pvvEnc, &c.PVV}} {
		if *f.dst, err = t.openField("cards", c.ID, f.col, f.enc); err != nil {
			return Card{}, err
		}
	}
	if want, err := t.index(c.PAN); err != nil {
		return Card{}, err
	} else if want != r.idx {
		return Card{}, fmt.Errorf("%w: cards %s pan: index does not match", ErrTampered, c.ID)
	}
	return c, nil
}

// Card returns the card id.
func (t *Tx) Card(ctx context.Context, id string) (Card, error) {
	if t.c == nil {
		return Card{}, ErrNoCipher
	}
	c, err := t.scanCard(t.queryRow(ctx, `SELECT `+cardCols+` FROM cards WHERE id = ?`+t.forUpdate(), id))
	if err != nil {
		return Card{}, rowErr(err, "card "+id)
	}
	return c, nil
}

// CardByPAN returns the card with PAN p, found by its keyed hash. The
// error names the PAN masked.
func (t *Tx) CardByPAN(ctx context.Context, p string) (Card, error) {
	idx, err := t.index(p)
	if err != nil {
		return Card{}, err
	}
	c, err := t.scanCard(t.queryRow(ctx, `SELECT `+cardCols+` FROM cards WHERE pan_index = ?`+t.forUpdate(), idx))
	if err != nil {
		return Card{}, rowErr(err, "card "+pan.Mask(p))
	}
	return c, nil
}

// SetCardStatus changes a card's state.
func (t *Tx) SetCardStatus(ctx context.Context, id string, s CardStatus) error {
	switch s {
	case CardActive, CardBlocked, CardLost:
	default:
		return fmt.Errorf("%w: card status %q", ErrInvalid, s)
	}
	res, err := t.exec(ctx, `UPDATE cards SET status = ? WHERE id = ?`, string(s), id)
	if err != nil {
		return fmt.Errorf("store: card status: %w", err)
	}
	return mustAffect(res, "card "+id)
}

// SetPINState records a card's consecutive wrong PINs and lock.
func (t *Tx) SetPINState(ctx context.Context, id string, failures int, locked bool) error {
	if failures < 0 {
		return fmt.Errorf("%w: PIN failures %d", ErrInvalid, failures)
	}
	res, err := t.exec(ctx, `UPDATE cards SET pin_failures = ?, pin_locked = ? WHERE id = ?`, failures, boolInt(locked), id)
	if err != nil {
		return fmt.Errorf("store: PIN state: %w", err)
	}
	return mustAffect(res, "card "+id)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
