package soft

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// MaxHCEBatch is the most cloud keys one export to a phone derives.
const MaxHCEBatch = 1000

// cryptoErr sorts an error of emv/cryptogram: a mismatch is verify (when
// given), an unsuitable key ErrKeyType, anything else ErrInput.
func cryptoErr(op string, verify, err error) error {
	switch {
	case verify != nil && errors.Is(err, cryptogram.ErrMismatch):
		return fmt.Errorf("%w: %s: %w", verify, op, err)
	case errors.Is(err, cryptogram.ErrKey):
		return fmt.Errorf("%w: %s: %w", hsm.ErrKeyType, op, err)
	}
	return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
}

// iccMK resolves the IMK and the CVN and derives the card's ICC master key.
func (s *HSM) iccMK(op string, imk hsm.Handle, cvnName, pan, psn string) (*entry, *cryptogram.CVN, keys.Key, error) {
	e, err := s.use(op, imk, hsm.UsageIMKAC)
	if err != nil {
		return nil, nil, keys.Key{}, err
	}
	cvn, err := cryptogram.Lookup(cvnName)
	if err != nil {
		return e, nil, keys.Key{}, fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
	}
	mk, err := e.mks.derive(cvn, e.key, pan, psn)
	if err != nil {
		return e, cvn, keys.Key{}, cryptoErr(op, nil, err)
	}
	return e, cvn, mk, nil
}

// maxDerivedKeys bounds the ICC master keys an issuer master key's entry
// keeps: about a kilobyte each with their key schedules.
const maxDerivedKeys = 4096

// derivedKeys keeps the ICC master keys derived from one issuer master
// key, so that the next cryptogram of a card (and the ARPC after its
// ARQC) does not derive its key and key schedules again. They never leave
// the module, as the issuer master key itself; when the cache is full, a
// key is dropped to make room.
type derivedKeys struct {
	mu sync.Mutex
	m  map[derivedKey]keys.Key
}

// derivedKey names an ICC master key: derivation option, PAN and PSN.
type derivedKey struct {
	opt      cryptogram.Option
	pan, psn string
}

// derive returns cvn's ICC master key of the card pan/psn under imk.
func (d *derivedKeys) derive(cvn *cryptogram.CVN, imk keys.Key, pan, psn string) (keys.Key, error) {
	if imk.Alg() != cvn.Alg {
		return cvn.DeriveMK(imk, pan, psn) // refused, and not kept
	}
	k := derivedKey{cvn.Option, pan, psn}
	d.mu.Lock()
	mk, ok := d.m[k]
	d.mu.Unlock()
	if ok {
		return mk, nil
	}
	mk, err := cvn.DeriveMK(imk, pan, psn)
	if err != nil {
		return keys.Key{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[derivedKey]keys.Key)
	}
	if len(d.m) >= maxDerivedKeys {
		for old := range d.m {
			delete(d.m, old)
			break
		}
	}
	d.m[k] = mk
	return mk, nil
}

// VerifyARQC checks an application cryptogram with the CVN's rules; the
// ICC master key is derived inside and never leaves.
func (s *HSM) VerifyARQC(imk hsm.Handle, cvnName, pan, psn string, tags cryptogram.Source, arqc []byte) error {
	const op = "verify-arqc"
	var e *entry
	err := func() error {
		var (
			cvn *cryptogram.CVN
			mk  keys.Key
			err error
		)
		if e, cvn, mk, err = s.iccMK(op, imk, cvnName, pan, psn); err != nil {
			return err
		}
		if err := cvn.VerifyARQC(mk, tags, arqc); err != nil {
			return cryptoErr(op, hsm.ErrVerify, err)
		}
		return nil
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("imk", e), slog.String("cvn", cvnName))
	}
	return err
}

// VerifyCVC3 checks a mag-stripe mode CVC3 (hsm.CVC3): the card's key is
// its ICC master key, derived inside and never out.
func (s *HSM) VerifyCVC3(imk hsm.Handle, cvnName, pan, psn string, staticTrack, un []byte, atc uint16, cvc3 uint64, digits int) error {
	const op = "verify-cvc3"
	var e *entry
	err := func() error {
		var (
			mk  keys.Key
			err error
		)
		if e, _, mk, err = s.iccMK(op, imk, cvnName, pan, psn); err != nil {
			return err
		}
		iv, err := cryptogram.CVC3IV(mk, staticTrack)
		if err != nil {
			return cryptoErr(op, nil, err)
		}
		got, err := cryptogram.ComputeCVC3(mk, iv, un, atc)
		if err != nil {
			return cryptoErr(op, nil, err)
		}
		mod := uint64(1)
		for i := 0; i < digits; i++ {
			mod *= 10
		}
		if (uint64(got[0])<<8|uint64(got[1]))%mod != cvc3 {
			return cryptoErr(op, hsm.ErrVerify, cryptogram.ErrMismatch)
		}
		return nil
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("imk", e), slog.String("cvn", cvnName))
	}
	return err
}

// GenerateARPC computes the ARPC by the CVN's method and key.
func (s *HSM) GenerateARPC(imk hsm.Handle, cvnName, pan, psn string, tags cryptogram.Source, arqc, resp, prop []byte) ([]byte, error) {
	const op = "generate-arpc"
	var e *entry
	arpc, err := func() ([]byte, error) {
		var (
			cvn *cryptogram.CVN
			mk  keys.Key
			err error
		)
		if e, cvn, mk, err = s.iccMK(op, imk, cvnName, pan, psn); err != nil {
			return nil, err
		}
		out, err := cvn.ARPC(mk, tags, arqc, resp, prop)
		if err != nil {
			return nil, cryptoErr(op, nil, err)
		}
		return out, nil
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("imk", e), slog.String("cvn", cvnName))
	}
	return arpc, err
}

var _ hsm.DeviceExport = (*HSM)(nil)

// ExportICCMKToDevice derives the card's ICC master key inside and
// returns it only wrapped for the phone's P-256 key (emv/devicekey), with
// its check value. Each export is audited with the IMK, the CVN, the
// device key's thumbprint and the exported key's check value.
func (s *HSM) ExportICCMKToDevice(imk hsm.Handle, cvnName, pan, psn string, device *ecdsa.PublicKey) ([]byte, string, error) {
	const op = "export-icc-mk-to-device"
	var (
		e        *entry
		kcv, dev string
	)
	wrapped, err := func() ([]byte, error) {
		if device == nil {
			return nil, fmt.Errorf("%w: %s: no device key", hsm.ErrInput, op)
		}
		tp, err := devicekey.Thumbprint(device)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: the device key is not a P-256 public key", hsm.ErrInput, op)
		}
		dev = base64.RawURLEncoding.EncodeToString(tp)
		var mk keys.Key
		if e, _, mk, err = s.iccMK(op, imk, cvnName, pan, psn); err != nil {
			return nil, err
		}
		w, err := devicekey.Wrap(s.rnd, device, mk)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
		}
		kcv = mk.KCVHex()
		return w, nil
	}()
	s.audit(op, err, entryAttr("imk", e), slog.String("cvn", cvnName), slog.String("device_key", dev),
		slog.String("kcv", kcv))
	if err != nil {
		return nil, "", err
	}
	return wrapped, kcv, nil
}

var _ hsm.CVC3 = (*HSM)(nil)
