package acquirer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tapsim/tapsim/acquirer/dedup"
	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec/rules"
)

// HSM is what the acquirer asks of its security module: MACs under the
// terminals' and zones' MAC keys, and PIN translation from a terminal's
// DUKPT key to a zone PIN key.
type HSM interface {
	hsm.MAC
	hsm.PIN
}

// Issuer is one issuer host the acquirer forwards to.
type Issuer struct {
	// Name is the routing table's name for it.
	Name string
	// Addr is its address, host:port.
	Addr string
	// Endpoints lists more addresses of the same issuer host: processes
	// that share its state (one database), so that any of them may take
	// any request, reversal or advice. Each address gets a link of its
	// own, signed on with the same keys; requests are spread over the
	// links that are up (see link.Pool).
	Endpoints []string
	// ZAK is the zone MAC key and ZPK the zone PIN key shared with it.
	ZAK, ZPK hsm.Handle
	// TLS, when set, makes the link dial TLS with this client
	// configuration (tlsconf.Client: the issuer's CA, the acquirer's own
	// certificate); nil dials plain TCP.
	TLS *tls.Config
}

// Terminal is one terminal the acquirer serves.
type Terminal struct {
	// TID is the terminal ID (DE41).
	TID string
	// TAK is the terminal MAC key.
	TAK hsm.Handle
	// BDK is the DUKPT base derivation key of the terminal's PIN pad;
	// zero means Config.BDK.
	BDK hsm.Handle
	// MACOptional accepts this terminal's requests without a MAC (R-G2 off
	// for it; Start logs a warning): a request that carries a MAC must
	// still carry the right one, and answers are MACed as usual. Only for
	// a terminal under test that cannot MAC yet.
	MACOptional bool
}

// Config sets up an acquirer.
type Config struct {
	// Listen is the terminal-facing address ("127.0.0.1:0" picks a port).
	Listen string
	// TLS, when set, makes the terminal-facing listener speak TLS with this
	// server configuration (tlsconf.Server: mutual, terminals' certificates
	// required); nil listens in plain TCP. A connection whose handshake
	// fails is logged (one line, rate-limited) and closed; the others go
	// on.
	TLS *tls.Config
	// IdleTimeout closes a terminal connection on which no frame starts
	// for that long (frameserver.DefaultIdleTimeout, 5 min, when 0).
	IdleTimeout time.Duration
	// FrameTimeout is the deadline of one frame, from its first header byte
	// to its last byte (frameserver.DefaultFrameTimeout, 10 s, when 0).
	FrameTimeout time.Duration
	// MaxFrame is the longest frame accepted, checked on the length header
	// before anything is allocated; a longer one closes the connection
	// (frameserver.DefaultMaxFrame, 8 KiB, when 0).
	MaxFrame int
	// MaxConns caps the terminal connections served at once
	// (frameserver.DefaultMaxConns, 256, when 0); one more takes the place
	// of an unproved one, else it is closed at once: a connection not
	// proved by a frame whose MAC verified under its TAK (at most two
	// connections per terminal) or a verified TLS client certificate,
	// EvictIdle after its last byte before its first frame.
	MaxConns int
	// EvictIdle is how long after its last byte before its first frame an
	// unproved terminal connection keeps its place at MaxConns
	// (frameserver.DefaultEvictIdle, 2 s, when 0; as long as IdleTimeout or
	// longer: never).
	EvictIdle time.Duration
	// MaxInFlight caps the frames of one connection in hand at once
	// (frameserver.DefaultMaxInFlight when 0).
	MaxInFlight int
	// AcquirerID is the acquiring institution ID, DE32 on the issuer links
	// and in DE90 of reversals (up to 11 digits).
	AcquirerID string
	// Routes maps BIN ranges (token ranges too) to issuer names.
	Routes *route.Table
	// Issuers lists the issuer links; every issuer of Routes needs one.
	Issuers []Issuer
	// Terminals lists the terminals and their keys.
	Terminals []Terminal
	// BDK is the default DUKPT base derivation key.
	BDK hsm.Handle
	// HSM holds every key.
	HSM HSM
	// Store is the durable state; nil opens store.Open(DataDir), closed
	// with the server.
	Store store.Store
	// DataDir holds the database when Store is nil ("./tapsim-data" when
	// empty).
	DataDir string
	// IssuerTimeout is how long an issuer may take to answer before the
	// terminal gets 91 and a reversal advice is queued (10 s when 0).
	IssuerTimeout time.Duration
	// DuplicateWindow is how long a (TID, STAN, DE7) stays known to detect
	// duplicates (24 h when 0).
	DuplicateWindow time.Duration
	// DuplicateMemory is the most (TID, STAN, DE7) keys held in memory
	// (dedup.DefaultMaxKeys when 0); older keys of the window are looked up
	// in the journal.
	DuplicateMemory int
	// EchoInterval is the idle time before an echo test on an issuer link
	// (30 s when 0).
	EchoInterval time.Duration
	// EndpointRest is how long an endpoint of an issuer with several
	// (Issuer.Endpoints) gets no new requests, while another is up, after
	// it left one unanswered (link.DefaultRest, 30 s, when 0).
	EndpointRest time.Duration
	// ConnectTimeout bounds an issuer link's TCP connect (5 s when 0).
	ConnectTimeout time.Duration
	// NetworkTimeout bounds sign-on and echo answers (5 s when 0).
	NetworkTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the backoff between issuer link
	// connection attempts (100 ms and 10 s when 0).
	ReconnectMin, ReconnectMax time.Duration
	// AdviceRetry is the wait before an unacknowledged advice is sent
	// again, doubled after each attempt up to AdviceRetryMax (2 s and 1 min
	// when 0).
	AdviceRetry, AdviceRetryMax time.Duration
	// AdvicePoll is how often the queue is checked for due advices (1 s
	// when 0); a link coming up checks it at once.
	AdvicePoll time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Numbers stamps STAN and RRN on the issuer links; nil uses
	// DurableNumbers on the store.
	Numbers Numbers
	// Rules, when set, are the host response rules consulted for every
	// authorisation and financial request from a terminal, after its MAC
	// and format are checked and before it is forwarded: a rule may answer
	// in the issuer's stead, delay the answer, withhold it, close the
	// connection or spoil the answer's MAC. nil forwards everything.
	Rules *rules.Set
	// Logger receives events (masked); nil discards them.
	Logger *slog.Logger
}

// DefaultDataDir is where the acquirer keeps its database by default.
const DefaultDataDir = "./tapsim-data"

// ErrConfig reports an unusable configuration.
var ErrConfig = errors.New("acquirer: invalid configuration")

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.IssuerTimeout <= 0 {
		c.IssuerTimeout = 10 * time.Second
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 24 * time.Hour
	}
	if c.DuplicateMemory <= 0 {
		c.DuplicateMemory = dedup.DefaultMaxKeys
	}
	if c.AdviceRetry <= 0 {
		c.AdviceRetry = 2 * time.Second
	}
	if c.AdviceRetryMax < c.AdviceRetry {
		c.AdviceRetryMax = max(time.Minute, c.AdviceRetry)
	}
	if c.AdvicePoll <= 0 {
		c.AdvicePoll = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if c.Listen == "" {
		return bad("no listen address")
	}
	if c.HSM == nil {
		return bad("no security module")
	}
	if c.Routes == nil {
		return bad("no routing table")
	}
	if n := len(c.AcquirerID); n == 0 || n > 11 || !allDigits(c.AcquirerID) {
		return bad("acquirer ID must be 1 to 11 digits")
	}
	names := map[string]bool{}
	for _, is := range c.Issuers {
		switch {
		case is.Name == "" || is.Addr == "":
			return bad("issuer link without name or address")
		case names[is.Name]:
			return bad("issuer %q listed twice", is.Name)
		case is.ZAK.IsZero() || is.ZPK.IsZero():
			return bad("issuer %q needs a ZAK and a ZPK", is.Name)
		}
		addrs := map[string]bool{is.Addr: true}
		for _, a := range is.Endpoints {
			if a == "" || addrs[a] {
				return bad("issuer %q: endpoint %q empty or listed twice", is.Name, a)
			}
			addrs[a] = true
		}
		names[is.Name] = true
	}
	for _, n := range c.Routes.Issuers() {
		if !names[n] {
			return bad("routing table names issuer %q, which has no link", n)
		}
	}
	tids := map[string]bool{}
	for _, t := range c.Terminals {
		switch {
		case t.TID == "" || len(t.TID) > 8:
			return bad("terminal ID must be 1 to 8 characters")
		case tids[t.TID]:
			return bad("terminal %q listed twice", t.TID)
		case t.TAK.IsZero():
			return bad("terminal %q has no TAK", t.TID)
		}
		tids[t.TID] = true
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
