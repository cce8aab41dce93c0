package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/terminal/inproc"
)

func TestIssuerInit(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "issuer", "init", "--data", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "sample data created")
	require.Contains(t, out, "476173******0010")
	// R-M7, R-S3d: the sample HCE phones are enrolled with the issuer's
	// own cloud platform, their storage kept in the data directory (0600).
	require.Contains(t, out, "HCE phone enrolled with the issuer's cloud platform: hce-phone: device 3520990017614823, hce card hce-phone 489537******0011, 5 limited-use keys")
	require.Contains(t, out, "HCE phone enrolled with the issuer's cloud platform: hce-phone-mc: device 3520990017614831")
	for _, full := range []string{"4761739001010010", "4895370012340011", "4761739001010051"} {
		require.NotContains(t, out, full)
	}
	for _, f := range []string{"phone-hce-phone.json", "phone-hce-phone-mc.json", lab.CloudKeysFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}
	code, out, _ = runCLI(t, "issuer", "init", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "nothing changed")
}

func TestIssuerUsageErrors(t *testing.T) {
	code, out, errOut := runCLI(t, "issuer", "--listen", "nowhere", "--data", t.TempDir())
	requireUsageError(t, code, out, errOut, "--listen")
	code, out, errOut = runCLI(t, "issuer", "init", "--data", "")
	requireUsageError(t, code, out, errOut, "--data")
	code, out, errOut = runCLI(t, "issuer", "log", "--data", t.TempDir())
	requireUsageError(t, code, out, errOut, "no issuer database")
	code, _, _ = runCLI(t, "issuer", "--bogus")
	require.Equal(t, 2, code)
	for _, addr := range []string{"127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"} {
		data := filepath.Join(t.TempDir(), "data")
		code, out, errOut = runCLI(t, "issuer", "--listen", addr, "--data", data)
		requireUsageError(t, code, out, errOut, "want host:port")
		_, err := os.Stat(data)
		require.ErrorIs(t, err, os.ErrNotExist, addr)
	}

	dir := t.TempDir()
	code, _, _ = runCLI(t, "issuer", "init", "--data", dir)
	require.Equal(t, 0, code)
	code, out, errOut = runCLI(t, "issuer", "lost", "0102", "--data", dir)
	requireUsageError(t, code, out, errOut, "not registered")
	code, out, errOut = runCLI(t, "issuer", "suspend", "nope", "--data", dir)
	requireUsageError(t, code, out, errOut, "not found")
	code, out, errOut = runCLI(t, "issuer", "reset-pin", "visa-plastic", "--data", dir)
	requireUsageError(t, code, out, errOut, "--operator")
	code, out, errOut = runCLI(t, "issuer", "-n", "0", "log", "--data", dir)
	require.Equal(t, 2, code, out+errOut)
}

// A listen address already taken is found before any sample data is
// written.
func TestIssuerBusyAddressWritesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := runCLI(t, "issuer", "--listen", ln.Addr().String(), "--data", data)
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, errOut, "--listen "+ln.Addr().String()+": cannot listen")
	_, err = os.Stat(data)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestIssuerAdminCommands(t *testing.T) {
	dir := t.TempDir()
	code, _, _ := runCLI(t, "issuer", "init", "--data", dir)
	require.Equal(t, 0, code)
	code, out, _ := runCLI(t, "issuer", "suspend", "wallet-phone", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "489537******0017: suspended")
	code, out, _ = runCLI(t, "issuer", "resume", "wallet-phone", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, ": active")
	code, out, _ = runCLI(t, "issuer", "lost", "3520990017629911", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "tokens suspended [wallet-phone]\n")
	// R-C1: an HCE phone's binding is the running cloud platform's.
	code, out, errOut := runCLI(t, "issuer", "lost", "3520990017614823", "--data", dir)
	requireUsageError(t, code, out, errOut, "cloud_phone_needs_platform")
	code, out, _ = runCLI(t, "issuer", "reset-pin", "visa-plastic", "--operator", "agent 7", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "reset by agent 7")
	code, out, _ = runCLI(t, "issuer", "reset-cvc3", "mc-plastic", "--operator", "agent 7", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "mc-plastic: no CVC3 failures counted, nothing to reset")
	code, out, errOut = runCLI(t, "issuer", "reset-cvc3", "no-such-card", "--operator", "agent 7", "--data", dir)
	requireUsageError(t, code, out, errOut, "no card or token")
	code, out, errOut = runCLI(t, "issuer", "reset-cvc3", "mc-plastic", "--data", dir)
	requireUsageError(t, code, out, errOut, "--operator")
	code, out, _ = runCLI(t, "issuer", "audit", "--show", "--data", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "device.lost")
	require.Contains(t, out, "pin.reset")
	require.Regexp(t, `audit trail intact: \d+ entries`, out)
}

// The issuer refuses a database of an older build (PANs in clear), a
// keystore without the data keys its database was encrypted under, and an
// administrative command that needs the keys without a keystore.
func TestIssuerDataKeys(t *testing.T) {
	old := t.TempDir()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(old, store.FileName))
	require.NoError(t, err)
	_, err = raw.Exec(`CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`)
	require.NoError(t, err)
	_, err = raw.Exec(`INSERT INTO meta VALUES ('schema_version', '1')`)
	require.NoError(t, err)
	require.NoError(t, raw.Close())
	code, out, errOut := runCLI(t, "issuer", "init", "--data", old)
	require.NotZero(t, code, out+errOut)
	require.Contains(t, errOut, "keeps PANs in clear")
	require.Contains(t, errOut, "tapsim issuer init")

	dir := t.TempDir()
	code, _, _ = runCLI(t, "issuer", "init", "--data", dir)
	require.Equal(t, 0, code)
	require.NoError(t, os.Rename(filepath.Join(dir, lab.IssuerKeystore), filepath.Join(dir, lab.IssuerKeystore+".saved")))
	code, out, errOut = runCLI(t, "issuer", "suspend", "wallet-phone", "--data", dir)
	requireUsageError(t, code, out, errOut, "no issuer keystore")
	code, out, _ = runCLI(t, "issuer", "log", "--data", dir)
	require.Equal(t, 0, code, "the log needs no keys: it holds masked PANs only")
	require.Contains(t, out, "TIME")

	// A new keystore makes new data keys: the database refuses them.
	code, out, errOut = runCLI(t, "issuer", "init", "--data", dir)
	require.NotZero(t, code, out+errOut)
	require.Contains(t, errOut, "data keys do not match")
	require.Contains(t, errOut, "KCV")
}

// issuerOutput is a bytes.Buffer safe for a writer and a reader.
type issuerOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *issuerOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *issuerOutput) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The issuer host runs until its context ends, and answers the real
// virtual cards' cryptograms: each sample card or phone is tapped on the
// kernel and its data record sent as an 0100.
func TestIssuerServesRealTaps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut issuerOutput
	done := make(chan error, 1)
	dataDir := t.TempDir()
	go func() {
		done <- runIssuer(ctx, issuerOptions{listen: "127.0.0.1:0", dataDir: dataDir}, &out, &errOut)
	}()
	re := regexp.MustCompile(`listening on (\S+),`)
	var addr string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 20*time.Second, 10*time.Millisecond, errOut.String())

	// The data keys are shown by check value only.
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "DEK issuer/dek KCV ") && strings.Contains(out.String(), "HMAC issuer/pan-hmac KCV ")
	}, 5*time.Second, 10*time.Millisecond, out.String())

	c, err := connection.New(addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}))
	require.NoError(t, err)
	require.NoError(t, c.Connect())
	defer c.Close()

	tests := []struct {
		card    string
		unlock  string
		amount  int64
		code    isospec.ResponseCode
		reason  isospec.DeclineReason
		entry91 bool
	}{
		{card: "visa-plastic", amount: 200000, code: "00", entry91: true},
		{card: "mc-plastic", amount: 200000, code: "00", entry91: true},
		{card: "visa-plastic-cvn22", amount: 200000, code: "00", entry91: true},
		{card: "visa-plastic-cvn10", amount: 10000, code: "00", entry91: true},
		{card: "mc-plastic-cvn21", amount: 200000, code: "00", entry91: true},
		{card: "visa-se-phone", unlock: "5791", amount: 450000, code: "00", entry91: true},
		// Cloud cryptograms have no issuer response cryptogram (emv/cloud
		// MODEL.md): no tag 91.
		{card: "hce-phone", unlock: "5791", amount: 10000, code: "00"},
		{card: "hce-phone-mc", unlock: "5791", amount: 10000, code: "00"},
		{card: "wallet-phone", unlock: "2468", amount: 450000, code: "00", entry91: true},
		{card: "visa-plastic", amount: 350000, code: "57", reason: isospec.ReasonCVMRequired, entry91: true},
	}
	// Every request is MACed under the sample ZAK, as an acquirer does.
	zak := keys.MustHex(keys.TDES, lab.ZAK)
	zakMAC := func(d []byte) ([]byte, error) { return mac.Alg3(zak, d, mac.Method1) }
	stan := 0
	now := time.Now().UTC()
	var first *isospec.AuthorizationRequest
	held := map[string]cards.Card{} // one card per profile, its ATC going on
	for _, tc := range tests {
		t.Run(tc.card, func(t *testing.T) {
			vc, ok := held[tc.card]
			if !ok {
				if lab.IsSampleHCE(tc.card) {
					// The phone the issuer enrolled with its cloud platform.
					hp, err := lab.OpenIssuerHCEPhone(dataDir, tc.card, func() time.Time { return now }, nil)
					require.NoError(t, err)
					vc = hp.Phone
				} else {
					vc, err = lab.Card(tc.card, now)
					require.NoError(t, err)
				}
				held[tc.card] = vc
			}
			rec := tapRecord(t, vc, tc.unlock, tc.amount, now)
			stan++
			req := requestFromRecord(t, rec, tc.amount, fmt.Sprintf("%06d", stan), now)
			if first == nil {
				first = req
			}
			m, err := isospec.Encode(req)
			require.NoError(t, err)
			require.NoError(t, isospec.SetMAC(m, zakMAC))
			resp, err := c.Send(m)
			require.NoError(t, err)
			var ar isospec.AuthorizationResponse
			require.NoError(t, isospec.Decode(resp, &ar))
			pd, err := isospec.ParsePrivateData(ar.PrivateData)
			require.NoError(t, err)
			require.Equal(t, tc.code, ar.ResponseCode, "reason %s", pd.DeclineReason)
			require.Equal(t, tc.reason, pd.DeclineReason)
			if tc.entry91 {
				l, err := tlv.Decode(ar.ICCData)
				require.NoError(t, err)
				_, ok := l.Find(0x91)
				require.True(t, ok)
			}
		})
	}

	// The first approval replayed with a new STAN (R-G4).
	replay := *first
	replay.STAN = "999999"
	m, err := isospec.Encode(&replay)
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(m, zakMAC))
	resp, err := c.Send(m)
	require.NoError(t, err)
	var ar isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(resp, &ar))
	require.Equal(t, isospec.RCCryptogramFailure, ar.ResponseCode)
	pd, err := isospec.ParsePrivateData(ar.PrivateData)
	require.NoError(t, err)
	require.Equal(t, isospec.ReasonCryptogramReplay, pd.DeclineReason)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the issuer did not stop")
	}
	require.Contains(t, out.String(), "issuer host stopped")
}

// tapRecord taps a card or phone (unlocked with code first, if given) on
// the default terminal and returns the data record.
func tapRecord(t *testing.T, vc cards.Card, code string, amount int64, now time.Time) tlv.List {
	t.Helper()
	cfg, err := baseTerminalConfig("")
	require.NoError(t, err)
	cfg.Clock = kernel.FixedClock(now)
	if code != "" {
		ph, ok := cards.Phone(vc)
		require.True(t, ok)
		require.NoError(t, ph.Unlock(code))
	}
	ep, err := entry.New(cfg)
	require.NoError(t, err)
	o, err := ep.Start(context.Background(), inproc.New(vc), kernel.Transaction{Amount: amount, Type: kernel.Purchase, Date: now})
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, o.Type, o.String())
	return o.DataRecord
}

// requestFromRecord builds the 0100 of a data record as a terminal would.
func requestFromRecord(t *testing.T, rec tlv.List, amount int64, stan string, now time.Time) *isospec.AuthorizationRequest {
	t.Helper()
	get := func(tag tlv.Tag) []byte {
		o, ok := rec.Find(tag)
		if !ok {
			return nil
		}
		return o.Value
	}
	var p, exp string
	if t2 := get(0x57); t2 != nil {
		var rest string
		p, rest, _ = strings.Cut(fmt.Sprintf("%X", t2), "D")
		exp = rest[:4]
	}
	if pn := get(0x5A); pn != nil {
		p = strings.TrimRight(fmt.Sprintf("%X", pn), "F")
	}
	if e := get(0x5F24); e != nil {
		exp = fmt.Sprintf("%X", e)[:4]
	}
	psn := ""
	if v := get(0x5F34); v != nil {
		psn = fmt.Sprintf("0%02X", v[0])
	}
	var icc tlv.List
	for _, o := range rec {
		switch o.Tag {
		case 0x57, 0x5A, 0x5F24, 0x5F20, 0x56, 0x9F6B:
			continue
		}
		icc = append(icc, o)
	}
	b, err := icc.Encode()
	require.NoError(t, err)
	return &isospec.AuthorizationRequest{
		MTI: isospec.MTIAuthorizationRequest, PAN: p, ProcessingCode: isospec.ProcPurchase, Amount: amount,
		TransmissionDateTime: isospec.TransmissionDateTime(now), STAN: stan, LocalTime: isospec.LocalTime(now),
		LocalDate: isospec.LocalDate(now), Expiry: exp, POSEntryMode: isospec.ContactlessEntry(true),
		CardSequenceNumber: psn, AcquirerID: "100001", RRN: "000000" + stan, TerminalID: "T0000001",
		MerchantID: "M00000000000001", Currency: "901", ICCData: b,
	}
}

// The listener protection flags: defaults from the frame server, values
// out of range refused as usage errors (DESIGN.md Decisions).
func TestListenerLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--idle-timeout", "30s", "--frame-timeout", "2s", "--max-frame", "2048", "--max-conns", "8", "--evict-idle", "5s"}, true},
		{[]string{"--idle-timeout", "-1s"}, false},
		{[]string{"--frame-timeout", "-1s"}, false},
		{[]string{"--max-frame", "65536"}, false},
		{[]string{"--max-conns", "-1"}, false},
		{[]string{"--evict-idle", "-1s"}, false},
	} {
		for _, cmd := range []func() *cobra.Command{newIssuerCmd, newAcquirerCmd} {
			c := cmd()
			require.NoError(t, c.Flags().Parse(tc.args), tc.args)
			var l listenerLimits
			l.idle, _ = c.Flags().GetDuration("idle-timeout")
			l.frame, _ = c.Flags().GetDuration("frame-timeout")
			l.maxFrame, _ = c.Flags().GetInt("max-frame")
			l.maxConns, _ = c.Flags().GetInt("max-conns")
			l.evict, _ = c.Flags().GetDuration("evict-idle")
			if tc.ok {
				require.NoError(t, l.check(), tc.args)
			} else {
				require.Error(t, l.check(), tc.args)
			}
		}
	}
	c := newIssuerCmd()
	d, err := c.Flags().GetDuration("idle-timeout")
	require.NoError(t, err)
	require.Equal(t, frameserver.DefaultIdleTimeout, d)
	d, err = c.Flags().GetDuration("evict-idle")
	require.NoError(t, err)
	require.Equal(t, frameserver.DefaultEvictIdle, d)
}

// --mac-optional is an explicit opt-out of R-G2, and says so at start.
func TestIssuerMACOptionalWarns(t *testing.T) {
	for _, optional := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut issuerOutput
		done := make(chan error, 1)
		go func() {
			done <- runIssuer(ctx, issuerOptions{listen: "127.0.0.1:0", dataDir: t.TempDir(), macOptional: optional}, &out, &errOut)
		}()
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "listening on") },
			20*time.Second, 10*time.Millisecond, errOut.String())
		cancel()
		require.NoError(t, <-done)
		if optional {
			require.Contains(t, errOut.String(), "MAC optional")
		} else {
			require.NotContains(t, errOut.String(), "MAC optional")
		}
		require.NotContains(t, errOut.String(), "refused", "a first start looks up no missing key")
	}
}
