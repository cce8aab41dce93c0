package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hceapp"
	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// tapText is a tap's answer as a row shows it: the response code, and
// the decline reason when declined.
func tapText(code isospec.ResponseCode, why isospec.DeclineReason) string {
	if code == isospec.RCApproved || why == "" {
		return "tap " + string(code)
	}
	return fmt.Sprintf("tap %s %s", code, why)
}

// hceRows are the HCE cloud platform's cases (seed 3.3): the Visa-like
// sample card enrolled on new phones of the demo over the world's
// platform, their taps checked by the issuer host.
func (d *provDemo) hceRows(ctx context.Context) []ProvisioningRow {
	var rows []ProvisioningRow
	add := func(c, want, req string, f func() (got, note string, err error)) {
		got, note, err := f()
		rows = append(rows, ProvisioningRow{Case: "HCE " + c, Want: want, Got: got, Note: note, Requirements: req, Err: err})
	}
	cl := d.n.Cloud()
	fc := d.cards["visa-plastic"]
	prof, perr := HCEProfile("visa-plastic")
	var (
		ref, cloudPAN string
		app1, app2    *hceapp.App
		card1         *hceapp.Card
		backup        *hceapp.Card
		phone1        cards.Card
	)
	if perr == nil {
		ref, cloudPAN, perr = cloudAccount(prof.Name, prof.App.PAN)
	}
	if perr == nil {
		_, perr = cl.AddCardAccount(ctx, ref, prof.App.PAN, cloudPAN, yymm(prof.App.Expiry), "00")
	}
	need := func() error {
		if perr != nil {
			return perr
		}
		if app1 == nil {
			return errors.New("no phone registered")
		}
		return nil
	}
	sample, serr := cards.Builtin(SampleHCEProfile)
	register := func(app *hceapp.App) (wire.HCEBinding, error) {
		reg, err := app.Register(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, "", "")
		if err != nil {
			return wire.HCEBinding{}, err
		}
		otp, ok, err := d.p.LastOTP(ctx, fc.Phone)
		if err == nil && !ok {
			err = errors.New("no OTP in the inbox")
		}
		if err != nil {
			return wire.HCEBinding{}, err
		}
		return app.VerifyRegistration(ctx, reg.RegistrationID, otp)
	}

	add("registration with OTP -> bound", wire.HCEBindingActive, "R-M7 R-S3d R-G3e", func() (string, string, error) {
		if perr != nil {
			return "", "", perr
		}
		var err error
		if app1, err = cl.NewApp("3520990000000101"); err != nil {
			return "", "", err
		}
		b, err := register(app1)
		if err != nil {
			return "", "", err
		}
		return b.Status, "device key pair + device ID bound after the issuer's OTP", nil
	})
	add("wrong OTP", "refused otp_wrong", "R-S3d R-G3e", func() (string, string, error) {
		if perr != nil {
			return "", "", perr
		}
		app, err := cl.NewApp("3520990000000102")
		if err != nil {
			return "", "", err
		}
		reg, err := app.Register(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, "", "")
		if err != nil {
			return "", "", err
		}
		right, _, err := d.p.LastOTP(ctx, fc.Phone)
		if err != nil {
			return "", "", err
		}
		_, err = app.VerifyRegistration(ctx, reg.RegistrationID, wrongOTP(right))
		got, err := refusal(err)
		return got, "nothing bound", err
	})
	add("wrong issuer-set passcode", "refused passcode_wrong", "R-S3d R-G3a R-G3c", func() (string, string, error) {
		if perr != nil {
			return "", "", perr
		}
		app, err := cl.NewApp("3520990000000111")
		if err != nil {
			return "", "", err
		}
		_, err = app.RegisterWithPasscode(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, "9753", "")
		got, err := refusal(err)
		return got, "nothing bound; counted toward the 5-try lock", err
	})
	add("registration with the issuer-set passcode -> bound", wire.HCEBindingActive, "R-S3d R-G3a R-S2a", func() (string, string, error) {
		if perr != nil {
			return "", "", perr
		}
		app, err := cl.NewApp("3520990000000112")
		if err != nil {
			return "", "", err
		}
		res, err := app.RegisterWithPasscode(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, SamplePIN, "")
		if err != nil {
			return "", "", err
		}
		if res.Binding == nil {
			return "", "", errors.New("no binding")
		}
		return res.Binding.Status, "the card's PIN sealed to the platform, checked in the issuer's module; no OTP sent", nil
	})
	add("download, challenge signed by another key", "refused "+cloudsvc.ReasonChallengeSignature, "R-S3e", func() (string, string, error) {
		if err := need(); err != nil {
			return "", "", err
		}
		other, err := cl.NewApp("3520990000000101")
		if err != nil {
			return "", "", err
		}
		ch, err := app1.Challenge(ctx, ref)
		if err != nil {
			return "", "", err
		}
		sig, err := other.SignChallenge(ch.Challenge, ref)
		if err != nil {
			return "", "", err
		}
		_, err = app1.DownloadWith(ctx, wire.HCEDownloadRequest{DeviceID: app1.DeviceID(), CardRef: ref, Challenge: ch.Challenge, Signature: sig})
		got, err := refusal(err)
		return got, "same device ID, another device key", err
	})
	add("download", "5 keys", "R-S3e R-S3f R-S5a R-S5c", func() (string, string, error) {
		if err := need(); err != nil {
			return "", "", err
		}
		if serr != nil {
			return "", "", serr
		}
		var err error
		if card1, err = app1.Download(ctx, ref); err != nil {
			return "", "", err
		}
		backup = card1.Copy()
		if phone1, err = HCEPhone(sample, card1, cl.clock, cl.rand); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%d keys", card1.KeysLeft()), card1.String() + ", keys wrapped for the device key", nil
	})
	add("tap with a limited-use key", "tap 00", "R-S5b R-S2e", func() (string, string, error) {
		if phone1 == nil {
			return "", "", errors.New("no phone downloaded")
		}
		code, why, err := cl.Tap(ctx, phone1, SampleHCEPasscode, 150000)
		return tapText(code, why), "CDCVM on the phone, the issuer checks the key's cryptogram", err
	})
	add("key reused (restored backup)", tapText(isospec.RCCryptogramFailure, isospec.ReasonHCEKeyUsed), "R-S5b", func() (string, string, error) {
		if backup == nil {
			return "", "", errors.New("no phone downloaded")
		}
		restored, err := HCEPhone(sample, backup, cl.clock, cl.rand)
		if err != nil {
			return "", "", err
		}
		code, why, err := cl.Tap(ctx, restored, SampleHCEPasscode, 120000)
		return tapText(code, why), "a key serves one transaction", err
	})
	add("tap without cardholder verification", "refused "+string(issuercloud.TapCardholderNotVerified), "R-S2e", func() (string, string, error) {
		if card1 == nil {
			return "", "", errors.New("no phone downloaded")
		}
		tap, err := card1.Pay(hceTerminal(1, d.clock.Now()), hceapp.Verification{})
		if err != nil {
			return "", "", err
		}
		v := &issuercloud.Verifier{HSM: cloudVerifierHSM{cl.n}, Ledger: cl.ledger, Now: cl.clock}
		_, err = v.Verify(issuercloud.Tap{Card: issuercloud.CloudCard{Ref: ref, PAN: cloudPAN, PSN: "00",
			CVN: 0xC1, IMK: CloudIMKLabel}, Tags: tap.Tags, AC: tap.AC(), DeviceID: tap.DeviceID})
		var te *issuercloud.TapError
		if errors.As(err, &te) {
			return "refused " + string(te.Reason), "NT$0.01: verification whatever the amount, from the cryptogram's CVR", nil
		}
		return "accepted", "", err
	})
	add("replenishment", "5 keys loaded", "R-S5b", func() (string, string, error) {
		if card1 == nil {
			return "", "", errors.New("no phone downloaded")
		}
		d.clock.Advance(time.Minute)
		before := card1.KeysLeft()
		left, err := app1.Replenish(ctx, ref)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%d keys loaded", left-before), fmt.Sprintf("keys left %d -> %d, authenticated by the device key", before, left), nil
	})
	add("key expired", tapText(isospec.RCCryptogramFailure, isospec.ReasonHCEKeyExpired), "R-S5b", func() (string, string, error) {
		if phone1 == nil {
			return "", "", errors.New("no phone downloaded")
		}
		d.clock.Advance(25 * time.Hour)
		code, why, err := cl.Tap(ctx, phone1, SampleHCEPasscode, 1000)
		return tapText(code, why), "a day later: the key's time is over", err
	})
	add("lost phone", "SUSPENDED, "+tapText("62", "device_lost"), "R-C1", func() (string, string, error) {
		if phone1 == nil {
			return "", "", errors.New("no phone downloaded")
		}
		var err error
		if app2, err = cl.NewApp("3520990000000103"); err != nil {
			return "", "", err
		}
		if _, err := register(app2); err != nil {
			return "", "", err
		}
		if _, err := app1.Replenish(ctx, ref); err != nil {
			return "", "", err
		}
		b, err := cl.svc.ReportLost(staffServiceCentre, ref, app1.DeviceID())
		if err != nil {
			return "", "", err
		}
		code, why, err := cl.Tap(ctx, phone1, SampleHCEPasscode, 1000)
		return b.Status + ", " + tapText(code, why), "its binding and keys suspended at once", err
	})
	add("two phones on one account: the other goes on", "tap 00", "R-S5d R-C1", func() (string, string, error) {
		if app2 == nil {
			return "", "", errors.New("no second phone registered")
		}
		card2, err := app2.Download(ctx, ref)
		if err != nil {
			return "", "", err
		}
		phone2, err := HCEPhone(sample, card2, cl.clock, cl.rand)
		if err != nil {
			return "", "", err
		}
		code, why, err := cl.Tap(ctx, phone2, SampleHCEPasscode, 1000)
		return tapText(code, why), "its own binding and keys", err
	})
	// R-G3c: a Mastercard-like card's mobile PIN, five wrong in a row.
	const mcDevice = "3520990000000104"
	var (
		mc     HCEResult
		mcProf cards.Profile
		last4  string
	)
	mcPhone := func(pin string) (cards.Card, error) {
		return hcePhone(mcProf, mc.Card, func() string { return pin }, last4, cl.clock, cl.rand)
	}
	add("five wrong mobile PINs lock the phone", "5 x "+tapText(isospec.RCIncorrectPIN, "cloud_umd_invalid")+
		", replenish refused "+cloudsvc.ReasonMobilePINLocked, "R-G3c R-S2e", func() (string, string, error) {
		var err error
		if mcProf, err = cards.Builtin(sampleHCEMCProfile); err != nil {
			return "", "", err
		}
		p, err := HCEProfile("mc-plastic")
		if err != nil {
			return "", "", err
		}
		last4 = p.App.PAN[len(p.App.PAN)-4:]
		if mc, err = cl.EnrolHCE(ctx, HCERequest{Profile: "mc-plastic", DeviceID: mcDevice, OTP: OTPAuto, MobilePIN: "2580"}, nil); err != nil {
			return "", "", err
		}
		wrong, err := mcPhone("1357")
		if err != nil {
			return "", "", err
		}
		seen := map[string]int{}
		var first string
		for range issuercloud.MaxPINTries {
			code, why, err := cl.Tap(ctx, wrong, SampleHCEPasscode, 1000)
			if err != nil {
				return "", "", err
			}
			if first == "" {
				first = tapText(code, why)
			}
			seen[tapText(code, why)]++
		}
		got := fmt.Sprintf("%d x %s", seen[first], first)
		if len(seen) != 1 {
			got = fmt.Sprint(seen)
		}
		d.clock.Advance(time.Minute)
		_, err = mc.App.Replenish(ctx, mc.Ref)
		if !errors.Is(err, wire.ErrRefused) {
			return got, "", fmt.Errorf("replenish of a locked phone: %v", err)
		}
		return got + ", replenish refused " + wire.RefusalFor(err).Reason, "the issuer counts the UMD failures; the platform serves the phone no more", nil
	})
	add("service centre resets the mobile PIN: the phone pays again", "tap 00", "R-G3c", func() (string, string, error) {
		if mc.App == nil {
			return "", "", errors.New("no mc-cloud phone enrolled")
		}
		if err := cl.svc.ResetMobilePIN(staffServiceCentre, mc.Ref, mcDevice); err != nil {
			return "", "", err
		}
		if _, err := mc.App.Replenish(ctx, mc.Ref); err != nil {
			return "", "", err
		}
		right, err := mcPhone("2580")
		if err != nil {
			return "", "", err
		}
		code, why, err := cl.Tap(ctx, right, SampleHCEPasscode, 1000)
		return tapText(code, why), "after the cardholder was verified; written to the audit trail", err
	})
	return rows
}

// cloudVerifierHSM is the running issuer's module for a cryptogram check
// outside the issuer host.
type cloudVerifierHSM struct{ n *Network }

func (c cloudVerifierHSM) Lookup(label string) (hsm.Handle, error) { return cloudHSM(c).Lookup(label) }

func (c cloudVerifierHSM) VerifyLUKCryptogram(imk hsm.Handle, p, psn string, api uint16, ki emvcloud.KeyIndex, tags cryptogram.Source, ac []byte) error {
	m, k, err := cloudHSM(c).key(imk)
	if err != nil {
		return err
	}
	return m.VerifyLUKCryptogram(k, p, psn, api, ki, tags, ac)
}

func (c cloudVerifierHSM) VerifyMCCryptograms(mkMD, mkUMD hsm.Handle, p, psn string, tags cryptogram.Source, ac []byte) (emvcloud.Verdict, error) {
	m, md, err := cloudHSM(c).key(mkMD)
	if err != nil {
		return emvcloud.Verdict{}, err
	}
	_, umd, err := cloudHSM(c).key(mkUMD)
	if err != nil {
		return emvcloud.Verdict{}, err
	}
	return m.VerifyMCCryptograms(md, umd, p, psn, tags, ac)
}

// hceTerminal is a terminal's data of a sale of amount minor units at
// now, in Taiwan.
func hceTerminal(amount int64, now time.Time) cryptogram.Values {
	amt := make([]byte, 6)
	for i, a := 5, amount; i >= 0; i-- {
		amt[i] = byte(a%10) | byte(a/10%10)<<4
		a /= 100
	}
	bcd2 := func(v int) byte { return byte(v/10)<<4 | byte(v%10) }
	return cryptogram.Values{
		0x9F02: amt, 0x9F03: make([]byte, 6), 0x9F1A: {0x01, 0x58}, 0x95: make([]byte, 5),
		0x5F2A: {0x09, 0x01}, 0x9A: {bcd2(now.Year() % 100), bcd2(int(now.Month())), bcd2(now.Day())}, 0x9C: {0},
		0x9F37: {0x0B, 0xAD, 0xCA, 0xFE},
	}
}
