package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ErrPKI reports a test PKI that cannot be made or written.
var ErrPKI = errors.New("tlsconf: test PKI")

// Backdate is how far before now certificates of the test PKI start to be
// valid, to tolerate clocks a little apart.
const Backdate = 5 * time.Minute

// Organization is the subject organisation of the test PKI's certificates.
const Organization = "tapsim test PKI"

// Identity is a certificate and its ECDSA P-256 private key.
type Identity struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Authority is the test PKI's certification authority.
type Authority struct {
	Identity
}

// NewCA makes a self-signed CA certificate named name, valid from now
// (less Backdate) for validity, which may sign end-entity certificates only
// (path length 0). rnd supplies the key and serial number.
func NewCA(rnd io.Reader, name string, now time.Time, validity time.Duration) (*Authority, error) {
	key, serial, err := newKey(rnd, validity)
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{Organization}},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	id, err := sign(rnd, "CA certificate", tpl, tpl, key, key)
	if err != nil {
		return nil, err
	}
	return &Authority{*id}, nil
}

// Pool returns a pool holding the CA certificate.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.Cert)
	return p
}

// Issue makes an end-entity certificate named name for hosts (DNS names
// or IP addresses, its subject alternative names), good for both TLS server
// and TLS client authentication, valid from now (less Backdate) for
// validity but never beyond the CA's own end.
func (a *Authority) Issue(rnd io.Reader, name string, hosts []string, now time.Time, validity time.Duration) (*Identity, error) {
	key, serial, err := newKey(rnd, validity)
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(a.Cert.NotAfter) {
		notAfter = a.Cert.NotAfter
	}
	tpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{Organization}},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else if h != "" {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	return sign(rnd, "certificate "+name, tpl, a.Cert, key, a.Key)
}

// newKey makes a P-256 key and a serial number for a certificate of the
// given validity.
func newKey(rnd io.Reader, validity time.Duration) (*ecdsa.PrivateKey, *big.Int, error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("%w: validity must be positive", ErrPKI)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: key: %w", ErrPKI, err)
	}
	serial, err := serialNumber(rnd)
	if err != nil {
		return nil, nil, err
	}
	return key, serial, nil
}

// sign makes the certificate tpl for key, signed by parent's key signer.
func sign(rnd io.Reader, what string, tpl, parent *x509.Certificate, key, signer *ecdsa.PrivateKey) (*Identity, error) {
	der, err := x509.CreateCertificate(rnd, tpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPKI, what, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPKI, what, err)
	}
	return &Identity{Cert: c, Key: key}, nil
}

func serialNumber(rnd io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("%w: serial number: %w", ErrPKI, err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // positive and never zero
	return new(big.Int).SetBytes(b), nil
}

// CertPEM is the certificate in PEM.
func (id *Identity) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw})
}

// KeyPEM is the private key in PEM (PKCS #8).
func (id *Identity) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrPKI, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// TLSCertificate is the identity as crypto/tls uses it.
func (id *Identity) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{id.Cert.Raw}, PrivateKey: id.Key, Leaf: id.Cert}
}

// WriteFiles writes the certificate to dir/name.pem (mode 0644) and the
// private key to dir/name-key.pem (mode 0600), creating dir (0700) if
// needed. Existing files are replaced only when overwrite is set. It
// returns the two paths.
func (id *Identity) WriteFiles(dir, name string, overwrite bool) (certPath, keyPath string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrPKI, err)
	}
	keyPEM, err := id.KeyPEM()
	if err != nil {
		return "", "", err
	}
	certPath = filepath.Join(dir, name+".pem")
	keyPath = filepath.Join(dir, name+"-key.pem")
	if err := writeFile(keyPath, keyPEM, 0o600, overwrite); err != nil {
		return "", "", err
	}
	if err := writeFile(certPath, id.CertPEM(), 0o644, overwrite); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

func writeFile(path string, b []byte, mode fs.FileMode, overwrite bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		// Remove first so that an existing file's wider mode is not kept.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrPKI, err)
		}
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPKI, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: %w", ErrPKI, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPKI, path, err)
	}
	return nil
}
