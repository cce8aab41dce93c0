package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// ErrIssuerDown reports that the embedded issuer host is stopped.
var ErrIssuerDown = errors.New("issuer host not running")

// LostReason is what a lost-phone report (ReportLost) records at the
// issuer.
const LostReason = "reported lost by the cardholder"

// Profile reads a built-in profile by name, or a profile file when name
// is a path (holds a slash) or ends in .yaml.
func Profile(name string) (cards.Profile, error) {
	if strings.ContainsAny(name, `/\`) || strings.HasSuffix(name, ".yaml") {
		return cards.Load(name)
	}
	return cards.Builtin(name)
}

// Card builds the card or phone of Profile(name), its clock frozen at now.
func Card(name string, now time.Time) (cards.Card, error) {
	p, err := Profile(name)
	if err != nil {
		return nil, err
	}
	return cards.FromProfile(p, cards.Options{Clock: func() time.Time { return now }})
}

// profileApps lists the applications of profile p, its main one first.
func profileApps(p cards.Profile) []cards.AppProfile {
	if p.App != nil {
		return append([]cards.AppProfile{*p.App}, p.Apps...)
	}
	return p.Apps
}

// deviceID is the issuer's ID of the phone of profile p: its hardware ID
// in hex.
func deviceID(p cards.Profile) string { return fmt.Sprintf("%X", []byte(p.Phone.DeviceID)) }

// Replenish asks for keys for the HCE phone c of built-in profile name,
// one of the world's HCE phones (SampleHCEProfile, SampleHCEMCProfile):
// it asks the cloud platform through its app when it holds its low-water
// mark of keys or fewer, and returns the number of keys loaded (0 when the
// phone saw no need).
func Replenish(ctx context.Context, n *Network, name string, c cards.Card) (int, error) {
	h, world := n.sampleHCE(name)
	if !world || h.Phone != c {
		if p, err := cards.Builtin(name); err != nil || p.FormFactor != cards.FormHCEPhone {
			return 0, fmt.Errorf("replenish: %s is not an HCE phone", name)
		}
		return 0, fmt.Errorf("replenish: %s is not enrolled with the world's cloud platform", name)
	}
	if n.Issuer() == nil {
		return 0, fmt.Errorf("replenish: %w", ErrIssuerDown)
	}
	return n.replenishSampleHCE(ctx, h)
}

// ReportLost reports the phone of built-in profile name lost to the
// embedded issuer (R-C1) and says, for the cardholder, what the issuer
// did. What it does follows what the phone holds, as the sample data makes
// it of the profile (IssuerSeed): the world's HCE phone (SampleHCE) is
// reported lost to the cloud platform it enrolled with, which suspends its
// binding and every key issued to it; another HCE phone bound to a device is
// reported lost to the cloud platform, which suspends every token bound to
// the device and voids its unused single-use keys in one transaction; the
// world's wallet phone (SampleWallet) is reported lost at the token
// service, which suspends every token of the device; another phone holding
// tokens has its tokens suspended in the vault; a phone holding cards (an SE phone) has them
// marked lost in the card store. Each change is recorded with the reason
// LostReason. A plastic card, or a name that is no built-in profile, is
// not a phone.
func ReportLost(ctx context.Context, n *Network, name string) (string, error) {
	p, err := cards.Builtin(name)
	if err != nil || !slices.Contains([]string{cards.FormSEPhone, cards.FormHCEPhone, cards.FormWallet}, p.FormFactor) {
		return "", fmt.Errorf("%s is not a phone", name)
	}
	iss := n.Issuer()
	if iss == nil {
		return "", ErrIssuerDown
	}
	var done []string
	if h, world := n.sampleHCE(p.Name); world {
		// The world's HCE phone got its card from the cloud platform: the
		// platform suspends its binding and the ledger its keys.
		s, err := n.reportSampleHCELost(ctx, h)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		done = append(done, s)
	} else if p.FormFactor == cards.FormHCEPhone {
		return "", fmt.Errorf("%s is not enrolled with the world's cloud platform", name)
	} else if p.Name == SampleWalletProfile && n.SampleWallet().Phone != nil {
		// The world's wallet phone got its token through the wallet flow:
		// the token service suspends every token of the device.
		s, err := n.reportWalletLost(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		done = append(done, s)
	} else if slices.ContainsFunc(profileApps(p), func(a cards.AppProfile) bool { return a.Token != nil }) {
		// The sample data names a profile's token after the profile.
		s, err := suspendToken(ctx, iss, p.Name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		done = append(done, s)
	}
	for _, a := range profileApps(p) {
		if a.Token != nil || a.PAN == "" {
			continue
		}
		s, err := markCardLost(ctx, iss, a.PAN)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		done = append(done, s)
	}
	if len(done) == 0 {
		return "", fmt.Errorf("%s holds no card or token the issuer knows", name)
	}
	return strings.Join(done, "; "), nil
}

// suspendToken suspends token id in the issuer's vault.
func suspendToken(ctx context.Context, iss *issuerhost.Server, id string) (string, error) {
	var was store.TokenStatus
	if err := iss.Store().View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, id)
		was = k.Status
		return err
	}); err != nil {
		return "", err
	}
	if was == store.TokenSuspended {
		return "token " + id + " already suspended", nil
	}
	if err := iss.Vault().Suspend(ctx, id, LostReason); err != nil {
		return "", err
	}
	return "token suspended: " + id, nil
}

// markCardLost marks the issuer's card with PAN p lost; what it reports
// names the card by its ID, never by its PAN.
func markCardLost(ctx context.Context, iss *issuerhost.Server, p string) (string, error) {
	var id string
	if err := iss.Store().View(ctx, func(tx *store.Tx) error {
		c, err := tx.CardByPAN(ctx, p)
		id = c.ID
		return err
	}); err != nil {
		return "", err
	}
	changed, err := iss.Engine().ReportCardLost(ctx, id, LostReason)
	if err != nil {
		return "", err
	}
	if !changed {
		return "card " + id + " already lost", nil
	}
	return "card marked lost: " + id, nil
}
