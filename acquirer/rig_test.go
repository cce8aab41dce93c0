package acquirer_test

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/acquirer/internal/testhsm"
	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
)

// Sample cards of the test network (test data, not real accounts).
const (
	visaPAN  = "4761739001010010"
	tokenPAN = "4895370012340011"
	mcPAN    = "5413330089010012"
	otherPAN = "5204740000001234" // no route
	initKSN  = "FFFF9876543210E00000"
	tid      = "T0000001"
	mid      = "M00000000000001"
)

var (
	t0   = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	arqc = []byte{0x3B, 0x76, 0xCF, 0x10, 0xFE, 0xCD, 0x87, 0x89}
	// DE55 with an ARQC (9F26), its ATC (9F36) and CID (9F27).
	iccData = append(append([]byte{0x9F, 0x26, 0x08}, arqc...), 0x9F, 0x36, 0x02, 0x00, 0x1C, 0x9F, 0x27, 0x01, 0x80)
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	t     testing.TB
	hsm   *soft.HSM
	keys  testhsm.Keys
	iss   *fakeissuer.Issuer
	acq   *acquirer.Server
	cfg   acquirer.Config
	clock *clock
	dir   string
	term  *connection.Connection
	pinpd *dukpt.Terminal
	stan  int
}

func routes(t testing.TB) *route.Table {
	tb, err := route.New([]route.Range{
		{Low: "476173", Issuer: "issuer"},
		{Low: "489537", Issuer: "issuer", Token: true},
		{Low: "541333", Issuer: "issuer"},
	})
	require.NoError(t, err)
	return tb
}

// newRig starts a fake issuer and an acquirer (data in a fresh directory)
// and connects a terminal to it.
func newRig(t testing.TB, mod func(*acquirer.Config)) *rig {
	t.Helper()
	m, k := testhsm.New(t)
	r := &rig{t: t, hsm: m, keys: k, clock: &clock{t: t0}, dir: t.TempDir()}
	r.iss = fakeissuer.Start(t, "127.0.0.1:0", m, k.ZAK)
	r.cfg = acquirer.Config{
		Listen:     "127.0.0.1:0",
		AcquirerID: "400001",
		Routes:     routes(t),
		Issuers:    []acquirer.Issuer{{Name: "issuer", Addr: r.iss.Addr(), ZAK: k.ZAK, ZPK: k.ZPK}},
		Terminals:  []acquirer.Terminal{{TID: tid, TAK: k.TAK}},
		BDK:        k.BDK,
		HSM:        m,
		DataDir:    r.dir,
		Now:        r.clock.Now,
		// Short timers so that tests run fast; advices are flushed by hand.
		IssuerTimeout:  300 * time.Millisecond,
		NetworkTimeout: time.Second,
		ReconnectMin:   10 * time.Millisecond,
		ReconnectMax:   50 * time.Millisecond,
		AdviceRetry:    time.Minute,
		AdvicePoll:     time.Hour,
	}
	if mod != nil {
		mod(&r.cfg)
	}
	r.start()
	ipek, err := dukpt.DeriveIPEK(keys.MustHex(keys.TDES, testhsm.BDK), mustHex(initKSN))
	require.NoError(t, err)
	r.pinpd, err = dukpt.NewTerminal(ipek, mustHex(initKSN))
	require.NoError(t, err)
	return r
}

// start (re)starts the acquirer on r.cfg and connects the terminal.
func (r *rig) start() {
	t := r.t
	t.Helper()
	acq, err := acquirer.New(r.cfg)
	require.NoError(t, err)
	require.NoError(t, acq.Start(context.Background()))
	r.acq = acq
	t.Cleanup(func() { acq.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, acq.WaitLinks(ctx))
	r.connect()
}

func (r *rig) connect() {
	t := r.t
	t.Helper()
	c, err := connection.New(r.acq.Addr(), isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}),
		connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
		connection.SendTimeout(5*time.Second),
	)
	require.NoError(t, err)
	require.NoError(t, c.Connect())
	r.term = c
	t.Cleanup(func() { c.Close() })
}

// restart closes the acquirer and starts a new one on the same data.
func (r *rig) restart() {
	r.t.Helper()
	r.term.Close()
	require.NoError(r.t, r.acq.Close())
	r.start()
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func (r *rig) nextSTAN() string {
	r.stan++
	return isospec.FormatSTAN(uint32(r.stan))
}

// authReq is a contactless 0100 of the sample terminal.
func (r *rig) authReq(pan string, amount int64) *isospec.AuthorizationRequest {
	now := r.clock.Now()
	return &isospec.AuthorizationRequest{
		MTI: isospec.MTIAuthorizationRequest, PAN: pan, ProcessingCode: isospec.ProcPurchase,
		Amount: amount, TransmissionDateTime: isospec.TransmissionDateTime(now), STAN: r.nextSTAN(),
		LocalTime: isospec.LocalTime(now), LocalDate: isospec.LocalDate(now), Expiry: "2812",
		POSEntryMode: isospec.ContactlessEntry(true), CardSequenceNumber: "001", POSConditionCode: "00",
		TerminalID: tid, MerchantID: mid, Currency: "901", ICCData: iccData,
	}
}

// withPIN adds an online PIN block enciphered under the PIN pad's next
// DUKPT key, as the terminal does.
func (r *rig) withPIN(req *isospec.AuthorizationRequest, pinDigits string) {
	ksn, k, err := r.pinpd.NextPINKey()
	require.NoError(r.t, err)
	clearBlock, err := pin.Encode(pin.Format0, pinDigits, req.PAN, nil)
	require.NoError(r.t, err)
	block, err := pin.Encrypt(k, clearBlock)
	require.NoError(r.t, err)
	req.PINBlock, req.SecurityControl = block, ksn.Bytes()
	req.POSEntryMode = isospec.ContactlessEntry(true)
}

// terminalMAC is the terminal's own MAC: ISO 9797-1 algorithm 3, padding
// method 1, under the clear TAK the terminal holds.
func terminalMAC(d []byte) ([]byte, error) {
	return mac.Alg3(keys.MustHex(keys.TDES, testhsm.TAK), d, mac.Method1)
}

// encode builds a message with the terminal's MAC.
func (r *rig) encode(v any) *iso8583.Message {
	r.t.Helper()
	msg, err := isospec.Encode(v)
	require.NoError(r.t, err)
	require.NoError(r.t, isospec.SetMAC(msg, terminalMAC))
	return msg
}

func (r *rig) send(msg *iso8583.Message) *iso8583.Message {
	r.t.Helper()
	resp, err := r.term.Send(msg)
	require.NoError(r.t, err)
	return resp
}

// authorise sends a 0100 and decodes the 0110, whose MAC it checks.
func (r *rig) authorise(req *isospec.AuthorizationRequest) isospec.AuthorizationResponse {
	r.t.Helper()
	resp := r.send(r.encode(req))
	var ar isospec.AuthorizationResponse
	require.NoError(r.t, isospec.Decode(resp, &ar))
	r.requireTerminalMAC(resp)
	return ar
}

func (r *rig) requireTerminalMAC(resp *iso8583.Message) {
	r.t.Helper()
	packed, err := isospec.Pack(resp)
	require.NoError(r.t, err)
	require.NoError(r.t, isospec.VerifyMAC(packed, func(d, m []byte) error {
		want, err := terminalMAC(d)
		if err != nil {
			return err
		}
		if !mac.Equal(want, m) {
			return isospec.ErrMACMismatch
		}
		return nil
	}), "response MACed under the TAK")
}

func reason(t testing.TB, pd string) isospec.DeclineReason {
	t.Helper()
	p, err := isospec.ParsePrivateData(pd)
	require.NoError(t, err)
	return p.DeclineReason
}

func (r *rig) journal() []struct{ MTI, TID, STAN, Code, State, Reason, Masked string } {
	r.t.Helper()
	es, err := r.acq.Journal(context.Background(), time.Time{})
	require.NoError(r.t, err)
	var out []struct{ MTI, TID, STAN, Code, State, Reason, Masked string }
	for _, e := range es {
		out = append(out, struct{ MTI, TID, STAN, Code, State, Reason, Masked string }{
			e.MTI, e.TID, e.TermSTAN, e.ResponseCode, string(e.State), e.Reason, e.MaskedPAN})
	}
	return out
}

func (r *rig) pending() int {
	r.t.Helper()
	n, err := r.acq.PendingAdvices(context.Background())
	require.NoError(r.t, err)
	return n
}

func de(t testing.TB, m *iso8583.Message, id int) string {
	t.Helper()
	s, _ := m.GetString(id)
	return strings.TrimSpace(s)
}

func macAlg3(k keys.Key, d []byte) ([]byte, error) { return mac.Alg3(k, d, mac.Method1) }
