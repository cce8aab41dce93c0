package pos_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

// The sample network's test keys.
var (
	testBDK = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	testTAK = keys.MustHex(keys.TDES, pos.DefaultTAKHex)
	// testNow is the fixed transaction time: 2026-11-24 21:20:10 in Taipei.
	testNow = time.Date(2026, 11, 24, 21, 20, 10, 0, time.FixedZone("CST", 8*3600))
)

// fakeAcquirer is an acquirer written for the tests: it records every
// request it receives, checks its MAC under the TAK, and answers what
// decide says. It is an iso8583-connection server over real loopback TCP.
type fakeAcquirer struct {
	srv *server.Server
	// decide answers a request: the response to send (MAC added here
	// unless noMAC), or nil for no answer at all.
	decide func(req *iso8583.Message) *iso8583.Message

	mu       sync.Mutex
	requests []*iso8583.Message
	raw      [][]byte
	macErrs  []error
	noMAC    bool
	badMAC   bool
}

func startAcquirer(t testing.TB, decide func(req *iso8583.Message) *iso8583.Message) *fakeAcquirer {
	t.Helper()
	a, err := newFakeAcquirer(decide)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.srv.Close)
	return a
}

// newFakeAcquirer starts a fake acquirer on a free loopback port; close it
// with a.srv.Close.
func newFakeAcquirer(decide func(req *iso8583.Message) *iso8583.Message) (*fakeAcquirer, error) {
	a := &fakeAcquirer{decide: decide}
	a.srv = server.New(isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}),
		connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
		connection.InboundMessageHandler(a.handle),
	)
	if err := a.srv.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *fakeAcquirer) handle(c *connection.Connection, m *iso8583.Message) {
	packed, err := isospec.Pack(m)
	a.mu.Lock()
	a.requests = append(a.requests, m)
	a.raw = append(a.raw, packed)
	if err == nil {
		err = isospec.VerifyMAC(packed, verifyTAK)
	}
	a.macErrs = append(a.macErrs, err)
	noMAC, badMAC := a.noMAC, a.badMAC
	a.mu.Unlock()
	resp := a.decide(m)
	if resp == nil {
		return
	}
	if !noMAC {
		_ = isospec.SetMAC(resp, macTAK)
		if badMAC {
			field := isospec.MACField(resp)
			b, _ := resp.GetBytes(field)
			b[0] ^= 0x01
			_ = resp.BinaryField(field, b)
		}
	}
	_ = c.Reply(resp)
}

func (a *fakeAcquirer) addr() string { return a.srv.Addr }

// received returns the requests received so far and the MAC check of each.
func (a *fakeAcquirer) received() ([]*iso8583.Message, []error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*iso8583.Message(nil), a.requests...), append([]error(nil), a.macErrs...)
}

// waitRequests waits until n requests arrived (answers are sent after the
// request is recorded, so a result in hand means its requests are here; the
// wait covers reversals sent while the test looks).
func (a *fakeAcquirer) waitRequests(t testing.TB, n int) []*iso8583.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		reqs, _ := a.received()
		if len(reqs) >= n || time.Now().After(deadline) {
			return reqs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func macTAK(data []byte) ([]byte, error) { return mac.Alg3(testTAK, data, mac.Method1) }

func verifyTAK(data, m []byte) error {
	want, err := macTAK(data)
	if err != nil {
		return err
	}
	if !mac.Equal(want, m) {
		return errors.New("MAC mismatch")
	}
	return nil
}

// approveAll answers 0100 with 00, auth code A1B2C3 and an ARPC in DE55,
// and acknowledges 0400 with 00.
func approveAll(req *iso8583.Message) *iso8583.Message {
	return answer(req, isospec.RCApproved, "")
}

// answer builds the response to req with code rc and, when set, a decline
// reason in DE48.
func answer(req *iso8583.Message, rc isospec.ResponseCode, reason isospec.DeclineReason) *iso8583.Message {
	mti, _ := req.GetMTI()
	var v any
	switch isospec.MTI(mti) {
	case isospec.MTIAuthorizationRequest:
		var ar isospec.AuthorizationRequest
		if err := isospec.Decode(req, &ar); err != nil {
			return nil
		}
		resp, err := isospec.NewAuthorizationResponse(&ar, rc)
		if err != nil {
			return nil
		}
		if rc.Approved() {
			resp.AuthCode = "A1B2C3"
			resp.ICCData = []byte{0x91, 0x0A, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x30, 0x30}
		}
		if reason != "" {
			resp.PrivateData, _ = isospec.PrivateData{DeclineReason: reason}.Encode()
		}
		v = resp
	case isospec.MTIReversalRequest:
		var rr isospec.ReversalRequest
		if err := isospec.Decode(req, &rr); err != nil {
			return nil
		}
		resp, err := isospec.NewReversalResponse(&rr, rc)
		if err != nil {
			return nil
		}
		v = resp
	default:
		return nil
	}
	msg, err := isospec.Encode(v)
	if err != nil {
		return nil
	}
	return msg
}

// newCard builds a sample card with a fixed random source and clock.
func newCard(t testing.TB, name string) cards.Card {
	t.Helper()
	p, err := cards.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return cardFrom(t, p)
}

func cardFrom(t testing.TB, p cards.Profile) cards.Card {
	t.Helper()
	c, err := cards.FromProfile(p, cards.Options{
		Rand:  rand.NewChaCha8([32]byte{1, 2, 3}),
		Clock: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testConfig is the sample terminal with the test CA's keys and a short
// response timeout.
func testConfig(t testing.TB) pos.Config {
	t.Helper()
	cfg := pos.DefaultConfig()
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kernel.CAPublicKeys = capk
	cfg.ResponseTimeout = 300 * time.Millisecond
	cfg.ReversalAttempts = 2
	return cfg
}

// rig is a terminal wired to a fake acquirer over loopback.
type rig struct {
	term   *pos.Terminal
	acq    *fakeAcquirer
	link   *client.Client
	stan   *pos.Counter
	events []pos.Event
	emu    sync.Mutex
}

func newRig(t testing.TB, decide func(*iso8583.Message) *iso8583.Message, o pos.Options) *rig {
	t.Helper()
	return newRigEvents(t, decide, o, true)
}

// newRigEvents is newRig whose terminal has no event listener unless
// record is set, as the load generator's terminals.
func newRigEvents(t testing.TB, decide func(*iso8583.Message) *iso8583.Message, o pos.Options, record bool) *rig {
	t.Helper()
	r := &rig{acq: startAcquirer(t, decide), stan: pos.NewCounter(0)}
	r.link = client.New(r.acq.addr(), client.Options{})
	t.Cleanup(func() { _ = r.link.Close() })
	if o.Clock == nil {
		o.Clock = func() time.Time { return testNow }
	}
	o.UnpredictableNumber = kernel.FixedUN([4]byte{0x12, 0x34, 0x56, 0x78})
	o.STAN = r.stan
	if record {
		o.Events = func(e pos.Event) {
			r.emu.Lock()
			r.events = append(r.events, e)
			r.emu.Unlock()
		}
	}
	term, err := pos.New(testConfig(t), r.link, o)
	if err != nil {
		t.Fatal(err)
	}
	r.term = term
	return r
}

func (r *rig) eventTexts() []string {
	r.emu.Lock()
	defer r.emu.Unlock()
	out := make([]string, 0, len(r.events))
	for _, e := range r.events {
		out = append(out, e.String())
	}
	return out
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

var _ = context.Background

// approveAllButAuthorisations never answers a 0100 and acknowledges the
// rest.
func approveAllButAuthorisations(req *iso8583.Message) *iso8583.Message {
	if mti, _ := req.GetMTI(); mti == "0100" {
		return nil
	}
	return approveAll(req)
}
