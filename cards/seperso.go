package cards

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/dgi"
)

// SEPerso is the issuer's data preparation for one application of an SE
// phone profile (dgi.Perso): the SSD named by the profile's sd_aid and
// sd_owner, the applet instance and its DGIs.
type SEPerso = dgi.Perso

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
