package lab

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// The tokens the token service makes for the sample issuer.
const (
	// TokenIMK is the issuer master key of the tokens the token service
	// makes (double-length TDES, a public test key; KCV in
	// TokenIMKLabel's key information only). Each token's ICC master key
	// is derived from it for the token PAN and PSN.
	TokenIMK = "E6EFE6615EF25E31E59B492F15CBE651"
	// TokenIMKLabel is its label in the issuer's security module.
	TokenIMKLabel = "issuer/token-imk"
	// TokenBIN is the token BIN range of the tokens made (the sample
	// wallet token's).
	TokenBIN = "489537"
	// TokenCVN is the tokens' cryptogram version: CVN 22 covers the whole
	// of 9F10, and so the device ID the phone puts there (R-S5d).
	TokenCVN = "visa22"
	// TokenValidity is how long a token made is valid.
	TokenValidity = 3 * 365 * 24 * time.Hour
)

// bridge runs the token service against the sample issuer in the same
// process ("the issuer operates the token service"): it is the token
// service's tokensvc.Issuer over the issuer's ID&V API (idv.Service) and
// its tokensvc.Vault over the issuer's token vault (the store's tokens and
// devices), so that a token the flow makes is one the issuer detokenises
// at the next tap. What the tokens row has no column for (the ID&V
// attempt, the wallet account, the step-up awaited and the suspensions per actor,
// the card's PAN unique reference) is in the issuer's database too
// (store.ServiceToken, PAN references), so that a restarted process
// serves the tokens made before. The state of a token is the tokens row's
// alone; the bridge's row only says who holds a suspension (see Get). The
// ID&V decision waiting for the token the service makes next is kept in
// memory: it lives for one tokenize request.
type bridge struct {
	// side is the running issuer, asked at every call.
	side  func() (*issuerSide, error)
	clock func() time.Time
	rand  io.Reader
	// recommend is the token service's recommendation for a request (""
	// leaves the wallet provider's).
	recommend func(tokensvc.IDVRequest) string

	mu      sync.Mutex
	pending map[string]string // PAN/device/requestor -> correlation ID of the last decision
	seq     int
}

// issuerSide is the issuer the bridge works on: its store, its ID&V API,
// and its security module with the token IMK's handle there: each token's
// ICC master key is derived and wrapped for its phone inside the module,
// never in clear here (R-G5b).
type issuerSide struct {
	db  *store.DB
	idv *idv.Service
	sm  hsm.DeviceExport
	imk hsm.Handle
}

var errBridge = errors.New("lab: token service bridge")

func pendingKey(p, device, requestor string) string { return p + "/" + device + "/" + requestor }

// issuer is the running issuer's side.
func (b *bridge) issuer() (*issuerSide, error) {
	is, err := b.side()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBridge, err)
	}
	return is, nil
}

func (b *bridge) random(n int) ([]byte, error) {
	r := make([]byte, n)
	if _, err := io.ReadFull(b.rand, r); err != nil {
		return nil, fmt.Errorf("%w: random source: %w", errBridge, err)
	}
	return r, nil
}

// Authorize implements tokensvc.Issuer: the issuer's ID&V decision under
// a fresh correlation ID, remembered for the token the service makes next.
func (b *bridge) Authorize(ctx context.Context, req tokensvc.IDVRequest) (tokensvc.IDVDecision, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return tokensvc.IDVDecision{}, ierr
	}
	r, err := b.random(8)
	if err != nil {
		return tokensvc.IDVDecision{}, err
	}
	b.mu.Lock()
	b.seq++
	corr := fmt.Sprintf("TS%06d-%s", b.seq, hex.EncodeToString(r))
	b.mu.Unlock()
	d := idv.DecisioningData{Recommendation: req.Risk.Recommendation, DeviceScore: req.Risk.DeviceScore,
		AccountScore: req.Risk.AccountScore, RecommendationReasons: req.Risk.Reasons, DeviceCVM: req.DeviceCVM}
	if b.recommend != nil {
		if rec := b.recommend(req); rec != "" {
			d.Recommendation = rec
		}
	}
	device, err := authz.NormaliseDeviceID(req.DeviceID)
	if err != nil {
		return tokensvc.IDVDecision{Decision: wire.DecisionDeclined, Reason: "INVALID_DEVICE"}, nil
	}
	resp, err := is.idv.Authorize(ctx, idv.AuthorizeRequest{
		CorrelationID: corr, RequestorID: req.TokenRequestorID, TokenType: "CLOUD",
		PAN: req.Card.PAN, Expiry: req.Card.Expiry, SecurityCode: req.Card.SecurityCode,
		DeviceID: device, WalletID: req.WalletAccountID, Decisioning: d,
	})
	if err != nil {
		var e *idv.Error
		if errors.As(err, &e) && e.Reason == idv.ReasonInvalidRequest {
			// The card data does not make a request (a security code of
			// the wrong length): declined, not an issuer failure.
			return tokensvc.IDVDecision{Decision: wire.DecisionDeclined, Reason: "INVALID_CARD_DATA"}, nil
		}
		return tokensvc.IDVDecision{}, fmt.Errorf("%w: ID&V: %w", errBridge, err)
	}
	out := tokensvc.IDVDecision{Decision: string(resp.Decision)}
	switch resp.Decision {
	case idv.Declined:
		out.Reason = strings.ToUpper(string(resp.Reason))
	case idv.StepUp:
		for _, m := range resp.Methods {
			out.Methods = append(out.Methods, wire.AuthenticationMethod{ID: m.ID, Type: m.Type, Value: m.Value})
		}
	}
	if resp.Decision != idv.Declined {
		b.mu.Lock()
		b.pending[pendingKey(req.Card.PAN, device, req.TokenRequestorID)] = corr
		b.mu.Unlock()
	}
	return out, nil
}

// serviceToken is the bridge's row of tur and the token's row.
func (b *bridge) serviceToken(ctx context.Context, tur string) (store.ServiceToken, store.Token, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return store.ServiceToken{}, store.Token{}, ierr
	}
	var st store.ServiceToken
	var k store.Token
	err := is.db.View(ctx, func(tx *store.Tx) error {
		var err error
		if st, err = tx.ServiceToken(ctx, tur); err != nil {
			return err
		}
		k, err = tx.Token(ctx, tur)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return st, k, fmt.Errorf("%w: %s", tokensvc.ErrUnknownToken, tur)
	case err != nil:
		return st, k, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	return st, k, nil
}

// SendOTP implements tokensvc.Issuer: the issuer sends an OTP for the
// token's ID&V attempt to the cardholder's registered contact.
func (b *bridge) SendOTP(ctx context.Context, req tokensvc.OTPRequest) (time.Time, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return time.Time{}, ierr
	}
	t, _, err := b.serviceToken(ctx, req.TokenUniqueReference)
	if err != nil {
		return time.Time{}, err
	}
	res, err := is.idv.SendOTP(ctx, t.CorrelationID, req.MethodID)
	switch {
	case errors.Is(err, idv.ErrLocked):
		return time.Time{}, fmt.Errorf("%w: %w", tokensvc.ErrOTPLocked, err)
	case err != nil:
		return time.Time{}, fmt.Errorf("%w: send OTP: %w", errBridge, err)
	}
	return res.ExpiresAt, nil
}

// VerifyOTP implements tokensvc.Issuer: the issuer's refusals become the
// token service's verdicts.
func (b *bridge) VerifyOTP(ctx context.Context, _, tur, code string) (tokensvc.OTPVerdict, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return tokensvc.OTPVerdict{}, ierr
	}
	t, _, err := b.serviceToken(ctx, tur)
	if err != nil {
		return tokensvc.OTPVerdict{}, err
	}
	_, err = is.idv.VerifyOTP(ctx, t.CorrelationID, code)
	var e *idv.Error
	switch {
	case err == nil:
		return tokensvc.OTPVerdict{Status: tokensvc.OTPVerified}, nil
	case errors.Is(err, idv.ErrOTPWrong):
		errors.As(err, &e)
		return tokensvc.OTPVerdict{Status: tokensvc.OTPWrong, TriesLeft: e.TriesLeft}, nil
	case errors.Is(err, idv.ErrOTPExpired), errors.Is(err, idv.ErrOTPNotSent):
		return tokensvc.OTPVerdict{Status: tokensvc.OTPExpired}, nil
	case errors.Is(err, idv.ErrOTPUsed), errors.Is(err, idv.ErrAlreadyVerified):
		return tokensvc.OTPVerdict{Status: tokensvc.OTPUsed}, nil
	case errors.Is(err, idv.ErrLocked):
		return tokensvc.OTPVerdict{Status: tokensvc.OTPLocked}, nil
	}
	return tokensvc.OTPVerdict{}, fmt.Errorf("%w: verify OTP: %w", errBridge, err)
}

// Notify implements tokensvc.Issuer: token created and download complete
// go on the card's record at the issuer (token, device, requestor); the
// token is then activated there (R-S2a) on the OTP verified when it was
// stepped up, else on the cardholder verification on the device its
// green decision was made on (R-G3f). A token already activated (by the
// card's PIN) stays as it is.
// Life-cycle events are already in the issuer's vault (Change).
func (b *bridge) Notify(ctx context.Context, n wire.Notification) error {
	is, ierr := b.issuer()
	if ierr != nil {
		return ierr
	}
	var ev idv.Event
	switch n.Event {
	case wire.EventTokenCreated:
		ev = idv.EventTokenCreated
	case wire.EventDownloadComplete:
		ev = idv.EventDownloadComplete
	default:
		return nil
	}
	t, k, err := b.serviceToken(ctx, n.TokenUniqueReference)
	if err != nil {
		return err
	}
	if _, err := is.idv.Notify(ctx, idv.Notification{Event: ev, CorrelationID: t.CorrelationID,
		TokenRef: n.TokenUniqueReference, DeviceID: t.DeviceID, RequestorID: k.RequestorID}); err != nil {
		return fmt.Errorf("%w: notify: %w", errBridge, err)
	}
	if ev == idv.EventDownloadComplete {
		proof := idv.ProofDeviceCVM
		if t.StepUp {
			proof = idv.ProofOTP
		}
		if _, err := is.idv.Activate(ctx, idv.ActivateRequest{TokenRef: n.TokenUniqueReference, Method: proof}); err != nil {
			return fmt.Errorf("%w: activate: %w", errBridge, err)
		}
	}
	return nil
}

// Create implements tokensvc.Vault: a token of the issuer's vault for the
// card of n.PAN, in TokenBIN with a valid check digit, CVN TokenCVN with
// the ICC master key derived from the token IMK (inside the issuer's
// security module, see WrapKey), mobile domain controls
// naming its requestor, bound to the requesting device (a registered
// device row). An INACTIVE token (step-up pending) is inactive in the
// store until activated, so that it cannot pay (R-S2a): a tap is declined
// token_inactive.
func (b *bridge) Create(ctx context.Context, n tokensvc.NewToken) (tokensvc.Token, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return tokensvc.Token{}, ierr
	}
	if n.Status != wire.StatusActive && n.Status != wire.StatusInactive {
		return tokensvc.Token{}, fmt.Errorf("%w: create a %s token", tokensvc.ErrState, n.Status)
	}
	device, err := authz.NormaliseDeviceID(n.DeviceID)
	if err != nil {
		return tokensvc.Token{}, fmt.Errorf("%w: device ID: %w", errBridge, err)
	}
	b.mu.Lock()
	corr, ok := b.pending[pendingKey(n.PAN, device, n.TokenRequestorID)]
	b.mu.Unlock()
	if !ok {
		return tokensvc.Token{}, fmt.Errorf("%w: no ID&V decision for this card and device", errBridge)
	}
	ref, err := b.random(16)
	if err != nil {
		return tokensvc.Token{}, err
	}
	tur := "DWSPTS" + hex.EncodeToString(ref)
	pr, err := b.random(16)
	if err != nil {
		return tokensvc.Token{}, err
	}
	ctl := vault.MobileControls()
	ctl.RequireRequestor = true
	domain, err := ctl.Encode()
	if err != nil {
		return tokensvc.Token{}, fmt.Errorf("%w: %w", errBridge, err)
	}
	now := b.clock()
	st := store.TokenActive
	if n.Status == wire.StatusInactive {
		st = store.TokenInactive
	}
	var number string
	err = is.db.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.CardByPAN(ctx, n.PAN)
		if err != nil {
			return err
		}
		for {
			if number, err = b.tokenNumber(); err != nil {
				return err
			}
			if _, err := tx.TokenByNumber(ctx, number); errors.Is(err, store.ErrNotFound) {
				break
			} else if err != nil {
				return err
			}
		}
		if err := tx.PutToken(ctx, store.Token{ID: tur, Number: number, CardID: c.ID,
			Expiry: now.Add(TokenValidity).Format("0601"), Status: st, Domain: domain, RequestorID: n.TokenRequestorID,
			PSN: "00", CVN: TokenCVN, IMKRef: TokenIMKLabel, FormFactor: cards.FormWallet, DeviceBound: true,
			CreatedAt: now, StatusAt: now}); err != nil {
			return err
		}
		if err := tx.PutDevice(ctx, store.Device{DeviceID: device, TokenID: tur, Status: store.DeviceActive,
			RegisteredAt: now, StatusAt: now}); err != nil {
			return err
		}
		if err := tx.PutServiceToken(ctx, store.ServiceToken{TokenID: tur, CorrelationID: corr,
			WalletAccount: n.WalletAccountID, DeviceID: device, StepUp: n.Status == wire.StatusInactive,
			Awaiting: n.Status == wire.StatusInactive, StatusAt: now, CreatedAt: now}); err != nil {
			return err
		}
		if _, err := tx.PutPanReference(ctx, c.ID, "FWSPTS"+hex.EncodeToString(pr), now); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: vault.Actor, Action: "token.provisioned",
			Subject: "token " + tur + " " + pan.Mask(number),
			Detail:  fmt.Sprintf("funding card %s, requestor %s, device %s, %s", c.ID, n.TokenRequestorID, device, n.Status)})
	})
	if err != nil {
		return tokensvc.Token{}, fmt.Errorf("%w: create: %w", errBridge, err)
	}
	b.mu.Lock()
	delete(b.pending, pendingKey(n.PAN, device, n.TokenRequestorID))
	b.mu.Unlock()
	return b.Get(ctx, tur)
}

// tokenNumber draws a token PAN in TokenBIN, 16 digits, Luhn-valid.
func (b *bridge) tokenNumber() (string, error) {
	r, err := b.random(16 - len(TokenBIN) - 1)
	if err != nil {
		return "", err
	}
	body := []byte(TokenBIN)
	for _, x := range r {
		body = append(body, '0'+x%10)
	}
	cd, err := pan.CheckDigit(string(body))
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBridge, err)
	}
	return string(append(body, cd)), nil
}

// Get implements tokensvc.Vault: the store's rows of the token, its card
// and the bridge's row. The state is the tokens row's: deleted is
// DEACTIVATED, active ACTIVE, inactive INACTIVE; suspended is INACTIVE
// while the step-up is awaited, else SUSPENDED by the actors of the bridge's row. Those
// annotations hold only for the status change they were written with: a
// token the issuer suspended in its own vault (a lost phone reported at
// the issuer, "tapsim issuer suspend") shows SUSPENDED by the issuer, one
// it resumed there ACTIVE.
func (b *bridge) Get(ctx context.Context, tur string) (tokensvc.Token, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return tokensvc.Token{}, ierr
	}
	var out tokensvc.Token
	err := is.db.View(ctx, func(tx *store.Tx) error {
		var err error
		out, _, err = b.get(ctx, tx, tur)
		return err
	})
	return out, err
}

// get is Get inside tx; it returns the bridge's row too.
func (b *bridge) get(ctx context.Context, tx *store.Tx, tur string) (tokensvc.Token, store.ServiceToken, error) {
	st, err := tx.ServiceToken(ctx, tur)
	if errors.Is(err, store.ErrNotFound) {
		return tokensvc.Token{}, st, fmt.Errorf("%w: %s", tokensvc.ErrUnknownToken, tur)
	}
	if err != nil {
		return tokensvc.Token{}, st, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	k, err := tx.Token(ctx, tur)
	if err != nil {
		return tokensvc.Token{}, st, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	c, err := tx.Card(ctx, k.CardID)
	if err != nil {
		return tokensvc.Token{}, st, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	par, err := tx.PanReference(ctx, k.CardID)
	if err != nil {
		return tokensvc.Token{}, st, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	var status string
	var by []string
	own := st.StatusAt.Equal(k.StatusAt) // the annotations are of this status
	switch k.Status {
	case store.TokenDeleted:
		status = wire.StatusDeactivated
	case store.TokenActive:
		status = wire.StatusActive
	case store.TokenInactive:
		status = wire.StatusInactive
	default:
		switch {
		case own && st.Awaiting:
			status = wire.StatusInactive
		case own && len(st.SuspendedBy) > 0:
			status, by = wire.StatusSuspended, slices.Clone(st.SuspendedBy)
		default:
			status, by = wire.StatusSuspended, []string{wire.ActorIssuer}
		}
	}
	return tokensvc.Token{
		TokenUniqueReference: tur, PanUniqueReference: par, FundingPAN: c.PAN, FundingExpiry: c.Expiry,
		TokenPAN: k.Number, TokenExpiry: k.Expiry, PSN: k.PSN, CVN: k.CVN,
		TokenRequestorID: k.RequestorID, WalletAccountID: st.WalletAccount, DeviceID: st.DeviceID,
		Controls: wire.DomainControls{POSEntryModes: []string{"07"}, DeviceID: st.DeviceID},
		Status:   status, SuspendedBy: by, CreatedAt: st.CreatedAt,
	}, st, nil
}

// WrapKey implements tokensvc.Vault: the issuer's security module derives
// the token's ICC master key from the token IMK (by the token's CVN) and
// returns it wrapped for the phone's key only.
func (b *bridge) WrapKey(ctx context.Context, tur string, device *ecdsa.PublicKey) ([]byte, string, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return nil, "", ierr
	}
	_, k, err := b.serviceToken(ctx, tur)
	if err != nil {
		return nil, "", err
	}
	if k.IMKRef != is.imk.Label {
		return nil, "", fmt.Errorf("%w: %s: the token's key is not the token IMK's", errBridge, tur)
	}
	w, kcv, err := is.sm.ExportICCMKToDevice(is.imk, k.CVN, k.Number, k.PSN, device)
	if err != nil {
		return nil, "", fmt.Errorf("%w: ICC master key: %w", errBridge, err)
	}
	return w, kcv, nil
}

var storeStatus = map[string]store.TokenStatus{
	wire.StatusActive: store.TokenActive, wire.StatusInactive: store.TokenInactive,
	wire.StatusSuspended: store.TokenSuspended, wire.StatusDeactivated: store.TokenDeleted,
}

// refusedChange carries a refused transition out of the transaction.
type refusedChange struct {
	cur tokensvc.Token
	err error
}

func (e *refusedChange) Error() string { return e.err.Error() }
func (e *refusedChange) Unwrap() error { return e.err }

// Change implements tokensvc.Vault: the life-cycle rule of tokensvc on
// the token as Get reads it, its outcome written to the issuer's vault
// (and audit trail) and who holds a suspension to the bridge's row, in
// one transaction.
func (b *bridge) Change(ctx context.Context, tur, action, actor string) (tokensvc.Token, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return tokensvc.Token{}, ierr
	}
	var next tokensvc.Token
	err := is.db.Update(ctx, func(tx *store.Tx) error {
		cur, st, err := b.get(ctx, tx, tur)
		if err != nil {
			return err
		}
		if next, err = tokensvc.Transition(cur, action, actor); err != nil {
			return &refusedChange{cur: cur, err: err}
		}
		now := b.clock()
		if _, err := vault.SetStatus(ctx, tx, tur, storeStatus[next.Status], vault.Actor,
			strings.ToLower(action)+" by "+strings.ToLower(actor), now); err != nil {
			return err
		}
		k, err := tx.Token(ctx, tur)
		if err != nil {
			return err
		}
		st.Awaiting, st.SuspendedBy, st.StatusAt = next.Status == wire.StatusInactive, next.SuspendedBy, k.StatusAt
		return tx.PutServiceToken(ctx, st)
	})
	var refused *refusedChange
	switch {
	case errors.As(err, &refused):
		return refused.cur, refused.err
	case errors.Is(err, tokensvc.ErrUnknownToken), errors.Is(err, errBridge):
		return tokensvc.Token{}, err
	case err != nil:
		return tokensvc.Token{}, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	return next, nil
}

// ByDevice implements tokensvc.Vault: the tokens the token service made
// for the device, oldest first.
func (b *bridge) ByDevice(ctx context.Context, deviceID string) ([]tokensvc.Token, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return nil, ierr
	}
	device, err := authz.NormaliseDeviceID(deviceID)
	if err != nil {
		return nil, nil
	}
	var out []tokensvc.Token
	err = is.db.View(ctx, func(tx *store.Tx) error {
		sts, err := tx.ServiceTokensOfDevice(ctx, device)
		if err != nil {
			return err
		}
		for _, st := range sts {
			t, _, err := b.get(ctx, tx, st.TokenID)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: device %s: %w", errBridge, device, err)
	}
	return out, nil
}

// pinZone is what the bridge needs of the issuer's security module to
// bring the phone's PIN block under the zone PIN key.
type pinZone interface {
	ImportKey(label string, usage hsm.Usage, k keys.Key) (hsm.Handle, error)
	DeleteKey(h hsm.Handle) error
	Lookup(label string) (hsm.Handle, error)
	TranslatePIN(src hsm.Handle, block []byte, dst hsm.Handle, pan string) ([]byte, error)
}

// ActivatePasscode implements tokensvc.PasscodeIssuer: the phone's clear
// format 1 PIN block (opened from its envelope by the token service, which
// the issuer operates here) is enciphered under a one-time PIN transport
// key drawn for this call, imported into the issuer's security module,
// re-enciphered there under the zone PIN key (the module's own
// translation: the zone key never leaves it) and the one-time key is
// deleted; the issuer's ID&V then verifies it against the card's PIN
// verification value and activates the token (idv.ProofPasscode, R-S2a).
// MODEL: a real token service would open the phone's envelope inside its
// own module too; here the clear block lives in memory for this call only
// and is cleared.
// The PAN the token service names is not used: the card is the token's
// on the issuer's own record.
func (b *bridge) ActivatePasscode(ctx context.Context, _, tur string, block []byte) (tokensvc.OTPVerdict, error) {
	is, ierr := b.issuer()
	if ierr != nil {
		return tokensvc.OTPVerdict{}, ierr
	}
	_, k, err := b.serviceToken(ctx, tur)
	if err != nil {
		return tokensvc.OTPVerdict{}, err
	}
	zone, ok := is.sm.(pinZone)
	if !ok {
		return tokensvc.OTPVerdict{}, fmt.Errorf("%w: the security module translates no PIN", errBridge)
	}
	var card store.Card
	if err := is.db.View(ctx, func(tx *store.Tx) error {
		var err error
		card, err = tx.Card(ctx, k.CardID)
		return err
	}); err != nil {
		return tokensvc.OTPVerdict{}, fmt.Errorf("%w: %s: %w", errBridge, tur, err)
	}
	underZPK, err := b.toZone(zone, block, card.PAN)
	if err != nil {
		return tokensvc.OTPVerdict{}, err
	}
	_, err = is.idv.Activate(ctx, idv.ActivateRequest{TokenRef: tur, Method: idv.ProofPasscode,
		PINBlock: hex.EncodeToString(underZPK)})
	clear(underZPK)
	var e *idv.Error
	switch {
	case err == nil:
		return tokensvc.OTPVerdict{Status: tokensvc.OTPVerified}, nil
	case errors.Is(err, idv.ErrPasscodeWrong):
		errors.As(err, &e)
		return tokensvc.OTPVerdict{Status: tokensvc.OTPWrong, TriesLeft: e.TriesLeft}, nil
	case errors.Is(err, idv.ErrLocked), errors.Is(err, idv.ErrPasscodeLocked):
		return tokensvc.OTPVerdict{Status: tokensvc.OTPLocked}, nil
	case errors.As(err, &e) && e.Reason != idv.ReasonInternal && e.Reason != idv.ReasonInvalidRequest:
		// The issuer's own refusal (card_not_active, not_verified, ...).
		return tokensvc.OTPVerdict{}, wire.Refuse(e.Reason.HTTPStatus(), string(e.Reason), e.Message)
	}
	return tokensvc.OTPVerdict{}, fmt.Errorf("%w: activate: %w", errBridge, err)
}

// toZone re-enciphers a clear PIN block under the issuer's zone PIN key
// through a one-time transport key.
func (b *bridge) toZone(zone pinZone, block []byte, cardPAN string) ([]byte, error) {
	raw, err := b.random(16)
	if err != nil {
		return nil, err
	}
	tk, err := keys.New(keys.TDES, raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: transport key: %w", errBridge, err)
	}
	enc, err := tk.EncryptECB(block)
	if err != nil {
		return nil, fmt.Errorf("%w: PIN block: %w", errBridge, err)
	}
	tag, err := b.random(8)
	if err != nil {
		return nil, err
	}
	h, err := zone.ImportKey("tsp/activation-"+hex.EncodeToString(tag), hsm.UsageTPK, tk)
	if err != nil {
		return nil, fmt.Errorf("%w: transport key: %w", errBridge, err)
	}
	defer func() { _ = zone.DeleteKey(h) }()
	zpk, err := zone.Lookup(issuerhost.DefaultKeys().ZPK)
	if err != nil {
		return nil, fmt.Errorf("%w: zone PIN key: %w", errBridge, err)
	}
	out, err := zone.TranslatePIN(h, enc, zpk, cardPAN)
	if err != nil {
		return nil, fmt.Errorf("%w: PIN translation: %w", errBridge, err)
	}
	return out, nil
}
