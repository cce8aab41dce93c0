// Package cloud is the issuer's HCE cloud platform: it registers a phone
// and binds it to a token by its hardware device ID (R-S3d, R-S5d), issues
// batches of single-use transaction keys to it (R-S5b), each key derived
// inside the security module and handed out only wrapped under the
// phone's transport key (R-S3f, R-G5e), replenishes the phone when it runs
// low, and suspends a phone's tokens and keys at once when it is reported
// lost (R-C1).
//
// The keys themselves are never stored: the platform records which ATCs
// were issued to which phone and until when, and the authorisation
// engine derives the key again from the card's master key when the
// cryptogram comes in. A key is the EMV common session key of its ATC, so
// the phone's keys are those cards/hce.DeriveBatch computes from the same
// master key.
//
// Every change is written to the audit trail in the same transaction
// (R-S4d, R-S5e).
//
// # Cloud-payment keys
//
// Ledger and Verifier are the issuer's side of the cloud-payment keys of
// emv/cloud, which the issuer's cloud platform (provision/cloudsvc)
// issues: the Ledger records which limited-use key (visa-cloud, by key
// index) or single-use key pair (mc-cloud, by ATC) of which card account
// went to which phone, and which phones are suspended; the Verifier
// checks a tap's cryptogram(s) against it in the security module, with
// one TapReason per refusal. The authorisation engine uses it for the
// cards and tokens of a cloud CVN (authz.Config.Cloud).
package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// Actor is the audit trail's name for the platform.
const Actor = "cloud-platform"

// Form factor of the tokens the platform serves.
const formHCE = "hce-phone"

// Sentinel errors.
var (
	// ErrNotHCE reports a token that is not an HCE phone's.
	ErrNotHCE = errors.New("cloud: token is not an HCE token")
	// ErrDevice reports a phone that is not registered for the token, is
	// reported lost, or whose ID is malformed.
	ErrDevice = errors.New("cloud: device not usable")
	// ErrToken reports a token that is not active.
	ErrToken = errors.New("cloud: token not active")
	// ErrBatch reports a batch size out of range or ATCs exhausted.
	ErrBatch = errors.New("cloud: bad key batch")
)

// HSM is the part of the security module the platform uses.
type HSM interface {
	// Lookup finds a key by its label.
	Lookup(label string) (hsm.Handle, error)
	// ExportHCEKeys derives and wraps single-use keys (hsm.EMV).
	ExportHCEKeys(imk hsm.Handle, cvn, pan, psn string, firstATC uint16, n int, transport hsm.Handle) ([]hsm.WrappedKey, error)
}

// Config sets up a Platform.
type Config struct {
	// KEK is the label of the transport key the phones' keys are wrapped
	// under.
	KEK string
	// BatchSize is the number of keys a batch holds (default 5); LowWater
	// the number of usable keys at or below which Replenish issues a new
	// batch (default 1).
	BatchSize, LowWater int
	// KeyTTL is how long an issued key stays usable (default 30 days).
	KeyTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// MaxBatch is the largest batch the platform issues.
const MaxBatch = 100

// Platform is the cloud platform over a store and a security module.
type Platform struct {
	db  *store.DB
	hsm HSM
	cfg Config
}

// New returns a platform.
func New(db *store.DB, h HSM, cfg Config) (*Platform, error) {
	if db == nil || h == nil {
		return nil, fmt.Errorf("cloud: store and security module are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 5
	}
	if cfg.BatchSize > MaxBatch {
		return nil, fmt.Errorf("%w: batch size %d, at most %d", ErrBatch, cfg.BatchSize, MaxBatch)
	}
	if cfg.LowWater <= 0 {
		cfg.LowWater = 1
	}
	if cfg.KeyTTL <= 0 {
		cfg.KeyTTL = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Platform{db: db, hsm: h, cfg: cfg}, nil
}

// Batch is a batch of single-use keys for one phone: each key wrapped
// under the transport key, with its ATC and check value.
type Batch struct {
	TokenID   string
	DeviceID  string
	FirstATC  uint16
	Keys      []hsm.WrappedKey
	ExpiresAt time.Time
}

// String shows the batch without its key blocks.
func (b Batch) String() string {
	return fmt.Sprintf("key batch for token %s device %s: %d keys from ATC %04X, valid until %s",
		b.TokenID, b.DeviceID, len(b.Keys), b.FirstATC, b.ExpiresAt.UTC().Format(time.RFC3339))
}

// normalise writes a device ID as 8 bytes of upper-case hex, padded on the
// right with zeros (the form the phone puts in 9F10).
func normalise(id string) (string, error) {
	const hexDigits = "0123456789ABCDEFabcdef"
	if len(id) == 0 || len(id) > 16 || len(id)%2 != 0 {
		return "", fmt.Errorf("%w: device ID must be 1 to 8 bytes of hex", ErrDevice)
	}
	out := []byte(id)
	for i, c := range out {
		if !containsByte(hexDigits, c) {
			return "", fmt.Errorf("%w: device ID must be hex", ErrDevice)
		}
		if c >= 'a' && c <= 'f' {
			out[i] = c - 'a' + 'A'
		}
	}
	for len(out) < 16 {
		out = append(out, '0')
	}
	return string(out), nil
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// hceToken loads token id and checks that it is an HCE token.
func hceToken(ctx context.Context, tx *store.Tx, id string) (store.Token, error) {
	k, err := tx.Token(ctx, id)
	if err != nil {
		return store.Token{}, err
	}
	if k.FormFactor != formHCE {
		return store.Token{}, fmt.Errorf("%w: %s is %s", ErrNotHCE, id, k.FormFactor)
	}
	return k, nil
}

// Register binds phone deviceID to HCE token tokenID (R-S3d, R-S5d): the
// cardholder has been verified and the phone is the one they designated
// (R-S3e), which the caller vouches for. A token's account may be bound to
// several phones. Registering a phone already registered and active
// changes nothing; a phone reported lost cannot be registered again.
func (p *Platform) Register(ctx context.Context, tokenID, deviceID string) error {
	id, err := normalise(deviceID)
	if err != nil {
		return err
	}
	now := p.cfg.Now()
	return p.db.Update(ctx, func(tx *store.Tx) error {
		k, err := hceToken(ctx, tx, tokenID)
		if err != nil {
			return err
		}
		if k.Status != store.TokenActive {
			return fmt.Errorf("%w: %s is %s", ErrToken, tokenID, k.Status)
		}
		regs, err := tx.DevicesByID(ctx, id)
		if err != nil {
			return err
		}
		for _, d := range regs {
			if d.Status == store.DeviceLost {
				return fmt.Errorf("%w: device %s was reported lost", ErrDevice, id)
			}
		}
		for _, d := range regs {
			if d.TokenID == tokenID {
				return nil
			}
		}
		if err := tx.PutDevice(ctx, store.Device{DeviceID: id, TokenID: tokenID, Status: store.DeviceActive,
			RegisteredAt: now, StatusAt: now}); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "device.registered",
			Subject: "device " + id, Detail: "bound to token " + tokenID + " " + pan.Mask(k.Number)})
	})
}

// checkDevice loads the registration of deviceID for tokenID and checks
// that it is active.
func checkDevice(ctx context.Context, tx *store.Tx, tokenID, deviceID string) error {
	d, err := tx.Device(ctx, deviceID, tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s is not registered for token %s", ErrDevice, deviceID, tokenID)
	}
	if err != nil {
		return err
	}
	if d.Status != store.DeviceActive {
		return fmt.Errorf("%w: %s is %s", ErrDevice, deviceID, d.Status)
	}
	return nil
}

// IssueBatch issues n single-use keys (the configured batch size when n
// is 0) to phone deviceID for token tokenID, for the ATCs following every
// ATC issued or seen so far, each key wrapped under the transport key. The
// issue is recorded before the batch is returned.
func (p *Platform) IssueBatch(ctx context.Context, tokenID, deviceID string, n int) (Batch, error) {
	if n == 0 {
		n = p.cfg.BatchSize
	}
	if n < 1 || n > MaxBatch {
		return Batch{}, fmt.Errorf("%w: %d keys, want 1 to %d", ErrBatch, n, MaxBatch)
	}
	id, err := normalise(deviceID)
	if err != nil {
		return Batch{}, err
	}
	var b Batch
	err = p.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		b, err = p.issue(ctx, tx, tokenID, id, n)
		return err
	})
	return b, err
}

func (p *Platform) issue(ctx context.Context, tx *store.Tx, tokenID, deviceID string, n int) (Batch, error) {
	now := p.cfg.Now()
	k, err := hceToken(ctx, tx, tokenID)
	if err != nil {
		return Batch{}, err
	}
	if k.Status != store.TokenActive {
		return Batch{}, fmt.Errorf("%w: %s is %s", ErrToken, tokenID, k.Status)
	}
	if err := checkDevice(ctx, tx, tokenID, deviceID); err != nil {
		return Batch{}, err
	}
	first, err := nextATC(ctx, tx, k)
	if err != nil {
		return Batch{}, err
	}
	if int(first)+n-1 > 0xFFFF {
		return Batch{}, fmt.Errorf("%w: ATCs exhausted", ErrBatch)
	}
	imk, err := p.hsm.Lookup(k.IMKRef)
	if err != nil {
		return Batch{}, fmt.Errorf("cloud: issuer master key: %w", err)
	}
	kek, err := p.hsm.Lookup(p.cfg.KEK)
	if err != nil {
		return Batch{}, fmt.Errorf("cloud: transport key: %w", err)
	}
	wrapped, err := p.hsm.ExportHCEKeys(imk, k.CVN, k.Number, k.PSN, first, n, kek)
	if err != nil {
		return Batch{}, fmt.Errorf("cloud: %w", err)
	}
	expires := now.Add(p.cfg.KeyTTL)
	if err := tx.IssueKeys(ctx, tokenID, deviceID, first, n, now, expires); err != nil {
		return Batch{}, err
	}
	if err := tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "keys.issued", Subject: "device " + deviceID,
		Detail: fmt.Sprintf("token %s: %d keys, ATC %04X..%04X, transport key KCV %s", tokenID, n, first, int(first)+n-1, kek.KCV)}); err != nil {
		return Batch{}, err
	}
	return Batch{TokenID: tokenID, DeviceID: deviceID, FirstATC: first, Keys: wrapped, ExpiresAt: expires}, nil
}

// nextATC is the first ATC after every one issued or seen for the token.
func nextATC(ctx context.Context, tx *store.Tx, k store.Token) (uint16, error) {
	_, issued, ok, err := tx.KeyCounts(ctx, k.ID, "", time.Time{})
	if err != nil {
		return 0, err
	}
	next := 1
	if ok {
		next = int(issued) + 1
	}
	hw, seen, err := tx.ATC(ctx, "token:"+k.ID)
	if err != nil {
		return 0, err
	}
	if seen && int(hw)+1 > next {
		next = int(hw) + 1
	}
	if next > 0xFFFF {
		return 0, fmt.Errorf("%w: ATCs exhausted", ErrBatch)
	}
	return uint16(next), nil
}

// Replenish issues a new batch to the phone when it holds LowWater usable
// keys or fewer, and reports whether it did.
func (p *Platform) Replenish(ctx context.Context, tokenID, deviceID string) (Batch, bool, error) {
	id, err := normalise(deviceID)
	if err != nil {
		return Batch{}, false, err
	}
	var (
		b      Batch
		issued bool
	)
	err = p.db.Update(ctx, func(tx *store.Tx) error {
		usable, _, _, err := tx.KeyCounts(ctx, tokenID, id, p.cfg.Now())
		if err != nil {
			return err
		}
		if usable > p.cfg.LowWater {
			return nil
		}
		b, err = p.issue(ctx, tx, tokenID, id, p.cfg.BatchSize)
		issued = err == nil
		return err
	})
	return b, issued, err
}

// UsableKeys returns the number of keys issued to the phone for the token
// that are neither used, voided nor expired.
func (p *Platform) UsableKeys(ctx context.Context, tokenID, deviceID string) (int, error) {
	id, err := normalise(deviceID)
	if err != nil {
		return 0, err
	}
	var n int
	err = p.db.View(ctx, func(tx *store.Tx) error {
		n, _, _, err = tx.KeyCounts(ctx, tokenID, id, p.cfg.Now())
		return err
	})
	return n, err
}

// LostReport is what a lost-phone report did.
type LostReport struct {
	DeviceID        string
	TokensSuspended []string
	KeysVoided      int
}

// ReportLost handles a lost or stolen phone (R-C1): at once, in one
// transaction, the phone's registrations are marked lost, every token
// bound to it is suspended and its unused keys are voided, so that no tap
// from it is approved any more.
func (p *Platform) ReportLost(ctx context.Context, deviceID, reason string) (LostReport, error) {
	return ReportLost(ctx, p.db, deviceID, reason, p.cfg.Now())
}

// ReportLost is Platform.ReportLost on a store, at time now; it needs no
// security module.
func ReportLost(ctx context.Context, db *store.DB, deviceID, reason string, now time.Time) (LostReport, error) {
	id, err := normalise(deviceID)
	if err != nil {
		return LostReport{}, err
	}
	rep := LostReport{DeviceID: id}
	err = db.Update(ctx, func(tx *store.Tx) error {
		regs, err := tx.DevicesByID(ctx, id)
		if err != nil {
			return err
		}
		if len(regs) == 0 {
			return fmt.Errorf("%w: %s is not registered", ErrDevice, id)
		}
		if _, err := tx.SetDeviceStatus(ctx, id, store.DeviceLost, now); err != nil {
			return err
		}
		for _, d := range regs {
			changed, err := vault.SetStatus(ctx, tx, d.TokenID, store.TokenSuspended, Actor, "phone "+id+" reported lost: "+reason, now)
			if err != nil && !errors.Is(err, vault.ErrTransition) {
				return err
			}
			if changed {
				rep.TokensSuspended = append(rep.TokensSuspended, d.TokenID)
			}
		}
		if rep.KeysVoided, err = tx.VoidDeviceKeys(ctx, id, now); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "device.lost", Subject: "device " + id,
			Detail: fmt.Sprintf("%s; %d tokens suspended, %d keys voided (R-C1)", reason, len(rep.TokensSuspended), rep.KeysVoided)})
	})
	if err != nil {
		return LostReport{}, err
	}
	return rep, nil
}
