package tlstest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// Validity is how long the certificates of a PKI are valid, from the time
// NewPKI is called.
const Validity = time.Hour

// The common names of the two authorities of a PKI.
const (
	NetworkCAName = "network CA"
	RogueCAName   = "rogue CA"
)

// hosts are the names and addresses every certificate of a PKI is issued for.
var hosts = []string{"localhost", "127.0.0.1"}

// PKI is a network CA and a rogue CA (somebody else's), each with a
// certificate for the same names. Its methods fail the test that made it
// on error, so call them from that test's goroutine.
type PKI struct {
	t       testing.TB
	ca      *tlsconf.Authority
	rogueCA *tlsconf.Authority
	ids     map[string]*tlsconf.Identity
	rogues  map[string]*tlsconf.Identity
}

// NewPKI makes a network CA and a rogue CA and has each issue a
// certificate for every name (the certificate's common name), for hosts
// localhost and 127.0.0.1, valid for Validity from time.Now.
func NewPKI(t testing.TB, names ...string) *PKI {
	t.Helper()
	now := time.Now()
	p := &PKI{
		t:      t,
		ids:    make(map[string]*tlsconf.Identity, len(names)),
		rogues: make(map[string]*tlsconf.Identity, len(names)),
	}
	var err error
	p.ca, err = tlsconf.NewCA(rand.Reader, NetworkCAName, now, Validity)
	require.NoError(t, err)
	p.rogueCA, err = tlsconf.NewCA(rand.Reader, RogueCAName, now, Validity)
	require.NoError(t, err)
	for _, name := range names {
		p.ids[name], err = p.ca.Issue(rand.Reader, name, hosts, now, Validity)
		require.NoError(t, err)
		p.rogues[name], err = p.rogueCA.Issue(rand.Reader, name, hosts, now, Validity)
		require.NoError(t, err)
	}
	return p
}

// CA is the network's certificate authority.
func (p *PKI) CA() *tlsconf.Authority { return p.ca }

// RogueCA is the certificate authority of somebody else.
func (p *PKI) RogueCA() *tlsconf.Authority { return p.rogueCA }

// Pool is a pool holding the network CA alone.
func (p *PKI) Pool() *x509.CertPool { return p.ca.Pool() }

// RoguePool is a pool holding the rogue CA alone.
func (p *PKI) RoguePool() *x509.CertPool { return p.rogueCA.Pool() }

// Identity is the certificate and key the network CA issued for name; the
// test fails if NewPKI was not given name.
func (p *PKI) Identity(name string) *tlsconf.Identity {
	p.t.Helper()
	return p.lookup(p.ids, name)
}

// Rogue is the certificate and key the rogue CA issued for name; the test
// fails if NewPKI was not given name.
func (p *PKI) Rogue(name string) *tlsconf.Identity {
	p.t.Helper()
	return p.lookup(p.rogues, name)
}

func (p *PKI) lookup(m map[string]*tlsconf.Identity, name string) *tlsconf.Identity {
	p.t.Helper()
	id, ok := m[name]
	if !ok {
		p.t.Fatalf("tlstest: the PKI has no certificate for %q", name)
	}
	return id
}

// Server is the configuration of a listener presenting name's network
// certificate and requiring clients with a certificate of the network CA.
func (p *PKI) Server(name string) *tls.Config {
	p.t.Helper()
	return p.server(p.Identity(name))
}

// RogueServer is the configuration of a listener presenting name's rogue
// certificate and requiring clients with a certificate of the network CA:
// a server the network's clients must refuse.
func (p *PKI) RogueServer(name string) *tls.Config {
	p.t.Helper()
	return p.server(p.Rogue(name))
}

// Client is the configuration of a dialer presenting name's network
// certificate and trusting the network CA; serverName is the name the
// server's certificate must carry (empty: the host of the dialled address).
func (p *PKI) Client(name, serverName string) *tls.Config {
	p.t.Helper()
	return p.client(p.Identity(name), p.Pool(), serverName)
}

// RogueClient is the configuration of a dialer presenting name's rogue
// certificate and trusting the network CA: a client the network's servers
// must refuse.
func (p *PKI) RogueClient(name, serverName string) *tls.Config {
	p.t.Helper()
	return p.client(p.Rogue(name), p.Pool(), serverName)
}

// DistrustingClient is the configuration of a dialer presenting name's
// network certificate but trusting the rogue CA alone: a client that
// refuses the network's servers.
func (p *PKI) DistrustingClient(name, serverName string) *tls.Config {
	p.t.Helper()
	return p.client(p.Identity(name), p.RoguePool(), serverName)
}

func (p *PKI) server(id *tlsconf.Identity) *tls.Config {
	p.t.Helper()
	cfg, err := tlsconf.Server(id.TLSCertificate(), p.Pool())
	require.NoError(p.t, err)
	return cfg
}

func (p *PKI) client(id *tlsconf.Identity, roots *x509.CertPool, serverName string) *tls.Config {
	p.t.Helper()
	cfg, err := tlsconf.Client(id.TLSCertificate(), roots, serverName)
	require.NoError(p.t, err)
	return cfg
}
