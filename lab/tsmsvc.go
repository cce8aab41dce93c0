package lab

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/tsm/sqlstore"
	"github.com/tapsim/tapsim/provision/wire"
)

// TSMServiceOptions configure an SP TSM or an SE TSM run as its own
// process, its keys and certificates from a PKI directory (tapsim pki
// init): the TSMs talk HTTPS with mutual TLS under the directory's CA and
// seal every message to each other (R-S4b, R-G1, R-G2).
type TSMServiceOptions struct {
	PKI ProvisioningPKI
	// Listen is the SP TSM's listener (issuers' orders, the SE TSM's
	// relay), or the SE TSM's back office (the SP TSM, the SE operator's
	// registrations).
	Listen string
	// OTAListen is the SE TSM's OTA listener, the phones' (R-S4b: apart
	// from the back office).
	OTAListen string
	// PeerURL is the other TSM's: the SE TSM's back office for the SP TSM,
	// the SP TSM's listener for the SE TSM (https://host:port).
	PeerURL string
	// IssuerIDVURL, for the SP TSM, is the issuer's provisioning listener
	// (https://host:port), whose ID&V checks the cardholder's code of each
	// download (PathSEVerify, R-S3c); without it every order is refused
	// issuer_idv_required.
	IssuerIDVURL string
	// DataDir, when set, keeps the TSM's state and transaction log in an
	// SQLite database of its own there (NAME.db) and its security module's
	// keystore (NAME-keys.json, under the LMK of TAPSIM_HSM_LMK or the
	// sample one), so that they outlive the process; in memory otherwise.
	DataDir string
	Now     func() time.Time
	Rand    io.Reader
	Logger  *slog.Logger
}

// TSMService is a TSM serving on its listeners.
type TSMService struct {
	// Addr is the main listener's address; OTAAddr the SE TSM's OTA one.
	Addr, OTAAddr string
	// SP or SE is the TSM.
	SP *tsm.SPTSM
	SE *tsm.SETSM

	servers []*http.Server
	// module holds the at-rest key of the TSM's state; identity its JOSE
	// key pairs (ModuleParty).
	module, identity *soft.HSM
	client           *wire.Client
	store            *sqlstore.Store
}

// Close stops the listeners, the downloads in progress and the security
// module.
func (s *TSMService) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	if s.SP != nil {
		s.SP.Close()
	}
	if s.SE != nil {
		s.SE.Close()
	}
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	if s.module != nil {
		_ = s.module.Close()
	}
	if s.identity != nil {
		_ = s.identity.Close()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// StoreFile is the database of TSM name under a data directory.
func StoreFile(dir, name string) string { return filepath.Join(dir, name+".db") }

func (o *TSMServiceOptions) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// serve listens on addr and serves h as party name of the PKI.
func (s *TSMService) serve(o TSMServiceOptions, addr, name string, h http.Handler) (string, error) {
	cfg, err := o.PKI.ServerTLS(name, o.Now())
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv, err := tsm.Serve(h, ln, cfg)
	if err != nil {
		_ = ln.Close()
		return "", err
	}
	s.servers = append(s.servers, srv)
	return ln.Addr().String(), nil
}

// start is the common part: the TSM's security module of its state (a
// fresh key per process, R-S4a), its JOSE identity in the security module
// of its own under the PKI directory (ModuleParty), and its client.
func (s *TSMService) start(o TSMServiceOptions, name string) (*wire.Party, hsm.Handle, error) {
	label := name + "/at-rest"
	var dek hsm.Handle
	if o.DataDir != "" {
		m, err := OpenSoftHSM(name, o.DataDir, name+"-keys.json", o.Logger)
		if err != nil {
			return nil, hsm.Handle{}, err
		}
		s.module = m
		if s.store, err = sqlstore.Open(StoreFile(o.DataDir, name)); err != nil {
			return nil, hsm.Handle{}, err
		}
		if dek, err = atRestKey(m, label); err != nil {
			return nil, hsm.Handle{}, err
		}
	} else {
		lmk := make([]byte, 32)
		if _, err := io.ReadFull(o.Rand, lmk); err != nil {
			return nil, hsm.Handle{}, err
		}
		m, err := soft.Open(soft.Config{LMK: keys.MustNew(keys.AES, lmk), Rand: o.Rand})
		clear(lmk)
		if err != nil {
			return nil, hsm.Handle{}, err
		}
		s.module = m
		if dek, err = m.GenerateKey(label, hsm.UsageDEK, keys.AES, 32); err != nil {
			return nil, hsm.Handle{}, err
		}
	}
	me, id, err := o.PKI.ModuleParty(name, o.Logger)
	if err != nil {
		return nil, hsm.Handle{}, err
	}
	s.identity = id
	if s.client, err = o.PKI.Client(name, o.Now()); err != nil {
		return nil, hsm.Handle{}, err
	}
	return me, dek, nil
}

// tsmStore is the SQLite store, or nil (in memory).
func (s *TSMService) tsmStore() tsm.Store {
	if s.store == nil {
		return nil
	}
	return s.store
}

// StartSPTSMService runs an SP TSM on o.Listen for the issuer of the PKI
// directory, handing orders to the SE TSM at o.PeerURL. With
// o.IssuerIDVURL the issuer's ID&V checks the cardholder's code; without
// it every order is refused issuer_idv_required (R-S3c).
func StartSPTSMService(o TSMServiceOptions) (_ *TSMService, err error) {
	o.defaults()
	if o.PeerURL == "" {
		return nil, errors.New("lab: the SP TSM needs the SE TSM's URL")
	}
	s := &TSMService{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	me, dek, err := s.start(o, PartySPTSM)
	if err != nil {
		return nil, err
	}
	trust, err := o.PKI.Trust(PartyIssuer, PartySETSM)
	if err != nil {
		return nil, err
	}
	// The SE authority, when the directory has it (pki init writes it; a
	// directory made before does not): confidential key setup on shared
	// SEs.
	var authority *ecdsa.PublicKey
	if _, err := os.Stat(o.PKI.path(seAuthorityPubFile)); err == nil {
		if authority, err = o.PKI.SEAuthorityPublic(); err != nil {
			return nil, err
		}
	}
	var verifier tsm.CardholderVerifier
	if o.IssuerIDVURL != "" {
		ts, err := o.PKI.Trust(PartyTokenService)
		if err != nil {
			return nil, err
		}
		to, _ := ts.Party(PartyTokenService)
		verifier = RemoteIDV{URL: o.IssuerIDVURL, Me: me, Issuer: to, Client: s.client, Clock: o.Now}
	}
	if s.SP, err = tsm.NewSPTSM(tsm.SPConfig{Party: me, Trust: trust, Issuers: []string{PartyIssuer}, Peers: []string{PartyIssuer}, Verifier: verifier, SEAuthority: authority,
		SETSMPeers: []string{PartySETSM}, SETSM: PartySETSM, SETSMURL: o.PeerURL, Client: s.client, Vault: s.module, DEK: dek, Store: s.tsmStore(),
		Now: o.Now, Rand: o.Rand, Logger: o.Logger.With("host", PartySPTSM)}); err != nil {
		return nil, err
	}
	if s.Addr, err = s.serve(o, o.Listen, PartySPTSM, s.SP.Handler()); err != nil {
		return nil, err
	}
	return s, nil
}

// StartSETSMService runs an SE TSM: its back office on o.Listen (the SP
// TSM at o.PeerURL, the SE operator's registrations) and its OTA listener
// on o.OTAListen (the phones), apart (R-S4b).
func StartSETSMService(o TSMServiceOptions) (_ *TSMService, err error) {
	o.defaults()
	if o.PeerURL == "" {
		return nil, errors.New("lab: the SE TSM needs the SP TSM's URL")
	}
	s := &TSMService{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	me, dek, err := s.start(o, PartySETSM)
	if err != nil {
		return nil, err
	}
	trust, err := o.PKI.Trust(PartyIssuer, PartySPTSM, PartySEOperator)
	if err != nil {
		return nil, err
	}
	if s.SE, err = tsm.NewSETSM(tsm.SEConfig{Party: me, Trust: trust, SPTSMs: []string{PartySPTSM}, Issuers: []string{PartyIssuer},
		Registrars: []string{PartySEOperator}, BackOfficePeers: []string{PartySPTSM, PartySEOperator},
		SPTSMURLs: map[string]string{PartySPTSM: o.PeerURL}, Client: s.client, Vault: s.module, DEK: dek, Store: s.tsmStore(),
		Now: o.Now, Rand: o.Rand, Logger: o.Logger.With("host", PartySETSM)}); err != nil {
		return nil, err
	}
	if s.Addr, err = s.serve(o, o.Listen, PartySETSM, s.SE.BackOffice()); err != nil {
		return nil, err
	}
	if s.OTAAddr, err = s.serve(o, o.OTAListen, PartySEOTA, s.SE.OTA()); err != nil {
		return nil, err
	}
	return s, nil
}

// The SE authority's key under a PKI directory: it certifies the SEs'
// key-agreement keys at manufacture (gp.CertifySE). Its key pair is made
// and kept in a soft security module of its own (seAuthorityKeystore,
// wrapped under the LMK), its public half, which the SP TSM trusts, in
// seAuthorityPubFile. seAuthorityKeyFile is where directories made before
// kept the private key in clear; it is no longer read.
const (
	seAuthorityKeyFile  = "se-authority-key.pem"
	seAuthorityPubFile  = "se-authority.pub.pem"
	seAuthorityKeystore = "se-authority.hsm.json"
	seAuthorityLabel    = "se-authority/sign"
)

// ModuleParties are the provisioning parties whose JOSE keys are made and
// kept in a soft security module of their own under the PKI directory
// (NAME.hsm.json, wrapped under the LMK of TAPSIM_HSM_LMK or the sample
// one), never in a key file: the SP TSM and the SE TSM (R-S4a, R-G5a).
// Their public halves are in the directory like the others'.
var ModuleParties = []string{PartySPTSM, PartySETSM}

// ModuleKeystore is the file of the security module of party name under
// the PKI directory's provisioning subdirectory.
func ModuleKeystore(name string) string { return name + ".hsm.json" }

// moduleLabel is the label prefix of a module party's key pairs.
func moduleLabel(name string) string { return "tsm/" + name }

// newModule opens a fresh soft module whose keystore is file under sub;
// an existing keystore is kept (fs.ErrExist) unless overwrite.
func newModule(sub, file string, overwrite bool) (*soft.HSM, string, error) {
	path := filepath.Join(sub, file)
	if _, err := os.Stat(path); err == nil {
		if !overwrite {
			return nil, path, fmt.Errorf("%w: %s: %w", ErrPKI, path, fs.ErrExist)
		}
		if err := os.Remove(path); err != nil {
			return nil, path, fmt.Errorf("%w: %w", ErrPKI, err)
		}
	}
	m, err := OpenSoftHSM(file, sub, file, nil)
	if err != nil {
		return nil, path, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	return m, path, nil
}

// writeModuleParty makes party name's JOSE key pairs inside a new security
// module under sub and returns their public half and the keystore's path.
func writeModuleParty(sub, name string, overwrite bool) (wire.PublicKeys, string, error) {
	m, path, err := newModule(sub, ModuleKeystore(name), overwrite)
	if err != nil {
		return wire.PublicKeys{}, path, err
	}
	defer m.Close()
	p, err := wire.HSMParty(name, m, moduleLabel(name))
	if err != nil {
		return wire.PublicKeys{}, path, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	return p.Public(), path, nil
}

// writeSEAuthority makes the SE authority's key pair inside a new security
// module under sub and writes its public half.
func writeSEAuthority(sub string, overwrite bool) ([]string, error) {
	m, path, err := newModule(sub, seAuthorityKeystore, overwrite)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	out := []string{path}
	_, key, err := m.GenerateP256(seAuthorityLabel, hsm.UsageECSign)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return out, err
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	pubPath := filepath.Join(sub, seAuthorityPubFile)
	fh, err := os.OpenFile(pubPath, flag, 0o644)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	err = pem.Encode(fh, &pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	return append(out, pubPath), nil
}

// ModuleParty opens the security module of party name (one of
// ModuleParties) under the PKI directory and returns the party whose key
// pairs it holds, checked against the directory's public keys. The caller
// closes the module. A directory made before the module, whose keys are
// in a key file in clear, is refused with what to run.
func (k ProvisioningPKI) ModuleParty(name string, logger *slog.Logger) (*wire.Party, *soft.HSM, error) {
	file := ModuleKeystore(name)
	if _, err := os.Stat(k.path(file)); err != nil {
		if _, old := os.Stat(k.path(name + ".jose.pem")); old == nil {
			return nil, nil, fmt.Errorf("%w: %s/%s.jose.pem holds %s's JOSE keys in clear, which is no longer used: "+
				"run tapsim pki init --dir %s --force to make them in its own security module (%s/%s)",
				ErrPKI, ProvisioningPKIDir, name, name, k.Dir, ProvisioningPKIDir, file)
		}
		return nil, nil, fmt.Errorf("%w: %s/%s missing (run tapsim pki init --dir %s)", ErrPKI, ProvisioningPKIDir, file, k.Dir)
	}
	m, err := OpenSoftHSM(name, filepath.Join(k.Dir, ProvisioningPKIDir), file, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s's security module: %w", ErrPKI, name, err)
	}
	p, err := func() (*wire.Party, error) {
		var h [2]hsm.Handle
		for i, l := range []string{wire.HSMLabelSign, wire.HSMLabelEnc} {
			if h[i], err = m.Lookup(moduleLabel(name) + l); err != nil {
				return nil, err
			}
		}
		p, err := wire.NewHSMParty(name, m, h[0], h[1])
		if err != nil {
			return nil, err
		}
		dir, err := k.Trust(name)
		if err != nil {
			return nil, err
		}
		want, _ := dir.Party(name)
		if got := p.Public(); got.SignKID != want.SignKID || got.EncKID != want.EncKID {
			return nil, fmt.Errorf("%w: the keys of %s's security module are not those of %s (run tapsim pki init --dir %s --force)",
				ErrPKI, name, DirectoryFile, k.Dir)
		}
		return p, nil
	}()
	if err != nil {
		_ = m.Close()
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrPKI, name, err)
	}
	return p, m, nil
}

// SEAuthorityCertifier opens the SE authority's security module and
// returns what certifies an SE's key-agreement key with it (gp.CertifySE)
// and the function that closes the module. ok is false when the directory
// has no SE authority (made before there was one). A directory whose
// authority key is a key file in clear is refused with what to run.
func (k ProvisioningPKI) SEAuthorityCertifier() (certify func(seid string, pub *ecdh.PublicKey) ([]byte, error), closeFn func(), ok bool, err error) {
	if _, err := os.Stat(k.path(seAuthorityKeystore)); err != nil {
		if _, old := os.Stat(k.path(seAuthorityKeyFile)); old == nil {
			return nil, nil, false, fmt.Errorf("%w: %s/%s holds the SE authority's key in clear, which is no longer used: "+
				"run tapsim pki init --dir %s --force to make it in the authority's security module (%s/%s)",
				ErrPKI, ProvisioningPKIDir, seAuthorityKeyFile, k.Dir, ProvisioningPKIDir, seAuthorityKeystore)
		}
		return nil, nil, false, nil
	}
	m, err := OpenSoftHSM("SE authority", filepath.Join(k.Dir, ProvisioningPKIDir), seAuthorityKeystore, nil)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	h, err := m.Lookup(seAuthorityLabel)
	if err != nil {
		_ = m.Close()
		return nil, nil, false, fmt.Errorf("%w: the SE authority's security module: %w", ErrPKI, err)
	}
	certify = func(seid string, pub *ecdh.PublicKey) ([]byte, error) {
		return gp.CertifySE(seid, pub, func(d []byte) ([]byte, error) { return m.SignES256(h, d) })
	}
	return certify, func() { _ = m.Close() }, true, nil
}

func (k ProvisioningPKI) pemBlock(file, typ string) ([]byte, error) {
	p, err := k.need(file)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPKI, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("%w: %s is not a %s", ErrPKI, file, typ)
	}
	return blk.Bytes, nil
}

// SEAuthorityPublic is the SE authority's public key, which the SP TSM
// trusts.
func (k ProvisioningPKI) SEAuthorityPublic() (*ecdsa.PublicKey, error) {
	der, err := k.pemBlock(seAuthorityPubFile, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if e, ok := key.(*ecdsa.PublicKey); err == nil && ok && e.Curve == elliptic.P256() {
		return e, nil
	}
	return nil, fmt.Errorf("%w: %s is not a P-256 key", ErrPKI, seAuthorityPubFile)
}

// atRestKey finds the key of the TSM's state in m, or makes it at the first
// start on a data directory: looked for in the module's key list, so that a
// first start logs no refused lookup.
func atRestKey(m *soft.HSM, label string) (hsm.Handle, error) {
	hs, err := m.List()
	if err != nil {
		return hsm.Handle{}, err
	}
	for _, h := range hs {
		if h.Label == label {
			return m.Lookup(label)
		}
	}
	return m.GenerateKey(label, hsm.UsageDEK, keys.AES, 32)
}
