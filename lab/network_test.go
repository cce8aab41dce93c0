package lab

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// testIssuerTimeout is the acquirer's wait for the issuer in the tests
// that do not take the issuer down: long enough that a busy machine never
// turns an answer into a 91.
const testIssuerTimeout = 10 * time.Second

// startNetwork starts the embedded world on a temporary directory, closed
// when the test ends.
func startNetwork(t *testing.T) *Network {
	t.Helper()
	n, err := Start(context.Background(), Options{Dir: t.TempDir(), IssuerTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return n
}

// waitAdvices waits until the acquirer has no reversal advice left to
// send: the issuer link is up again.
func waitAdvices(t *testing.T, n *Network) {
	t.Helper()
	require.Eventually(t, func() bool {
		left, err := n.Acquirer().PendingAdvices(context.Background())
		return err == nil && left == 0
	}, 15*time.Second, 20*time.Millisecond, "reversal advices still waiting")
}

// The world's own API: Start seeds the data directory; a sale is approved through both hosts; an issuer
// that hangs or is stopped gets the terminal a 91 and a reversal advice,
// and once released or restarted on the same data the next sale is
// approved again; Close stops every host and leaves no goroutine behind.
func TestNetwork(t *testing.T) {
	before := goroutines()
	ctx := context.Background()
	dir := t.TempDir()
	require.False(t, HasData(dir))
	n, err := Start(ctx, Options{Dir: dir, IssuerTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	require.True(t, HasData(dir))
	require.NotEmpty(t, n.IssuerAddr())
	require.NotEmpty(t, n.AcquirerAddr())
	require.NotNil(t, n.Issuer())
	require.NotNil(t, n.Acquirer())

	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	require.Equal(t, SampleTID, term.Config().TerminalID)
	card, err := Card("visa-plastic", time.Now())
	require.NoError(t, err)
	reader := inproc.New(card)

	tests := []struct {
		name   string
		before func(t *testing.T)
		want   isospec.ResponseCode
		after  func(t *testing.T)
	}{
		{name: "approved", want: isospec.RCApproved},
		{
			name:   "issuer hangs",
			before: func(t *testing.T) { require.NoError(t, n.HoldIssuer()) },
			want:   isospec.RCIssuerInoperative,
			after: func(t *testing.T) {
				require.NoError(t, n.ReleaseIssuer())
				waitAdvices(t, n)
			},
		},
		{name: "approved after the hang", want: isospec.RCApproved},
		{
			name: "issuer stopped",
			before: func(t *testing.T) {
				require.NoError(t, n.StopIssuer())
				require.NoError(t, n.StopIssuer(), "stopping twice does nothing")
				require.Nil(t, n.Issuer())
				require.Empty(t, n.IssuerAddr())
			},
			want: isospec.RCIssuerInoperative,
			after: func(t *testing.T) {
				require.NoError(t, n.RestartIssuer(ctx))
				require.Error(t, n.RestartIssuer(ctx), "already running")
				waitAdvices(t, n)
			},
		},
		{name: "approved after the restart", want: isospec.RCApproved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			reader.Present(card)
			res, err := term.Sale(ctx, 150000, reader)
			require.NoError(t, err)
			require.Equal(t, tc.want, res.ResponseCode, res.String())
			if tc.after != nil {
				tc.after(t)
			}
		})
	}

	require.NoError(t, link.Close())
	require.NoError(t, n.Close())
	requireGoroutinesBack(t, before)
}

// requireGoroutinesBack waits up to 10 s for the program to have no more
// goroutines than before, and fails with their stacks if it has. It polls
// here rather than with require.Eventually, whose own goroutine would
// count; the count judged is the one sampled last, as a timer's callback
// may run on a goroutine of its own for an instant at any time.
func requireGoroutinesBack(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	left := goroutines()
	for left > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		left = goroutines()
	}
	require.LessOrEqual(t, left, before, "goroutines left after Close:\n%s", stacks())
}

// With a direct issuer link the acquirer dials the issuer host itself: a
// stopped issuer gets the terminal a 91 at once (the link is down, nothing
// to reverse) instead of after the issuer timeout, the restarted issuer
// listens where it did and the link comes back to it; there is no proxy to
// hold.
func TestNetworkDirectIssuerLink(t *testing.T) {
	before := goroutines()
	ctx := context.Background()
	// An issuer timeout longer than the test's deadline: a 91 can only
	// come from the link being down.
	n, err := Start(ctx, Options{Dir: t.TempDir(), IssuerTimeout: 10 * time.Minute, DirectIssuerLink: true})
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = n.Close()
		}
	})
	require.ErrorIs(t, n.HoldIssuer(), ErrNoProxy)
	require.ErrorIs(t, n.ReleaseIssuer(), ErrNoProxy)
	addr := n.IssuerAddr()

	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	card, err := Card("visa-plastic", time.Now())
	require.NoError(t, err)
	reader := inproc.New(card)
	sale := func(t *testing.T, want isospec.ResponseCode) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		reader.Present(card)
		res, err := term.Sale(c, 150000, reader)
		require.NoError(t, err)
		require.Equal(t, want, res.ResponseCode, res.String())
	}
	sale(t, isospec.RCApproved)

	require.NoError(t, n.StopIssuer())
	// The acquirer sees its link drop (a sale sent before it does may have
	// reached the issuer, and is reversed).
	require.Eventually(t, func() bool { return !n.Acquirer().LinkUp(SampleIssuer) }, time.Minute, 5*time.Millisecond)
	sale(t, isospec.RCIssuerInoperative)
	left, err := n.Acquirer().PendingAdvices(ctx)
	require.NoError(t, err)
	require.Zero(t, left, "nothing went out, nothing to reverse")

	require.NoError(t, n.RestartIssuer(ctx))
	require.Equal(t, addr, n.IssuerAddr(), "the issuer listens where it did")
	up, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, n.Acquirer().WaitLinks(up))
	sale(t, isospec.RCApproved)

	require.NoError(t, link.Close())
	closed = true
	require.NoError(t, n.Close())
	requireGoroutinesBack(t, before)
}

// goroutines counts the goroutines of the program (the runtime's own
// left out, as in stacks).
func goroutines() int { return strings.Count(stacks(), "\ngoroutine ") + 1 }

// stacks is every goroutine's stack.
func stacks() string {
	b := make([]byte, 1<<20)
	return string(b[:runtime.Stack(b, true)])
}
