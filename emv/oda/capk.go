package oda

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"
)

// TestRID is the Registered Application Provider Identifier of this
// project's test certification authority. 'F0 00 00 00 01' lies outside the
// RIDs registered to payment systems, so test CA keys can never be confused
// with a real scheme's keys.
var TestRID = [5]byte{0xF0, 0x00, 0x00, 0x00, 0x01}

// KeyID identifies a CA public key: the RID of the payment system and the
// Certification Authority Public Key Index (tag 8F). It is comparable and
// can key a map.
type KeyID struct {
	RID   [5]byte
	Index byte
}

// String prints the RID and index in hex, e.g. "A000000003/92".
func (id KeyID) String() string { return fmt.Sprintf("%X/%02X", id.RID[:], id.Index) }

// CAPublicKey is a certification authority public key as a terminal holds it
// (Book 2 section 11.2.2). Expiry is optional: the zero time means none;
// otherwise the key is not used after that instant.
type CAPublicKey struct {
	RID      [5]byte
	Index    byte
	Modulus  []byte
	Exponent []byte
	Expiry   time.Time
}

// ID returns the key's RID and index.
func (k CAPublicKey) ID() KeyID { return KeyID{RID: k.RID, Index: k.Index} }

// Key returns the modulus and exponent.
func (k CAPublicKey) Key() PublicKey { return PublicKey{Modulus: k.Modulus, Exponent: k.Exponent} }

// Checksum returns the CA public key check sum: SHA-1 over RID, CA public
// key index, modulus and exponent (Book 2 section 11.2.2).
func (k CAPublicKey) Checksum() [20]byte {
	h := sha1.New()
	h.Write(k.RID[:])
	h.Write([]byte{k.Index})
	h.Write(k.Modulus)
	h.Write(k.Exponent)
	var sum [20]byte
	h.Sum(sum[:0])
	return sum
}

// VerifyChecksum compares want with the key's checksum.
func (k CAPublicKey) VerifyChecksum(want []byte) error {
	sum := k.Checksum()
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return fail(ObjectCAKey, ErrChecksum, "key %v", k.ID())
	}
	return nil
}

// Validate checks the modulus and exponent (see PublicKey.Validate).
func (k CAPublicKey) Validate() error {
	if err := k.Key().Validate(); err != nil {
		return &Error{Object: ObjectCAKey, Err: err}
	}
	return nil
}

// String prints the key's identity, length, exponent and checksum.
func (k CAPublicKey) String() string {
	sum := k.Checksum()
	return fmt.Sprintf("CA key %v RSA-%d e=%X checksum %X", k.ID(), k.Key().Bits(), k.Exponent, sum[:])
}

// CAStore is the terminal's set of CA public keys, looked up by RID and
// index. It is safe for concurrent use; the zero value is an empty store.
type CAStore struct {
	mu   sync.RWMutex
	keys map[KeyID]CAPublicKey
}

// NewCAStore returns a store holding keys.
func NewCAStore(keys ...CAPublicKey) (*CAStore, error) {
	s := &CAStore{}
	for _, k := range keys {
		if err := s.Add(k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add validates k and stores a copy of it, replacing any key with the same
// RID and index.
func (s *CAStore) Add(k CAPublicKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	k.Modulus = bytes.Clone(k.Modulus)
	k.Exponent = bytes.Clone(k.Exponent)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = make(map[KeyID]CAPublicKey)
	}
	s.keys[k.ID()] = k
	return nil
}

// Lookup returns the key for rid and index (tag 8F). It fails with
// ErrUnknownCA when the store has no such key and with ErrExpired when the
// key's expiry is before now.
func (s *CAStore) Lookup(rid [5]byte, index byte, now time.Time) (CAPublicKey, error) {
	id := KeyID{RID: rid, Index: index}
	s.mu.RLock()
	k, ok := s.keys[id]
	s.mu.RUnlock()
	if !ok {
		return CAPublicKey{}, fail(ObjectCAKey, ErrUnknownCA, "key %v", id)
	}
	if !k.Expiry.IsZero() && now.After(k.Expiry) {
		return CAPublicKey{}, fail(ObjectCAKey, ErrExpired, "key %v expired %s", id, k.Expiry.Format(time.DateOnly))
	}
	return k, nil
}

// Len returns the number of keys in the store.
func (s *CAStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// RevocationList holds revoked issuer public key certificates, each named by
// the CA key that signed it and its certificate serial number (Book 2
// section 6.3 step 10). The zero value is an empty list; it is safe for
// concurrent use.
type RevocationList struct {
	mu      sync.RWMutex
	entries map[revocation]struct{}
}

type revocation struct {
	ca     KeyID
	serial [3]byte
}

// Add marks the certificate with this CA key and serial number as revoked.
func (l *RevocationList) Add(ca KeyID, serial [3]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = make(map[revocation]struct{})
	}
	l.entries[revocation{ca, serial}] = struct{}{}
}

// Check fails with ErrRevoked when the recovered issuer key's certificate is
// on the list.
func (l *RevocationList) Check(k *IssuerPublicKey) error {
	if k == nil {
		return fail(ObjectIssuerCert, ErrInvalid, "no issuer key")
	}
	l.mu.RLock()
	_, revoked := l.entries[revocation{k.CA, k.Serial}]
	l.mu.RUnlock()
	if revoked {
		return fail(ObjectIssuerCert, ErrRevoked, "CA key %v serial %X", k.CA, k.Serial[:])
	}
	return nil
}
