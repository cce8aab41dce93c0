package tlsconf

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Connect performs the client side of the handshake on a dialled
// connection, within timeout (DefaultHandshakeTimeout when 0); ctx ending
// abandons it. When cfg names no server, the host of the connection's
// remote address is verified. cfg is not modified. On failure the
// connection is closed and the error wraps ErrHandshake; it names the
// peer's address and the reason, nothing of the keys.
func Connect(ctx context.Context, nc net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("%w: to %s: %w", ErrHandshake, nc.RemoteAddr(), err)
	}
	return tc, nil
}
