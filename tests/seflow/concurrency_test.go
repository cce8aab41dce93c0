package seflow_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/tsm"
)

// Several phones download at once through the same TSMs: each OTA session
// keeps to its own SE, and every one ends personalised.
func TestConcurrentDownloads(t *testing.T) {
	r := newRig(t)
	const n = 4
	devs := make([]*device, n)
	orders := make([]order, n)
	for i := range devs {
		devs[i], orders[i] = issuerOwned(t, r, fmt.Sprintf("phone-%d", i), byte(40+i))
		require.NoError(t, r.submit(orders[i]))
	}
	var wg sync.WaitGroup
	outcomes := make([]string, n)
	errs := make([]error, n)
	for i := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.agent(devs[i]).Run(ctx, orders[i].OrderID, orders[i].otp)
			outcomes[i], errs[i] = res.Outcome, err
		}()
	}
	wg.Wait()
	for i := range devs {
		require.NoError(t, errs[i])
		require.Equal(t, tsm.ReasonPersonalised, outcomes[i])
		got, err := devs[i].ph.SyncSE()
		require.NoError(t, err)
		require.Equal(t, 1, got)
	}
	require.Empty(t, r.se.Dump())
}
