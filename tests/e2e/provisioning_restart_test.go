package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// portsTaken spreads the ports freeAddr hands out.
var portsTaken atomic.Int32

// freeAddr is a loopback host:port nothing listens on now, below the
// ephemeral range (32768 and up on Linux) so that no outgoing connection
// takes it while the process that will listen on it restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	start := os.Getpid()*7919 + int(portsTaken.Add(1))*101
	for i := range 10000 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+(start+i)%10000))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		require.NoError(t, ln.Close())
		return addr
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

var turRE = regexp.MustCompile(`token (DWSPTS[0-9a-f]+)`)

// The token service the issuer operates keeps its state in the issuer's
// data: after the issuer process restarts on the same data and address,
// the issuer's service centre acts on a token made before through it
// ("tapsim issuer suspend|delete TOKEN --provisioning ADDR --pki DIR")
// and the wallet provider process is notified of each change.
func TestProvisioningIssuerRestartAndLifecycle(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	issuerDir := filepath.Join(dir, "issuer")
	tsAddr, wpAddr := freeAddr(t), freeAddr(t)
	issuerArgs := []string{"issuer", "--listen", "127.0.0.1:0", "--data", issuerDir,
		"--provisioning-listen", tsAddr, "--pki", pki, "--wallet-notify", "https://" + wpAddr}
	iss := start(t, issuerArgs...)
	iss.provisioningAddr(t)
	wp := startLogged(t, "wallet-provider", "--listen", wpAddr, "--token-service", "https://"+tsAddr, "--pki", pki, "-v")

	out, err = run(t, "provision", "wallet", "--card", "visa-plastic", "--device", "0A0B0C0D",
		"--wallet-provider", wp.addr, "--pki", pki, "--data", issuerDir)
	require.NoError(t, err, out)
	m := turRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	tur := m[1]

	iss.stop()
	require.Contains(t, strings.Join(iss.output(), "\n"), "issuer host stopped")
	iss = start(t, issuerArgs...)
	require.Equal(t, tsAddr, iss.provisioningAddr(t))

	via := []string{"--provisioning", tsAddr, "--pki", pki}
	out, err = run(t, append([]string{"issuer", "suspend", tur, "--reason", "fraud suspected"}, via...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "SUSPENDED by ISSUER, through the token service at "+tsAddr)
	wp.waitLine(t, "op=notify tur="+tur+" event=suspended status=SUSPENDED")

	out, err = run(t, append([]string{"issuer", "delete", tur}, via...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "DEACTIVATED, through the token service")
	wp.waitLine(t, "status=DEACTIVATED")
}
