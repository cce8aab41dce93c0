package idv_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

var ctx = context.Background()

// The sample wallet's token requestor and phone.
const (
	walletTR = "40010075001"
	device   = "wallet-phone-01"
)

// syncBuffer collects log lines from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counter is a deterministic random source for the OTPs.
type counter struct {
	mu sync.Mutex
	n  byte
}

func (c *counter) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		c.n += 37
		p[i] = c.n
	}
	return len(p), nil
}

// fixture is the sample issuer with the provisioning service on a fixed
// clock, and everything it logs.
type fixture struct {
	t   testing.TB
	net *issuertest.Net
	svc *idv.Service
	log *syncBuffer
	// secrets are values that must never reach a log, an error or the
	// audit trail: PANs, security codes, OTPs.
	secrets []string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	n := issuertest.New(t)
	buf := &syncBuffer{}
	svc, err := idv.New(idv.Config{DB: n.DB, HSM: n.HSM, Now: n.Clock.Now, Rand: &counter{},
		Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: dropTime}))})
	require.NoError(t, err)
	f := &fixture{t: t, net: n, svc: svc, log: buf}
	for _, c := range n.Seed.Cards {
		f.secrets = append(f.secrets, c.PAN)
	}
	return f
}

// dropTime leaves the time out of log lines, so that a secret of 3 digits
// is not found in a timestamp.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// card returns a sample card's PAN and expiry.
func (f *fixture) card(id string) store.Card {
	f.t.Helper()
	var c store.Card
	require.NoError(f.t, f.net.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.Card(ctx, id)
		return err
	}))
	return c
}

// cvv2 is the code on the back of a sample card.
func (f *fixture) cvv2(c store.Card) string {
	f.t.Helper()
	code, err := issuerhost.SampleCVV2(f.net.HSM, c.PAN, c.Expiry)
	require.NoError(f.t, err)
	return code
}

// wrongCode is a security code that is not the card's.
func wrongCode(code string) string {
	return fmt.Sprintf("%03d", (int(code[0]-'0')*100+int(code[1]-'0')*10+int(code[2]-'0')+1)%1000)
}

// request is a well-formed ID&V request for a sample card, with the
// right code and scores that call for a step-up.
func (f *fixture) request(corr, cardID string) idv.AuthorizeRequest {
	c := f.card(cardID)
	code := f.cvv2(c)
	f.secrets = append(f.secrets, code)
	return idv.AuthorizeRequest{CorrelationID: corr, RequestorID: walletTR, TokenType: "CLOUD", PAN: c.PAN, Expiry: c.Expiry,
		SecurityCode: code, DeviceID: device,
		Decisioning: idv.DecisioningData{Recommendation: "APPROVED", DeviceScore: 3, AccountScore: 4}}
}

func (f *fixture) authorize(req idv.AuthorizeRequest) idv.AuthorizeResponse {
	f.t.Helper()
	resp, err := f.svc.Authorize(ctx, req)
	require.NoError(f.t, err)
	return resp
}

var otpRE = regexp.MustCompile(`\b([0-9]{6})\b is your one-time password`)

// sendOTP sends an OTP by SMS and reads it from the cardholder's phone.
func (f *fixture) sendOTP(corr, cardID string) string {
	f.t.Helper()
	_, err := f.svc.SendOTP(ctx, corr, "sms")
	require.NoError(f.t, err)
	phone, _ := issuerhost.SampleContact(cardID)
	in, err := f.svc.Inbox(ctx, phone)
	require.NoError(f.t, err)
	require.NotEmpty(f.t, in)
	m := otpRE.FindStringSubmatch(in[len(in)-1].Body)
	require.NotNil(f.t, m, "no OTP in the last message")
	f.secrets = append(f.secrets, m[1])
	return m[1]
}

// pinBlock is the format 0 block of p for pan under the sample ZPK.
func pinBlock(t *testing.T, p, pan string) string {
	t.Helper()
	c, err := pin.Encode(pin.Format0, p, pan, nil)
	require.NoError(t, err)
	b, err := pin.Encrypt(keys.MustHex(keys.TDES, issuertest.ZPKHex), c)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func (f *fixture) audit() []store.AuditEvent {
	f.t.Helper()
	var out []store.AuditEvent
	require.NoError(f.t, f.net.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.AuditTrail(ctx)
		return err
	}))
	return out
}

func (f *fixture) provisioning(cardID string) store.Provisioning {
	f.t.Helper()
	var p store.Provisioning
	require.NoError(f.t, f.net.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.Provisioning(ctx, cardID)
		return err
	}))
	return p
}

// noSecrets checks that no PAN, security code or OTP the test used is in
// the logs or the audit trail (design: sensitive data never in a log).
func (f *fixture) noSecrets() {
	f.t.Helper()
	logs := f.log.String()
	var trail strings.Builder
	for _, e := range f.audit() {
		fmt.Fprintf(&trail, "%s %s %s %s\n", e.Actor, e.Action, e.Subject, e.Detail)
	}
	for _, s := range f.secrets {
		// Codes of 3 digits may occur inside times and counters: look for
		// them as whole words only.
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(s) + `\b`)
		require.False(f.t, re.MatchString(logs), "a secret in the logs")
		require.False(f.t, re.MatchString(trail.String()), "a secret in the audit trail")
	}
}
