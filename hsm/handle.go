package hsm

import (
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/emv/keys"
)

// Handle names a key inside the module. It carries no key material: the
// opaque ID the module resolves, and, for people and logs, the label,
// usage, algorithm, length and key check value. The module trusts only
// the ID; the other fields describe the key as it was when the handle was
// made.
type Handle struct {
	ID    string   // opaque, unique within the module
	Label string   // the caller's name for the key, unique within the module
	Usage Usage    // what the key may be used for
	Alg   keys.Alg // TDES or AES; zero for a P-256 key pair (ECKeys)
	Len   int      // key length in bytes (32 for a P-256 key pair)
	KCV   string   // upper-case hex: 3 bytes for TDES, 5 for AES (X9.24-1:2017 CMAC), 5 of the JWK thumbprint for a key pair
}

// IsZero reports whether h names no key.
func (h Handle) IsZero() bool { return h.ID == "" }

// String describes the key, e.g. `ZPK "acq/zpk" TDES-128 KCV 1A2B3C`, or
// `EC-SIGN "svc/sign" P-256 KCV 0A1B2C3D4E` for a key pair.
func (h Handle) String() string {
	if h.IsZero() {
		return "no key"
	}
	if h.Usage.P256() {
		return fmt.Sprintf("%s %q P-256 KCV %s", h.Usage, h.Label, h.KCV)
	}
	return fmt.Sprintf("%s %q %v-%d KCV %s", h.Usage, h.Label, h.Alg, h.Len*8, h.KCV)
}

// LogValue groups the label, usage and KCV for slog.
func (h Handle) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("label", h.Label),
		slog.String("usage", string(h.Usage)),
		slog.String("kcv", h.KCV),
	)
}
