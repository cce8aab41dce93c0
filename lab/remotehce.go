package lab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards/hceapp"
)

// RemoteHCEOptions are the phone's side of the HCE flow against the cloud
// platform the issuer serves as its own process (tapsim issuer
// --provisioning-listen).
type RemoteHCEOptions struct {
	// CloudURL is the platform's base URL (https://host:port).
	CloudURL string
	// PKI is the PKI directory: the phones' TLS certificate and the CA.
	PKI ProvisioningPKI
	// IssuerData is the issuer's data directory: the public keys of its
	// cloud platform (CloudKeysFile), and the cardholder's inbox an OTPAuto
	// request reads.
	IssuerData string
	// AcquirerAddr is the acquirer's host:port the sample terminal taps
	// at; required for a tap.
	AcquirerAddr string
	// Clock and Rand are the phone's; time.Now and crypto/rand when nil.
	Clock func() time.Time
	Rand  io.Reader
	// Logger receives the inbox reader's lines; nil discards them.
	Logger *slog.Logger
}

// EnrolRemoteHCE enrols a new phone for the sample plastic card of
// r.Profile with the cloud platform at o.CloudURL, step by step as step
// reports them (masked): the phone's HCE app draws its device keys,
// registers with the card's security code (and r.MobilePIN for a
// Mastercard-like card), answers the OTP, downloads its card with the
// signed challenge; then r.Taps taps (r.TapAmount each) at the sample
// terminal connected to o.AcquirerAddr, and a replenishment when asked.
func EnrolRemoteHCE(ctx context.Context, o RemoteHCEOptions, r HCERequest, step func(Step)) (HCEResult, error) {
	if step == nil {
		step = func(Step) {}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	taps := r.Taps
	if taps == 0 && r.TapAmount > 0 {
		taps = 1
	}
	if taps > 0 && o.AcquirerAddr == "" {
		return HCEResult{}, errors.New("a tap needs the acquirer's address")
	}
	_, ref, _, cvn, res, err := hceAccount(r)
	if err != nil {
		return res, err
	}
	fc, err := PlasticCard(r.Profile)
	if err != nil {
		return res, err
	}
	// The platform's keys are in the issuer's security module; the phone
	// trusts their public half, which the issuer publishes in its data.
	platform, err := ReadCloudKeys(o.IssuerData)
	if err != nil {
		return res, err
	}
	cl, err := o.PKI.Client(PartyPhone, o.Clock())
	if err != nil {
		return res, err
	}
	defer cl.CloseIdleConnections()
	app, err := hceapp.New(hceapp.Config{DeviceID: r.DeviceID, Platform: platform, URL: strings.TrimSuffix(o.CloudURL, "/"),
		Client: cl, Rand: o.Rand, Clock: o.Clock})
	if err != nil {
		return res, err
	}
	res.App = app
	step(Step{"device keys", app.String()})
	if r.CardPasscode != "" {
		if err := registerByPasscode(ctx, app, fmt.Sprintf("reg-%s", r.DeviceID), ref, cvn, fc, &r, &res, o.Clock, o.Rand, step); err != nil {
			return res, err
		}
		return remoteTaps(ctx, o, app, ref, r, res, taps, step)
	}
	reg, err := app.Register(ctx, fmt.Sprintf("reg-%s", r.DeviceID), ref, fc.Card.SecurityCode, "", r.MobilePIN)
	if err != nil {
		return res, fmt.Errorf("register: %w", err)
	}
	step(Step{"register", fmt.Sprintf("card account %s (phones present %s), registration %s: OTP sent by %s to %s",
		ref, res.Masked, reg.RegistrationID, reg.Method, reg.Contact)})
	otp := r.OTP
	if otp == "" || otp == OTPAuto {
		if o.IssuerData == "" {
			return res, errors.New("reading the OTP needs the issuer's data directory")
		}
		if otp, err = lastOTPAt(ctx, o.IssuerData, fc.Phone, o.Logger); err != nil {
			return res, err
		}
		step(Step{"otp", "read from the cardholder's inbox"})
	} else {
		step(Step{"otp", "as typed"})
	}
	if err := bindAndBuild(ctx, app, reg.RegistrationID, otp, ref, cvn, fc, &r, &res, o.Clock, o.Rand, step); err != nil {
		return res, err
	}
	return remoteTaps(ctx, o, app, ref, r, res, taps, step)
}

// remoteTaps ends EnrolRemoteHCE: taps at the acquirer, then a
// replenishment when asked.
func remoteTaps(ctx context.Context, o RemoteHCEOptions, app *hceapp.App, ref string, r HCERequest, res HCEResult, taps int,
	step func(Step)) (HCEResult, error) {
	card := res.Card
	for i := range taps {
		code, err := tapAt(ctx, o.AcquirerAddr, res.Phone, r.Passcode, r.TapAmount)
		if err != nil {
			return res, fmt.Errorf("tap %d: %w", i+1, err)
		}
		res.Taps = append(res.Taps, code)
		step(Step{fmt.Sprintf("tap %d", i+1), fmt.Sprintf("at %s: DE39 %s, keys left %d", o.AcquirerAddr, code, card.KeysLeft())})
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
