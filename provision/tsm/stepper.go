package tsm

import (
	"errors"
	"sync"
	"time"
)

// SweepInterval is how often a TSM ends its silent sessions and erases
// its stale orders without waiting for a request (by its own clock's
// TTLs), so that no session's goroutine outlives its agent for long.
const SweepInterval = 30 * time.Second

// sweepEvery runs sweep every d (SweepInterval when 0) until stop closes.
func sweepEvery(stop <-chan struct{}, d time.Duration, sweep func()) {
	if d <= 0 {
		d = SweepInterval
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			sweep()
		}
	}
}

// startSweeper runs sweep under mu every d until stop closes, the
// goroutine counted in wg.
func startSweeper(wg *sync.WaitGroup, stop <-chan struct{}, d time.Duration, mu *sync.Mutex, sweep func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		sweepEvery(stop, d, func() {
			mu.Lock()
			sweep()
			mu.Unlock()
		})
	}()
}

// stopAll closes stop, once, under mu, and waits for the goroutines in wg.
func stopAll(mu *sync.Mutex, stop chan struct{}, wg *sync.WaitGroup) {
	mu.Lock()
	select {
	case <-stop:
	default:
		close(stop)
	}
	mu.Unlock()
	wg.Wait()
}

var errStopped = errors.New("tsm: stopped")

// stepper turns a GlobalPlatform session, which sends a command and waits
// for its response, into numbered steps a remote party answers one
// request at a time: the runner goroutine calls transport, each request
// hands the response to the step it answers and gets the next command.
type stepper struct {
	cmd   chan []byte
	resp  chan []byte
	end   chan string
	abort chan struct{}
	stop  <-chan struct{}

	mu       sync.Mutex
	step     int
	answered int
	over     bool
	once     sync.Once
}

func newStepper(stop <-chan struct{}) *stepper {
	return &stepper{cmd: make(chan []byte), resp: make(chan []byte), end: make(chan string, 1), abort: make(chan struct{}), stop: stop}
}

// cancel ends the session: the runner's transport fails, waiting requests
// are answered closed.
func (x *stepper) cancel() { x.once.Do(func() { close(x.abort) }) }

// transport is the runner's gp.Transport.
func (x *stepper) transport(c []byte) ([]byte, error) {
	select {
	case x.cmd <- c:
	case <-x.stop:
		return nil, errStopped
	case <-x.abort:
		return nil, errStopped
	}
	select {
	case r := <-x.resp:
		return r, nil
	case <-x.stop:
		return nil, errStopped
	case <-x.abort:
		return nil, errStopped
	}
}

// next waits for the runner's next command (numbered) or its outcome;
// x.mu held.
func (x *stepper) next() (cmd []byte, step int, outcome string, err error) {
	select {
	case c := <-x.cmd:
		x.step++
		return c, x.step, "", nil
	case <-x.abort:
		return nil, x.step, "", errOTAClosed
	case <-x.stop:
		return nil, x.step, "", errOTAClosed
	case out := <-x.end:
		x.over = true
		return nil, x.step, out, nil
	}
}

// answer hands r to step n (the current one, answered once) and waits for
// what follows.
func (x *stepper) answer(n int, r []byte) (cmd []byte, step int, outcome string, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.over {
		return nil, x.step, "", errOTAClosed
	}
	if n != x.step || x.answered == x.step {
		return nil, x.step, "", errOTAReplay
	}
	x.answered = x.step
	select {
	case x.resp <- r:
	case <-x.stop:
		return nil, x.step, "", errOTAClosed
	case <-x.abort:
		return nil, x.step, "", errOTAClosed
	}
	return x.next()
}

// first waits for the first command.
func (x *stepper) first() (cmd []byte, step int, outcome string, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.next()
}
