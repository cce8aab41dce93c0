package issuerhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// Seed is the sample data of an issuer: the keys to load into its security
// module, the accounts, the cards of the card store, the tokens of the
// vault and the phones bound to them, with the single-use keys those
// phones already hold. It is plain data (YAML or Go) so that whoever
// knows the sample cards can fill it; PINs travel as PIN verification
// values, never in clear.
type Seed struct {
	Keys     []SeedKey     `yaml:"keys,omitempty"`
	Accounts []SeedAccount `yaml:"accounts"`
	Cards    []SeedCard    `yaml:"cards"`
	Tokens   []SeedToken   `yaml:"tokens,omitempty"`
	Devices  []SeedDevice  `yaml:"devices,omitempty"`
	// Created is when the data is created (the current time when zero).
	Created time.Time `yaml:"-"`
}

// SeedKey is a test key to load into the security module under Label,
// given in clear as a key ceremony would (sample data only). A key whose
// label already exists with the same check value is left alone.
type SeedKey struct {
	Label string    `yaml:"label"`
	Usage hsm.Usage `yaml:"usage"`
	Alg   string    `yaml:"alg"` // TDES or AES
	Hex   string    `yaml:"hex"`
}

// String names the key without its value.
func (k SeedKey) String() string { return fmt.Sprintf("seed key %q (%s)", k.Label, k.Usage) }

// GoString is String, so that %#v shows no key either.
func (k SeedKey) GoString() string { return k.String() }

// SeedAccount is an account; amounts in minor units.
type SeedAccount struct {
	ID          string `yaml:"id"`
	Currency    int    `yaml:"currency"`
	CreditLimit int64  `yaml:"credit_limit"`
	Posted      int64  `yaml:"posted,omitempty"`
	TxnLimit    int64  `yaml:"txn_limit,omitempty"`
}

// SeedCard is a card of the card store. IMK is the label of its issuer
// master key in the security module; PVV its PIN verification value made
// with the PVK and PVKI. InitialATC is the last ATC the card used before
// the issuer sees it (0 for a new card).
type SeedCard struct {
	ID         string `yaml:"id"`
	PAN        string `yaml:"pan"`
	PSN        string `yaml:"psn,omitempty"`
	Account    string `yaml:"account"`
	Expiry     string `yaml:"expiry"` // YYMM or YYYY-MM
	CVN        string `yaml:"cvn,omitempty"`
	IMK        string `yaml:"imk,omitempty"`
	PVKI       int    `yaml:"pvki,omitempty"`
	PVV        string `yaml:"pvv,omitempty"`
	FormFactor string `yaml:"form_factor,omitempty"`
	Status     string `yaml:"status,omitempty"`
	InitialATC int    `yaml:"initial_atc,omitempty"`
	// Phone and Email are the cardholder's registered contacts, where the
	// issuer sends one-time passwords and notices (issuerhost/idv);
	// IssuerApp says the cardholder also uses the issuer's app. A card
	// with none of them can only be provisioned on a green decision.
	Phone     string `yaml:"phone,omitempty"`
	Email     string `yaml:"email,omitempty"`
	IssuerApp bool   `yaml:"issuer_app,omitempty"`
}

// String shows the card with its PAN masked.
func (c SeedCard) String() string { return fmt.Sprintf("seed card %s %s", c.ID, pan.Mask(c.PAN)) }

// GoString is String, so that %#v shows no PAN either.
func (c SeedCard) GoString() string { return c.String() }

// CVKLabel is the label of the sample issuer's card verification key
// (hsm.UsageCVK), under which the security codes on the back of its cards
// (CVV2, service code 000) are made and checked.
const CVKLabel = "issuer/cvk"

// sampleCVKHex is the sample issuer's card verification key (CVK A ‖ CVK
// B): sample data only.
const sampleCVKHex = "4CA2161637D0133E5E151AEA45DA2A13"

// SampleCVK is the sample issuer's card verification key as a seed key:
// the sample cards' security codes (CVV2) are derived with it
// (hsm.CardCode.GenerateCVV with service code "000").
func SampleCVK() SeedKey {
	return SeedKey{Label: CVKLabel, Usage: hsm.UsageCVK, Alg: "TDES", Hex: sampleCVKHex}
}

// CVVHSM is the part of the security module SampleCVV2 uses.
type CVVHSM interface {
	Lookup(label string) (hsm.Handle, error)
	GenerateCVV(cvk hsm.Handle, pan, expiry, serviceCode string) (string, error)
}

// SampleCVV2 is the security code printed on the back of a sample card
// (CVV2: service code 000, expiry YYMM) under the CVK labelled CVKLabel in
// m, for the phone panel and the tests to type into a wallet.
func SampleCVV2(m CVVHSM, p, expiry string) (string, error) {
	cvk, err := m.Lookup(CVKLabel)
	if err != nil {
		return "", fmt.Errorf("issuerhost: card verification key: %w", err)
	}
	code, err := m.GenerateCVV(cvk, p, expiry, "000")
	if err != nil {
		return "", fmt.Errorf("issuerhost: CVV2 of %s: %w", pan.Mask(p), err)
	}
	return code, nil
}

// SampleContact returns made-up registered contacts for a sample card: a
// Taiwanese mobile number (+8869 and 8 digits derived from the card ID)
// and an address under the reserved example.test domain.
func SampleContact(cardID string) (phone, email string) {
	var h uint32 = 2166136261
	for i := 0; i < len(cardID); i++ {
		h = (h ^ uint32(cardID[i])) * 16777619
	}
	return fmt.Sprintf("+8869%08d", h%100000000), strings.ToLower(cardID) + "@cardholder.example.test"
}

// SeedToken is a token of the vault for funding card Card. PVV is the
// funding card's PIN verified over the token number.
type SeedToken struct {
	ID          string `yaml:"id"`
	Number      string `yaml:"number"`
	Card        string `yaml:"card"`
	Expiry      string `yaml:"expiry"` // YYMM or YYYY-MM
	Domain      string `yaml:"domain,omitempty"`
	RequestorID string `yaml:"requestor_id,omitempty"`
	PSN         string `yaml:"psn,omitempty"`
	CVN         string `yaml:"cvn"`
	IMK         string `yaml:"imk"`
	PVKI        int    `yaml:"pvki,omitempty"`
	PVV         string `yaml:"pvv,omitempty"`
	FormFactor  string `yaml:"form_factor"`
	DeviceBound bool   `yaml:"device_bound,omitempty"`
	Status      string `yaml:"status,omitempty"`
	InitialATC  int    `yaml:"initial_atc,omitempty"`

	// Controls, when set, are the token's domain restriction controls; the
	// token's domain is then their encoding (Domain must be empty).
	Controls *vault.Controls `yaml:"controls,omitempty"`
}

// String shows the token with its number masked.
func (t SeedToken) String() string { return fmt.Sprintf("seed token %s %s", t.ID, pan.Mask(t.Number)) }

// GoString is String, so that %#v shows no number either.
func (t SeedToken) GoString() string { return t.String() }

// SeedDevice is a phone bound to Token. Its keys, if it is an HCE phone,
// come from the cloud platform's batches (issuerhost/cloud's ledger).
type SeedDevice struct {
	ID    string `yaml:"id"` // hardware device ID, hex, up to 8 bytes
	Token string `yaml:"token"`
}

// Sentinel errors of Init.
var (
	// ErrSeeded reports a store that already holds sample data.
	ErrSeeded = errors.New("issuerhost: store already initialised")
	// ErrSeed reports sample data that does not hold together.
	ErrSeed = errors.New("issuerhost: bad seed")
)

// seededKey is the store setting Init leaves behind.
const seededKey = "seeded_at"

// InitHSM is the part of the security module Init uses.
type InitHSM interface {
	List() ([]hsm.Handle, error)
	ImportKey(label string, usage hsm.Usage, k keys.Key) (hsm.Handle, error)
}

// Initialised reports whether Init has run on db.
func Initialised(ctx context.Context, db *store.DB) (bool, error) {
	var ok bool
	err := db.View(ctx, func(tx *store.Tx) error {
		var err error
		_, ok, err = tx.Meta(ctx, seededKey)
		return err
	})
	return ok, err
}

// Init loads seed into the security module and the store, in one store
// transaction, and records it in the audit trail. It runs once per store:
// a second run fails with ErrSeeded and changes nothing.
func Init(ctx context.Context, db *store.DB, h InitHSM, seed Seed) error {
	if db == nil || h == nil {
		return fmt.Errorf("%w: store and security module are required", ErrSeed)
	}
	now := seed.Created
	if now.IsZero() {
		now = time.Now()
	}
	if done, err := Initialised(ctx, db); err != nil {
		return err
	} else if done {
		return ErrSeeded
	}
	if err := loadKeys(h, seed.Keys); err != nil {
		return err
	}
	return db.Update(ctx, func(tx *store.Tx) error {
		if _, done, err := tx.Meta(ctx, seededKey); err != nil {
			return err
		} else if done {
			return ErrSeeded
		}
		if err := seedRows(ctx, tx, seed, now); err != nil {
			return err
		}
		if err := tx.SetMeta(ctx, seededKey, now.UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: "init", Action: "sample.seeded", Subject: "issuer",
			Detail: fmt.Sprintf("%d keys, %d accounts, %d cards, %d tokens, %d devices",
				len(seed.Keys), len(seed.Accounts), len(seed.Cards), len(seed.Tokens), len(seed.Devices))})
	})
}

// loadKeys imports the seed's keys, leaving alone those already there
// with the same check value.
func loadKeys(h InitHSM, ks []SeedKey) error {
	have := map[string]hsm.Handle{}
	if len(ks) > 0 {
		all, err := h.List()
		if err != nil {
			return fmt.Errorf("issuerhost: keys: %w", err)
		}
		for _, k := range all {
			have[k.Label] = k
		}
	}
	for _, sk := range ks {
		alg, err := keys.ParseAlg(sk.Alg)
		if err != nil {
			return fmt.Errorf("%w: key %q: %w", ErrSeed, sk.Label, err)
		}
		k, err := keys.ParseHex(alg, strings.ReplaceAll(sk.Hex, " ", ""))
		if err != nil {
			return fmt.Errorf("%w: key %q: %w", ErrSeed, sk.Label, err)
		}
		if old, ok := have[sk.Label]; ok {
			if old.Usage != sk.Usage || !strings.EqualFold(old.KCV, k.KCVHex()) {
				return fmt.Errorf("%w: key %q already in the security module with another value or usage", ErrSeed, sk.Label)
			}
			continue
		}
		if _, err := h.ImportKey(sk.Label, sk.Usage, k); err != nil {
			return fmt.Errorf("issuerhost: key %q: %w", sk.Label, err)
		}
	}
	return nil
}

// yymm reads YYMM or YYYY-MM and returns YYMM.
func yymm(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 7 && s[4] == '-' {
		s = s[2:4] + s[5:]
	}
	if len(s) != 4 || strings.Trim(s, "0123456789") != "" || s[2:] < "01" || s[2:] > "12" {
		return "", fmt.Errorf("%w: expiry %q (want YYMM or YYYY-MM)", ErrSeed, s)
	}
	return s, nil
}

func seedRows(ctx context.Context, tx *store.Tx, seed Seed, now time.Time) error {
	for _, a := range seed.Accounts {
		if err := tx.PutAccount(ctx, store.Account{ID: a.ID, Currency: a.Currency, CreditLimit: a.CreditLimit,
			Posted: a.Posted, TxnLimit: a.TxnLimit, Status: store.AccountActive}); err != nil {
			return fmt.Errorf("%w: account %s: %w", ErrSeed, a.ID, err)
		}
	}
	for _, c := range seed.Cards {
		exp, err := yymm(c.Expiry)
		if err != nil {
			return fmt.Errorf("card %s: %w", c.ID, err)
		}
		if !pan.LuhnValid(c.PAN) {
			return fmt.Errorf("%w: card %s: PAN %s fails its check digit", ErrSeed, c.ID, pan.Mask(c.PAN))
		}
		st := store.CardStatus(c.Status)
		if st == "" {
			st = store.CardActive
		}
		if err := tx.PutCard(ctx, store.Card{ID: c.ID, PAN: c.PAN, PSN: c.PSN, AccountID: c.Account, Expiry: exp,
			CVN: c.CVN, IMKRef: c.IMK, PVKI: c.PVKI, PVV: c.PVV, Status: st, FormFactor: c.FormFactor, CreatedAt: now}); err != nil {
			return fmt.Errorf("%w: card %s: %w", ErrSeed, c.ID, err)
		}
		if err := seedATC(ctx, tx, "card:"+c.ID, c.InitialATC, now); err != nil {
			return err
		}
		if c.Phone != "" || c.Email != "" || c.IssuerApp {
			if err := tx.PutCardContact(ctx, store.CardContact{CardID: c.ID, Phone: c.Phone, Email: c.Email,
				IssuerApp: c.IssuerApp, UpdatedAt: now}); err != nil {
				return fmt.Errorf("%w: contact of card %s: %w", ErrSeed, c.ID, err)
			}
		}
	}
	for _, k := range seed.Tokens {
		exp, err := yymm(k.Expiry)
		if err != nil {
			return fmt.Errorf("token %s: %w", k.ID, err)
		}
		if !pan.LuhnValid(k.Number) {
			return fmt.Errorf("%w: token %s: number %s fails its check digit", ErrSeed, k.ID, pan.Mask(k.Number))
		}
		domain := k.Domain
		if k.Controls != nil {
			if domain != "" {
				return fmt.Errorf("%w: token %s: both a domain and controls", ErrSeed, k.ID)
			}
			if domain, err = k.Controls.Encode(); err != nil {
				return fmt.Errorf("%w: token %s: %w", ErrSeed, k.ID, err)
			}
		}
		if !vault.ValidDomain(domain) {
			return fmt.Errorf("%w: token %s: domain %q", ErrSeed, k.ID, domain)
		}
		st := store.TokenStatus(k.Status)
		if st == "" {
			st = store.TokenActive
		}
		if err := tx.PutToken(ctx, store.Token{ID: k.ID, Number: k.Number, CardID: k.Card, Expiry: exp, Status: st,
			Domain: domain, RequestorID: k.RequestorID, PSN: k.PSN, CVN: k.CVN, IMKRef: k.IMK, PVKI: k.PVKI, PVV: k.PVV,
			FormFactor: k.FormFactor, DeviceBound: k.DeviceBound, CreatedAt: now, StatusAt: now}); err != nil {
			return fmt.Errorf("%w: token %s: %w", ErrSeed, k.ID, err)
		}
		if err := seedATC(ctx, tx, "token:"+k.ID, k.InitialATC, now); err != nil {
			return err
		}
	}
	for _, d := range seed.Devices {
		id, err := authz.NormaliseDeviceID(d.ID)
		if err != nil {
			return fmt.Errorf("%w: device of token %s: %w", ErrSeed, d.Token, err)
		}
		if err := tx.PutDevice(ctx, store.Device{DeviceID: id, TokenID: d.Token, Status: store.DeviceActive,
			RegisteredAt: now, StatusAt: now}); err != nil {
			return fmt.Errorf("%w: device %s: %w", ErrSeed, id, err)
		}
		if err := tx.Audit(ctx, store.AuditEvent{At: now, Actor: cloud.Actor, Action: "device.registered",
			Subject: "device " + id, Detail: "bound to token " + d.Token + " (sample data)"}); err != nil {
			return err
		}
	}
	return nil
}

func seedATC(ctx context.Context, tx *store.Tx, cred string, atc int, now time.Time) error {
	if atc < 0 || atc > 0xFFFF {
		return fmt.Errorf("%w: %s: initial ATC %d", ErrSeed, cred, atc)
	}
	if atc == 0 {
		return nil
	}
	return tx.RaiseATC(ctx, cred, uint16(atc), now)
}
