package tsm

import (
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/provision/wire"
)

// TypeSSDKeys: SE operator to issuer, the initial keys of the SSD it
// created (R-M2).
const TypeSSDKeys = "tsm.ssd-keys"

// SSDKeys is an SSD's key set handed over, sealed to its new owner.
type SSDKeys struct {
	SSD string `json:"ssd"`
	KVN byte   `json:"kvn"`
	ENC string `json:"enc"`
	MAC string `json:"mac"`
	DEK string `json:"dek"`
}

// String shows check values only.
func (k SSDKeys) String() string { return fmt.Sprintf("key set %02X of %s", k.KVN, k.SSD) }

// GoString is String.
func (k SSDKeys) GoString() string { return k.String() }

// Validate checks the form.
func (k SSDKeys) Validate() error {
	if _, err := k.Keys(); err != nil || !hexRE.MatchString(k.SSD) {
		return fmt.Errorf("%w: key set", wire.ErrInvalid)
	}
	return nil
}

// Keys decodes the set.
func (k SSDKeys) Keys() (Keys, error) {
	var out [3]keys.Key
	for i, s := range []string{k.ENC, k.MAC, k.DEK} {
		b, err := hex.DecodeString(s)
		if err != nil {
			return Keys{}, err
		}
		if out[i], err = keys.New(keys.AES, b); err != nil {
			return Keys{}, err
		}
	}
	return Keys{KVN: k.KVN, Keys: scp03.StaticKeys{ENC: out[0], MAC: out[1], DEK: out[2]}}, nil
}

// HandOver is the SSDKeys of ks.
func HandOver(ssd []byte, ks Keys) SSDKeys {
	return SSDKeys{SSD: hex.EncodeToString(ssd), KVN: ks.KVN, ENC: hex.EncodeToString(ks.Keys.ENC.Bytes()),
		MAC: hex.EncodeToString(ks.Keys.MAC.Bytes()), DEK: hex.EncodeToString(ks.Keys.DEK.Bytes())}
}

// OrderFor seals script and o (its Script set) to the SP TSM, as the
// issuer: the SP TSM keeps the script, and the issuer's keys in it, to
// itself.
func OrderFor(issuer *wire.Party, sp wire.PublicKeys, o Order, sc Script, h wire.Header) (string, error) {
	if err := sc.Validate(); err != nil {
		return "", err
	}
	sc.OrderID, sc.SEID = o.OrderID, o.SEID
	hs := h
	hs.Type = TypeScript
	tok, err := wire.Seal(sc, issuer, sp, hs)
	if err != nil {
		return "", err
	}
	o.Script = tok
	if err := o.Validate(); err != nil {
		return "", err
	}
	h.Type = TypeOrder
	return wire.Seal(o, issuer, sp, h)
}

// Serve serves h on ln with mutual TLS cfg.
func Serve(h http.Handler, ln net.Listener, cfg *tls.Config) (*http.Server, error) {
	srv, err := wire.NewServer(h, cfg, wire.Limits{})
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	return srv, nil
}
