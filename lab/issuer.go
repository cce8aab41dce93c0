package lab

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// The issuer's sample settings.
const (
	// SamplePIN is the PIN of every sample card and token.
	SamplePIN = "1234"
	// IssuerKeystore is the issuer's keystore file in its data directory.
	IssuerKeystore = "issuer-keys.json"
	// sampleCreditLimit is the credit limit of each sample account:
	// NT$50,000.
	sampleCreditLimit = 5_000_000
)

// SampleDecline is how the sample issuer sets up the account or card of a
// profile meant to be declined without rules.
type SampleDecline struct {
	// Code is the response code (DE39) a sale of Amount gets.
	Code   string
	Amount int64
	// CreditLimit and TxnLimit are the account's limits, in minor units
	// (TxnLimit 0: none).
	CreditLimit, TxnLimit int64
	// Blocked makes the issuer hold the card blocked.
	Blocked bool
}

// SampleDeclines are the sample profiles a tester taps to get each usual
// decline from the issuer, by profile name. visa-expired is declined 54 by
// its expiry date alone (its card is set up like any other). A sale below
// NT$1,000.00 on visa-low-funds or visa-txn-limit is approved, and the
// former's approvals use up its open-to-buy: re-create the issuer's data
// to start again.
var SampleDeclines = map[string]SampleDecline{
	"visa-low-funds":  {Code: "51", Amount: 150000, CreditLimit: 100000},
	"visa-expired":    {Code: "54", Amount: 150000, CreditLimit: sampleCreditLimit},
	"visa-txn-limit":  {Code: "61", Amount: 150000, CreditLimit: sampleCreditLimit, TxnLimit: 100000},
	"visa-restricted": {Code: "62", Amount: 150000, CreditLimit: sampleCreditLimit, Blocked: true},
}

// Issuer is an opened issuer: its store, whose cipher holds the data keys
// of its security module, and the module.
type Issuer struct {
	// DB is the issuer's store.
	DB *store.DB
	// HSM is the issuer's security module; nil when only the store was
	// opened.
	HSM *soft.HSM
}

// Close closes the store and the security module.
func (r *Issuer) Close() {
	if r.DB != nil {
		_ = r.DB.Close()
	}
	if r.HSM != nil {
		_ = r.HSM.Close()
	}
}

// OpenIssuerDB opens the issuer's store without its data keys: the
// PostgreSQL database dsn, or SQLite in dir when dsn is empty.
func OpenIssuerDB(ctx context.Context, dir, dsn string) (*store.DB, error) {
	if dsn == "" {
		db, err := store.OpenDir(dir, store.Options{})
		if err != nil {
			return nil, fmt.Errorf("issuer database: %w", err)
		}
		return db, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := store.OpenPostgres(ctx, dsn, store.PostgresOptions{})
	if err != nil {
		return nil, fmt.Errorf("issuer database: %w", err)
	}
	return db, nil
}

// OpenIssuer opens the issuer's store (SQLite in dir, or the PostgreSQL
// database dsn when not empty) and its security module in dir, and gives
// the store the cipher of its data keys (IssuerDataKeys). logger receives
// the module's events; nil discards them.
func OpenIssuer(ctx context.Context, dir, dsn string, logger *slog.Logger) (*Issuer, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("issuer: empty data directory")
	}
	m, err := OpenSoftHSM("issuer", dir, IssuerKeystore, logger)
	if err != nil {
		return nil, err
	}
	db, err := OpenIssuerDB(ctx, dir, dsn)
	if err != nil {
		m.Close()
		return nil, err
	}
	if err := IssuerDataKeys(ctx, db, m); err != nil {
		db.Close()
		m.Close()
		return nil, err
	}
	return &Issuer{DB: db, HSM: m}, nil
}

// wrappedDataKeys is the setting of a shared (PostgreSQL) database that
// holds the issuer's data keys wrapped under its KEK, for the instances
// that share the database.
const wrappedDataKeys = "data_keys_wrapped"

// IssuerDataKeys gives db the cipher of the issuer's data keys in m: the
// data-encryption key and the PAN index key (store.DataKeyLabel,
// store.IndexKeyLabel), generated in m on first start. The store refuses
// keys other than those its data was written under.
//
// Instances sharing a PostgreSQL database each have their own keystore, so
// the first one to start also puts its data keys in the database wrapped
// under the issuer's KEK (key blocks, as keys are exchanged); the others
// import them from there under the same KEK. The database then holds no
// key in clear, and the keys are only as safe as the KEK.
func IssuerDataKeys(ctx context.Context, db *store.DB, m *soft.HSM) error {
	if db.Engine() == "postgres" {
		if err := shareDataKeys(ctx, db, m); err != nil {
			return fmt.Errorf("issuer data keys: %w", err)
		}
	}
	c, err := store.HSMCipher(m)
	if err != nil {
		return fmt.Errorf("issuer data keys: %w", err)
	}
	if err := db.SetCipher(ctx, c); err != nil {
		return fmt.Errorf("issuer data keys: %w", err)
	}
	return nil
}

// shareDataKeys makes m and the shared database agree on the data keys:
// m's keys are exported to the database when it has none, the database's
// imported into m when m has none.
func shareDataKeys(ctx context.Context, db *store.DB, m *soft.HSM) error {
	k := issuerhost.DefaultKeys()
	kek, err := issuerKey(m, k.KEK, hsm.UsageKEK, keys.MustHex(keys.AES, KEK))
	if err != nil {
		return err
	}
	return db.Update(ctx, func(tx *store.Tx) error {
		v, ok, err := tx.Meta(ctx, wrappedDataKeys)
		if err != nil {
			return err
		}
		_, derr := m.Lookup(store.DataKeyLabel)
		_, ierr := m.Lookup(store.IndexKeyLabel)
		if ok && errors.Is(derr, hsm.ErrUnknownKey) && errors.Is(ierr, hsm.ErrUnknownKey) {
			dekHex, idxHex, _ := strings.Cut(v, ":")
			dek, err1 := hex.DecodeString(dekHex)
			idx, err2 := hex.DecodeString(idxHex)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("%w: %s: not two hex key blocks", store.ErrInvalid, wrappedDataKeys)
			}
			if _, err := m.ImportWrappedKey(store.DataKeyLabel, hsm.UsageDEK, kek, dek); err != nil {
				return err
			}
			_, err := m.ImportWrappedKey(store.IndexKeyLabel, hsm.UsageDataHash, kek, idx)
			return err
		}
		if ok {
			return nil // m has its keys; SetCipher checks they are the database's
		}
		if _, err := store.HSMCipher(m); err != nil { // made in m when missing
			return err
		}
		var blocks []string
		for _, l := range []string{store.DataKeyLabel, store.IndexKeyLabel} {
			h, err := m.Lookup(l)
			if err != nil {
				return err
			}
			b, err := m.ExportKey(h, kek)
			if err != nil {
				return err
			}
			blocks = append(blocks, hex.EncodeToString(b))
		}
		return tx.SetMeta(ctx, wrappedDataKeys, strings.Join(blocks, ":"))
	})
}

// InitIssuer creates the sample data (IssuerSeed) when the store has none
// and reports whether it did, with the seed it created. On a shared
// PostgreSQL database that another instance seeded, it loads the sample
// keys into this instance's security module instead.
func InitIssuer(ctx context.Context, r *Issuer) (bool, issuerhost.Seed, error) {
	return initIssuer(ctx, r, IssuerSeed)
}

// initIssuer is InitIssuer with the sample data made by seedOf.
func initIssuer(ctx context.Context, r *Issuer, seedOf func(hsm.HSM) (issuerhost.Seed, error)) (bool, issuerhost.Seed, error) {
	done, err := issuerhost.Initialised(ctx, r.DB)
	if err != nil {
		return false, issuerhost.Seed{}, err
	}
	if done {
		if r.DB.Engine() == "postgres" {
			// Another instance made the shared data: this one's keystore
			// gets the sample keys it was made with.
			return false, issuerhost.Seed{}, loadSampleKeys(r.HSM)
		}
		return false, issuerhost.Seed{}, nil
	}
	seed, err := seedOf(r.HSM)
	if err != nil {
		return false, issuerhost.Seed{}, err
	}
	if err := issuerhost.Init(ctx, r.DB, r.HSM, seed); err != nil {
		if errors.Is(err, issuerhost.ErrSeeded) && r.DB.Engine() == "postgres" {
			// Another instance sharing the database was quicker.
			return false, issuerhost.Seed{}, loadSampleKeys(r.HSM)
		}
		return false, issuerhost.Seed{}, err
	}
	return true, seed, nil
}

// loadSampleKeys loads the sample data's keys into m where their labels
// are missing.
func loadSampleKeys(m *soft.HSM) error {
	seed, err := IssuerSeed(m)
	if err != nil {
		return err
	}
	for _, sk := range seed.Keys {
		alg, err := keys.ParseAlg(sk.Alg)
		if err != nil {
			return fmt.Errorf("sample key %q: %w", sk.Label, err)
		}
		k, err := keys.ParseHex(alg, sk.Hex)
		if err != nil {
			return fmt.Errorf("sample key %q: %w", sk.Label, err)
		}
		if _, err := issuerKey(m, sk.Label, sk.Usage, k); err != nil {
			return fmt.Errorf("sample key %q: %w", sk.Label, err)
		}
	}
	return nil
}

// IssuerSeed builds the sample data from the built-in profiles: the sample
// network's keys, one account per funding card, the cards, the token of
// the wallet phone and the load cards; the HCE phones get their cards
// from the issuer's cloud platform (EnrolIssuerSampleHCE). PINs (SamplePIN) become PVVs made
// with the PVK in m, which is loaded first.
//
// It is the data of an issuer host run on its own ("tapsim issuer init"),
// where no token service runs to provision the sample wallet phone: its
// token is seeded as its profile has it, for phones served from the
// profile ("tapsim card serve --profile wallet-phone"). The embedded world
// (Start) seeds WorldSeed instead and provisions the wallet phone through
// the wallet flow.
func IssuerSeed(m hsm.HSM) (issuerhost.Seed, error) { return issuerSeed(m, true) }

// WorldSeed is the sample data of the embedded world (Start): IssuerSeed
// without the sample wallet phone's token and device, which the world
// gets through the wallet flow when it is created. The phones' funding
// cards are there.
func WorldSeed(m hsm.HSM) (issuerhost.Seed, error) { return issuerSeed(m, false) }

// issuerSeed builds the sample data, with the sample wallet phone's token
// when walletToken is set.
func issuerSeed(m hsm.HSM, walletToken bool) (issuerhost.Seed, error) {
	k := issuerhost.DefaultKeys()
	seed := issuerhost.Seed{Keys: []issuerhost.SeedKey{
		{Label: k.ZPK, Usage: hsm.UsageZPK, Alg: "TDES", Hex: ZPK},
		{Label: k.ZAK, Usage: hsm.UsageZAK, Alg: "TDES", Hex: ZAK},
		{Label: k.PVK, Usage: hsm.UsagePVK, Alg: "TDES", Hex: PVK},
		{Label: k.KEK, Usage: hsm.UsageKEK, Alg: "AES", Hex: KEK},
		issuerhost.SampleCVK(),
		// The master key of the tokens the token service makes.
		{Label: TokenIMKLabel, Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: TokenIMK},
		// The master keys of the cloud cards' keys, which every issuer
		// instance verifies taps with, whichever runs the platform.
		{Label: CloudIMKLabel, Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: CloudIMK},
		{Label: CloudIMKLabel + authz.UMDKeySuffix, Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: CloudUMDIMK},
	}}
	pvk, err := issuerKey(m, k.PVK, hsm.UsagePVK, keys.MustHex(keys.TDES, PVK))
	if err != nil {
		return seed, fmt.Errorf("issuer PIN verification key: %w", err)
	}
	pvv := func(p string) (string, error) { return m.GeneratePVV(pvk, p, SamplePIN, 1) }

	imkLabels := map[string]string{} // IMK hex -> label
	imk := func(cvnName string, hexKey []byte) (string, error) {
		cvn, err := cryptogram.Lookup(cvnName)
		if err != nil {
			return "", err
		}
		key, err := keys.New(cvn.Alg, hexKey)
		if err != nil {
			return "", err
		}
		h := fmt.Sprintf("%X", hexKey)
		if l, ok := imkLabels[h]; ok {
			return l, nil
		}
		l := "issuer/imk/" + key.KCVHex()
		imkLabels[h] = l
		seed.Keys = append(seed.Keys, issuerhost.SeedKey{Label: l, Usage: hsm.UsageIMKAC, Alg: cvn.Alg.String(), Hex: h})
		return l, nil
	}

	byPAN := map[string]string{} // PAN -> card ID
	addCard := func(id, p string, c issuerhost.SeedCard) error {
		if _, ok := byPAN[p]; ok {
			return nil
		}
		v, err := pvv(p)
		if err != nil {
			return fmt.Errorf("sample card %s: %w", id, err)
		}
		c.ID, c.PAN, c.PVKI, c.PVV, c.Account = id, p, 1, v, "acct-"+id
		// Registered contacts, where the issuer sends one-time passwords
		// during provisioning (R-G3e).
		c.Phone, c.Email = issuerhost.SampleContact(id)
		c.IssuerApp = true
		acct := issuerhost.SeedAccount{ID: c.Account, Currency: 901, CreditLimit: sampleCreditLimit}
		if d, ok := SampleDeclines[id]; ok {
			acct.CreditLimit, acct.TxnLimit = d.CreditLimit, d.TxnLimit
			if d.Blocked {
				c.Status = string(store.CardBlocked)
			}
		}
		seed.Accounts = append(seed.Accounts, acct)
		seed.Cards = append(seed.Cards, c)
		byPAN[p] = id
		return nil
	}

	type tokenApp struct {
		p   cards.Profile
		app cards.AppProfile
	}
	var tokens []tokenApp
	for _, name := range sampleProfileOrder() {
		p, err := cards.Builtin(name)
		if err != nil {
			return seed, err
		}
		for i, a := range profileApps(p) {
			if a.Token != nil {
				tokens = append(tokens, tokenApp{p, a})
				continue
			}
			if a.PAN == "" || a.CVN == "" || len(a.IMK) == 0 {
				continue
			}
			l, err := imk(a.CVN, a.IMK)
			if err != nil {
				return seed, fmt.Errorf("profile %s: %w", name, err)
			}
			id := name
			if i > 0 {
				id = fmt.Sprintf("%s-%d", name, i+1)
			}
			if err := addCard(id, a.PAN, issuerhost.SeedCard{PSN: a.PSN, Expiry: a.Expiry, CVN: a.CVN, IMK: l,
				FormFactor: p.FormFactor, InitialATC: p.State.ATC}); err != nil {
				return seed, err
			}
		}
	}
	for _, t := range tokens {
		a, p := t.app, t.p
		fund, ok := byPAN[a.Token.FundingPAN]
		if !ok {
			fund = "funding-" + p.Name
			if err := addCard(fund, a.Token.FundingPAN, issuerhost.SeedCard{Expiry: "2029-12", FormFactor: "plastic"}); err != nil {
				return seed, err
			}
		}
		// HCE phones get their card from the cloud platform
		// (EnrolIssuerSampleHCE, the world's SampleHCE): only their
		// funding cards are seeded.
		if p.FormFactor == cards.FormHCEPhone || !walletToken && p.Name == SampleWalletProfile {
			continue
		}
		l, err := imk(a.CVN, a.IMK)
		if err != nil {
			return seed, fmt.Errorf("profile %s: %w", p.Name, err)
		}
		v, err := pvv(a.PAN)
		if err != nil {
			return seed, fmt.Errorf("sample token %s: %w", p.Name, err)
		}
		// HCE and wallet tokens are bound to their phone's device ID
		// (R-S5d): an HCE phone's device is authenticated by its
		// single-use keys, a wallet phone's by its CVN, which covers the
		// whole of 9F10 and so the binding in it.
		bound := (p.FormFactor == cards.FormHCEPhone || p.FormFactor == cards.FormWallet) && p.Phone != nil && len(p.Phone.DeviceID) > 0
		// Mobile tokens: contactless chip at a point of sale, and every
		// tap names the token's requestor (9F19, which the sample phones
		// carry).
		ctl := vault.MobileControls()
		ctl.RequireRequestor = true
		seed.Tokens = append(seed.Tokens, issuerhost.SeedToken{ID: p.Name, Number: a.PAN, Card: fund, Expiry: a.Expiry,
			Controls: &ctl, RequestorID: a.Token.RequestorID, PSN: a.PSN, CVN: a.CVN, IMK: l, PVKI: 1, PVV: v,
			FormFactor: p.FormFactor, DeviceBound: bound, InitialATC: p.State.ATC})
		if bound {
			seed.Devices = append(seed.Devices, issuerhost.SeedDevice{ID: deviceID(p), Token: p.Name})
		}
	}
	// The cards of load runs (load.go).
	if err := addLoadCards(&seed, imk, pvv); err != nil {
		return seed, err
	}
	return seed, nil
}

// issuerKey finds the key labelled label, loading k under it when absent.
func issuerKey(m hsm.KeyManager, label string, u hsm.Usage, k keys.Key) (hsm.Handle, error) {
	all, err := m.List()
	if err != nil {
		return hsm.Handle{}, err
	}
	for _, h := range all {
		if h.Label == label {
			return h, nil
		}
	}
	return m.ImportKey(label, u, k)
}

// sampleProfileOrder lists the built-in profiles, the plain sample cards
// first so that a PAN several profiles share is named after them, and
// multi-application profiles last.
func sampleProfileOrder() []string {
	first := []string{"visa-plastic", "mc-plastic"}
	names := cards.BuiltinNames()
	out := slices.Clone(first)
	var last []string
	for _, n := range names {
		if slices.Contains(first, n) {
			continue
		}
		if n == "dual-brand" {
			last = append(last, n)
			continue
		}
		out = append(out, n)
	}
	return append(out, last...)
}
