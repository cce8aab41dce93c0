package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/tui"
)

// tuiSEFirstSerial is the serial number of the first SE the phone panel
// makes; the world's own SE phones have the serials below it.
const tuiSEFirstSerial = 100

// tuiSEFlow is the phone panel's "Personalise SE over the air" over the
// world's TSMs (lab.Network.SEPlatform).
type tuiSEFlow struct {
	n      *lab.Network
	wallet *tuiWalletFlow // for unique wallet entry names
	lost   func(ctx context.Context, name string) (string, error)

	mu      sync.Mutex
	serial  uint32
	entries map[string]string // the profile of each phone personalised, by wallet entry
}

// personalise is tui.Backend.PersonaliseSE: a new phone whose SE the
// operator registered for the cardholder, personalised through
// lab.SEPlatform.Personalise; its steps, OTA trace and OTP question handed
// to the UI.
func (f *tuiSEFlow) personalise(ctx context.Context, req tui.WalletAdd) (tui.WalletAdded, error) {
	if !deviceIDRE.MatchString(req.DeviceID) {
		return tui.WalletAdded{}, usageErr("the device ID must be 1 to 8 bytes in hex")
	}
	prof, err := cards.Builtin(req.Card)
	if err != nil || prof.FormFactor != cards.FormSEPhone || prof.App == nil {
		return tui.WalletAdded{}, usageErr("%s is not a built-in se-phone profile", req.Card)
	}
	p := f.n.SEPlatform()
	if p == nil {
		return tui.WalletAdded{}, fmt.Errorf("TSMs not running")
	}
	f.mu.Lock()
	serial := tuiSEFirstSerial + f.serial
	f.serial++
	f.mu.Unlock()
	dev := strings.ToUpper(req.DeviceID)
	d, err := p.NewSEDevice(dev, serial, true)
	if err != nil {
		return tui.WalletAdded{}, err
	}
	mode := "owned by the issuer (R-M1)"
	if req.Shared {
		mode = "shared with an SE operator (R-M2)"
	}
	step := func(s string) {
		if req.Step == nil {
			return
		}
		name, detail, ok := strings.Cut(s, ": ")
		if !ok {
			name, detail = "", s
		}
		req.Step(name, detail)
	}
	step(fmt.Sprintf("SE operator: SE %s of device %s %s, registered for the cardholder", d.SEID, dev, mode))
	r := lab.SERun{Profile: req.Card, Shared: req.Shared, Step: step, Trace: req.Trace}
	if req.OTP != nil {
		r.AskOTP = func(ctx context.Context, to string, left int) (string, error) {
			return req.OTP(ctx, tui.OTPAsk{Recipient: to, Masked: maskedPhone(to), TriesLeft: left})
		}
	}
	res, err := p.Personalise(ctx, d, r)
	if err != nil {
		return tui.WalletAdded{}, err
	}
	if res.Outcome != tsm.ReasonPersonalised {
		return tui.WalletAdded{Note: "SE not personalised: " + res.Outcome}, nil
	}
	masked := pan.Mask(prof.App.PAN)
	last4 := pan.Last4(prof.App.PAN)
	name := f.wallet.name("se-" + last4 + "@" + dev[max(len(dev)-4, 0):])
	f.mu.Lock()
	f.entries[name] = req.Card
	f.mu.Unlock()
	return tui.WalletAdded{Name: name, Card: d.Phone,
		Note: fmt.Sprintf("card ending %s in the SE over the air, %d payment application(s)", last4, res.Apps),
		Info: tui.CardInfo{Summary: fmt.Sprintf("personalised over the air: card %s of %s in SE %s (%s) of device %s",
			masked, req.Card, d.SEID, mode, dev), Passcode: d.Passcode, PIN: lab.SamplePIN}}, nil
}

// reportLost is tui.Backend.ReportLost: a phone personalised on the panel
// holds its profile's card, which the issuer marks lost; the others go to
// the next flow's.
func (f *tuiSEFlow) reportLost(ctx context.Context, name string) (string, error) {
	f.mu.Lock()
	prof, ok := f.entries[name]
	f.mu.Unlock()
	if !ok {
		return f.lost(ctx, name)
	}
	return lab.ReportLost(ctx, f.n, prof)
}

// tuiSECards lists the se-phone sample cards the panel can personalise.
func tuiSECards() []string {
	var out []string
	for _, n := range cards.BuiltinNames() {
		if p, err := cards.Builtin(n); err == nil && p.FormFactor == cards.FormSEPhone && p.App != nil {
			out = append(out, n)
		}
	}
	return out
}

// maskedPhone shows a phone number's last 4 digits only.
func maskedPhone(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}
