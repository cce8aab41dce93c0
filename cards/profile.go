package cards

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/profiles"
	"github.com/tapsim/tapsim/emv/pan"
)

// ErrProfile reports a profile that cannot be read or built. Errors never
// quote key material from the profile.
var ErrProfile = errors.New("cards: bad profile")

// Form factors of a profile.
const (
	FormPlastic  = "plastic"
	FormSEPhone  = "se-phone"
	FormHCEPhone = "hce-phone"
	FormWallet   = "wallet-phone"
	FormRecorded = "recorded"
)

// Profile describes a virtual card or phone. The YAML layout is:
//
//	name: visa-plastic
//	description: Visa-like qVSDC plastic card, CVN 18, fDDA
//	form_factor: plastic        # plastic | se-phone | hce-phone | wallet-phone | recorded
//	ppse: true                  # false: no PPSE ('6A82' to 2PAY.SYS.DDF01)
//	atr: 3B8880015441505349...  # optional
//	trace: traces/x.trace       # recorded cards: the APDU trace, relative to the profile
//	test_card: true             # certified by tapsim's test CA (default: true, recorded: false)
//	app:                        # or apps: [ ... ] for several applications
//	  scheme: visa              # visa (qVSDC, kernel 3) | mastercard (M/Chip, kernel 2)
//	  aid: A0000000031010
//	  label: VISA CREDIT
//	  priority: 1
//	  pan: "4761739001010010"   # the token PAN for hce-phone and wallet-phone
//	  psn: "01"
//	  expiry: 2029-12           # YYYY-MM
//	  name: TAPSIM/VISA
//	  cvn: visa18               # visa10 visa18 visa22 mc16 mc17 mc20 mc21
//	  imk: 0123...              # issuer master key (TDES, hex): a test key; none for hce-phone
//	  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-a, tamper: none}
//	  ...                       # see AppProfile
//	phone:                      # phones only, see PhoneProfile
//	  passcode: "5791"
//	  storage: phones/x.json    # hce-phone: its app's storage, enrolled with a cloud platform
//	state:                      # initial state, see StateProfile
//	  atc: 0
//
// Unknown keys are errors, so that a misspelt setting does not pass
// silently.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	FormFactor  string `yaml:"form_factor"`
	PPSE        *bool  `yaml:"ppse,omitempty"`
	ATR         Hex    `yaml:"atr,omitempty"`
	Trace       string `yaml:"trace,omitempty"`
	// TestCard says the card's ODA certificates chain to tapsim's test CA
	// (RID F000000001), so a terminal may stand the test CA's key in for
	// the card's scheme RID. Nil means true for the virtual form factors,
	// whose certificates the test CA always makes, and false for a recorded
	// card, which may be a real one certified by a scheme CA.
	TestCard *bool         `yaml:"test_card,omitempty"`
	App      *AppProfile   `yaml:"app,omitempty"`
	Apps     []AppProfile  `yaml:"apps,omitempty"`
	Phone    *PhoneProfile `yaml:"phone,omitempty"`
	State    StateProfile  `yaml:"state,omitempty"`
	// Requirements lists the rule IDs (R-xx) the profile demonstrates.
	Requirements []string `yaml:"requirements,omitempty"`

	// where the profile was read from, to find its trace file
	fsys fs.FS
	dir  string
}

// UsesTestCA reports whether the card's certificates chain to tapsim's
// test CA (see TestCard): a terminal reading it may accept the test CA's
// keys for the card's RID, and must not for any other card.
func (p Profile) UsesTestCA() bool {
	if p.TestCard != nil {
		return *p.TestCard
	}
	return p.FormFactor != FormRecorded
}

// AppProfile is one EMV application of a profile. Hex fields take hex
// digits (spaces allowed); empty fields take the scheme's defaults.
type AppProfile struct {
	// Scheme is visa (qVSDC, kernel C-3) or mastercard (M/Chip, C-2).
	Scheme string `yaml:"scheme"`
	// AID defaults to A0000000031010 (visa) or A0000000041010 (mastercard);
	// Label to "VISA CREDIT" or "MASTERCARD"; Priority (87, 1 to 15) is left
	// out when 0; KernelID (9F2A) defaults to the scheme's; Language (5F2D)
	// to "zhen".
	AID      Hex    `yaml:"aid,omitempty"`
	Label    string `yaml:"label,omitempty"`
	Priority int    `yaml:"priority,omitempty"`
	KernelID int    `yaml:"kernel_id,omitempty"`
	Language string `yaml:"language,omitempty"`
	// PAN (a token PAN on HCE and wallet phones), PSN (5F34, one or two
	// digits, left out when empty), Expiry and Effective (YYYY-MM),
	// cardholder Name (5F20), track 2 service code (default 201), Issuer
	// Country (5F28, default 158) and application Currency (9F42, default
	// 901) as ISO numbers.
	PAN       string `yaml:"pan"`
	PSN       string `yaml:"psn,omitempty"`
	Expiry    string `yaml:"expiry"`
	Effective string `yaml:"effective,omitempty"`
	Name      string `yaml:"name,omitempty"`
	Service   string `yaml:"service_code,omitempty"`
	Country   int    `yaml:"issuer_country,omitempty"`
	Currency  int    `yaml:"currency,omitempty"`
	// CVN names the cryptogram version (emv/cryptogram: visa10, visa18,
	// visa22, mc16, mc17, mc20, mc21); IMK is the issuer master key (TDES,
	// a test key) the ICC master key is derived from by the CVN's option;
	// DKI is the derivation key index in 9F10 (default 1).
	CVN string `yaml:"cvn"`
	IMK Hex    `yaml:"imk"`
	DKI int    `yaml:"dki,omitempty"`
	// MK is the ICC master key itself, for an application personalised
	// with a key delivered to it (a token provisioned to a wallet phone);
	// when set, IMK is not used.
	MK Hex `yaml:"mk,omitempty"`

	// AIP (82), AUC (9F07), the Issuer Action Codes (9F0D, 9F0E, 9F0F),
	// CVM List (8E), PDOL and CDOL1 (as coded on the card) and the Visa
	// CTQ the card starts from (9F6C) override the defaults of emvapp.
	AIP        Hex `yaml:"aip,omitempty"`
	AUC        Hex `yaml:"auc,omitempty"`
	IACDefault Hex `yaml:"iac_default,omitempty"`
	IACDenial  Hex `yaml:"iac_denial,omitempty"`
	IACOnline  Hex `yaml:"iac_online,omitempty"`
	CVMList    Hex `yaml:"cvm_list,omitempty"`
	PDOL       Hex `yaml:"pdol,omitempty"`
	CDOL1      Hex `yaml:"cdol1,omitempty"`
	CTQ        Hex `yaml:"ctq,omitempty"`
	// CVMs lists the terminal CVMs a Visa card asks for when a CVM is
	// required: online_pin, signature.
	CVMs []string `yaml:"cvms,omitempty"`
	// FFI is the Visa Form Factor Indicator (9F6E, 4 bytes).
	FFI Hex `yaml:"form_factor_indicator,omitempty"`
	// CVMLimit is a phone's own amount (minor units) above which it wants
	// CDCVM; 0 follows the terminal.
	CVMLimit int64 `yaml:"cvm_limit,omitempty"`

	// Offline is the card's offline approval policy (none: online only).
	Offline *OfflineProfile `yaml:"offline,omitempty"`
	// ODA gives the card test CA keys for fDDA or CDA (none: no ODA).
	ODA *ODAProfile `yaml:"oda,omitempty"`
	// Token marks the PAN as a payment token.
	Token *TokenProfile `yaml:"token,omitempty"`
	// TornRecovery makes a Mastercard application support C-2 torn
	// transaction recovery (DRDOL 9F51, RECOVER AC).
	TornRecovery bool `yaml:"torn_recovery,omitempty"`
	// BalanceReading makes a Mastercard application support C-2 balance
	// reading (9F5D byte 2 b2, GET DATA 9F50: its offline balance).
	BalanceReading bool `yaml:"balance_reading,omitempty"`
	// CDAOverAAC makes a Mastercard application announce CDA over TC,
	// ARQC and AAC (9F5D byte 2 b1) and sign an AAC asked for with CDA.
	CDAOverAAC bool `yaml:"cda_over_aac,omitempty"`
	// DataStorage gives a Mastercard application C-2 Integrated Data
	// Storage: {ods_card: the slot's DS ODS Card, summary: its 8-byte
	// summary, volatile: true for a volatile slot, signed_summary: 8 bytes
	// to sign a different DS Summary 2, operator_id: 8 bytes for a slot
	// only that operator uses, locked or deactivated: true for a slot
	// refusing writes, ds_id: a DS ID other than the PAN and PSN,
	// unsigned_summaries: true for a card signing no DS summaries}.
	DataStorage *DataStorageProfile `yaml:"data_storage,omitempty"`
	// WritableTags are the tags (at most two bytes each) a Mastercard
	// application lets the terminal write with PUT DATA (C-2 Tags To
	// Write) and reads back with GET DATA.
	WritableTags []Hex `yaml:"writable_tags,omitempty"`
	// MagStripe gives a Mastercard application C-2 mag-stripe mode data
	// and COMPUTE CRYPTOGRAPHIC CHECKSUM: {emv: false} is a card without
	// M/Chip, {emv: true} one with both; track1 adds Track 1 Data.
	MagStripe *MagStripeProfile `yaml:"mag_stripe,omitempty"`
	// RelayResistance makes a Mastercard application answer EXCHANGE
	// RELAY RESISTANCE DATA (Book C-2), with its announced and real times.
	RelayResistance *RelayResistanceProfile `yaml:"relay_resistance,omitempty"`
	// Blocked makes SELECT answer '6283' (application blocked).
	Blocked bool `yaml:"blocked,omitempty"`
	// Faults maps an instruction byte (hex, e.g. "A8") to the status word
	// (hex, e.g. "6F00") the application answers it with.
	Faults map[string]string `yaml:"faults,omitempty"`
}

// MagStripeProfile is emvapp.MagStripe in YAML.
type MagStripeProfile struct {
	EMV    bool `yaml:"emv"`
	Track1 bool `yaml:"track1,omitempty"`
}

// RelayResistanceProfile is emvapp.RelayResistance in YAML: durations
// ("1ms", "1800us"):
//
//	relay_resistance: {min: 1ms, max: 5ms, transmission: 1800us, processing: 2ms}
//	relay_resistance: {min: 1ms, max: 5ms, transmission: 1800us, processing: 2ms, slow: 20ms}
//
// slow, when set, is the time the first slow_count exchanges of a
// transaction really take (every exchange when slow_count is 0): a card
// behind a relay, or too slow for the reader.
type RelayResistanceProfile struct {
	Min          time.Duration `yaml:"min"`
	Max          time.Duration `yaml:"max"`
	Transmission time.Duration `yaml:"transmission"`
	Processing   time.Duration `yaml:"processing"`
	Slow         time.Duration `yaml:"slow,omitempty"`
	SlowCount    int           `yaml:"slow_count,omitempty"`
}

// OfflineProfile is the card's offline approval policy (emvapp.Offline):
// offline approvals allowed, how many in a row at most (0: no count limit),
// and the cumulative amount limit in minor units.
type OfflineProfile struct {
	Allowed        bool  `yaml:"allowed"`
	MaxConsecutive int   `yaml:"max_consecutive,omitempty"`
	Limit          int64 `yaml:"limit,omitempty"`
}

// ODAProfile names the test CA keys of the card (package testca).
type ODAProfile struct {
	// CAIndex is the test CA key index (8F): 1 (1408 bits) or 2 (1984).
	CAIndex int `yaml:"ca_index"`
	// IssuerKey and ICCKey name testca keys (issuer-a, issuer-b; icc-a to
	// icc-d).
	IssuerKey string `yaml:"issuer_key"`
	ICCKey    string `yaml:"icc_key"`
	// IssuerExpiry (default: 2 years after the card's expiry) and ICCExpiry
	// (default: the card's expiry) are the certificates' dates, YYYY-MM.
	IssuerExpiry string `yaml:"issuer_expiry,omitempty"`
	ICCExpiry    string `yaml:"icc_expiry,omitempty"`
	// Tamper is none, issuer (the issuer certificate, 90) or icc (the ICC
	// certificate, 9F46): the certificate on the card is damaged.
	Tamper string `yaml:"tamper,omitempty"`
}

// TokenProfile marks the PAN as a payment token.
type TokenProfile struct {
	// RequestorID is the Token Requestor ID (9F19), 11 digits.
	RequestorID string `yaml:"requestor_id"`
	// PANLast4 are the last 4 digits of the funding PAN (9F25).
	PANLast4 string `yaml:"pan_last4"`
	// FundingPAN is the real PAN behind the token, for the issuer side's
	// token vault; it is never put on the phone.
	FundingPAN string `yaml:"funding_pan,omitempty"`
}

// PhoneProfile sets up a phone.
type PhoneProfile struct {
	// Passcode is the wallet passcode (R-G3a, R-G3b); Biometric says a
	// biometric is enrolled.
	Passcode  string `yaml:"passcode"`
	Biometric bool   `yaml:"biometric,omitempty"`
	// Validity of a verification on SE and wallet phones ("60s", "5m");
	// empty or 0 means one tap. HCE phones always use one tap (R-S2e).
	Validity string `yaml:"validity,omitempty"`
	// AlwaysCDCVM makes every tap need CDCVM (HCE phones always do).
	AlwaysCDCVM bool `yaml:"always_cdcvm,omitempty"`
	// DeviceID is the hardware device ID (up to 8 bytes) an HCE or wallet
	// phone is bound to; it travels in 9F10 (R-S5d).
	DeviceID Hex `yaml:"device_id,omitempty"`
	// LowWater is the count of limited-use keys at or below which an HCE
	// phone asks for more.
	LowWater int `yaml:"low_water,omitempty"`
	// Storage is the storage (cards/hceapp.App.Save) of an HCE phone's
	// issuer app enrolled with a cloud platform, relative to the profile:
	// its device keys, its card's emulated data and limited-use keys.
	Storage string `yaml:"storage,omitempty"`
	// MobilePIN is the PIN the cardholder of an mc-cloud HCE phone set at
	// registration and types at each tap: it unlocks the key that makes
	// the cryptogram the issuer takes cardholder verification from.
	MobilePIN string `yaml:"mobile_pin,omitempty"`
	// SDAID, SDKey (AES, a test key; random when empty) and SDOwner are the
	// card issuer's security domain in an SE phone.
	SDAID   Hex    `yaml:"sd_aid,omitempty"`
	SDKey   Hex    `yaml:"sd_key,omitempty"`
	SDOwner string `yaml:"sd_owner,omitempty"`
}

// StateProfile is the state a card starts in: its ATC, last online ATC and
// consecutive offline approvals; for phones, whether the holder is already
// verified, whether the card function is on (default true, R-S2b), the
// limited-use keys an HCE phone keeps of those its app's storage holds
// (default: all), and the consecutive wrong passcode entries (5 locks the
// wallet, R-G3c).
type StateProfile struct {
	ATC              int   `yaml:"atc,omitempty"`
	LastOnlineATC    int   `yaml:"last_online_atc,omitempty"`
	ConsecutiveOff   int   `yaml:"consecutive_offline,omitempty"`
	Unlocked         bool  `yaml:"unlocked,omitempty"`
	CardOn           *bool `yaml:"card_on,omitempty"`
	KeysLeft         *int  `yaml:"keys_left,omitempty"`
	PasscodeFailures int   `yaml:"passcode_failures,omitempty"`
}

// Hex is bytes written in YAML as a hex string.
type Hex []byte

// UnmarshalYAML reads hex digits, spaces allowed. The error never quotes
// the value (it may be a key).
func (h *Hex) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("%w: line %d: want a hex string", ErrProfile, n.Line)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if err != nil {
		return fmt.Errorf("%w: line %d: not hex", ErrProfile, n.Line)
	}
	*h = b
	return nil
}

// MarshalYAML writes upper-case hex.
func (h Hex) MarshalYAML() (any, error) { return strings.ToUpper(hex.EncodeToString(h)), nil }

// Parse reads a profile from YAML. A trace file it names is looked up in
// the current directory.
func Parse(data []byte) (Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, ErrProfile) {
			return Profile{}, err
		}
		return Profile{}, fmt.Errorf("%w: %s", ErrProfile, yamlErr(err))
	}
	return p, nil
}

// yamlErr keeps the position and the kind of a YAML error without the
// offending value.
func yamlErr(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			if i := strings.Index(e, "`"); i >= 0 {
				e = e[:i] + "(value hidden)"
			}
			out = append(out, e)
		}
		return strings.Join(out, "; ")
	}
	return err.Error()
}

// Load reads a profile file.
func Load(file string) (Profile, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Profile{}, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	p, err := Parse(b)
	if err != nil {
		return Profile{}, fmt.Errorf("%s: %w", file, err)
	}
	p.fsys, p.dir = os.DirFS(filepath.Dir(file)), "."
	return p, nil
}

// Builtin returns one of the sample profiles of cards/profiles by name
// (the file name without .yaml).
func Builtin(name string) (Profile, error) {
	b, err := fs.ReadFile(profiles.FS, name+".yaml")
	if err != nil {
		return Profile{}, fmt.Errorf("%w: no built-in profile %q (have %s)", ErrProfile, name, strings.Join(BuiltinNames(), ", "))
	}
	p, err := Parse(b)
	if err != nil {
		return Profile{}, fmt.Errorf("%s.yaml: %w", name, err)
	}
	p.fsys, p.dir = profiles.FS, "."
	return p, nil
}

// BuiltinNames lists the built-in profiles, sorted.
func BuiltinNames() []string {
	ents, err := fs.ReadDir(profiles.FS, ".")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			out = append(out, n)
		}
	}
	return out
}

// readTrace reads the profile's trace file.
func (p Profile) readTrace() ([]byte, error) {
	if p.Trace == "" {
		return nil, fmt.Errorf("%w: a recorded card needs a trace file", ErrProfile)
	}
	return p.readFile("trace", p.Trace)
}

// readFile reads file what, named relative to the profile.
func (p Profile) readFile(what, file string) ([]byte, error) {
	if p.fsys == nil {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProfile, err)
		}
		return b, nil
	}
	name := path.Clean(path.Join(p.dir, filepath.ToSlash(file)))
	b, err := fs.ReadFile(p.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrProfile, what, file, err)
	}
	return b, nil
}

// parseDate reads YYYY-MM or YYMM.
func parseDate(s string) (emvapp.Date, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01", s); err == nil {
		return emvapp.Date{Year: t.Year(), Month: t.Month()}, nil
	}
	if len(s) == 4 {
		if v, err := strconv.Atoi(s); err == nil && v >= 0 {
			yy, mm := v/100, v%100
			if mm >= 1 && mm <= 12 {
				return emvapp.Date{Year: 2000 + yy, Month: time.Month(mm)}, nil
			}
		}
	}
	return emvapp.Date{}, fmt.Errorf("%w: date %q (want YYYY-MM)", ErrProfile, s)
}

// String names the profile without its keys or card numbers.
func (p Profile) String() string {
	return fmt.Sprintf("profile %s (%s)", p.Name, p.FormFactor)
}

// GoString is String, so that %#v shows no keys either.
func (p Profile) GoString() string { return p.String() }

// String describes the application without its keys; the PAN is masked.
func (a AppProfile) String() string {
	return fmt.Sprintf("%s application %X, PAN %s, %s", a.Scheme, []byte(a.AID), pan.Mask(a.PAN), a.CVN)
}

// GoString is String, so that %#v shows no keys either.
func (a AppProfile) GoString() string { return a.String() }

// String describes the phone settings without passcode, mobile PIN or
// keys.
func (p PhoneProfile) String() string {
	if p.Storage != "" {
		return fmt.Sprintf("phone settings (biometric %v, app storage %s)", p.Biometric, p.Storage)
	}
	return fmt.Sprintf("phone settings (biometric %v)", p.Biometric)
}

// GoString is String, so that %#v shows no passcode either.
func (p PhoneProfile) GoString() string { return p.String() }

// String shows the token requestor, never the funding PAN.
func (t TokenProfile) String() string {
	return fmt.Sprintf("token (requestor %s, funding PAN ending %s)", t.RequestorID, t.PANLast4)
}

// GoString is String, so that %#v shows no funding PAN either.
func (t TokenProfile) GoString() string { return t.String() }

// DataStorageProfile is a Mastercard application's Integrated Data Storage
// (see emvapp.DataStorage).
type DataStorageProfile struct {
	// ODSCard is the operator data the slot holds (DS ODS Card, 9F54, up
	// to 160 bytes); empty: the slot holds none yet.
	ODSCard Hex `yaml:"ods_card,omitempty"`
	// Summary is the stored summary of ods_card (8 bytes); an empty slot's
	// summary is zeros.
	Summary       Hex `yaml:"summary,omitempty"`
	SignedSummary Hex `yaml:"signed_summary,omitempty"`
	// Volatile makes the slot volatile rather than permanent.
	Volatile bool `yaml:"volatile,omitempty"`
	// OperatorID is the operator the slot belongs to (8 bytes); empty:
	// any operator.
	OperatorID Hex `yaml:"operator_id,omitempty"`
	// Locked and Deactivated make the slot refuse writes (DS Slot
	// Management Control b5, b1).
	Locked      bool `yaml:"locked,omitempty"`
	Deactivated bool `yaml:"deactivated,omitempty"`
	// DSID replaces the DS ID made of the PAN and PSN (a card personalised
	// in error).
	DSID Hex `yaml:"ds_id,omitempty"`
	// UnsignedSummaries makes the card leave the DS summaries out of its
	// CDA signatures.
	UnsignedSummaries bool `yaml:"unsigned_summaries,omitempty"`
}
