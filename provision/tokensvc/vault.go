package tokensvc

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/wire"
)

// Token is one token in the vault: the token<->PAN map entry, the token's
// credentials and its life-cycle state. Only a vault (and the token
// service holding it) keeps a Token (R-G5g). String never shows the PAN,
// the expiry or the key.
type Token struct {
	// TokenUniqueReference (TUR) names the token outside the vault.
	TokenUniqueReference string
	// PanUniqueReference names the funding account.
	PanUniqueReference string
	// FundingPAN and FundingExpiry (YYMM) are the card's.
	FundingPAN, FundingExpiry string
	// TokenPAN is in a token BIN range, the PAN's format, Luhn-valid.
	TokenPAN string
	// TokenExpiry is YYMM.
	TokenExpiry string
	// PSN is the PAN sequence number; CVN the cryptogram version name.
	PSN, CVN string
	// TokenRequestorID and WalletAccountID name the wallet and account.
	TokenRequestorID, WalletAccountID string
	// DeviceID binds the token to a phone (R-S5d).
	DeviceID string
	// Controls are the token's domain restriction controls.
	Controls wire.DomainControls
	// Status is INACTIVE, ACTIVE, SUSPENDED or DEACTIVATED.
	Status string
	// SuspendedBy lists the actors whose suspension holds, sorted.
	SuspendedBy []string
	// CreatedAt is when the vault made it.
	CreatedAt time.Time
}

// String names the token by its reference and masked PAN.
func (t Token) String() string {
	return "token " + t.TokenUniqueReference + " " + pan.Mask(t.TokenPAN) + " " + t.Status
}

// GoString is String.
func (t Token) GoString() string { return t.String() }

// Info is the token's description for the wallet provider: last digits
// and state, never a PAN.
func (t Token) Info() *wire.TokenInfo {
	exp := ""
	if len(t.TokenExpiry) == 4 {
		exp = t.TokenExpiry[2:] + t.TokenExpiry[:2]
	}
	return &wire.TokenInfo{
		TokenPanSuffix: pan.Last4(t.TokenPAN), AccountPanSuffix: pan.Last4(t.FundingPAN),
		TokenExpiry: exp, Status: t.Status,
	}
}

// Data is the TokenData delivered to the phone, without its key: the
// token service adds the key the vault wrapped for the phone
// (Vault.WrapKey).
func (t Token) Data() wire.TokenData {
	return wire.TokenData{
		TokenUniqueReference: t.TokenUniqueReference, TokenPAN: t.TokenPAN, TokenExpiry: t.TokenExpiry,
		PSN: t.PSN, CVN: t.CVN,
		TokenRequestorID: t.TokenRequestorID, DomainControls: t.Controls, Status: t.Status,
	}
}

// NewToken is what the token service asks the vault to make.
type NewToken struct {
	// PAN and Expiry (YYMM) are the funding card's.
	PAN, Expiry string
	// TokenRequestorID, WalletAccountID and DeviceID bind the token.
	TokenRequestorID, WalletAccountID, DeviceID string
	// Status is the initial state: ACTIVE (green) or INACTIVE (yellow).
	Status string
}

// String hides the PAN.
func (n NewToken) String() string { return "new token for " + pan.Mask(n.PAN) }

// Vault keeps tokens: the token<->PAN map and each token's state.
// Implementations are safe for concurrent use.
type Vault interface {
	// Create makes a token for a funding PAN: a token PAN in a token BIN
	// range with a valid check digit, its expiry, PSN, CVN and fresh key
	// material, domain controls binding it to the requestor and device.
	Create(ctx context.Context, n NewToken) (Token, error)
	// Get looks a token up by its reference (ErrUnknownToken).
	Get(ctx context.Context, tur string) (Token, error)
	// Change applies a life-cycle change by actor (see Transition) and
	// returns the token after it. Activate is the action ACTIVATE.
	Change(ctx context.Context, tur, action, actor string) (Token, error)
	// ByDevice lists the tokens bound to a device ID, by creation.
	ByDevice(ctx context.Context, deviceID string) ([]Token, error)
	// WrapKey returns the token's ICC master key wrapped for the phone's
	// P-256 encryption key (emv/devicekey) and its check value: the key
	// is never handed to the token service in clear (R-G5b).
	WrapKey(ctx context.Context, tur string, device *ecdsa.PublicKey) (wrapped []byte, kcv string, err error)
}

// ActionActivate turns an INACTIVE token ACTIVE after step-up (Vault.Change).
const ActionActivate = "ACTIVATE"

// Transition applies a life-cycle change to t (FACT: INACTIVE -> ACTIVE
// <-> SUSPENDED, any -> DEACTIVATED; MODEL: suspensions stack per actor
// and a resume clears only the caller's own, docs/provisioning.md
// pitfall 4):
//
//	ACTIVATE  INACTIVE -> ACTIVE
//	SUSPEND   ACTIVE or SUSPENDED -> SUSPENDED, actor added to SuspendedBy
//	RESUME    actor removed from SuspendedBy; ACTIVE when none is left
//	DELETE    any but DEACTIVATED -> DEACTIVATED
//
// Anything else is ErrState, a resume by an actor whose suspension does
// not hold ErrNotSuspendedBy.
func Transition(t Token, action, actor string) (Token, error) {
	t.SuspendedBy = slices.Clone(t.SuspendedBy)
	switch action {
	case ActionActivate:
		if t.Status != wire.StatusInactive {
			return t, fmt.Errorf("%w: activate a %s token", ErrState, t.Status)
		}
		t.Status = wire.StatusActive
	case wire.ActionSuspend:
		if t.Status != wire.StatusActive && t.Status != wire.StatusSuspended {
			return t, fmt.Errorf("%w: suspend a %s token", ErrState, t.Status)
		}
		if !slices.Contains(t.SuspendedBy, actor) {
			t.SuspendedBy = append(t.SuspendedBy, actor)
			slices.Sort(t.SuspendedBy)
		}
		t.Status = wire.StatusSuspended
	case wire.ActionResume:
		if t.Status != wire.StatusSuspended {
			return t, fmt.Errorf("%w: resume a %s token", ErrState, t.Status)
		}
		i := slices.Index(t.SuspendedBy, actor)
		if i < 0 {
			return t, fmt.Errorf("%w: %s", ErrNotSuspendedBy, actor)
		}
		t.SuspendedBy = slices.Delete(t.SuspendedBy, i, i+1)
		if len(t.SuspendedBy) == 0 {
			t.Status = wire.StatusActive
		}
	case wire.ActionDelete:
		if t.Status == wire.StatusDeactivated {
			return t, fmt.Errorf("%w: delete a deactivated token", ErrState)
		}
		t.Status, t.SuspendedBy = wire.StatusDeactivated, nil
	default:
		return t, fmt.Errorf("%w: unknown action", ErrState)
	}
	if len(t.SuspendedBy) == 0 {
		t.SuspendedBy = nil
	}
	return t, nil
}

// VaultConfig configures a MemoryVault.
type VaultConfig struct {
	// BIN is the token BIN range's prefix (6 or 8 digits); "489537" when
	// empty (MODEL: a tapsim token range).
	BIN string
	// Length is the token PAN's length; 16 when 0.
	Length int
	// Validity is how long a token is valid; 3 years when 0.
	Validity time.Duration
	// CVN is the cryptogram version name of the tokens; "visa18" when
	// empty.
	CVN string
	// POSEntryModes are the entry modes the tokens allow; ["07"]
	// (contactless chip) when empty.
	POSEntryModes []string
	// Rand draws token PANs, references and keys; crypto/rand when nil.
	Rand io.Reader
	// Clock gives the creation time; time.Now when nil.
	Clock func() time.Time
}

// MemoryVault is a Vault in memory, for tests. The ICC master key of each
// token is drawn from Rand and kept inside the vault, which wraps it for
// the phone itself (MODEL: a real vault derives and wraps it in an HSM
// from the issuer's keys, as hsm.DeviceExport does).
type MemoryVault struct {
	cfg    VaultConfig
	mu     sync.Mutex
	tokens map[string]*Token
	keys   map[string]keys.Key // ICC master keys by TUR
	pans   map[string]bool     // token PANs in use
	pars   map[string]string   // funding PAN -> PAN unique reference
	order  []string
}

// NewMemoryVault is an empty vault.
func NewMemoryVault(cfg VaultConfig) (*MemoryVault, error) {
	if cfg.BIN == "" {
		cfg.BIN = "489537"
	}
	if cfg.Length == 0 {
		cfg.Length = 16
	}
	if len(cfg.BIN) < 6 || len(cfg.BIN) > 8 || cfg.Length < 13 || cfg.Length > 19 || cfg.Length-len(cfg.BIN) < 5 {
		return nil, fmt.Errorf("%w: vault: BIN of 6 to 8 digits and a PAN of 13 to 19", ErrConfig)
	}
	if _, err := pan.CheckDigit(cfg.BIN); err != nil {
		return nil, fmt.Errorf("%w: vault: BIN is not digits", ErrConfig)
	}
	if cfg.Validity == 0 {
		cfg.Validity = 3 * 365 * 24 * time.Hour
	}
	if cfg.CVN == "" {
		cfg.CVN = "visa18"
	}
	if len(cfg.POSEntryModes) == 0 {
		cfg.POSEntryModes = []string{"07"}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &MemoryVault{cfg: cfg, tokens: map[string]*Token{}, keys: map[string]keys.Key{}, pans: map[string]bool{}, pars: map[string]string{}}, nil
}

func (v *MemoryVault) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(v.cfg.Rand, b); err != nil {
		return nil, fmt.Errorf("tokensvc: vault: random source: %w", err)
	}
	return b, nil
}

func (v *MemoryVault) reference(prefix string) (string, error) {
	b, err := v.random(16)
	if err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}

// Create implements Vault.
func (v *MemoryVault) Create(_ context.Context, n NewToken) (Token, error) {
	if n.Status != wire.StatusActive && n.Status != wire.StatusInactive {
		return Token{}, fmt.Errorf("%w: create a %s token", ErrState, n.Status)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var tokPAN string
	for {
		body := []byte(v.cfg.BIN)
		rnd, err := v.random(v.cfg.Length - len(v.cfg.BIN) - 1)
		if err != nil {
			return Token{}, err
		}
		for _, b := range rnd {
			body = append(body, '0'+b%10)
		}
		cd, err := pan.CheckDigit(string(body))
		if err != nil {
			return Token{}, fmt.Errorf("tokensvc: vault: %w", err)
		}
		tokPAN = string(append(body, cd))
		if !v.pans[tokPAN] {
			break
		}
	}
	tur, err := v.reference("DWSPTS")
	if err != nil {
		return Token{}, err
	}
	par, ok := v.pars[n.PAN]
	if !ok {
		if par, err = v.reference("FWSPTS"); err != nil {
			return Token{}, err
		}
		v.pars[n.PAN] = par
	}
	kb, err := v.random(16)
	if err != nil {
		return Token{}, err
	}
	key, err := keys.New(keys.TDES, keys.OddParity(kb))
	if err != nil {
		return Token{}, fmt.Errorf("tokensvc: vault: %w", err)
	}
	now := v.cfg.Clock()
	t := Token{
		TokenUniqueReference: tur, PanUniqueReference: par,
		FundingPAN: n.PAN, FundingExpiry: n.Expiry,
		TokenPAN: tokPAN, TokenExpiry: now.Add(v.cfg.Validity).Format("0601"),
		PSN: "00", CVN: v.cfg.CVN,
		TokenRequestorID: n.TokenRequestorID, WalletAccountID: n.WalletAccountID, DeviceID: n.DeviceID,
		Controls: wire.DomainControls{POSEntryModes: slices.Clone(v.cfg.POSEntryModes), DeviceID: n.DeviceID},
		Status:   n.Status, CreatedAt: now,
	}
	v.pans[tokPAN] = true
	v.tokens[tur] = &t
	v.keys[tur] = key
	v.order = append(v.order, tur)
	return clone(t), nil
}

func clone(t Token) Token {
	t.SuspendedBy = slices.Clone(t.SuspendedBy)
	t.Controls.POSEntryModes = slices.Clone(t.Controls.POSEntryModes)
	return t
}

// Get implements Vault.
func (v *MemoryVault) Get(_ context.Context, tur string) (Token, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.tokens[tur]
	if !ok {
		return Token{}, fmt.Errorf("%w: %s", ErrUnknownToken, tur)
	}
	return clone(*t), nil
}

// Change implements Vault.
func (v *MemoryVault) Change(_ context.Context, tur, action, actor string) (Token, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.tokens[tur]
	if !ok {
		return Token{}, fmt.Errorf("%w: %s", ErrUnknownToken, tur)
	}
	n, err := Transition(*t, action, actor)
	if err != nil {
		return clone(*t), err
	}
	*t = n
	return clone(n), nil
}

// ByDevice implements Vault.
func (v *MemoryVault) ByDevice(_ context.Context, deviceID string) ([]Token, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []Token
	for _, tur := range v.order {
		if t := v.tokens[tur]; t.DeviceID == deviceID {
			out = append(out, clone(*t))
		}
	}
	return out, nil
}

// WrapKey implements Vault.
func (v *MemoryVault) WrapKey(_ context.Context, tur string, device *ecdsa.PublicKey) ([]byte, string, error) {
	v.mu.Lock()
	key, ok := v.keys[tur]
	v.mu.Unlock()
	if !ok {
		return nil, "", fmt.Errorf("%w: %s", ErrUnknownToken, tur)
	}
	w, err := devicekey.Wrap(v.cfg.Rand, device, key)
	if err != nil {
		return nil, "", fmt.Errorf("tokensvc: vault: %w", err)
	}
	return w, key.KCVHex(), nil
}

// Len counts the tokens in the vault.
func (v *MemoryVault) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.tokens)
}
