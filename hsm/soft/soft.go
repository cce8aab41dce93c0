// Package soft is a software security module implementing hsm.HSM. Keys are
// held in memory and persisted in a keystore file (JSON), each key
// encrypted and authenticated under the local master key (LMK, AES-256)
// with AES-GCM, its ID, label, usage, algorithm, length and check value as
// additional data, so that no field can be swapped or altered without the
// LMK. The LMK is given by the caller: from a file (LoadLMK), from the
// environment (LMKFromEnv) or in code.
//
// Every operation is written to the audit log (log/slog): the operation,
// the keys' labels, usages and check values, and the result. No key, PIN,
// PIN block, cryptogram or PAN is ever logged or put in an error.
//
// A keystore file belongs to one process at a time.
package soft

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
)

// Sentinel errors of the soft module, in addition to those of package hsm.
var (
	// ErrLMK reports a missing or unsuitable local master key, or one that
	// is not the key the keystore was made with.
	ErrLMK = errors.New("soft: local master key unusable")
	// ErrKeystore reports a keystore file that cannot be read, written or
	// trusted: malformed, or a record that fails its integrity check.
	ErrKeystore = errors.New("soft: keystore unusable")
	// ErrLabel reports a label that is empty, too long or holds control
	// characters.
	ErrLabel = errors.New("soft: invalid key label")
)

// MaxLabel is the longest key label, in bytes.
const MaxLabel = 128

// Config sets up a module.
type Config struct {
	// LMK is the local master key, AES-256. Required.
	LMK keys.Key
	// Path is the keystore file. It is read when it exists and written
	// (atomically, mode 0600) after every change. Empty keeps keys in
	// memory only.
	Path string
	// Rand is the source of keys, key IDs and nonces; nil means
	// crypto/rand. Tests inject a fixed source.
	Rand io.Reader
	// Logger receives the audit log; nil discards it.
	Logger *slog.Logger
	// Now is the clock for key creation times; nil means time.Now.
	Now func() time.Time
}

// HSM is the software module. It is safe for concurrent use.
type HSM struct {
	lmk  keys.Key
	path string
	rnd  io.Reader
	log  *slog.Logger
	now  func() time.Time

	mu     sync.RWMutex
	byID   map[string]*entry
	byName map[string]string // label -> ID
	closed bool
}

// entry is one key inside the module. Entries are never modified once
// made, except aead, set at most once through an atomic pointer, and the
// cache of an issuer master key's derived card keys, under its own lock;
// so operations use them outside the module's lock.
type entry struct {
	h   hsm.Handle
	key keys.Key         // a symmetric key; zero for a key pair
	ec  *ecdh.PrivateKey // a P-256 key pair (ECKeys); nil for a symmetric key
	rec record           // the persisted form

	// aead is the AES-GCM of a data-encryption key, made at its first
	// use (dataAEAD); crypto/aes's GCM keeps no state between calls, so
	// concurrent Seal and Open are safe.
	aead atomic.Pointer[cipher.AEAD]

	// mks are the ICC master keys derived from an issuer master key
	// (iccMK).
	mks derivedKeys
}

var _ hsm.HSM = (*HSM)(nil)

// Open starts a module: it checks the LMK and loads the keystore file when
// cfg.Path names one that exists (ErrLMK when it was made under another
// LMK), or creates it.
func Open(cfg Config) (*HSM, error) {
	if cfg.LMK.Alg() != keys.AES || cfg.LMK.Len() != 32 {
		return nil, fmt.Errorf("%w: want an AES-256 key, got %v", ErrLMK, cfg.LMK)
	}
	if err := cfg.LMK.CheckWeak(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	s := &HSM{
		lmk:    cfg.LMK,
		path:   cfg.Path,
		rnd:    &lockedReader{r: cfg.Rand},
		log:    cfg.Logger,
		now:    cfg.Now,
		byID:   map[string]*entry{},
		byName: map[string]string{},
	}
	if cfg.Rand == nil {
		s.rnd = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.path == "" {
		return s, nil
	}
	data, err := readFile(s.path)
	switch {
	case errors.Is(err, errNotExist):
		if err := s.saveLocked(); err != nil {
			return nil, err
		}
		s.log.Info("hsm keystore created", slog.String("path", s.path), slog.String("lmk_kcv", s.lmk.KCVHex()))
		return s, nil
	case err != nil:
		return nil, err
	}
	entries, err := decodeStore(data, s.lmk)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		s.byID[e.h.ID] = e
		s.byName[e.h.Label] = e.h.ID
	}
	s.log.Info("hsm keystore loaded", slog.String("path", s.path), slog.Int("keys", len(entries)),
		slog.String("lmk_kcv", s.lmk.KCVHex()))
	return s, nil
}

// lockedReader serialises reads from a source that may not be safe for
// concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// String describes the module by its key count and LMK check value.
func (s *HSM) String() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fmt.Sprintf("soft HSM (%d keys, LMK KCV %s)", len(s.byID), s.lmk.KCVHex())
}

// GoString is String, so that %#v shows no internals.
func (s *HSM) GoString() string { return s.String() }

// Close forgets every key held in memory; later calls fail with
// hsm.ErrClosed. The keystore file stays.
func (s *HSM) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.byID, s.byName = nil, nil
	return nil
}

func checkLabel(label string) error {
	if label == "" || len(label) > MaxLabel {
		return fmt.Errorf("%w: want 1 to %d bytes, got %d", ErrLabel, MaxLabel, len(label))
	}
	for _, r := range label {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: control or invalid character", ErrLabel)
		}
	}
	return nil
}

// use resolves h for op and checks that its usage is one of want. On a
// usage error the entry is returned too, so that the audit log names the
// key that was refused.
func (s *HSM) use(op string, h hsm.Handle, want ...hsm.Usage) (*entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, hsm.ErrClosed
	}
	e, ok := s.byID[h.ID]
	if !ok {
		return nil, fmt.Errorf("%w: %s: no key with ID %q (label %q)", hsm.ErrUnknownKey, op, h.ID, h.Label)
	}
	if len(want) > 0 && !slices.Contains(want, e.h.Usage) {
		return e, &hsm.UsageError{Op: op, Label: e.h.Label, Have: e.h.Usage, Want: want}
	}
	return e, nil
}

// newID draws an opaque key ID.
func (s *HSM) newID() (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(s.rnd, b); err != nil {
		return "", fmt.Errorf("soft: random source: %w", err)
	}
	return "k" + hex.EncodeToString(b), nil
}

// add stores a new key under label: it checks the usage, algorithm,
// length and weakness, seals the key under the LMK and saves the keystore.
func (s *HSM) add(label string, usage hsm.Usage, k keys.Key) (hsm.Handle, error) {
	if err := checkLabel(label); err != nil {
		return hsm.Handle{}, err
	}
	if !usage.Valid() {
		return hsm.Handle{}, fmt.Errorf("%w: unknown usage %q", hsm.ErrUsage, string(usage))
	}
	if !usage.Storable() {
		return hsm.Handle{}, fmt.Errorf("%w: %s keys are not stored in the module", hsm.ErrUsage, usage)
	}
	if err := usage.Admits(k.Alg(), k.Len()); err != nil {
		return hsm.Handle{}, err
	}
	if err := k.CheckWeak(); err != nil {
		return hsm.Handle{}, err
	}
	k = k.WithOddParity() // DES ignores parity bits; the KCV is unchanged
	id, err := s.newID()
	if err != nil {
		return hsm.Handle{}, err
	}
	h := hsm.Handle{ID: id, Label: label, Usage: usage, Alg: k.Alg(), Len: k.Len(), KCV: k.KCVHex()}
	rec, err := seal(s.lmk, h, k, s.now().UTC(), s.rnd)
	if err != nil {
		return hsm.Handle{}, err
	}
	if err := s.insert(&entry{h: h, key: k, rec: rec}); err != nil {
		return hsm.Handle{}, err
	}
	return h, nil
}

// insert stores a new entry whose label and ID are still free and saves
// the keystore.
func (s *HSM) insert(e *entry) error {
	id, label := e.h.ID, e.h.Label
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return hsm.ErrClosed
	}
	if _, taken := s.byName[label]; taken {
		return fmt.Errorf("%w: %q", hsm.ErrExists, label)
	}
	if _, taken := s.byID[id]; taken {
		return fmt.Errorf("soft: key ID collision, try again")
	}
	s.byID[id], s.byName[label] = e, id
	if err := s.saveLocked(); err != nil {
		delete(s.byID, id)
		delete(s.byName, label)
		return err
	}
	return nil
}

// GenerateKey draws a new key inside the module (R-G5a): odd parity for
// TDES, weak keys drawn again.
func (s *HSM) GenerateKey(label string, usage hsm.Usage, alg keys.Alg, n int) (hsm.Handle, error) {
	h, err := func() (hsm.Handle, error) {
		if err := usage.Admits(alg, n); err != nil {
			return hsm.Handle{}, err
		}
		k, err := keys.Generate(alg, n, s.rnd)
		if err != nil {
			return hsm.Handle{}, fmt.Errorf("soft: generate: %w", err)
		}
		return s.add(label, usage, k)
	}()
	s.audit("generate-key", err, newKeyAttrs(label, usage, h)...)
	return h, err
}

// ImportKey stores a clear key (a key ceremony's result). Weak keys are
// refused (R-G5a).
func (s *HSM) ImportKey(label string, usage hsm.Usage, k keys.Key) (hsm.Handle, error) {
	h, err := s.add(label, usage, k)
	s.audit("import-key", err, newKeyAttrs(label, usage, h)...)
	return h, err
}

// ImportWrappedKey opens a key block under the KEK and stores the key; the
// block's usage must be usage (R-G5e).
func (s *HSM) ImportWrappedKey(label string, usage hsm.Usage, kek hsm.Handle, block []byte) (hsm.Handle, error) {
	const op = "import-wrapped-key"
	var ke *entry
	h, err := func() (hsm.Handle, error) {
		var err error
		if ke, err = s.use(op, kek, hsm.UsageKEK); err != nil {
			return hsm.Handle{}, err
		}
		b, err := keyblock.Open(ke.key, block)
		if err != nil {
			return hsm.Handle{}, err
		}
		if b.Usage != usage {
			return hsm.Handle{}, fmt.Errorf("%w: %s: the block holds a %s key, %s was asked for", hsm.ErrUsage, op, b.Usage, usage)
		}
		return s.add(label, usage, b.Key)
	}()
	s.audit(op, err, append(newKeyAttrs(label, usage, h), entryAttr("kek", ke))...)
	return h, err
}

// ExportKey wraps a key under a KEK as a key block; a key is never
// exported in clear, nor under itself.
func (s *HSM) ExportKey(key, kek hsm.Handle) ([]byte, error) {
	const op = "export-key"
	var ke, kk *entry
	b, err := func() ([]byte, error) {
		var err error
		if kk, err = s.use(op, key); err != nil {
			return nil, err
		}
		if ke, err = s.use(op, kek, hsm.UsageKEK); err != nil {
			return nil, err
		}
		if kk == ke {
			return nil, fmt.Errorf("%w: %s: a key cannot be wrapped under itself", hsm.ErrInput, op)
		}
		if kk.ec != nil {
			return nil, fmt.Errorf("%w: %s: the key pair %q never leaves the module", hsm.ErrUsage, op, kk.h.Label)
		}
		return keyblock.Wrap(ke.key, kk.h.Usage, 0, kk.key)
	}()
	s.audit(op, err, entryAttr("key", kk), entryAttr("kek", ke))
	return b, err
}

// KeyInfo returns the module's description of the key h names.
func (s *HSM) KeyInfo(h hsm.Handle) (hsm.Handle, error) {
	e, err := s.use("key-info", h)
	s.debug("key-info", err, entryAttr("key", e))
	if err != nil {
		return hsm.Handle{}, err
	}
	return e.h, nil
}

// Lookup finds a key by label.
func (s *HSM) Lookup(label string) (hsm.Handle, error) {
	h, err := func() (hsm.Handle, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return hsm.Handle{}, hsm.ErrClosed
		}
		id, ok := s.byName[label]
		if !ok {
			return hsm.Handle{}, fmt.Errorf("%w: no key labelled %q", hsm.ErrUnknownKey, label)
		}
		return s.byID[id].h, nil
	}()
	s.debug("lookup", err, slog.String("label", label), keyAttr("key", h))
	return h, err
}

// List returns every key, sorted by label.
func (s *HSM) List() ([]hsm.Handle, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, hsm.ErrClosed
	}
	out := make([]hsm.Handle, 0, len(s.byID))
	for _, e := range s.byID {
		out = append(out, e.h)
	}
	slices.SortFunc(out, func(a, b hsm.Handle) int { return strings.Compare(a.Label, b.Label) })
	s.debug("list", nil, slog.Int("keys", len(out)))
	return out, nil
}

// DeleteKey retires a key for good and saves the keystore (R-G5c).
func (s *HSM) DeleteKey(h hsm.Handle) error {
	var gone *entry
	err := func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return hsm.ErrClosed
		}
		e, ok := s.byID[h.ID]
		if !ok {
			return fmt.Errorf("%w: delete-key: no key with ID %q (label %q)", hsm.ErrUnknownKey, h.ID, h.Label)
		}
		delete(s.byID, h.ID)
		delete(s.byName, e.h.Label)
		if err := s.saveLocked(); err != nil {
			s.byID[h.ID], s.byName[e.h.Label] = e, h.ID
			return err
		}
		gone = e
		return nil
	}()
	s.audit("delete-key", err, entryAttr("key", gone))
	return err
}
