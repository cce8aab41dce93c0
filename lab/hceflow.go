package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/provision/wire"
)

// HCERequest is one phone's enrolment with the world's cloud platform
// (EnrolHCE).
type HCERequest struct {
	// Profile is the built-in plastic card profile of the card to put on
	// the phone: a Visa-like card takes the platform's visa-cloud model, a
	// Mastercard-like one its mc-cloud model (MobilePIN needed).
	Profile string
	// MobilePIN is the PIN the cardholder sets for an mc-cloud card at
	// registration and types at each tap (it unlocks the UMD key).
	MobilePIN string
	// DeviceID is the new phone's hardware device ID (hex).
	DeviceID string
	// OTP is the one-time password the cardholder answers: OTPAuto reads
	// it from the cardholder's inbox, otherwise it is sent as given.
	OTP string
	// AskOTP, when set, asks a person for the OTP instead (OTP is then
	// ignored); one try, a wrong code is refused by the platform.
	AskOTP func(ctx context.Context, q OTPQuestion) (string, error)
	// Passcode is the phone's passcode, unlocked before each tap
	// (SampleHCEPasscode when empty).
	Passcode string
	// CardPasscode, when set, is the cardholder's issuer-set passcode
	// (the card's PIN, R-G3a): the registration is verified by it instead
	// of an OTP (OTP and AskOTP are then ignored).
	CardPasscode string
	// TapAmount, when positive, is the amount (minor units) of each of
	// Taps taps (1 when Taps is 0) after the download.
	TapAmount int64
	Taps      int
	// Replenish asks the platform for keys after the taps.
	Replenish bool
}

// SampleHCEPasscode is the passcode of the phones EnrolHCE makes (the
// hce-phone profile's).
const SampleHCEPasscode = "5791"

// sampleHCEMCProfile is the profile of EnrolHCE's phones of mc-cloud
// cards: its passcode and ODA keys.
const sampleHCEMCProfile = "hce-phone-mc"

// HCEResult is what EnrolHCE did.
type HCEResult struct {
	// Ref is the card account's reference at the platform.
	Ref string
	// Masked is the cloud account number masked.
	Masked string
	// App, Card and Phone are the phone's HCE app, the card it
	// downloaded and the phone paying with it; nil when refused.
	App   *hceapp.App
	Card  *hceapp.Card
	Phone cards.Card
	// Taps are the issuer's answers to the taps, in order.
	Taps []isospec.ResponseCode
	// Replenished is the number of keys the replenishment loaded.
	Replenished int
}

// ErrHCEProfile reports a profile the cloud platform cannot enrol.
var ErrHCEProfile = errors.New("not a Visa-like or Mastercard-like plastic card profile")

// HCEProfile reads built-in profile name, a Visa-like or
// Mastercard-like plastic card the cloud platform can enrol
// (ErrHCEProfile otherwise).
func HCEProfile(name string) (cards.Profile, error) {
	p, err := cards.Builtin(name)
	if err != nil || (p.FormFactor != "" && p.FormFactor != cards.FormPlastic) || p.App == nil ||
		hceCVN(p) == "" || len(p.App.PAN) != 16 {
		return cards.Profile{}, fmt.Errorf("%s: %w", name, ErrHCEProfile)
	}
	return p, nil
}

// hceCVN is the cloud model of plastic profile p's card, "" for none.
func hceCVN(p cards.Profile) string {
	switch {
	case p.App == nil:
		return ""
	case strings.EqualFold(p.App.Scheme, "visa"):
		return wire.HCECVNVisaCloud
	case strings.EqualFold(p.App.Scheme, "mastercard"):
		return wire.HCECVNMCCloud
	}
	return ""
}

// IsMCCloud reports whether the card of HCEProfile(name) takes the
// mc-cloud model (a mobile PIN at registration and at each tap).
func IsMCCloud(name string) bool {
	p, err := HCEProfile(name)
	return err == nil && hceCVN(p) == wire.HCECVNMCCloud
}

// cloudAccount is the platform's reference of the card account of plastic
// profile name, and its cloud account number: the sample cloud range
// (489537 for a Visa-like card, 520474 for a Mastercard-like one), the
// funding PAN's middle digits, a Luhn check digit.
func cloudAccount(name, funding string) (string, string, error) {
	if len(funding) != 16 {
		return "", "", fmt.Errorf("%w: %s", ErrHCEProfile, name)
	}
	prefix := "489537"
	if funding[0] == '5' {
		prefix = "520474"
	}
	body := prefix + funding[6:15]
	d, err := pan.CheckDigit(body)
	if err != nil {
		return "", "", err
	}
	return "cloud-" + name, body + string(d), nil
}

// hceAccount finds the card profile of an HCE enrolment, its cloud account
// (reference and cloud account number) and its cloud CVN, and checks that a
// mobile PIN comes with a Mastercard-like card and only with one.
func hceAccount(r HCERequest) (p cards.Profile, ref, cloudPAN, cvn string, res HCEResult, err error) {
	if p, err = HCEProfile(r.Profile); err != nil {
		return p, "", "", "", HCEResult{}, err
	}
	if ref, cloudPAN, err = cloudAccount(p.Name, p.App.PAN); err != nil {
		return p, "", "", "", HCEResult{}, err
	}
	res = HCEResult{Ref: ref, Masked: pan.Mask(cloudPAN)}
	cvn = hceCVN(p)
	if (cvn == wire.HCECVNMCCloud) != (r.MobilePIN != "") {
		return p, ref, cloudPAN, cvn, res, fmt.Errorf("%s: a mobile PIN goes with a Mastercard-like card, and only with one", r.Profile)
	}
	return p, ref, cloudPAN, cvn, res, nil
}

// EnrolHCE enrols a new phone for the card of r.Profile on the world's
// cloud platform, step by step as step reports them (masked): the card
// account, the registration with the card's security code, the OTP the
// cardholder answers, the challenge-signed download, then r.Taps taps at
// the world's terminal and a replenishment when asked. A refusal of the
// platform ends the flow with its error.
func (c *Cloud) EnrolHCE(ctx context.Context, r HCERequest, step func(Step)) (HCEResult, error) {
	if step == nil {
		step = func(Step) {}
	}
	p, ref, cloudPAN, cvn, res, err := hceAccount(r)
	if err != nil {
		return res, err
	}
	fc, err := c.addCardAccount(ctx, ref, p.App.PAN, cloudPAN, yymm(p.App.Expiry), "00", cvn)
	if err != nil {
		return res, err
	}
	step(Step{"card account", fmt.Sprintf("%s: card %s, phones present %s", ref, pan.Mask(fc.Card.PAN), res.Masked)})
	app, err := c.NewApp(r.DeviceID)
	if err != nil {
		return res, err
	}
	res.App = app
	step(Step{"device keys", app.String()})
	if r.CardPasscode != "" {
		if err := registerByPasscode(ctx, app, c.RequestID(), ref, cvn, fc, &r, &res, c.clock, c.rand, step); err != nil {
			return res, err
		}
		return c.tapAndReplenish(ctx, app, ref, r, res, step)
	}
	reg, err := app.Register(ctx, c.RequestID(), ref, fc.Card.SecurityCode, "", r.MobilePIN)
	if err != nil {
		return res, fmt.Errorf("register: %w", err)
	}
	step(Step{"register", fmt.Sprintf("registration %s: OTP sent by %s to %s", reg.RegistrationID, reg.Method, reg.Contact)})
	otp := r.OTP
	if r.AskOTP != nil {
		if otp, err = r.AskOTP(ctx, OTPQuestion{Recipient: fc.Phone, Masked: reg.Contact, Method: reg.Method, TriesLeft: -1}); err != nil {
			return res, err
		}
		step(Step{"otp", "typed by the cardholder"})
	} else if otp == "" || otp == OTPAuto {
		code, ok, err := c.p.LastOTP(ctx, fc.Phone)
		if err != nil {
			return res, err
		}
		if !ok {
			return res, errors.New("no one-time password in the cardholder's inbox")
		}
		otp = code
		step(Step{"otp", "read from the cardholder's inbox"})
	} else {
		step(Step{"otp", "as typed"})
	}
	if err := bindAndBuild(ctx, app, reg.RegistrationID, otp, ref, cvn, fc, &r, &res, c.clock, c.rand, step); err != nil {
		return res, err
	}
	return c.tapAndReplenish(ctx, app, ref, r, res, step)
}

// tapAndReplenish ends EnrolHCE: r.Taps taps at the world's terminal,
// then a replenishment when asked.
func (c *Cloud) tapAndReplenish(ctx context.Context, app *hceapp.App, ref string, r HCERequest, res HCEResult, step func(Step)) (HCEResult, error) {
	card := res.Card
	taps := r.Taps
	if taps == 0 && r.TapAmount > 0 {
		taps = 1
	}
	for i := range taps {
		code, why, err := c.Tap(ctx, res.Phone, r.Passcode, r.TapAmount)
		if err != nil {
			return res, fmt.Errorf("tap %d: %w", i+1, err)
		}
		res.Taps = append(res.Taps, code)
		detail := fmt.Sprintf("DE39 %s, keys left %d", code, card.KeysLeft())
		if why != "" {
			detail += " (" + string(why) + ")"
		}
		step(Step{fmt.Sprintf("tap %d", i+1), detail})
	}
	if r.Replenish {
		before := card.KeysLeft()
		left, err := app.Replenish(ctx, ref)
		if err != nil {
			return res, fmt.Errorf("replenish: %w", err)
		}
		res.Replenished = left - before
		step(Step{"replenish", fmt.Sprintf("%d keys loaded, keys left %d -> %d", res.Replenished, before, left)})
	}
	return res, nil
}

// registerByPasscode registers app for card account ref with the
// cardholder's issuer-set passcode r.CardPasscode (no OTP: the phone is
// bound at once when it is right), then downloads and builds the phone as
// bindAndBuild does.
func registerByPasscode(ctx context.Context, app *hceapp.App, requestID, ref, cvn string, fc FundingCard, r *HCERequest, res *HCEResult,
	clock func() time.Time, rnd io.Reader, step func(Step)) error {
	reg, err := app.RegisterWithPasscode(ctx, requestID, ref, fc.Card.SecurityCode, r.CardPasscode, r.MobilePIN)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if reg.Binding == nil {
		return errors.New("register: the platform bound nothing")
	}
	step(Step{"register", fmt.Sprintf("registration %s: cardholder verified by the issuer-set passcode, no OTP", reg.RegistrationID)})
	step(Step{"bound", fmt.Sprintf("binding %s: device %s, %s", reg.Binding.BindingID, reg.Binding.DeviceID, reg.Binding.Status)})
	return downloadAndBuild(ctx, app, ref, cvn, fc, r, res, clock, rnd, step)
}

// bindAndBuild ends an HCE enrolment after the registration: the OTP
// binds the phone, the phone downloads its card and keys, and res.Phone is
// the sample HCE phone holding them (r.Passcode defaulted to the sample's).
func bindAndBuild(ctx context.Context, app *hceapp.App, regID, otp, ref, cvn string, fc FundingCard, r *HCERequest, res *HCEResult,
	clock func() time.Time, rnd io.Reader, step func(Step)) error {
	b, err := app.VerifyRegistration(ctx, regID, otp)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	step(Step{"bound", fmt.Sprintf("binding %s: device %s, %s", b.BindingID, b.DeviceID, b.Status)})
	return downloadAndBuild(ctx, app, ref, cvn, fc, r, res, clock, rnd, step)
}

// downloadAndBuild downloads the bound phone's card and keys; res.Phone
// is the sample HCE phone holding them (r.Passcode defaulted to the
// sample's).
func downloadAndBuild(ctx context.Context, app *hceapp.App, ref, cvn string, fc FundingCard, r *HCERequest, res *HCEResult,
	clock func() time.Time, rnd io.Reader, step func(Step)) error {
	card, err := app.Download(ctx, ref)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	res.Card = card
	step(Step{"download", fmt.Sprintf("challenge signed by the device key; %s, %d limited-use keys", card, card.KeysLeft())})
	phoneProfile, pin := SampleHCEProfile, func() string { return "" }
	if cvn == wire.HCECVNMCCloud {
		phoneProfile, pin = sampleHCEMCProfile, func() string { return r.MobilePIN }
	}
	prof, err := cards.Builtin(phoneProfile)
	if err != nil {
		return err
	}
	if res.Phone, err = hcePhone(prof, card, pin, pan.Last4(fc.Card.PAN), clock, rnd); err != nil {
		return err
	}
	if r.Passcode == "" {
		r.Passcode = SampleHCEPasscode
	}
	return nil
}
