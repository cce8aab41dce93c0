package lab

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The sample network's test keys, in hex: double-length TDES with odd
// parity unless said otherwise. They are public test keys, useless outside
// tapsim; never print or log them, only their check values (in comments).
const (
	// BDK is the DUKPT base derivation key of the terminals' PIN pads
	// (KCV 08D7B4).
	BDK = "0123456789ABCDEFFEDCBA9876543210"
	// TAK is the MAC key of terminal T0000001 and of the load terminals
	// (KCV 3B7D3D).
	TAK = "0EA47A138CD931454F044620F738B3F4"
	// ZPK is the acquirer-issuer zone PIN key (KCV 830B72).
	ZPK = "BFE3DAFE23CB9B570EF4238616F12FD9"
	// ZAK is the acquirer-issuer zone MAC key (KCV E5DF32).
	ZAK = "649783F2378020FEC7B95EFB52AE7010"
	// PVK is the issuer's PIN verification key (KCV 8721EF).
	PVK = "B34552BC6B5EAE9B793B3EEFE96EEA4C"
	// KEK is the issuer's transport key for HCE key batches, AES-128: the
	// security module wraps keys with the AES key wrap (CMAC KCV C2C25BD7A9).
	KEK = "2AE0E02C3B68752AC86E4649B334AEEC"
	// LMK is the soft security modules' local master key, AES-256, when
	// TAPSIM_HSM_LMK is not set (CMAC KCV AAEF5C6F42).
	LMK = "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB"
)

// OpenSoftHSM opens a soft security module whose keystore is the file
// keystore in dir (created, mode 0700, when missing), under the LMK of
// TAPSIM_HSM_LMK or, when that is not set, the sample LMK. what names the
// host in errors. An unusable LMK is reported as is (it wraps
// soft.ErrLMK).
func OpenSoftHSM(what, dir, keystore string, logger *slog.Logger) (*soft.HSM, error) {
	var (
		lmk keys.Key
		err error
	)
	if _, set := os.LookupEnv(soft.EnvLMK); set {
		lmk, err = soft.LMKFromEnv("")
	} else {
		lmk, err = soft.ParseLMK(LMK)
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s data directory: %w", what, err)
	}
	m, err := soft.Open(soft.Config{LMK: lmk, Path: filepath.Join(dir, keystore), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("%s keystore: %w", what, err)
	}
	return m, nil
}
