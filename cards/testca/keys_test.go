package testca

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/oda"
)

var update = flag.Bool("update", false, "regenerate the test keys and capk.yaml")

// drbg is a deterministic byte stream: SHA-256(seed || counter) blocks. It
// makes the key generation reproducible; it is not for real keys.
type drbg struct {
	seed []byte
	ctr  uint64
	buf  []byte
}

func (d *drbg) Read(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(d.buf) == 0 {
			var c [8]byte
			binary.BigEndian.PutUint64(c[:], d.ctr)
			d.ctr++
			sum := sha256.Sum256(append(append([]byte{}, d.seed...), c[:]...))
			d.buf = sum[:]
		}
		k := copy(p, d.buf)
		d.buf, p = d.buf[k:], p[k:]
	}
	return n, nil
}

// keySpecs are the keys of the test CA: file name, bits, exponent.
var keySpecs = []struct {
	file string
	bits int
	e    int
}{
	{"ca01", 1408, 3},
	{"ca02", 1984, 3},
	{"issuer-a", 1152, 3},
	{"issuer-b", 1408, 3},
	{"icc-a", 1024, 3},
	{"icc-b", 1024, 3},
	{"icc-c", 1024, 3},
	{"icc-d", 1024, 65537},
}

// TestGenerateKeys regenerates the PEM files and capk.yaml with -update;
// without it, it checks that every key file has the size and exponent listed.
func TestGenerateKeys(t *testing.T) {
	for _, s := range keySpecs {
		path := filepath.Join("keys", s.file+".pem")
		if *update {
			k, err := oda.GenerateKey(&drbg{seed: []byte("tapsim test CA key " + s.file)}, s.bits, s.e)
			require.NoError(t, err)
			pemBytes, err := oda.MarshalPrivateKeyPEM(k)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, pemBytes, 0o644))
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		k, err := oda.ParsePrivateKeyPEM(b)
		require.NoError(t, err)
		require.Equal(t, s.bits, k.N.BitLen(), s.file)
		require.Equal(t, s.e, k.E, s.file)
	}
	if *update {
		// capk.yaml is embedded: regenerate it from the files just written.
		var pubs []oda.CAPublicKey
		for _, s := range keySpecs[:2] {
			b, err := os.ReadFile(filepath.Join("keys", s.file+".pem"))
			require.NoError(t, err)
			k, err := oda.ParsePrivateKeyPEM(b)
			require.NoError(t, err)
			idx := byte(1)
			if s.file == "ca02" {
				idx = 2
			}
			ca, err := oda.NewCA(oda.TestRID, idx, k)
			require.NoError(t, err)
			pubs = append(pubs, ca.PublicKey())
		}
		require.NoError(t, os.WriteFile("capk.yaml", MarshalCAPK(pubs), 0o644))
	}
}
