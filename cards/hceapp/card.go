package hceapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/wire"
)

// ErrNoKeys reports a tap with every limited-use key spent: the app must
// replenish first.
var ErrNoKeys = errors.New("hceapp: no limited-use key left")

// AIP is the Application Interchange Profile the card reports (82): CDA,
// cardholder verification, terminal risk management, issuer
// authentication supported; as a contactless phone.
var AIP = []byte{0x19, 0x80}

// lukEntry is one limited-use key on the phone.
type lukEntry struct {
	ki  cloud.KeyIndex
	luk keys.Key
	w   wire.HCEKey // as the platform sent it: wrapped for the device
}

// sukEntry is one mc-cloud key pair on the phone.
type sukEntry struct {
	atc     uint16
	md, suk keys.Key
	w       wire.HCESUK // as the platform sent it: wrapped for the device
}

// Verification is how the cardholder was verified on the phone for one
// payment (R-S2e).
type Verification struct {
	// CDCVM is whether the phone verified the cardholder (passcode or
	// biometrics); a visa-cloud card records it in the CVR its
	// cryptogram covers.
	CDCVM bool
	// MobilePIN is the PIN the cardholder typed for an mc-cloud card: it
	// unlocks the SUK. The phone cannot tell a wrong PIN: it makes a
	// cryptogram the issuer refuses. Never kept.
	MobilePIN string
}

// Card is a card on the phone: the emulated personalisation data and the
// limited-use keys not yet spent. It is safe for concurrent use.
type Card struct {
	ref, device string
	profile     wire.HCEProfile

	mu    sync.Mutex
	keys  []lukEntry
	suks  []sukEntry
	atc   uint16
	spend []string
}

func newCard(ref, device string, p wire.HCEProfile) (*Card, error) {
	if p.CVN != wire.HCECVNVisaCloud && p.CVN != wire.HCECVNMCCloud {
		return nil, fmt.Errorf("%w: cryptogram version %q is not supported", ErrBatch, p.CVN)
	}
	if !pan.LuhnValid(p.AccountNumber) {
		return nil, fmt.Errorf("%w: account number", ErrBatch)
	}
	return &Card{ref: ref, device: device, profile: p}, nil
}

// Ref is the card account's reference.
func (c *Card) Ref() string { return c.ref }

// Profile is the emulated personalisation data.
func (c *Card) Profile() wire.HCEProfile { return c.profile }

// String names the card with its account number masked.
func (c *Card) String() string { return "hce card " + c.ref + " " + pan.Mask(c.profile.AccountNumber) }

func (c *Card) add(ks []lukEntry, ss []sukEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, ks...)
	c.suks = append(c.suks, ss...)
}

// KeysLeft is the number of keys not yet spent.
func (c *Card) KeysLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys) + len(c.suks)
}

// spent returns the IDs of the keys spent (paid with, expired or
// dropped) that the platform has not taken in a transaction log yet.
func (c *Card) spent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.spend...)
}

// reported forgets the spent keys of a log the platform accepted; those
// spent since stay for the next one.
func (c *Card) reported(log []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	done := make(map[string]bool, len(log))
	for _, id := range log {
		done[id] = true
	}
	kept := c.spend[:0]
	for _, id := range c.spend {
		if !done[id] {
			kept = append(kept, id)
		}
	}
	c.spend = kept
}

// Tap is one payment: the ICC data the phone returns to the terminal.
type Tap struct {
	// DeviceID is the phone's device ID.
	DeviceID string
	// KeyIndex is the key the cryptogram was made with.
	KeyIndex string
	// Tags are the terminal's data with the card's: AIP (82), ATC (9F36),
	// IAD (9F10), account number (5A), PSN (5F34), cryptogram (9F26).
	Tags cryptogram.Values
}

// AC is the application cryptogram (9F26).
func (t Tap) AC() []byte { return t.Tags[0x9F26] }

// String names the phone and the key; never the account number or the
// cryptogram.
func (t Tap) String() string { return "tap on " + t.DeviceID + " with key " + t.KeyIndex }

// GoString is String, so that %#v shows no card data either.
func (t Tap) GoString() string { return t.String() }

// Pay makes the cryptogram(s) of one transaction with the oldest key
// left, which is then forgotten (R-S5b). terminal holds the terminal's
// data of the minimum data set (9F02, 9F03, 9F1A, 95, 5F2A, 9A, 9C,
// 9F37); v is how the cardholder was verified on the phone (R-S2e).
func (c *Card) Pay(terminal cryptogram.Values, v Verification) (Tap, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.profile.CVN == wire.HCECVNMCCloud {
		return c.payMC(terminal, v.MobilePIN)
	}
	if len(c.keys) == 0 {
		return Tap{}, ErrNoKeys
	}
	k := c.keys[0]
	c.keys = c.keys[1:]
	c.spend = append(c.spend, k.ki.String())
	c.atc++
	tags := c.tags(terminal, c.atc)
	var cvr [cloud.CVRLength]byte
	cvr[1] = 0xA0 // first AC an ARQC, second not requested (MODEL)
	if v.CDCVM {
		cvr[0] |= cloud.CVRCDCVM
	}
	tags[cryptogram.TagIssuerAppData] = cloud.VisaIAD(c.profile.DKI, cvr, k.ki)
	ac, err := cloud.GenerateLUKAC(k.luk, tags)
	if err != nil {
		return Tap{}, fmt.Errorf("hceapp: cryptogram: %w", err)
	}
	tags[0x9F26] = ac
	return Tap{DeviceID: c.device, KeyIndex: k.ki.String(), Tags: tags}, nil
}

// payMC makes the MD and UMD cryptograms with the oldest key pair; the
// SUK is unlocked with whatever PIN was typed.
func (c *Card) payMC(terminal cryptogram.Values, pin string) (Tap, error) {
	if len(c.suks) == 0 {
		return Tap{}, ErrNoKeys
	}
	k := c.suks[0]
	c.suks = c.suks[1:]
	c.spend = append(c.spend, cloud.SUKID(k.atc))
	tags := c.tags(terminal, k.atc)
	var cvr [cloud.CVRLength]byte
	cvr[1] = 0xA0
	tags[cryptogram.TagIssuerAppData] = cloud.MCIAD(c.profile.DKI, cvr, [cloud.MDLength]byte{})
	umd, err := cloud.UnlockSUK(k.suk, pin, c.profile.Salt, c.profile.TokenRef)
	if err != nil {
		return Tap{}, fmt.Errorf("hceapp: unlock: %w", err)
	}
	ac, iad, err := cloud.GenerateMC(k.md, umd, tags)
	if err != nil {
		return Tap{}, fmt.Errorf("hceapp: cryptogram: %w", err)
	}
	tags[cryptogram.TagIssuerAppData] = iad
	tags[0x9F26] = ac
	return Tap{DeviceID: c.device, KeyIndex: cloud.SUKID(k.atc), Tags: tags}, nil
}

// tags are the terminal's data with the card's AIP, ATC, account number
// and PSN.
func (c *Card) tags(terminal cryptogram.Values, atc uint16) cryptogram.Values {
	tags := cryptogram.Values{}
	for t, v := range terminal {
		tags[t] = append([]byte(nil), v...)
	}
	tags[cryptogram.TagAIP] = append([]byte(nil), AIP...)
	tags[cryptogram.TagATC] = []byte{byte(atc >> 8), byte(atc)}
	tags[0x5A] = bcd(c.profile.AccountNumber)
	tags[0x5F34] = bcd(c.profile.PSN)
	return tags
}

// bcd packs decimal digits, padding an odd count with F.
func bcd(s string) []byte {
	if len(s)%2 == 1 {
		s += "F"
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = nibble(s[2*i])<<4 | nibble(s[2*i+1])
	}
	return out
}

func nibble(c byte) byte {
	if c == 'F' {
		return 0xF
	}
	return c - '0'
}

// unwrapSUKs opens every key pair of an mc-cloud batch.
func (a *App) unwrapSUKs(ks []wire.HCESUK) ([]sukEntry, error) {
	out := make([]sukEntry, 0, len(ks))
	for _, k := range ks {
		md, suk, err := a.me.UnwrapHCESUK(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBatch, err)
		}
		out = append(out, sukEntry{atc: k.ATC, md: md, suk: suk, w: k})
	}
	return out, nil
}

// unwrap opens every key of a batch with the phone's encryption key.
func (a *App) unwrap(ks []wire.HCEKey) ([]lukEntry, error) {
	out := make([]lukEntry, 0, len(ks))
	for _, k := range ks {
		ki, err := cloud.ParseKeyIndex(k.KeyIndex)
		if err != nil {
			return nil, fmt.Errorf("%w: key index: %w", ErrBatch, err)
		}
		luk, err := a.me.UnwrapHCEKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBatch, err)
		}
		out = append(out, lukEntry{ki: ki, luk: luk, w: k})
	}
	return out, nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: answer: %w", wire.ErrMalformed, err)
	}
	return nil
}

// DefaultLowWater is the number of keys left at or below which the app
// asks for more (MODEL).
const DefaultLowWater = 2

// NeedsReplenish reports whether lowWater keys or fewer are left.
func (c *Card) NeedsReplenish(lowWater int) bool { return c.KeysLeft() <= lowWater }

// Prune forgets the visa-cloud keys past ttl at now (their key index
// names the hour they were made) and returns how many it forgot. A
// forgotten key is reported at the next replenishment with the used ones,
// as the platform issued it to this phone.
func (c *Card) Prune(now time.Time, ttl time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.keys[:0]
	n := 0
	for _, k := range c.keys {
		at, err := k.ki.IssuedAt(now)
		if err == nil && now.Before(at.Add(ttl)) {
			kept = append(kept, k)
			continue
		}
		c.spend = append(c.spend, k.ki.String())
		n++
	}
	c.keys = kept
	return n
}

// Copy is a copy of the card as the phone's storage holds it now: the
// emulated data and the keys not yet spent, as a backup restored on the
// phone would bring them back. The issuer refuses a key of the copy that
// the card spent already (R-S5b).
func (c *Card) Copy() *Card {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Card{ref: c.ref, device: c.device, profile: c.profile, keys: append([]lukEntry(nil), c.keys...),
		suks: append([]sukEntry(nil), c.suks...), atc: c.atc}
}

// KeepOldest keeps the n oldest keys not yet spent and forgets the others,
// which count as spent, as if the phone had paid with them elsewhere: a
// card restored in a given state (a profile's keys left). A negative n
// keeps none; n beyond the keys held keeps them all.
func (c *Card) KeepOldest(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = max(n, 0)
	if len(c.keys) > n {
		for _, k := range c.keys[n:] {
			c.spend = append(c.spend, k.ki.String())
		}
		c.keys = c.keys[:n]
	}
	if len(c.suks) > n {
		for _, k := range c.suks[n:] {
			c.spend = append(c.spend, cloud.SUKID(k.atc))
		}
		c.suks = c.suks[:n]
	}
}

// Cards lists the cards on the phone by reference.
func (a *App) Cards() []*Card {
	a.mu.Lock()
	defer a.mu.Unlock()
	refs := make([]string, 0, len(a.cards))
	for ref := range a.cards {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	out := make([]*Card, 0, len(refs))
	for _, ref := range refs {
		out = append(out, a.cards[ref])
	}
	return out
}
