package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// maxBatch is the most read-write transactions one SQLite commit carries.
const maxBatch = 64

// maxCachedStmts bounds the writer's prepared statements; a query beyond
// them runs unprepared.
const maxCachedStmts = 512

// querier runs statements: a *sql.Tx, or the SQLite writer's connection.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// writeJob is one DB.Update waiting for the SQLite writer.
type writeJob struct {
	ctx context.Context
	fn  func(*Tx) error
	c   Cipher
	// count counts the statements fn runs (nil: not counted).
	count *atomic.Int64
	err   error
	// panicked is what fn panicked with, given back to the caller of
	// Update, who panics with it: the writer goes on.
	panicked *PanicError
	done     chan error
}

// errPanicked is the error of a job whose function panicked.
var errPanicked = errors.New("store: transaction function panicked")

// PanicError is what DB.Update panics with when its function panicked in
// the SQLite writer, which rolled the function's writes back and went on:
// the function's panic value and the stack where it panicked.
type PanicError struct {
	Value any
	Stack []byte
}

// Error gives the panic value and the stack.
func (p *PanicError) Error() string {
	return fmt.Sprintf("store: transaction function panicked: %v\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value when it is an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// call runs the job's function, turning a panic into errPanicked.
func (j *writeJob) call(tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			j.panicked, err = &PanicError{Value: r, Stack: debug.Stack()}, errPanicked
		}
	}()
	return j.fn(tx)
}

// groupWriter is the SQLite store's only writer: it runs the functions of
// concurrent Update calls one after the other, each under a savepoint of
// one transaction, and commits them together, so that many decisions
// share one write of the WAL and one fsync (group commit); the calls that
// come while a batch's functions run join it, up to maxBatch functions to
// a commit. A function that fails is rolled back to its savepoint alone;
// no caller returns before the commit that holds its writes reached the
// disk, and a failed commit fails every caller of the batch. Its
// statements are prepared once on its own long-lived connection.
type groupWriter struct {
	d dialect
	*stmtConn
	jobs    chan *writeJob
	stopped chan struct{}

	// tip is the audit trail's last entry and the authorisation log's
	// last number as this writer wrote them; only the writer's goroutine
	// uses it.
	tip auditTip
}

// startGroupWriter takes a connection of db for the writer and starts it.
func startGroupWriter(db *sql.DB, d dialect) (*groupWriter, error) {
	conn, err := db.Conn(context.Background())
	if err != nil {
		return nil, fmt.Errorf("store: writer connection: %w", err)
	}
	g := newGroupWriter(conn, d)
	go g.loop()
	return g, nil
}

// newGroupWriter returns a writer on conn that is not running yet.
func newGroupWriter(conn *sql.Conn, d dialect) *groupWriter {
	return &groupWriter{d: d, stmtConn: newStmtConn(conn), jobs: make(chan *writeJob, maxBatch*4),
		stopped: make(chan struct{})}
}

// stop ends the writer once the jobs already queued are done; jobs must
// not be sent after it.
func (g *groupWriter) stop() {
	close(g.jobs)
	<-g.stopped
}

func (g *groupWriter) loop() {
	defer close(g.stopped)
	defer g.release()
	batch := make([]*writeJob, 0, maxBatch)
	for j := range g.jobs {
		batch = g.commit(g.more(append(batch[:0], j)))
		for i, j := range batch {
			j.done <- j.err
			batch[i] = nil
		}
	}
}

// more adds to batch the jobs already queued, up to maxBatch.
func (g *groupWriter) more(batch []*writeJob) []*writeJob {
	for len(batch) < maxBatch {
		select {
		case j, ok := <-g.jobs:
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

// stmtConn is a long-lived connection that prepares each statement once:
// the SQLite writer's, or a reader's. One goroutine at a time uses it.
type stmtConn struct {
	conn *sql.Conn
	// reader: the caller's context may interrupt a statement (a read
	// ends, nothing is lost); the writer's statements run to their end.
	reader bool
	mu     sync.Mutex // guards stmts
	stmts  map[string]*sql.Stmt
}

// keep is the context a statement runs under: ctx for a reader, ctx
// without its cancellation for the writer.
func (g *stmtConn) keep(ctx context.Context) context.Context {
	if g.reader {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func newStmtConn(conn *sql.Conn) *stmtConn {
	return &stmtConn{conn: conn, stmts: map[string]*sql.Stmt{}}
}

// release closes the prepared statements and gives the connection back.
func (g *stmtConn) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for q, st := range g.stmts {
		_ = st.Close()
		delete(g.stmts, q)
	}
	_ = g.conn.Close()
}

// commit runs the batch in one transaction and sets each job's err. The
// jobs queued while its functions run join it, up to maxBatch, so that
// they share its commit rather than wait for it and then for one of their
// own; it returns the batch with them. Joined jobs share its fate too: a
// lost transaction keeps none of their writes.
func (g *groupWriter) commit(batch []*writeJob) []*writeJob {
	ctx := context.Background()
	if _, err := g.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		g.rollback()
		for _, j := range batch {
			j.err = fmt.Errorf("store: begin: %w", err)
		}
		return batch
	}
	// After each job, the jobs queued meanwhile join the batch.
	for i := 0; i < len(batch); i, batch = i+1, g.more(batch) {
		j := batch[i]
		if err := j.ctx.Err(); err != nil {
			j.err = fmt.Errorf("store: begin: %w", err)
			continue
		}
		if _, err := g.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			g.abort(batch[:i], batch[i:], err)
			return batch
		}
		if err := j.call(&Tx{q: g, d: g.d, c: j.c, count: j.count, auditTip: &g.tip}); err != nil {
			j.err = err
			// The savepoint's writes are undone, an audit entry or a
			// log line perhaps.
			g.tip.forget()
			if _, rerr := g.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
				// The transaction itself is gone (SQLite rolls it all back
				// on some errors): nothing of the batch is kept.
				g.abort(batch[:i], batch[i+1:], rerr)
				return batch
			}
		}
		if _, err := g.ExecContext(ctx, "RELEASE w"); err != nil {
			g.abort(batch[:i+1], batch[i+1:], err)
			return batch
		}
	}
	if _, err := g.ExecContext(ctx, "COMMIT"); err != nil {
		g.rollback()
		for _, j := range batch {
			if j.err == nil {
				j.err = fmt.Errorf("store: commit: %w", err)
			}
		}
	}
	return batch
}

// abort rolls the whole transaction back after err: the jobs done so far
// lose their writes, those not run yet are not run.
func (g *groupWriter) abort(done, rest []*writeJob, err error) {
	g.rollback()
	for _, j := range done {
		if j.err == nil {
			j.err = fmt.Errorf("store: transaction rolled back: %w", err)
		}
	}
	for _, j := range rest {
		if j.err == nil {
			j.err = fmt.Errorf("store: transaction rolled back: %w", err)
		}
	}
}

// rollback ends whatever transaction the connection is in.
func (g *groupWriter) rollback() {
	g.tip.forget()
	g.stmtConn.rollback()
}

// rollback ends whatever transaction the connection is in.
func (g *stmtConn) rollback() {
	if _, err := g.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil && !errors.Is(err, sql.ErrConnDone) {
		return
	}
}

// stmt returns the connection's prepared statement of q, nil when the
// cache is full.
func (g *stmtConn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st, ok := g.stmts[q]; ok {
		return st, nil
	}
	if len(g.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := g.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	g.stmts[q] = st
	return st, nil
}

// The connection's statements run to their end once started: the
// caller's context ending while its function runs does not interrupt
// SQLite, which would roll back the whole batch's transaction of the
// writer.

func (g *stmtConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = g.keep(ctx)
	st, err := g.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return g.conn.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (g *stmtConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = g.keep(ctx)
	st, err := g.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return g.conn.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (g *stmtConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = g.keep(ctx)
	st, err := g.stmt(ctx, q)
	if err != nil || st == nil {
		// Unprepared; a query that did not prepare fails here again, with
		// its error in the Row.
		return g.conn.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
