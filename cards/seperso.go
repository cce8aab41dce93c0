package cards

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/dgi"
)

// SEPerso is the issuer's data preparation for one application of an SE
// phone profile: what an SP TSM sends to the phone's secure element over
// SCP03 (INSTALL of emvapp.ModuleAID as App, then STORE DATA of DGIs into
// the SSD named SD).
type SEPerso struct {
	// SD is the AID of the issuer's Supplementary Security Domain (the
	// profile's sd_aid).
	SD []byte
	// Owner names the SSD's owner (the profile's sd_owner).
	Owner string
	// App is the AID of the applet instance.
	App []byte
	// DGIs are the personalisation data, sensitive ones (dgi.Sensitive) in
	// clear: the TSM enciphers them under the SSD's K-DEK.
	DGIs []dgi.DGI
}

// String names the domain and applet, never the data.
func (p SEPerso) String() string {
	return fmt.Sprintf("SE personalisation of %X in %X: %d DGIs", p.App, p.SD, len(p.DGIs))
}

// GoString is String, so that %#v shows no data either.
func (p SEPerso) GoString() string { return p.String() }

// PrepareSE makes the personalisation data of an se-phone profile's
// applications, exactly as FromProfile would install them directly: same
// records, ICC certificate and master key. Options are those of
// FromProfile (the ICC certificate and keys do not depend on them).
func PrepareSE(p Profile, o Options) ([]SEPerso, error) {
	if p.FormFactor != FormSEPhone {
		return nil, fmt.Errorf("%w: %q is not an se-phone profile", ErrProfile, p.Name)
	}
	c, err := FromProfile(p, o)
	if err != nil {
		return nil, err
	}
	sd := []byte(p.Phone.SDAID)
	if sd == nil {
		sd = defaultSDAID
	}
	owner := p.Phone.SDOwner
	if owner == "" {
		owner = "card issuer"
	}
	var out []SEPerso
	for _, a := range Applications(c) {
		ds, err := a.DGIs()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProfile, err)
		}
		out = append(out, SEPerso{SD: bytes.Clone(sd), Owner: owner, App: a.AID(), DGIs: ds})
	}
	return out, nil
}
