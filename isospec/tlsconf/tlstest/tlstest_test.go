package tlstest_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// echo answers every line with the same line.
func echo(c io.ReadWriter) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
	}
}

// roundTrip writes a line on c and reads the answer.
func roundTrip(c net.Conn, line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func TestPKI(t *testing.T) {
	p := tlstest.NewPKI(t, "issuer", "acquirer")
	require.Equal(t, tlstest.NetworkCAName, p.CA().Cert.Subject.CommonName)
	require.Equal(t, tlstest.RogueCAName, p.RogueCA().Cert.Subject.CommonName)
	verify := func(c *x509.Certificate, roots *x509.CertPool) error {
		_, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err
	}
	for _, name := range []string{"issuer", "acquirer"} {
		for _, tc := range []struct {
			cert        *x509.Certificate
			ca          string
			own, others *x509.CertPool
		}{
			{p.Identity(name).Cert, tlstest.NetworkCAName, p.Pool(), p.RoguePool()},
			{p.Rogue(name).Cert, tlstest.RogueCAName, p.RoguePool(), p.Pool()},
		} {
			require.Equal(t, name, tc.cert.Subject.CommonName)
			require.Equal(t, tc.ca, tc.cert.Issuer.CommonName)
			require.Equal(t, []string{"localhost"}, tc.cert.DNSNames)
			require.Len(t, tc.cert.IPAddresses, 1)
			require.Equal(t, "127.0.0.1", tc.cert.IPAddresses[0].String())
			require.WithinDuration(t, time.Now().Add(tlstest.Validity), tc.cert.NotAfter, time.Minute)
			require.False(t, tc.cert.NotBefore.After(time.Now()))
			// It chains to its own CA and not to the other.
			require.NoError(t, verify(tc.cert, tc.own))
			require.Error(t, verify(tc.cert, tc.others))
		}
	}
	require.NotEqual(t, p.Identity("issuer").Cert.Raw, p.Rogue("issuer").Cert.Raw)

	srv := p.Server("issuer")
	require.Equal(t, tls.RequireAndVerifyClientCert, srv.ClientAuth)
	require.Equal(t, p.Identity("issuer").Cert.Raw, srv.Certificates[0].Certificate[0])
	require.True(t, srv.ClientCAs.Equal(p.Pool()))
	rogueSrv := p.RogueServer("issuer")
	require.Equal(t, p.Rogue("issuer").Cert.Raw, rogueSrv.Certificates[0].Certificate[0])
	require.True(t, rogueSrv.ClientCAs.Equal(p.Pool()))
	for _, tc := range []struct {
		name  string
		cfg   *tls.Config
		cert  *x509.Certificate
		roots *x509.CertPool
	}{
		{"client", p.Client("acquirer", "issuer.example"), p.Identity("acquirer").Cert, p.Pool()},
		{"rogue client", p.RogueClient("acquirer", "issuer.example"), p.Rogue("acquirer").Cert, p.Pool()},
		{"distrusting client", p.DistrustingClient("acquirer", "issuer.example"), p.Identity("acquirer").Cert, p.RoguePool()},
	} {
		require.Equal(t, "issuer.example", tc.cfg.ServerName, tc.name)
		require.Equal(t, tc.cert.Raw, tc.cfg.Certificates[0].Certificate[0], tc.name)
		require.True(t, tc.cfg.RootCAs.Equal(tc.roots), tc.name)
	}
}

// fakeTB records a failure and stops the goroutine, as FailNow does.
type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "fake" }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.FailNow()
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.failed = true
	f.msg += fmt.Sprintf(format, args...)
}
func (f *fakeTB) FailNow() { runtime.Goexit() }

// A name the PKI was not made with fails the test that made it.
func TestPKIUnknownName(t *testing.T) {
	f := &fakeTB{}
	p := tlstest.NewPKI(f, "issuer")
	require.False(t, f.failed, f.msg)
	for name, call := range map[string]func(){
		"identity":     func() { p.Identity("terminal") },
		"rogue":        func() { p.Rogue("terminal") },
		"server":       func() { p.Server("terminal") },
		"rogue server": func() { p.RogueServer("terminal") },
		"client":       func() { p.Client("terminal", "") },
		"rogue client": func() { p.RogueClient("terminal", "") },
		"distrusting":  func() { p.DistrustingClient("terminal", "") },
		"known":        func() { p.Client("issuer", "") },
	} {
		f.failed, f.msg = false, ""
		done := make(chan struct{})
		go func() { defer close(done); call() }()
		<-done
		if name == "known" {
			require.False(t, f.failed, f.msg)
			continue
		}
		require.True(t, f.failed, name)
		require.Contains(t, f.msg, `"terminal"`, name)
	}
}

// R-S4b: a server of the PKI refuses a client of the rogue CA, and a
// client that trusts only the rogue CA refuses the server; a client of the
// network is served.
func TestServeMutualTLS(t *testing.T) {
	p := tlstest.NewPKI(t, "server", "client")
	addr, handshakes := tlstest.Serve(t, p.Server("server"), func(c *tls.Conn) { echo(c) })

	good, err := tls.Dial("tcp", addr, p.Client("client", "localhost"))
	require.NoError(t, err)
	defer good.Close()
	got, err := roundTrip(good, "ping")
	require.NoError(t, err)
	require.Equal(t, "ping", got)
	require.Equal(t, 1, handshakes())

	noCert := p.Client("client", "").Clone()
	noCert.Certificates = nil
	for name, cfg := range map[string]*tls.Config{
		"client of the rogue CA":    p.RogueClient("client", ""),
		"client without a cert":     noCert,
		"client distrusting server": p.DistrustingClient("client", ""),
		"wrong server name":         p.Client("client", "server.example"),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := tls.Dial("tcp", addr, cfg)
			if err == nil {
				// TLS 1.3: the server's refusal shows on the first read.
				defer c.Close()
				_, err = roundTrip(c, "ping")
			}
			require.Error(t, err)
			require.Equal(t, 1, handshakes(), "no further handshake completed")
		})
	}

	// A plain client gets nothing.
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer raw.Close()
	got, err = roundTrip(raw, "ping")
	require.Error(t, err)
	require.Empty(t, got)

	// A server of the rogue CA is refused by the network's clients.
	rogueAddr, rogueShakes := tlstest.Serve(t, p.RogueServer("server"), func(c *tls.Conn) { echo(c) })
	_, err = tls.Dial("tcp", rogueAddr, p.Client("client", ""))
	require.ErrorContains(t, err, "certificate")
	require.Zero(t, rogueShakes())
}

// The front relays bytes both ways between a TLS client and a plain host,
// one backend connection per client.
func TestFront(t *testing.T) {
	p := tlstest.NewPKI(t, "front", "client")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var backendConns sync.WaitGroup
	var accepted int
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			backendConns.Add(1)
			go func() { defer backendConns.Done(); defer c.Close(); echo(upper{c}) }()
		}
	}()
	addr, handshakes := tlstest.Front(t, p.Server("front"), ln.Addr().String())
	require.Zero(t, handshakes())

	for i := 1; i <= 2; i++ {
		c, err := tls.Dial("tcp", addr, p.Client("client", "localhost"))
		require.NoError(t, err)
		got, err := roundTrip(c, fmt.Sprintf("hello %d", i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("HELLO %d", i), got, "the backend's answer came back")
		require.Equal(t, i, handshakes())
		require.NoError(t, c.Close())
	}
	// Closing the client closes the backend connection.
	backendConns.Wait()
	mu.Lock()
	require.Equal(t, 2, accepted)
	mu.Unlock()

	// A refused client never reaches the backend.
	c, err := tls.Dial("tcp", addr, p.RogueClient("client", ""))
	if err == nil {
		defer c.Close()
		_, err = roundTrip(c, "hello")
	}
	require.Error(t, err)
	require.Equal(t, 2, handshakes())
	mu.Lock()
	require.Equal(t, 2, accepted)
	mu.Unlock()
}

// A front whose backend is down completes the handshake, then closes.
func TestFrontBackendDown(t *testing.T) {
	p := tlstest.NewPKI(t, "front", "client")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	backend := ln.Addr().String()
	require.NoError(t, ln.Close())
	addr, handshakes := tlstest.Front(t, p.Server("front"), backend)
	c, err := tls.Dial("tcp", addr, p.Client("client", ""))
	require.NoError(t, err)
	defer c.Close()
	_, err = roundTrip(c, "hello")
	require.Error(t, err)
	require.Equal(t, 1, handshakes())
}

// upper answers in upper case, so that a relayed answer is told from an echo.
type upper struct{ net.Conn }

func (u upper) Write(p []byte) (int, error) { return u.Conn.Write([]byte(strings.ToUpper(string(p)))) }

// At the end of a test, Serve closes the connections still open and waits
// for their handlers.
func TestServeCleanup(t *testing.T) {
	p := tlstest.NewPKI(t, "server", "client")
	var returned sync.WaitGroup
	returned.Add(1)
	var c *tls.Conn
	t.Run("inner", func(t *testing.T) {
		addr, handshakes := tlstest.Serve(t, p.Server("server"), func(c *tls.Conn) {
			defer returned.Done()
			_, _ = io.Copy(io.Discard, c)
		})
		var err error
		c, err = tls.Dial("tcp", addr, p.Client("client", ""))
		require.NoError(t, err)
		// TLS 1.3: the server completes its side on the client's first write.
		_, err = c.Write([]byte("x"))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return handshakes() == 1 }, 3*time.Second, 5*time.Millisecond)
	})
	returned.Wait() // the handler has returned when the subtest's cleanup is over
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := c.Read(make([]byte, 1))
	require.Error(t, err, "the server closed the connection")
}

func TestLogBuffer(t *testing.T) {
	var l tlstest.LogBuffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				_, err := fmt.Fprintf(&l, "line %d.%d refused\n", i, j)
				if err != nil {
					t.Error(err)
				}
				_ = l.String()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 800, l.Count("refused\n"))
	require.Equal(t, 800, strings.Count(l.String(), "\n"))
	require.Contains(t, l.String(), "line 7.99 refused\n")
	require.Zero(t, l.Count("accepted"))
}

// Dial makes an ISO 8583 connection over TLS; a refused certificate shows
// at the connect or at the first exchange.
func TestDial(t *testing.T) {
	p := tlstest.NewPKI(t, "acquirer", "terminal")
	addr, handshakes := tlstest.Serve(t, p.Server("acquirer"), func(c *tls.Conn) {
		for {
			f, err := isospec.ReadFrame(c)
			if err != nil {
				return
			}
			var nm isospec.NetworkManagement
			if err := isospec.Unmarshal(f, &nm); err != nil {
				return
			}
			resp, err := nm.Response(isospec.RCApproved)
			if err != nil {
				return
			}
			b, err := isospec.Marshal(resp)
			if err != nil || isospec.WriteFrame(c, b) != nil {
				return
			}
		}
	})
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	echoTest, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetEcho, "000001", now))
	require.NoError(t, err)

	good, err := tlstest.Dial(t, addr, p.Client("terminal", "localhost"))
	require.NoError(t, err)
	resp, err := good.Send(echoTest)
	require.NoError(t, err)
	mti, err := resp.GetMTI()
	require.NoError(t, err)
	require.Equal(t, "0810", mti)
	code, err := resp.GetString(isospec.FieldResponseCode)
	require.NoError(t, err)
	require.Equal(t, string(isospec.RCApproved), code)
	require.Equal(t, 1, handshakes())

	for _, cfg := range []*tls.Config{p.RogueClient("terminal", ""), nil} {
		c, err := tlstest.Dial(t, addr, cfg)
		if err == nil {
			_, err = c.Send(echoTest)
		}
		require.Error(t, err)
	}
	require.Equal(t, 1, handshakes())
}
