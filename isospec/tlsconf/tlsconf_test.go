package tlsconf_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf"
)

var localhost = []string{"localhost", "127.0.0.1"}

func newCA(t *testing.T, name string, now time.Time) *tlsconf.Authority {
	t.Helper()
	ca, err := tlsconf.NewCA(rand.Reader, name, now, time.Hour)
	require.NoError(t, err)
	return ca
}

func issue(t *testing.T, ca *tlsconf.Authority, name string, now time.Time, validity time.Duration) *tlsconf.Identity {
	t.Helper()
	id, err := ca.Issue(rand.Reader, name, localhost, now, validity)
	require.NoError(t, err)
	return id
}

func keyPEM(t *testing.T, id *tlsconf.Identity) []byte {
	t.Helper()
	b, err := id.KeyPEM()
	require.NoError(t, err)
	return b
}

func TestParseKeyPair(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "ca", now)
	good := issue(t, ca, "acquirer", now, time.Hour)
	other := issue(t, ca, "issuer", now, time.Hour)
	expired := issue(t, ca, "old", now.Add(-50*time.Minute), 10*time.Minute)
	garbledKey := bytes.Replace(keyPEM(t, good), []byte("\n"), []byte("\nAAAA"), 2)
	tests := []struct {
		name      string
		cert, key []byte
		want      error
	}{
		{"good", good.CertPEM(), keyPEM(t, good), nil},
		{"chain leaf first", append(good.CertPEM(), ca.CertPEM()...), keyPEM(t, good), nil},
		{"empty certificate", nil, keyPEM(t, good), tlsconf.ErrNoCertificate},
		{"certificate not PEM", []byte("not a certificate"), keyPEM(t, good), tlsconf.ErrBadPEM},
		{"key where certificate expected", keyPEM(t, good), keyPEM(t, good), tlsconf.ErrBadPEM},
		{"certificate bytes broken", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), keyPEM(t, good), tlsconf.ErrBadPEM},
		{"empty key", good.CertPEM(), nil, tlsconf.ErrBadKey},
		{"certificate where key expected", good.CertPEM(), good.CertPEM(), tlsconf.ErrBadKey},
		{"key of another certificate", good.CertPEM(), keyPEM(t, other), tlsconf.ErrBadKey},
		{"key garbled", good.CertPEM(), garbledKey, tlsconf.ErrBadKey},
		{"two keys", good.CertPEM(), append(keyPEM(t, good), keyPEM(t, other)...), tlsconf.ErrBadKey},
		{"expired", expired.CertPEM(), keyPEM(t, expired), tlsconf.ErrValidity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tlsconf.ParseKeyPair(tc.cert, tc.key, now)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, good.Cert.Raw, c.Leaf.Raw)
				require.NotEmpty(t, c.Certificate)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "tlsconf: "), err.Error())
			require.NotContains(t, err.Error(), "PRIVATE KEY-----")
			// No error carries any line of the key's PEM body.
			for _, line := range strings.Split(string(tc.key), "\n") {
				if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
					require.NotContains(t, err.Error(), line)
				}
			}
		})
	}
}

func TestParseKeyPairNotYetValid(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "ca", now.Add(time.Hour))
	future := issue(t, ca, "future", now.Add(time.Hour), time.Hour)
	_, err := tlsconf.ParseKeyPair(future.CertPEM(), keyPEM(t, future), now)
	require.ErrorIs(t, err, tlsconf.ErrValidity)
	require.Contains(t, err.Error(), "valid from")
}

func TestParsePool(t *testing.T) {
	now := time.Now()
	ca, ca2 := newCA(t, "ca", now), newCA(t, "ca2", now)
	leaf := issue(t, ca, "leaf", now, time.Hour)
	tests := []struct {
		name string
		pem  []byte
		want error
	}{
		{"one CA", ca.CertPEM(), nil},
		{"two CAs", append(ca.CertPEM(), ca2.CertPEM()...), nil},
		{"empty", nil, tlsconf.ErrNoCA},
		{"not PEM", []byte("hello"), tlsconf.ErrBadPEM},
		{"end-entity certificate", leaf.CertPEM(), tlsconf.ErrNoCA},
		{"a key", keyPEM(t, leaf), tlsconf.ErrBadPEM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tlsconf.ParsePool(tc.pem)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, p)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, p)
		})
	}
}

func TestBuildersRefuseMissingParts(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "ca", now)
	cert := issue(t, ca, "x", now, time.Hour).TLSCertificate()
	_, err := tlsconf.Server(tls.Certificate{}, ca.Pool())
	require.ErrorIs(t, err, tlsconf.ErrNoCertificate)
	_, err = tlsconf.Server(cert, nil)
	require.ErrorIs(t, err, tlsconf.ErrNoCA)
	_, err = tlsconf.Client(tls.Certificate{}, ca.Pool(), "")
	require.ErrorIs(t, err, tlsconf.ErrNoCertificate)
	_, err = tlsconf.Client(cert, nil, "")
	require.ErrorIs(t, err, tlsconf.ErrNoCA)

	s, err := tlsconf.Server(cert, ca.Pool())
	require.NoError(t, err)
	require.Equal(t, tls.RequireAndVerifyClientCert, s.ClientAuth)
	require.Equal(t, uint16(tls.VersionTLS12), s.MinVersion)
	require.False(t, s.InsecureSkipVerify)
	c, err := tlsconf.Client(cert, ca.Pool(), "issuer.example")
	require.NoError(t, err)
	require.Equal(t, "issuer.example", c.ServerName)
	require.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
	require.False(t, c.InsecureSkipVerify)
}

// handshake runs both sides of a handshake over loopback TCP and returns
// the client's and the server's errors (the client's includes its first
// read, where a TLS 1.3 client learns that its certificate was refused).
func handshake(t *testing.T, server, client *tls.Config, serverName string) (clientErr, serverErr error, state tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	srvDone := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			srvDone <- err
			return
		}
		tc, err := tlsconf.Accept(context.Background(), nc, server, 5*time.Second)
		if err != nil {
			srvDone <- err
			return
		}
		_, err = tc.Write([]byte("ok"))
		_ = tc.Close()
		srvDone <- err
	}()
	client = client.Clone()
	if serverName != "" {
		client.ServerName = serverName
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	tc, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), client)
	if err == nil {
		state = tc.ConnectionState()
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 2)
		_, err = io.ReadFull(tc, b)
		_ = tc.Close()
	}
	return err, <-srvDone, state
}

func TestMutualHandshake(t *testing.T) {
	now := time.Now()
	ca, otherCA := newCA(t, "network CA", now), newCA(t, "rogue CA", now)
	srvID := issue(t, ca, "issuer", now, time.Hour)
	cliID := issue(t, ca, "acquirer", now, time.Hour)
	rogue := issue(t, otherCA, "rogue", now, time.Hour)
	expiredCli := issue(t, ca, "old acquirer", now.Add(-50*time.Minute), 10*time.Minute)

	srv, err := tlsconf.Server(srvID.TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	cli, err := tlsconf.Client(cliID.TLSCertificate(), ca.Pool(), "")
	require.NoError(t, err)
	rogueCli, err := tlsconf.Client(rogue.TLSCertificate(), ca.Pool(), "")
	require.NoError(t, err)
	expCli, err := tlsconf.Client(expiredCli.TLSCertificate(), ca.Pool(), "")
	require.NoError(t, err)
	noCertCli := cli.Clone()
	noCertCli.Certificates = nil
	rogueSrv, err := tlsconf.Server(rogue.TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	tls11 := cli.Clone()
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11

	tests := []struct {
		name       string
		server     *tls.Config
		client     *tls.Config
		serverName string
		ok         bool
	}{
		{"mutual", srv, cli, "", true},
		{"mutual by DNS name", srv, cli, "localhost", true},
		{"client from another CA", srv, rogueCli, "", false},
		{"client without certificate", srv, noCertCli, "", false},
		{"client certificate expired", srv, expCli, "", false},
		{"server from another CA", rogueSrv, cli, "", false},
		{"server name mismatch", srv, cli, "issuer.example", false},
		{"TLS 1.1", srv, tls11, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cerr, serr, st := handshake(t, tc.server, tc.client, tc.serverName)
			if tc.ok {
				require.NoError(t, cerr)
				require.NoError(t, serr)
				require.Equal(t, uint16(tls.VersionTLS13), st.Version)
				require.Contains(t, tlsconf.Describe(st), "TLS 1.3")
				require.Contains(t, tlsconf.Describe(st), "CN=issuer")
				return
			}
			require.Error(t, cerr)
			if serr != nil {
				require.ErrorIs(t, serr, tlsconf.ErrHandshake)
				require.Contains(t, serr.Error(), "127.0.0.1")
			}
		})
	}
}

func TestTLS12Fallback(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "ca", now)
	srv, err := tlsconf.Server(issue(t, ca, "s", now, time.Hour).TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	cli, err := tlsconf.Client(issue(t, ca, "c", now, time.Hour).TLSCertificate(), ca.Pool(), "")
	require.NoError(t, err)
	cli.MaxVersion = tls.VersionTLS12
	cerr, serr, st := handshake(t, srv, cli, "")
	require.NoError(t, cerr)
	require.NoError(t, serr)
	require.Equal(t, uint16(tls.VersionTLS12), st.Version)

	// A TLS 1.2 client without a certificate learns it in the handshake.
	cli.Certificates = nil
	cerr, serr, _ = handshake(t, srv, cli, "")
	require.Error(t, cerr)
	require.ErrorIs(t, serr, tlsconf.ErrHandshake)
}

func TestAcceptPlainClient(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "ca", now)
	srv, err := tlsconf.Server(issue(t, ca, "s", now, time.Hour).TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	a, b := net.Pipe()
	go func() { _, _ = b.Write([]byte{0x00, 0x04, '0', '8', '0', '0'}); _ = b.Close() }()
	_, err = tlsconf.Accept(context.Background(), a, srv, time.Second)
	require.ErrorIs(t, err, tlsconf.ErrHandshake)
}

func TestAcceptTimeout(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "ca", now)
	srv, err := tlsconf.Server(issue(t, ca, "s", now, time.Hour).TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	a, b := net.Pipe()
	defer b.Close()
	start := time.Now()
	_, err = tlsconf.Accept(context.Background(), a, srv, 100*time.Millisecond)
	require.ErrorIs(t, err, tlsconf.ErrHandshake)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)

	// A closing server abandons the handshakes under way.
	a, b = net.Pipe()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = tlsconf.Accept(ctx, a, srv, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
}

func TestIssue(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ca := newCA(t, "ca", now)
	require.True(t, ca.Cert.IsCA)
	require.True(t, ca.Cert.MaxPathLenZero)
	id, err := ca.Issue(rand.Reader, "acquirer", []string{"localhost", "127.0.0.1", "::1", "acq.example"}, now, 24*time.Hour)
	require.NoError(t, err)
	require.NoError(t, id.Cert.CheckSignatureFrom(ca.Cert))
	require.Equal(t, []string{"localhost", "acq.example"}, id.Cert.DNSNames)
	require.Len(t, id.Cert.IPAddresses, 2)
	require.False(t, id.Cert.IsCA)
	require.Equal(t, now.Add(-tlsconf.Backdate).UTC(), id.Cert.NotBefore.UTC())
	// Never valid beyond the CA.
	require.Equal(t, ca.Cert.NotAfter, id.Cert.NotAfter)
	_, err = ca.Issue(rand.Reader, "x", nil, now, 0)
	require.ErrorIs(t, err, tlsconf.ErrPKI)
	_, err = tlsconf.NewCA(rand.Reader, "x", now, -time.Second)
	require.ErrorIs(t, err, tlsconf.ErrPKI)
	_, err = tlsconf.NewCA(bytes.NewReader(nil), "x", now, time.Hour)
	require.ErrorIs(t, err, tlsconf.ErrPKI)
}

func TestWriteFilesAndLoad(t *testing.T) {
	now := time.Now()
	dir := filepath.Join(t.TempDir(), "pki")
	ca := newCA(t, "ca", now)
	id := issue(t, ca, "terminal", now, time.Hour)
	caPath, _, err := ca.WriteFiles(dir, "ca", false)
	require.NoError(t, err)
	certPath, keyPath, err := id.WriteFiles(dir, "terminal", false)
	require.NoError(t, err)
	st, err := os.Stat(keyPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	st, err = os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	_, _, err = id.WriteFiles(dir, "terminal", false)
	require.ErrorIs(t, err, tlsconf.ErrPKI)
	require.True(t, errors.Is(err, os.ErrExist))
	_, _, err = id.WriteFiles(dir, "terminal", true)
	require.NoError(t, err)

	c, err := tlsconf.ClientFiles(caPath, certPath, keyPath, "", now)
	require.NoError(t, err)
	require.Len(t, c.Certificates, 1)
	s, err := tlsconf.ServerFiles(certPath, keyPath, caPath, now)
	require.NoError(t, err)
	require.NotNil(t, s.ClientCAs)

	_, err = tlsconf.ServerFiles(certPath, keyPath, filepath.Join(dir, "missing.pem"), now)
	require.ErrorIs(t, err, tlsconf.ErrNoCA)
	require.Contains(t, err.Error(), "missing.pem")
	_, err = tlsconf.ClientFiles(caPath, certPath, filepath.Join(dir, "nokey.pem"), "", now)
	require.ErrorIs(t, err, tlsconf.ErrBadKey)
	_, err = tlsconf.ServerFiles(certPath, keyPath, caPath, now.Add(2*time.Hour))
	require.ErrorIs(t, err, tlsconf.ErrValidity)
	require.Contains(t, err.Error(), certPath)
	// A CA file that is a leaf.
	_, err = tlsconf.ClientFiles(certPath, certPath, keyPath, "", now)
	require.ErrorIs(t, err, tlsconf.ErrNoCA)
}

// Connect is the client side of Accept: the dialled host is the default
// server name, and a failed handshake closes the connection.
func TestConnect(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "CA", now)
	srvID := issue(t, ca, "server", now, time.Hour)
	cliID := issue(t, ca, "client", now, time.Hour)
	srv, err := tlsconf.Server(srvID.TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if tc, err := tlsconf.Accept(context.Background(), nc, srv, time.Second); err == nil {
					_, _ = tc.Write([]byte("x"))
					_ = tc.Close()
				}
			}()
		}
	}()
	tests := []struct {
		name       string
		serverName string
		roots      *x509.CertPool
		ok         bool
	}{
		{"dialled host as server name", "", ca.Pool(), true},
		{"wrong server name", "other.example", ca.Pool(), false},
		{"server from another CA", "", newCA(t, "Other CA", now).Pool(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tlsconf.Client(cliID.TLSCertificate(), tc.roots, tc.serverName)
			require.NoError(t, err)
			nc, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer nc.Close()
			c, err := tlsconf.Connect(context.Background(), nc, cfg, 5*time.Second)
			if !tc.ok {
				require.ErrorIs(t, err, tlsconf.ErrHandshake)
				return
			}
			require.NoError(t, err)
			require.Empty(t, cfg.ServerName, "the configuration is not modified")
			defer c.Close()
			b := make([]byte, 1)
			_, err = io.ReadFull(c, b)
			require.NoError(t, err)
		})
	}
}
