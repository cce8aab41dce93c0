package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// ProvisioningRow is one row of the provisioning demo: a case, what it
// should give, what it gave, and the requirements it shows.
type ProvisioningRow struct {
	Case, Want, Got, Note, Requirements string
	Err                                 error
}

// OK reports whether the row gave what it should.
func (r ProvisioningRow) OK() bool { return r.Err == nil && r.Got == r.Want }

// demoClock is a clock the demo moves forward (an OTP's expiry).
type demoClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *demoClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *demoClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// provDemo is one run of the provisioning demo.
type provDemo struct {
	n     *Network
	p     *Provisioning
	clock *demoClock
	apps  []*walletapp.App
	cards map[string]FundingCard
}

// ProvisioningDemo starts the embedded network in dir with its
// provisioning services and runs the wallet flow's cases, then the HCE
// cloud platform's, then the SE's over the air, over real sockets: each row says what it expected and what it got. A wallet
// account named "stepup-..." gets the token service's step-up
// recommendation.
func ProvisioningDemo(ctx context.Context, dir string, logger *slog.Logger) ([]ProvisioningRow, error) {
	clock := &demoClock{now: time.Now().Truncate(time.Second)}
	n, err := Start(ctx, Options{Dir: dir, Logger: logger, IssuerTimeout: 1500 * time.Millisecond, Clock: clock.Now,
		Recommend: func(r tokensvc.IDVRequest) string {
			if strings.HasPrefix(r.WalletAccountID, "stepup") {
				return wire.DecisionRequireAuthN
			}
			return ""
		}})
	if err != nil {
		return nil, err
	}
	defer n.Close()
	p := n.Provisioning()
	d := &provDemo{n: n, p: p, clock: clock, cards: map[string]FundingCard{}}
	for _, name := range []string{"visa-plastic", "mc-plastic", "visa-plastic-cvn22", "visa-plastic-cvn10", "mc-plastic-cvn17", "mc-plastic-cvn20"} {
		fc, err := SampleFundingCard(ctx, n, name)
		if err != nil {
			return nil, err
		}
		d.cards[name] = fc
	}
	rows := append(d.rows(ctx), d.hceRows(ctx)...)
	return append(rows, SEDemoRows(ctx, n)...), nil
}

// refusal names a refused call by its machine-readable reason.
func refusal(err error) (string, error) {
	var r *wire.Refusal
	if errors.As(err, &r) {
		return "refused " + r.Reason, nil
	}
	return "", err
}

func (d *provDemo) app(device, account string) (*walletapp.App, error) {
	a, err := d.p.NewWalletApp(device, account)
	if err == nil {
		d.apps = append(d.apps, a)
	}
	return a, err
}

// stepUp adds card to app's wallet and asks for an OTP by text message;
// it returns the token and the OTP the cardholder reads in the inbox.
func (d *provDemo) stepUp(ctx context.Context, app *walletapp.App, card string) (string, string, error) {
	fc := d.cards[card]
	res, err := app.AddCard(ctx, fc.Card)
	if err != nil {
		return "", "", err
	}
	if res.Decision != wire.DecisionRequireAuthN {
		return "", "", fmt.Errorf("decision %s, not a step-up", res.Decision)
	}
	otp, err := d.sendOTP(ctx, app, res.TokenUniqueReference, res.Methods, fc)
	return res.TokenUniqueReference, otp, err
}

func (d *provDemo) sendOTP(ctx context.Context, app *walletapp.App, tur string, ms []wire.AuthenticationMethod, fc FundingCard) (string, error) {
	id := ""
	for _, m := range ms {
		if m.Type == wire.AuthTextToCardholder {
			id = m.ID
		}
	}
	if id == "" {
		return "", fmt.Errorf("no text message step-up offered for %s", tur)
	}
	if _, err := app.RequestOTP(ctx, tur, id); err != nil {
		return "", err
	}
	otp, ok, err := d.p.LastOTP(ctx, fc.Phone)
	if err == nil && !ok {
		err = errors.New("no OTP in the inbox")
	}
	return otp, err
}

func wrongOTP(right string) string {
	if right == "000000" {
		return "111111"
	}
	return "000000"
}

func (d *provDemo) rows(ctx context.Context) []ProvisioningRow {
	var rows []ProvisioningRow
	add := func(c, want, req string, f func() (got, note string, err error)) {
		got, note, err := f()
		rows = append(rows, ProvisioningRow{Case: c, Want: want, Got: got, Note: note, Requirements: req, Err: err})
	}
	var (
		green, phone2           *walletapp.App
		greenTUR, stepTUR, otp2 string
		app3                    *walletapp.App
		tur3                    string
		methods3                []wire.AuthenticationMethod
	)

	add("green path -> token -> tap", "APPROVED ACTIVE, tap 00", "R-M4 R-M5 R-G1 R-G2", func() (string, string, error) {
		var err error
		if green, err = d.app("3520990000000001", "green-1"); err != nil {
			return "", "", err
		}
		res, err := green.AddCard(ctx, d.cards["visa-plastic"].Card)
		if err != nil {
			return "", "", err
		}
		greenTUR = res.TokenUniqueReference
		rc, err := d.p.Tap(ctx, green, greenTUR, 150000)
		if err != nil {
			return "", "", err
		}
		tok, _ := green.Token(greenTUR)
		return fmt.Sprintf("%s %s, tap %s", res.Decision, res.Status, string(rc)), "token " + tok.Masked + " detokenised by the issuer", nil
	})
	add("step-up with OTP", "REQUIRE_ADDITIONAL_AUTHENTICATION, OTP SUCCESS, ACTIVE", "R-M5 R-G3e R-S2a", func() (string, string, error) {
		var err error
		if phone2, err = d.app("3520990000000002", "stepup-2"); err != nil {
			return "", "", err
		}
		res, err := phone2.AddCard(ctx, d.cards["mc-plastic"].Card)
		if err != nil {
			return "", "", err
		}
		stepTUR = res.TokenUniqueReference
		if otp2, err = d.sendOTP(ctx, phone2, stepTUR, res.Methods, d.cards["mc-plastic"]); err != nil {
			return "", "", err
		}
		r, err := phone2.SubmitOTP(ctx, stepTUR, otp2)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%s, OTP %s, %s", res.Decision, r.Result, r.Status), "OTP read from the cardholder's inbox", nil
	})
	add("issuer notified of the download", "created, downloaded, activated; device 3520990000000002, requestor "+SampleWalletRequestor,
		"R-M5", func() (string, string, error) {
			recs, err := d.p.CardTokens(ctx, d.cards["mc-plastic"].CardID)
			if err != nil {
				return "", "", err
			}
			for _, k := range recs {
				if k.TokenRef == stepTUR && k.Created && k.Downloaded && k.Activated {
					return fmt.Sprintf("created, downloaded, activated; device %s, requestor %s", k.DeviceID, k.RequestorID),
						"the issuer's card record", nil
				}
			}
			return "not on the card's record", "", nil
		})
	add("OTP reused", "refused "+tokensvc.ReasonOTPUsed, "R-G3e", func() (string, string, error) {
		_, err := phone2.SubmitOTP(ctx, stepTUR, otp2)
		if err == nil {
			return "accepted", "", nil
		}
		got, err := refusal(err)
		return got, "each OTP serves once", err
	})
	add("wrong OTP", "INCORRECT_CODE, 4 tries left", "R-G3c R-G3e", func() (string, string, error) {
		var err error
		if app3, err = d.app("3520990000000003", "stepup-3"); err != nil {
			return "", "", err
		}
		res, err := app3.AddCard(ctx, d.cards["visa-plastic-cvn22"].Card)
		if err != nil {
			return "", "", err
		}
		tur3, methods3 = res.TokenUniqueReference, res.Methods
		right, err := d.sendOTP(ctx, app3, tur3, methods3, d.cards["visa-plastic-cvn22"])
		if err != nil {
			return "", "", err
		}
		r, err := app3.SubmitOTP(ctx, tur3, wrongOTP(right))
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%s, %d tries left", r.Result, r.RetriesRemaining), "", nil
	})
	add("OTP expired", "EXPIRED_CODE, INACTIVE", "R-G3e", func() (string, string, error) {
		right, err := d.sendOTP(ctx, app3, tur3, methods3, d.cards["visa-plastic-cvn22"])
		if err != nil {
			return "", "", err
		}
		d.clock.Advance(idv.DefaultOTPTTL + time.Minute)
		r, err := app3.SubmitOTP(ctx, tur3, right)
		if err != nil {
			return "", "", err
		}
		tok, _ := app3.Token(tur3)
		return fmt.Sprintf("%s, %s", r.Result, tok.Status), "the right OTP, 6 minutes later", nil
	})
	add("5 wrong OTPs -> locked", "INCORRECT_CODE x4, INCORRECT_CODE_RETRIES_EXCEEDED; right OTP: INCORRECT_CODE_RETRIES_EXCEEDED",
		"R-G3c", func() (string, string, error) {
			app, err := d.app("3520990000000004", "stepup-4")
			if err != nil {
				return "", "", err
			}
			tur, right, err := d.stepUp(ctx, app, "visa-plastic-cvn10")
			if err != nil {
				return "", "", err
			}
			var got []string
			for range 5 {
				r, err := app.SubmitOTP(ctx, tur, wrongOTP(right))
				if err != nil {
					return "", "", err
				}
				got = append(got, r.Result)
			}
			r, err := app.SubmitOTP(ctx, tur, right)
			if err != nil {
				return "", "", err
			}
			four := strings.Join(got[:4], ",")
			if four == strings.Repeat(wire.ResultIncorrectCode+",", 3)+wire.ResultIncorrectCode {
				four = wire.ResultIncorrectCode + " x4"
			}
			return fmt.Sprintf("%s, %s; right OTP: %s", four, got[4], r.Result), "until the issuer's service centre resets it", nil
		})
	add("lost card -> ID&V declined", "DECLINED CARD_LOST", "R-G3", func() (string, string, error) {
		fc := d.cards["mc-plastic-cvn17"]
		if _, err := markCardLost(ctx, d.n.Issuer(), fc.Card.PAN); err != nil {
			return "", "", err
		}
		app, err := d.app("3520990000000005", "green-5")
		if err != nil {
			return "", "", err
		}
		res, err := app.AddCard(ctx, fc.Card)
		if err != nil {
			return "", "", err
		}
		return res.Decision + " " + res.Reason, "no token made", nil
	})
	add("wrong device", "refused "+walletsvc.ReasonWrongDevice, "R-G2 R-S5d", func() (string, string, error) {
		// Another phone, known to the token service by a card of its own,
		// acknowledges the victim's token through the victim's wallet
		// account: its envelope is signed by a key the token is not bound
		// to.
		key, err := wire.NewParty("phone-3520990000000006", d.p.rand)
		if err != nil {
			return "", "", err
		}
		thief, err := d.p.newWalletApp("3520990000000006", "green-6", key)
		if err != nil {
			return "", "", err
		}
		d.apps = append(d.apps, thief)
		if _, err := thief.AddCard(ctx, d.cards["mc-plastic-cvn20"].Card); err != nil {
			return "", "", err
		}
		ack, err := wire.Seal(wire.TokenDataAck{TokenUniqueReference: tur3, DeviceID: "3520990000000003", Result: wire.AckInstalled},
			key, d.p.tsp.Public(), wire.Header{Type: wire.TypeTokenDataAck, Clock: d.p.clock, Rand: d.p.rand})
		if err != nil {
			return "", "", err
		}
		c, err := d.p.client(partyPhone)
		if err != nil {
			return "", "", err
		}
		// The thief signs with its own device key, bound to its own
		// account, and names the victim's.
		wp, _ := d.p.trust.Party(PartyWallet)
		req, err := wire.Seal(walletsvc.AckRequest{WalletAccountID: "stepup-3", TokenUniqueReference: tur3, Ack: ack},
			key, wp, wire.Header{Type: walletsvc.TypeAck, Clock: d.p.clock, Rand: d.p.rand})
		if err != nil {
			return "", "", err
		}
		_, _, err = c.Post(ctx, "https://"+d.p.WalletAddr+walletsvc.PathAck, wire.MediaJOSE, []byte(req))
		if err == nil {
			return "accepted", "", nil
		}
		got, err := refusal(err)
		return got, "another phone acknowledges the victim's token", err
	})
	add("tampered ciphertext", "refused "+wire.ReasonDecrypt, "R-G1 R-G2", func() (string, string, error) {
		app, err := d.app("3520990000000007", "green-7")
		if err != nil {
			return "", "", err
		}
		req, err := app.NewAddCardRequest(d.cards["mc-plastic-cvn20"].Card)
		if err != nil {
			return "", "", err
		}
		parts := strings.Split(req.CardData, ".")
		if len(parts) != 5 || len(parts[3]) < 8 {
			return "", "", errors.New("card data is no compact JWE")
		}
		b := []byte(parts[3])
		if b[5] == 'A' {
			b[5] = 'B'
		} else {
			b[5] = 'A'
		}
		parts[3] = string(b)
		req.CardData = strings.Join(parts, ".")
		_, err = app.Submit(ctx, req)
		if err == nil {
			return "accepted", "", nil
		}
		got, err := refusal(err)
		return got, "one bit of the card data's ciphertext changed", err
	})
	add("token suspended -> tap declined", "SUSPENDED, tap 62", "R-M5", func() (string, string, error) {
		lc, err := d.p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionSuspend,
			TokenUniqueReferences: []string{greenTUR}, Reason: "FRAUD_SUSPECTED"})
		if err != nil {
			return "", "", err
		}
		rc, err := d.p.Tap(ctx, green, greenTUR, 150000)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%s, tap %s", lc.Tokens[0].Status, string(rc)), "by the issuer, at the token service", nil
	})
	add("lost phone -> all its tokens suspended", "2 tokens SUSPENDED, taps 62 62", "R-C1", func() (string, string, error) {
		tur, otp, err := d.stepUp(ctx, phone2, "mc-plastic-cvn20")
		if err != nil {
			return "", "", err
		}
		if r, err := phone2.SubmitOTP(ctx, tur, otp); err != nil || r.Result != wire.ResultSuccess {
			return "", "", fmt.Errorf("second card: %s %w", r.Result, err)
		}
		lc, err := d.p.IssuerLifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionSuspend, DeviceID: "3520990000000002",
			Reason: "DEVICE_LOST"})
		if err != nil {
			return "", "", err
		}
		n := 0
		for _, s := range lc.Tokens {
			if s.Status == wire.StatusSuspended {
				n++
			}
		}
		var rcs []string
		for _, t := range []string{stepTUR, tur} {
			rc, err := d.p.Tap(ctx, phone2, t, 120000)
			if err != nil {
				return "", "", err
			}
			rcs = append(rcs, string(rc))
		}
		return fmt.Sprintf("%d tokens SUSPENDED, taps %s", n, strings.Join(rcs, " ")), "one report names the device", nil
	})
	add("no PAN in the wallet provider's or phone's store", "none found", "R-G5g", func() (string, string, error) {
		ws, err := json.Marshal(d.p.WalletStore().Dump())
		if err != nil {
			return "", "", err
		}
		dumps := []string{string(ws)}
		for _, a := range d.apps {
			b, err := a.Dump()
			if err != nil {
				return "", "", err
			}
			dumps = append(dumps, string(b))
		}
		for _, s := range dumps {
			for _, fc := range d.cards {
				if strings.Contains(s, fc.Card.PAN) {
					return "PAN of " + fc.CardID + " found", "", nil
				}
			}
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return "", "", err
			}
			for _, k := range jsonKeys(v, nil) {
				l := strings.ToLower(k)
				if (strings.Contains(l, "expir") && l != "tokenexpiry" && l != "expiresat") || strings.Contains(l, "securitycode") ||
					l == "pan" || l == "accountnumber" {
					return "field " + k + " found", "", nil
				}
			}
		}
		return "none found", fmt.Sprintf("%d wallet records, %d phones dumped", len(d.p.WalletStore().Dump()), len(d.apps)), nil
	})
	return rows
}

// jsonKeys lists every object key in v.
func jsonKeys(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = jsonKeys(e, append(out, k))
		}
	case []any:
		for _, e := range x {
			out = jsonKeys(e, out)
		}
	}
	return out
}
