package acquirer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tapsim/tapsim/isospec"
)

// Numbers hands out the systems trace audit numbers (DE11) and retrieval
// reference numbers (DE37) the acquirer stamps on the messages it sends to
// issuers. Implementations are safe for concurrent use.
type Numbers interface {
	// Next returns a fresh STAN (6 digits) and RRN (12 characters) for a
	// message sent at now.
	Next(ctx context.Context, now time.Time) (stan, rrn string, err error)
}

// Reserver takes blocks of a durable counter (store.Store does).
type Reserver interface {
	Reserve(ctx context.Context, name string, n int64) (int64, error)
}

// DurableNumbers draws STANs from a counter kept in the store, a block at
// a time, so that a restarted acquirer never reuses a STAN of the blocks it
// took before: a crash only skips the rest of the current block.
//
// The STAN runs 000001 to 999999 and wraps. The RRN is YDDDhh followed by
// the STAN (isospec.NewRRN, in UTC).
type DurableNumbers struct {
	// Store keeps the counter.
	Store Reserver
	// Block is how many STANs are reserved at once (1,000 when 0). The
	// sale that finds the block spent waits for the next one's commit,
	// and the sales behind it with it: at 1,000 sales a second that is
	// once a second.
	Block int64

	mu        sync.Mutex
	next, end int64
}

const stanCounter = "issuer-stan"

// Next implements Numbers.
func (n *DurableNumbers) Next(ctx context.Context, now time.Time) (string, string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.next == 0 || n.next >= n.end {
		size := n.Block
		if size <= 0 {
			size = 1000
		}
		first, err := n.Store.Reserve(ctx, stanCounter, size)
		if err != nil {
			return "", "", fmt.Errorf("acquirer: trace number: %w", err)
		}
		n.next, n.end = first, first+size
	}
	v := n.next
	n.next++
	stan := isospec.FormatSTAN(uint32((v-1)%999_999 + 1))
	rrn, err := isospec.NewRRN(now.UTC(), stan)
	if err != nil {
		return "", "", fmt.Errorf("acquirer: trace number: %w", err)
	}
	return stan, rrn, nil
}
