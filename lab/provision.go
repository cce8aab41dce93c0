package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/walletapp"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

// The provisioning parties' names: each signs its envelopes under it and
// presents a TLS certificate of that common name.
const (
	PartyTokenService = "token-service"
	PartyWallet       = "wallet-provider"
	PartyIssuer       = "issuer"
	partyPhone        = "phone"
	// TokenServiceKeys and IssuerPartyKeys prefix the labels of the
	// token service's and the issuer's JOSE key pairs in the issuer's
	// security module (wire.HSMParty: ".../sign", ".../enc").
	TokenServiceKeys = "provision/" + PartyTokenService
	IssuerPartyKeys  = "provision/" + PartyIssuer
	// CloudPartyKeys prefixes the labels of the embedded HCE cloud
	// platform's keys in the issuer's module.
	CloudPartyKeys = "provision/" + PartyCloud
	// SampleWalletRequestor is the sample wallet's token requestor ID
	// (the wallet phone profile's).
	SampleWalletRequestor = "40010075001"
)

// ProvisioningOptions tune StartProvisioning.
type ProvisioningOptions struct {
	// Clock is the time of the token service, the wallet provider, the
	// issuer's ID&V (OTP expiry) and the phones' apps; time.Now when nil.
	Clock func() time.Time
	// Rand draws the parties' keys, references, OTPs and nonces;
	// crypto/rand when nil.
	Rand io.Reader
	// Recommend is the token service's own recommendation to the issuer
	// for a request (wire.DecisionRequireAuthN asks for a step-up); nil or
	// "" keeps the wallet provider's assessment.
	Recommend func(tokensvc.IDVRequest) string
	// Logger receives the services' audit lines (masked); nil discards
	// them.
	Logger *slog.Logger
}

// Provisioning is the wallet flow's services on loopback HTTPS with mutual
// TLS, in front of the embedded issuer: the token service (operated by the
// issuer, its vault the issuer's) and the wallet provider.
type Provisioning struct {
	// TokenServiceAddr and WalletAddr are the services' host:port.
	TokenServiceAddr, WalletAddr string

	n       *Network
	opts    ProvisioningOptions
	bridge  *bridge
	wallet  *walletsvc.Service
	ca      *tlsconf.Authority
	ids     map[string]*tlsconf.Identity
	tsp     *wire.Party
	issuer  *wire.Party
	trust   *wire.TrustList // the phones' apps' trust list
	clock   func() time.Time
	rand    io.Reader
	servers []*http.Server
	done    []chan struct{}
	clients []*wire.Client

	mu     sync.Mutex
	seq    int
	term   *pos.Terminal
	link   *client.Client
	phones map[string]cards.Card // by TUR, for Tap
	// issuerClient is the issuer's service centre's client.
	issuerClient *wire.Client

	// sideMu guards the issuer the services work on: the running issuer
	// host's store and module, made again when it was restarted.
	sideMu sync.Mutex
	sideOf *Issuer
	cur    *issuerSide
}

// side is the running issuer's side of the services: its store, its ID&V
// API and its security module with the token IMK's handle. The issuer
// host may have been stopped and started again on the same data since the
// last call (a new store and module): the side is then made again.
func (p *Provisioning) side() (*issuerSide, error) {
	p.n.mu.Lock()
	iss := p.n.issuer
	p.n.mu.Unlock()
	if iss == nil || iss.HSM == nil {
		return nil, fmt.Errorf("provisioning: %w", ErrIssuerDown)
	}
	p.sideMu.Lock()
	defer p.sideMu.Unlock()
	if p.sideOf == iss {
		return p.cur, nil
	}
	side, err := loadIssuerSide(iss, p.opts.Clock, p.opts.Rand, p.opts.Logger)
	if err != nil {
		return nil, err
	}
	p.sideOf, p.cur = iss, side
	return p.cur, nil
}

// issuerModule is the running issuer host's security module, which holds
// the JOSE keys of the token service and of the issuer (R-S5a).
func (p *Provisioning) issuerModule() (wire.PartyModule, error) {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	if p.n.issuer == nil || p.n.issuer.HSM == nil {
		return nil, fmt.Errorf("provisioning: %w", ErrIssuerDown)
	}
	return p.n.issuer.HSM, nil
}

// StartProvisioning starts the token service and the wallet provider of
// the embedded network n on loopback, each with a certificate of an
// in-memory test CA, and the token IMK in the issuer's security module.
// They work on the issuer host running at each call, so they go on after
// it is stopped and started again. Start already runs one set
// (Network.Provisioning); another is for callers that need options of
// their own. Close it before the network.
func StartProvisioning(ctx context.Context, n *Network, o ProvisioningOptions) (*Provisioning, error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Provisioning{n: n, opts: o, clock: o.Clock, rand: o.Rand, ids: map[string]*tlsconf.Identity{},
		phones: map[string]cards.Card{}}
	if _, err := p.side(); err != nil {
		return nil, err
	}
	p.bridge = &bridge{side: p.side, clock: o.Clock, rand: o.Rand, recommend: o.Recommend,
		pending: map[string]string{}}
	if err := p.start(o); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Provisioning) start(o ProvisioningOptions) error {
	now := time.Now()
	var err error
	if p.ca, err = tlsconf.NewCA(p.rand, "tapsim provisioning test CA", now, 24*time.Hour); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	for _, name := range []string{PartyTokenService, PartyWallet, PartyIssuer, partyPhone} {
		id, err := p.ca.Issue(p.rand, name, []string{name, "localhost", "127.0.0.1"}, now, 24*time.Hour)
		if err != nil {
			return fmt.Errorf("provisioning: %w", err)
		}
		p.ids[name] = id
	}
	tsp, err := wire.HSMParty(PartyTokenService, wire.ModuleFunc(p.issuerModule), TokenServiceKeys)
	if err != nil {
		return err
	}
	wp, err := wire.NewParty(PartyWallet, p.rand)
	if err != nil {
		return err
	}
	if p.issuer, err = wire.HSMParty(PartyIssuer, wire.ModuleFunc(p.issuerModule), IssuerPartyKeys); err != nil {
		return err
	}
	p.tsp = tsp
	if p.trust, err = wire.NewTrustList(tsp.Public(), wp.Public()); err != nil {
		return err
	}
	tspLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	wpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = tspLn.Close()
		return fmt.Errorf("provisioning: %w", err)
	}
	p.TokenServiceAddr, p.WalletAddr = tspLn.Addr().String(), wpLn.Addr().String()

	tspTrust, err := wire.NewTrustList(wp.Public(), p.issuer.Public())
	if err != nil {
		return err
	}
	notifier, err := p.client(PartyTokenService)
	if err != nil {
		return err
	}
	ts, err := newTokenService(p.bridge, tsp, tspTrust, "https://"+p.WalletAddr+walletsvc.PathNotify, notifier,
		p.clock, p.rand, o.Logger)
	if err != nil {
		return err
	}
	if err := p.serve(ts.Handler(), PartyTokenService, tspLn); err != nil {
		_ = wpLn.Close()
		return err
	}
	wpTrust, err := wire.NewTrustList(tsp.Public())
	if err != nil {
		return err
	}
	toTSP, err := p.client(PartyWallet)
	if err != nil {
		return err
	}
	if p.wallet, err = walletsvc.New(walletsvc.Config{
		Me: wp, Trust: wpTrust, TSPParty: PartyTokenService, TSPURL: "https://" + p.TokenServiceAddr,
		TSP: toTSP, RequestorID: SampleWalletRequestor, Clock: p.clock, Rand: p.rand,
		Log: o.Logger.With("host", PartyWallet),
	}); err != nil {
		_ = wpLn.Close()
		return err
	}
	return p.serve(p.wallet.Handler(), PartyWallet, wpLn)
}

func (p *Provisioning) serve(h http.Handler, name string, ln net.Listener) error {
	cfg, err := tlsconf.Server(p.ids[name].TLSCertificate(), p.ca.Pool())
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv, err := wire.NewServer(h, cfg, wire.Limits{})
	if err != nil {
		_ = ln.Close()
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	p.servers, p.done = append(p.servers, srv), append(p.done, done)
	return nil
}

// client is a mutual-TLS client presenting name's certificate.
func (p *Provisioning) client(name string) (*wire.Client, error) {
	cfg, err := tlsconf.Client(p.ids[name].TLSCertificate(), p.ca.Pool(), "")
	if err != nil {
		return nil, err
	}
	c, err := wire.NewClient(cfg, wire.ClientLimits{Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.clients = append(p.clients, c)
	p.mu.Unlock()
	return c, nil
}

// Close stops the services.
func (p *Provisioning) Close() {
	for i, s := range p.servers {
		_ = s.Close()
		<-p.done[i]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.link != nil {
		_ = p.link.Close()
	}
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
}

// NewWalletApp makes the wallet app of a new phone with hardware device ID
// deviceID (hex, 1 to 8 bytes) and wallet account account: its own keys,
// trusting the token service and the wallet provider only, talking to the
// wallet provider over mutual TLS.
func (p *Provisioning) NewWalletApp(deviceID, account string) (*walletapp.App, error) {
	return p.newWalletApp(deviceID, account, nil)
}

// newWalletApp is NewWalletApp with the device's keys given (nil: drawn).
func (p *Provisioning) newWalletApp(deviceID, account string, key *wire.Party) (*walletapp.App, error) {
	c, err := p.client(partyPhone)
	if err != nil {
		return nil, err
	}
	return walletapp.New(walletapp.Config{
		DeviceID: deviceID, WalletAccountID: account, Device: key, Trust: p.trust, TSPParty: PartyTokenService,
		WalletURL: "https://" + p.WalletAddr, Client: c, Clock: p.clock, Rand: p.rand,
	})
}

// WalletStore is the wallet provider's store, for checks that it keeps no
// card data (R-G5g).
func (p *Provisioning) WalletStore() *walletsvc.MemoryStore { return p.wallet.Store() }

// IDV is the issuer's provisioning API the token service uses; nil while
// the issuer host is stopped.
func (p *Provisioning) IDV() *idv.Service {
	s, err := p.side()
	if err != nil {
		return nil
	}
	return s.idv
}

// Inbox is the issuer's message centre for recipient: a registered phone
// number or e-mail address, or a device ID (oldest first). OTPs show
// there as an SMS would show them.
func (p *Provisioning) Inbox(ctx context.Context, recipient string) ([]idv.Message, error) {
	s, err := p.side()
	if err != nil {
		return nil, err
	}
	return s.idv.Inbox(ctx, recipient)
}

var otpRE = regexp.MustCompile(`\b([0-9]{6})\b is your one-time password`)

// LastOTP reads the newest one-time password in recipient's inbox, as the
// cardholder would; false when there is none.
func (p *Provisioning) LastOTP(ctx context.Context, recipient string) (string, bool, error) {
	ms, err := p.Inbox(ctx, recipient)
	if err != nil {
		return "", false, err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Kind != "otp" {
			continue
		}
		if m := otpRE.FindStringSubmatch(ms[i].Body); m != nil {
			return m[1], true, nil
		}
	}
	return "", false, nil
}

// IssuerLifecycle is the issuer's service centre acting on tokens at the
// token service (suspend, resume, delete; a device ID names every token on
// that phone, R-C1), signed by the issuer and over mutual TLS.
func (p *Provisioning) IssuerLifecycle(ctx context.Context, req wire.LifecycleRequest) (wire.LifecycleResponse, error) {
	// The token service keeps the answers to tasks in the issuer's data:
	// a task ID must not repeat when the world starts again on it.
	r := make([]byte, 6)
	if _, err := io.ReadFull(p.rand, r); err != nil {
		return wire.LifecycleResponse{}, fmt.Errorf("issuer lifecycle: random source: %w", err)
	}
	p.mu.Lock()
	p.seq++
	req.TaskID = fmt.Sprintf("issuer-%06d-%s", p.seq, hex.EncodeToString(r))
	p.mu.Unlock()
	if req.Actor == "" {
		req.Actor = wire.ActorIssuer
	}
	env, err := wire.Seal(req, p.issuer, p.tsp.Public(), wire.Header{Type: wire.TypeLifecycleRequest, Clock: p.clock, Rand: p.rand})
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	p.mu.Lock()
	c := p.issuerClient
	p.mu.Unlock()
	if c == nil {
		if c, err = p.client(PartyIssuer); err != nil {
			return wire.LifecycleResponse{}, err
		}
		p.mu.Lock()
		p.issuerClient = c
		p.mu.Unlock()
	}
	ans, err := c.PostEnvelope(ctx, "https://"+p.TokenServiceAddr+tokensvc.PathIssuerLifecycle, env)
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	trust, err := wire.NewTrustList(p.tsp.Public())
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	var resp wire.LifecycleResponse
	_, err = wire.OpenInto(ans, p.issuer, trust, wire.Expect{Type: wire.TypeLifecycleResponse, From: PartyTokenService,
		Replay: wire.NewMemoryReplayCache(0), Clock: p.clock}, &resp)
	return resp, err
}

// CardToken is the issuer's record of a token made for one of its cards:
// the card's ID, the token's reference, device and requestor, and what the
// token service told the issuer.
type CardToken struct {
	CardID, TokenRef, DeviceID, RequestorID string
	Created, Downloaded, Activated          bool
	// VerifiedWith is how the cardholder was verified for the activation
	// (otp, passcode, device-cvm:<method>), "" before it.
	VerifiedWith string
}

// CardTokens lists the issuer's records of the tokens of card cardID.
func (p *Provisioning) CardTokens(ctx context.Context, cardID string) ([]CardToken, error) {
	var out []CardToken
	err := p.n.Issuer().Store().View(ctx, func(tx *store.Tx) error {
		ks, err := tx.CardTokens(ctx, cardID)
		for _, k := range ks {
			out = append(out, CardToken{CardID: k.CardID, TokenRef: k.TokenRef, DeviceID: k.DeviceID, RequestorID: k.RequestorID,
				Created: !k.CreatedAt.IsZero(), Downloaded: !k.DownloadedAt.IsZero(), Activated: !k.ActivatedAt.IsZero(),
				VerifiedWith: k.ActivatedBy})
		}
		return err
	})
	return out, err
}

// FundingCard is the card of built-in profile name as its holder would type
// it into a wallet: PAN, expiry (YYMM) and the security code on its back
// (CVV2 under the issuer's card verification key); with the issuer's card
// ID and the registered phone number the issuer sends OTPs to.
type FundingCard struct {
	Card   wire.CardData
	CardID string
	Phone  string
	Email  string
}

// String shows the card masked.
func (f FundingCard) String() string { return f.CardID + " " + f.Card.String() }

// SampleFundingCard reads the funding card of built-in plastic profile
// name at the embedded issuer.
func SampleFundingCard(ctx context.Context, n *Network, name string) (FundingCard, error) {
	p, err := cards.Builtin(name)
	if err != nil {
		return FundingCard{}, err
	}
	if p.FormFactor != cards.FormPlastic && p.FormFactor != "" || p.App == nil {
		return FundingCard{}, fmt.Errorf("%s is not a plastic card", name)
	}
	fc, err := fundingCard(ctx, n, p.App.PAN)
	if err != nil {
		return FundingCard{}, fmt.Errorf("funding card %s: %w", name, err)
	}
	return fc, nil
}

// fundingCard reads the issuer's card of PAN number as its holder would
// type it into a wallet.
func fundingCard(ctx context.Context, n *Network, number string) (FundingCard, error) {
	n.mu.Lock()
	iss := n.issuer
	n.mu.Unlock()
	if iss == nil || iss.HSM == nil {
		return FundingCard{}, ErrIssuerDown
	}
	return fundingCardAt(ctx, iss, number)
}

// fundingCardAt is fundingCard on the issuer iss.
func fundingCardAt(ctx context.Context, iss *Issuer, number string) (FundingCard, error) {
	var c store.Card
	var contact store.CardContact
	if err := iss.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = tx.CardByPAN(ctx, number); err != nil {
			return err
		}
		contact, err = tx.CardContact(ctx, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	}); err != nil {
		return FundingCard{}, err
	}
	code, err := issuerhost.SampleCVV2(iss.HSM, c.PAN, c.Expiry)
	if err != nil {
		return FundingCard{}, err
	}
	return FundingCard{Card: wire.CardData{PAN: c.PAN, Expiry: c.Expiry, SecurityCode: code}, CardID: c.ID,
		Phone: contact.Phone, Email: contact.Email}, nil
}

// WalletPhone builds the wallet phone that holds the token card c: the
// sample wallet phone (its passcode, CDCVM rules and test ODA keys) with
// the token PAN, expiry, PSN, CVN, ICC master key, requestor and device ID
// the token service delivered, and accountLast4, the funding card's last
// 4 digits the wallet shows (9F25). Its clock is now.
func WalletPhone(c walletapp.Card, accountLast4 string, now func() time.Time) (cards.Card, error) {
	p, err := cards.Builtin("wallet-phone")
	if err != nil {
		return nil, err
	}
	if len(c.TokenExpiry) != 4 {
		return nil, fmt.Errorf("wallet phone: token expiry must be YYMM")
	}
	dev, err := hex.DecodeString(c.DeviceID)
	if err != nil {
		return nil, fmt.Errorf("wallet phone: device ID: %w", err)
	}
	app := *p.App
	app.PAN, app.PSN, app.CVN = c.TokenPAN, c.PSN, c.CVN
	app.Expiry = "20" + c.TokenExpiry[:2] + "-" + c.TokenExpiry[2:]
	app.IMK, app.MK = nil, c.MasterKey
	tok := *app.Token
	tok.RequestorID, tok.PANLast4, tok.FundingPAN = c.RequestorID, accountLast4, ""
	app.Token = &tok
	ph := *p.Phone
	ph.DeviceID = dev
	p.App, p.Phone, p.Name = &app, &ph, "wallet-phone-provisioned"
	return cards.FromProfile(p, cards.Options{Clock: now})
}
