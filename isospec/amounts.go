package isospec

import (
	"fmt"
	"strconv"
)

// Amount types of DE54.
const (
	AmountTypeLedger    = "01" // ledger balance
	AmountTypeAvailable = "02" // available balance
)

// AdditionalAmount is one 20-character entry of DE54: account type (2),
// amount type (2), ISO 4217 numeric currency (3), sign C or D (1) and the
// amount in minor units (12). Responses carry the card's balance in it,
// after a balance inquiry or with a partial approval (DE39 10).
type AdditionalAmount struct {
	AccountType string // 2 digits, AccountDefault when empty
	AmountType  string // 2 digits, AmountTypeAvailable when empty
	Currency    string // 3 digits
	Amount      int64  // minor units; negative is a debit balance
}

// Encode returns the entry as DE54 carries it.
func (a AdditionalAmount) Encode() (string, error) {
	acct, typ := a.AccountType, a.AmountType
	if acct == "" {
		acct = AccountDefault
	}
	if typ == "" {
		typ = AmountTypeAvailable
	}
	sign, amt := "C", a.Amount
	if amt < 0 {
		sign, amt = "D", -amt
	}
	switch {
	case len(acct) != 2 || !allDigit(acct), len(typ) != 2 || !allDigit(typ):
		return "", fieldErr(FieldAdditionalAmounts, -1, ErrValue, "account and amount types are 2 digits")
	case len(a.Currency) != 3 || !allDigit(a.Currency):
		return "", fieldErr(FieldAdditionalAmounts, -1, ErrValue, "currency is 3 digits")
	case amt > 999999999999:
		return "", fieldErr(FieldAdditionalAmounts, -1, ErrValue, "amount over 12 digits")
	}
	return fmt.Sprintf("%s%s%s%s%012d", acct, typ, a.Currency, sign, amt), nil
}

// ParseAdditionalAmounts splits DE54 into its entries.
func ParseAdditionalAmounts(s string) ([]AdditionalAmount, error) {
	if err := checkAdditionalAmounts(s); err != nil {
		return nil, err
	}
	out := make([]AdditionalAmount, 0, len(s)/20)
	for i := 0; i < len(s); i += 20 {
		e := s[i : i+20]
		n, _ := strconv.ParseInt(e[8:], 10, 64)
		if e[7] == 'D' {
			n = -n
		}
		out = append(out, AdditionalAmount{AccountType: e[:2], AmountType: e[2:4], Currency: e[4:7], Amount: n})
	}
	return out, nil
}

// checkAdditionalAmounts checks DE54 as ParseAdditionalAmounts reads it.
func checkAdditionalAmounts(s string) error {
	if len(s) == 0 || len(s)%20 != 0 {
		return fieldErr(FieldAdditionalAmounts, -1, ErrValue, "not a multiple of 20 characters")
	}
	for i := 0; i < len(s); i += 20 {
		e := s[i : i+20]
		// Twelve digits always fit an int64.
		if !allDigit(e[:7]) || !allDigit(e[8:]) || (e[7] != 'C' && e[7] != 'D') {
			return fieldErr(FieldAdditionalAmounts, i, ErrValue, "malformed entry")
		}
	}
	return nil
}

func allDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
