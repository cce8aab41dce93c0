package walletsvc

import (
	"slices"
	"sort"
	"sync"
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
	accounts map[string]string       // wallet account -> device ID
	tokens   map[string]*TokenRecord // by TUR
	seen     map[string]bool         // notification correlation IDs handled
}

// NewMemoryStore is an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{accounts: map[string]string{}, tokens: map[string]*TokenRecord{}, seen: map[string]bool{}}
}

// mayUse reports whether the account is unbound or bound to deviceID.
func (s *MemoryStore) mayUse(account, deviceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.accounts[account]
	return !ok || d == deviceID
}

// bound reports whether the account is bound to deviceID.
func (s *MemoryStore) bound(account, deviceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.accounts[account]
	return ok && d == deviceID
}

// bind ties a wallet account to a device on first use and reports
// whether deviceID is the account's.
func (s *MemoryStore) bind(account, deviceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.accounts[account]; ok {
		return d == deviceID
	}
	s.accounts[account] = deviceID
	return true
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
