package wire

import (
	"crypto/ecdsa"

	"github.com/tapsim/tapsim/hsm"
)

// ModuleFunc is a PartyModule found again at each call, for a service
// whose module may be closed and opened again on the same keystore (a
// host stopped and started again): each operation asks f for the module
// running then and finds its key again by the handle's label. An error of
// f (the module is down) is returned as it is, wrapped by the party's
// errors.
type ModuleFunc func() (PartyModule, error)

var _ PartyModule = ModuleFunc(nil)

// key is the module running now and its key labelled as h.
func (f ModuleFunc) key(h hsm.Handle) (PartyModule, hsm.Handle, error) {
	m, err := f()
	if err != nil {
		return nil, hsm.Handle{}, err
	}
	k, err := m.Lookup(h.Label)
	if err != nil {
		return nil, hsm.Handle{}, err
	}
	return m, k, nil
}

// GenerateP256 implements hsm.ECKeys.
func (f ModuleFunc) GenerateP256(label string, usage hsm.Usage) (hsm.Handle, *ecdsa.PublicKey, error) {
	m, err := f()
	if err != nil {
		return hsm.Handle{}, nil, err
	}
	return m.GenerateP256(label, usage)
}

// PublicP256 implements hsm.ECKeys.
func (f ModuleFunc) PublicP256(h hsm.Handle) (*ecdsa.PublicKey, error) {
	m, k, err := f.key(h)
	if err != nil {
		return nil, err
	}
	return m.PublicP256(k)
}

// SignES256 implements hsm.ECKeys.
func (f ModuleFunc) SignES256(h hsm.Handle, digest []byte) ([]byte, error) {
	m, k, err := f.key(h)
	if err != nil {
		return nil, err
	}
	return m.SignES256(k, digest)
}

// ECDH implements hsm.ECKeys.
func (f ModuleFunc) ECDH(h hsm.Handle, peer *ecdsa.PublicKey) ([]byte, error) {
	m, k, err := f.key(h)
	if err != nil {
		return nil, err
	}
	return m.ECDH(k, peer)
}

// Lookup implements PartyModule.
func (f ModuleFunc) Lookup(label string) (hsm.Handle, error) {
	m, err := f()
	if err != nil {
		return hsm.Handle{}, err
	}
	return m.Lookup(label)
}
