package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/issuerhost"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

// Network is the sample payment network embedded in one process: the
// issuer host and the acquirer, each on its own TCP listener on 127.0.0.1,
// the acquirer's issuer link going through a proxy so that the issuer can
// hang (HoldIssuer), or be stopped and started again (StopIssuer,
// RestartIssuer), while the acquirer keeps its link (unless
// Options.DirectIssuerLink). Its methods may be called from several
// goroutines.
type Network struct {
	dir    string
	logger *slog.Logger
	// acqRules and issuerRules are the hosts' response rules.
	acqRules, issuerRules *rules.Set

	mu     sync.Mutex
	issuer *Issuer
	isrv   *issuerhost.Server

	proxy *linkProxy
	// issuerListen is where the issuer host listens ("127.0.0.1:0", an
	// ephemeral port, when empty): with a direct issuer link, the address
	// of its first start.
	issuerListen string
	acq          *acquirer.Server
	closeHSM     func()
	// prov is the wallet flow's services, sample the wallet phone the
	// world provisioned through them.
	prov   *Provisioning
	sample SampleWallet
	// ledger is the issuer's ledger of the cloud keys, kept across issuer
	// restarts; cloud the HCE cloud platform, hce the HCE phone the world
	// enrolled through it.
	ledger *issuercloud.Ledger
	// cloudMemory keeps the platform's state and the ledger in memory
	// (Options.CloudInMemory).
	cloudMemory bool
	clock       func() time.Time
	cloud       *Cloud
	hce         SampleHCE
	hceMC       SampleHCE
	// se is the world's TSMs, sePhones the SE phones it personalised
	// through them, by profile name.
	se       *SEPlatform
	sePhones map[string]*SEDevice
}

// Options tune an embedded network.
type Options struct {
	// Dir holds the issuer's and the acquirer's state (issuer/ and
	// acquirer/ under it); the issuer's sample data is created there on
	// first start.
	Dir string
	// IssuerTimeout is how long the acquirer waits for the issuer before
	// it answers 91 and queues a reversal advice; 0 means 2s.
	IssuerTimeout time.Duration
	// Logger receives both hosts' events, masked; nil discards them.
	Logger *slog.Logger
	// Clock and Rand are the world's provisioning services' and its
	// wallet phones' (ProvisioningOptions); time.Now and crypto/rand when
	// nil.
	Clock func() time.Time
	Rand  io.Reader
	// Recommend is the token service's recommendation to the issuer
	// (ProvisioningOptions); nil keeps the wallet provider's assessment.
	Recommend func(tokensvc.IDVRequest) string
	// AcquirerRules and IssuerRules are the host response rules of the
	// acquirer and of the issuer host (package isospec/rules); the caller
	// loads and reloads them. When AcquirerRules is nil the acquirer gets
	// an empty set logging to Logger, so that AcquirerRules always has one
	// for rules put with Once (a "next answer").
	AcquirerRules, IssuerRules *rules.Set
	// CloudInMemory keeps the HCE cloud platform's state and the issuer's
	// ledger of its keys in memory, the sample HCE phones enrolled afresh
	// at each start. By default they are kept in the issuer's database
	// under Dir, as an issuer run on its own keeps them, and the sample
	// HCE phones' storage beside it: a world started again on Dir finds
	// its phones bound, with the keys they had left.
	CloudInMemory bool
	// DirectIssuerLink connects the acquirer's issuer link straight to the
	// issuer host, one TCP hop fewer, as hosts on their own are connected
	// (tapsim load measures that path). By default the link goes through
	// a proxy that can make the issuer hang (HoldIssuer). With a direct
	// link, StopIssuer drops the link (the acquirer answers 91 at once,
	// the issuer being down), RestartIssuer starts the issuer on the
	// address it had so that the link reconnects (it fails should another
	// socket have taken that port meanwhile), and HoldIssuer and
	// ReleaseIssuer fail with ErrNoProxy.
	DirectIssuerLink bool
}

// ErrNoProxy reports that the world's issuer link has no proxy to hold
// (Options.DirectIssuerLink).
var ErrNoProxy = errors.New("the issuer link has no proxy (direct link)")

// Start starts the issuer host (its sample data, WorldSeed, created when
// o.Dir has none) and the acquirer routing every sample BIN range to it,
// and waits until the acquirer's issuer link is signed on. Then it starts
// the wallet flow's services (Provisioning) and provisions the sample
// wallet phone through them (SampleWallet): a new token at every start,
// since the phone lives in this process only. Last it starts the HCE
// cloud platform (Cloud), its keys in the issuer's security module and
// the issuer host checking its cryptograms, and enrols the sample HCE
// phones with it (SampleHCE): registration with the cardholder's OTP and
// a challenge-signed download at the first start on o.Dir; the
// platform's state, the issuer's key ledger and the phones' storage are
// kept under o.Dir for the next starts (o.CloudInMemory: enrolled again
// at every start). Then it starts the
// SP TSM and the SE TSM (SEPlatform) and personalises the sample SE phones
// over the air through them (SampleSE): a new SE and download at every
// start as well. Close the network when done. ctx bounds the start only.
func Start(ctx context.Context, o Options) (*Network, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.IssuerTimeout <= 0 {
		o.IssuerTimeout = 2 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.AcquirerRules == nil {
		o.AcquirerRules = rules.New(nil, rules.Options{Logger: o.Logger.With("host", "acquirer")})
	}
	n := &Network{dir: o.Dir, logger: o.Logger, clock: o.Clock, ledger: issuercloud.NewLedger(o.Clock),
		cloudMemory: o.CloudInMemory, acqRules: o.AcquirerRules, issuerRules: o.IssuerRules}
	if err := n.startIssuer(ctx); err != nil {
		return nil, err
	}
	if !o.CloudInMemory {
		// The ledger in the issuer's database, whichever issuer host runs
		// on it (the host may be stopped and started again).
		if err := n.ledger.Attach(issuercloud.DBStore{DB: worldDB{n}, Clock: o.Clock}); err != nil {
			n.Close()
			return nil, err
		}
	}
	link := n.IssuerAddr()
	if o.DirectIssuerLink {
		n.issuerListen = link
	} else {
		p, err := newLinkProxy(link)
		if err != nil {
			n.Close()
			return nil, err
		}
		n.proxy, link = p, p.Addr()
	}
	cfg, closeHSM, err := AcquirerConfig(AcquirerOptions{
		Listen:          "127.0.0.1:0",
		Issuers:         map[string]string{SampleIssuer: link},
		DataDir:         filepath.Join(o.Dir, "acquirer"),
		AcquirerID:      SampleAcquirerID,
		IssuerTimeout:   o.IssuerTimeout,
		EchoInterval:    time.Minute,
		DuplicateWindow: 24 * time.Hour,
		Logger:          o.Logger.With("host", "acquirer"),
	})
	if err != nil {
		n.Close()
		return nil, err
	}
	n.closeHSM = closeHSM
	cfg.Rules = o.AcquirerRules
	cfg.ReconnectMin, cfg.ReconnectMax = 20*time.Millisecond, 200*time.Millisecond
	cfg.AdviceRetry, cfg.AdviceRetryMax, cfg.AdvicePoll = 200*time.Millisecond, time.Second, 100*time.Millisecond
	srv, err := acquirer.New(cfg)
	if err != nil {
		n.Close()
		return nil, err
	}
	if err := srv.Start(context.WithoutCancel(ctx)); err != nil {
		n.Close()
		return nil, err
	}
	n.acq = srv
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.WaitLinks(wctx); err != nil {
		n.Close()
		return nil, fmt.Errorf("issuer link: %w", err)
	}
	if err := n.provisionSampleWallet(ctx, ProvisioningOptions{Clock: o.Clock, Rand: o.Rand, Recommend: o.Recommend,
		Logger: o.Logger}); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.startCloud(ctx, n.Provisioning()); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.startSEPlatform(ctx, o); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// worldDB runs transactions on the store of the world's running issuer
// host.
type worldDB struct{ n *Network }

func (w worldDB) db() (*store.DB, error) {
	w.n.mu.Lock()
	defer w.n.mu.Unlock()
	if w.n.issuer == nil || w.n.issuer.DB == nil {
		return nil, ErrIssuerDown
	}
	return w.n.issuer.DB, nil
}

// Update implements TxRunner.
func (w worldDB) Update(ctx context.Context, fn func(*store.Tx) error) error {
	db, err := w.db()
	if err != nil {
		return err
	}
	return db.Update(ctx, fn)
}

// View implements TxRunner.
func (w worldDB) View(ctx context.Context, fn func(*store.Tx) error) error {
	db, err := w.db()
	if err != nil {
		return err
	}
	return db.View(ctx, fn)
}

// HasData reports whether dir holds the state of an earlier network (an
// issuer database under issuer/).
func HasData(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "issuer", store.FileName))
	return err == nil
}

// startIssuer opens the issuer's store and security module, creates the
// sample data on first start, and starts the host on an ephemeral port
// (on the one it had, with a direct issuer link).
func (n *Network) startIssuer(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.isrv != nil {
		return errors.New("issuer host already running")
	}
	logger := n.logger.With("host", "issuer")
	r, err := OpenIssuer(ctx, filepath.Join(n.dir, "issuer"), "", logger)
	if err != nil {
		return err
	}
	if _, _, err := initIssuer(ctx, r, WorldSeed); err != nil {
		r.Close()
		return err
	}
	listen := n.issuerListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	srv, err := issuerhost.New(r.DB, r.HSM, issuerhost.Config{Listen: listen, Logger: logger, Rules: n.issuerRules,
		CloudVerifier: &issuercloud.Verifier{HSM: r.HSM, Ledger: n.ledger, Now: n.clock}})
	if err != nil {
		r.Close()
		return err
	}
	if err := srv.Start(context.WithoutCancel(ctx)); err != nil {
		r.Close()
		return err
	}
	n.issuer, n.isrv = r, srv
	if n.proxy != nil {
		n.proxy.SetUpstream(srv.Addr())
	}
	return nil
}

// StopIssuer stops the issuer host and closes its store: the acquirer's
// link stays connected to the proxy, which swallows what is sent until the
// issuer is back (a host that does not answer); a direct link is dropped.
// Stopping a stopped issuer does nothing.
func (n *Network) StopIssuer() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.isrv == nil {
		return nil
	}
	if n.proxy != nil {
		n.proxy.Hold()
	}
	err := n.isrv.Close()
	n.issuer.Close()
	n.isrv, n.issuer = nil, nil
	return err
}

// RestartIssuer starts the issuer again on the same data and lets the
// acquirer's link reconnect to it.
func (n *Network) RestartIssuer(ctx context.Context) error {
	if err := n.startIssuer(ctx); err != nil {
		return err
	}
	if n.proxy != nil {
		n.proxy.Release()
	}
	return nil
}

// HoldIssuer makes the issuer hang while it keeps running: the acquirer's
// link stays connected, and what it sends is swallowed, until
// ReleaseIssuer. The acquirer answers its terminals 91 after its issuer
// timeout and queues reversal advices. It fails with ErrNoProxy on a
// direct issuer link.
func (n *Network) HoldIssuer() error {
	if n.proxy == nil {
		return ErrNoProxy
	}
	n.proxy.Hold()
	return nil
}

// ReleaseIssuer ends HoldIssuer: the acquirer's link is dropped and
// reconnects to the running issuer (which RestartIssuer also does). It
// fails with ErrNoProxy on a direct issuer link.
func (n *Network) ReleaseIssuer() error {
	if n.proxy == nil {
		return ErrNoProxy
	}
	n.proxy.Release()
	return nil
}

// TolerateReplayOnce arms the running issuer's replay-tolerance test
// setting for the cryptogram arqc: its next replay is not refused, once
// (issuerhost.Server.TestSettingTolerateReplay).
func (n *Network) TolerateReplayOnce(arqc []byte) error {
	iss := n.Issuer()
	if iss == nil {
		return errors.New("lab: the issuer host is stopped")
	}
	return iss.TestSettingTolerateReplay(arqc)
}

// Issuer is the running issuer host, nil while it is stopped.
func (n *Network) Issuer() *issuerhost.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.isrv
}

// IssuerAddr is the issuer host's own address, empty while it is stopped.
func (n *Network) IssuerAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.isrv == nil {
		return ""
	}
	return n.isrv.Addr()
}

// AcquirerAddr is where terminals connect.
func (n *Network) AcquirerAddr() string { return n.acq.Addr() }

// Acquirer is the acquirer host.
func (n *Network) Acquirer() *acquirer.Server { return n.acq }

// AcquirerRules returns the acquirer's host response rules (never nil):
// put a rule with Once to force the next answer.
func (n *Network) AcquirerRules() *rules.Set { return n.acqRules }

// NewTerminal makes the sample terminal T0000001 (TerminalConfig: test CA
// keys, sample keys) connected to the acquirer over TCP; close the client
// when done.
func (n *Network) NewTerminal(o pos.Options) (*pos.Terminal, *client.Client, error) {
	cfg, err := TerminalConfig("")
	if err != nil {
		return nil, nil, err
	}
	return n.NewTerminalWith(cfg, o)
}

// NewTerminalWith makes a terminal of configuration cfg connected to the
// acquirer over TCP; close the client when done. The acquirer knows the
// terminal IDs SampleTID and LoadTID(0..LoadMaxTerminals-1).
func (n *Network) NewTerminalWith(cfg pos.Config, o pos.Options) (*pos.Terminal, *client.Client, error) {
	link := client.New(n.AcquirerAddr(), client.Options{})
	t, err := pos.New(cfg, link, o)
	if err != nil {
		link.Close()
		return nil, nil, err
	}
	return t, link, nil
}

// Close stops the acquirer (its links sign off), the proxy and the issuer,
// and reports what failed. Terminals' clients are the caller's to
// close.
func (n *Network) Close() error {
	var errs []error
	// The sample HCE phones' storage, with the keys they have left.
	errs = append(errs, n.saveSampleHCE())
	n.closeSEPlatform()
	if p := n.Provisioning(); p != nil {
		p.Close()
	}
	if n.acq != nil {
		errs = append(errs, n.acq.Close())
	}
	if n.closeHSM != nil {
		n.closeHSM()
	}
	if n.proxy != nil {
		n.proxy.Close()
	}
	errs = append(errs, n.StopIssuer())
	return errors.Join(errs...)
}

// linkProxy relays TCP connections to an upstream address. While held it
// keeps its clients connected and discards what they send, as a host that
// hangs would; Release closes the held clients so that they reconnect to
// the (new) upstream.
type linkProxy struct {
	ln net.Listener

	mu       sync.Mutex
	upstream string
	held     bool
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// newLinkProxy listens on an ephemeral port of 127.0.0.1 and relays to
// upstream.
func newLinkProxy(upstream string) (*linkProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &linkProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address.
func (p *linkProxy) Addr() string { return p.ln.Addr().String() }

// SetUpstream changes where new connections are relayed.
func (p *linkProxy) SetUpstream(addr string) {
	p.mu.Lock()
	p.upstream = addr
	p.mu.Unlock()
}

// Hold makes the proxy swallow what its clients send from now on.
func (p *linkProxy) Hold() {
	p.mu.Lock()
	p.held = true
	p.mu.Unlock()
}

// Release stops holding and closes the client connections, which
// reconnect to the upstream.
func (p *linkProxy) Release() {
	p.mu.Lock()
	p.held = false
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// Close stops the proxy and closes every connection.
func (p *linkProxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *linkProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *linkProxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(down, true)
		p.wg.Add(1)
		go p.serve(down)
	}
}

// serve relays one client. While the proxy is held what the client sends
// is discarded; when the upstream goes away (or cannot be reached) while
// the proxy is held, the client stays connected; otherwise the client is
// closed.
func (p *linkProxy) serve(down net.Conn) {
	defer p.wg.Done()
	defer p.track(down, false)
	defer down.Close()
	p.mu.Lock()
	addr, held := p.upstream, p.held
	p.mu.Unlock()
	if held {
		_, _ = io.Copy(io.Discard, down)
		return
	}
	up, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return
	}
	p.track(up, true)
	defer p.track(up, false)
	defer up.Close()
	done := make(chan struct{})
	go func() {
		p.forward(up, down)
		_ = up.Close()
		close(done)
	}()
	_, _ = io.Copy(down, up)
	p.mu.Lock()
	held = p.held
	p.mu.Unlock()
	if !held {
		_ = down.Close()
		<-done
		return
	}
	_ = up.Close()
	<-done
	_, _ = io.Copy(io.Discard, down)
}

// forward copies what the client sends to the upstream until either side
// fails, discarding it while the proxy is held.
func (p *linkProxy) forward(up, down net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := down.Read(buf)
		if n > 0 && !p.isHeld() {
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// isHeld reports whether the proxy is held.
func (p *linkProxy) isHeld() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}
