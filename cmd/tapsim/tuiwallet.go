package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/tui"
)

// tuiWalletFlow is the phone panel's "Add card to wallet" over the
// world's provisioning services (lab.Network.Provisioning).
type tuiWalletFlow struct {
	n *lab.Network

	mu     sync.Mutex
	stepUp map[string]bool // by device ID
	names  map[string]bool
}

func newTUIWalletFlow() *tuiWalletFlow {
	return &tuiWalletFlow{stepUp: map[string]bool{}, names: map[string]bool{}}
}

// recommend is the token service's recommendation (lab.Options.Recommend):
// a step-up when the tester chose one for the device.
func (f *tuiWalletFlow) recommend(r tokensvc.IDVRequest) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stepUp[strings.ToUpper(r.DeviceID)] {
		return wire.DecisionRequireAuthN
	}
	return ""
}

// provisioning is the world's services.
func (f *tuiWalletFlow) provisioning(context.Context) (*lab.Provisioning, error) {
	if f.n == nil || f.n.Provisioning() == nil {
		return nil, errors.New("provisioning services not running")
	}
	return f.n.Provisioning(), nil
}

// add is tui.Backend.AddToWallet: lab.AddToWallet, its steps and OTP
// questions handed to the UI.
func (f *tuiWalletFlow) add(ctx context.Context, req tui.WalletAdd) (tui.WalletAdded, error) {
	if !deviceIDRE.MatchString(req.DeviceID) {
		return tui.WalletAdded{}, usageErr("the device ID must be 1 to 8 bytes in hex")
	}
	dev := strings.ToUpper(req.DeviceID)
	p, err := f.provisioning(ctx)
	if err != nil {
		return tui.WalletAdded{}, err
	}
	f.mu.Lock()
	f.stepUp[dev] = req.StepUp
	f.mu.Unlock()
	wr := lab.WalletRequest{Profile: req.Card, DeviceID: dev}
	if req.OTP != nil {
		wr.AskOTP = func(ctx context.Context, q lab.OTPQuestion) (string, error) {
			return req.OTP(ctx, tui.OTPAsk{Recipient: q.Recipient, Masked: q.Masked, TriesLeft: q.TriesLeft})
		}
	}
	res, err := p.AddToWallet(ctx, wr, func(s lab.Step) {
		if req.Step != nil {
			req.Step(s.Name, s.Detail)
		}
	})
	if err != nil {
		return tui.WalletAdded{}, err
	}
	out := tui.WalletAdded{Note: walletNote(res)}
	if res.Phone == nil {
		return out, nil
	}
	last4 := res.Masked[max(len(res.Masked)-4, 0):]
	out.Name, out.Card = f.name("token-"+last4+"@"+dev[max(len(dev)-4, 0):]), res.Phone
	out.Info = tui.CardInfo{
		Summary:  fmt.Sprintf("provisioned: token %s %s, %s on device %s", res.Masked, res.Status, req.Card, dev),
		Passcode: lab.SampleWalletPasscode,
	}
	return out, nil
}

// name is base, or base with a number when a wallet entry has it already.
func (f *tuiWalletFlow) name(base string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := base
	for i := 2; f.names[name]; i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	f.names[name] = true
	return name
}

// walletNote says how adding a card ended, in one line.
func walletNote(r lab.WalletResult) string {
	switch {
	case r.Decision == wire.DecisionDeclined:
		return "declined: " + r.Reason
	case r.OTP == wire.ResultRetriesExceeded:
		return "locked: too many wrong OTPs, token " + r.TokenUniqueReference + " " + r.Status
	case r.OTP != "" && r.OTP != wire.ResultSuccess:
		return "OTP " + r.OTP + ", token " + r.Status
	case r.Phone == nil:
		return "the token did not reach the phone (" + r.Status + ")"
	}
	last4 := r.Masked[max(len(r.Masked)-4, 0):]
	return "token ending " + last4 + " " + r.Status
}

// inbox is tui.Backend.Inbox: the issuer's message centre.
func (f *tuiWalletFlow) inbox(ctx context.Context, to string) ([]tui.InboxMessage, error) {
	p, err := f.provisioning(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := p.Inbox(ctx, to)
	if err != nil {
		return nil, err
	}
	out := make([]tui.InboxMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, tui.InboxMessage{At: m.At, Channel: m.Channel, Kind: m.Kind, Body: m.Body})
	}
	return out, nil
}

// tuiFundingCards lists the sample plastic cards a phone can add.
func tuiFundingCards() []string {
	var out []string
	for _, n := range tuiWallet() {
		p, err := cards.Builtin(n)
		if err != nil || p.App == nil || p.Phone != nil || (p.FormFactor != "" && p.FormFactor != cards.FormPlastic) {
			continue
		}
		out = append(out, n)
	}
	return out
}
