package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/tui"
)

// tuiWalletFlow is the phone panel's "Add card to wallet" over the
// world's provisioning services (lab.Network.Provisioning).
type tuiWalletFlow struct {
	n *lab.Network

	mu      sync.Mutex
	stepUp  map[string]bool // by device ID
	names   map[string]bool
	entries map[string]walletEntry // the phones added, by wallet entry
}

// walletEntry is a wallet phone of the UI: its wallet app, token and
// device.
type walletEntry struct {
	app         *walletapp.App
	tur, device string
}

func newTUIWalletFlow() *tuiWalletFlow {
	return &tuiWalletFlow{stepUp: map[string]bool{}, names: map[string]bool{}, entries: map[string]walletEntry{}}
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
	dev, err := authz.NormaliseDeviceID(req.DeviceID)
	if err != nil {
		return tui.WalletAdded{}, usageErr("the device ID must be 1 to 8 bytes in hex")
	}
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
	f.mu.Lock()
	f.entries[out.Name] = walletEntry{app: res.App, tur: res.TokenUniqueReference, device: dev}
	f.mu.Unlock()
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

// entry is the wallet phone of wallet entry name: a phone added on the
// panel, or the world's wallet phone.
func (f *tuiWalletFlow) entry(name string) (walletEntry, bool) {
	if name == lab.SampleWalletProfile && f.n != nil {
		if w := f.n.SampleWallet(); w.App != nil {
			return walletEntry{app: w.App, tur: w.TokenRef, device: w.DeviceID}, true
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[name]
	return e, ok
}

// walletToken is tui.Backend.WalletToken: the cardholder's action in the
// phone's wallet app, which goes to the wallet provider, the token
// service and the issuer.
func (f *tuiWalletFlow) walletToken(ctx context.Context, name string, action tui.WalletAction) (string, error) {
	e, ok := f.entry(name)
	if !ok {
		return "", tui.ErrNoWalletToken
	}
	var err error
	switch action {
	case tui.WalletSuspend:
		_, err = e.app.Suspend(ctx, e.tur)
	case tui.WalletResume:
		_, err = e.app.Resume(ctx, e.tur)
	case tui.WalletDelete:
		_, err = e.app.Delete(ctx, e.tur)
	case tui.WalletRefresh:
		err = e.app.Refresh(ctx)
	default:
		return "", fmt.Errorf("unknown wallet action %q", action)
	}
	if err != nil {
		return "", err
	}
	return f.tokenState(name), nil
}

// tokenState is tui.Backend.TokenState: the token as the wallet app last
// saw it, masked.
func (f *tuiWalletFlow) tokenState(name string) string {
	e, ok := f.entry(name)
	if !ok {
		return ""
	}
	t, ok := e.app.Token(e.tur)
	if !ok {
		return ""
	}
	s := t.Masked + " " + t.Status
	if len(t.SuspendedBy) > 0 {
		s += " (by " + strings.Join(t.SuspendedBy, ", ") + ")"
	}
	return s
}

// reportLost is tui.Backend.ReportLost: a phone added on the panel is
// reported lost at the token service, every token of its device suspended
// (R-C1); the sample cards and phones go to lab.ReportLost. A wallet
// phone's app then reads its tokens' states, as the wallet provider's
// notice would have it do, so that the panel shows the suspension.
func (f *tuiWalletFlow) reportLost(ctx context.Context, name string) (string, error) {
	f.mu.Lock()
	added, ok := f.entries[name]
	f.mu.Unlock()
	var (
		summary string
		err     error
	)
	if ok {
		var p *lab.Provisioning
		if p, err = f.provisioning(ctx); err == nil {
			summary, err = p.ReportDeviceLost(ctx, added.device)
		}
	} else {
		summary, err = lab.ReportLost(ctx, f.n, name)
	}
	if err != nil {
		return "", err
	}
	if e, ok := f.entry(name); ok {
		if err := e.app.Refresh(ctx); err != nil {
			summary += "; the wallet app could not read its tokens: " + err.Error()
		}
	}
	return summary, nil
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
