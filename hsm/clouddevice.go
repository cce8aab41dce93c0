package hsm

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/tapsim/tapsim/emv/cloud"
)

// CloudDevice hands limited-use keys to the one phone they are issued to:
// each key is derived inside the module and leaves only wrapped for that
// phone's own P-256 encryption key (emv/devicekey: ECDH-ES with a fresh
// ephemeral key per key, so there is no wrapping key shared between
// phones; R-S3f, R-G1, R-G5e).
type CloudDevice interface {
	// ExportLUKsToDevice derives the limited-use key of each key index of
	// kis with account parameters index api (cloud.DeriveLUK, from the
	// token's ICC master key under imk, UsageIMKAC) and returns each
	// wrapped for device with its check value.
	ExportLUKsToDevice(imk Handle, pan, psn string, api uint16, kis []cloud.KeyIndex, device *ecdsa.PublicKey) ([]DeviceLUK, error)
}

// DeviceLUK is one limited-use key wrapped for a phone's encryption key
// (emv/devicekey format).
type DeviceLUK struct {
	KeyIndex string `json:"keyIndex"` // YHHHHCC
	API      uint16 `json:"api"`      // account parameters index
	KCV      string `json:"kcv"`      // check value of the clear key, for the phone to check its unwrap
	Wrapped  []byte `json:"wrapped"`  // the key wrapped for the device
}

// String shows the key index and KCV only.
func (d DeviceLUK) String() string {
	return fmt.Sprintf("limited-use key %s API %d KCV %s wrapped for a device", d.KeyIndex, d.API, d.KCV)
}
