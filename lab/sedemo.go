package lab

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/cards/otaagent"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/pos"
)

// SEDemoRows runs the over-the-air SE personalisation cases against the
// embedded network n, whose issuer host decides the taps: an SE platform of
// its own on loopback (SP TSM, SE TSM), a fresh phone per case.
func SEDemoRows(ctx context.Context, n *Network) []ProvisioningRow {
	var rows []ProvisioningRow
	add := func(c, want, req string, f func() (got, note string, err error)) {
		got, note, err := f()
		rows = append(rows, ProvisioningRow{Case: c, Want: want, Got: got, Note: note, Requirements: req, Err: err})
	}
	p, err := StartSEPlatform(nil, nil, nil)
	if err != nil {
		add("SE: TSM platform starts", "started", "R-M6", func() (string, string, error) { return "", "", err })
		return rows
	}
	defer p.Close()
	p.Messages = IssuerMessages(n)
	cfg, err := LoadTerminalConfig(LoadMaxTerminals-1, 0)
	if err != nil {
		add("SE: terminal", "ready", "R-M6", func() (string, string, error) { return "", "", err })
		return rows
	}
	term, link, err := n.NewTerminalWith(cfg, pos.Options{})
	if err != nil {
		add("SE: terminal", "ready", "R-M6", func() (string, string, error) { return "", "", err })
		return rows
	}
	defer func() { _ = link.Close() }()

	serial := uint32(0x5E000000)
	run := func(register bool, r SERun) (*SEDevice, SEResult, error) {
		serial++
		d, err := p.NewSEDevice(fmt.Sprintf("SE-%08X", serial), serial, register)
		if err != nil {
			return nil, SEResult{}, err
		}
		res, err := p.Personalise(ctx, d, r)
		return d, res, err
	}
	green := func(r SERun) (string, string, error) {
		d, res, err := run(true, r)
		if err != nil || res.Outcome != tsm.ReasonPersonalised {
			return res.Outcome, "", err
		}
		rc, err := TapSE(ctx, term, d, 2500)
		if err != nil {
			return "", "", err
		}
		got := fmt.Sprintf("%s, tap %s", res.Outcome, string(rc))
		if res.OperatorKeys != nil {
			ssd, err := SSDOf(r.Profile)
			if err != nil {
				return "", "", err
			}
			if OperatorKeysOpen(d, ssd, *res.OperatorKeys, nil) {
				got += ", operator keys still open the SSD"
			} else {
				got += ", operator keys refused"
			}
		}
		return got, fmt.Sprintf("SE %s, %d app", d.SEID, res.Apps), nil
	}
	refused := func(register bool, r SERun) func() (string, string, error) {
		return func() (string, string, error) {
			_, res, err := run(register, r)
			return res.Outcome, "", err
		}
	}

	add("SE issuer-owned: OTA personalisation -> tap", "personalised, tap 00", "R-M1 R-M6 R-S3b R-S3c",
		func() (string, string, error) { return green(SERun{Profile: "visa-se-phone"}) })
	add("SE shared with an operator: keys rotated -> tap", "personalised, tap 00, operator keys refused", "R-M2 R-S1 R-G5e",
		func() (string, string, error) { return green(SERun{Profile: "mc-se-phone", Shared: true}) })
	add("SE shared without the issuer's consent", tsm.ReasonNoConsent, "R-S1",
		refused(true, SERun{Profile: "mc-se-phone", Shared: true, NoConsent: true}))
	add("SE download to a non-designated SE", tsm.ReasonNotDesignated, "R-S3a", refused(false, SERun{Profile: "visa-se-phone"}))
	add("SE wrong one-time codes at download", tsm.ReasonOTPWrong+" x4, then "+tsm.ReasonIDVLocked+", reset", "R-S3c R-G3c", func() (string, string, error) {
		_, res, err := run(true, SERun{Profile: "visa-se-phone", OTP: "000000x"})
		if err != nil || res.Agent == nil {
			return res.Outcome, "", err
		}
		got, wrong := res.Outcome, 1
		for res.Outcome == tsm.ReasonOTPWrong && wrong < 10 {
			_, err = res.Agent.Run(ctx, res.OrderID, "000000x")
			var ref *wire.Refusal
			if !errors.As(err, &ref) {
				return got, "", err
			}
			if res.Outcome = ref.Reason; ref.Reason == tsm.ReasonOTPWrong {
				wrong++
			}
		}
		got = fmt.Sprintf("%s x%d, then %s", got, wrong, res.Outcome)
		// The service centre verifies the cardholder by other means and
		// unlocks the card's provisioning for the next rows.
		if err := ResetSEProvisioning(ctx, n, "visa-se-phone", "service-centre-demo"); err != nil {
			return got, "", err
		}
		return got + ", reset", "the issuer's ID&V counts the codes; its service centre unlocks", nil
	})
	add("SE SCP03 card cryptogram fails", tsm.ReasonCardCryptogram, "R-G5e", refused(true, SERun{Profile: "visa-se-phone", WrongISDKeys: true}))
	add("SE OTA command with a bad C-MAC", tsm.ReasonBadMAC, "R-S3b", refused(true, SERun{Profile: "visa-se-phone", Agent: func(a *otaagent.Agent) {
		done := false
		a.Tamper = func(_ int, c []byte) []byte {
			if !done && len(c) > 6 && c[1] == 0xE6 {
				done = true
				c[5] ^= 1
			}
			return c
		}
	}}))
	var again *SEDevice
	add("SE replayed OTA step", tsm.ReasonOTAClosed, "R-S4e", func() (string, string, error) {
		d, res, err := run(true, SERun{Profile: "visa-se-phone"})
		if err != nil || res.Outcome != tsm.ReasonPersonalised {
			return res.Outcome, "", err
		}
		again = d
		err = res.Agent.Replay(ctx, res.Last)
		var ref *wire.Refusal
		if errors.As(err, &ref) {
			return ref.Reason, fmt.Sprintf("step %d sent again", res.Last.Step), nil
		}
		return "accepted", "", err
	})
	add("SE second personalisation of the same SE", tsm.ReasonAlreadyDone, "R-S4e", func() (string, string, error) {
		if again == nil {
			return "no phone", "", nil
		}
		res, err := p.Personalise(ctx, again, SERun{Profile: "visa-se-phone"})
		return res.Outcome, "", err
	})
	add("SE TSM operator with the default password", "default_password_must_change", "R-S4c", func() (string, string, error) {
		a := &tsm.Accounts{Now: p.now, Rand: p.rand}
		if err := a.Create("tsm-operator", "changeme", tsm.Hours{From: 0, To: 24}); err != nil {
			return "", "", err
		}
		err := a.Login("tsm-operator", "changeme")
		if err == nil {
			return "logged in", "", nil
		}
		return strings.TrimPrefix(err.Error(), "tsm: login refused: "), "", nil
	})
	add("SE TSM stores after the downloads", "no personalisation data", "R-G5g R-S4d R-S4f R-M2", func() (string, string, error) {
		if len(p.SE.Dump()) != 0 {
			return fmt.Sprintf("%d scripts kept", len(p.SE.Dump())), "", nil
		}
		for _, l := range p.SP.Dump() {
			if strings.Contains(l, "ey") {
				return "SP TSM keeps an envelope", "", nil
			}
		}
		// R-M2: the SE TSM holds no key of an issuer's SSD, not even the
		// initial sets it created.
		state := strings.ToLower(strings.Join(p.SE.State(), "\n"))
		p.initialMu.Lock()
		defer p.initialMu.Unlock()
		for _, ks := range p.initial {
			for _, k := range []keys.Key{ks.Keys.ENC, ks.Keys.MAC, ks.Keys.DEK} {
				if strings.Contains(state, hex.EncodeToString(k.Bytes())) {
					return "SE TSM keeps an SSD key", "", nil
				}
			}
		}
		return "no personalisation data", fmt.Sprintf("%d SP TSM and %d SE TSM log entries", len(p.SP.Log()), len(p.SE.Log())), nil
	})
	return rows
}
