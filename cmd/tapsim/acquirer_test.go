package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/lab"
)

func TestAcquirerUsageErrors(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.yaml")
	require.NoError(t, os.WriteFile(routes, []byte("routes:\n  - {low: \"476173\", issuer: other}\n"), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("routes:\n  - {low: \"47\", issuer: a}\n"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"acquirer", "--data", dir}, "--issuer is required"},
		{[]string{"acquirer", "--data", dir, "--issuer", "nowhere"}, "want host:port"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--listen", "x"}, "--listen"},
		{[]string{"acquirer", "--data", dir, "--issuer", "a=127.0.0.1:1", "--issuer", "b=127.0.0.1:2"}, "--routes"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--routes", routes}, `issuer "other"`},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--routes", bad}, "invalid routing table"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--routes", filepath.Join(dir, "none")}, "--routes"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--acquirer-id", "12AB"}, "acquirer ID"},
		{[]string{"acquirer", "--issuer-timeout", "soon"}, `--issuer-timeout "soon": want a duration`},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--issuer-timeout", "-1s"}, "--issuer-timeout -1s: must not be negative"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--echo", "-5s"}, "--echo -5s: must not be negative"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--duplicate-window", "-1h"}, "--duplicate-window -1h0m0s: must not be negative"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--endpoint-rest", "-1s"}, "--endpoint-rest -1s: must not be negative"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1,nowhere"}, "want host:port"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1,127.0.0.1:2", "--issuer", "127.0.0.1:1"}, `issuer "issuer" at 127.0.0.1:1 given twice`},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, tc.want, tc.args)
	}
}

// An issuer's endpoints come as a comma-separated list, or as the same
// name given again.
func TestParseIssuerFlags(t *testing.T) {
	got, err := parseIssuerFlags([]string{"127.0.0.1:1, 127.0.0.1:2", "b=127.0.0.1:3", "b=127.0.0.1:4,127.0.0.1:5"})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{
		lab.SampleIssuer: {"127.0.0.1:1", "127.0.0.1:2"},
		"b":              {"127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5"},
	}, got)
	o := acquirerOptions{listen: "127.0.0.1:0", issuers: []string{"127.0.0.1:1,127.0.0.1:2"}, dataDir: t.TempDir(),
		acquirerID: lab.SampleAcquirerID}
	cfg, closeHSM, err := acquirerConfig(o, nil)
	require.NoError(t, err)
	defer closeHSM()
	require.Len(t, cfg.Issuers, 1)
	require.Equal(t, "127.0.0.1:1", cfg.Issuers[0].Addr)
	require.Equal(t, []string{"127.0.0.1:2"}, cfg.Issuers[0].Endpoints)
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The acquirer command serves terminals with the sample keys: a 0100 from
// T0000001 MACed under the sample TAK is answered (91: nothing listens at
// the issuer's address), MACed under the same TAK; it stops cleanly when
// its context ends, printing check values and never a key.
func TestAcquirerServes(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	issuerAddr := ln.Addr().String()
	ln.Close() // nothing listens there: the issuer is down
	port, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := port.Addr().String()
	port.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runAcquirer(ctx, acquirerOptions{
			listen: listen, issuers: []string{issuerAddr}, dataDir: dir, acquirerID: lab.SampleAcquirerID,
			timeout: time.Second, echo: time.Minute, window: time.Hour,
		}, &out, &errOut)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "listening") }, 10*time.Second, 10*time.Millisecond, errOut.String())

	c, err := connection.New(listen, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}), connection.SendTimeout(5*time.Second))
	require.NoError(t, err)
	require.NoError(t, c.Connect())
	defer c.Close()
	now := time.Now()
	msg, err := isospec.Encode(&isospec.AuthorizationRequest{
		MTI: isospec.MTIAuthorizationRequest, PAN: "4761739001010010", ProcessingCode: isospec.ProcPurchase,
		Amount: 1500, TransmissionDateTime: isospec.TransmissionDateTime(now), STAN: "000001",
		POSEntryMode: "072", TerminalID: lab.SampleTID, Currency: "901", ICCData: []byte{0x9F, 0x27, 0x01, 0x80},
	})
	require.NoError(t, err)
	tak := keys.MustHex(keys.TDES, lab.TAK)
	macTAK := func(d []byte) ([]byte, error) { return mac.Alg3(tak, d, mac.Method1) }
	require.NoError(t, isospec.SetMAC(msg, macTAK))
	resp, err := c.Send(msg)
	require.NoError(t, err)
	rc, _ := resp.GetString(isospec.FieldResponseCode)
	require.Equal(t, "91", rc)
	packed, err := isospec.Pack(resp)
	require.NoError(t, err)
	require.NoError(t, isospec.VerifyMAC(packed, func(d, m []byte) error {
		want, _ := macTAK(d)
		if !mac.Equal(want, m) {
			return isospec.ErrMACMismatch
		}
		return nil
	}))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("acquirer did not stop")
	}
	text := out.String()
	for _, want := range []string{"TAK KCV 3B7D3D", "ZAK KCV E5DF32", "ZPK KCV 830B72", "BDK KCV 08D7B4", "acquirer stopped"} {
		require.Contains(t, text, want)
	}
	for _, k := range []string{lab.BDK, lab.TAK, lab.ZPK, lab.ZAK, lab.LMK} {
		require.NotContains(t, text+errOut.String(), k)
	}
	require.FileExists(t, filepath.Join(dir, lab.AcquirerKeystore))
	require.FileExists(t, filepath.Join(dir, "acquirer.db"))
	ks, err := os.ReadFile(filepath.Join(dir, lab.AcquirerKeystore))
	require.NoError(t, err)
	for _, k := range []string{lab.BDK, lab.TAK, lab.ZPK, lab.ZAK} {
		require.NotContains(t, strings.ToUpper(string(ks)), k, "keys wrapped in the keystore")
	}
}
