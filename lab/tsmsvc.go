package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

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
	// (https://host:port), whose ID&V checks the cardholder's code of an
	// order without OTPCheck (PathSEVerify, R-S3c).
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
	module  *soft.HSM
	client  *wire.Client
	store   *sqlstore.Store
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

// start is the common part: the TSM's security module (a fresh key per
// process, R-S4a), its JOSE identity and client.
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
		if dek, err = m.Lookup(label); err != nil {
			if dek, err = m.GenerateKey(label, hsm.UsageDEK, keys.AES, 32); err != nil {
				return nil, hsm.Handle{}, err
			}
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
	me, err := o.PKI.Party(name)
	if err != nil {
		return nil, hsm.Handle{}, err
	}
	if me.Name() != name {
		return nil, hsm.Handle{}, fmt.Errorf("%w: the key file is %s's, want %s", ErrPKI, me.Name(), name)
	}
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
// it the issuer's orders must carry the code's hash (Order.OTPCheck),
// which the SE TSM checks.
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
// key-agreement keys at manufacture (gp.SignSECert); the SP TSM trusts its
// public half.
const (
	seAuthorityKeyFile = "se-authority-key.pem"
	seAuthorityPubFile = "se-authority.pub.pem"
)

// writeSEAuthority writes a fresh SE authority key pair under sub (the
// private key 0600).
func writeSEAuthority(sub string, overwrite bool, rnd io.Reader) ([]string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	var out []string
	for _, f := range []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{{seAuthorityKeyFile, "PRIVATE KEY", der, 0o600}, {seAuthorityPubFile, "PUBLIC KEY", pub, 0o644}} {
		path := filepath.Join(sub, f.name)
		fh, err := os.OpenFile(path, flag, f.mode)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrPKI, err)
		}
		err = pem.Encode(fh, &pem.Block{Type: f.typ, Bytes: f.der})
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrPKI, err)
		}
		out = append(out, path)
	}
	return out, nil
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

// SEAuthority is the SE authority's private key (the SE manufacturer's
// side: it certifies new SEs).
func (k ProvisioningPKI) SEAuthority() (*ecdsa.PrivateKey, error) {
	der, err := k.pemBlock(seAuthorityKeyFile, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if e, ok := key.(*ecdsa.PrivateKey); err == nil && ok && e.Curve == elliptic.P256() {
		return e, nil
	}
	return nil, fmt.Errorf("%w: %s is not a P-256 key", ErrPKI, seAuthorityKeyFile)
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
