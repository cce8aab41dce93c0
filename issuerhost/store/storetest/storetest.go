// Package storetest gives tests of the issuer's store a Cipher: fixed
// test data keys in an in-memory soft security module, so that a store
// closed and opened again in a test reads what it wrote. Never for data
// that matters: the keys are in this file.
package storetest

import (
	"fmt"
	"sync"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// The test keys (AES-256): the local master key of the module, the
// data-encryption key and the keyed-hash key.
const (
	testLMK = "3C0A9F6E21D84B7795E1A6C05D2F3B48A7C91E6F0B3D5A2847E9C16F03B85D2A"
	testDEK = "9E4B2C7A15D8F3066B1E9A4C2D7F8053C6A1B94E0F2D7C3859A6E1B04C7D2F96"
	testIdx = "5B8E1F4A2C9D6037E4A1B8C5F20D9E67A3C7B1E94F0D2A6C85B3E9F17D4C0A28"
)

var (
	once   sync.Once
	cipher store.Cipher
	err    error
)

// Cipher is the Cipher of the test data keys. Every call returns one
// with the same keys.
func Cipher() store.Cipher {
	once.Do(func() { cipher, err = newCipher() })
	if err != nil {
		panic(fmt.Sprintf("storetest: %v", err))
	}
	return cipher
}

func newCipher() (store.Cipher, error) {
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, testLMK)})
	if err != nil {
		return nil, err
	}
	dek, err := m.ImportKey(store.DataKeyLabel, hsm.UsageDEK, keys.MustHex(keys.AES, testDEK))
	if err != nil {
		return nil, err
	}
	idx, err := m.ImportKey(store.IndexKeyLabel, hsm.UsageDataHash, keys.MustHex(keys.AES, testIdx))
	if err != nil {
		return nil, err
	}
	return store.NewHSMCipher(m, dek, idx)
}

// Options is store.Options with the test Cipher.
func Options() store.Options { return store.Options{Cipher: Cipher()} }

// PostgresOptions is store.PostgresOptions with the test Cipher.
func PostgresOptions() store.PostgresOptions { return store.PostgresOptions{Cipher: Cipher()} }
