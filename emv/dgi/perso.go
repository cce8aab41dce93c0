package dgi

import "fmt"

// AIDs of tapsim's payment applet as an SE module (MODEL: proprietary 'F'
// AIDs, not a scheme's).
var (
	// PaymentLoadFile is the payment applet's executable load file.
	PaymentLoadFile = []byte{0xF0, 0x74, 0x61, 0x70, 0x73, 0x69, 0x6D, 0x01}
	// PaymentModule is the payment applet's executable module.
	PaymentModule = []byte{0xF0, 0x74, 0x61, 0x70, 0x73, 0x69, 0x6D, 0x01, 0x01}
)

// Perso is the issuer's data preparation for one application of an SE:
// what an SP TSM sends to the secure element over SCP03 (INSTALL of
// PaymentModule as App, then STORE DATA of DGIs into the SSD named SD).
type Perso struct {
	// SD is the AID of the issuer's Supplementary Security Domain.
	SD []byte
	// Owner names the SSD's owner.
	Owner string
	// App is the AID of the applet instance.
	App []byte
	// DGIs are the personalisation data, sensitive ones (Sensitive) in
	// clear: the TSM enciphers them under the SSD's K-DEK.
	DGIs []DGI
}

// String names the domain and applet, never the data.
func (p Perso) String() string {
	return fmt.Sprintf("SE personalisation of %X in %X: %d DGIs", p.App, p.SD, len(p.DGIs))
}

// GoString is String, so that %#v shows no data either.
func (p Perso) GoString() string { return p.String() }
