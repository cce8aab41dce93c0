package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/tui"
)

// tuiHCEFlow is the phone panel's "Enrol HCE phone" over the world's
// cloud platform (lab.Network.Cloud).
type tuiHCEFlow struct {
	n      *lab.Network
	wallet *tuiWalletFlow // for unique wallet entry names

	mu      sync.Mutex
	entries map[string]lab.HCEResult // the phones enrolled, by wallet entry
}

// enrol is tui.Backend.EnrolHCE: lab.Cloud.EnrolHCE, its steps and the
// OTP question handed to the UI.
func (f *tuiHCEFlow) enrol(ctx context.Context, req tui.WalletAdd) (tui.WalletAdded, error) {
	if !deviceIDRE.MatchString(req.DeviceID) {
		return tui.WalletAdded{}, usageErr("the device ID must be 1 to 8 bytes in hex")
	}
	cl := f.n.Cloud()
	if cl == nil {
		return tui.WalletAdded{}, fmt.Errorf("cloud platform not running")
	}
	dev := strings.ToUpper(req.DeviceID)
	hr := lab.HCERequest{Profile: req.Card, DeviceID: dev, MobilePIN: req.MobilePIN}
	if req.OTP != nil {
		hr.AskOTP = func(ctx context.Context, q lab.OTPQuestion) (string, error) {
			return req.OTP(ctx, tui.OTPAsk{Recipient: q.Recipient, Masked: q.Masked, TriesLeft: q.TriesLeft})
		}
	}
	res, err := cl.EnrolHCE(ctx, hr, func(s lab.Step) {
		if req.Step != nil {
			req.Step(s.Name, s.Detail)
		}
	})
	if err != nil {
		return tui.WalletAdded{}, err
	}
	last4 := res.Masked[max(len(res.Masked)-4, 0):]
	name := f.wallet.name("hce-" + last4 + "@" + dev[max(len(dev)-4, 0):])
	f.mu.Lock()
	f.entries[name] = res
	f.mu.Unlock()
	return tui.WalletAdded{Name: name, Card: res.Phone,
		Note: fmt.Sprintf("card ending %s on the phone, %d limited-use keys", last4, res.Card.KeysLeft()),
		Info: tui.CardInfo{Summary: fmt.Sprintf("enrolled: cloud card %s of %s on device %s (HCE, limited-use keys)",
			res.Masked, req.Card, dev), Passcode: lab.SampleHCEPasscode}}, nil
}

func (f *tuiHCEFlow) entry(name string) (lab.HCEResult, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[name]
	return e, ok
}

// replenish is tui.Backend.Replenish: a phone enrolled on the panel asks
// the cloud platform when at its low-water mark; the others go to
// lab.Replenish.
func (f *tuiHCEFlow) replenish(ctx context.Context, name string, c cards.Card) (int, error) {
	e, ok := f.entry(name)
	if !ok {
		return lab.Replenish(ctx, f.n, name, c)
	}
	ph, _ := cards.Phone(c)
	if ph == nil || !ph.NeedsReplenish() {
		return 0, nil
	}
	before := e.Card.KeysLeft()
	left, err := e.App.Replenish(ctx, e.Ref)
	if err != nil {
		return 0, fmt.Errorf("replenish: %w", err)
	}
	return left - before, nil
}

// reportLost is tui.Backend.ReportLost: a phone enrolled on the panel is
// reported lost at the cloud platform (its binding and keys suspended,
// R-C1); the others go to the wallet flow's.
func (f *tuiHCEFlow) reportLost(ctx context.Context, name string) (string, error) {
	e, ok := f.entry(name)
	if !ok {
		return f.wallet.reportLost(ctx, name)
	}
	b, err := f.n.Cloud().Service().ReportLost("service-centre", e.Ref, e.App.DeviceID())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("device %s: cloud binding of %s %s, its %d keys refused from now on", b.DeviceID, e.Ref,
		strings.ToLower(b.Status), e.Card.KeysLeft()), nil
}

// tuiHCECards lists the sample cards a new HCE phone can enrol from the
// panel, and those of them that need a mobile PIN (Mastercard-like).
func tuiHCECards() (all, pin []string) {
	for _, n := range tuiFundingCards() {
		if _, err := lab.HCEProfile(n); err != nil {
			continue
		}
		all = append(all, n)
		if lab.IsMCCloud(n) {
			pin = append(pin, n)
		}
	}
	return all, pin
}
