// Package framewrite writes length-prefixed ISO 8583 frames to one
// connection from many goroutines, coalescing the frames that are handed
// in while a write is under way into the next write: under load, the
// frames of many requests or replies leave in one system call (and one
// TCP segment, or one TLS record) instead of one each, and nobody waits
// longer than for the write in progress and then its own.
//
// Each caller learns what became of its own frame: how many of its bytes
// were written, and the error that cut it short. Frames leave in the order
// their Write calls took the lock, never interleaved. Once a write fails
// or falls short, nothing more is written: the stream may end inside a
// frame, and anything after it would be read as that frame's rest, so
// every later Write fails at once with the first failure.
//
// One write carries a whole batch within the connection's write deadline
// (the write function sets it); a caller waits at most for the write under
// way and then for its own batch's.
package framewrite

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxFrame is the largest frame the 2-byte length header can carry.
const MaxFrame = 0xFFFF

// ErrFrameTooLong reports a frame that the 2-byte header cannot carry.
var ErrFrameTooLong = errors.New("framewrite: frame longer than 65535 bytes")

// keepBuf is the largest buffer kept for the next batch; a larger one (a
// burst of frames) is left to the garbage collector.
const keepBuf = 64 << 10

// Writer writes frames to one connection. It is safe for concurrent use.
type Writer struct {
	// write writes one batch; it is called by one goroutine at a time.
	write func([]byte) (int, error)

	mu    sync.Mutex
	busy  bool   // a batch is being written, or its writer chosen
	buf   []byte // the frames of next, headers included
	next  *batch // the batch collecting frames, nil when none
	spare []byte // a written batch's buffer, cleared, for the next one
	// failed is the first write's failure: nothing is written after it.
	failed error
}

// ErrFailed reports a frame not written because an earlier write on the
// connection failed.
var ErrFailed = errors.New("framewrite: an earlier write failed")

// batch is the frames that leave in one write.
type batch struct {
	done chan struct{} // closed once written: n and err are set
	lead chan struct{} // one member receives: it writes the batch
	n    int
	err  error
}

// New returns a Writer whose batches are written by write (a connection's
// Write, with its deadline set). write is never called concurrently.
func New(write func([]byte) (int, error)) *Writer {
	return &Writer{write: write}
}

// Write writes frame behind its 2-byte length header, alone or with the
// frames of concurrent calls, and returns once the write that carried it
// has ended: n is how many bytes of the frame (header excluded) were
// written, err why not all of them. A frame of which at most its header
// left has n == 0: the peer cannot act on it, and nothing follows it on
// the stream. A frame longer than MaxFrame is refused with nothing
// written.
func (w *Writer) Write(frame []byte) (n int, err error) {
	if len(frame) > MaxFrame {
		return 0, fmt.Errorf("%w: %d bytes", ErrFrameTooLong, len(frame))
	}
	w.mu.Lock()
	if w.failed != nil {
		err := w.failed
		w.mu.Unlock()
		return 0, fmt.Errorf("%w: %w", ErrFailed, err)
	}
	b := w.next
	if b == nil {
		b = &batch{done: make(chan struct{}), lead: make(chan struct{}, 1)}
		w.next = b
		w.buf, w.spare = w.spare[:0], nil
	}
	off := len(w.buf) + 2
	w.buf = append(w.buf, byte(len(frame)>>8), byte(len(frame)))
	w.buf = append(w.buf, frame...)
	if w.busy {
		w.mu.Unlock()
		select {
		case <-b.done:
			return b.result(off, len(frame))
		case <-b.lead:
			w.mu.Lock()
		}
	}
	// This caller writes b: every frame handed in so far goes.
	w.busy = true
	data := w.buf
	w.buf, w.next = nil, nil
	if w.failed != nil {
		// The write before failed while this batch waited.
		b.err = fmt.Errorf("%w: %w", ErrFailed, w.failed)
		w.mu.Unlock()
		w.finish(b, data)
		return b.result(off, len(frame))
	}
	w.mu.Unlock()

	b.err = errPanicked
	defer w.finish(b, data) // even if write panics: no caller waits forever
	b.n, b.err = w.write(data)
	if b.n < len(data) && b.err == nil {
		b.err = io.ErrShortWrite
	}
	return b.result(off, len(frame))
}

// errPanicked is a batch's error while its write runs: it stays if the
// write panics.
var errPanicked = errors.New("framewrite: write panicked")

// finish ends batch b, whose frames were data: its callers learn the
// outcome, and the next batch's writer is chosen.
func (w *Writer) finish(b *batch, data []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b.n < len(data) && w.failed == nil {
		w.failed = b.err
	}
	close(b.done)
	if cap(data) <= keepBuf {
		clear(data) // the frames held cardholder data
		w.spare = data[:0]
	}
	if w.next != nil {
		// Frames came in during the write: one of their callers writes
		// them next (or fails them, after a failure).
		w.next.lead <- struct{}{}
	} else {
		w.busy = false
	}
}

// result is what the batch's write did to the frame at off of size bytes.
func (b *batch) result(off, size int) (int, error) {
	n := b.n - off
	switch {
	case n >= size:
		return size, nil
	case n < 0:
		n = 0
	}
	if b.err == nil {
		return n, io.ErrShortWrite
	}
	return n, b.err
}
