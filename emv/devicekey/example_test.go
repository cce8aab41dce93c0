package devicekey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
)

// The security module wraps a card's ICC master key for a phone; only
// that phone's private key opens it, and the phone checks the KCV.
func Example() {
	phone, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	thief, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")

	wrapped, _ := devicekey.Wrap(nil, &phone.PublicKey, mk)
	fmt.Println(len(wrapped), "bytes")

	k, err := devicekey.UnwrapChecked(phone, keys.TDES, wrapped, mk.KCVHex())
	fmt.Println(err == nil && k.Equal(mk))

	_, err = devicekey.Unwrap(thief, keys.TDES, wrapped)
	fmt.Println(errors.Is(err, devicekey.ErrWrapped))
	// Output:
	// 90 bytes
	// true
	// true
}
