package tlstest

import (
	"crypto/tls"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

// SendTimeout is how long a connection made by Dial waits for each answer.
const SendTimeout = 3 * time.Second

// Dial opens an ISO 8583 connection (tapsim's spec and framing) to addr
// over TLS with cfg, or over plain TCP when cfg is nil, and closes it at
// the end of the test. The error is the connect's: with TLS 1.3 a connect
// may succeed even when the server then refuses the client's certificate,
// and the refusal shows on the first exchange.
func Dial(t testing.TB, addr string, cfg *tls.Config) (*connection.Connection, error) {
	t.Helper()
	c, err := connection.New(addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}),
		connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
		connection.SendTimeout(SendTimeout),
		func(o *connection.Options) error { o.TLSConfig = cfg; return nil },
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, c.Connect()
}
