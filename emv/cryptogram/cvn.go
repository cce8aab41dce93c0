package cryptogram

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Composition says which data follow the minimum data set in the input of
// the application cryptogram.
type Composition int

const (
	// ComposeCVR appends the Card Verification Results taken from 9F10 by the
	// scheme's layout (Visa: 4 bytes, the length byte '03' and 3 bytes;
	// Mastercard: 6 bytes).
	ComposeCVR Composition = iota + 1
	// ComposeCVRCounters appends the CVR and then the 8 counter bytes of 9F10.
	ComposeCVRCounters
	// ComposeIAD appends the whole 9F10 value.
	ComposeIAD
)

// String describes the composition.
func (c Composition) String() string {
	switch c {
	case ComposeCVR:
		return "minimum set + CVR"
	case ComposeCVRCounters:
		return "minimum set + CVR + counters"
	case ComposeIAD:
		return "minimum set + 9F10"
	}
	return fmt.Sprintf("Composition(%d)", int(c))
}

// ARPCMethod is an ARPC method of EMV Book 2 section 8.2.
type ARPCMethod int

const (
	// ARPC1 is method 1: encipher ARQC xor (ARC || zeros); 8 bytes.
	ARPC1 ARPCMethod = 1
	// ARPC2 is method 2: MAC over ARQC || CSU || proprietary data; 4 bytes.
	ARPC2 ARPCMethod = 2
)

// String names the method ("1" or "2").
func (m ARPCMethod) String() string { return fmt.Sprintf("%d", int(m)) }

// ParseARPCMethod reads "1" or "2".
func ParseARPCMethod(s string) (ARPCMethod, error) {
	switch strings.TrimSpace(s) {
	case "1":
		return ARPC1, nil
	case "2":
		return ARPC2, nil
	}
	return 0, fmt.Errorf("%w: ARPC method %q (want 1 or 2)", ErrMethod, s)
}

// ComputeARPC computes an ARPC by method m with key k. For method 1, resp is
// the 2-byte ARC and prop must be empty; for method 2, resp is the 4-byte
// CSU and prop the 0 to 8 bytes of Proprietary Authentication Data.
func ComputeARPC(m ARPCMethod, k keys.Key, arqc, resp, prop []byte) ([]byte, error) {
	switch m {
	case ARPC1:
		if len(prop) != 0 {
			return nil, fmt.Errorf("%w: ARPC method 1 takes no proprietary authentication data", ErrLength)
		}
		return ARPCMethod1(k, arqc, resp)
	case ARPC2:
		return ARPCMethod2(k, arqc, resp, prop)
	}
	return nil, fmt.Errorf("%w: ARPC method %d", ErrMethod, int(m))
}

// ARPCKey says which key computes the ARPC.
type ARPCKey int

const (
	// ARPCWithMK uses the ICC master key.
	ARPCWithMK ARPCKey = iota + 1
	// ARPCWithSessionKey uses the application cryptogram session key.
	ARPCWithSessionKey
)

// String names the key rule.
func (k ARPCKey) String() string {
	switch k {
	case ARPCWithMK:
		return "ICC MK"
	case ARPCWithSessionKey:
		return "session key"
	}
	return fmt.Sprintf("ARPCKey(%d)", int(k))
}

// CVN is one Cryptogram Version Number: how the card's keys are derived,
// which data the cryptogram covers, how it is computed, and how the issuer
// answers with an ARPC. Entries come from the package's table (Lookup, ByID,
// DetectCVN, CVNs) and must be treated as read-only; the card side
// (GenerateAC, VerifyARPC) and the issuer side (VerifyARQC, ARPC) both run
// from the same entry.
type CVN struct {
	ID         byte          // the CVN byte carried in 9F10
	Name       string        // the name Lookup takes, e.g. "visa18"
	Scheme     Scheme        // the 9F10 layout
	Alg        keys.Alg      // the algorithm of the issuer and ICC master keys
	Option     Option        // ICC master key derivation option
	Session    SessionMethod // AC key from the ICC master key
	Padding    mac.Padding   // ISO/IEC 9797-1 padding of the AC input (TDES only)
	Compose    Composition   // data after the minimum set
	ARPCMethod ARPCMethod    // ARPC method
	ARPCKey    ARPCKey       // key of the ARPC
	Summary    string        // one line for people
}

// table lists every CVN this package knows. The "aes" entry is this
// project's own AES CVN; it follows the EMV Common Core Definitions 9F10
// layout with Common Core Identifier 'A6' (format A, AES).
var table = []*CVN{
	{ID: 0x0A, Name: "visa10", Scheme: SchemeVisa, Alg: keys.TDES, Option: OptionA, Session: SessionNone,
		Padding: mac.Method1, Compose: ComposeCVR, ARPCMethod: ARPC1, ARPCKey: ARPCWithMK,
		Summary: "Visa CVN 10: ICC MK as AC key, minimum set + 4-byte CVR, zero padding, ARPC method 1 with the ICC MK"},
	{ID: 0x12, Name: "visa18", Scheme: SchemeVisa, Alg: keys.TDES, Option: OptionB, Session: SessionEMV,
		Padding: mac.Method2, Compose: ComposeIAD, ARPCMethod: ARPC2, ARPCKey: ARPCWithSessionKey,
		Summary: "Visa CVN 18: EMV common session key, minimum set + whole 9F10, ARPC method 2"},
	{ID: 0x22, Name: "visa22", Scheme: SchemeVisa, Alg: keys.TDES, Option: OptionB, Session: SessionEMV,
		Padding: mac.Method2, Compose: ComposeIAD, ARPCMethod: ARPC2, ARPCKey: ARPCWithSessionKey,
		Summary: "Visa CVN '22': as CVN 18 with 9F10 format 2"},
	{ID: 0x10, Name: "mc16", Scheme: SchemeMastercard, Alg: keys.TDES, Option: OptionA, Session: SessionMastercard,
		Padding: mac.Method2, Compose: ComposeCVR, ARPCMethod: ARPC1, ARPCKey: ARPCWithMK,
		Summary: "Mastercard CVN 16: Mastercard session key (ATC, UN), minimum set + 6-byte CVR, ARPC method 1 with the ICC MK"},
	{ID: 0x11, Name: "mc17", Scheme: SchemeMastercard, Alg: keys.TDES, Option: OptionA, Session: SessionMastercard,
		Padding: mac.Method2, Compose: ComposeCVRCounters, ARPCMethod: ARPC1, ARPCKey: ARPCWithMK,
		Summary: "Mastercard CVN 17: as CVN 16 plus the 8 counter bytes of 9F10"},
	{ID: 0x14, Name: "mc20", Scheme: SchemeMastercard, Alg: keys.TDES, Option: OptionA, Session: SessionEMV,
		Padding: mac.Method2, Compose: ComposeCVR, ARPCMethod: ARPC1, ARPCKey: ARPCWithSessionKey,
		Summary: "Mastercard CVN 20: EMV common session key, minimum set + 6-byte CVR, ARPC method 1 with the session key"},
	{ID: 0x15, Name: "mc21", Scheme: SchemeMastercard, Alg: keys.TDES, Option: OptionA, Session: SessionEMV,
		Padding: mac.Method2, Compose: ComposeCVRCounters, ARPCMethod: ARPC1, ARPCKey: ARPCWithSessionKey,
		Summary: "Mastercard CVN 21: as CVN 20 plus the 8 counter bytes of 9F10"},
	{ID: 0xA6, Name: "aes", Scheme: SchemeCCD, Alg: keys.AES, Option: OptionC, Session: SessionEMV,
		Padding: mac.Method2, Compose: ComposeIAD, ARPCMethod: ARPC2, ARPCKey: ARPCWithSessionKey,
		Summary: "AES (CVN 'A6', CCD 9F10 layout): option C ICC MK, AES common session key, AES-CMAC over minimum set + whole 9F10, ARPC method 2 with AES-CMAC"},
}

// CVNs returns the table's entries, in table order.
func CVNs() []*CVN { return append([]*CVN(nil), table...) }

// Names returns the names Lookup accepts, sorted.
func Names() []string {
	out := make([]string, len(table))
	for i, c := range table {
		out[i] = c.Name
	}
	sort.Strings(out)
	return out
}

// Lookup finds a CVN by name: visa10, visa18, visa22, mc16, mc17, mc20,
// mc21 or aes (any case).
func Lookup(name string) (*CVN, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, c := range table {
		if c.Name == n {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownCVN, name, strings.Join(Names(), ", "))
}

// ByID finds the CVN of a scheme by its byte.
func ByID(scheme Scheme, id byte) (*CVN, error) {
	for _, c := range table {
		if c.Scheme == scheme && c.ID == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: %v CVN %02X", ErrUnknownCVN, scheme, id)
}

// DetectCVN finds the CVN that Issuer Application Data names. Layouts with a
// signature are tried first (Visa: '06' .. '03' or '1F'; CCD: '0F'), then
// the Mastercard layout; the first whose CVN byte is in the table wins.
func DetectCVN(iad []byte) (*CVN, error) {
	if len(iad) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrIAD)
	}
	for _, s := range []Scheme{SchemeVisa, SchemeCCD, SchemeMastercard} {
		p, err := ParseIAD(s, iad)
		if err != nil {
			continue
		}
		if c, err := ByID(s, p.CVN); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: no known cryptogram version in 9F10", ErrUnknownCVN)
}

// String names the entry, e.g. "visa18 (CVN 12)".
func (c *CVN) String() string { return fmt.Sprintf("%s (CVN %02X)", c.Name, c.ID) }

// checkMK checks that mk fits the entry: a 16-byte TDES key, or an AES key.
func (c *CVN) checkMK(mk keys.Key) error {
	if mk.Alg() != c.Alg {
		return fmt.Errorf("%w: %s takes a %v ICC master key, got %v", ErrKey, c.Name, c.Alg, mk)
	}
	if c.Alg == keys.TDES && mk.Len() != 16 {
		return fmt.Errorf("%w: %s takes a 16-byte ICC master key, got %d bytes", ErrKey, c.Name, mk.Len())
	}
	return nil
}

// DeriveMK derives the ICC master key from the issuer master key by the
// entry's derivation option.
func (c *CVN) DeriveMK(imk keys.Key, pan, psn string) (keys.Key, error) {
	if imk.Alg() != c.Alg {
		return keys.Key{}, fmt.Errorf("%w: %s takes a %v issuer master key, got %v", ErrKey, c.Name, c.Alg, imk)
	}
	return DeriveICCMK(c.Option, imk, pan, psn)
}

// IAD reads 9F10 from tags, splits it by the entry's layout and checks that
// it names this CVN.
func (c *CVN) IAD(tags Source) (IAD, error) {
	raw, err := value(tags, TagIssuerAppData, 0)
	if err != nil {
		return IAD{}, err
	}
	p, err := ParseIAD(c.Scheme, raw)
	if err != nil {
		return IAD{}, err
	}
	if p.CVN != c.ID {
		return IAD{}, fmt.Errorf("%w: 9F10 names CVN %02X, %s is %02X", ErrCVNMismatch, p.CVN, c.Name, c.ID)
	}
	return p, nil
}

// Data returns the input of the application cryptogram: the minimum data set
// (each element checked for its length) followed by what the entry's
// composition takes from 9F10. Missing elements give a *TagError naming the
// tag.
func (c *CVN) Data(tags Source) ([]byte, error) {
	out, err := MinimumData(tags, maxIADLength)
	if err != nil {
		return nil, err
	}
	iad, err := c.IAD(tags)
	if err != nil {
		return nil, err
	}
	switch c.Compose {
	case ComposeCVR:
		out = append(out, iad.CVR...)
	case ComposeCVRCounters:
		if iad.Counters == nil {
			return nil, fmt.Errorf("%w: %s needs the 8 counter bytes in 9F10", ErrIAD, c.Name)
		}
		out = append(append(out, iad.CVR...), iad.Counters...)
	case ComposeIAD:
		out = append(out, iad.Raw...)
	default:
		return nil, fmt.Errorf("%w: composition %d", ErrMethod, int(c.Compose))
	}
	return out, nil
}

// ACKey returns the key of the application cryptogram: the entry's session
// key derived from the ICC master key mk with the ATC (9F36) and, for the
// Mastercard session key, the unpredictable number (9F37) from tags.
func (c *CVN) ACKey(mk keys.Key, tags Source) (keys.Key, error) {
	if err := c.checkMK(mk); err != nil {
		return keys.Key{}, err
	}
	if c.Session == SessionNone {
		return mk, nil
	}
	atc, err := value(tags, TagATC, 2)
	if err != nil {
		return keys.Key{}, err
	}
	var un []byte
	if c.Session == SessionMastercard {
		if un, err = value(tags, TagUnpredictableNum, 4); err != nil {
			return keys.Key{}, err
		}
	}
	return SessionKey(c.Session, mk, atc, un)
}

// GenerateAC computes the application cryptogram (ARQC, TC or AAC) as the
// card does, from its ICC master key and the transaction's data elements.
func (c *CVN) GenerateAC(mk keys.Key, tags Source) ([]byte, error) {
	data, err := c.Data(tags)
	if err != nil {
		return nil, err
	}
	sk, err := c.ACKey(mk, tags)
	if err != nil {
		return nil, err
	}
	return ComputeAC(sk, data, c.Padding)
}

// VerifyARQC recomputes the cryptogram from the same inputs as the issuer
// does and compares it with arqc in constant time. It returns nil on a
// match and an error wrapping ErrMismatch otherwise.
func (c *CVN) VerifyARQC(mk keys.Key, tags Source, arqc []byte) error {
	if len(arqc) != ACLength {
		return fmt.Errorf("%w: ARQC is %d bytes, want %d", ErrLength, len(arqc), ACLength)
	}
	want, err := c.GenerateAC(mk, tags)
	if err != nil {
		return err
	}
	if !mac.Equal(want, arqc) {
		return fmt.Errorf("%w: %s application cryptogram", ErrMismatch, c.Name)
	}
	return nil
}

// arpcKey is the key the entry's ARPC uses.
func (c *CVN) arpcKey(mk keys.Key, tags Source) (keys.Key, error) {
	switch c.ARPCKey {
	case ARPCWithMK:
		if err := c.checkMK(mk); err != nil {
			return keys.Key{}, err
		}
		return mk, nil
	case ARPCWithSessionKey:
		return c.ACKey(mk, tags)
	}
	return keys.Key{}, fmt.Errorf("%w: ARPC key rule %d", ErrMethod, int(c.ARPCKey))
}

// ARPC computes the issuer's response cryptogram for arqc by the entry's
// method and key. resp is the 2-byte ARC (method 1) or the 4-byte CSU
// (method 2); prop is the method 2 Proprietary Authentication Data (0 to 8
// bytes, empty for method 1). The session key, when the entry uses it, is
// derived with the ATC (9F36) and UN (9F37) from tags.
func (c *CVN) ARPC(mk keys.Key, tags Source, arqc, resp, prop []byte) ([]byte, error) {
	k, err := c.arpcKey(mk, tags)
	if err != nil {
		return nil, err
	}
	return ComputeARPC(c.ARPCMethod, k, arqc, resp, prop)
}

// VerifyARPC is the card's check of the issuer's ARPC, in constant time; it
// returns an error wrapping ErrMismatch when arpc is not the one expected.
func (c *CVN) VerifyARPC(mk keys.Key, tags Source, arqc, resp, prop, arpc []byte) error {
	want, err := c.ARPC(mk, tags, arqc, resp, prop)
	if err != nil {
		return err
	}
	if !mac.Equal(want, arpc) {
		return fmt.Errorf("%w: %s ARPC", ErrMismatch, c.Name)
	}
	return nil
}
