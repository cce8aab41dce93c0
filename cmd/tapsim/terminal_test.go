package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/lab"
)

// cliAcquirer is a stand-in acquirer for the terminal command: it answers
// every request with the code code gives (00 when nil), MACed under the
// sample TAK, or stays silent on 0100s when silent is set.
type cliAcquirer struct {
	srv    *server.Server
	silent bool
	mu     sync.Mutex
	mtis   []string
	echoRC isospec.ResponseCode // the echo test's answer; "" approves
	// echoMACs counts the echo tests whose MAC verified under the TAK,
	// echoes all of them.
	echoMACs, echoes int
	// silentReversals leaves reversals unanswered.
	silentReversals bool
}

func startCLIAcquirer(t *testing.T, silent bool) *cliAcquirer {
	t.Helper()
	tak := keys.MustHex(keys.TDES, "0EA47A138CD931454F044620F738B3F4")
	a := &cliAcquirer{silent: silent}
	a.srv = server.New(isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}),
		connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
		connection.InboundMessageHandler(func(c *connection.Connection, m *iso8583.Message) {
			mti, _ := m.GetMTI()
			var v any
			if mti == "0800" { // the echo test before each tap
				var req isospec.NetworkManagement
				_ = isospec.Decode(m, &req)
				packed, err := isospec.Pack(m)
				macOK := err == nil && isospec.VerifyMAC(packed, func(d, got []byte) error {
					want, err := mac.Alg3(tak, d, mac.Method1)
					if err != nil || !mac.Equal(want, got) {
						return errors.New("MAC does not verify")
					}
					return nil
				}) == nil
				a.mu.Lock()
				rc := a.echoRC
				a.echoes++
				if macOK {
					a.echoMACs++
				}
				a.mu.Unlock()
				if rc == "" {
					rc = isospec.RCApproved
				}
				v, _ = req.Response(rc)
			} else {
				a.mu.Lock()
				a.mtis = append(a.mtis, mti)
				a.mu.Unlock()
			}
			switch mti {
			case "0800":
			case "0100":
				a.mu.Lock()
				silent := a.silent
				a.mu.Unlock()
				if silent {
					return
				}
				var req isospec.AuthorizationRequest
				_ = isospec.Decode(m, &req)
				resp, _ := isospec.NewAuthorizationResponse(&req, isospec.RCApproved)
				resp.AuthCode = "654321"
				v = resp
			case "0400":
				a.mu.Lock()
				mute := a.silentReversals
				a.mu.Unlock()
				if mute {
					return
				}
				var req isospec.ReversalRequest
				_ = isospec.Decode(m, &req)
				v, _ = isospec.NewReversalResponse(&req, isospec.RCApproved)
			default:
				return
			}
			resp, err := isospec.Encode(v)
			if err != nil {
				return
			}
			_ = isospec.SetMAC(resp, func(d []byte) ([]byte, error) { return mac.Alg3(tak, d, mac.Method1) })
			_ = c.Reply(resp)
		}),
	)
	require.NoError(t, a.srv.Start("127.0.0.1:0"))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *cliAcquirer) received() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.mtis...)
}

func TestTerminalSale(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	data := t.TempDir()
	// The sample HCE phone is the one the issuer enrolled with its cloud
	// platform, kept in its data directory.
	code, out, errOut := runCLI(t, "issuer", "init", "--data", data)
	require.Equal(t, 0, code, out+errOut)
	base := []string{"terminal", "--acquirer", acq.srv.Addr, "--data", data, "--date", "2026-01-15T10:30:00+08:00", "--un", "CAFEBABE"}
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{"no cvm", []string{"--card", "visa-plastic", "--amount", "150000"}, 0,
			[]string{"result: approved: Approved", "DE39: 00 (approved)", "auth code: 654321", "NO SIGNATURE REQUIRED", "476173******0010", "STAN 000001"},
			[]string{"4761739001010010"}},
		{"online pin", []string{"--card", "visa-plastic", "--amount", "350000", "--pin", "1234", "--iso"}, 0,
			[]string{"PIN VERIFIED", "online PIN: enciphered, KSN FFFF9876543210E00001", "Please Enter Your PIN", "[PIN block]", "STAN 000002",
				"9F26 [8] Application Cryptogram: "},
			[]string{"4761739001010010", "1234", "Application Cryptogram: ****"}},
		{"see phone then unlock", []string{"--card", "hce-phone", "--amount", "150000", "--unlock", "5791"}, 0,
			[]string{"See Phone for Instructions", "2 tap(s)", "VERIFIED BY DEVICE"},
			[]string{"4895370012340011"}},
		{"see phone, locked", []string{"--card", "hce-phone", "--amount", "150000"}, 1,
			[]string{"result: not_completed: See Phone for Instructions"}, []string{"CUSTOMER COPY"}},
		{"signature", []string{"--card", "visa-plastic-cvn10", "--amount", "350000"}, 0,
			[]string{"X______", "Approved, Please Sign"}, nil},
		{"refund", []string{"--card", "visa-plastic", "--amount", "20000", "--refund"}, 0,
			[]string{"REFUND", "-TWD 200.00", "AAC"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(append([]string{}, base...), tc.args...)...)
			require.Equal(t, tc.code, code, out+errOut)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			// Timings vary; every other line is checked for secrets.
			var kept []string
			for _, l := range strings.Split(out+errOut, "\n") {
				if !strings.HasPrefix(l, "timings:") {
					kept = append(kept, l)
				}
			}
			for _, w := range tc.notWant {
				require.NotContains(t, strings.Join(kept, "\n"), w)
			}
		})
	}
	// The state kept the card's counter, the STAN and the KSN; no full PAN.
	state, err := os.ReadFile(filepath.Join(data, "terminal-T0000001.json"))
	require.NoError(t, err)
	require.NotContains(t, string(state), "4761739001010010")
	require.Contains(t, string(state), "476173******0010")
	require.Contains(t, string(state), `"next_ksn": "FFFF9876543210E00002"`)
	// The phone's storage lost the key the approved tap spent (R-S5b).
	hp, err := lab.OpenIssuerHCEPhone(data, "hce-phone", nil, nil)
	require.NoError(t, err)
	require.Equal(t, 4, hp.Card.KeysLeft())

	// A data directory where no issuer enrolled the phone says so.
	code, out, errOut = runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", t.TempDir(), "--card", "hce-phone", "--amount", "1500")
	requireUsageError(t, code, out, errOut, "no enrolled HCE phone: hce-phone")

	// Every echo test before a tap carried a MAC under the TAK, which
	// proves the terminal's connection at the acquirer's cap.
	acq.mu.Lock()
	defer acq.mu.Unlock()
	require.Positive(t, acq.echoes)
	require.Equal(t, acq.echoes, acq.echoMACs)
}

// --raw prints each message's frame in hex with the PAN, track 2, expiry
// and PIN block masked, in DE55 too.
func TestTerminalRawFrames(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	code, out, errOut := runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", t.TempDir(), "--un", "CAFEBABE", "--date", "2026-01-15T10:30:00+08:00",
		"--card", "visa-plastic", "--amount", "350000", "--pin", "1234", "--raw")
	require.Equal(t, 0, code, out+errOut)
	for _, w := range []string{"--> authorisation request, ", "(raw, masked)", "<-- authorisation response, ", "    30313030", "****"} {
		require.Contains(t, out, w)
	}
	flat := strings.ReplaceAll(out, "\n    ", "")
	for _, w := range []string{"4761739001010010", "34373631373339303031303130303130"} {
		require.NotContains(t, flat, w)
	}
}

// A void in a later run finds the sale in the journal; the card names the
// account again since the journal keeps no full PAN.
func TestTerminalVoid(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	data := t.TempDir()
	base := []string{"terminal", "--acquirer", acq.srv.Addr, "--data", data}
	code, out, errOut := runCLI(t, append(base, "--card", "visa-plastic", "--amount", "150000")...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "STAN 000001")

	code, out, errOut = runCLI(t, append(base, "--card", "visa-plastic", "--void", "1")...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "result: approved: Voided")
	require.Contains(t, out, "VOID")
	require.Equal(t, []string{"0100", "0400"}, acq.received())

	code, out, errOut = runCLI(t, append(base, "--card", "visa-plastic", "--void", "1")...)
	requireUsageError(t, code, out, errOut, "already voided")

	code, out, errOut = runCLI(t, append(base, "--card", "visa-plastic", "--void", "42")...)
	requireUsageError(t, code, out, errOut, "no such transaction")
}

func TestTerminalVoidNeedsTheSameCard(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	data := t.TempDir()
	base := []string{"terminal", "--acquirer", acq.srv.Addr, "--data", data}
	code, _, _ := runCLI(t, append(base, "--card", "visa-plastic", "--amount", "150000")...)
	require.Equal(t, 0, code)
	code, out, errOut := runCLI(t, append(base, "--card", "mc-plastic", "--void", "000001")...)
	requireUsageError(t, code, out, errOut, "card of the original sale")
}

func TestTerminalTimeoutReverses(t *testing.T) {
	acq := startCLIAcquirer(t, true)
	code, out, errOut := runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", t.TempDir(),
		"--card", "visa-plastic", "--amount", "150000", "--timeout", "200ms")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, out, "No answer from host: reversed")
	require.Contains(t, out, "NO ANSWER FROM HOST: REVERSED")
	require.Contains(t, errOut, "sale reversed")
	require.Equal(t, []string{"0100", "0400"}, acq.received())
}

// A reversal no answer came for is kept in the terminal's state, without
// the card's number, and goes before the next sale of a later run.
func TestTerminalKeepsPendingReversals(t *testing.T) {
	acq := startCLIAcquirer(t, true)
	acq.mu.Lock()
	acq.silentReversals = true
	acq.mu.Unlock()
	data := t.TempDir()
	code, out, errOut := runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", data,
		"--card", "visa-plastic", "--amount", "150000", "--timeout", "200ms")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, out, "reversal pending")
	files, err := filepath.Glob(filepath.Join(data, "*.json"))
	require.NoError(t, err)
	var state string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.Contains(string(b), `"pending"`) {
			state = string(b)
		}
	}
	require.NotEmpty(t, state, "the pending reversal is kept")
	require.NotContains(t, state, "4761739001010010", "without the card's number")

	acq.mu.Lock()
	acq.silent, acq.silentReversals, acq.mtis = false, false, nil
	acq.mu.Unlock()
	code, out, errOut = runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", data,
		"--card", "visa-plastic", "--amount", "150000", "--timeout", "2s")
	require.Equal(t, 0, code, out+errOut)
	require.Equal(t, []string{"0400", "0100"}, acq.received(), "the kept reversal goes first")
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NotContains(t, string(b), `"pending"`)
	}
}

func TestTerminalHostDown(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	addr := acq.srv.Addr
	acq.srv.Close()
	code, out, errOut := runCLI(t, "terminal", "--acquirer", addr, "--data", t.TempDir(),
		"--card", "visa-plastic", "--amount", "150000")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, errOut, "acquirer at "+addr+" unreachable (no card tapped)")
	require.NotContains(t, out, "sale ")
}

// An acquirer that does not know the terminal says so at the echo test,
// before any tap.
func TestTerminalUnknownToTheAcquirer(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	acq.mu.Lock()
	acq.echoRC = isospec.RCSecurityViolation
	acq.mu.Unlock()
	code, out, errOut := runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", t.TempDir(),
		"--card", "visa-plastic", "--amount", "100")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, errOut, "does not know terminal T0000001 or its MAC key")
	require.Empty(t, acq.received(), "no sale sent")
}

// A connection refused before the tap leaves the card's counter where it
// was: the next sale against a running acquirer is approved with it.
func TestTerminalUnreachableTapsNoCard(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	data := t.TempDir()
	code, _, errOut := runCLI(t, "terminal", "--acquirer", addr, "--data", data, "--card", "visa-plastic", "--amount", "100")
	require.Equal(t, 1, code, errOut)
	_, err = os.Stat(filepath.Join(data, "terminal-T0000001.json"))
	require.ErrorIs(t, err, os.ErrNotExist, "no STAN spent, no card counter saved")
}

// An acquirer address that does not speak TLS fails the handshake: the
// terminal says so before any tap, not "No answer from host".
func TestTerminalTLSHandshakeFails(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	code, _, errOut := runCLI(t, "pki", "init", "--dir", pki)
	require.Equal(t, 0, code, errOut)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("not TLS at all, sorry\r\n"))
			_ = c.Close()
		}
	}()
	f := func(n string) string { return filepath.Join(pki, n) }
	code, out, errOut := runCLI(t, "terminal", "--acquirer", ln.Addr().String(), "--data", t.TempDir(),
		"--card", "visa-plastic", "--amount", "100",
		"--tls-cert", f("terminal.pem"), "--tls-key", f("terminal-key.pem"), "--tls-ca", f("ca.pem"), "--tls-server-name", "acquirer")
	require.Equal(t, 1, code, out+errOut)
	require.Contains(t, errOut, "TLS handshake with the acquirer at "+ln.Addr().String()+" failed (no card tapped)")
	require.NotContains(t, out+errOut, "No answer")
}

// --amount takes minor units as a whole number, major units with the
// currency's decimals.
func TestTerminalAmountMajorUnits(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	code, out, errOut := runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", t.TempDir(),
		"--card", "visa-plastic", "--amount", "1500.00")
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "sale TWD 1,500.00")
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		exp  int
		want int64
		err  string
	}{
		{"150000", 2, 150000, ""},
		{"1500.00", 2, 150000, ""},
		{"1500.5", 2, 150050, ""},
		{"1500.", 2, 150000, ""},
		{"0.01", 2, 1, ""},
		{"15", 0, 15, ""},
		{"15.0", 0, 0, "0 decimal"},
		{"1.234", 2, 0, "2 decimal"},
		{"0", 2, 0, "positive"},
		{"0.00", 2, 0, "positive"},
		{"-5", 2, 0, "want a positive number"},
		{"1e3", 2, 0, "want a positive number"},
		{"abc", 2, 0, "want a positive number"},
		{".5", 2, 0, "want a positive number"},
		{"9999999999999", 2, 0, "want a positive number"},
		{"99999999999.00", 2, 0, "12 digits"},
	} {
		got, err := parseAmount(tc.in, tc.exp)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestTerminalUsage(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"no acquirer", "--acquirer is required", []string{"--card", "visa-plastic", "--amount", "1"}},
		{"no card", "--card or --reader is required", []string{"--acquirer", "127.0.0.1:1", "--amount", "1"}},
		{"card and reader", "do not go together", []string{"--acquirer", "127.0.0.1:1", "--amount", "1", "--card", "visa-plastic", "--reader", "0"}},
		{"void by reader", "--void needs --card", []string{"--acquirer", "127.0.0.1:1", "--reader", "0", "--void", "1"}},
		{"no amount", "--amount is required", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic"}},
		{"bad amount", "--amount 15,00: want a positive number", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "15,00"}},
		{"too many decimals", "--amount 15.001: the currency has 2 decimal(s)", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "15.001"}},
		{"no port", `--acquirer "localhost": want host:port`, []string{"--acquirer", "localhost", "--card", "visa-plastic", "--amount", "1"}},
		{"bad port", `--acquirer "localhost:http": want host:port`, []string{"--acquirer", "localhost:http", "--card", "visa-plastic", "--amount", "1"}},
		{"bad timeout", `--timeout "soon": want a duration`, []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "1", "--timeout", "soon"}},
		{"refund and void", "do not go together", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--refund", "--void", "1"}},
		{"bad void", "--void takes", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--void", "12a"}},
		{"bad pin", "--pin must be", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "1", "--pin", "12"}},
		{"unknown card", "no-such-card", []string{"--acquirer", "127.0.0.1:1", "--card", "no-such-card", "--amount", "1"}},
		{"bad date", "--date", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "1", "--date", "yesterday"}},
		{"bad un", "--un", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "1", "--un", "zz"}},
		{"long tid", "terminal id", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "1", "--tid", "T000000001"}},
		{"missing config", "configuration", []string{"--acquirer", "127.0.0.1:1", "--card", "visa-plastic", "--amount", "1", "--config", "/nonexistent.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"terminal", "--data", t.TempDir()}, tc.args...)...)
			requireUsageError(t, code, out, errOut, tc.want)
		})
	}
	code, _, errOut := runCLI(t, "terminal", "--bogus")
	require.Equal(t, 2, code)
	require.True(t, strings.Contains(errOut, "unknown flag"))
}

func TestTerminalConfigFile(t *testing.T) {
	acq := startCLIAcquirer(t, false)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "terminal.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("terminal_id: T0000009\nmerchant_name: NIGHT MARKET\n"), 0o600))
	code, out, errOut := runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", dir, "--config", cfg,
		"--card", "visa-plastic", "--amount", "150000")
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "terminal T0000009")
	require.Contains(t, out, "NIGHT MARKET")
	code, out, errOut = runCLI(t, "terminal", "--acquirer", acq.srv.Addr, "--data", dir, "--config", cfg,
		"--card", "visa-plastic", "--amount", "150000", "--tid", "T0000077", "--mid", "MERCHANT77")
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "MID MERCHANT77 ")
	require.Contains(t, out, " TID T0000077\n")
	_, err := os.Stat(filepath.Join(dir, "terminal-T0000009.json"))
	require.NoError(t, err)
}
