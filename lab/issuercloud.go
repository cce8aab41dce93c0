package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/issuerhost/authz"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// The HCE cloud platform the issuer operates in its own process (tapsim
// issuer --provisioning-listen): its state and the issuer's ledger of the
// keys it issued are in the issuer's database (CloudStore, LedgerStore),
// its card keys and data key in the issuer's security module.

// OpenCloudLedger is the issuer's ledger of cloud keys kept in r's
// database: the issuer host's authorisation reads it (CloudVerifier) and
// the issuer's cloud platform writes it.
func OpenCloudLedger(r *Issuer, clock func() time.Time) (*issuercloud.Ledger, error) {
	if r == nil || r.DB == nil {
		return nil, ErrIssuerDown
	}
	return issuercloud.OpenLedger(issuercloud.DBStore{DB: r.DB, Clock: clock}, clock)
}

// CloudVerifier is the issuer host's check of cloud-payment cryptograms
// against ledger, in r's security module (issuerhost.Config.CloudVerifier).
func CloudVerifier(r *Issuer, ledger *issuercloud.Ledger, clock func() time.Time) authz.CloudVerifier {
	return &issuercloud.Verifier{HSM: r.HSM, Ledger: ledger, Now: clock}
}

// IssuerCloudCards are the sample plastic cards the issuer's own cloud
// platform puts on phones (several built-in profiles share these cards'
// numbers; each card account is made once).
var IssuerCloudCards = []string{"visa-plastic", "mc-plastic"}

// newIssuerCloud is the cloud platform on r, with ledger, its phones'
// registrations verified by the issuer's ID&V iv; the sample plastic
// cards the platform may put on a phone are enrolled on it when missing.
func newIssuerCloud(r *Issuer, iv *idv.Service, me *wire.Party, ledger *issuercloud.Ledger, clock func() time.Time,
	rnd io.Reader, logger *slog.Logger) (*cloudsvc.Service, error) {
	if ledger == nil {
		return nil, fmt.Errorf("%w: the cloud platform needs the issuer's key ledger", ErrPKI)
	}
	if err := cloudKeys(r.HSM); err != nil {
		return nil, fmt.Errorf("cloud platform: %w", err)
	}
	svc, err := cloudsvc.New(cloudsvc.Config{
		Me: me, HSM: r.HSM, Verifier: idv.HCEVerifier{Service: iv, RequestorID: SampleCloudRequestor, Zone: r.HSM, Rand: rnd},
		Ledger: ledger,
		Store:  CloudStore{DB: r.DB, Clock: clock}, CardReaders: []string{staffServiceCentre},
		// The envelopes it accepted, in the issuer's database: refused
		// again while valid, also after a restart (R-G4).
		Replay: &serviceReplay{db: func() (*issuerSide, error) { return &issuerSide{db: r.DB}, nil }},
		// As the embedded world's: a phone replenishes as soon as it asks
		// (the hourly key cap still holds).
		MinReplenishInterval: sampleReplenishInterval,
		Clock:                clock, Rand: rnd, Log: logger.With("host", PartyCloud),
	})
	if err != nil {
		return nil, fmt.Errorf("cloud platform: %w", err)
	}
	ctx := context.Background()
	for _, name := range IssuerCloudCards {
		p, err := HCEProfile(name)
		if err != nil {
			return nil, err
		}
		ref, cloudPAN, err := cloudAccount(p.Name, p.App.PAN)
		if err != nil {
			return nil, err
		}
		var c store.Card
		err = r.DB.View(ctx, func(tx *store.Tx) error {
			var err error
			c, err = tx.CardByPAN(ctx, p.App.PAN)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			continue // not a card of this issuer
		}
		if err != nil {
			return nil, fmt.Errorf("cloud platform: card %s: %w", name, err)
		}
		err = enrolCloudCard(ctx, svc, r.DB, c, ref, cloudPAN, yymm(p.App.Expiry), "00", hceCVN(p))
		if errors.Is(err, store.ErrExists) {
			// The cloud account number is another token's of this issuer's
			// data (a phone seeded with the older key service).
			logger.Warn("cloud platform: card not served", "card", name, "reason", "cloud_account_number_in_use")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cloud platform: card %s: %w", name, err)
		}
	}
	return svc, nil
}

// enrolCloudCard enrols the issuer's card c on the platform under ref,
// its phones to present cloudPAN (expiry cloudExpiry, YYMM) with the keys
// of the cloud model cvn, and records cloudPAN at the issuer as a token of
// c (the token ID is ref), replacing a token of that ID of another model.
// An account already on the platform is kept.
func enrolCloudCard(ctx context.Context, svc *cloudsvc.Service, db TxRunner, c store.Card, ref, cloudPAN, cloudExpiry, psn, cvn string) error {
	storeCVN, umd := authz.CVNVisaCloud, ""
	if cvn == wire.HCECVNMCCloud {
		storeCVN, umd = authz.CVNMCCloud, CloudIMKLabel+authz.UMDKeySuffix
	}
	// A mobile token's domain: contactless chip at a point of sale, and
	// every tap names the token's requestor (9F19), as the wallet's.
	ctl := vault.MobileControls()
	ctl.RequireRequestor = true
	domain, err := ctl.Encode()
	if err != nil {
		return fmt.Errorf("cloud token: %w", err)
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, ref)
		if err == nil && k.CVN == storeCVN && k.Number == cloudPAN && k.Domain == domain {
			return nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.PutToken(ctx, store.Token{ID: ref, Number: cloudPAN, CardID: c.ID, Expiry: cloudExpiry,
			Status: store.TokenActive, RequestorID: SampleCloudRequestor, PSN: psn, CVN: storeCVN, Domain: domain,
			IMKRef: CloudIMKLabel, FormFactor: cards.FormHCEPhone, DeviceBound: true})
	})
	if err != nil {
		return fmt.Errorf("cloud token: %w", err)
	}
	if err := svc.AddCard("issuer-enrol", cloudsvc.CardAccount{Ref: ref, Holder: c.ID, PAN: c.PAN,
		Expiry: yymm(c.Expiry), CloudPAN: cloudPAN, CloudExpiry: cloudExpiry, PSN: psn, IMK: CloudIMKLabel,
		API: 1, DKI: 1, CVN: cvn, UMDIMK: umd}); err != nil && !errors.Is(err, cloudsvc.ErrExists) {
		return err
	}
	return nil
}

// CloudPhoneCards are the card accounts of the issuer's cloud platform
// that the phone deviceID (hex, any case) holds keys of, by the issuer's
// ledger in r's database.
func CloudPhoneCards(r *Issuer, deviceID string) ([]string, error) {
	if r == nil || r.DB == nil {
		return nil, ErrIssuerDown
	}
	ks, _, err := issuercloud.DBStore{DB: r.DB}.LoadLedger()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range ks {
		if strings.EqualFold(k.DeviceID, deviceID) && !slices.Contains(out, k.CardRef) {
			out = append(out, k.CardRef)
		}
	}
	return out, nil
}
