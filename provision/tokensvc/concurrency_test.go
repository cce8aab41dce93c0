package tokensvc_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
)

// R-M5, docs/provisioning.md pitfall 2: a wallet provider retrying the
// same task from several connections at once still gets one token.
func TestSameTaskIDConcurrently(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0102", 40)
	req := r.tokenizeRequest(ph, greenPAN, "task-busy")
	const n = 6
	envs := make([]string, n)
	for i := range envs {
		envs[i] = r.seal(req, r.wallet, wire.TypeTokenizeRequest)
	}
	turs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ans, err := r.client.PostEnvelope(context.Background(), r.url("/tokenize"), envs[i])
			if err != nil {
				errs[i] = err
				return
			}
			var resp wire.TokenizeResponse
			_, errs[i] = wire.OpenInto(ans, r.wallet, r.trust, wire.Expect{Type: wire.TypeTokenizeResponse, Replay: wire.NewMemoryReplayCache(0), Clock: r.clock.Now}, &resp)
			turs[i] = resp.TokenUniqueReference
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, turs[0], turs[i])
	}
	require.Equal(t, 1, r.vault.Len())
}
