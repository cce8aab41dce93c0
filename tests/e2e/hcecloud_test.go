package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-M7, R-S3d, R-S3e, R-S3f, R-S5b, R-S5d: the HCE cloud platform as a
// network service of the issuer's process ("tapsim issuer
// --provisioning-listen", under /hce/), and a phone that knows only its
// address ("tapsim provision hce --cloud") enrols a card and taps it
// through the acquirer process, approved. R-G1, R-G2: a phone with a
// certificate of another CA is refused at TLS, the phones' certificate
// serves the platform's paths only (and only it does), and a garbage body
// gets a 400 with its reason while the platform goes on serving. The
// platform's state is in the issuer's database: after the issuer process
// restarts on the same data, the phone is still bound.
func TestHCECloudProcesses(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	issuerDir := filepath.Join(dir, "issuer")
	cloudAddr := freeAddr(t)
	issuerArgs := []string{"issuer", "--listen", "127.0.0.1:0", "--data", issuerDir,
		"--provisioning-listen", cloudAddr, "--pki", pki}
	iss := start(t, issuerArgs...)
	iss.provisioningAddr(t)
	require.Contains(t, iss.output(), "HCE cloud platform on the same address under /hce/ (phones' certificate only), state in the issuer's database")
	acq := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", iss.addr, "--data", filepath.Join(dir, "acquirer"),
		"--issuer-timeout", "3s")
	acq.waitLine(t, "issuer links signed on")

	enrol := func(device string, extra ...string) (string, error) {
		args := append([]string{"provision", "hce", "--card", "visa-plastic", "--device", device,
			"--cloud", cloudAddr, "--pki", pki, "--data", issuerDir}, extra...)
		return run(t, args...)
	}

	t.Run("R-M7 phone enrols through the platform and taps approved", func(t *testing.T) {
		out, err := enrol("35209900AABB0011", "--acquirer", acq.addr, "--tap", "150000")
		require.NoError(t, err, out)
		require.Contains(t, out, "read from the cardholder's inbox")
		require.Contains(t, out, "challenge signed by the device key")
		require.Contains(t, out, "DE39 00", out)
		require.NotContains(t, out, "4761739001010010", "PAN in clear")
	})

	t.Run("R-S5d a second phone on the same card account", func(t *testing.T) {
		out, err := enrol("35209900AABB0012")
		require.NoError(t, err, out)
		require.Contains(t, out, "5 limited-use keys")
	})

	t.Run("R-S3d R-G3a registration verified by the issuer-set passcode", func(t *testing.T) {
		out, err := enrol("35209900AABB0019", "--passcode", "9753")
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, out)
		require.Contains(t, out, "refused: passcode_wrong")
		out, err = enrol("35209900AABB0019", "--passcode", "1234")
		require.NoError(t, err, out)
		require.Contains(t, out, "cardholder verified by the issuer-set passcode, no OTP")
		require.Contains(t, out, "5 limited-use keys")
		require.NotContains(t, out, "1234 ", "the passcode is never printed")
	})

	foreign := tlstest.NewPKI(t, "phone")
	t.Run("R-G1 platform refuses a phone certificate of another CA at TLS", func(t *testing.T) {
		c := provisioningClient(t, pki, foreign.Rogue("phone").TLSCertificate())
		err := c.PostJSON(context.Background(), "https://"+cloudAddr+wire.PathHCERegister, map[string]string{}, nil)
		require.ErrorIs(t, err, wire.ErrTransport)
	})

	phoneCert, err := tls.LoadX509KeyPair(filepath.Join(pki, "provisioning", "phone.pem"), filepath.Join(pki, "provisioning", "phone-key.pem"))
	require.NoError(t, err)
	phone := provisioningClient(t, pki, phoneCert)
	walletCert, err := tls.LoadX509KeyPair(filepath.Join(pki, "provisioning", "wallet-provider.pem"),
		filepath.Join(pki, "provisioning", "wallet-provider-key.pem"))
	require.NoError(t, err)
	wallet := provisioningClient(t, pki, walletCert)

	t.Run("R-G2 garbage bodies get a 400 with their reason and the platform serves on", func(t *testing.T) {
		for _, tc := range []struct{ path, mediaType, body string }{
			{wire.PathHCERegister, wire.MediaJSON, "not json {"},
			{wire.PathHCEDownload, wire.MediaJOSE, "garbage.garbage"},
		} {
			_, _, err := phone.Post(context.Background(), "https://"+cloudAddr+tc.path, tc.mediaType, []byte(tc.body))
			var ref *wire.Refusal
			require.True(t, errors.As(err, &ref), "%v", err)
			require.Equal(t, http.StatusBadRequest, ref.Code, ref.Reason)
			require.NotEmpty(t, ref.Reason)
		}
		out, err := enrol("35209900AABB0013")
		require.NoError(t, err, out)
	})

	t.Run("R-G1 the phones' certificate serves the platform's paths only", func(t *testing.T) {
		for _, tc := range []struct {
			c   *wire.Client
			url string
		}{
			{wallet, "https://" + cloudAddr + wire.PathHCERegister},
			{phone, "https://" + cloudAddr + tokensvc.PathTokenize},
		} {
			err := tc.c.PostJSON(context.Background(), tc.url, map[string]string{}, nil)
			var ref *wire.Refusal
			require.True(t, errors.As(err, &ref), "%v", err)
			require.Equal(t, http.StatusForbidden, ref.Code)
			require.Equal(t, "peer_not_allowed", ref.Reason)
		}
	})

	t.Run("R-G3c the service centre resets a phone's mobile PIN tries", func(t *testing.T) {
		out, err := run(t, "provision", "hce", "--card", "mc-plastic", "--pin", "2580", "--device", "35209900AABB0014",
			"--cloud", cloudAddr, "--pki", pki, "--data", issuerDir)
		require.NoError(t, err, out)
		reset := func(device string) (string, error) {
			return run(t, "issuer", "reset-mobile-pin", "--card", "mc-plastic", "--device", device,
				"--provisioning", cloudAddr, "--pki", pki, "--staff", "agent-7")
		}
		out, err = reset("35209900AABB0014")
		require.NoError(t, err, out)
		require.Contains(t, out, "mobile PIN tries reset by agent-7")
		out, err = reset("35209900AABB00FF")
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, out)
		require.Contains(t, out, "unknown_card_or_phone")
		// The phones' certificate cannot reset.
		err = phone.PostJSON(context.Background(), "https://"+cloudAddr+"/cloud-admin/reset-mobile-pin", map[string]string{}, nil)
		var ref *wire.Refusal
		require.True(t, errors.As(err, &ref), "%v", err)
		require.Equal(t, "peer_not_allowed", ref.Reason)
	})

	t.Run("R-C1 a lost phone's bindings are suspended at the platform", func(t *testing.T) {
		out, err := run(t, "issuer", "lost", "35209900AABB0013", "--provisioning", cloudAddr, "--pki", pki, "--data", issuerDir)
		require.NoError(t, err, out)
		require.Contains(t, out, "HCE bindings suspended [cloud-visa-plastic bind-", out)
	})

	t.Run("R-S3d the binding outlives the issuer process", func(t *testing.T) {
		iss.stop()
		require.Contains(t, iss.output(), "issuer host stopped")
		// R-S5b: the tap's key use was written with the authorisation, the
		// lost phone's suspension with the report; no key or PAN is there.
		issuerState(t, issuerDir, func(ctx context.Context, tx *store.Tx) {
			ks, err := tx.CloudKeys(ctx)
			require.NoError(t, err)
			used := 0
			for _, k := range ks {
				used += k.Used
			}
			require.Equal(t, 1, used, "one tap, one key used")
			ds, err := tx.CloudDevices(ctx)
			require.NoError(t, err)
			i := slices.IndexFunc(ds, func(d store.CloudDevice) bool { return d.DeviceID == "35209900AABB0013" })
			require.GreaterOrEqual(t, i, 0, "the lost phone's row")
			require.True(t, ds[i].Suspended)
			require.Equal(t, "cloud-visa-plastic", ds[i].CardRef)
			recs, err := tx.CloudRecords(ctx)
			require.NoError(t, err)
			for _, r := range recs {
				require.NotContains(t, r.Body, "4761739001010010", r.Kind)
			}
		})
		iss = start(t, issuerArgs...)
		iss.provisioningAddr(t)
		out, err := enrol("35209900AABB0011")
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, out)
		require.Contains(t, out, cloudsvc.ReasonAlreadyBound, out)
	})

	// R-M3, R-M7, R-S5b: the issuer's own sample HCE phone, enrolled with
	// its cloud platform when the issuer made its data, pays from the
	// issuer's data directory as the README's commands do, runs out of
	// keys and is replenished in place by the platform (after the restart
	// above), its used keys refused from a backup.
	t.Run("R-S5b the sample phone in the issuer's data pays, runs out and is replenished", func(t *testing.T) {
		iss = start(t, issuerArgs...)
		iss.provisioningAddr(t)
		acq2 := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", iss.addr, "--data", filepath.Join(dir, "acquirer2"),
			"--issuer-timeout", "3s")
		acq2.waitLine(t, "issuer links signed on")
		tap := func() (string, error) {
			return run(t, "terminal", "--acquirer", acq2.addr, "--card", "hce-phone", "--amount", "1500.00", "--unlock", "5791",
				"--data", issuerDir)
		}
		backup, err := os.ReadFile(lab.HCEPhoneFile(issuerDir, "hce-phone"))
		require.NoError(t, err)
		for i := range 5 {
			out, err := tap()
			require.NoError(t, err, "tap %d: %s", i+1, out)
			require.Contains(t, out, "DE39: 00 (approved)")
			require.NotContains(t, out, "4895370012340011")
		}
		out, err := tap()
		require.Error(t, err, out)
		require.Contains(t, out, "no limited-use keys left: replenish")
		out, err = run(t, "provision", "replenish", "--phone", "hce-phone", "--cloud", cloudAddr, "--pki", pki, "--data", issuerDir)
		require.NoError(t, err, out)
		require.Contains(t, out, "hce-phone: 5 keys loaded from the cloud platform")
		out, err = tap()
		require.NoError(t, err, out)
		require.Contains(t, out, "DE39: 00 (approved)")
		require.NoError(t, os.WriteFile(lab.HCEPhoneFile(issuerDir, "hce-phone"), backup, 0o600))
		out, err = tap()
		require.Error(t, err, out)
		require.Contains(t, out, "DE39: 82", "a key spent before the backup was restored")
		iss.stop()
		require.Contains(t, iss.output(), "issuer host stopped")
	})

}
