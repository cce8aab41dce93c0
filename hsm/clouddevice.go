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
	// ExportSUKsToDevice derives, for n consecutive ATCs from firstATC,
	// SK_MD from mkMD and SK_UMD from mkUMD (both UsageIMKAC), masks
	// SK_UMD with the mobile PIN (cloud.MakeSUK with salt and tokenRef)
	// and returns SK_MD and the SUK each wrapped for device. The PIN is
	// used inside and never kept.
	ExportSUKsToDevice(mkMD, mkUMD Handle, pan, psn string, firstATC uint16, n int, pin string, salt []byte, tokenRef string, device *ecdsa.PublicKey) ([]DeviceSUK, error)
}

// DeviceSUK is the pair of keys of one mc-cloud transaction wrapped for a
// phone's encryption key: SK_MD, and the SUK (SK_UMD masked by the mobile
// PIN). SUKKCV is the check value of the SUK as wrapped, never of SK_UMD,
// which would let a holder of the SUK test PIN guesses.
type DeviceSUK struct {
	ATC        uint16 `json:"atc"`
	MDKCV      string `json:"mdKcv"`
	MDWrapped  []byte `json:"mdWrapped"`
	SUKKCV     string `json:"sukKcv"`
	SUKWrapped []byte `json:"sukWrapped"`
}

// String shows the ATC and check values only.
func (d DeviceSUK) String() string {
	return fmt.Sprintf("SK_MD/SUK ATC %04X KCV %s/%s wrapped for a device", d.ATC, d.MDKCV, d.SUKKCV)
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
