package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The sample network's test keys (double-length TDES with odd parity unless
// said otherwise; test only, never printed: check values in comments).
const (
	sampleBDK = "0123456789ABCDEFFEDCBA9876543210" // KCV 08D7B4, DUKPT base key of the terminals
	sampleTAK = "0EA47A138CD931454F044620F738B3F4" // KCV 3B7D3D, terminal T0000001 MAC key
	sampleZPK = "BFE3DAFE23CB9B570EF4238616F12FD9" // KCV 830B72, acquirer-issuer PIN key
	sampleZAK = "649783F2378020FEC7B95EFB52AE7010" // KCV E5DF32, acquirer-issuer MAC key
	samplePVK = "B34552BC6B5EAE9B793B3EEFE96EEA4C" // KCV 8721EF, issuer PIN verification key
	// sampleKEK is the issuer's transport key for HCE key batches, AES-128:
	// the module wraps keys with the AES key wrap.
	sampleKEK = "2AE0E02C3B68752AC86E4649B334AEEC"
	// sampleLMK is the soft HSMs' local master key (AES-256) when
	// TAPSIM_HSM_LMK is not set.
	sampleLMK = "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB"
)

// openSoftHSM opens a soft security module whose keystore is the file
// keystore in dir, under the LMK of TAPSIM_HSM_LMK or the sample LMK. what
// names the host in errors.
func openSoftHSM(what, dir, keystore string, logger *slog.Logger) (*soft.HSM, error) {
	var (
		lmk keys.Key
		err error
	)
	if _, set := os.LookupEnv(soft.EnvLMK); set {
		lmk, err = soft.LMKFromEnv("")
	} else {
		lmk, err = soft.ParseLMK(sampleLMK)
	}
	if err != nil {
		return nil, usageErr("%v", err)
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
