package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
)

// PathSEVerify is where the issuer's provisioning listener takes the SP
// TSM's request to check a cardholder's code at an SE download (R-S3c):
// JOSE, sealed to the listener's keys and signed by the SP TSM, from the
// SP TSM's certificate only.
const PathSEVerify = "/se/verify"

// seVerifyHandler checks the code with the issuer's ID&V: its try limit
// and lock apply, each refusal with its reason and the tries left.
func seVerifyHandler(svc *idv.Service, me *wire.Party, trust *wire.TrustList, clock func() time.Time) http.Handler {
	replay := wire.NewMemoryReplayCache(4096)
	return wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var m tsm.VerifyOTP
		c, err := wire.OpenInto(string(r.Body), me, trust, wire.Expect{Type: tsm.TypeVerify, Replay: replay, Clock: clock}, &m)
		if err != nil {
			return wire.Response{}, err
		}
		if c.Issuer != PartySPTSM {
			return wire.Response{}, wire.ErrIssuer
		}
		if err := m.Validate(); err != nil {
			return wire.Response{}, err
		}
		if _, err := svc.VerifyOTP(r.HTTP.Context(), m.OrderID, m.OTP); err != nil {
			return wire.Response{}, idvRefusal(err)
		}
		return wire.JSONResponse(http.StatusOK, map[string]bool{"verified": true})
	}, wire.HandlerOptions{})
}

// RemoteIDV is the SP TSM's CardholderVerifier when the issuer's ID&V is
// another process: it posts the code, sealed to the issuer's
// provisioning listener and signed by the SP TSM, to URL + PathSEVerify.
type RemoteIDV struct {
	URL    string
	Me     *wire.Party
	Issuer wire.PublicKeys
	Client *wire.Client
	Clock  func() time.Time
}

// VerifyOTP implements tsm.CardholderVerifier.
func (v RemoteIDV) VerifyOTP(ctx context.Context, correlationID, otp string) error {
	tok, err := wire.Seal(tsm.VerifyOTP{OrderID: correlationID, OTP: otp}, v.Me, v.Issuer, wire.Header{Type: tsm.TypeVerify, Clock: v.Clock})
	if err != nil {
		return err
	}
	_, _, err = v.Client.Post(ctx, v.URL+PathSEVerify, wire.MediaJOSE, []byte(tok))
	var ref *wire.Refusal
	if errors.As(err, &ref) {
		return ref
	}
	return err
}

// BeginSEAtIssuer is the issuer's back office on its own data directory
// dir (the issuer host may be running: SQLite lets it in): it opens the
// ID&V attempt correlationID for the card of an se-phone profile on
// device and sends its code by SMS to the card's registered phone,
// returning that number and the code the cardholder reads in the inbox.
func BeginSEAtIssuer(ctx context.Context, dir, correlationID, profile, device string) (recipient, code string, err error) {
	d, err := issuerDataDir(dir)
	if err != nil {
		return "", "", err
	}
	r, err := OpenIssuer(ctx, d, "", nil)
	if err != nil {
		return "", "", err
	}
	defer r.Close()
	svc, err := idv.New(idv.Config{DB: r.DB, HSM: r.HSM})
	if err != nil {
		return "", "", err
	}
	prof, err := Profile(profile)
	if err != nil || prof.App == nil {
		return "", "", errors.New("lab: " + profile + " has no card")
	}
	var cardID string
	if err := r.DB.View(ctx, func(tx *store.Tx) error {
		c, err := tx.CardByPAN(ctx, prof.App.PAN)
		cardID = c.ID
		return err
	}); err != nil {
		return "", "", fmt.Errorf("lab: the issuer's card of %s: %w", profile, err)
	}
	if _, err := svc.BeginSE(ctx, correlationID, cardID, device); err != nil {
		return "", "", idvRefusal(err)
	}
	if _, err := svc.SendOTP(ctx, correlationID, "sms"); err != nil {
		return "", "", idvRefusal(err)
	}
	recipient, _ = issuerhost.SampleContact(cardID)
	ms, err := svc.Inbox(ctx, recipient)
	if err != nil {
		return "", "", err
	}
	for _, m := range ms {
		if g := seOTPRE.FindStringSubmatch(m.Body); g != nil {
			code = g[1]
		}
	}
	return recipient, code, nil
}
