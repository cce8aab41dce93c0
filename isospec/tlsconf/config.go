package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrNoCertificate reports a configuration without a certificate of
	// its own, or a PEM input without a certificate.
	ErrNoCertificate = errors.New("tlsconf: no certificate")
	// ErrNoCA reports a missing or empty pool of trusted CAs.
	ErrNoCA = errors.New("tlsconf: no trusted CA")
	// ErrBadPEM reports input that is not the PEM expected, or a
	// certificate that does not parse.
	ErrBadPEM = errors.New("tlsconf: bad PEM")
	// ErrBadKey reports a private key that does not parse, is of an
	// unsupported type, or does not match the certificate.
	ErrBadKey = errors.New("tlsconf: bad private key")
	// ErrValidity reports a certificate used outside its validity period.
	ErrValidity = errors.New("tlsconf: certificate not valid now")
	// ErrHandshake reports a TLS handshake that failed.
	ErrHandshake = errors.New("tlsconf: handshake failed")
)

// MinVersion is the lowest protocol version either side accepts; TLS 1.3
// is negotiated whenever both ends have it.
const MinVersion = tls.VersionTLS12

// DefaultHandshakeTimeout bounds Accept's handshake when no timeout is
// given.
const DefaultHandshakeTimeout = 10 * time.Second

// cipherSuites are the TLS 1.2 suites allowed: ECDHE with AEAD only (TLS
// 1.3 suites are not configurable and all AEAD).
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Server returns the configuration of a listener that presents cert and
// accepts only clients presenting a certificate that chains to clientCAs
// (mutual authentication).
func Server(cert tls.Certificate, clientCAs *x509.CertPool) (*tls.Config, error) {
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, fmt.Errorf("%w: server certificate and key are required", ErrNoCertificate)
	}
	if clientCAs == nil {
		return nil, fmt.Errorf("%w: the client CA pool is required", ErrNoCA)
	}
	return &tls.Config{
		MinVersion:   MinVersion,
		CipherSuites: cipherSuites,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    clientCAs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}

// Client returns the configuration of a dialer that trusts the servers
// whose certificate chains to roots and carries serverName (when empty, the
// host of the address dialled), and presents cert when the server asks for
// a certificate.
func Client(cert tls.Certificate, roots *x509.CertPool, serverName string) (*tls.Config, error) {
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, fmt.Errorf("%w: client certificate and key are required", ErrNoCertificate)
	}
	if roots == nil {
		return nil, fmt.Errorf("%w: the server CA pool is required", ErrNoCA)
	}
	return &tls.Config{
		MinVersion:   MinVersion,
		CipherSuites: cipherSuites,
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		ServerName:   serverName,
	}, nil
}

// ServerFiles is Server on PEM files: the certificate chain, its private
// key and the CAs of the clients. The certificate must be valid at now.
func ServerFiles(certFile, keyFile, caFile string, now time.Time) (*tls.Config, error) {
	cert, err := LoadKeyPair(certFile, keyFile, now)
	if err != nil {
		return nil, err
	}
	pool, err := LoadPool(caFile)
	if err != nil {
		return nil, err
	}
	return Server(cert, pool)
}

// ClientFiles is Client on PEM files: the CAs of the server, the client's
// certificate chain and its private key. The certificate must be valid at
// now.
func ClientFiles(caFile, certFile, keyFile, serverName string, now time.Time) (*tls.Config, error) {
	pool, err := LoadPool(caFile)
	if err != nil {
		return nil, err
	}
	cert, err := LoadKeyPair(certFile, keyFile, now)
	if err != nil {
		return nil, err
	}
	return Client(cert, pool, serverName)
}

// Accept performs the server side of the handshake on an accepted
// connection, within timeout (DefaultHandshakeTimeout when 0); ctx ending
// (a server closing) abandons it. On failure the connection is closed and
// the error wraps ErrHandshake; it names the peer's address and the reason,
// nothing of the keys.
func Accept(ctx context.Context, nc net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tc := tls.Server(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("%w: from %s: %w", ErrHandshake, nc.RemoteAddr(), err)
	}
	return tc, nil
}

// Describe is a one-line summary of an established connection's state for
// logs: version, cipher suite and the peer certificate's subject.
func Describe(cs tls.ConnectionState) string {
	peer := "no peer certificate"
	if len(cs.PeerCertificates) > 0 {
		peer = "peer " + cs.PeerCertificates[0].Subject.String()
	}
	return fmt.Sprintf("%s %s, %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), peer)
}
