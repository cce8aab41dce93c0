package issuerhost_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

var ctx = context.Background()

func newServer(t testing.TB, n *issuertest.Net, cfg issuerhost.Config) *issuerhost.Server {
	t.Helper()
	cfg.Now = n.Clock.Now
	s, err := issuerhost.New(n.DB, n.HSM, cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// isoRequest is the 0100 the acquirer sends for an engine request.
func isoRequest(r authz.Request) *isospec.AuthorizationRequest {
	psn := ""
	if r.PSN != "" {
		psn = "0" + r.PSN
	}
	return &isospec.AuthorizationRequest{
		MTI: isospec.MTI(r.MTI), PAN: r.PAN, ProcessingCode: isospec.ProcessingCode(r.ProcessingCode), Amount: r.Amount,
		TransmissionDateTime: r.TransmissionTime, STAN: r.STAN, LocalTime: "100000", LocalDate: "0315", Expiry: r.Expiry,
		MCC: "5411", POSEntryMode: isospec.POSEntryMode(r.EntryMode), CardSequenceNumber: psn, POSConditionCode: "00",
		AcquirerID: "400001", RRN: r.RRN, TerminalID: r.TerminalID, MerchantID: r.MerchantID, Currency: "901",
		PINBlock: r.PINBlock, ICCData: r.ICC,
	}
}

func zakMAC(data []byte) ([]byte, error) {
	return mac.Alg3(keys.MustHex(keys.TDES, issuertest.ZAKHex), data, mac.Method1)
}

func dial(t testing.TB, addr string) *connection.Connection {
	t.Helper()
	c, err := connection.New(addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}), connection.SendTimeout(10*time.Second))
	require.NoError(t, err)
	require.NoError(t, c.Connect())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t testing.TB, c *connection.Connection, v any, withMAC bool) *iso8583.Message {
	t.Helper()
	m, err := isospec.Encode(v)
	require.NoError(t, err)
	if withMAC {
		require.NoError(t, isospec.SetMAC(m, zakMAC))
	}
	resp, err := c.Send(m)
	require.NoError(t, err)
	return resp
}

func decodeAuth(t testing.TB, m *iso8583.Message) isospec.AuthorizationResponse {
	t.Helper()
	var r isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(m, &r))
	return r
}

func reason(t testing.TB, pd string) isospec.DeclineReason {
	t.Helper()
	p, err := isospec.ParsePrivateData(pd)
	require.NoError(t, err)
	return p.DeclineReason
}

// A real socket, an iso8583-connection client: sign-on, approval with
// its ARPC, decline with its reason, reversal, advice and its repeat,
// echo, sign-off, MACs both ways.
func TestServerOverTCP(t *testing.T) {
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{})
	require.NotEmpty(t, s.Addr())
	c := dial(t, s.Addr())

	now := n.Clock.Now()
	var nm isospec.NetworkManagement
	require.NoError(t, isospec.Decode(send(t, c, isospec.NewNetworkManagement(isospec.NetSignOn, n.NextSTAN(), now), true), &nm))
	require.Equal(t, isospec.MTINetworkResponse, nm.MTI)
	require.Equal(t, isospec.RCApproved, nm.ResponseCode)
	require.Equal(t, isospec.NetSignOn, nm.NetworkCode)

	// Approval, MACed both ways.
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 25000})
	req := isoRequest(r)
	m := send(t, c, req, true)
	resp := decodeAuth(t, m)
	require.Equal(t, isospec.MTIAuthorizationResponse, resp.MTI)
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	require.Len(t, resp.AuthCode, 6)
	require.Equal(t, req.STAN, resp.STAN)
	require.Equal(t, req.TerminalID, resp.TerminalID)
	require.Empty(t, reason(t, resp.PrivateData))
	packed, err := isospec.Pack(m)
	require.NoError(t, err)
	require.NoError(t, isospec.VerifyMAC(packed, func(data, got []byte) error {
		want, err := zakMAC(data)
		if err != nil {
			return err
		}
		if !mac.Equal(want, got) {
			return errors.New("response MAC")
		}
		return nil
	}))
	card := n.Cards[issuertest.VisaPlastic]
	tags := cryptogram.Values{}
	l, err := tlv.Decode(r.ICC)
	require.NoError(t, err)
	for _, o := range l {
		tags[uint32(o.Tag)] = o.Value
	}
	iad := issuertest.ICCValue(t, resp.ICCData, 0x91)
	require.Len(t, iad, 8, "ARPC method 2: ARPC || CSU")
	require.NoError(t, card.CVN.VerifyARPC(card.MK, tags, tags[0x9F26], iad[4:], nil, iad[:4]))

	// Decline, its reason in DE48.
	big := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 350000}))
	resp = decodeAuth(t, send(t, c, big, true))
	require.Equal(t, isospec.ResponseCode("57"), resp.ResponseCode)
	require.Equal(t, isospec.ReasonCVMRequired, reason(t, resp.PrivateData))
	require.Empty(t, resp.AuthCode)
	require.Len(t, resp.MAC, 8, "a MACed request gets a MACed answer, decline or not")

	// A MAC that does not verify: 63.
	bad, err := isospec.Encode(isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})))
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(bad, func([]byte) ([]byte, error) { return make([]byte, 8), nil }))
	badResp, err := c.Send(bad)
	require.NoError(t, err)
	resp = decodeAuth(t, badResp)
	require.Equal(t, isospec.RCSecurityViolation, resp.ResponseCode)
	require.Equal(t, isospec.ReasonMACInvalid, reason(t, resp.PrivateData))

	// Reversal of the approval, then the advice and its repeat.
	before := openToBuy(t, n, "acct-1")
	rev, err := isospec.NewReversal(req, n.NextSTAN(), now, isospec.RCResponseTooLate, "")
	require.NoError(t, err)
	var rr isospec.ReversalResponse
	require.NoError(t, isospec.Decode(send(t, c, rev, true), &rr))
	require.Equal(t, isospec.MTIReversalResponse, rr.MTI)
	require.Equal(t, isospec.RCApproved, rr.ResponseCode)
	require.Equal(t, rev.OriginalData, rr.OriginalData)
	require.Equal(t, before+25000, openToBuy(t, n, "acct-1"))
	for _, repeat := range []bool{false, true} {
		adv := rev.Advice(repeat)
		adv.STAN = n.NextSTAN()
		require.NoError(t, isospec.Decode(send(t, c, adv, true), &rr))
		require.Equal(t, isospec.MTIReversalAdviceResponse, rr.MTI)
		require.Equal(t, isospec.RCApproved, rr.ResponseCode)
	}
	require.Equal(t, before+25000, openToBuy(t, n, "acct-1"), "released once")

	// Key change is not offered; echo and sign-off are.
	require.NoError(t, isospec.Decode(send(t, c, isospec.NewNetworkManagement(isospec.NetKeyChange, n.NextSTAN(), now), true), &nm))
	require.Equal(t, isospec.RCInvalidTransaction, nm.ResponseCode)
	pd, err := isospec.ParsePrivateData(nm.PrivateData)
	require.NoError(t, err)
	require.Equal(t, isospec.ReasonKeyChange, pd.DeclineReason)
	for _, code := range []isospec.NetworkCode{isospec.NetEcho, isospec.NetSignOff} {
		require.NoError(t, isospec.Decode(send(t, c, isospec.NewNetworkManagement(code, n.NextSTAN(), now), true), &nm))
		require.Equal(t, isospec.RCApproved, nm.ResponseCode, code)
	}
}

func openToBuy(t testing.TB, n *issuertest.Net, id string) int64 {
	t.Helper()
	var a store.Account
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		a, err = tx.Account(ctx, id)
		return err
	}))
	return a.OpenToBuy()
}

// R-G2: every request needs a MAC under the ZAK unless the integrator opts
// out; even then an un-MACed reversal cannot release a hold.
func TestMACRequiredByDefault(t *testing.T) {
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{})
	c := dial(t, s.Addr())
	resp := decodeAuth(t, send(t, c, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})), false))
	require.Equal(t, isospec.RCSecurityViolation, resp.ResponseCode)
	pd, err := isospec.ParsePrivateData(resp.PrivateData)
	require.NoError(t, err)
	require.Equal(t, isospec.ReasonMACInvalid, pd.DeclineReason)
	resp = decodeAuth(t, send(t, c, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})), true))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
}

func TestMACOptional(t *testing.T) {
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{MACOptional: true})
	c := dial(t, s.Addr())
	req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
	resp := decodeAuth(t, send(t, c, req, false))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode, "opted out: no MAC needed for an authorisation")
}

// writeFrame sends one frame: length header and body.
func writeFrame(t testing.TB, conn net.Conn, b []byte) {
	t.Helper()
	require.NoError(t, isospec.WriteFrame(conn, b))
}

// readAnswer reads one answer, or reports that the server closed.
func readAnswer(t testing.TB, conn net.Conn) (*iso8583.Message, bool) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	b, err := isospec.ReadFrame(conn)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, false
	}
	require.NoError(t, err)
	m, err := isospec.Unpack(b)
	require.NoError(t, err, "the server's answers are well formed")
	return m, true
}

// malformedFrames makes n malformed frames of several kinds, from a fixed
// seed: random bodies after a request type, good messages cut short, good
// messages with a byte changed, messages without mandatory fields, and
// frames with no readable message type.
func malformedFrames(t testing.TB, net *issuertest.Net, n int) [][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	good, err := isospec.Marshal(isoRequest(net.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})))
	require.NoError(t, err)
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		var f []byte
		switch i % 6 {
		case 0: // a request type, then garbage
			f = append([]byte([]string{"0100", "0200", "0400", "0420", "0800"}[rng.IntN(5)]), randBytes(rng, rng.IntN(200))...)
		case 1: // cut short
			f = append([]byte(nil), good[:4+rng.IntN(len(good)-5)]...)
		case 2: // one byte changed after the MTI
			f = append([]byte(nil), good...)
			f[4+rng.IntN(len(f)-4)] ^= byte(1 + rng.IntN(255))
		case 3: // trailing bytes
			f = append(append([]byte(nil), good...), randBytes(rng, 1+rng.IntN(8))...)
		case 4: // no mandatory fields
			f = []byte("0100\x00\x00\x00\x00\x00\x00\x00\x00")
		case 5: // no message type
			f = randBytes(rng, rng.IntN(6))
			if len(f) >= 4 {
				f[0] = 'X'
			}
		}
		if _, err := isospec.Unpack(f); err == nil {
			if isospec.Validate(mustUnpack(f)) == nil {
				continue // a byte change that left a valid message
			}
		}
		out = append(out, f)
	}
	return out
}

func mustUnpack(b []byte) *iso8583.Message { m, _ := isospec.Unpack(b); return m }

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return b
}

// 1,000 malformed frames: each gets a format error (30) or, without a
// readable message type, a clean close; the host then answers a good
// request.
func TestThousandMalformedFrames(t *testing.T) {
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{})
	frames := malformedFrames(t, n, 1000)
	require.Len(t, frames, 1000)

	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer func() { conn.Close() }()
	answered, closed := 0, 0
	for _, f := range frames {
		writeFrame(t, conn, f)
		m, ok := readAnswer(t, conn)
		if !ok {
			closed++
			conn.Close()
			conn, err = net.Dial("tcp", s.Addr())
			require.NoError(t, err)
			continue
		}
		answered++
		rc, err := m.GetString(isospec.FieldResponseCode)
		require.NoError(t, err)
		require.Equal(t, "30", rc)
		mti, _ := m.GetMTI()
		require.True(t, isospec.MTI(mti).IsResponse(), mti)
	}
	t.Logf("%d answered with 30, %d closed", answered, closed)
	require.Positive(t, answered)
	require.Positive(t, closed)

	c := dial(t, s.Addr())
	resp := decodeAuth(t, send(t, c, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})), true))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
}

// A frame that passes the syntax but misses a mandatory field is answered
// with 30 and what identifies it (STAN, terminal), so that the sender can
// match the answer.
func TestFormatErrorEchoesIDs(t *testing.T) {
	n := issuertest.New(t)
	s, err := issuerhost.New(n.DB, n.HSM, issuerhost.Config{Now: n.Clock.Now})
	require.NoError(t, err)
	req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
	req.Currency = ""
	b, err := isospec.Marshal(req)
	require.NoError(t, err)
	out, err := s.HandleFrame(ctx, b)
	require.NoError(t, err)
	resp := decodeAuth(t, mustUnpack(out))
	require.Equal(t, isospec.RCFormatError, resp.ResponseCode)
	require.Equal(t, req.STAN, resp.STAN)
	require.Equal(t, req.TerminalID, resp.TerminalID)
	require.Equal(t, isospec.ReasonFormat, reason(t, resp.PrivateData))

	// A response sent to the host is answered 30 in its own type, with
	// what identifies it.
	r, err := isospec.NewAuthorizationResponse(isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})), isospec.RCApproved)
	require.NoError(t, err)
	b, err = isospec.Marshal(r)
	require.NoError(t, err)
	out, err = s.HandleFrame(ctx, b)
	require.NoError(t, err)
	resp = decodeAuth(t, mustUnpack(out))
	require.Equal(t, isospec.MTIAuthorizationResponse, resp.MTI)
	require.Equal(t, isospec.RCFormatError, resp.ResponseCode)
	require.Equal(t, r.STAN, resp.STAN)

	_, err = s.HandleFrame(ctx, []byte("ab"))
	require.ErrorIs(t, err, issuerhost.ErrClose)
}

func TestServerLifecycle(t *testing.T) {
	n := issuertest.New(t)
	s, err := issuerhost.New(n.DB, n.HSM, issuerhost.Config{Now: n.Clock.Now})
	require.NoError(t, err)
	require.Empty(t, s.Addr())
	cctx, cancel := context.WithCancel(ctx)
	require.NoError(t, s.Start(cctx))
	require.Error(t, s.Start(cctx), "started twice")
	addr := s.Addr()
	cancel()
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, 5*time.Second, 20*time.Millisecond, "the listener closes when the context ends")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())

	_, err = issuerhost.New(nil, n.HSM, issuerhost.Config{})
	require.Error(t, err)
	require.NotNil(t, s.Engine())
	require.NotNil(t, s.Vault())
	require.Equal(t, n.DB, s.Store())
	_ = fmt.Sprint(s.Addr())
}

func mustTDES(s string) keys.Key { return keys.MustHex(keys.TDES, s) }

// A reversal releases a hold only when it is authenticated and names an
// approval that exists with its own amount, currency and card (R-G2):
// an attacker on the issuer link without the ZAK, or a reversal altered
// after the fact, releases nothing.
func TestReversalMustBeAuthenticatedAndMatch(t *testing.T) {
	n := issuertest.New(t)
	// Even with MACs optional for authorisations, reversals need one.
	s := newServer(t, n, issuerhost.Config{MACOptional: true})
	c := dial(t, s.Addr())
	now := n.Clock.Now()
	before := openToBuy(t, n, "acct-1")
	req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 25000}))
	require.Equal(t, isospec.RCApproved, decodeAuth(t, send(t, c, req, true)).ResponseCode)
	require.Equal(t, before-25000, openToBuy(t, n, "acct-1"))

	reverse := func(mutate func(r *isospec.ReversalRequest), mac bool) (isospec.ResponseCode, isospec.DeclineReason) {
		t.Helper()
		rev, err := isospec.NewReversal(req, n.NextSTAN(), now, isospec.RCResponseTooLate, "")
		require.NoError(t, err)
		if mutate != nil {
			mutate(rev)
		}
		var rr isospec.ReversalResponse
		require.NoError(t, isospec.Decode(send(t, c, rev.Advice(false), mac), &rr))
		return rr.ResponseCode, reason(t, rr.PrivateData)
	}
	for _, tc := range []struct {
		name   string
		mutate func(r *isospec.ReversalRequest)
		mac    bool
		code   isospec.ResponseCode
		reason isospec.DeclineReason
	}{
		{"no MAC", nil, false, isospec.RCSecurityViolation, isospec.ReasonMACInvalid},
		{"other amount", func(r *isospec.ReversalRequest) { r.Amount = 100 }, true, "12", "reversal_mismatch"},
		{"other currency", func(r *isospec.ReversalRequest) { r.Currency = "840" }, true, "12", "reversal_mismatch"},
		{"other card", func(r *isospec.ReversalRequest) { r.PAN = "5413330089020011" }, true, "12", "reversal_mismatch"},
		{"other RRN", func(r *isospec.ReversalRequest) { r.RRN = "999999999999" }, true, "12", "reversal_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, why := reverse(tc.mutate, tc.mac)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.reason, why)
			require.Equal(t, before-25000, openToBuy(t, n, "acct-1"), "the hold stays")
		})
	}
	// A reversal of an approval that never existed releases nothing.
	code, _ := reverse(func(r *isospec.ReversalRequest) {
		od, err := isospec.ParseOriginalData(r.OriginalData)
		require.NoError(t, err)
		od.STAN = "999998"
		r.OriginalData, err = od.Encode()
		require.NoError(t, err)
	}, true)
	require.Equal(t, isospec.RCApproved, code, "acknowledged as original_not_found")
	require.Equal(t, before-25000, openToBuy(t, n, "acct-1"))
	// The genuine one releases the hold.
	code, _ = reverse(nil, true)
	require.Equal(t, isospec.RCApproved, code)
	require.Equal(t, before, openToBuy(t, n, "acct-1"))
}

// Track 2 and DE2/DE14 must name the same card: a terminal that edits one
// copy is refused (30), whichever copy it edits.
func TestTrack2MustAgree(t *testing.T) {
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{})
	c := dial(t, s.Addr())
	for _, tc := range []struct {
		name   string
		track2 func(r *isospec.AuthorizationRequest) string
		code   isospec.ResponseCode
	}{
		{"same card", func(r *isospec.AuthorizationRequest) string { return r.PAN + "=" + r.Expiry + "2010000000000" }, isospec.RCApproved},
		{"other expiry", func(r *isospec.AuthorizationRequest) string { return r.PAN + "=3912" + "2010000000000" }, isospec.RCFormatError},
		{"other PAN", func(r *isospec.AuthorizationRequest) string { return "4761739001010028=" + r.Expiry + "2010000000000" }, isospec.RCFormatError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
			require.NotEmpty(t, req.Expiry)
			req.Track2 = tc.track2(req)
			require.Equal(t, tc.code, decodeAuth(t, send(t, c, req, true)).ResponseCode)
		})
	}
}
