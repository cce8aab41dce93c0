package walletsvc

import (
	"slices"
	"sort"
	"sync"

	"github.com/tapsim/tapsim/provision/wire"
)

// TokenRecord is all the wallet provider keeps of a token (R-G5g): no
// PAN, expiry, code or key.
type TokenRecord struct {
	// WalletAccountID and DeviceID name the account and its phone.
	WalletAccountID string `json:"walletAccountId"`
	DeviceID        string `json:"deviceId"`
	// TokenUniqueReference names the token.
	TokenUniqueReference string `json:"tokenUniqueReference"`
	// Status is the token's state as last known.
	Status string `json:"status"`
	// SuspendedBy lists the actors whose suspension holds.
	SuspendedBy []string `json:"suspendedBy,omitempty"`
	// AccountPanSuffix and TokenPanSuffix are last 4 digits.
	AccountPanSuffix string `json:"accountPanSuffix"`
	TokenPanSuffix   string `json:"tokenPanSuffix"`
}

// MemoryStore keeps the wallet accounts in memory. It is safe for
// concurrent use.
type MemoryStore struct {
	mu       sync.Mutex
	accounts map[string]*binding     // by wallet account
	devices  map[string]*binding     // by the device's signing key ID
	tokens   map[string]*TokenRecord // by TUR
	seen     map[string]bool         // notification correlation IDs handled
}

// binding ties a wallet account to its phone: the device ID and the
// device's public keys presented at the account's first add-card.
type binding struct {
	account  string
	deviceID string
	keys     wire.PublicKeys
}

// NewMemoryStore is an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{accounts: map[string]*binding{}, devices: map[string]*binding{},
		tokens: map[string]*TokenRecord{}, seen: map[string]bool{}}
}

// check is nil when account may be used by the device deviceID holding
// keys: the account is unbound and the keys are not another account's,
// or the account is bound to that very device and keys. Otherwise it is
// errDeviceMismatch (another device ID) or errDeviceKeyMismatch (other
// keys, or keys already bound elsewhere).
func (s *MemoryStore) check(account, deviceID string, keys wire.PublicKeys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkLocked(account, deviceID, keys)
}

func (s *MemoryStore) checkLocked(account, deviceID string, keys wire.PublicKeys) error {
	if b, ok := s.accounts[account]; ok {
		switch {
		case b.deviceID != deviceID:
			return errDeviceMismatch
		case b.keys.SignKID != keys.SignKID || b.keys.EncKID != keys.EncKID:
			return errDeviceKeyMismatch
		}
		return nil
	}
	if _, ok := s.devices[keys.SignKID]; ok {
		return errDeviceKeyMismatch
	}
	return nil
}

// bound reports whether the account is bound to deviceID.
func (s *MemoryStore) bound(account, deviceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.accounts[account]
	return ok && b.deviceID == deviceID
}

// bind ties a wallet account to a device and its keys on first use; it
// fails as check does.
func (s *MemoryStore) bind(account, deviceID string, keys wire.PublicKeys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(account, deviceID, keys); err != nil {
		return err
	}
	if _, ok := s.accounts[account]; !ok {
		b := &binding{account: account, deviceID: deviceID, keys: keys}
		s.accounts[account], s.devices[keys.SignKID] = b, b
	}
	return nil
}

// device is the binding of the device whose signing key is kid.
func (s *MemoryStore) device(kid string) (binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.devices[kid]
	if !ok {
		return binding{}, false
	}
	return *b, true
}

// devices is the wire.Directory of the bound devices: the phones'
// requests are verified with these keys and no others.
type devices struct{ s *MemoryStore }

// Signer implements wire.Directory: the keys of the device whose signing
// key is kid.
func (d devices) Signer(kid string) (wire.PublicKeys, bool) {
	b, ok := d.s.device(kid)
	return b.keys, ok
}

func (s *MemoryStore) put(r TokenRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.SuspendedBy = slices.Clone(r.SuspendedBy)
	s.tokens[r.TokenUniqueReference] = &r
}

// get is the record of tur when it belongs to account.
func (s *MemoryStore) get(account, tur string) (TokenRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tokens[tur]
	if !ok || r.WalletAccountID != account {
		return TokenRecord{}, false
	}
	return *r, true
}

// setStatus updates a token's state; unknown references are ignored.
func (s *MemoryStore) setStatus(tur, status string, suspendedBy []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.tokens[tur]; ok {
		r.Status, r.SuspendedBy = status, slices.Clone(suspendedBy)
	}
}

// firstTime reports whether the correlation ID is new, and remembers it.
func (s *MemoryStore) firstTime(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[id] {
		return false
	}
	s.seen[id] = true
	return true
}

// Account lists an account's tokens, sorted by reference.
func (s *MemoryStore) Account(account string) []TokenRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []TokenRecord
	for _, r := range s.tokens {
		if r.WalletAccountID == account {
			c := *r
			c.SuspendedBy = slices.Clone(r.SuspendedBy)
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TokenUniqueReference < out[j].TokenUniqueReference })
	return out
}

// Token is the record of a token reference.
func (s *MemoryStore) Token(tur string) (TokenRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tokens[tur]
	if !ok {
		return TokenRecord{}, false
	}
	return *r, true
}

// Dump is everything the store holds, for tests and audits: every token
// record, sorted by reference.
func (s *MemoryStore) Dump() []TokenRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TokenRecord, 0, len(s.tokens))
	for _, r := range s.tokens {
		c := *r
		c.SuspendedBy = slices.Clone(r.SuspendedBy)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TokenUniqueReference < out[j].TokenUniqueReference })
	return out
}
