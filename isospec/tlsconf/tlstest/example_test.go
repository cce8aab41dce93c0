package tlstest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

func ExampleLogBuffer() {
	var logs tlstest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Warn("terminal connection refused", "peer", "127.0.0.1")
	log.Info("terminal connected")
	log.Warn("terminal connection refused", "peer", "127.0.0.1")
	fmt.Println(logs.Count("connection refused"))
	fmt.Println(strings.Split(logs.String(), "\n")[0])
	// Output:
	// 2
	// level=WARN msg="terminal connection refused" peer=127.0.0.1
}

// The shape of a test of a mutually authenticated link: a plain host behind
// a TLS front of the network, a client of the network that is served, and
// a client of the rogue CA that is refused.
func ExampleNewPKI() {
	var t *testing.T     // the test's own
	var plainHost string // the address of the host under test
	p := tlstest.NewPKI(t, "acquirer", "terminal")
	addr, handshakes := tlstest.Front(t, p.Server("acquirer"), plainHost)

	good, err := tlstest.Dial(t, addr, p.Client("terminal", "localhost"))
	require.NoError(t, err)
	_ = good // exchange messages; then handshakes() == 1

	rogue, err := tlstest.Dial(t, addr, p.RogueClient("terminal", ""))
	if err == nil {
		_ = rogue // TLS 1.3: the refusal shows on the first exchange
	}
	_ = handshakes
}
