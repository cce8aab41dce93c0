package soft

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

var _ hsm.CloudDevice = (*HSM)(nil)

// ExportLUKsToDevice derives limited-use keys inside and returns each
// only wrapped for the phone's P-256 key. The export is audited with the
// IMK, the device key's thumbprint and the key indexes, never a key.
func (s *HSM) ExportLUKsToDevice(imk hsm.Handle, pan, psn string, api uint16, kis []cloud.KeyIndex, device *ecdsa.PublicKey) ([]hsm.DeviceLUK, error) {
	const op = "export-luks-to-device"
	var (
		e   *entry
		dev string
	)
	out, err := func() ([]hsm.DeviceLUK, error) {
		if device == nil {
			return nil, fmt.Errorf("%w: %s: no device key", hsm.ErrInput, op)
		}
		if len(kis) < 1 || len(kis) > MaxHCEBatch {
			return nil, fmt.Errorf("%w: %s: batch of %d keys, want 1 to %d", hsm.ErrInput, op, len(kis), MaxHCEBatch)
		}
		tp, err := devicekey.Thumbprint(device)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: the device key is not a P-256 public key", hsm.ErrInput, op)
		}
		dev = base64.RawURLEncoding.EncodeToString(tp)
		var mk keys.Key
		if e, mk, err = s.tokenMK(op, imk, pan, psn); err != nil {
			return nil, err
		}
		out := make([]hsm.DeviceLUK, 0, len(kis))
		for _, ki := range kis {
			luk, err := cloud.DeriveLUK(mk, api, ki)
			if err != nil {
				return nil, cloudErr(op, nil, err)
			}
			w, err := devicekey.Wrap(s.rnd, device, luk)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
			}
			out = append(out, hsm.DeviceLUK{KeyIndex: ki.String(), API: api, KCV: luk.KCVHex(), Wrapped: w})
		}
		return out, nil
	}()
	idx := make([]string, 0, len(kis))
	for _, ki := range kis {
		idx = append(idx, ki.String())
	}
	s.audit(op, err, entryAttr("imk", e), slog.String("device_key", dev), slog.Int("api", int(api)),
		slog.Any("key_indexes", idx))
	return out, err
}

// ExportSUKsToDevice derives the mc-cloud keys of n ATCs inside and
// returns each only wrapped for the phone's P-256 key.
func (s *HSM) ExportSUKsToDevice(mkMD, mkUMD hsm.Handle, pan, psn string, firstATC uint16, n int, pin string, salt []byte, tokenRef string, device *ecdsa.PublicKey) ([]hsm.DeviceSUK, error) {
	const op = "export-suks-to-device"
	var (
		em, eu *entry
		dev    string
	)
	out, err := func() ([]hsm.DeviceSUK, error) {
		if device == nil {
			return nil, fmt.Errorf("%w: %s: no device key", hsm.ErrInput, op)
		}
		tp, err := devicekey.Thumbprint(device)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: the device key is not a P-256 public key", hsm.ErrInput, op)
		}
		dev = base64.RawURLEncoding.EncodeToString(tp)
		out := make([]hsm.DeviceSUK, 0, n)
		em, eu, err = s.eachSUK(op, mkMD, mkUMD, pan, psn, firstATC, n, pin, salt, tokenRef, func(atc uint16, skMD, suk keys.Key) error {
			mw, err := devicekey.Wrap(s.rnd, device, skMD)
			if err != nil {
				return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
			}
			sw, err := devicekey.Wrap(s.rnd, device, suk)
			if err != nil {
				return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
			}
			out = append(out, hsm.DeviceSUK{ATC: atc, MDKCV: skMD.KCVHex(), MDWrapped: mw, SUKKCV: suk.KCVHex(), SUKWrapped: sw})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}()
	s.audit(op, err, entryAttr("mk_md", em), entryAttr("mk_umd", eu), slog.String("device_key", dev),
		slog.Int("first_atc", int(firstATC)), slog.Int("count", n))
	return out, err
}
