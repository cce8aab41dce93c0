package hce_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hce"
	"github.com/tapsim/tapsim/emv/keys"
)

// A batch loaded by the cloud platform while the phone pays and its panel
// counts the keys: every credential is taken once, none is lost (run with
// -race).
func TestStoreConcurrentUse(t *testing.T) {
	s := hce.NewStore(2)
	key := keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF")
	const batches, per = 10, 20
	var (
		wg     sync.WaitGroup
		addErr error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for b := 0; b < batches && addErr == nil; b++ {
			creds := make([]hce.Credential, per)
			for i := range creds {
				creds[i] = hce.Credential{ATC: uint16(b*per + i + 1), Key: key}
			}
			addErr = s.Add(creds...)
		}
	}()
	taken := make(chan uint16, batches*per)
	go func() {
		defer wg.Done()
		for len(taken) < batches*per {
			if c, err := s.Take(); err == nil {
				taken <- c.ATC
			}
		}
	}()
	go func() {
		defer wg.Done()
		for len(taken) < batches*per {
			_ = s.Len()
			_ = s.NeedsReplenish()
			_, _ = s.NextATC()
			_ = s.String()
		}
	}()
	wg.Wait()
	require.NoError(t, addErr)
	close(taken)
	seen := map[uint16]bool{}
	for atc := range taken {
		require.False(t, seen[atc], "ATC %04X taken twice", atc)
		seen[atc] = true
		require.True(t, s.Used(atc))
	}
	require.Len(t, seen, batches*per)
	require.Zero(t, s.Len())
}
