package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/tapsim/tapsim/emv/pan"
)

// Credential is what a number presented for payment names at the issuer:
// a token and its funding card, or a card, with the card's account.
type Credential struct {
	// Token is the token the number is, nil when the number is a card's
	// PAN.
	Token *Token
	// Card is the token's funding card, or the card whose PAN the number
	// is.
	Card Card
	// Account is the card's account.
	Account Account
}

// The look-ups of a credential: the token's columns, the card's and the
// account's. Inside UpdateRows PostgreSQL locks the rows of a join in the
// order of its FROM list, which is the order the package keeps (a token,
// then its card, then the account): keep it so.
var (
	tokenColsK   = qualified("k", tokenCols)
	cardColsC    = qualified("c", cardCols)
	accountColsA = qualified("a", accountCols)
	// credentialOfCard finds a card with its account, unless the number
	// is a token's too.
	credentialOfCard = `SELECT ` + cardColsC + `, ` + accountColsA + ` FROM cards c
JOIN accounts a ON a.id = c.account_id
WHERE c.pan_index = ? AND NOT EXISTS (SELECT 1 FROM tokens WHERE number_index = ?)`
	// credentialOfToken finds a token with its card and account.
	credentialOfToken = `SELECT ` + tokenColsK + `, ` + cardColsC + `, ` + accountColsA + ` FROM tokens k
JOIN cards c ON c.id = k.card_id JOIN accounts a ON a.id = c.account_id WHERE k.number_index = ?`
)

// qualified prefixes each column of the list cols with table alias t.
func qualified(t, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = t + "." + c
	}
	return strings.Join(parts, ", ")
}

// CredentialByNumber finds number as a token's number, else as a card's
// PAN (a number that is both is the token), with the card and the card's
// account: what Detokenise (in the vault), CardByPAN and Account read one
// after the other. A card's PAN takes one statement, a token's number two
// (the card's look-up finds none first). Inside UpdateRows it locks the
// rows it reads, as they do. A token whose card, or a card whose
// account, is missing (the schema's foreign keys forbid both) is not
// found. The error names the number masked.
func (t *Tx) CredentialByNumber(ctx context.Context, number string) (Credential, error) {
	if t.c == nil {
		return Credential{}, ErrNoCipher
	}
	idx, err := t.index(number)
	if err != nil {
		return Credential{}, err
	}
	var cr Credential
	var k tokenRow
	var c cardRow
	var a accountRow
	err = t.queryRow(ctx, credentialOfCard+t.forUpdate(), idx, idx).Scan(append(c.dest(), a.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.queryRow(ctx, credentialOfToken+t.forUpdate(), idx).Scan(append(append(k.dest(), c.dest()...), a.dest()...)...)
		if err == nil {
			var tok Token
			if tok, err = t.openToken(&k); err == nil {
				cr.Token = &tok
			}
		}
	}
	if err == nil {
		cr.Card, err = t.openCard(&c)
	}
	if err != nil {
		return Credential{}, rowErr(err, "card or token "+pan.Mask(number))
	}
	cr.Account = a.account()
	return cr, nil
}
