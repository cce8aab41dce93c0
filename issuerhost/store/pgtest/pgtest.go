// Package pgtest runs private PostgreSQL servers for tests: initdb into a
// new temporary directory, then postgres listening on a UNIX socket in
// that directory only (no TCP port), with password-less local access for
// one superuser. Test binaries never touch a system cluster nor each
// other's servers.
//
// PostgreSQL refuses to run as root. When the tests run as root (as CI
// does), initdb and postgres run as an unprivileged user (the postgres
// user Debian's package creates, else nobody) and the directory is handed
// to that user; the test process, as root, still reaches the socket.
//
// A test binary shares one server, started on first use and stopped when
// the binary ends:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and each test takes a database of its own with NewDatabase. Without
// PostgreSQL installed the tests that need it are skipped, saying how to
// install it; when the environment variable CI is set they fail instead:
// CI must run them.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// HowToInstall says how to get the server.
const HowToInstall = "install PostgreSQL with `make deps` (or: apt-get install -y --no-install-recommends postgresql)"

// Superuser is the role initdb creates; local connections need no
// password.
const Superuser = "tapsim"

// Port is the number in the socket's name (.s.PGSQL.5432); no TCP port is
// opened.
const Port = 5432

// Errors.
var (
	// ErrNotInstalled reports that initdb or postgres is missing.
	ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed")
	// ErrStart reports a server that did not come up.
	ErrStart = errors.New("pgtest: server did not start")
)

// binRoots are where distributions put the server's programs, one
// directory per major version.
var binRoots = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"}

// Tools are the programs a server needs.
type Tools struct {
	// InitDB and Postgres are the programs' paths.
	InitDB, Postgres string
}

// Find looks for initdb and postgres: first under the versioned
// directories distributions use (the highest version), then on PATH. The
// error wraps ErrNotInstalled and says how to install them.
func Find() (Tools, error) {
	var dirs []string
	for _, g := range binRoots {
		m, _ := filepath.Glob(g)
		sort.Slice(m, func(i, j int) bool { return versionOf(m[i]) > versionOf(m[j]) })
		dirs = append(dirs, m...)
	}
	for _, d := range dirs {
		t := Tools{InitDB: filepath.Join(d, "initdb"), Postgres: filepath.Join(d, "postgres")}
		if executable(t.InitDB) && executable(t.Postgres) {
			return t, nil
		}
	}
	i, err1 := exec.LookPath("initdb")
	p, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		return Tools{InitDB: i, Postgres: p}, nil
	}
	return Tools{}, fmt.Errorf("%w: no initdb and postgres under /usr/lib/postgresql/*/bin nor on PATH; %s", ErrNotInstalled, HowToInstall)
}

// versionOf reads the major version in a path such as
// /usr/lib/postgresql/15/bin (0 when there is none).
func versionOf(dir string) int {
	for _, part := range strings.Split(dir, string(filepath.Separator)) {
		part = strings.TrimPrefix(part, "pgsql-")
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 0
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Server is one running private PostgreSQL server.
type Server struct {
	// Dir holds the data directory (Dir/data), the socket and the log.
	Dir string

	tools   Tools
	cred    *syscall.Credential
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
	admin   *sql.DB
}

// Start creates a cluster in a new temporary directory and starts a
// server on it; it returns once the server takes connections.
func Start(ctx context.Context) (*Server, error) {
	tools, err := Find()
	if err != nil {
		return nil, err
	}
	root := ""
	if os.Geteuid() == 0 || len(os.TempDir()) > 60 {
		// /tmp is open to the unprivileged user, and keeps the socket's
		// path well under the 107 bytes a UNIX socket path may have.
		root = "/tmp"
	}
	dir, err := os.MkdirTemp(root, "tapsim-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{Dir: dir, tools: tools, logPath: filepath.Join(dir, "postgres.log")}
	if err := s.start(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	if os.Geteuid() == 0 {
		cred, err := unprivileged()
		if err != nil {
			return err
		}
		s.cred = cred
		if err := os.Chown(s.Dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	if s.cred != nil {
		_ = logf.Chown(int(s.cred.Uid), int(s.cred.Gid))
	}
	data := filepath.Join(s.Dir, "data")
	initdb := exec.CommandContext(ctx, s.tools.InitDB, "-D", data, "-U", Superuser, "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Stdout, initdb.Stderr = logf, logf
	initdb.Env = s.env()
	initdb.Dir = s.Dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if err := initdb.Run(); err != nil {
		return fmt.Errorf("%w: initdb: %w: %s", ErrStart, err, s.Log())
	}
	cmd := exec.Command(s.tools.Postgres, "-D", data, "-k", s.Dir, "-p", strconv.Itoa(Port),
		"-c", "listen_addresses=",
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = s.env()
	cmd.Dir = s.Dir
	// Should the test binary die without stopping it, the server goes too
	// (SIGINT: PostgreSQL's fast shutdown).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return s.waitReady(ctx)
}

// env is the environment of initdb and postgres: no PG* variables of the
// caller, and a HOME the user may read.
func (s *Server) env() []string {
	out := []string{"HOME=" + s.Dir, "LC_ALL=C", "TZ=UTC"}
	if p := os.Getenv("PATH"); p != "" {
		out = append(out, "PATH="+p)
	}
	return out
}

// unprivileged is the user initdb and postgres run as when the tests run
// as root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("%w: running as root and no postgres or nobody user to run the server as", ErrStart)
}

// waitReady waits until the server answers on its socket.
func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	cfg, err := pgx.ParseConfig(s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(2)
	for {
		select {
		case <-s.exited:
			db.Close()
			return fmt.Errorf("%w: postgres exited (%v): %s", ErrStart, s.waitErr, s.Log())
		case <-ctx.Done():
			db.Close()
			return fmt.Errorf("%w: %w", ErrStart, ctx.Err())
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			s.admin = db
			return nil
		}
		if time.Now().After(deadline) {
			db.Close()
			return fmt.Errorf("%w: no answer on %s after 30s (%v): %s", ErrStart, s.Socket(), err, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Socket is the server's UNIX socket.
func (s *Server) Socket() string { return filepath.Join(s.Dir, fmt.Sprintf(".s.PGSQL.%d", Port)) }

// DSN is the keyword/value connection string of database db.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.Dir, Port, Superuser, db)
}

// URL is the postgres:// connection URL of database db.
func (s *Server) URL(db string) string {
	q := url.Values{"host": {s.Dir}, "port": {strconv.Itoa(Port)}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(Superuser), Path: "/" + db, RawQuery: q.Encode()}).String()
}

// Pid is the server's (postmaster's) process ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Running reports whether the server is still running.
func (s *Server) Running() bool {
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Log returns what initdb and the server wrote so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	return string(b)
}

// CreateDatabase creates database name (letters, digits and '_').
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	if !identifier(name) {
		return fmt.Errorf("pgtest: database name %q", name)
	}
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name, ending any session still on it.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if !identifier(name) {
		return fmt.Errorf("pgtest: database name %q", name)
	}
	if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

func identifier(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Stop stops the server (fast shutdown, SIGKILL after 10 s), waits for it
// and removes its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		_ = s.admin.Close()
		s.admin = nil
	}
	var err error
	if s.Running() {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
			err = fmt.Errorf("pgtest: postgres did not stop within 10s; killed")
		}
	}
	if rmErr := os.RemoveAll(s.Dir); rmErr != nil && err == nil {
		err = fmt.Errorf("pgtest: %w", rmErr)
	}
	return err
}

// The server shared by the tests of this binary, started on first use.
var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
	sharedRan bool
)

// Main runs a test binary's tests and stops the shared server, if one
// was started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "postgres log (%s):\n%s\n", shared.Dir, shared.Log())
		}
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		shared = nil
	}
	return code
}

// Need returns the binary's shared server, starting it on first use. When
// no server can run the test is skipped with the reason, or fails when
// the environment variable CI is set.
func Need(tb testing.TB) *Server {
	tb.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if !sharedRan {
		sharedRan = true
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		shared, sharedErr = Start(ctx)
		cancel()
	}
	if shared == nil {
		unavailable(tb, sharedErr)
	}
	return shared
}

// New starts a server for one test, stopped when the test ends; as Need,
// it skips (or fails under CI) when no server can run.
func New(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("PostgreSQL tests cannot run in CI: %v", err)
	}
	tb.Skipf("PostgreSQL test skipped: %v", err)
}

// NewDatabase creates a fresh database named t_<random> on the shared
// server and returns its connection string; the database is dropped when
// the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	s := Need(tb)
	return s.DSN(s.Database(tb))
}

// Database creates a fresh database named t_<random> on s and returns its
// name (see DSN and URL); the database is dropped when the test ends.
func (s *Server) Database(tb testing.TB) string {
	tb.Helper()
	name := RandomName()
	ctx := context.Background()
	if err := s.CreateDatabase(ctx, name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.DropDatabase(context.Background(), name); err != nil {
			tb.Error(err)
		}
	})
	return name
}

// RandomName is a fresh database name, t_ and 16 hex digits.
func RandomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}
