package oda

import (
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hx decodes hex written with optional spaces; for constants in tests.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]*rsa.PrivateKey{}
)

// loadKey reads a fixed test key from testdata (PKCS #1 or PKCS #8 PEM).
func loadKey(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	b, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
	require.NoError(tb, err)
	k, err := ParsePrivateKeyPEM(b)
	require.NoError(tb, err)
	keyCache[name] = k
	return k
}

// seeded returns a deterministic random source.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// testNow is the injected date of the tests: 15 March 2026.
var testNow = time.Date(2026, time.March, 15, 10, 0, 0, 0, time.UTC)

const testPAN = "4761739001010010"

// chain is a CA, an issuer and a card built from fixed keys.
type chain struct {
	ca     *CA
	caPub  CAPublicKey
	issuer *Issuer
	icc    *ICC
	pan    string
	static []byte
}

// chainSpec names the key files of a chain.
type chainSpec struct {
	name, ca, issuer, icc string
	// issuerRem and iccRem are the expected remainder lengths.
	issuerRem, iccRem int
}

var chainSpecs = []chainSpec{
	{"1024/1024/1024 e=3", "ca1024_e3", "issuer1024_e3", "icc1024_e3", 128 - 92, 128 - 86},
	{"1984/1408/1024 no remainders", "ca1984_e65537", "issuer1408_e3", "icc1024_e65537", 0, 0},
	{"1152/1152/1024", "ca1152_e65537", "issuer1152_e65537", "icc1024_e3", 144 - 108, 128 - 102},
	{"1408/1152/1024", "ca1408_e3", "issuer1152_e65537", "icc1024_e65537", 144 - 140, 128 - 102},
}

// staticData is records marked for ODA followed by the AIP.
var testStatic = hx("5A0847617390010100105F24033012315F3401019F0702FF00" + "3900")

func newChain(tb testing.TB, spec chainSpec) *chain {
	tb.Helper()
	ca, err := NewCA(TestRID, 0x92, loadKey(tb, spec.ca))
	require.NoError(tb, err)
	ipub, err := NewPublicKey(&loadKey(tb, spec.issuer).PublicKey)
	require.NoError(tb, err)
	icert, err := ca.CertifyIssuer(ipub, IssuerTemplate{IssuerID: "476173", Expiry: Date{2030, time.December}, Serial: [3]byte{0x00, 0x01, 0x23}})
	require.NoError(tb, err)
	issuer, err := NewIssuer(loadKey(tb, spec.issuer), icert)
	require.NoError(tb, err)
	cpub, err := NewPublicKey(&loadKey(tb, spec.icc).PublicKey)
	require.NoError(tb, err)
	ccert, err := issuer.CertifyICC(cpub, ICCTemplate{PAN: testPAN, Expiry: Date{2030, time.December}, Serial: [3]byte{0, 0, 7}, StaticData: testStatic})
	require.NoError(tb, err)
	icc, err := NewICC(loadKey(tb, spec.icc), ccert)
	require.NoError(tb, err)
	return &chain{ca: ca, caPub: ca.PublicKey(), issuer: issuer, icc: icc, pan: testPAN, static: testStatic}
}

// chainA is the 1024-bit chain with remainders, built once.
var (
	chainAOnce sync.Once
	chainAVal  *chain
)

func chainA(tb testing.TB) *chain {
	chainAOnce.Do(func() { chainAVal = newChain(tb, chainSpecs[0]) })
	return chainAVal
}

// resign recovers a signed block with pub, lets mutate change it, and
// signs it again with s: a way to build blocks that fail one chosen check.
func resign(tb testing.TB, s *signer, pub PublicKey, o Object, sig []byte, mutate func(block []byte)) []byte {
	tb.Helper()
	block, err := pub.recoverBlock(o, sig)
	require.NoError(tb, err)
	mutate(block)
	out, err := s.sign(block)
	require.NoError(tb, err)
	return out
}

// reseal rewrites the hash result of a block (hash just before the
// trailer) over block[1:hashAt] followed by more.
func reseal(block []byte, more ...[]byte) {
	n := len(block)
	h := sha1.New()
	h.Write(block[1 : n-21])
	for _, m := range more {
		h.Write(m)
	}
	copy(block[n-21:n-1], h.Sum(nil))
}

// flip returns a copy of b with byte i inverted.
func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xFF
	return c
}
