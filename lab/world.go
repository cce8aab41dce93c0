package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/provision/wire"
)

// SampleWalletProfile is the built-in profile of the sample wallet phone:
// its passcode, CDCVM rules and ODA keys, and the device and funding card
// its token is for. The embedded world provisions that token through the
// wallet flow (SampleWallet); the token in the profile itself is the one
// IssuerSeed seeds for an issuer run on its own.
const SampleWalletProfile = "wallet-phone"

// SampleWallet is the embedded world's wallet phone: the sample device's
// wallet app, to which the world added the sample funding card through the
// wallet flow when it was created, and the phone built from the token data
// the app received.
type SampleWallet struct {
	// App is the phone's wallet app.
	App *walletapp.App
	// TokenRef is the token's unique reference, its ID in the issuer's
	// vault.
	TokenRef string
	// DeviceID is the phone's hardware device ID (hex).
	DeviceID string
	// Masked is the token number masked (first 6 and last 4).
	Masked string
	// Phone is the wallet phone holding the token; its ATC goes on from
	// tap to tap.
	Phone cards.Card
}

// errSampleWallet reports that the world could not provision its wallet
// phone.
var errSampleWallet = errors.New("sample wallet phone")

// provisionSampleWallet starts the world's provisioning services and adds
// the sample wallet phone's funding card to the sample device's wallet:
// the green path, or a step-up with the OTP read from the cardholder's
// inbox when the issuer asks for one.
func (n *Network) provisionSampleWallet(ctx context.Context, o ProvisioningOptions) error {
	prof, err := cards.Builtin(SampleWalletProfile)
	if err != nil {
		return fmt.Errorf("%w: %w", errSampleWallet, err)
	}
	if prof.App == nil || prof.App.Token == nil || prof.Phone == nil || len(prof.Phone.DeviceID) == 0 {
		return fmt.Errorf("%w: profile %s names no funding card or device", errSampleWallet, SampleWalletProfile)
	}
	p, err := StartProvisioning(ctx, n, o)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.prov = p
	n.mu.Unlock()
	fc, err := fundingCard(ctx, n, prof.App.Token.FundingPAN)
	if err != nil {
		return fmt.Errorf("%w: funding card: %w", errSampleWallet, err)
	}
	device := deviceID(prof)
	res, err := p.addToWallet(ctx, WalletRequest{Profile: fc.CardID, DeviceID: device, OTP: OTPAuto}, fc, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", errSampleWallet, err)
	}
	if res.Phone == nil {
		return fmt.Errorf("%w: %s %s, token %s", errSampleWallet, res.Decision, res.Reason, res.Status)
	}
	n.mu.Lock()
	n.sample = SampleWallet{App: res.App, TokenRef: res.TokenUniqueReference, DeviceID: device, Masked: res.Masked,
		Phone: res.Phone}
	n.mu.Unlock()
	return nil
}

// SampleWallet is the world's wallet phone, provisioned through the wallet
// flow when the world was created.
func (n *Network) SampleWallet() SampleWallet {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sample
}

// Provisioning is the world's wallet-flow services (the token service the
// issuer operates and the wallet provider), started with the world.
func (n *Network) Provisioning() *Provisioning {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.prov
}

// Card is the world's card or phone of Profile(name): the sample wallet
// phone (SampleWalletProfile), the sample HCE phones (SampleHCEProfile, SampleHCEMCProfile) and
// the sample SE phones (SampleSEProfiles) are the ones the world
// provisioned, the same phone at every call; any other is built from its
// profile, its clock frozen at now (Card). Paths without a world (a tap
// or a terminal against an issuer run on its own, a card served over
// vpcd) build every phone from its profile.
func (n *Network) Card(name string, now time.Time) (cards.Card, error) {
	if c, ok := n.sampleSECard(name); ok {
		return c, nil
	}
	if name == SampleWalletProfile {
		if w := n.SampleWallet(); w.Phone != nil {
			return w.Phone, nil
		}
	}
	if h, ok := n.sampleHCE(name); ok {
		return h.Phone, nil
	}
	return Card(name, now)
}

// reportWalletLost reports the world's wallet phone lost at the token
// service (ReportDeviceLost).
func (n *Network) reportWalletLost(ctx context.Context) (string, error) {
	p, w := n.Provisioning(), n.SampleWallet()
	if p == nil || w.Phone == nil {
		return "", fmt.Errorf("%w: not provisioned", errSampleWallet)
	}
	return p.ReportDeviceLost(ctx, w.DeviceID)
}

// ReportDeviceLost reports the wallet phone of device deviceID lost at the
// token service, as the issuer's service centre would on the cardholder's
// call (R-C1): every token bound to the device is suspended, in the token
// service and in the issuer's vault at once. It says which tokens were
// active until then.
func (p *Provisioning) ReportDeviceLost(ctx context.Context, deviceID string) (string, error) {
	toks, err := p.bridge.ByDevice(ctx, deviceID)
	if err != nil {
		return "", err
	}
	if len(toks) == 0 {
		return "", fmt.Errorf("device %s holds no token of the token service", deviceID)
	}
	var active []string
	live := 0
	for _, t := range toks {
		if t.Status == wire.StatusActive {
			active = append(active, t.TokenUniqueReference)
		}
		if t.Status != wire.StatusDeactivated {
			live++
		}
	}
	if live > 0 {
		if _, err := p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionSuspend, DeviceID: deviceID,
			Reason: "DEVICE_LOST"}); err != nil {
			return "", err
		}
	}
	suspended := "none left active"
	if len(active) > 0 {
		suspended = strings.Join(active, ", ")
	}
	return fmt.Sprintf("device %s: tokens suspended at the token service: %s", deviceID, suspended), nil
}
