package devicekey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"testing"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
)

// FuzzUnwrap feeds arbitrary blobs to Unwrap: it must never panic, and
// only the genuine blob opens.
func FuzzUnwrap(f *testing.F) {
	d := make([]byte, 32)
	d[31] = 7
	dev, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		f.Fatal(err)
	}
	w, err := devicekey.Wrap(nil, &dev.PublicKey, mk)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w)
	f.Add([]byte{devicekey.Version})
	f.Add(make([]byte, devicekey.MinWrapped))
	f.Add(append([]byte{devicekey.Version, 4}, make([]byte, devicekey.MaxWrapped-2)...))
	f.Fuzz(func(t *testing.T, blob []byte) {
		k, err := devicekey.Unwrap(dev, keys.TDES, blob)
		if err != nil {
			return
		}
		if string(blob) != string(w) && !k.Equal(mk) {
			t.Fatal("a blob that is not a wrap of the key opened")
		}
	})
}
