package lab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// PlasticCard is the sample plastic card of built-in profile name as
// printed, read without the issuer's data: the PAN, the expiry and the
// security code on its back (the sample CVK's CVV2), the issuer's card ID
// and the registered contacts of the sample data.
func PlasticCard(name string) (FundingCard, error) {
	p, err := cards.Builtin(name)
	if err != nil {
		return FundingCard{}, err
	}
	if p.FormFactor != cards.FormPlastic && p.FormFactor != "" || p.App == nil {
		return FundingCard{}, fmt.Errorf("%s is not a plastic card", name)
	}
	lmk, err := soft.ParseLMK(LMK)
	if err != nil {
		return FundingCard{}, err
	}
	m, err := soft.Open(soft.Config{LMK: lmk}) // in memory: the card printer's
	if err != nil {
		return FundingCard{}, err
	}
	defer m.Close()
	seed, err := IssuerSeed(m)
	if err != nil {
		return FundingCard{}, err
	}
	i := slices.IndexFunc(seed.Cards, func(c issuerhost.SeedCard) bool { return c.PAN == p.App.PAN })
	if i < 0 {
		return FundingCard{}, fmt.Errorf("%s is not a card of the sample issuer", name)
	}
	c := seed.Cards[i]
	exp := c.Expiry
	if len(exp) == 7 && exp[4] == '-' {
		exp = exp[2:4] + exp[5:]
	}
	cvk := issuerhost.SampleCVK()
	k, err := keys.ParseHex(keys.TDES, cvk.Hex)
	if err != nil {
		return FundingCard{}, err
	}
	if _, err := m.ImportKey(cvk.Label, hsm.UsageCVK, k); err != nil {
		return FundingCard{}, err
	}
	code, err := issuerhost.SampleCVV2(m, c.PAN, exp)
	if err != nil {
		return FundingCard{}, err
	}
	return FundingCard{Card: wire.CardData{PAN: c.PAN, Expiry: exp, SecurityCode: code}, CardID: c.ID,
		Phone: c.Phone, Email: c.Email}, nil
}

// issuerDataDir is the issuer's directory in dir: dir itself when it
// holds an issuer database (tapsim issuer --data), dir/issuer when it is
// the data directory of an embedded network.
func issuerDataDir(dir string) (string, error) {
	if HasData(dir) {
		return filepath.Join(dir, "issuer"), nil
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		return dir, nil
	}
	return "", fmt.Errorf("%s holds no issuer data", dir)
}

// IssuerInbox reads the message centre of the issuer whose data is in dir
// (an issuer host's --data, or an embedded network's) for recipient,
// oldest first; the issuer host may be running. A recipient is a
// registered phone number or e-mail address, or a device ID: the phone's
// own messages and the text messages to the registered phone numbers of
// the cards whose tokens are bound to it (as Inbox).
func IssuerInbox(ctx context.Context, dir, recipient string, logger *slog.Logger) ([]idv.Message, error) {
	d, err := issuerDataDir(dir)
	if err != nil {
		return nil, err
	}
	if d != dir {
		return Inbox(ctx, dir, recipient, logger)
	}
	return issuerDirInbox(ctx, d, recipient, logger)
}

// devicePhones are the recipients a device reads: itself and the
// registered phone numbers of the cards whose tokens are bound to it.
func devicePhones(ctx context.Context, db *store.DB, dev string) ([]string, error) {
	to := []string{dev}
	err := db.View(ctx, func(tx *store.Tx) error {
		ds, err := tx.DevicesByID(ctx, dev)
		if err != nil {
			return err
		}
		for _, d := range ds {
			k, err := tx.Token(ctx, d.TokenID)
			if err != nil {
				return err
			}
			c, err := tx.CardContact(ctx, k.CardID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if c.Phone != "" && !slices.Contains(to, c.Phone) {
				to = append(to, c.Phone)
			}
		}
		return nil
	})
	return to, err
}

// RemoteWalletOptions are the phone's side of the wallet flow against
// provisioning services running as their own processes.
type RemoteWalletOptions struct {
	// WalletURL is the wallet provider's base URL (https://host:port).
	WalletURL string
	// PKI is the PKI directory: the phones' TLS certificate, the CA and
	// the public directory (the app trusts the token service and the
	// wallet provider from it).
	PKI ProvisioningPKI
	// IssuerData is the issuer's data directory, where an OTPAuto request
	// reads the cardholder's inbox (as "tapsim inbox" does); "" when the
	// OTP is typed.
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

// AddToRemoteWallet runs the wallet flow from a new phone against the
// wallet provider at o.WalletURL: the phone's app (its own fresh device
// keys, the phones' TLS certificate) adds the sample plastic card of
// req.Profile, steps up with an OTP when the issuer asks, installs and
// acknowledges the token; then, when asked, the new token taps at the
// sample terminal connected to o.AcquirerAddr. report receives each step.
func AddToRemoteWallet(ctx context.Context, o RemoteWalletOptions, req WalletRequest, report func(Step)) (WalletResult, error) {
	say := func(name, format string, a ...any) {
		if report != nil {
			report(Step{Name: name, Detail: fmt.Sprintf(format, a...)})
		}
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
	if req.TapAmount > 0 && o.AcquirerAddr == "" {
		return WalletResult{}, errors.New("a tap needs the acquirer's address")
	}
	fc, err := PlasticCard(req.Profile)
	if err != nil {
		return WalletResult{}, err
	}
	trust, err := o.PKI.Trust(PartyTokenService, PartyWallet)
	if err != nil {
		return WalletResult{}, err
	}
	c, err := o.PKI.Client(PartyPhone, o.Clock())
	if err != nil {
		return WalletResult{}, err
	}
	defer c.CloseIdleConnections()
	// The issuer binds a token to the 8-byte form of the device ID (9F10
	// carries 8 bytes); the phone reports it the same way.
	dev, err := authz.NormaliseDeviceID(req.DeviceID)
	if err != nil {
		return WalletResult{}, err
	}
	req.DeviceID = dev
	if req.Account == "" {
		req.Account = "wallet-" + req.DeviceID
	}
	app, err := walletapp.New(walletapp.Config{DeviceID: req.DeviceID, WalletAccountID: req.Account, Trust: trust,
		TSPParty: PartyTokenService, WalletURL: o.WalletURL, Client: c, Clock: o.Clock, Rand: o.Rand})
	if err != nil {
		return WalletResult{}, err
	}
	say("card", "%s %s typed into the wallet app of device %s (expiry and security code sealed to the token service)",
		req.Profile, pan.Mask(fc.Card.PAN), req.DeviceID)
	res, err := app.AddCard(ctx, fc.Card)
	if err != nil {
		return WalletResult{}, err
	}
	out := WalletResult{Decision: res.Decision, Reason: res.Reason, TokenUniqueReference: res.TokenUniqueReference, Status: res.Status}
	if res.Decision == wire.DecisionDeclined {
		say("decision", "%s: %s", res.Decision, res.Reason)
		return out, nil
	}
	say("decision", "%s, token %s %s", res.Decision, res.TokenUniqueReference, res.Status)
	tur := res.TokenUniqueReference
	if res.Decision == wire.DecisionRequireAuthN {
		if len(res.Methods) == 0 {
			return out, errors.New("a step-up without methods")
		}
		m := res.Methods[0]
		for _, x := range res.Methods {
			if x.Type == wire.AuthTextToCardholder {
				m = x
			}
		}
		exp, err := app.RequestOTP(ctx, tur, m.ID)
		if err != nil {
			return out, err
		}
		say("otp sent", "by %s to %s, valid until %s", m.Type, m.Value, exp.UTC().Format("15:04:05Z"))
		code := req.OTP
		if code == "" || code == OTPAuto {
			to := fc.Phone
			if m.Type == wire.AuthEmailToCardholder {
				to = fc.Email
			}
			if o.IssuerData == "" {
				return out, errors.New("reading the OTP needs the issuer's data directory")
			}
			if code, err = lastOTPAt(ctx, o.IssuerData, to, o.Logger); err != nil {
				return out, err
			}
			say("inbox", "the cardholder reads the OTP in the message centre")
		}
		r, err := app.SubmitOTP(ctx, tur, code)
		if err != nil {
			return out, err
		}
		out.Status, out.OTP = r.Status, r.Result
		if r.Result != wire.ResultSuccess {
			say("otp", "%s, %d tries left, token %s", r.Result, r.RetriesRemaining, out.Status)
			return out, nil
		}
		say("otp", "%s, token %s", r.Result, r.Status)
	}
	tok, ok := app.Token(tur)
	if !ok || !tok.Installed {
		return out, errors.New("the token data did not reach the phone")
	}
	out.Status, out.Masked = tok.Status, tok.Masked
	say("token", "%s (token ending %s, funding card ending %s) installed on the phone, %s", tok.Masked,
		tok.Masked[max(len(tok.Masked)-4, 0):], tok.AccountPanSuffix, tok.Status)
	say("download ack", "signed by the device, relayed to the token service")
	card, err := app.Card(tur)
	if err != nil {
		return out, err
	}
	if out.Phone, err = WalletPhone(card, tok.AccountPanSuffix, o.Clock); err != nil {
		return out, err
	}
	if req.TapAmount > 0 {
		rc, err := tapAt(ctx, o.AcquirerAddr, out.Phone, SampleWalletPasscode, req.TapAmount)
		if err != nil {
			return out, err
		}
		out.Tap = rc
		say("tap", "NT$%d.%02d with CDCVM at %s: DE39 %s", req.TapAmount/100, req.TapAmount%100, o.AcquirerAddr, rc)
	}
	return out, nil
}

// lastOTPAt is the newest OTP in recipient's inbox at the issuer of dir.
func lastOTPAt(ctx context.Context, dir, recipient string, logger *slog.Logger) (string, error) {
	ms, err := IssuerInbox(ctx, dir, recipient, logger)
	if err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Kind != "otp" {
			continue
		}
		if m := otpRE.FindStringSubmatch(ms[i].Body); m != nil {
			return m[1], nil
		}
	}
	return "", errors.New("no OTP in the cardholder's inbox")
}

// tapAt taps phone, unlocked with passcode, at the sample terminal
// connected to the acquirer at addr (plain TCP).
func tapAt(ctx context.Context, addr string, phone cards.Card, passcode string, amount int64) (isospec.ResponseCode, error) {
	ph, ok := cards.Phone(phone)
	if !ok {
		return "", errors.New("not a phone")
	}
	if err := ph.Unlock(passcode); err != nil {
		return "", err
	}
	cfg, err := TerminalConfig("")
	if err != nil {
		return "", err
	}
	link := client.New(addr, client.Options{})
	defer link.Close()
	// Each run is a new terminal session of the same terminal ID: its
	// STANs start where the clock puts them, not at 1 again, so that the
	// acquirer does not take a later run's tap for a repeat of an earlier
	// one.
	stan := pos.NewCounter(uint32(time.Now().UnixMilli() % 900_000))
	term, err := pos.New(cfg, link, pos.Options{STAN: stan})
	if err != nil {
		return "", err
	}
	res, err := term.Sale(ctx, amount, inproc.New(phone))
	if err != nil {
		return "", err
	}
	return res.ResponseCode, nil
}
