package wire

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the envelopes a receiver accepted, so that none is
// accepted twice (R-G4). Implementations are safe for concurrent use.
type ReplayCache interface {
	// Use records id as accepted until until. It returns an error
	// wrapping ErrReplay when id is already recorded and not past its
	// time at now, or ErrCapacity when it cannot record it.
	Use(id string, until, now time.Time) error
}

// DefaultReplayCapacity is the capacity of NewMemoryReplayCache(0).
const DefaultReplayCapacity = 100_000

// MemoryReplayCache is a ReplayCache in memory: at most a fixed number of
// live entries, each forgotten once past its time. When it is full of
// live entries it refuses new ones (ErrCapacity) rather than forget one
// early, which would let that envelope be replayed.
type MemoryReplayCache struct {
	mu       sync.Mutex
	capacity int
	until    map[string]time.Time
	order    expiryHeap
}

// NewMemoryReplayCache is an empty cache of the given capacity
// (DefaultReplayCapacity when capacity <= 0).
func NewMemoryReplayCache(capacity int) *MemoryReplayCache {
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	return &MemoryReplayCache{capacity: capacity, until: make(map[string]time.Time)}
}

// Use implements ReplayCache.
func (c *MemoryReplayCache) Use(id string, until, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, ok := c.until[id]; ok {
		return fmt.Errorf("%w: this envelope was already accepted", ErrReplay)
	}
	if !until.After(now) {
		return nil // already past its time: Open refuses it anyway
	}
	if len(c.until) >= c.capacity {
		return fmt.Errorf("%w: %d live entries", ErrCapacity, len(c.until))
	}
	c.until[id] = until
	heap.Push(&c.order, entry{id: id, until: until})
	return nil
}

// Len is the number of live entries recorded.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}

// expire forgets the entries past their time at now.
func (c *MemoryReplayCache) expire(now time.Time) {
	for len(c.order) > 0 && !c.order[0].until.After(now) {
		e := heap.Pop(&c.order).(entry)
		delete(c.until, e.id)
	}
}

type entry struct {
	id    string
	until time.Time
}

// expiryHeap orders entries by time, soonest first.
type expiryHeap []entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
