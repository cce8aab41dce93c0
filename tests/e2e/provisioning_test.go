package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

var provisioningRE = regexp.MustCompile(`ID&V\) listening on (\S+),`)

// provisioningAddr waits for the issuer's provisioning ready line and
// returns its address.
func (p *proc) provisioningAddr(tb testing.TB) string {
	tb.Helper()
	p.waitLine(tb, "ID&V) listening on")
	for _, l := range p.output() {
		if m := provisioningRE.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	tb.Fatal("no provisioning address")
	return ""
}

// provisioningClient is a mutual-TLS client of the pki directory's CA
// presenting cert.
func provisioningClient(t *testing.T, pki string, cert tls.Certificate) *wire.Client {
	t.Helper()
	pool, err := tlsconf.LoadPool(filepath.Join(pki, "ca.pem"))
	require.NoError(t, err)
	cfg, err := tlsconf.Client(cert, pool, "")
	require.NoError(t, err)
	c, err := wire.NewClient(cfg, wire.ClientLimits{Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// R-M5: the provisioning roles as their own processes. "tapsim pki init"
// writes the parties' certificates and JOSE keys; the issuer host serves
// the token service it operates (--provisioning-listen), the wallet
// provider runs alone, and a phone that knows only the wallet provider's
// address adds a card and taps it through the acquirer, approved.
// R-G1, R-G2: a client without a certificate of the CA is refused at TLS,
// a wallet provider whose JOSE key is not in the directory is refused with
// the reason, and a garbage body gets a clear refusal while the services
// go on serving.
func TestProvisioningProcesses(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	issuerDir := filepath.Join(dir, "issuer")

	iss := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", issuerDir,
		"--provisioning-listen", "127.0.0.1:0", "--pki", pki, "--recommend-stepup")
	tsAddr := iss.provisioningAddr(t)
	acq := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", iss.addr, "--data", filepath.Join(dir, "acquirer"),
		"--issuer-timeout", "3s")
	acq.waitLine(t, "issuer links signed on")
	wp := start(t, "wallet-provider", "--listen", "127.0.0.1:0", "--token-service", "https://"+tsAddr, "--pki", pki)

	// A wallet provider with JOSE keys of its own, not the directory's.
	rogueKey := filepath.Join(dir, "rogue-wallet.jose.pem")
	rogue, err := wire.NewParty("wallet-provider", nil)
	require.NoError(t, err)
	require.NoError(t, rogue.WriteFile(rogueKey, false))
	rogueWP := start(t, "wallet-provider", "--listen", "127.0.0.1:0", "--token-service", "https://"+tsAddr, "--pki", pki,
		"--jose-key", rogueKey)

	addCard := func(wpAddr, device string, extra ...string) (string, error) {
		args := append([]string{"provision", "wallet", "--card", "visa-plastic", "--device", device,
			"--wallet-provider", wpAddr, "--pki", pki, "--data", issuerDir}, extra...)
		return run(t, args...)
	}

	t.Run("R-G2 wallet provider not in the directory is refused with its reason", func(t *testing.T) {
		out, err := addCard(rogueWP.addr, "0102030405060708")
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, out)
		// The token service's refusal, relayed by the wallet provider.
		require.Contains(t, out, wire.ReasonUnknownKey, out)
		require.NotContains(t, out, "installed on the phone")
	})

	foreign := tlstest.NewPKI(t, "wallet-provider", "phone")
	for name, addr := range map[string]string{"token service": tsAddr, "wallet provider": wp.addr} {
		t.Run("R-G1 "+name+" refuses a certificate of another CA at TLS", func(t *testing.T) {
			c := provisioningClient(t, pki, foreign.Rogue("wallet-provider").TLSCertificate())
			err := c.PostJSON(context.Background(), "https://"+addr+walletsvc.PathCards, map[string]string{}, nil)
			require.ErrorIs(t, err, wire.ErrTransport)
		})
		t.Run("R-G1 "+name+" refuses a client without a certificate at TLS", func(t *testing.T) {
			pool, err := tlsconf.LoadPool(filepath.Join(pki, "ca.pem"))
			require.NoError(t, err)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
			t.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := hc.Post("https://"+addr+tokensvc.PathTokenize, wire.MediaJOSE, nil)
			if err == nil {
				_ = resp.Body.Close()
			}
			require.Error(t, err)
		})
	}

	phoneCert, err := tls.LoadX509KeyPair(filepath.Join(pki, "provisioning", "phone.pem"), filepath.Join(pki, "provisioning", "phone-key.pem"))
	require.NoError(t, err)
	phone := provisioningClient(t, pki, phoneCert)
	walletCert, err := tls.LoadX509KeyPair(filepath.Join(pki, "provisioning", "wallet-provider.pem"),
		filepath.Join(pki, "provisioning", "wallet-provider-key.pem"))
	require.NoError(t, err)
	wallet := provisioningClient(t, pki, walletCert)

	t.Run("R-G2 garbage bodies are refused with a reason", func(t *testing.T) {
		for _, tc := range []struct {
			c         *wire.Client
			url       string
			mediaType string
			body      string
		}{
			{phone, "https://" + wp.addr + walletsvc.PathCards, wire.MediaJSON, "not json {"},
			{wallet, "https://" + tsAddr + tokensvc.PathTokenize, wire.MediaJOSE, "garbage.garbage"},
		} {
			_, _, err := tc.c.Post(context.Background(), tc.url, tc.mediaType, []byte(tc.body))
			var ref *wire.Refusal
			require.True(t, errors.As(err, &ref), "%v", err)
			require.Equal(t, http.StatusBadRequest, ref.Code, ref.Reason)
			require.NotEmpty(t, ref.Reason)
		}
		// The issuer's ID&V API is the token service's only.
		err := phone.PostJSON(context.Background(), "https://"+tsAddr+"/idv/otp/send", map[string]string{}, nil)
		var ref *wire.Refusal
		require.True(t, errors.As(err, &ref), "%v", err)
		require.Equal(t, "peer_not_allowed", ref.Reason)
	})

	t.Run("R-M5 phone adds a card through the services and taps approved", func(t *testing.T) {
		out, err := addCard(wp.addr, "0A0B0C0D", "--acquirer", acq.addr, "--tap", "1000")
		require.NoError(t, err, out)
		require.Contains(t, out, "REQUIRE_ADDITIONAL_AUTHENTICATION")
		require.Contains(t, out, "SUCCESS, token ACTIVE")
		require.Contains(t, out, "DE39 00", out)
		require.NotContains(t, out, "4761739001010010", "PAN in clear")
		require.NotRegexp(t, `\b[0-9]{6}\b is your`, out, "no OTP outside the inbox")

		// The phone's inbox, read while the issuer runs.
		inbox, err := run(t, "inbox", "--device", "0A0B0C0D", "--data", issuerDir)
		require.NoError(t, err, inbox)
		require.Regexp(t, `sms +otp +tapsim bank: [0-9]{6} is your one-time password`, inbox)
		require.Contains(t, inbox, "token-activated")
	})

	// The services stop cleanly on SIGTERM.
	wp.stop()
	require.Contains(t, wp.output(), "wallet provider stopped")
	iss.stop()
	require.Contains(t, iss.output(), "issuer host stopped")
}
