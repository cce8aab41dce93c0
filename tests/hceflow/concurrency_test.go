package hceflow_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
)

// R-S5b, R-S5d: phones of one card account pay and replenish at the same
// time; every key is issued once, to one phone, and serves once.
func TestHCEConcurrentPhones(t *testing.T) {
	w := newWorld(t)
	const phones, rounds = 4, 3
	cards := make([]*hceapp.Card, phones)
	apps := make([]*hceapp.App, phones)
	for i := range phones {
		apps[i] = w.phone("alice-phone-"+string(rune('a'+i)), byte(10+i))
		cards[i] = w.enrol(apps[i], aliceRef, alicePAN, alicePhoneNo)
	}
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, phones*10)
		for i := range phones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for cards[i].KeysLeft() > 0 {
					tap, err := cards[i].Pay(terminal(100, byte(i)), hceapp.Verification{CDCVM: true})
					if err != nil {
						errs <- err
						return
					}
					if _, err := w.verifier.Verify(issuerTap(aliceRef, tap)); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		w.clock.Advance(10 * time.Minute)
		for i := range phones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				asked, err := apps[i].ReplenishIfLow(ctx, aliceRef, 0)
				if err != nil || !asked {
					t.Errorf("phone %d: replenish %v %v", i, asked, err)
				}
			}()
		}
		wg.Wait()
	}
	seen := map[string]string{}
	for _, k := range w.ledger.Keys(aliceRef) {
		require.Empty(t, seen[k.KeyIndex.String()], "key %v issued twice", k.KeyIndex)
		seen[k.KeyIndex.String()] = k.DeviceID
	}
	require.Len(t, seen, phones*5*(rounds+1))
}
