package framewrite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// frames splits a stream of length-prefixed frames.
func frames(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 2, "a header cut short")
		n := int(binary.BigEndian.Uint16(b))
		require.GreaterOrEqual(t, len(b)-2, n, "a frame cut short")
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

// gate is a write function that blocks each write until released, and
// records the batches it was given.
type gate struct {
	mu      sync.Mutex
	batches [][]byte
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gate) write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.batches = append(g.batches, bytes.Clone(p))
	g.mu.Unlock()
	return len(p), nil
}

// waiting reports how many frames wait for the next write.
func (w *Writer) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for b := w.buf; len(b) >= 2; n++ {
		b = b[2+int(binary.BigEndian.Uint16(b)):]
	}
	return n
}

func TestWriteAlone(t *testing.T) {
	var out bytes.Buffer
	w := New(out.Write)
	for _, f := range [][]byte{[]byte("0800"), {}, bytes.Repeat([]byte{0xAB}, MaxFrame)} {
		n, err := w.Write(f)
		require.NoError(t, err)
		require.Equal(t, len(f), n)
	}
	got := frames(t, out.Bytes())
	require.Len(t, got, 3)
	require.Equal(t, []byte("0800"), got[0])
	require.Empty(t, got[1])
	require.Len(t, got[2], MaxFrame)
}

func TestWriteRefusesTooLong(t *testing.T) {
	var out bytes.Buffer
	w := New(out.Write)
	n, err := w.Write(make([]byte, MaxFrame+1))
	require.ErrorIs(t, err, ErrFrameTooLong)
	require.Zero(t, n)
	require.Zero(t, out.Len(), "nothing written")
	// The writer goes on.
	_, err = w.Write([]byte("x"))
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 'x'}, out.Bytes())
}

// The frames handed in during a write leave together in the next one, in
// the order they came, and each caller returns once its own frame left.
func TestWriteCoalesces(t *testing.T) {
	g := newGate()
	w := New(g.write)
	first := make(chan error, 1)
	go func() { _, err := w.Write([]byte("first")); first <- err }()
	<-g.entered // the first write is under way and held

	const n = 5
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		for w.waiting() < i {
			runtime.Gosched()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.Write(fmt.Appendf(nil, "frame %d", i))
		}()
	}
	for w.waiting() < n {
		runtime.Gosched()
	}
	g.release <- struct{}{} // the first write ends
	require.NoError(t, <-first)
	<-g.entered // one of the five writes the rest
	g.release <- struct{}{}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, g.batches, 2, "the five frames in one write")
	require.Equal(t, [][]byte{[]byte("first")}, frames(t, g.batches[0]))
	var want [][]byte
	for i := range n {
		want = append(want, fmt.Appendf(nil, "frame %d", i))
	}
	require.Equal(t, want, frames(t, g.batches[1]))

	// Idle again: the next frame goes at once, alone.
	go func() { <-g.entered; g.release <- struct{}{} }()
	_, err := w.Write([]byte("last"))
	require.NoError(t, err)
	require.Len(t, g.batches, 3)
	require.Equal(t, [][]byte{[]byte("last")}, frames(t, g.batches[2]))
}

// A write that fails part way tells each caller of its batch what became
// of its own frame.
func TestWriteFailureTellsEachFrame(t *testing.T) {
	g := newGate()
	cut := errors.New("connection reset")
	var calls int
	w := New(func(p []byte) (int, error) {
		calls++
		if calls == 1 {
			return g.write(p)
		}
		// The second batch: its first frame (2+3 bytes) and 4 bytes of
		// the second (header and 2 bytes of it) reach the peer.
		return 9, cut
	})
	first := make(chan error, 1)
	go func() { _, err := w.Write([]byte("one")); first <- err }()
	<-g.entered

	type res struct {
		n   int
		err error
	}
	results := make([]res, 3)
	var wg sync.WaitGroup
	for i, f := range []string{"abc", "defgh", "ij"} {
		for w.waiting() < i {
			runtime.Gosched()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.Write([]byte(f))
			results[i] = res{n, err}
		}()
	}
	for w.waiting() < 3 {
		runtime.Gosched()
	}
	g.release <- struct{}{}
	require.NoError(t, <-first)
	wg.Wait()
	require.Equal(t, res{3, nil}, results[0])
	require.Equal(t, 2, results[1].n)
	require.ErrorIs(t, results[1].err, cut)
	require.Equal(t, 0, results[2].n)
	require.ErrorIs(t, results[2].err, cut)
}

func TestShortWriteWithoutError(t *testing.T) {
	w := New(func(p []byte) (int, error) { return len(p) - 1, nil })
	n, err := w.Write([]byte("0800"))
	require.ErrorIs(t, err, io.ErrShortWrite)
	require.Equal(t, 3, n)
}

// Many writers at once: every frame arrives whole, once, and each
// writer's frames in the order it wrote them.
func TestWriteConcurrent(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := New(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				f := fmt.Appendf(nil, "%02d:%04d:", g, i)
				f = append(f, bytes.Repeat([]byte{byte(g)}, (g*i)%300)...)
				n, err := w.Write(f)
				if err != nil || n != len(f) {
					t.Errorf("writer %d frame %d: %d %v", g, i, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := make([]int, writers)
	got := frames(t, out.Bytes())
	require.Len(t, got, writers*each)
	for _, f := range got {
		var g, i int
		_, err := fmt.Sscanf(string(f[:8]), "%02d:%04d:", &g, &i)
		require.NoError(t, err)
		require.Equal(t, next[g], i, "writer %d out of order", g)
		require.Len(t, f, 8+(g*i)%300)
		next[g]++
	}
}

// After a write fails, nothing more reaches the connection: the batch that
// waited behind it and every later frame fail at once.
func TestNothingAfterAFailure(t *testing.T) {
	g := newGate()
	reset := errors.New("connection reset")
	var writes [][]byte
	w := New(func(p []byte) (int, error) {
		writes = append(writes, bytes.Clone(p))
		if len(writes) == 1 {
			if _, err := g.write(p); err != nil {
				return 0, err
			}
			return 3, reset // the header and one byte of "first"
		}
		return len(p), nil
	})
	first := make(chan error, 1)
	go func() { _, err := w.Write([]byte("first")); first <- err }()
	<-g.entered
	waiting := make(chan error, 1)
	go func() {
		n, err := w.Write([]byte("second"))
		if n != 0 {
			err = fmt.Errorf("%d bytes of the second frame written", n)
		}
		waiting <- err
	}()
	for w.waiting() < 1 {
		runtime.Gosched()
	}
	g.release <- struct{}{}
	require.ErrorIs(t, <-first, reset)
	err := <-waiting
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorIs(t, err, reset)

	n, err := w.Write([]byte("third"))
	require.Zero(t, n)
	require.ErrorIs(t, err, ErrFailed)
	require.Len(t, writes, 1, "nothing written after the failure")
}

// A cut in a frame's header, or right after it, leaves none of the frame:
// n is 0.
func TestCutAtTheHeader(t *testing.T) {
	cut := errors.New("cut")
	for _, at := range []int{0, 1, 2} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			w := New(func(p []byte) (int, error) { return at, cut })
			n, err := w.Write([]byte("0800"))
			require.Zero(t, n)
			require.ErrorIs(t, err, cut)
		})
	}
}

// A write function that panics fails its batch and what follows instead
// of leaving callers waiting.
func TestPanickingWrite(t *testing.T) {
	g := newGate()
	w := New(func(p []byte) (int, error) {
		if _, err := g.write(p); err != nil {
			return 0, err
		}
		panic("broken connection type")
	})
	first := make(chan any, 1)
	go func() {
		defer func() { first <- recover() }()
		_, _ = w.Write([]byte("first"))
	}()
	<-g.entered
	second := make(chan error, 1)
	go func() { _, err := w.Write([]byte("second")); second <- err }()
	for w.waiting() < 1 {
		runtime.Gosched()
	}
	g.release <- struct{}{}
	require.Equal(t, "broken connection type", <-first)
	require.ErrorIs(t, <-second, ErrFailed)
	_, err := w.Write([]byte("third"))
	require.ErrorIs(t, err, ErrFailed)
}

// The buffer kept for the next batch holds nothing of the frames written.
func TestKeptBufferCleared(t *testing.T) {
	var out bytes.Buffer
	w := New(out.Write)
	_, err := w.Write([]byte("4761739001010010=2512"))
	require.NoError(t, err)
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotZero(t, cap(w.spare))
	require.Equal(t, make([]byte, cap(w.spare)), w.spare[:cap(w.spare)])
}
