package main

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/wire"
)

// The issuer's token commands with --provisioning go through the token
// service a running issuer operates (real sockets, mutual TLS): the
// wallet provider it notifies learns each change; a token the service
// did not make, and a phone without wallet tokens, are said so; without
// --provisioning the vault changes directly and the output says nobody
// was told.
func TestIssuerLifecycleThroughProvisioning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	code, out, errOut := runCLI(t, "pki", "init", "--dir", pkiDir)
	require.Equal(t, 0, code, out+errOut)
	data := filepath.Join(dir, "issuer")

	wpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wpAddr := wpLn.Addr().String()

	runCtx, cancel := context.WithCancel(ctx)
	var iOut, iErr issuerOutput
	done := make(chan error, 1)
	go func() {
		done <- runIssuer(runCtx, issuerOptions{listen: "127.0.0.1:0", dataDir: data, prov: issuerProvisioning{
			listen: "127.0.0.1:0", pki: pkiDir, notify: "https://" + wpAddr}}, &iOut, &iErr)
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	re := regexp.MustCompile(`ID&V\) listening on (\S+),`)
	var tsAddr string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(iOut.String())
		if m != nil {
			tsAddr = m[1]
		}
		return m != nil
	}, 30*time.Second, 10*time.Millisecond, iErr.String())

	k := lab.ProvisioningPKI{Dir: pkiDir}
	wp, err := k.Party(lab.PartyWallet)
	require.NoError(t, err)
	wpTrust, err := k.Trust(lab.PartyTokenService)
	require.NoError(t, err)
	toTS, err := k.Client(lab.PartyWallet, time.Now())
	require.NoError(t, err)
	t.Cleanup(toTS.CloseIdleConnections)
	w, err := lab.NewWalletProvider(lab.WalletProviderOptions{Me: wp, Trust: wpTrust, TokenServiceURL: "https://" + tsAddr, Client: toTS})
	require.NoError(t, err)
	cfg, err := k.ServerTLS(lab.PartyWallet, time.Now())
	require.NoError(t, err)
	srv, err := wire.NewServer(w.Handler(), cfg, wire.Limits{})
	require.NoError(t, err)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.ServeTLS(wpLn, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-served })

	res, err := lab.AddToRemoteWallet(ctx, lab.RemoteWalletOptions{WalletURL: "https://" + wpAddr, PKI: k},
		lab.WalletRequest{Profile: "visa-plastic", DeviceID: "0A0B0C0D"}, nil)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, res.Status)
	tur := res.TokenUniqueReference
	status := func() string {
		rec, ok := w.Store().Token(tur)
		require.True(t, ok)
		return rec.Status
	}
	via := []string{"--provisioning", tsAddr, "--pki", pkiDir, "--data", data}

	code, out, errOut = runCLI(t, append([]string{"issuer", "suspend", tur, "--reason", "fraud suspected"}, via...)...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "token "+tur+": SUSPENDED by ISSUER, through the token service at "+tsAddr)
	require.Equal(t, wire.StatusSuspended, status(), "the wallet provider was notified")
	code, out, errOut = runCLI(t, append([]string{"issuer", "resume", tur}, via...)...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, ": ACTIVE, through the token service")
	require.Equal(t, wire.StatusActive, status())

	// A resume of a token the issuer did not suspend is refused with the
	// reason.
	code, out, errOut = runCLI(t, append([]string{"issuer", "resume", tur}, via...)...)
	require.NotZero(t, code, out+errOut)
	require.Contains(t, errOut, "token_state")

	// The sample wallet phone's token was not made by the token service.
	code, out, errOut = runCLI(t, append([]string{"issuer", "suspend", "wallet-phone"}, via...)...)
	requireUsageError(t, code, out, errOut, "unknown_token")

	// The lost phone: its wallet token through the token service, then
	// the vault's own report.
	code, out, errOut = runCLI(t, append([]string{"issuer", "lost", "0A0B0C0D"}, via...)...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "wallet tokens suspended ["+tur+"] through the token service")
	require.Contains(t, out, "reported lost")
	require.Equal(t, wire.StatusSuspended, status())
	code, out, errOut = runCLI(t, append([]string{"issuer", "lost", "3520990017614823"}, via...)...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "no wallet token at the token service")
	// R-C1: the sample HCE phone's binding at the issuer's cloud platform.
	require.Contains(t, out, "HCE bindings suspended [hce-phone ")
	require.Contains(t, out, "not in the issuer's vault")

	code, out, errOut = runCLI(t, append([]string{"issuer", "delete", tur}, via...)...)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, ": DEACTIVATED, through the token service")
	require.Equal(t, wire.StatusDeactivated, status())

	// Directly in the vault: the output says nobody was told.
	code, out, errOut = runCLI(t, "issuer", "suspend", "wallet-phone", "--data", data)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "directly in the issuer's vault: no token service was told")

	// Nothing listening: a clear error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := ln.Addr().String()
	require.NoError(t, ln.Close())
	code, out, errOut = runCLI(t, "issuer", "suspend", tur, "--provisioning", gone, "--pki", pkiDir)
	require.NotZero(t, code, out+errOut)
	require.Contains(t, errOut, "no token service answered at "+gone)
}

func TestIssuerTokenServiceFlagsRefused(t *testing.T) {
	code, out, errOut := runCLI(t, "issuer", "suspend", "x", "--pki", t.TempDir())
	requireUsageError(t, code, out, errOut, "--pki needs --provisioning")
	code, out, errOut = runCLI(t, "issuer", "resume", "x", "--provisioning", "127.0.0.1:1")
	requireUsageError(t, code, out, errOut, "--provisioning needs --pki")
	code, out, errOut = runCLI(t, "issuer", "lost", "0102", "--provisioning", "nowhere", "--pki", t.TempDir())
	requireUsageError(t, code, out, errOut, "want host:port")
	code, out, errOut = runCLI(t, "issuer", "delete", "x", "--provisioning", "127.0.0.1:1", "--pki", t.TempDir())
	requireUsageError(t, code, out, errOut, "--pki")
}
