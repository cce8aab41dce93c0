// Package authz is the issuer host's authorisation engine: one decision
// pipeline that every authorisation request runs through, stage by stage,
// and that ends in an approval or in a decline with a machine-readable
// Reason and its ISO 8583 response code. The engine trusts only what the
// application cryptogram covers (Covered, COVERAGE.md); every other datum
// is a claim, and a claim the covered data contradict declines.
//
//  1. format: the request's content (PAN, amounts, entry mode, DE55);
//  2. lookup: card or token (detokenised to the funding card), card and
//     token status, token expiry, the token's domain restriction controls
//     (entry mode, channel, token requestor, merchant, merchant category;
//     vault.Controls);
//  3. ARQC: verified inside the security module with the card's CVN (82);
//     a card or token of a cloud CVN ("visa-cloud", "mc-cloud") is checked
//     by Config.Cloud instead (issuerhost/cloud.Verifier): the key the
//     transaction names must have been issued by the cloud platform,
//     to the phone the message names, not suspended, used up or expired
//     (R-S5b, R-C1), and its phone is the transaction's authenticated
//     device; cardholder verification is then what the cryptograms
//     authenticate (the visa-cloud CVR bit the LUK cryptogram covers, the
//     mc-cloud UMD cryptogram) and nothing else (R-S2e);
//  4. replay: the ATC must be new and ahead of the last one seen within a
//     window, a cryptogram is never accepted twice, a message is never
//     processed twice (R-G4);
//  5. binding: the message says what the card signed: DE4 = 9F02, DE49 =
//     5F2A, DE3 with 9C, DE13 within a day of 9A (R-G2, R-G4);
//  6. single-use keys: an HCE cryptogram whose key (ATC) was never issued,
//     was used already or has expired is declined (R-S5b); the key's
//     phone is the transaction's authenticated device;
//  7. device binding of device-bound and HCE tokens on authenticated data
//     only; device claims of 9F10 and the private field must agree (R-S5d);
//  8. CVM policy: cardholder verification from the cryptogram-covered CVR
//     and the online PIN only; above the no-signature limit a
//     cardholder verification is required (R-S2d); an HCE payment needs
//     CDCVM or an online PIN every time (R-S2e);
//  9. online PIN against the PIN verification value, locked after 5
//     wrong PINs in a row (R-G3c);
//  10. expiry, limits, open-to-buy;
//  11. approval: authorisation code, a hold on the account, and the ARPC
//     for the card (tag 91) by the CVN's method.
//
// A decline takes no hold.
//
// Every state change of a request (ATC high-water mark, used cryptogram
// and key, PIN try counter, hold, authorisation log, audit trail) is
// written in one store transaction, committed before Authorize returns,
// hence before any answer leaves. Reversals release a hold exactly once,
// whatever the number of repeats.
package authz

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// HSM is the part of the security module the engine uses.
type HSM interface {
	// Lookup finds a key by its label.
	Lookup(label string) (hsm.Handle, error)
	hsm.EMV
	hsm.PIN
}

// Policy holds the issuer's rules.
type Policy struct {
	// NoCVMLimit is the no-signature limit in minor units: above it a
	// cardholder verification is required (R-S2d says "above"); at it none
	// is. Readers differ at the limit itself (a C-3 reader asks for a CVM at
	// its CVM Required Limit, Book B 3.1.1.8; a C-2 reader only above it),
	// and the issuer accepts both. Default 300000 (NT$3,000).
	NoCVMLimit int64
	// RejectSignature refuses a signature as the CVM of a plastic card
	// above the limit; phones always need CDCVM or an online PIN there.
	RejectSignature bool
	// ATCWindow is how far ahead of the last ATC seen a new one may be.
	// Default 64.
	ATCWindow int
	// MaxPINTries is the number of consecutive wrong PINs that locks the
	// PIN (R-G3c). Default 5.
	MaxPINTries int
	// MaxCVC3Failures is the number of consecutive CVC3 failures of a
	// contactless mag-stripe mode card after which its mag-stripe
	// transactions are declined without a check (cvc3_tries_exceeded)
	// until the issuer's service centre lifts the block (ResetCVC3); a
	// CVC3 that verifies before that clears the count. A CVC3 has 3 to 5
	// digits: without a bound it falls to online guessing. Default 5.
	MaxCVC3Failures int
	// ChipEntryModes are the accepted POS entry modes (first two digits of
	// DE22). Default 05 (contact chip) and 07 (contactless chip).
	ChipEntryModes []string
}

// DefaultPolicy returns the policy of the sample network.
func DefaultPolicy() Policy {
	return Policy{NoCVMLimit: 300000, ATCWindow: 64, MaxPINTries: 5, MaxCVC3Failures: 5, ChipEntryModes: []string{"05", "07"}}
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.NoCVMLimit <= 0 {
		p.NoCVMLimit = d.NoCVMLimit
	}
	if p.ATCWindow <= 0 {
		p.ATCWindow = d.ATCWindow
	}
	if p.MaxPINTries <= 0 {
		p.MaxPINTries = d.MaxPINTries
	}
	if p.MaxCVC3Failures <= 0 {
		p.MaxCVC3Failures = d.MaxCVC3Failures
	}
	if len(p.ChipEntryModes) == 0 {
		p.ChipEntryModes = d.ChipEntryModes
	}
	return p
}

// Config sets up an Engine.
type Config struct {
	// ZPK and PVK are the labels of the zone PIN key (acquirer to issuer)
	// and the PIN verification key in the security module.
	ZPK, PVK string
	// Policy is the issuer's rules; zero fields take DefaultPolicy's.
	Policy Policy
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand draws authorisation codes (crypto/rand when nil).
	Rand io.Reader
	// Cloud checks the cryptograms of cards and tokens of a cloud CVN
	// ("visa-cloud", "mc-cloud") against the keys the issuer's cloud
	// platform issued (issuerhost/cloud.Verifier). Without it such a card
	// is declined CheckNotAvailable.
	Cloud CloudVerifier
}

// CloudVerifier is the issuer's check of cloud-payment cryptograms
// (issuerhost/cloud.Verifier): it finds the limited-use or single-use key
// the transaction names, refuses a key not issued, of another or a
// suspended phone, used up or expired, verifies the cryptogram(s) and says
// from the cryptography alone whether the cardholder was verified.
type CloudVerifier interface {
	Verify(cloud.Tap) (cloud.Verified, error)
}

// Engine runs the decision pipeline. It is safe for concurrent use: each
// request runs in its own store transaction and transactions run one at a
// time.
type Engine struct {
	db  *store.DB
	hsm HSM
	cfg Config

	// tolerate holds the cryptograms (hex) the test setting lets through
	// once more as replays.
	mu       sync.Mutex
	tolerate map[string]bool
}

// TestSettingTolerateReplay is an issuer TEST SETTING, off unless called:
// the next authorisation that presents the cryptogram arqc (9F26) again is
// not declined as a replay (R-G4) but goes on through the later stages,
// once. It lets a tester replay a saved trace into the real issuer for one
// tap; the decision says so (ReplayTolerated) and the issuer host logs it
// as a warning. Nothing in the standard path calls it.
func (e *Engine) TestSettingTolerateReplay(arqc []byte) error {
	if len(arqc) != 8 {
		return fmt.Errorf("%w: a cryptogram is 8 bytes, not %d", ErrConfig, len(arqc))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tolerate == nil {
		e.tolerate = map[string]bool{}
	}
	e.tolerate[hex.EncodeToString(arqc)] = true
	return nil
}

// tolerated reports, once, whether the test setting lets arqc through as a
// replay.
func (e *Engine) tolerated(arqc []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := hex.EncodeToString(arqc)
	if !e.tolerate[k] {
		return false
	}
	delete(e.tolerate, k)
	return true
}

// ErrConfig reports an unusable engine configuration.
var ErrConfig = errors.New("authz: bad configuration")

// New returns an engine over the store and security module.
func New(db *store.DB, h HSM, cfg Config) (*Engine, error) {
	if db == nil || h == nil {
		return nil, fmt.Errorf("%w: store and security module are required", ErrConfig)
	}
	cfg.Policy = cfg.Policy.withDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = cryptoRand{}
	}
	return &Engine{db: db, hsm: h, cfg: cfg}, nil
}

// Policy returns the engine's policy with its defaults filled in.
func (e *Engine) Policy() Policy { return e.cfg.Policy }

// Decision is the outcome of a request.
type Decision struct {
	// Reason is why; Code its ISO 8583 response code (DE39).
	Reason Reason
	Code   string
	// AuthCode is the authorisation identification response (DE38) of an
	// approval.
	AuthCode string
	// IssuerAuthData is the value of tag 91 for DE55 of the response: the
	// ARPC and the ARC (method 1) or CSU (method 2). Nil when the
	// cryptogram was not verified.
	IssuerAuthData []byte
	// CVM is the cardholder verification the transaction carried.
	CVM CVM
	// Cred names the card or token ("card:ID", "token:ID"); MaskedPAN is the
	// presented PAN masked; ATC the transaction counter (-1 when none).
	Cred      string
	MaskedPAN string
	ATC       int
	// TokenID, FundingLast4 and DeviceID describe a token transaction.
	TokenID      string
	FundingLast4 string
	DeviceID     string
	// Detail adds words for logs; it never holds sensitive data.
	Detail string
	// ReplayTolerated is true when the test setting
	// (TestSettingTolerateReplay) let a replayed cryptogram through.
	ReplayTolerated bool
}

// Approved reports whether the decision is an approval (code 00).
func (d Decision) Approved() bool { return d.Code == "00" }

// String is one line for logs: code, reason, masked PAN.
func (d Decision) String() string {
	s := fmt.Sprintf("%s %s %s", d.Code, d.Reason, d.MaskedPAN)
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

func decisionFor(r Reason) Decision { return Decision{Reason: r, Code: r.Code(), ATC: -1} }

// Authorize runs the pipeline for req and returns the decision, after
// everything it changed is committed. An error means the host could not
// decide (the store or security module failed): nothing of the request
// was kept, and the decision is a system error (96).
//
// The pipeline runs in a store.DB.UpdateRows transaction: it changes only
// the state of the card or token it looks up (ATC high-water mark, used
// cryptograms and single-use keys, PIN tries), of that card and of its
// account (holds), whose rows the look-ups lock, and appends to the log
// and audit trail. So on PostgreSQL issuer instances deciding for
// different cards do not wait for each other, and two deciding for one
// card take turns.
func (e *Engine) Authorize(ctx context.Context, req Request) (Decision, error) {
	now := e.cfg.Now()
	// The request's content is checked outside the store transaction,
	// which the SQLite store runs one at a time.
	f := txn{e: e, ctx: ctx, req: &req, now: now, atc: -1}
	formatted := f.format()
	var d Decision
	err := e.db.UpdateRows(ctx, func(tx *store.Tx) error {
		// A fresh copy each time the store runs the function: what format
		// found, nothing of an earlier try.
		t := f
		t.tx = tx
		d = t.run(formatted)
		d.ReplayTolerated = t.replayTolerated
		if t.err != nil {
			return t.err
		}
		return t.record(d)
	})
	if err != nil {
		d = decisionFor(SystemError)
		d.MaskedPAN = pan.Mask(req.PAN)
		d.Detail = "authorisation not completed"
		e.logSystemError(ctx, now, req.MTI, req.STAN, req.RRN, req.TerminalID, req.MerchantID, req.PAN,
			req.Amount, req.Currency, req.EntryMode, req.Key())
		return d, fmt.Errorf("authz: %w", err)
	}
	return d, nil
}

// logSystemError records a 96 in its own transaction, best effort.
func (e *Engine) logSystemError(ctx context.Context, at time.Time, mti, stan, rrn, tid, mid, p string, amount int64, cur int, entry, key string) {
	_ = e.db.UpdateRows(ctx, func(tx *store.Tx) error {
		_, err := tx.LogAuth(ctx, store.AuthRecord{At: at, MTI: mti, STAN: stan, RRN: rrn, TerminalID: tid, MerchantID: mid,
			MaskedPAN: pan.Mask(p), Amount: amount, Currency: cur, EntryMode: entry, CVM: "", ATC: -1,
			ResponseCode: SystemError.Code(), Reason: string(SystemError), OrigKey: key})
		return err
	})
}

// Reverse releases the hold of the authorisation that rev names, once: a
// repeat (0421, or the same 0400 again) finds the hold released and
// changes nothing. A reversal whose amount, currency, card or RRN is not
// the approval's releases nothing (ReversalMismatch). The caller has
// checked that the reversal is authenticated (its MAC). A reversal for an authorisation the host never approved
// is recorded, so that the original, should it arrive late, is refused.
// The answer is always an acceptance (00) unless the host cannot decide.
//
// It runs in a store.DB.UpdateRows transaction that locks the hold it
// releases and then its account: on PostgreSQL reversals and
// authorisations of other instances do not wait for it, and two reversals
// of one approval take turns, the second finding it released.
func (e *Engine) Reverse(ctx context.Context, rev Reversal) (Decision, error) {
	now := e.cfg.Now()
	var d Decision
	err := e.db.UpdateRows(ctx, func(tx *store.Tx) error {
		h, err := tx.LockHold(ctx, rev.Original)
		if errors.Is(err, store.ErrNotFound) {
			d = decisionFor(OriginalNotFound)
			err = tx.AddHold(ctx, store.Hold{Key: rev.Original, MaskedPAN: pan.Mask(rev.PAN), Amount: rev.Amount,
				Currency: rev.Currency, RRN: rev.RRN, Status: store.HoldReversed, CreatedAt: now, ReleasedAt: now,
				ReleaseRef: rev.Key()})
			if errors.Is(err, store.ErrExists) {
				// Another instance committed the original (or a
				// reversal of it) meanwhile: decide on that.
				h, err = tx.LockHold(ctx, rev.Original)
			}
		}
		switch {
		case err != nil:
			return err
		case h.Status == store.HoldActive && !rev.matches(h):
			// It names an approval that exists but not this one's amount,
			// currency, card or reference: nothing is released.
			d = decisionFor(ReversalMismatch)
			d.Cred = h.Cred
		case h.Status == store.HoldActive:
			d = decisionFor(Reversed)
			d.Cred = h.Cred
			_, err = tx.ReleaseHold(ctx, rev.Original, now, rev.Key())
		case h.Key == "":
			// None found: the marker is recorded (OriginalNotFound).
		default:
			d = decisionFor(AlreadyReversed)
			d.Cred = h.Cred
		}
		if err != nil {
			return err
		}
		d.MaskedPAN = pan.Mask(rev.PAN)
		if h.MaskedPAN != "" {
			d.MaskedPAN = h.MaskedPAN
		}
		if _, err := tx.LogAuth(ctx, store.AuthRecord{At: now, MTI: rev.MTI, STAN: rev.STAN, RRN: rev.RRN,
			TerminalID: rev.TerminalID, MerchantID: rev.MerchantID, MaskedPAN: d.MaskedPAN, Cred: d.Cred,
			Amount: rev.Amount, Currency: rev.Currency, ATC: -1, ResponseCode: d.Code, Reason: string(d.Reason),
			OrigKey: rev.Original}); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: "authorisation", Action: "reversal." + string(d.Reason),
			Subject: d.MaskedPAN, Detail: "original " + rev.Original})
	})
	if err != nil {
		d = decisionFor(SystemError)
		d.MaskedPAN = pan.Mask(rev.PAN)
		e.logSystemError(ctx, now, rev.MTI, rev.STAN, rev.RRN, rev.TerminalID, rev.MerchantID, rev.PAN, rev.Amount,
			rev.Currency, "", rev.Original)
		return d, fmt.Errorf("authz: reversal: %w", err)
	}
	return d, nil
}

// matches reports whether the reversal describes the approval of hold h:
// the same amount and currency, the same card (masked PAN, when the
// reversal carries a PAN) and the same retrieval reference number (when
// both have one).
func (r Reversal) matches(h store.Hold) bool {
	switch {
	case r.Amount != h.Amount || r.Currency != h.Currency:
		return false
	case r.PAN != "" && pan.Mask(r.PAN) != h.MaskedPAN:
		return false
	case r.RRN != "" && h.RRN != "" && r.RRN != h.RRN:
		return false
	}
	return true
}

// cryptoRand is crypto/rand as an io.Reader value.
type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return rand.Read(p) }

// ResetPIN clears the wrong-PIN counter and lock of card cardID after the
// issuer's service centre verified the cardholder (R-G3c); operator names
// who did it, for the audit trail.
func (e *Engine) ResetPIN(ctx context.Context, cardID, operator string) error {
	return ResetPIN(ctx, e.db, cardID, operator, e.cfg.Now())
}

// ResetCVC3 lifts the block of the contactless mag-stripe transactions of
// card or token id after Policy.MaxCVC3Failures wrong CVC3s, once the
// issuer's service centre has looked into them; operator names who did
// it, for the audit trail. It returns the failures it cleared (0: none
// were counted); an id that is no card nor token is store.ErrNotFound.
func ResetCVC3(ctx context.Context, db *store.DB, id, operator string, at time.Time) (int, error) {
	if operator == "" {
		return 0, fmt.Errorf("%w: a CVC3 reset needs the operator's name", ErrConfig)
	}
	cleared := 0
	err := db.Update(ctx, func(tx *store.Tx) error {
		cleared = 0
		_, cerr := tx.Card(ctx, id)
		_, terr := tx.Token(ctx, id)
		if errors.Is(cerr, store.ErrNotFound) && errors.Is(terr, store.ErrNotFound) {
			return fmt.Errorf("%w: no card or token %q", store.ErrNotFound, id)
		}
		for _, cred := range []string{cardCred(id), tokenCred(id)} {
			n, err := tx.CVC3Failures(ctx, cred)
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			if err := tx.ClearCVC3Failures(ctx, cred); err != nil {
				return err
			}
			if err := tx.Audit(ctx, store.AuditEvent{At: at, Actor: "service-centre", Action: "cvc3.reset",
				Subject: cred, Detail: fmt.Sprintf("by %s after %d wrong CVC3s", operator, n)}); err != nil {
				return err
			}
			cleared += n
		}
		return nil
	})
	return cleared, err
}

// ResetPIN is Engine.ResetPIN on a store, at time at.
func ResetPIN(ctx context.Context, db *store.DB, cardID, operator string, at time.Time) error {
	if operator == "" {
		return fmt.Errorf("%w: a PIN reset needs the operator's name", ErrConfig)
	}
	return db.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.Card(ctx, cardID)
		if err != nil {
			return err
		}
		if err := tx.SetPINState(ctx, cardID, 0, false); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: at, Actor: "service-centre", Action: "pin.reset",
			Subject: "card " + cardID + " " + pan.Mask(c.PAN),
			Detail:  fmt.Sprintf("by %s after %d wrong PINs (locked %v)", operator, c.PINFailures, c.PINLocked)})
	})
}
