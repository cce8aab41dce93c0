package lab

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/walletsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// The provisioning parties' key material on disk (WriteProvisioningPKI),
// under a PKI directory (tapsim pki init --dir DIR):
//
//	DIR/ca.pem                                   the test CA every party trusts
//	DIR/provisioning/NAME.pem, NAME-key.pem      NAME's TLS certificate (CN NAME) and key (0600)
//	DIR/provisioning/NAME.jose.pem               NAME's JOSE keys, signing and encryption (0600)
//	DIR/provisioning/NAME.hsm.json               the security module of the SP TSM's and the SE TSM's
//	                                             JOSE keys (ModuleParties), keys wrapped under its LMK
//	DIR/provisioning/se-authority.hsm.json       the SE authority's security module, its key pair inside
//	DIR/provisioning/se-authority.pub.pem        the SE authority's public key
//	DIR/provisioning/directory.json              every institution's public JOSE keys
//
// The phones share one TLS client certificate ("phone"); each phone's app
// draws its own device keys, sent in its requests, so there is no phone
// key file.
const (
	// ProvisioningPKIDir is the subdirectory of the parties' files.
	ProvisioningPKIDir = "provisioning"
	// DirectoryFile is the public directory: a wire trust list of every
	// institution's public keys, which each process loads and keeps the
	// parties it deals with from.
	DirectoryFile = "directory.json"
	// PartyPhone is the name on the phones' TLS certificate.
	PartyPhone = partyPhone
)

// ProvisioningParties are the institutions with JOSE keys in the
// directory. The HCE cloud platform has none there: the issuer operating
// it keeps its keys in its security module and publishes their public
// half in its data directory (PublishCloudKeys).
var ProvisioningParties = []string{PartyTokenService, PartyWallet, PartyIssuer, PartySPTSM, PartySETSM, PartySEOperator}

// PartySEOperator is the SE operator's system that registers the SEs it
// issued with its SE TSM.
const PartySEOperator = "se-operator"

// ReasonPeerNotAllowed is the refusal reason of a TLS client whose
// certificate names a party not allowed on an endpoint.
const ReasonPeerNotAllowed = "peer_not_allowed"

// ErrPKI reports missing or unusable provisioning key material.
var ErrPKI = errors.New("lab: provisioning key material")

// WriteProvisioningPKI writes, under dir/provisioning, a TLS certificate
// signed by ca (names hosts) and a key for each party and the phones, the
// institutions' JOSE keys (0600) and the public directory. Existing files
// are kept (an error wrapping fs.ErrExist) unless overwrite. It returns
// the paths written.
func WriteProvisioningPKI(dir string, ca *tlsconf.Authority, hosts []string, now time.Time, validity time.Duration,
	overwrite bool, rnd io.Reader) ([]string, error) {
	sub := filepath.Join(dir, ProvisioningPKIDir)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	var out []string
	// The SE TSM's OTA listener has a certificate of its own (R-S4b).
	for _, name := range append(append([]string{}, ProvisioningParties...), PartyPhone, PartySEOTA) {
		id, err := ca.Issue(rnd, name, append([]string{name}, hosts...), now, validity)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrPKI, err)
		}
		cert, key, err := id.WriteFiles(sub, name, overwrite)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrPKI, err)
		}
		out = append(out, cert, key)
	}
	dirList := &wire.TrustList{}
	for _, name := range ProvisioningParties {
		if slices.Contains(ModuleParties, name) {
			pub, path, err := writeModuleParty(sub, name, overwrite)
			if err != nil {
				return out, err
			}
			out = append(out, path)
			if err := dirList.Add(pub); err != nil {
				return out, err
			}
			continue
		}
		p, err := wire.NewParty(name, rnd)
		if err != nil {
			return out, err
		}
		path := filepath.Join(sub, name+".jose.pem")
		if err := p.WriteFile(path, overwrite); err != nil {
			return out, fmt.Errorf("%w: %w", ErrPKI, err)
		}
		out = append(out, path)
		if err := dirList.Add(p.Public()); err != nil {
			return out, err
		}
	}
	auth, err := writeSEAuthority(sub, overwrite)
	out = append(out, auth...)
	if err != nil {
		return out, err
	}
	path := filepath.Join(sub, DirectoryFile)
	if err := wire.WriteTrustFile(path, dirList, overwrite); err != nil {
		return out, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	return append(out, path), nil
}

// ProvisioningPKI reads the parties' files under a PKI directory (see
// WriteProvisioningPKI).
type ProvisioningPKI struct {
	// Dir is the PKI directory (tapsim pki init --dir).
	Dir string
}

func (k ProvisioningPKI) path(file string) string {
	return filepath.Join(k.Dir, ProvisioningPKIDir, file)
}

func (k ProvisioningPKI) need(file string) (string, error) {
	p := k.path(file)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %s/%s missing (run tapsim pki init --dir %s)", ErrPKI, ProvisioningPKIDir, file, k.Dir)
	}
	return p, nil
}

// caFile is the CA every party trusts.
func (k ProvisioningPKI) caFile() (string, error) {
	p := filepath.Join(k.Dir, "ca.pem")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: ca.pem missing (run tapsim pki init --dir %s)", ErrPKI, k.Dir)
	}
	return p, nil
}

func (k ProvisioningPKI) tlsFiles(name string) (ca, cert, key string, err error) {
	if ca, err = k.caFile(); err != nil {
		return
	}
	if cert, err = k.need(name + ".pem"); err != nil {
		return
	}
	key, err = k.need(name + "-key.pem")
	return
}

// ServerTLS is the mutual-TLS server configuration of party name: its
// certificate, and clients accepted only with a certificate of the CA.
func (k ProvisioningPKI) ServerTLS(name string, now time.Time) (*tls.Config, error) {
	ca, cert, key, err := k.tlsFiles(name)
	if err != nil {
		return nil, err
	}
	cfg, err := tlsconf.ServerFiles(cert, key, ca, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPKI, name, err)
	}
	return cfg, nil
}

// Client is a mutual-TLS provisioning client presenting party name's
// certificate and trusting the CA only.
func (k ProvisioningPKI) Client(name string, now time.Time) (*wire.Client, error) {
	ca, cert, key, err := k.tlsFiles(name)
	if err != nil {
		return nil, err
	}
	cfg, err := tlsconf.ClientFiles(ca, cert, key, "", now)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPKI, name, err)
	}
	return wire.NewClient(cfg, wire.ClientLimits{Timeout: 30 * time.Second})
}

// Party reads the JOSE keys of party name (its .jose.pem file). The
// parties whose keys are in a security module (ModuleParties) have no key
// file: ModuleParty opens them.
func (k ProvisioningPKI) Party(name string) (*wire.Party, error) {
	if slices.Contains(ModuleParties, name) {
		return nil, fmt.Errorf("%w: %s's JOSE keys are in its security module (%s/%s), not in a key file",
			ErrPKI, name, ProvisioningPKIDir, ModuleKeystore(name))
	}
	p, err := k.need(name + ".jose.pem")
	if err != nil {
		return nil, err
	}
	return wire.LoadParty(p)
}

// Trust is the trust list of the parties names, read from the
// directory; a name missing from it is an error.
func (k ProvisioningPKI) Trust(names ...string) (*wire.TrustList, error) {
	p, err := k.need(DirectoryFile)
	if err != nil {
		return nil, err
	}
	all, err := wire.LoadTrustList(p)
	if err != nil {
		return nil, err
	}
	out := &wire.TrustList{}
	for _, n := range names {
		pk, ok := all.Party(n)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not in %s", ErrPKI, n, DirectoryFile)
		}
		if err := out.Add(pk); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// IssuerServicesOptions configure NewIssuerServices.
type IssuerServicesOptions struct {
	// TokenService is the token service's party (keys).
	TokenService *wire.Party
	// Trust holds the parties the token service accepts envelopes from:
	// the wallet provider and the issuer.
	Trust *wire.TrustList
	// WalletNotifyURL is the wallet provider's notification endpoint
	// (https://host:port/tsp/notify); none are sent when empty.
	WalletNotifyURL string
	// Notifier is the token service's mutual-TLS client to the wallet
	// provider; required with WalletNotifyURL.
	Notifier *wire.Client
	// Cloud is the HCE cloud platform's party (keys); the issuer serves
	// the platform beside the token service when it is set.
	Cloud *wire.Party
	// Ledger is the issuer's cloud key ledger (OpenCloudLedger), which
	// the issuer host's authorisation reads; required with Cloud.
	Ledger *issuercloud.Ledger
	// SPTSM, when set, is the SP TSM's public keys: the issuer then also
	// checks the cardholder's code of its SE downloads for it
	// (PathSEVerify, R-S3c).
	SPTSM *wire.PublicKeys
	// Clock, Rand, Recommend and Logger are as in ProvisioningOptions.
	Clock     func() time.Time
	Rand      io.Reader
	Recommend func(tokensvc.IDVRequest) string
	Logger    *slog.Logger
}

// IssuerServices are the issuer's provisioning services on its own store
// and security module: the token service it operates (its vault the
// issuer's, the same bridge as the embedded network's) and its ID&V API.
type IssuerServices struct {
	seVerify http.Handler
	idv      *idv.Service
	ts       *tokensvc.Service
	cloud    *cloudsvc.Service
	log      *slog.Logger
}

// NewIssuerServices builds the issuer's provisioning services on r (store
// and security module): the token IMK is loaded into the module when
// missing.
func NewIssuerServices(r *Issuer, o IssuerServicesOptions) (*IssuerServices, error) {
	if r == nil || r.DB == nil || r.HSM == nil {
		return nil, fmt.Errorf("provisioning: %w", ErrIssuerDown)
	}
	if o.TokenService == nil || o.Trust == nil {
		return nil, fmt.Errorf("%w: the token service's keys and trust list are required", ErrPKI)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	svc, b, err := newIssuerSide(r, o.Clock, o.Rand, o.Recommend, o.Logger)
	if err != nil {
		return nil, err
	}
	ts, err := newTokenService(b, o.TokenService, o.Trust, o.WalletNotifyURL, o.Notifier, o.Clock, o.Rand, o.Logger)
	if err != nil {
		return nil, err
	}
	out := &IssuerServices{idv: svc, ts: ts, log: o.Logger}
	if o.SPTSM != nil {
		trust, err := wire.NewTrustList(*o.SPTSM)
		if err != nil {
			return nil, err
		}
		out.seVerify = seVerifyHandler(svc, o.TokenService, trust, o.Clock)
	}
	if o.Cloud != nil {
		if out.cloud, err = newIssuerCloud(r, svc, o.Cloud, o.Ledger, o.Clock, o.Rand, o.Logger); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newIssuerSide is the issuer's side of the services on r and the bridge
// the token service works through, on that one issuer.
func newIssuerSide(r *Issuer, clock func() time.Time, rnd io.Reader, recommend func(tokensvc.IDVRequest) string,
	logger *slog.Logger) (*idv.Service, *bridge, error) {
	side, err := loadIssuerSide(r, clock, rnd, logger)
	if err != nil {
		return nil, nil, err
	}
	b := &bridge{side: func() (*issuerSide, error) { return side, nil }, clock: clock, rand: rnd, recommend: recommend,
		pending: map[string]string{}}
	return side.idv, b, nil
}

// loadIssuerSide is r's ID&V API and the handle of the token IMK in r's
// module. The sample token IMK is loaded once into the module (a key
// ceremony); from then on only its handle is used.
func loadIssuerSide(r *Issuer, clock func() time.Time, rnd io.Reader, logger *slog.Logger) (*issuerSide, error) {
	clear, err := keys.ParseHex(keys.TDES, TokenIMK)
	if err != nil {
		return nil, fmt.Errorf("provisioning: token IMK: %w", err)
	}
	imk, err := issuerKey(r.HSM, TokenIMKLabel, hsm.UsageIMKAC, clear)
	if err != nil {
		return nil, fmt.Errorf("provisioning: token IMK: %w", err)
	}
	svc, err := idv.New(idv.Config{DB: r.DB, HSM: r.HSM, Now: clock, Rand: rnd, Logger: logger.With("host", "issuer-idv")})
	if err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return &issuerSide{db: r.DB, idv: svc, sm: r.HSM, imk: imk}, nil
}

// newTokenService is the token service the issuer operates over b,
// serving the sample wallet's requestor; its state and the envelopes it
// accepted are in the issuer's database (serviceStore, serviceReplay), so
// that they outlive the process.
func newTokenService(b *bridge, me *wire.Party, trust *wire.TrustList, notifyURL string, notifier *wire.Client,
	clock func() time.Time, rnd io.Reader, logger *slog.Logger) (*tokensvc.Service, error) {
	return tokensvc.New(tokensvc.Config{
		Me: me, Trust: trust, IssuerParty: PartyIssuer, Issuer: b, Vault: b, Store: &serviceStore{db: b.issuer, clock: clock},
		Replay:     &serviceReplay{db: b.issuer},
		Requestors: []tokensvc.Requestor{{ID: SampleWalletRequestor, Party: PartyWallet, NotifyURL: notifyURL}},
		Notifier:   notifier, Clock: clock, Rand: rnd, Log: logger.With("host", PartyTokenService),
	})
}

// Handler serves the token service's API (tokensvc paths), under /idv/
// the issuer's ID&V API, which only a client presenting the token
// service's certificate may call, and, when the issuer operates it, under
// /hce/ the HCE cloud platform's phones' API, which only a client
// presenting the phones' certificate may call, and its service centre's
// reset of a phone's mobile PIN tries (PathCloudResetPIN) and lost-phone
// report (PathCloudReportLost), the issuer's certificate only; the phones' certificate is
// good for nothing else (others: 403 peer_not_allowed). Serve it with
// wire.NewServer (mutual TLS).
func (s *IssuerServices) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/idv/", OnlyPeer(PartyTokenService, idv.Handler(s.idv, idv.WithoutInbox()), s.log))
	if s.seVerify != nil {
		mux.Handle(PathSEVerify, OnlyPeer(PartySPTSM, s.seVerify, s.log))
	}
	if s.cloud != nil {
		mux.Handle("/hce/", peerGate(func(cn string) bool { return cn == PartyPhone }, s.cloud.Handler(), s.log,
			"this API is the phones' only"))
		mux.Handle(PathCloudResetPIN, OnlyPeer(PartyIssuer, cloudAdminHandler(s.cloud, s.log), s.log))
		mux.Handle(PathCloudReportLost, OnlyPeer(PartyIssuer, cloudLostHandler(s.cloud, s.log), s.log))
	}
	mux.Handle("/", peerGate(func(cn string) bool { return cn != PartyPhone }, s.ts.Handler(), s.log,
		"a phone's certificate is good for the cloud platform's API only"))
	return mux
}

// Cloud is the HCE cloud platform the issuer operates, for its staff
// (ReportLost, ResetMobilePIN, ReadCard); nil when not served.
func (s *IssuerServices) Cloud() *cloudsvc.Service { return s.cloud }

// IDV is the issuer's ID&V service.
func (s *IssuerServices) IDV() *idv.Service { return s.idv }

// OnlyPeer passes to h the requests of a TLS client whose certificate's
// common name is name; any other is refused 403 peer_not_allowed.
func OnlyPeer(name string, h http.Handler, logger *slog.Logger) http.Handler {
	return peerGate(func(cn string) bool { return cn == name }, h, logger, "this API is the "+name+"'s only")
}

// peerGate passes to h the requests of a TLS client whose certificate's
// common name allow takes; any other is refused 403 peer_not_allowed
// with msg.
func peerGate(allow func(cn string) bool, h http.Handler, logger *slog.Logger, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !allow(r.TLS.PeerCertificates[0].Subject.CommonName) {
			if logger != nil {
				logger.Warn("request refused", "path", r.URL.Path, "reason", ReasonPeerNotAllowed, "peer", r.RemoteAddr)
			}
			wire.WriteRefusal(w, wire.Refuse(http.StatusForbidden, ReasonPeerNotAllowed, msg))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// WalletProviderOptions configure NewWalletProvider.
type WalletProviderOptions struct {
	// Me is the wallet provider's party (keys).
	Me *wire.Party
	// Trust holds the token service's public keys.
	Trust *wire.TrustList
	// TokenServiceURL is the token service's base URL (https://host:port).
	TokenServiceURL string
	// Client is the mutual-TLS client to the token service.
	Client *wire.Client
	// Clock, Rand and Logger are as in ProvisioningOptions.
	Clock  func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// NewWalletProvider is the sample wallet's provider (requestor
// SampleWalletRequestor) in front of the token service at
// o.TokenServiceURL.
func NewWalletProvider(o WalletProviderOptions) (*walletsvc.Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return walletsvc.New(walletsvc.Config{
		Me: o.Me, Trust: o.Trust, TSPParty: PartyTokenService, TSPURL: o.TokenServiceURL,
		TSP: o.Client, RequestorID: SampleWalletRequestor, Clock: o.Clock, Rand: o.Rand,
		Log: o.Logger.With("host", PartyWallet),
	})
}
