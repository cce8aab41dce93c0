package hceflow_test

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

var ctx = context.Background()

// The sample cards (test PANs, Luhn-valid): each real card has a cloud
// account number its phones present instead.
const (
	alicePAN      = "4761739001010010"
	aliceCloudPAN = "4895370012345671"
	bobPAN        = "4761739001010028"
	bobCloudPAN   = "4895370087654320"
	expiry        = "2912"
	cloudExpiry   = "2812"
	aliceRef      = "card-alice"
	bobRef        = "card-bob"
	alicePhoneNo  = "+886912345678"
	bobPhoneNo    = "+886987654321"
	requestorID   = "40010099001"
	imkLabel      = "issuer/cloud-imk"
	// Carol's card is an mc-cloud card: SK_MD from imkLabel, SK_UMD from
	// umdLabel.
	carolPAN      = "5413330089010061"
	carolCloudPAN = "5204740000001234"
	carolRef      = "card-carol"
	carolPhoneNo  = "+886911222333"
	umdLabel      = "issuer/cloud-imk/umd"
)

// world is the issuer (ID&V over its store, security module, key ledger,
// cryptogram verifier) and its cloud platform served on loopback.
type world struct {
	t        *testing.T
	clock    *wiretest.Clock
	pki      *tlstest.PKI
	hsm      *soft.HSM
	db       *store.DB
	idv      *idv.Service
	ledger   *issuercloud.Ledger
	verifier *issuercloud.Verifier
	platform *cloudsvc.Service
	url      string
	addr     string
	srv      *http.Server
	log      *tlstest.LogBuffer
	codes    map[string]string
	seq      int
	// dir is the issuer's data directory; durable keeps the platform and
	// the ledger in its database.
	dir     string
	durable bool
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOf(t, false)
}

// newWorldOf is newWorld, with the platform's state and the key ledger in
// the issuer's database when durable.
func newWorldOf(t *testing.T, durable bool) *world {
	t.Helper()
	w := &world{t: t, clock: wiretest.NewClock(wiretest.Epoch), log: &tlstest.LogBuffer{}, codes: map[string]string{},
		dir: t.TempDir(), durable: durable}
	w.pki = tlstest.NewPKI(t, "cloud-platform", "phone")
	var err error
	w.hsm, err = soft.Open(soft.Config{
		LMK:  keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
		Rand: wiretest.NewSeeded(1),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.hsm.Close() })
	_, err = w.hsm.ImportKey(imkLabel, hsm.UsageIMKAC, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"))
	require.NoError(t, err)
	_, err = w.hsm.ImportKey(umdLabel, hsm.UsageIMKAC, keys.MustHex(keys.TDES, "5198E0086E1AA2B96D024958209E3213"))
	require.NoError(t, err)
	_, err = w.hsm.GenerateKey(cloudsvc.DefaultDEKLabel, hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	cvk, err := w.hsm.ImportKey(idv.DefaultCVKLabel, hsm.UsageCVK, keys.MustHex(keys.TDES, "4CA2161637D0133E5E151AEA45DA2A13"))
	require.NoError(t, err)

	db, err := store.OpenDir(w.dir, storetest.Options())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	w.db = db
	require.NoError(t, db.Update(ctx, func(tx *store.Tx) error {
		for _, c := range []struct{ id, pan, phone string }{{"c-alice", alicePAN, alicePhoneNo}, {"c-bob", bobPAN, bobPhoneNo}, {"c-carol", carolPAN, carolPhoneNo}} {
			if err := tx.PutAccount(ctx, store.Account{ID: "a-" + c.id, Currency: 901, CreditLimit: 100000}); err != nil {
				return err
			}
			if err := tx.PutCard(ctx, store.Card{ID: c.id, PAN: c.pan, AccountID: "a-" + c.id, Expiry: expiry, FormFactor: "hce-phone"}); err != nil {
				return err
			}
			if err := tx.PutCardContact(ctx, store.CardContact{CardID: c.id, Phone: c.phone}); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, p := range []string{alicePAN, bobPAN, carolPAN} {
		w.codes[p], err = w.hsm.GenerateCVV(cvk, p, expiry, "000")
		require.NoError(t, err)
	}
	w.idv, err = idv.New(idv.Config{DB: db, HSM: w.hsm, Requestors: []string{requestorID}, Now: w.clock.Now,
		Rand: wiretest.NewSeeded(2), Logger: slog.New(slog.NewTextHandler(w.log, nil))})
	require.NoError(t, err)

	w.ledger = w.newLedger()
	w.verifier = &issuercloud.Verifier{HSM: w.hsm, Ledger: w.ledger, Now: w.clock.Now}
	w.platform = w.newPlatform()
	for _, c := range []cloudsvc.CardAccount{
		{Ref: aliceRef, Holder: "alice", PAN: alicePAN, Expiry: expiry, CloudPAN: aliceCloudPAN, CloudExpiry: cloudExpiry, PSN: "01", IMK: imkLabel, API: 1, DKI: 1},
		{Ref: bobRef, Holder: "bob", PAN: bobPAN, Expiry: expiry, CloudPAN: bobCloudPAN, CloudExpiry: cloudExpiry, PSN: "01", IMK: imkLabel, API: 1, DKI: 1},
		{Ref: carolRef, Holder: "carol", PAN: carolPAN, Expiry: expiry, CloudPAN: carolCloudPAN, CloudExpiry: cloudExpiry, PSN: "01",
			IMK: imkLabel, CVN: wire.HCECVNMCCloud, UMDIMK: umdLabel, DKI: 1},
	} {
		require.NoError(t, w.platform.AddCard("staff-enrol", c))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	w.addr = ln.Addr().String()
	w.url = "https://" + w.addr
	w.srv, err = w.platform.Serve(ln, w.pki.Server("cloud-platform"), wire.Limits{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

// newLedger is the issuer's key ledger: empty, or what the database holds
// in a durable world.
func (w *world) newLedger() *issuercloud.Ledger {
	if !w.durable {
		return issuercloud.NewLedger(w.clock.Now)
	}
	l, err := issuercloud.OpenLedger(issuercloud.DBStore{DB: w.db, Clock: w.clock.Now}, w.clock.Now)
	require.NoError(w.t, err)
	return l
}

// newPlatform is the issuer's cloud platform of the world, with no card
// account (what the database holds in a durable world).
func (w *world) newPlatform() *cloudsvc.Service {
	var st cloudsvc.Store
	if w.durable {
		st = lab.CloudStore{DB: w.db, Clock: w.clock.Now}
	}
	p, err := cloudsvc.New(cloudsvc.Config{Store: st,
		Me: wiretest.Party(w.t, "cloud-platform", 3), HSM: w.hsm,
		Verifier: idv.HCEVerifier{Service: w.idv, RequestorID: requestorID}, Ledger: w.ledger,
		MinReplenishInterval: 10 * time.Minute, CardReaders: []string{"staff-1"},
		Clock: w.clock.Now, Rand: wiretest.NewSeeded(4), Log: slog.New(slog.NewTextHandler(w.log, nil)),
	})
	require.NoError(w.t, err)
	return p
}

func (w *world) client() *wire.Client {
	c, err := wire.NewClient(w.pki.Client("phone", ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(w.t, err)
	w.t.Cleanup(c.CloseIdleConnections)
	return c
}

// phone is a virtual phone with the issuer's HCE app.
func (w *world) phone(deviceID string, seed byte) *hceapp.App {
	w.t.Helper()
	app, err := hceapp.New(hceapp.Config{DeviceID: deviceID, Platform: w.platform.Public(), URL: w.url,
		Client: w.client(), Rand: wiretest.NewSeeded(seed, 0x55), Clock: w.clock.Now})
	require.NoError(w.t, err)
	return app
}

var otpRE = regexp.MustCompile(`[0-9]{6}`)

// lastOTP is the OTP of the latest message to a cardholder's phone.
func (w *world) lastOTP(number string) string {
	w.t.Helper()
	msgs, err := w.idv.Inbox(ctx, number)
	require.NoError(w.t, err)
	require.NotEmpty(w.t, msgs)
	otp := otpRE.FindString(msgs[len(msgs)-1].Body)
	require.NotEmpty(w.t, otp)
	return otp
}

func (w *world) requestID() string {
	w.seq++
	return "req-" + hex.EncodeToString([]byte{byte(w.seq)})
}

// register registers the phone for a card and answers the OTP the
// cardholder receives.
func (w *world) register(app *hceapp.App, ref, pan, number string) wire.HCEBinding {
	w.t.Helper()
	res, err := app.Register(ctx, w.requestID(), ref, w.codes[pan], "", "")
	require.NoError(w.t, err)
	b, err := app.VerifyRegistration(ctx, res.RegistrationID, w.lastOTP(number))
	require.NoError(w.t, err)
	return b
}

// enrol registers and downloads, reading the OTP from the message
// centre.
func (w *world) enrol(app *hceapp.App, ref, pan, number string) *hceapp.Card {
	w.t.Helper()
	c, err := app.Enrol(ctx, w.requestID(), ref, w.codes[pan], "", func(context.Context, wire.HCERegisterResult) (string, error) {
		return w.lastOTP(number), nil
	})
	require.NoError(w.t, err)
	return c
}

// terminal is the terminal's data of a sale of amount minor units.
func terminal(amount int64, un byte) cryptogram.Values {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	amt := []byte{0, 0, 0, 0, 0, 0}
	for i, a := 5, amount; i >= 0; i-- {
		amt[i] = byte(a%10) | byte(a/10%10)<<4
		a /= 100
	}
	return cryptogram.Values{
		0x9F02: amt, 0x9F03: h("000000000000"), 0x9F1A: h("0158"), 0x95: h("0000000000"),
		0x5F2A: h("0901"), 0x9A: h("261207"), 0x9C: h("00"), 0x9F37: []byte{0x0B, 0xAD, 0xCA, un},
	}
}

// pay taps the phone's card and has the issuer check it.
func (w *world) pay(c *hceapp.Card, ref string, amount int64, cdcvm bool) (issuercloud.Verified, error) {
	w.t.Helper()
	tap, err := c.Pay(terminal(amount, byte(w.seq)), hceapp.Verification{CDCVM: cdcvm})
	require.NoError(w.t, err)
	return w.verify(ref, tap, tap.DeviceID)
}

func (w *world) verify(ref string, tap hceapp.Tap, device string) (issuercloud.Verified, error) {
	it := issuerTap(ref, tap)
	it.DeviceID = device
	return w.verifier.Verify(it)
}

// issuerTap is the issuer's view of a tap on the card account ref.
func issuerTap(ref string, tap hceapp.Tap) issuercloud.Tap {
	card := issuercloud.CloudCard{Ref: ref, PAN: aliceCloudPAN, PSN: "01", CVN: 0xC1, IMK: imkLabel}
	switch ref {
	case bobRef:
		card.PAN = bobCloudPAN
	case carolRef:
		card = issuercloud.CloudCard{Ref: ref, PAN: carolCloudPAN, PSN: "01", CVN: 0xC2, MKMD: imkLabel, MKUMD: umdLabel}
	}
	return issuercloud.Tap{Card: card, Tags: tap.Tags, AC: tap.AC()}
}

// refused checks a platform refusal's reason.
func refused(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, wire.ErrRefused)
	require.Equal(t, reason, wire.RefusalFor(err).Reason, "%v", err)
}

// tapRefused checks the issuer's refusal of a tap.
func tapRefused(t *testing.T, err error, reason issuercloud.TapReason) {
	t.Helper()
	require.ErrorIs(t, err, issuercloud.ErrTap)
	require.ErrorIs(t, err, &issuercloud.TapError{Reason: reason}, "%v", err)
}
