package lab

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// The plastic as printed is the card the issuer holds: same PAN, expiry,
// security code and registered phone.
func TestPlasticCardIsTheIssuersCard(t *testing.T) {
	n := startNetwork(t)
	for _, name := range []string{"visa-plastic", "mc-plastic"} {
		want, err := SampleFundingCard(context.Background(), n, name)
		require.NoError(t, err)
		got, err := PlasticCard(name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
	_, err := PlasticCard("wallet-phone")
	require.Error(t, err)
}

// writePKI writes a test PKI's provisioning files into a fresh directory.
func writePKI(t *testing.T, now time.Time) ProvisioningPKI {
	t.Helper()
	dir := t.TempDir()
	rnd := newSeededRand(11)
	ca, err := tlsconf.NewCA(rnd, "test CA", now, time.Hour)
	require.NoError(t, err)
	_, _, err = ca.WriteFiles(dir, "ca", false)
	require.NoError(t, err)
	paths, err := WriteProvisioningPKI(dir, ca, []string{"localhost", "127.0.0.1"}, now, time.Hour, false, rnd)
	require.NoError(t, err)
	for _, p := range paths {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		if strings.HasSuffix(p, "-key.pem") || strings.HasSuffix(p, ".jose.pem") {
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
		}
	}
	_, err = WriteProvisioningPKI(dir, ca, nil, now, time.Hour, false, rnd)
	require.Error(t, err, "existing files are kept")
	return ProvisioningPKI{Dir: dir}
}

func TestProvisioningPKI(t *testing.T) {
	now := time.Now()
	k := writePKI(t, now)
	for _, name := range ProvisioningParties {
		if slices.Contains(ModuleParties, name) {
			_, err := k.Party(name)
			require.ErrorIs(t, err, ErrPKI, "no key file")
			p, m, err := k.ModuleParty(name, nil)
			require.NoError(t, err)
			require.Equal(t, name, p.Name())
			require.True(t, p.InHSM())
			require.NoError(t, m.Close())
			continue
		}
		p, err := k.Party(name)
		require.NoError(t, err)
		require.Equal(t, name, p.Name())
	}
	tl, err := k.Trust(PartyTokenService, PartyWallet)
	require.NoError(t, err)
	require.Equal(t, []string{PartyTokenService, PartyWallet}, tl.Names())
	_, err = k.Trust("rogue")
	require.ErrorIs(t, err, ErrPKI)
	_, err = k.ServerTLS(PartyTokenService, now)
	require.NoError(t, err)
	_, err = k.Client(PartyPhone, now)
	require.NoError(t, err)
	_, err = ProvisioningPKI{Dir: t.TempDir()}.Party(PartyIssuer)
	require.ErrorIs(t, err, ErrPKI)
}

// serveTLS serves h with party name's certificate of k on loopback.
func serveTLS(t *testing.T, k ProvisioningPKI, name string, h http.Handler) string {
	t.Helper()
	cfg, err := k.ServerTLS(name, time.Now())
	require.NoError(t, err)
	srv, err := wire.NewServer(h, cfg, wire.Limits{})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

// R-M5: the issuer's services and the wallet provider built from the key
// files, each on its own listener, provision a card onto a phone that
// knows only the wallet provider's address, and the token taps approved.
func TestRemoteWalletOverKeyFiles(t *testing.T) {
	n := startNetwork(t)
	k := writePKI(t, time.Now())
	tsp, err := k.Party(PartyTokenService)
	require.NoError(t, err)
	tspTrust, err := k.Trust(PartyWallet, PartyIssuer)
	require.NoError(t, err)
	wpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wpAddr := wpLn.Addr().String()
	notifier, err := k.Client(PartyTokenService, time.Now())
	require.NoError(t, err)
	t.Cleanup(notifier.CloseIdleConnections)
	svcs, err := NewIssuerServices(n.issuer, IssuerServicesOptions{TokenService: tsp, Trust: tspTrust,
		WalletNotifyURL: "https://" + wpAddr + walletsvc.PathNotify, Notifier: notifier, Rand: newSeededRand(3),
		Recommend: func(tokensvc.IDVRequest) string { return wire.DecisionRequireAuthN }})
	require.NoError(t, err)
	tsAddr := serveTLS(t, k, PartyTokenService, svcs.Handler())

	wp, err := k.Party(PartyWallet)
	require.NoError(t, err)
	wpTrust, err := k.Trust(PartyTokenService)
	require.NoError(t, err)
	toTS, err := k.Client(PartyWallet, time.Now())
	require.NoError(t, err)
	t.Cleanup(toTS.CloseIdleConnections)
	w, err := NewWalletProvider(WalletProviderOptions{Me: wp, Trust: wpTrust, TokenServiceURL: "https://" + tsAddr,
		Client: toTS, Rand: newSeededRand(4)})
	require.NoError(t, err)
	cfg, err := k.ServerTLS(PartyWallet, time.Now())
	require.NoError(t, err)
	srv, err := wire.NewServer(w.Handler(), cfg, wire.Limits{})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(wpLn, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })

	var steps []string
	res, err := AddToRemoteWallet(context.Background(), RemoteWalletOptions{WalletURL: "https://" + wpAddr, PKI: k,
		IssuerData: n.dir, AcquirerAddr: n.AcquirerAddr(), Rand: newSeededRand(5)},
		WalletRequest{Profile: "visa-plastic", DeviceID: "0A0B0C0D", OTP: OTPAuto, TapAmount: 1000},
		func(s Step) { steps = append(steps, s.Name) })
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, res.Decision)
	require.Equal(t, wire.ResultSuccess, res.OTP)
	require.Equal(t, wire.StatusActive, res.Status)
	require.EqualValues(t, "00", res.Tap)
	require.Contains(t, steps, "inbox")

	// The issuer suspends the phone's tokens at the token service, which
	// notifies the wallet provider (--wallet-notify).
	issuer, err := k.Party(PartyIssuer)
	require.NoError(t, err)
	issuerTLS, err := k.Client(PartyIssuer, time.Now())
	require.NoError(t, err)
	t.Cleanup(issuerTLS.CloseIdleConnections)
	env, err := wire.Seal(wire.LifecycleRequest{TaskID: "issuer-1", Action: wire.ActionSuspend, Actor: wire.ActorIssuer,
		Reason: "DEVICE_LOST", DeviceID: "0A0B0C0D00000000"}, issuer, tsp.Public(),
		wire.Header{Type: wire.TypeLifecycleRequest, Rand: newSeededRand(6)})
	require.NoError(t, err)
	_, err = issuerTLS.PostEnvelope(context.Background(), "https://"+tsAddr+tokensvc.PathIssuerLifecycle, env)
	require.NoError(t, err)
	rec, ok := w.Store().Token(res.TokenUniqueReference)
	require.True(t, ok)
	require.Equal(t, wire.StatusSuspended, rec.Status, "the wallet provider was notified")

	// The ID&V API is the token service's only: the phone's certificate
	// is refused with its reason.
	phone, err := k.Client(PartyPhone, time.Now())
	require.NoError(t, err)
	t.Cleanup(phone.CloseIdleConnections)
	err = phone.PostJSON(context.Background(), "https://"+tsAddr+"/idv/otp/send", map[string]string{}, nil)
	var ref *wire.Refusal
	require.True(t, errors.As(err, &ref), "%v", err)
	require.Equal(t, ReasonPeerNotAllowed, ref.Reason)
}

// R-S4a, R-G5a, R-G5b: the TSMs' JOSE keys and the SE authority's key are
// made inside security modules of their own; no private key of theirs is
// in a file in clear, and the keystores name no private key material in
// clear. A directory made before, its keys in clear files, is refused
// with what to run.
func TestModuleKeysNotInClear(t *testing.T) {
	k := writePKI(t, time.Now())
	sub := filepath.Join(k.Dir, ProvisioningPKIDir)
	for _, f := range []string{"sp-tsm.jose.pem", "se-tsm.jose.pem", seAuthorityKeyFile} {
		_, err := os.Stat(filepath.Join(sub, f))
		require.ErrorIs(t, err, fs.ErrNotExist, f)
	}
	for _, f := range []string{ModuleKeystore(PartySPTSM), ModuleKeystore(PartySETSM), seAuthorityKeystore} {
		b, err := os.ReadFile(filepath.Join(sub, f))
		require.NoError(t, err)
		require.NotContains(t, string(b), "PRIVATE KEY", f)
		require.NotContains(t, string(b), `"d"`, f)
	}
	// The authority certifies with its module; the SP TSM's public key
	// checks it.
	certify, closeFn, ok, err := k.SEAuthorityCertifier()
	require.NoError(t, err)
	require.True(t, ok)
	defer closeFn()
	agree, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	cert, err := certify("SE01", agree.PublicKey())
	require.NoError(t, err)
	pub, err := k.SEAuthorityPublic()
	require.NoError(t, err)
	_, err = gp.VerifySECert(pub, "SE01", cert)
	require.NoError(t, err)

	// A directory of before: key files in clear, no modules.
	for _, f := range []string{ModuleKeystore(PartySPTSM), seAuthorityKeystore} {
		require.NoError(t, os.Remove(filepath.Join(sub, f)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(sub, "sp-tsm.jose.pem"), []byte("old"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(sub, seAuthorityKeyFile), []byte("old"), 0o600))
	_, _, err = k.ModuleParty(PartySPTSM, nil)
	require.ErrorIs(t, err, ErrPKI)
	require.ErrorContains(t, err, "run tapsim pki init --dir "+k.Dir+" --force")
	_, _, _, err = k.SEAuthorityCertifier()
	require.ErrorIs(t, err, ErrPKI)
	require.ErrorContains(t, err, "run tapsim pki init --dir "+k.Dir+" --force")
}
