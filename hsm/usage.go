package hsm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

// Usage is what a key may be used for. A key has exactly one usage and the
// module refuses it for any other operation.
type Usage string

// The key usages of the module.
const (
	// UsageIMKAC is an issuer master key for application cryptograms: the
	// ICC master keys of the cards derive from it (ARQC, ARPC, HCE keys).
	UsageIMKAC Usage = "IMK-AC"
	// UsageIMKSMI is an issuer master key for secure-messaging integrity.
	UsageIMKSMI Usage = "IMK-SMI"
	// UsageIMKSMC is an issuer master key for secure-messaging
	// confidentiality.
	UsageIMKSMC Usage = "IMK-SMC"
	// UsageBDK is a DUKPT base derivation key (TDES: ANSI X9.24-1; AES:
	// ANSI X9.24-3).
	UsageBDK Usage = "BDK"
	// UsageZPK is a zone PIN key, between acquirer and issuer.
	UsageZPK Usage = "ZPK"
	// UsageTPK is a terminal PIN key (a PIN pad without DUKPT).
	UsageTPK Usage = "TPK"
	// UsageZAK is a zone MAC key, between acquirer and issuer.
	UsageZAK Usage = "ZAK"
	// UsageTAK is a terminal MAC key, between terminal and acquirer.
	UsageTAK Usage = "TAK"
	// UsagePVK is a PIN verification key (Visa PVV), double-length TDES.
	UsagePVK Usage = "PVK"
	// UsageCVK is a card verification key (Visa CVV, CVV2, iCVV: the
	// pair CVK A ‖ CVK B), double-length TDES.
	UsageCVK Usage = "CVK"
	// UsageKEK is a key-encryption key: it wraps keys for exchange (a zone
	// master key, or an HCE phone's transport key). AES only, since keys
	// are wrapped with the AES key wrap of RFC 3394.
	UsageKEK Usage = "KEK"
	// UsageDEK is a data-encryption key: it encrypts stored sensitive
	// data (PANs, token numbers, expiry dates, PIN verification values)
	// with AES-GCM. AES only.
	UsageDEK Usage = "DEK"
	// UsageDataHash is a keyed-hash key: HMAC-SHA-256 of stored sensitive
	// data, an index to find a row by PAN without keeping the PAN in
	// clear. Held as an AES key of 32 bytes (the module's key type for
	// any secret that is not TDES).
	UsageDataHash Usage = "HMAC"
	// UsageECSign is a P-256 key pair that signs (ES256: a provisioning
	// party's JWS key). Made by ECKeys.GenerateP256 only.
	UsageECSign Usage = "EC-SIGN"
	// UsageECDH is a P-256 key pair for ECDH-ES key agreement (a
	// provisioning party's JWE key). Made by ECKeys.GenerateP256 only.
	UsageECDH Usage = "EC-KA"
	// UsageSessionAC marks, inside a key block, an application cryptogram
	// session key handed to an HCE phone. The module never stores one.
	UsageSessionAC Usage = "SK-AC"
)

// usageRule is what a usage admits.
type usageRule struct {
	code     byte
	tdes     []int // admitted TDES lengths in bytes
	aes      []int // admitted AES lengths in bytes
	storable bool
	p256     bool // a P-256 key pair, not a symmetric key
	summary  string
}

var (
	tdes2or3 = []int{16, 24}
	aesAll   = []int{16, 24, 32}
)

var usageRules = map[Usage]usageRule{
	UsageIMKAC:     {0x01, tdes2or3, aesAll, true, false, "issuer master key, application cryptograms"},
	UsageIMKSMI:    {0x02, tdes2or3, aesAll, true, false, "issuer master key, secure-messaging integrity"},
	UsageIMKSMC:    {0x03, tdes2or3, aesAll, true, false, "issuer master key, secure-messaging confidentiality"},
	UsageBDK:       {0x10, []int{16}, aesAll, true, false, "DUKPT base derivation key"},
	UsageZPK:       {0x20, tdes2or3, aesAll, true, false, "zone PIN key"},
	UsageTPK:       {0x21, tdes2or3, aesAll, true, false, "terminal PIN key"},
	UsageZAK:       {0x30, tdes2or3, aesAll, true, false, "zone MAC key"},
	UsageTAK:       {0x31, tdes2or3, aesAll, true, false, "terminal MAC key"},
	UsagePVK:       {0x40, []int{16}, nil, true, false, "PIN verification key (Visa PVV)"},
	UsageCVK:       {0x41, []int{16}, nil, true, false, "card verification key (Visa CVV, CVV2)"},
	UsageKEK:       {0x50, nil, aesAll, true, false, "key-encryption key"},
	UsageDEK:       {0x70, nil, aesAll, true, false, "data-encryption key (AES-GCM, data at rest)"},
	UsageDataHash:  {0x71, nil, []int{32}, true, false, "keyed-hash key (HMAC-SHA-256, look-up index)"},
	UsageECSign:    {0x80, nil, nil, true, true, "P-256 signing key pair (ES256)"},
	UsageECDH:      {0x81, nil, nil, true, true, "P-256 key agreement key pair (ECDH-ES)"},
	UsageSessionAC: {0x60, []int{16}, aesAll, false, false, "application cryptogram session key (HCE)"},
}

// Usages returns every usage, sorted.
func Usages() []Usage {
	out := make([]Usage, 0, len(usageRules))
	for u := range usageRules {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// ParseUsage reads a usage in any case ("zpk", "IMK-AC", "imk_ac").
func ParseUsage(s string) (Usage, error) {
	u := Usage(strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(s)), "_", "-"))
	if _, ok := usageRules[u]; ok {
		return u, nil
	}
	return "", fmt.Errorf("%w: unknown usage %q", ErrUsage, s)
}

// Valid reports whether u is a usage of the module.
func (u Usage) Valid() bool { _, ok := usageRules[u]; return ok }

// Storable reports whether the module keeps keys of this usage (every usage
// but UsageSessionAC, which exists only inside key blocks).
func (u Usage) Storable() bool { return usageRules[u].storable }

// P256 reports whether keys of this usage are P-256 key pairs (ECKeys)
// rather than symmetric keys.
func (u Usage) P256() bool { return usageRules[u].p256 }

// Summary describes the usage in a few words.
func (u Usage) Summary() string {
	if r, ok := usageRules[u]; ok {
		return r.summary
	}
	return "unknown usage"
}

// Code is the usage's byte in a key block header (0 for an unknown usage).
func (u Usage) Code() byte { return usageRules[u].code }

// UsageFromCode is the usage whose key block code is c.
func UsageFromCode(c byte) (Usage, bool) {
	for u, r := range usageRules {
		if r.code == c && c != 0 {
			return u, true
		}
	}
	return "", false
}

// Admits reports whether a key of alg and n bytes may have usage u; the
// error wraps ErrKeyType and names what the usage takes.
func (u Usage) Admits(alg keys.Alg, n int) error {
	r, ok := usageRules[u]
	if !ok {
		return fmt.Errorf("%w: unknown usage %q", ErrUsage, string(u))
	}
	var lens []int
	switch alg {
	case keys.TDES:
		lens = r.tdes
	case keys.AES:
		lens = r.aes
	}
	if slices.Contains(lens, n) {
		return nil
	}
	return fmt.Errorf("%w: %s takes %s, not %v of %d bytes", ErrKeyType, u, r.describe(), alg, n)
}

func (r usageRule) describe() string {
	if r.p256 {
		return "a P-256 key pair made inside the module"
	}
	var parts []string
	if len(r.tdes) > 0 {
		parts = append(parts, fmt.Sprintf("TDES %s bytes", joinInts(r.tdes)))
	}
	if len(r.aes) > 0 {
		parts = append(parts, fmt.Sprintf("AES %s bytes", joinInts(r.aes)))
	}
	return strings.Join(parts, " or ")
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, "/")
}

// String is the usage's name.
func (u Usage) String() string { return string(u) }
