package hceapp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tapsim/tapsim/provision/wire"
)

// ErrStorage reports phone storage (Save) that cannot be restored: not
// JSON of this version, another phone's, or keys that do not unwrap with
// the stored device key. It never carries key material.
var ErrStorage = errors.New("hceapp: phone storage")

// storageVersion is the version of the storage format Save writes.
const storageVersion = 1

// MaxStorage bounds the phone storage Restore reads.
const MaxStorage = 1 << 20

// savedApp is the app's storage: the device keys (the phone's keystore),
// the platform's public keys, and the cards sealed under a key derived
// from the device's encryption key, so that no account number is in clear
// in the file.
type savedApp struct {
	Version  int             `json:"version"`
	DeviceID string          `json:"deviceId"`
	Device   string          `json:"deviceKeys"` // party key file (PEM) of the device keys
	Platform wire.PublicKeys `json:"platform"`   // the app's trust list: the platform's public keys
	Cards    []byte          `json:"cards"`      // AES-256-GCM: nonce || ciphertext of []savedCard
}

// savedCard is one card: its emulated data, the keys not yet spent as
// the platform sent them (wrapped for the device key, never in clear),
// its counter and the keys spent since the last replenishment.
type savedCard struct {
	Ref     string          `json:"ref"`
	Profile wire.HCEProfile `json:"profile"`
	Keys    []wire.HCEKey   `json:"keys,omitempty"`
	SUKs    []wire.HCESUK   `json:"suks,omitempty"`
	ATC     uint16          `json:"atc"`
	Spent   []string        `json:"spent,omitempty"`
}

// Save is the app's storage as the phone keeps it between runs: the
// device's private keys (a party key file) and, for each card, the
// emulated data and the unspent keys still wrapped for the device key as
// the platform sent them. It holds private keys: keep it in a file of mode
// 0600. Restore reads it back.
func (a *App) Save() ([]byte, error) {
	pemKeys, err := a.me.MarshalPEM()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	s := savedApp{Version: storageVersion, DeviceID: a.cfg.DeviceID, Device: string(pemKeys), Platform: a.cfg.Platform}
	a.mu.Lock()
	refs := make([]string, 0, len(a.cards))
	for ref := range a.cards {
		refs = append(refs, ref)
	}
	cards := make([]*Card, 0, len(refs))
	slices.Sort(refs)
	for _, ref := range refs {
		cards = append(cards, a.cards[ref])
	}
	a.mu.Unlock()
	saved := make([]savedCard, 0, len(cards))
	for _, c := range cards {
		saved = append(saved, c.saved())
	}
	plain, err := json.Marshal(saved)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	aead, err := storageAEAD(pemKeys, a.cfg.DeviceID)
	if err != nil {
		return nil, err
	}
	rnd := a.cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("%w: random source: %w", ErrStorage, err)
	}
	s.Cards = aead.Seal(nonce, nonce, plain, []byte(a.cfg.DeviceID))
	clear(plain)
	return json.MarshalIndent(s, "", "  ")
}

// storageAEAD is the cipher of the cards in the phone's storage: AES-256-GCM
// under HKDF-SHA-256 of the device's encryption private key (MODEL: the
// phone's keystore would hold such a key; here the device keys are in the
// same file).
func storageAEAD(pemKeys []byte, deviceID string) (cipher.AEAD, error) {
	var enc *ecdsa.PrivateKey
	rest := pemKeys
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Headers[wire.PEMHeaderUse] != wire.UseEnc {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: device keys", ErrStorage)
		}
		var ok bool
		if enc, ok = k.(*ecdsa.PrivateKey); !ok {
			return nil, fmt.Errorf("%w: device keys", ErrStorage)
		}
	}
	if enc == nil {
		return nil, fmt.Errorf("%w: device keys", ErrStorage)
	}
	secret, err := enc.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: device keys", ErrStorage)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "tapsim hceapp storage v1 "+deviceID, 32)
	clear(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	blk, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return cipher.NewGCM(blk)
}

func (c *Card) saved() savedCard {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := savedCard{Ref: c.ref, Profile: c.profile, ATC: c.atc, Spent: slices.Clone(c.spend)}
	for _, k := range c.keys {
		out.Keys = append(out.Keys, k.w)
	}
	for _, k := range c.suks {
		out.SUKs = append(out.SUKs, k.w)
	}
	return out
}

// Restore is the app of cfg brought back from its storage (Save): the
// same device keys, its cards with the keys they had not spent. cfg's
// DeviceID, when set, must be the stored one. Every stored key is
// unwrapped with the device key and checked against its check value; a
// storage that does not check is refused whole (ErrStorage).
func Restore(cfg Config, data []byte) (*App, error) {
	if len(data) > MaxStorage {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrStorage, MaxStorage)
	}
	var s savedApp
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: not the app's storage", ErrStorage)
	}
	if s.Version != storageVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrStorage, s.Version, storageVersion)
	}
	if s.DeviceID == "" || (cfg.DeviceID != "" && cfg.DeviceID != s.DeviceID) {
		return nil, fmt.Errorf("%w: the storage is another phone's", ErrStorage)
	}
	me, err := wire.ParsePartyPEM([]byte(s.Device))
	if err != nil || me.Name() != "hce-"+s.DeviceID {
		return nil, fmt.Errorf("%w: device keys", ErrStorage)
	}
	cfg.DeviceID = s.DeviceID
	if cfg.Platform.Sign == nil {
		cfg.Platform = s.Platform
	}
	a, err := newApp(cfg, me)
	if err != nil {
		return nil, err
	}
	aead, err := storageAEAD([]byte(s.Device), s.DeviceID)
	if err != nil {
		return nil, err
	}
	if len(s.Cards) < aead.NonceSize() {
		return nil, fmt.Errorf("%w: no cards", ErrStorage)
	}
	plain, err := aead.Open(nil, s.Cards[:aead.NonceSize()], s.Cards[aead.NonceSize():], []byte(s.DeviceID))
	if err != nil {
		return nil, fmt.Errorf("%w: the cards do not open with the device key", ErrStorage)
	}
	var saved []savedCard
	err = json.Unmarshal(plain, &saved)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: cards", ErrStorage)
	}
	for _, sc := range saved {
		if sc.Ref == "" {
			return nil, fmt.Errorf("%w: a card without a reference", ErrStorage)
		}
		if _, dup := a.cards[sc.Ref]; dup {
			return nil, fmt.Errorf("%w: card %s twice", ErrStorage, sc.Ref)
		}
		c, err := newCard(sc.Ref, s.DeviceID, sc.Profile)
		if err != nil {
			return nil, fmt.Errorf("%w: card %s: %w", ErrStorage, sc.Ref, err)
		}
		ks, err := a.unwrap(sc.Keys)
		if err != nil {
			return nil, fmt.Errorf("%w: card %s: %w", ErrStorage, sc.Ref, err)
		}
		ss, err := a.unwrapSUKs(sc.SUKs)
		if err != nil {
			return nil, fmt.Errorf("%w: card %s: %w", ErrStorage, sc.Ref, err)
		}
		if sc.Profile.CVN == wire.HCECVNMCCloud && len(ks) > 0 || sc.Profile.CVN == wire.HCECVNVisaCloud && len(ss) > 0 {
			return nil, fmt.Errorf("%w: card %s: keys of the other cryptogram version", ErrStorage, sc.Ref)
		}
		c.add(ks, ss)
		c.atc, c.spend = sc.ATC, slices.Clone(sc.Spent)
		a.cards[sc.Ref] = c
	}
	return a, nil
}
