package kerneltest

import (
	"crypto/rsa"
	_ "embed"
	"fmt"
	"sync"

	"github.com/tapsim/tapsim/emv/oda"
)

// Fixed 1024-bit RSA keys with exponent 3, made once with oda.GenerateKey
// from a seeded source and kept as PEM so tests need no key generation.
var (
	//go:embed testdata/ca.pem
	caPEM []byte
	//go:embed testdata/issuer.pem
	issuerPEM []byte
	//go:embed testdata/icc.pem
	iccPEM []byte
)

// CAIndex is the CA Public Key Index (tag 8F) of the test CA.
const CAIndex byte = 0x01

var (
	keysOnce sync.Once
	caKey    *rsa.PrivateKey
	issKey   *rsa.PrivateKey
	iccKey   *rsa.PrivateKey
	keysErr  error
)

func loadKeys() error {
	keysOnce.Do(func() {
		if caKey, keysErr = oda.ParsePrivateKeyPEM(caPEM); keysErr != nil {
			return
		}
		if issKey, keysErr = oda.ParsePrivateKeyPEM(issuerPEM); keysErr != nil {
			return
		}
		iccKey, keysErr = oda.ParsePrivateKeyPEM(iccPEM)
	})
	return keysErr
}

// PKI is a test certification chain: a CA under oda.TestRID with index
// CAIndex, an issuer certified by it, and the key a card certifies with its
// static data.
type PKI struct {
	CA     *oda.CA
	Issuer *oda.Issuer
	// Expiry is the expiry of the issuer and ICC certificates.
	Expiry oda.Date
}

// NewPKI certifies the test issuer key for issuerID (3 to 8 leading PAN
// digits) with the test CA; certificates expire in December 2049.
func NewPKI(issuerID string) (*PKI, error) {
	if err := loadKeys(); err != nil {
		return nil, err
	}
	ca, err := oda.NewCA(oda.TestRID, CAIndex, caKey)
	if err != nil {
		return nil, err
	}
	pub, err := oda.NewPublicKey(&issKey.PublicKey)
	if err != nil {
		return nil, err
	}
	exp := oda.Date{Year: 2049, Month: 12}
	cert, err := ca.CertifyIssuer(pub, oda.IssuerTemplate{IssuerID: issuerID, Expiry: exp, Serial: [3]byte{0x00, 0x00, 0x01}})
	if err != nil {
		return nil, err
	}
	is, err := oda.NewIssuer(issKey, cert)
	if err != nil {
		return nil, err
	}
	return &PKI{CA: ca, Issuer: is, Expiry: exp}, nil
}

// CAPublicKeys returns the test CA public key as a terminal holds it.
func (p *PKI) CAPublicKeys() []oda.CAPublicKey {
	return []oda.CAPublicKey{p.CA.PublicKey()}
}

// ICC certifies the test ICC key for pan and the static data to be
// authenticated.
func (p *PKI) ICC(pan string, static []byte) (*oda.ICC, error) {
	pub, err := oda.NewPublicKey(&iccKey.PublicKey)
	if err != nil {
		return nil, err
	}
	cert, err := p.Issuer.CertifyICC(pub, oda.ICCTemplate{PAN: pan, Expiry: p.Expiry, Serial: [3]byte{0x00, 0x00, 0x02}, StaticData: static})
	if err != nil {
		return nil, fmt.Errorf("kerneltest: certify ICC: %w", err)
	}
	return oda.NewICC(iccKey, cert)
}
