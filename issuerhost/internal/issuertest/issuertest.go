// Package issuertest builds a sample issuer for tests: a store in a
// temporary directory, a software security module with the sample
// network's test keys, the sample cards and tokens, and card simulators
// that compute cryptograms and PIN blocks the way the cards and the
// acquirer do. The sample HCE phones are cloud cards: their keys are in
// the issuer's cloud key ledger (Ledger), checked by Cloud.
package issuertest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// Test keys of the sample network (test only).
const (
	LMKHex  = "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB"
	ZPKHex  = "BFE3DAFE23CB9B570EF4238616F12FD9"
	ZAKHex  = "649783F2378020FEC7B95EFB52AE7010"
	PVKHex  = "B34552BC6B5EAE9B793B3EEFE96EEA4C"
	KEKHex  = "2AE0E02C3B68752AC86E4649B334AEEC"
	IMKVisa = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
	IMKMC   = "1F2E3D4C5B6A79880102030405060708"
	IMKTok  = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
	// IMKTokUMD is the second (UMD) issuer master key of the mc-cloud
	// token, labelled "issuer/imk/token" + authz.UMDKeySuffix.
	IMKTokUMD = "5198E0086E1AA2B96D024958209E3213"
	PIN       = "1234"
	// MobilePIN is the mobile PIN of the mc-cloud HCE phone.
	MobilePIN = "2468"
	// WrongMobilePIN is a mobile PIN that is not the phone's.
	WrongMobilePIN = "1357"
)

// CloudSalt is the salt the mc-cloud phone masks its single-use keys
// with, and HCEKeys the number of keys each sample HCE phone holds.
var CloudSalt = []byte("0123456789abcdef")

const HCEKeys = 5

// Start is the fixed clock's start: 15 March 2026, 10:00 UTC.
var Start = time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set sets the clock.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Card is a card or phone credential as the issuer knows it, with the
// ICC master key the card holds, to compute its cryptograms.
type Card struct {
	Name     string
	PAN      string
	PSN      string
	Expiry   string          // YYMM
	CVN      *cryptogram.CVN // nil for a cloud card
	MK       keys.Key
	DeviceID []byte // device binding in 9F10 (the phone of a cloud card), nil for none
	ATC      uint16 // last ATC used
	// Cloud is the cloud CVN (emvcloud.CVNVisaCloud, CVNMCCloud) of an
	// HCE phone, 0 for a card that holds its own keys. MK is then the
	// visa-cloud master key or the mc-cloud MD master key; UMD is the
	// mc-cloud UMD master key.
	Cloud byte
	UMD   keys.Key
}

// scheme is the card's payment scheme.
func (c *Card) scheme() cryptogram.Scheme {
	switch c.Cloud {
	case emvcloud.CVNVisaCloud:
		return cryptogram.SchemeVisa
	case emvcloud.CVNMCCloud:
		return cryptogram.SchemeMastercard
	}
	return c.CVN.Scheme
}

// Net is a sample issuer.
type Net struct {
	T     testing.TB
	Dir   string
	DB    *store.DB
	HSM   *soft.HSM
	Clock *Clock
	Keys  issuerhost.Keys
	Seed  issuerhost.Seed
	Cards map[string]*Card
	// Ledger is the issuer's cloud key ledger, kept in DB, and Cloud the
	// verifier of cloud cryptograms over it (authz.Config.Cloud).
	Ledger *cloud.Ledger
	Cloud  *cloud.Verifier

	stan int
}

// Names of the sample credentials.
const (
	VisaPlastic = "visa-plastic" // Visa CVN 18 plastic, PSN 01
	Visa10      = "visa-plastic-cvn10"
	Visa22      = "visa-plastic-cvn22"
	MCPlastic   = "mc-plastic" // Mastercard CVN 16 plastic
	MC21        = "mc-plastic-cvn21"
	VisaSE      = "visa-se-phone" // SE phone, card PAN, CVN 18
	VisaExpired = "visa-expired"
	HCE         = "hce-phone"    // HCE token, visa-cloud, device-bound, keys for ATCs 1..5
	HCEMC       = "hce-phone-mc" // HCE token, mc-cloud, device-bound, keys for ATCs 1..5
	Wallet      = "wallet-phone" // wallet token, CVN 22
)

// Device IDs of the sample HCE phones.
var (
	HCEDevice   = mustHex("3520990017614823")
	HCEMCDevice = mustHex("3520990017614831")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// New builds the sample issuer in t.TempDir().
func New(t testing.TB) *Net {
	t.Helper()
	dir := t.TempDir()
	db, err := store.OpenDir(dir, storetest.Options())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	h := NewHSM(t, "")
	n := &Net{T: t, Dir: dir, DB: db, HSM: h, Clock: &Clock{t: Start}, Keys: issuerhost.DefaultKeys(), Cards: map[string]*Card{}}
	n.Seed = SampleSeed(t, h)
	n.Seed.Created = Start
	require.NoError(t, issuerhost.Init(context.Background(), db, h, n.Seed))
	n.Cloud = SampleCloud(t, db, h, n.Clock.Now)
	n.Ledger = n.Cloud.Ledger
	n.cards()
	return n
}

// SampleCloud opens the cloud key ledger kept in db and the verifier of
// cloud cryptograms over it, with the keys in h and the clock now. A
// ledger that holds no key yet gets the sample HCE phones' first HCEKeys
// keys, as the cloud platform's first batches.
func SampleCloud(t testing.TB, db *store.DB, h *soft.HSM, now func() time.Time) *cloud.Verifier {
	t.Helper()
	l, err := cloud.OpenLedger(cloud.DBStore{DB: db, Clock: now}, now)
	require.NoError(t, err)
	if len(l.Keys(HCE)) == 0 {
		for atc := uint16(1); atc <= HCEKeys; atc++ {
			require.NoError(t, l.IssueLUK(HCE, hex.EncodeToString(HCEDevice), KeyIndex(t, atc), 1))
			require.NoError(t, l.IssueSUK(HCEMC, hex.EncodeToString(HCEMCDevice), atc))
		}
	}
	return &cloud.Verifier{HSM: h, Ledger: l, Now: now}
}

// KeyIndex is the visa-cloud key index of the key the sample phone uses
// at ATC atc: key counter (atc-1)%100 of the hour KeyHour(atc).
func KeyIndex(t testing.TB, atc uint16) emvcloud.KeyIndex {
	t.Helper()
	ki, err := emvcloud.NewKeyIndex(KeyHour(atc), (int(atc)-1)%100)
	require.NoError(t, err)
	return ki
}

// KeyHour is the hour the platform issued the visa-cloud key of ATC atc
// in: a hundred keys an hour from Start (ATCs 1..100 in Start's hour).
func KeyHour(atc uint16) time.Time {
	return Start.Add(time.Duration((int(atc)-1)/100) * time.Hour)
}

// IssueKey records in the ledger that cloud card name's phone holds the
// key of its ATC atc, as the cloud platform does when it sends a batch.
func (n *Net) IssueKey(name string, atc uint16) {
	n.T.Helper()
	c := n.Cards[name]
	require.NotNil(n.T, c, name)
	dev := hex.EncodeToString(c.DeviceID)
	switch c.Cloud {
	case emvcloud.CVNVisaCloud:
		require.NoError(n.T, n.Ledger.IssueLUK(name, dev, KeyIndex(n.T, atc), 1))
	case emvcloud.CVNMCCloud:
		require.NoError(n.T, n.Ledger.IssueSUK(name, dev, atc))
	default:
		n.T.Fatalf("%s is not a cloud card", name)
	}
}

// NewHSM opens a soft security module with the LMK of the sample network
// and a deterministic random source; path is its keystore ("" in memory).
func NewHSM(t testing.TB, path string) *soft.HSM {
	t.Helper()
	h, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, LMKHex), Path: path, Rand: &counterRand{}})
	require.NoError(t, err)
	return h
}

// counterRand is a deterministic, never-repeating byte source.
type counterRand struct {
	mu sync.Mutex
	n  uint64
}

func (c *counterRand) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		c.n++
		p[i] = byte(c.n*0x9E3779B97F4A7C15>>56) ^ byte(c.n)
	}
	return len(p), nil
}

// SeedKeys are the sample issuer's keys in clear (test only).
func SeedKeys() []issuerhost.SeedKey {
	k := issuerhost.DefaultKeys()
	return []issuerhost.SeedKey{
		{Label: k.ZPK, Usage: hsm.UsageZPK, Alg: "TDES", Hex: ZPKHex},
		{Label: k.ZAK, Usage: hsm.UsageZAK, Alg: "TDES", Hex: ZAKHex},
		{Label: k.PVK, Usage: hsm.UsagePVK, Alg: "TDES", Hex: PVKHex},
		{Label: k.KEK, Usage: hsm.UsageKEK, Alg: "AES", Hex: KEKHex},
		{Label: "issuer/imk/visa", Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: IMKVisa},
		{Label: "issuer/imk/mc", Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: IMKMC},
		{Label: "issuer/imk/token", Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: IMKTok},
		{Label: "issuer/imk/token" + authz.UMDKeySuffix, Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: IMKTokUMD},
		issuerhost.SampleCVK(),
	}
}

// SampleSeed is the sample issuer's data; the PVVs (PIN 1234) are made
// with the PVK in h, imported first.
func SampleSeed(t testing.TB, h *soft.HSM) issuerhost.Seed {
	t.Helper()
	for _, k := range SeedKeys() {
		kk, err := keys.ParseHex(mustAlg(k.Alg), k.Hex)
		require.NoError(t, err)
		_, err = h.ImportKey(k.Label, k.Usage, kk)
		require.NoError(t, err)
	}
	pvk, err := h.Lookup(issuerhost.DefaultKeys().PVK)
	require.NoError(t, err)
	pvv := func(p string) string {
		v, err := h.GeneratePVV(pvk, p, PIN, 1)
		require.NoError(t, err)
		return v
	}
	seed := issuerhost.Seed{
		Keys: SeedKeys(),
		Accounts: []issuerhost.SeedAccount{
			{ID: "acct-1", Currency: 901, CreditLimit: 5_000_000},
			{ID: "acct-2", Currency: 901, CreditLimit: 5_000_000, TxnLimit: 2_000_000},
			{ID: "acct-3", Currency: 901, CreditLimit: 1_000_000},
			{ID: "acct-4", Currency: 901, CreditLimit: 5_000_000},
		},
		Cards: []issuerhost.SeedCard{
			{ID: VisaPlastic, PAN: "4761739001010010", PSN: "01", Account: "acct-1", Expiry: "2029-12", CVN: "visa18",
				IMK: "issuer/imk/visa", PVKI: 1, PVV: pvv("4761739001010010"), FormFactor: "plastic"},
			{ID: Visa10, PAN: "4761739001010036", PSN: "00", Account: "acct-1", Expiry: "2028-06", CVN: "visa10",
				IMK: "issuer/imk/visa", PVKI: 1, PVV: pvv("4761739001010036"), FormFactor: "plastic"},
			{ID: Visa22, PAN: "4761739001010028", PSN: "01", Account: "acct-1", Expiry: "2029-12", CVN: "visa22",
				IMK: "issuer/imk/visa", PVKI: 1, PVV: pvv("4761739001010028"), FormFactor: "plastic"},
			{ID: MCPlastic, PAN: "5413330089010012", PSN: "01", Account: "acct-2", Expiry: "2029-12", CVN: "mc16",
				IMK: "issuer/imk/mc", PVKI: 1, PVV: pvv("5413330089010012"), FormFactor: "plastic"},
			{ID: MC21, PAN: "5413330089010046", PSN: "01", Account: "acct-2", Expiry: "2029-12", CVN: "mc21",
				IMK: "issuer/imk/mc", PVKI: 1, PVV: pvv("5413330089010046"), FormFactor: "plastic"},
			{ID: VisaSE, PAN: "4761739001010044", PSN: "01", Account: "acct-3", Expiry: "2029-12", CVN: "visa18",
				IMK: "issuer/imk/visa", PVKI: 1, PVV: pvv("4761739001010044"), FormFactor: "se-phone"},
			{ID: VisaExpired, PAN: "4761739001010077", PSN: "01", Account: "acct-1", Expiry: "2024-06", CVN: "visa18",
				IMK: "issuer/imk/visa", PVKI: 1, PVV: pvv("4761739001010077"), FormFactor: "plastic"},
			{ID: "wallet-funding", PAN: "4761739001010051", Account: "acct-4", Expiry: "2029-12", PVKI: 1,
				PVV: pvv("4761739001010051"), FormFactor: "plastic"},
			{ID: "mc-se-phone", PAN: "5413330089010053", PSN: "01", Account: "acct-4", Expiry: "2029-12", CVN: "mc17",
				IMK: "issuer/imk/mc", PVKI: 1, PVV: pvv("5413330089010053"), FormFactor: "se-phone"},
		},
		Tokens: []issuerhost.SeedToken{
			{ID: HCE, Number: "4895370012340011", Card: VisaSE, Expiry: "2028-12", Domain: "mobile",
				RequestorID: "40010030273", PSN: "00", CVN: authz.CVNVisaCloud, IMK: "issuer/imk/token", PVKI: 1,
				PVV: pvv("4895370012340011"), FormFactor: "hce-phone", DeviceBound: true},
			{ID: HCEMC, Number: "5204740000001234", Card: "mc-se-phone", Expiry: "2028-12", Domain: "mobile",
				RequestorID: "50120834693", PSN: "00", CVN: authz.CVNMCCloud, IMK: "issuer/imk/token", PVKI: 1,
				PVV: pvv("5204740000001234"), FormFactor: "hce-phone", DeviceBound: true},
			{ID: Wallet, Number: "4895370098760017", Card: "wallet-funding", Expiry: "2027-09", Domain: "mobile",
				RequestorID: "40010075001", PSN: "00", CVN: "visa22", IMK: "issuer/imk/token", PVKI: 1,
				PVV: pvv("4895370098760017"), FormFactor: "wallet-phone"},
		},
		Devices: []issuerhost.SeedDevice{
			{ID: "3520990017614823", Token: HCE},
			{ID: "3520990017614831", Token: HCEMC},
		},
	}
	for i := range seed.Cards {
		c := &seed.Cards[i]
		c.Phone, c.Email = issuerhost.SampleContact(c.ID)
		c.IssuerApp = c.FormFactor == "plastic"
	}
	return seed
}

func mustAlg(s string) keys.Alg {
	a, err := keys.ParseAlg(s)
	if err != nil {
		panic(err)
	}
	return a
}

// cards builds the simulators of the seed's chip credentials.
func (n *Net) cards() {
	imks := map[string]string{}
	for _, k := range n.Seed.Keys {
		imks[k.Label] = k.Hex
	}
	add := func(name, p, psn, exp, cvnName, imk string, dev []byte) {
		cvn, err := cryptogram.Lookup(cvnName)
		require.NoError(n.T, err)
		mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, imks[imk]), p, psn)
		require.NoError(n.T, err)
		n.Cards[name] = &Card{Name: name, PAN: p, PSN: psn, Expiry: exp, CVN: cvn, MK: mk, DeviceID: dev}
	}
	for _, c := range n.Seed.Cards {
		if c.CVN != "" {
			add(c.ID, c.PAN, c.PSN, yymm(c.Expiry), c.CVN, c.IMK, nil)
		}
	}
	for _, k := range n.Seed.Tokens {
		var dev []byte
		for _, d := range n.Seed.Devices {
			if d.Token == k.ID {
				dev = mustHex(d.ID)
			}
		}
		if k.CVN != authz.CVNVisaCloud && k.CVN != authz.CVNMCCloud {
			add(k.ID, k.Number, k.PSN, yymm(k.Expiry), k.CVN, k.IMK, dev)
			continue
		}
		c := &Card{Name: k.ID, PAN: k.Number, PSN: k.PSN, Expiry: yymm(k.Expiry), DeviceID: dev, Cloud: emvcloud.CVNVisaCloud}
		var err error
		c.MK, err = cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, imks[k.IMK]), k.Number, k.PSN)
		require.NoError(n.T, err)
		if k.CVN == authz.CVNMCCloud {
			c.Cloud = emvcloud.CVNMCCloud
			c.UMD, err = cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, imks[k.IMK+authz.UMDKeySuffix]), k.Number, k.PSN)
			require.NoError(n.T, err)
		}
		n.Cards[k.ID] = c
	}
}

func yymm(s string) string {
	if len(s) == 7 {
		return s[2:4] + s[5:]
	}
	return s
}

// Tap describes one transaction at the card.
type Tap struct {
	Amount int64
	ATC    uint16 // 0: the card's next ATC
	// CDCVM: the phone verified its holder (a cloud phone: the CDCVM bit
	// of the visa-cloud CVR; the right mobile PIN for mc-cloud, else
	// WrongMobilePIN).
	CDCVM     bool
	Signature bool   // the card asked for a signature
	UN        uint32 // unpredictable number (0: derived from the ATC)
	// NoBinding leaves the device binding out of 9F10; Device replaces it.
	// A cloud card's 9F10 has no device binding: both are ignored.
	NoBinding bool
	Device    []byte
	// AAC makes the cryptogram an AAC (a card's answer to a refund).
	AAC bool
	// Key computes the cryptogram with this session key instead of the
	// master key's; for a cloud phone it replaces the visa-cloud
	// limited-use key or the mc-cloud MD session key.
	Key *keys.Key
	// Refund makes the transaction type (9C) a refund, '20'; Request then
	// sends processing code 200000.
	Refund bool
	// Currency is the transaction currency (5F2A and DE49); 0 is 901.
	Currency int
}

// ICC computes the card's answer for tap and returns DE55 and the ATC
// used. The card's ATC advances when tap.ATC is 0.
func (c *Card) ICC(t testing.TB, tap Tap) ([]byte, uint16) {
	t.Helper()
	atc := tap.ATC
	if atc == 0 {
		c.ATC++
		atc = c.ATC
	} else if atc > c.ATC {
		c.ATC = atc
	}
	un := tap.UN
	if un == 0 {
		un = 0x1A2B0000 | uint32(atc)
	}
	dev := c.DeviceID
	if tap.Device != nil {
		dev = tap.Device
	}
	if tap.NoBinding {
		dev = nil
	}
	var iad []byte
	if c.Cloud == 0 {
		iad = c.iad(tap.CDCVM, tap.AAC, dev)
	}
	tags := cryptogram.Values{
		0x9F02: bcd12(tap.Amount),
		0x9F03: make([]byte, 6),
		0x9F1A: {0x01, 0x58},
		0x95:   make([]byte, 5),
		0x5F2A: {0x09, 0x01},
		0x9A:   {0x26, 0x03, 0x15},
		0x9C:   {0x00},
		0x9F37: {byte(un >> 24), byte(un >> 16), byte(un >> 8), byte(un)},
		0x82:   {0x20, 0x00},
		0x9F36: {byte(atc >> 8), byte(atc)},
		0x9F10: iad,
	}
	if c.scheme() == cryptogram.SchemeMastercard {
		tags[0x82] = []byte{0x19, 0x80}
	}
	if tap.Refund {
		tags[0x9C] = []byte{0x20}
	}
	if tap.Currency != 0 {
		tags[0x5F2A] = bcd12(int64(tap.Currency))[4:]
	}
	var (
		ac  []byte
		err error
	)
	switch {
	case c.Cloud != 0:
		ac, tags[0x9F10] = c.cloudAC(t, tap, atc, tags)
	case tap.Key != nil:
		var data []byte
		data, err = c.CVN.Data(tags)
		require.NoError(t, err)
		ac, err = cryptogram.ComputeAC(*tap.Key, data, c.CVN.Padding)
	default:
		ac, err = c.CVN.GenerateAC(c.MK, tags)
	}
	require.NoError(t, err)
	cid := byte(0x80)
	if tap.AAC {
		cid = 0x00
	}
	list := tlv.List{
		{Tag: 0x9F26, Value: ac},
		{Tag: 0x9F27, Value: []byte{cid}},
	}
	for _, tag := range []tlv.Tag{0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03} {
		list = append(list, tlv.TLV{Tag: tag, Value: tags[uint32(tag)]})
	}
	if c.scheme() == cryptogram.SchemeVisa {
		ctq := []byte{0x20, 0x00}
		if tap.CDCVM {
			ctq[1] |= 0x80
		}
		if tap.Signature {
			ctq[0] |= 0x40
		}
		list = append(list, tlv.TLV{Tag: 0x9F6C, Value: ctq})
	} else {
		res := []byte{0x1F, 0x00, 0x02}
		switch {
		case tap.CDCVM:
			res = []byte{0x01, 0x00, 0x02}
		case tap.Signature:
			res = []byte{0x1E, 0x00, 0x00}
		}
		list = append(list, tlv.TLV{Tag: 0x9F34, Value: res})
	}
	if c.PSN != "" {
		list = append(list, tlv.TLV{Tag: 0x5F34, Value: mustHex(fmt.Sprintf("%02s", c.PSN))})
	}
	b, err := list.Encode()
	require.NoError(t, err)
	return b, atc
}

// cloudCVR is a cloud phone's CVR recording the cryptogram's type (MODEL:
// byte 2, bits 6-5): an ARQC, or an AAC for tap.AAC.
func cloudCVR(tap Tap) [emvcloud.CVRLength]byte {
	var cvr [emvcloud.CVRLength]byte
	if !tap.AAC {
		cvr[1] = 0x20
	}
	return cvr
}

// cloudAC computes a cloud phone's cryptogram over tags at ATC atc and
// returns it with its 9F10: visa-cloud under the limited-use key of the
// ATC (KeyIndex), the CVR's CDCVM bit set when the phone verified its
// holder; mc-cloud the MD cryptogram in 9F10 and the UMD cryptogram
// under the single-use key unlocked by the mobile PIN (WrongMobilePIN
// when the phone did not verify its holder).
func (c *Card) cloudAC(t testing.TB, tap Tap, atc uint16, tags cryptogram.Values) ([]byte, []byte) {
	t.Helper()
	if c.Cloud == emvcloud.CVNVisaCloud {
		cvr := cloudCVR(tap)
		if tap.CDCVM {
			cvr[0] = emvcloud.CVRCDCVM
		}
		ki := KeyIndex(t, atc)
		tags[0x9F10] = emvcloud.VisaIAD(1, cvr, ki)
		luk, err := emvcloud.DeriveLUK(c.MK, 1, ki)
		require.NoError(t, err)
		if tap.Key != nil {
			luk = *tap.Key
		}
		ac, err := emvcloud.GenerateLUKAC(luk, tags)
		require.NoError(t, err)
		return ac, tags[0x9F10]
	}
	tags[0x9F10] = emvcloud.MCIAD(1, cloudCVR(tap), [emvcloud.MDLength]byte{})
	skMD, skUMD, err := emvcloud.SessionKeys(c.MK, c.UMD, atc)
	require.NoError(t, err)
	suk, err := emvcloud.MakeSUK(skUMD, MobilePIN, CloudSalt, c.Name)
	require.NoError(t, err)
	entered := WrongMobilePIN
	if tap.CDCVM {
		entered = MobilePIN
	}
	umd, err := emvcloud.UnlockSUK(suk, entered, CloudSalt, c.Name)
	require.NoError(t, err)
	if tap.Key != nil {
		skMD = *tap.Key
	}
	ac, iad, err := emvcloud.GenerateMC(skMD, umd, tags)
	require.NoError(t, err)
	return ac, iad
}

// iad builds 9F10 in the CVN's layout, with the CDCVM flag and device
// binding as the sample cards set them.
func (c *Card) iad(cdcvm, aac bool, dev []byte) []byte {
	ac := byte(0x20) // the CVR's cryptogram type: ARQC, or AAC
	if aac {
		ac = 0x00
	}
	binding := func() []byte {
		b := make([]byte, 9)
		b[0] = 0xD1
		copy(b[1:], dev)
		return b
	}
	switch {
	case c.CVN.Scheme == cryptogram.SchemeVisa && c.CVN.ID == 0x22:
		out := make([]byte, 32)
		out[0], out[1], out[2], out[3] = 0x1F, 0x22, 0x01, ac
		if cdcvm {
			out[5] |= 0x08
		}
		if dev != nil {
			copy(out[8:], binding())
		}
		return out
	case c.CVN.Scheme == cryptogram.SchemeVisa:
		out := []byte{0x06, 0x01, c.CVN.ID, 0x03, ac, 0x00, 0x00}
		if cdcvm {
			out[6] |= 0x01
		}
		if dev != nil {
			idd := make([]byte, 15)
			copy(idd, binding())
			out = append(append(out, 0x0F), idd...)
		}
		return out
	}
	cvr := []byte{ac, 0, 0, 0, 0, 0}
	if cdcvm {
		cvr[5] |= 0x01
	}
	out := append([]byte{0x01, c.CVN.ID}, cvr...)
	out = append(out, make([]byte, 10)...)
	if dev != nil {
		out = append(out, binding()...)
	}
	return out
}

// bcd12 codes an amount as n12 (6 bytes BCD).
func bcd12(v int64) []byte {
	s := fmt.Sprintf("%012d", v)
	out := make([]byte, 6)
	for i := range out {
		out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return out
}

// PINBlock is the ISO 9564 format 0 block of p for the PAN, enciphered
// under the zone PIN key, as the acquirer forwards it.
func PINBlock(t testing.TB, pinDigits, p string) []byte {
	t.Helper()
	clear, err := pin.Encode(pin.Format0, pinDigits, p, nil)
	require.NoError(t, err)
	out, err := pin.Encrypt(keys.MustHex(keys.TDES, ZPKHex), clear)
	require.NoError(t, err)
	return out
}

// Request builds the authorisation request of a tap of card name.
func (n *Net) Request(name string, tap Tap) authz.Request {
	n.T.Helper()
	c := n.Cards[name]
	require.NotNil(n.T, c, name)
	icc, _ := c.ICC(n.T, tap)
	n.stan++
	proc, cur := "000000", 901
	if tap.Refund {
		proc = "200000"
	}
	if tap.Currency != 0 {
		cur = tap.Currency
	}
	return authz.Request{
		MTI: "0100", PAN: c.PAN, Expiry: c.Expiry, PSN: c.PSN, ProcessingCode: proc, Amount: tap.Amount, Currency: cur,
		EntryMode: "071", TransmissionTime: n.Clock.Now().Format("0102150405"), STAN: fmt.Sprintf("%06d", n.stan),
		RRN: fmt.Sprintf("606810%06d", n.stan), AcquirerID: "12345", TerminalID: "T0000001", MerchantID: "M00000000000001",
		ICC: icc,
	}
}

// NextSTAN draws the next STAN of the test acquirer.
func (n *Net) NextSTAN() string { n.stan++; return fmt.Sprintf("%06d", n.stan) }

// ICCValue returns the value of tag in DE55 data.
func ICCValue(t testing.TB, icc []byte, tag tlv.Tag) []byte {
	t.Helper()
	l, err := tlv.Decode(icc)
	require.NoError(t, err)
	o, ok := l.Find(tag)
	require.True(t, ok, "tag %v", tag)
	return bytes.Clone(o.Value)
}
