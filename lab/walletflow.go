package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// OTPAuto makes AddToWallet read the OTP from the cardholder's inbox.
const OTPAuto = "auto"

// OTPNone makes AddToWallet leave a step-up unfinished: no OTP is asked
// for or typed, and the token stays inactive unless ActivatePIN activates
// it afterwards.
const OTPNone = "none"

// WalletRequest is a cardholder adding a sample card to a new wallet
// phone (AddToWallet).
type WalletRequest struct {
	// Profile is the built-in plastic profile of the funding card.
	Profile string
	// DeviceID is the phone's hardware device ID (hex, 1 to 8 bytes).
	DeviceID string
	// Account is the wallet account; "wallet-" and the device ID when
	// empty.
	Account string
	// OTP is the one-time password to submit on a step-up: OTPAuto reads
	// it from the cardholder's inbox, OTPNone submits none, anything else
	// is typed as is.
	OTP string
	// ActivatePIN, when set, activates the token afterwards with the
	// card's PIN (R-S2a) when the step-up did not end with the cardholder
	// verified (OTPNone, a wrong OTP).
	ActivatePIN string
	// TapAmount, when positive, taps the new token for that amount (minor
	// units) at the sample terminal.
	TapAmount int64
	// AskOTP, when set, asks the cardholder for the OTP on a step-up
	// instead of OTP; after a wrong code it is asked again while the
	// issuer allows more tries.
	AskOTP func(ctx context.Context, q OTPQuestion) (string, error)
}

// OTPQuestion is what the cardholder is told when asked for the OTP.
type OTPQuestion struct {
	// Recipient is where the message centre delivered the OTP (the
	// cardholder's registered phone number or e-mail address): the inbox
	// to read it in. Masked is how the wallet app shows it.
	Recipient, Masked string
	// Method is the step-up method (TEXT_TO_CARDHOLDER_NUMBER, ...).
	Method string
	// TriesLeft is the number of tries the issuer still allows after a
	// wrong code; -1 on the first ask.
	TriesLeft int
}

// Step is one step of the flow as the CLI prints it: never a PAN in
// clear, a security code or a key.
type Step struct {
	Name, Detail string
}

// WalletResult is the outcome of AddToWallet.
type WalletResult struct {
	// Decision is the issuer's ID&V decision; Reason a decline's.
	Decision, Reason string
	// TokenUniqueReference names the token ("" when declined).
	TokenUniqueReference string
	// Status is the token's state at the end.
	Status string
	// OTP is the result of the last OTP submitted on a step-up (SUCCESS,
	// INCORRECT_CODE, EXPIRED_CODE, INCORRECT_CODE_RETRIES_EXCEEDED); ""
	// when there was none.
	OTP string
	// Activation is the result of the activation afterwards with the
	// card's PIN (ActivatePIN), "" when there was none.
	Activation string
	// Tap is the DE39 of the tap ("" when none).
	Tap isospec.ResponseCode
	// Masked is the token number masked (first 6 and last 4), "" when
	// no token reached the phone.
	Masked string
	// Phone is the wallet phone built from the delivered token (nil when
	// no token reached the phone); its ATC goes on from tap to tap.
	Phone cards.Card
	// App is the phone's wallet app (nil when the flow failed before it
	// was made): the cardholder's suspend, resume and delete go through
	// it.
	App *walletapp.App
}

// AddToWallet runs the wallet flow headless over the services of p: the
// phone's app adds the card, steps up with an OTP when the issuer asks,
// installs and acknowledges the token, and the issuer's record is read
// back; then, when asked, the new token taps. report receives each step.
func (p *Provisioning) AddToWallet(ctx context.Context, req WalletRequest, report func(Step)) (WalletResult, error) {
	fc, err := SampleFundingCard(ctx, p.n, req.Profile)
	if err != nil {
		return WalletResult{}, err
	}
	return p.addToWallet(ctx, req, fc, report)
}

// addToWallet is AddToWallet with the funding card fc; req.Profile only
// names it in the steps.
func (p *Provisioning) addToWallet(ctx context.Context, req WalletRequest, fc FundingCard, report func(Step)) (WalletResult, error) {
	say := func(name, format string, a ...any) {
		if report != nil {
			report(Step{Name: name, Detail: fmt.Sprintf(format, a...)})
		}
	}
	// The issuer binds a token to the 8-byte form of the device ID (9F10
	// carries 8 bytes): the phone uses that form too.
	dev, err := authz.NormaliseDeviceID(req.DeviceID)
	if err != nil {
		return WalletResult{}, fmt.Errorf("lab: wallet: %w", err)
	}
	req.DeviceID = dev
	if req.Account == "" {
		req.Account = "wallet-" + req.DeviceID
	}
	app, err := p.NewWalletApp(req.DeviceID, req.Account)
	if err != nil {
		return WalletResult{}, err
	}
	say("card", "%s %s typed into the wallet app of device %s (expiry and security code sealed to the token service)",
		req.Profile, pan.Mask(fc.Card.PAN), req.DeviceID)
	res, err := app.AddCard(ctx, fc.Card)
	if err != nil {
		return WalletResult{}, err
	}
	out := WalletResult{Decision: res.Decision, Reason: res.Reason, TokenUniqueReference: res.TokenUniqueReference, Status: res.Status,
		App: app}
	if res.Decision == wire.DecisionDeclined {
		say("decision", "%s: %s", res.Decision, res.Reason)
		return out, nil
	}
	say("decision", "%s, token %s %s", res.Decision, res.TokenUniqueReference, res.Status)
	tur := res.TokenUniqueReference
	if res.Decision == wire.DecisionRequireAuthN {
		var ms []string
		for _, m := range res.Methods {
			ms = append(ms, m.Type+" "+m.Value)
		}
		say("methods", "%s", strings.Join(ms, "; "))
		m := res.Methods[0]
		for _, x := range res.Methods {
			if x.Type == wire.AuthTextToCardholder {
				m = x
			}
		}
		verified, err := p.stepUp(ctx, req, app, fc, tur, m, say, &out)
		if err != nil {
			return out, err
		}
		if !verified {
			if req.ActivatePIN == "" {
				return out, nil
			}
			r, err := app.Activate(ctx, tur, req.ActivatePIN)
			if err != nil {
				return out, err
			}
			out.Activation = r.Result
			if r.Result != wire.ResultSuccess {
				say("activate", "with the card's PIN (sealed to the token service): %s, %d tries left", r.Result, r.RetriesRemaining)
				return out, nil
			}
			say("activate", "with the card's PIN (sealed to the token service): %s, token %s", r.Result, r.Status)
		}
	}
	return p.afterDelivery(ctx, req, app, fc, tur, res, say, out)
}

// stepUp runs the OTP step-up of token tur by method m: it reports
// whether the cardholder was verified; out gets the OTP result and the
// token's state.
func (p *Provisioning) stepUp(ctx context.Context, req WalletRequest, app *walletapp.App, fc FundingCard, tur string,
	m wire.AuthenticationMethod, say func(string, string, ...any), out *WalletResult) (bool, error) {
	if req.OTP == OTPNone && req.AskOTP == nil {
		say("otp", "not entered: the step-up is left unfinished, token %s", out.Status)
		return false, nil
	}
	{
		exp, err := app.RequestOTP(ctx, tur, m.ID)
		if err != nil {
			return false, err
		}
		say("otp sent", "by %s to %s, valid until %s", m.Type, m.Value, exp.UTC().Format("15:04:05Z"))
		to := fc.Phone
		if m.Type == wire.AuthEmailToCardholder {
			to = fc.Email
		}
		var r walletapp.OTPResult
		for tries := -1; ; {
			code := req.OTP
			switch {
			case req.AskOTP != nil:
				if code, err = req.AskOTP(ctx, OTPQuestion{Recipient: to, Masked: m.Value, Method: m.Type, TriesLeft: tries}); err != nil {
					return false, err
				}
			case code == "" || code == OTPAuto:
				var ok bool
				if code, ok, err = p.LastOTP(ctx, to); err != nil {
					return false, err
				} else if !ok {
					return false, errors.New("no OTP in the cardholder's inbox")
				}
				say("inbox", "the cardholder reads the OTP in the message centre")
			}
			if r, err = app.SubmitOTP(ctx, tur, code); err != nil {
				return false, err
			}
			out.Status, out.OTP = r.Status, r.Result
			if t, ok := app.Token(tur); ok && out.Status == "" {
				out.Status = t.Status
			}
			if r.Result == wire.ResultSuccess {
				break
			}
			say("otp", "%s, %d tries left, token %s", r.Result, r.RetriesRemaining, out.Status)
			if req.AskOTP == nil || r.Result != wire.ResultIncorrectCode || r.RetriesRemaining <= 0 {
				return false, nil
			}
			tries = r.RetriesRemaining
		}
		say("otp", "%s, token %s", r.Result, r.Status)
	}
	return true, nil
}

// afterDelivery checks the token reached the phone, reads the issuer's
// record back and taps when asked.
func (p *Provisioning) afterDelivery(ctx context.Context, req WalletRequest, app *walletapp.App, fc FundingCard, tur string,
	res walletapp.Result, say func(string, string, ...any), out WalletResult) (WalletResult, error) {
	var err error
	tok, ok := app.Token(tur)
	if !ok || !tok.Installed {
		return out, errors.New("the token data did not reach the phone")
	}
	out.Status, out.Masked = tok.Status, tok.Masked
	if out.Phone, err = p.phone(app, tur); err != nil {
		return out, err
	}
	say("token", "%s (token ending %s, funding card ending %s) installed on the phone, %s", tok.Masked,
		tok.Masked[max(len(tok.Masked)-4, 0):], tok.AccountPanSuffix, tok.Status)
	say("download ack", "signed by the device, relayed to the token service")
	recs, err := p.CardTokens(ctx, fc.CardID)
	if err != nil {
		return out, err
	}
	for _, k := range recs {
		if k.TokenRef == tur {
			// R-S2a: the token is activated on the issuer's record with
			// the cardholder's verification: the OTP of a step-up, or the
			// phone's own verification (R-G3f) of a green decision.
			act := fmt.Sprintf("activated %t", k.Activated)
			if k.Activated {
				act += " (cardholder verified by " + k.VerifiedWith + ")"
			}
			say("issuer notified", "card %s: token %s, device %s, requestor %s, created %t, downloaded %t, %s",
				k.CardID, k.TokenRef, k.DeviceID, k.RequestorID, k.Created, k.Downloaded, act)
		}
	}
	if req.TapAmount > 0 {
		rc, err := p.Tap(ctx, app, tur, req.TapAmount)
		if err != nil {
			return out, err
		}
		out.Tap = rc
		say("tap", "NT$%d.%02d with CDCVM: DE39 %s", req.TapAmount/100, req.TapAmount%100, rc)
	}
	return out, nil
}

// Tap taps the wallet phone of token tur of app at the provisioning's
// sample terminal: the phone is built from the app's token data once
// (WalletPhone; its ATC goes on from tap to tap) and unlocked with the
// sample passcode for CDCVM.
func (p *Provisioning) Tap(ctx context.Context, app *walletapp.App, tur string, amount int64) (isospec.ResponseCode, error) {
	phone, err := p.phone(app, tur)
	if err != nil {
		return "", err
	}
	return p.TapPhone(ctx, phone, amount)
}

// phone is the wallet phone of token tur of app, built once from the app's
// token data (WalletPhone).
func (p *Provisioning) phone(app *walletapp.App, tur string) (cards.Card, error) {
	p.mu.Lock()
	phone, ok := p.phones[tur]
	p.mu.Unlock()
	if ok {
		return phone, nil
	}
	c, err := app.Card(tur)
	if err != nil {
		return nil, err
	}
	t, _ := app.Token(tur)
	if phone, err = WalletPhone(c, t.AccountPanSuffix, p.clock); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.phones[tur]; ok {
		return old, nil
	}
	p.phones[tur] = phone
	return phone, nil
}

// TapPhone taps phone, unlocked with the sample wallet passcode, at the
// provisioning's sample terminal.
func (p *Provisioning) TapPhone(ctx context.Context, phone cards.Card, amount int64) (isospec.ResponseCode, error) {
	ph, ok := cards.Phone(phone)
	if !ok {
		return "", errors.New("not a phone")
	}
	if err := ph.Unlock(SampleWalletPasscode); err != nil {
		return "", err
	}
	term, err := p.terminal()
	if err != nil {
		return "", err
	}
	res, err := term.Sale(ctx, amount, inproc.New(phone))
	if err != nil {
		return "", err
	}
	return res.ResponseCode, nil
}

// SampleWalletPasscode is the sample wallet phone's passcode.
const SampleWalletPasscode = "2468"

func (p *Provisioning) terminal() (*pos.Terminal, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term != nil {
		return p.term, nil
	}
	term, link, err := p.n.NewTerminal(pos.Options{})
	if err != nil {
		return nil, err
	}
	p.term, p.link = term, link
	return term, nil
}

// Inbox opens the issuer's store in the data directory dir of an earlier
// network and returns its message centre's messages for recipient, oldest
// first. A device ID names the phone: its own messages and the text
// messages to the registered phone numbers of the cards whose tokens are
// bound to it (the phone the cardholder reads).
func Inbox(ctx context.Context, dir, recipient string, logger *slog.Logger) ([]idv.Message, error) {
	if !HasData(dir) {
		return nil, fmt.Errorf("%s holds no issuer data", dir)
	}
	return issuerDirInbox(ctx, filepath.Join(dir, "issuer"), recipient, logger)
}

// issuerDirInbox is the inbox of recipient in the issuer's own data
// directory d: a device reads its own messages and the text messages to
// the registered phone numbers of the cards whose tokens are bound to it.
func issuerDirInbox(ctx context.Context, d, recipient string, logger *slog.Logger) ([]idv.Message, error) {
	r, err := OpenIssuer(ctx, d, "", logger)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	svc, err := idv.New(idv.Config{DB: r.DB, HSM: r.HSM, Logger: logger})
	if err != nil {
		return nil, err
	}
	to := []string{recipient}
	if dev, err := authz.NormaliseDeviceID(recipient); err == nil {
		if to, err = devicePhones(ctx, r.DB, dev); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
	}
	var out []idv.Message
	for _, rc := range to {
		ms, err := svc.Inbox(ctx, rc)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	slices.SortFunc(out, func(a, b idv.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}
