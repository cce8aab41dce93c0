package lab

import (
	"context"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards"
)

// SampleSEProfiles are the se-phone samples the embedded world
// personalises over the air through its TSMs at start (startSEPlatform),
// in that order; the SE of the first belongs to the issuer (R-M1), the
// SE of the second is shared with an SE operator (R-M2).
var SampleSEProfiles = []string{"visa-se-phone", "mc-se-phone"}

// errSampleSE reports that the world could not personalise an SE phone.
var errSampleSE = errors.New("sample SE phone")

// sampleSEDeviceID is the device ID the world gives the phone of se-phone
// profile p: the profile's own when it names one, else "SE" and the SE's
// serial in hex.
func sampleSEDeviceID(p cards.Profile, serial uint32) string {
	if p.Phone != nil && len(p.Phone.DeviceID) > 0 {
		return deviceID(p)
	}
	return fmt.Sprintf("5345%012X", serial)
}

// startSEPlatform starts the world's TSMs (StartSEPlatform), their one-time
// codes going through the issuer's message centre, and personalises the
// sample SE phones through them (SampleSEProfiles): a new SE and a new
// download at every start, since the phones live in this process only.
func (n *Network) startSEPlatform(ctx context.Context, o Options) error {
	p, err := StartSEPlatform(o.Clock, o.Rand, o.Logger)
	if err != nil {
		return fmt.Errorf("%w: %w", errSampleSE, err)
	}
	p.Messages = IssuerMessages(n)
	n.mu.Lock()
	n.se = p
	n.mu.Unlock()
	phones := map[string]*SEDevice{}
	for i, name := range SampleSEProfiles {
		prof, err := Profile(name)
		if err != nil {
			return fmt.Errorf("%w: %w", errSampleSE, err)
		}
		serial := uint32(i + 1)
		d, _, err := p.SampleSEPhone(ctx, name, sampleSEDeviceID(prof, serial), serial, i == 1)
		if err != nil {
			return fmt.Errorf("%w: %w", errSampleSE, err)
		}
		phones[name] = d
	}
	n.mu.Lock()
	n.sePhones = phones
	n.mu.Unlock()
	return nil
}

// SEPlatform is the world's SP TSM and SE TSM, started with the world.
func (n *Network) SEPlatform() *SEPlatform {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.se
}

// SampleSE is the world's SE phone of se-phone profile name, personalised
// over the air when the world was created; nil for another name.
func (n *Network) SampleSE(name string) *SEDevice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sePhones[name]
}

// sampleSECard is the world's SE phone of profile name as a card.
func (n *Network) sampleSECard(name string) (cards.Card, bool) {
	if d := n.SampleSE(name); d != nil {
		return d.Phone, true
	}
	return nil, false
}

// closeSEPlatform stops the world's TSMs.
func (n *Network) closeSEPlatform() {
	n.mu.Lock()
	p := n.se
	n.se = nil
	n.mu.Unlock()
	if p != nil {
		p.Close()
	}
}
