package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// maxBatch is the most writes one commit carries.
const maxBatch = 64

// maxCachedStmts bounds the writer's prepared statements.
const maxCachedStmts = 64

// laterWait is how long a batch of writes no caller waits for (journal
// lines completed with their answers) waits for one that a caller does
// wait for, to share its commit rather than make one of its own.
const laterWait = 2 * time.Millisecond

// querier runs statements on the writer's connection.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// writeJob is one write waiting for the writer.
type writeJob struct {
	ctx context.Context
	// fn runs the write's statements. It may run more than once (see
	// commit), each time in a fresh transaction, so it sets what it
	// returns to its caller rather than adding to it.
	fn    func(querier) error
	err   error
	done  chan error  // a caller waiting, or nil
	after func(error) // called once committed, or nil
}

// writer is the store's only writer. It runs the writes of concurrent
// callers one after the other in one transaction and commits them
// together (group commit): a journal line recorded before forwarding and
// another one completed after its answer share one write of the WAL and
// one fsync, and the writes that come while a batch's writes first run
// join it, up to maxBatch writes to a commit. A write that fails is undone
// alone: the batch is rolled back and run again with each write under a
// savepoint of its own, the failed one rolled back to its savepoint. No
// caller returns before the commit that holds its write reached the disk,
// and a failed commit fails the whole batch. A batch of writes that no
// caller waits for (CompleteLater's) waits up to laterWait for one that a
// caller does wait for (a line recorded before forwarding), so that an
// authorisation's outcome usually shares the next one's commit instead of
// costing an fsync of its own. Its statements are prepared once on its own
// long-lived connection.
type writer struct {
	conn    *sql.Conn
	jobs    chan *writeJob
	stopped chan struct{}
	// laterWait is how long a batch of writes no caller waits for waits
	// for one a caller waits for: the const laterWait, or what a test sets
	// before the writer runs.
	laterWait time.Duration

	mu     sync.Mutex // guards closed against a send after stop
	closed bool

	smu   sync.Mutex
	stmts map[string]*sql.Stmt
}

func startWriter(db *sql.DB) (*writer, error) {
	conn, err := db.Conn(context.Background())
	if err != nil {
		return nil, fmt.Errorf("store: writer connection: %w", err)
	}
	w := newWriter(conn)
	go w.loop()
	return w, nil
}

// newWriter returns a writer on conn that is not running yet.
func newWriter(conn *sql.Conn) *writer {
	return &writer{conn: conn, jobs: make(chan *writeJob, maxBatch*4), stopped: make(chan struct{}),
		laterWait: laterWait, stmts: map[string]*sql.Stmt{}}
}

// do runs fn in the writer's next transaction and returns once that is
// committed (fn's error, or the commit's).
func (w *writer) do(ctx context.Context, fn func(querier) error) error {
	j := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.jobs <- j
	w.mu.Unlock()
	return <-j.done
}

// later queues fn for the writer's next transaction without waiting;
// after, when set, gets its outcome once committed. It reports ErrClosed
// at once when the writer is stopped.
func (w *writer) later(ctx context.Context, fn func(querier) error, after func(error)) {
	j := &writeJob{ctx: uncancelled(ctx), fn: fn, after: after}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		if after != nil {
			after(ErrClosed)
		}
		return
	}
	w.jobs <- j
	w.mu.Unlock()
}

// stop ends the writer after the writes already queued.
func (w *writer) stop() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	close(w.jobs)
	w.mu.Unlock()
	<-w.stopped
}

func (w *writer) loop() {
	defer close(w.stopped)
	defer w.release()
	batch := make([]*writeJob, 0, maxBatch)
	for j := range w.jobs {
		batch = w.commit(w.awaitWaited(w.more(append(batch[:0], j))))
		for i, j := range batch {
			if j.done != nil {
				j.done <- j.err
			}
			if j.after != nil {
				j.after(j.err)
			}
			batch[i] = nil
		}
	}
}

// awaitWaited returns batch when a caller waits for one of its writes.
// Otherwise it adds the writes that come within laterWait, and returns as
// soon as one of them has a caller waiting (with the writes queued behind
// it), the batch is full, or the writer is stopping.
func (w *writer) awaitWaited(batch []*writeJob) []*writeJob {
	if waited(batch) {
		return batch
	}
	t := time.NewTimer(w.laterWait)
	defer t.Stop()
	for len(batch) < maxBatch && !waited(batch) {
		select {
		case j, ok := <-w.jobs:
			if !ok {
				return batch
			}
			batch = w.more(append(batch, j))
		case <-t.C:
			return batch
		}
	}
	return batch
}

// waited tells whether a caller waits for one of the writes of batch.
func waited(batch []*writeJob) bool {
	for _, j := range batch {
		if j.done != nil {
			return true
		}
	}
	return false
}

// more adds to batch the writes already queued, up to maxBatch.
func (w *writer) more(batch []*writeJob) []*writeJob {
	for len(batch) < maxBatch {
		select {
		case j, ok := <-w.jobs:
			if !ok {
				return batch
			}
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

func (w *writer) release() {
	w.smu.Lock()
	defer w.smu.Unlock()
	for q, st := range w.stmts {
		_ = st.Close()
		delete(w.stmts, q)
	}
	_ = w.conn.Close()
}

// commit runs and commits a batch. The writes queued while its writes run
// join it, up to maxBatch, to share its commit rather than wait for it and
// then for one of their own (not while it runs again with savepoints); it
// returns the batch with them. Writes seldom fail, so the batch runs first
// without savepoints, two statements fewer per write; should one fail,
// that transaction is rolled back and the batch runs again with savepoints
// (commitEach).
func (w *writer) commit(batch []*writeJob) []*writeJob {
	ctx := context.Background()
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		w.fail(batch, "begin", err)
		return batch
	}
	// After each write, the writes queued meanwhile join the batch.
	for i := 0; i < len(batch); i, batch = i+1, w.more(batch) {
		j := batch[i]
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if err := j.fn(w); err != nil {
			_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
			for _, j := range batch {
				j.err = nil
			}
			w.commitEach(batch)
			return batch
		}
	}
	if _, err := w.ExecContext(ctx, "COMMIT"); err != nil {
		w.fail(batch, "commit", err)
	}
	return batch
}

// fail rolls the writer's transaction back and gives err to every job of
// the batch that has no error of its own yet.
func (w *writer) fail(jobs []*writeJob, what string, err error) {
	_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
	for _, j := range jobs {
		if j.err == nil {
			j.err = fmt.Errorf("%s: %w", what, err)
		}
	}
}

// commitEach runs and commits a batch with each write under a savepoint,
// so that a write that fails is rolled back alone.
func (w *writer) commitEach(batch []*writeJob) {
	ctx := context.Background()
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		w.fail(batch, "begin", err)
		return
	}
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if _, err := w.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			w.fail(batch, "savepoint", err)
			return
		}
		if err := j.fn(w); err != nil {
			j.err = err
			if _, rerr := w.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
				w.fail(batch, "transaction rolled back", rerr)
				return
			}
		}
		if _, err := w.ExecContext(ctx, "RELEASE w"); err != nil {
			w.fail(batch, "transaction rolled back", err)
			return
		}
	}
	if _, err := w.ExecContext(ctx, "COMMIT"); err != nil {
		w.fail(batch, "commit", err)
	}
}

func (w *writer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	w.smu.Lock()
	defer w.smu.Unlock()
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	if len(w.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = st
	return st, nil
}

// A started statement runs to its end: a caller's context ending must not
// interrupt SQLite, which would roll back the whole batch.

// uncancelled is ctx without its cancellation; a context that cannot be
// cancelled is kept as it is.
func uncancelled(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (w *writer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = uncancelled(ctx)
	st, err := w.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return w.conn.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (w *writer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = uncancelled(ctx)
	st, err := w.stmt(ctx, q)
	if err != nil || st == nil {
		return w.conn.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
