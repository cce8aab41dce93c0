package soft

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/pvv"
)

// pinErr sorts an error of emv/pin or hsm/pvv: a PAN or input error is
// ErrInput, anything about the block ErrPINBlock.
func pinErr(op string, err error) error {
	switch {
	case errors.Is(err, pin.ErrPAN), errors.Is(err, pin.ErrRandom), errors.Is(err, pvv.ErrPAN),
		errors.Is(err, pvv.ErrPVKI), errors.Is(err, pvv.ErrPVV), errors.Is(err, pvv.ErrKey):
		return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
	}
	return fmt.Errorf("%w: %s: %w", hsm.ErrPINBlock, op, err)
}

// aesKeyType is the AES DUKPT key type of an AES key's length.
func aesKeyType(k keys.Key) dukpt.KeyType {
	switch k.Len() {
	case 24:
		return dukpt.KeyTypeAES192
	case 32:
		return dukpt.KeyTypeAES256
	}
	return dukpt.KeyTypeAES128
}

// dukptKey derives the working key of ksn from the BDK: for a TDES BDK
// (10-byte KSN) the X9.24-1 variant v; for an AES BDK (12-byte KSN) the
// X9.24-3 working key of usage u, of the BDK's own type.
func dukptKey(op string, bdk keys.Key, ksn []byte, v dukpt.Variant, u dukpt.KeyUsage) (keys.Key, error) {
	var (
		k   keys.Key
		err error
	)
	switch bdk.Alg() {
	case keys.TDES:
		if len(ksn) != dukpt.KSNLen {
			return keys.Key{}, fmt.Errorf("%w: %s: a TDES BDK takes a %d-byte KSN, got %d", hsm.ErrInput, op, dukpt.KSNLen, len(ksn))
		}
		k, err = dukpt.HostWorkingKey(bdk, ksn, v)
	default:
		if len(ksn) != dukpt.AESKSNLen {
			return keys.Key{}, fmt.Errorf("%w: %s: an AES BDK takes a %d-byte KSN, got %d", hsm.ErrInput, op, dukpt.AESKSNLen, len(ksn))
		}
		k, err = dukpt.HostAESWorkingKey(bdk, ksn, u, aesKeyType(bdk))
	}
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
	}
	return k, nil
}

// blockFormat finds the format of an enciphered PIN block under k: format 4
// for an AES key; for a TDES key the control field of the deciphered block,
// which must be 0, 1 or 3.
func blockFormat(op string, k keys.Key, block []byte) (pin.Format, error) {
	if k.Alg() == keys.AES {
		return pin.Format4, nil
	}
	clearBlock, err := pin.Decrypt(k, block)
	if err != nil {
		return 0, pinErr(op, err)
	}
	defer clear(clearBlock)
	f, err := pin.DetectFormat(clearBlock)
	if err != nil {
		return 0, pinErr(op, err)
	}
	if f != pin.Format0 && f != pin.Format1 && f != pin.Format3 {
		return 0, fmt.Errorf("%w: %s: %v is not accepted online", hsm.ErrPINBlock, op, f)
	}
	return f, nil
}

// outFormat is the format of a block enciphered under k: 0 for TDES, 4 for
// AES.
func outFormat(k keys.Key) pin.Format {
	if k.Alg() == keys.AES {
		return pin.Format4
	}
	return pin.Format0
}

// translate re-enciphers a PIN block from one key to another inside the
// module; the clear PIN exists only within emv/pin's translation.
func (s *HSM) translate(op string, from keys.Key, block []byte, to keys.Key, pan string) ([]byte, error) {
	f, err := blockFormat(op, from, block)
	if err != nil {
		return nil, err
	}
	out, err := pin.TranslateRand(block, from, to, f, outFormat(to), pan, s.rnd)
	if err != nil {
		return nil, pinErr(op, err)
	}
	return out, nil
}

// TranslatePINDUKPT re-enciphers a terminal's DUKPT PIN block under the
// zone PIN key.
func (s *HSM) TranslatePINDUKPT(bdk hsm.Handle, ksn, block []byte, zpk hsm.Handle, pan string) ([]byte, error) {
	const op = "translate-pin-dukpt"
	var be, ze *entry
	out, err := func() ([]byte, error) {
		var err error
		if be, err = s.use(op, bdk, hsm.UsageBDK); err != nil {
			return nil, err
		}
		if ze, err = s.use(op, zpk, hsm.UsageZPK); err != nil {
			return nil, err
		}
		pk, err := dukptKey(op, be.key, ksn, dukpt.VariantPIN, dukpt.UsagePINEncryption)
		if err != nil {
			return nil, err
		}
		return s.translate(op, pk, block, ze.key, pan)
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("bdk", be), entryAttr("zpk", ze), slog.String("ksn", fmt.Sprintf("%X", ksn)))
	}
	return out, err
}

// TranslatePIN re-enciphers a PIN block from a TPK or ZPK to a ZPK.
func (s *HSM) TranslatePIN(src hsm.Handle, block []byte, dst hsm.Handle, pan string) ([]byte, error) {
	const op = "translate-pin"
	var se, de *entry
	out, err := func() ([]byte, error) {
		var err error
		if se, err = s.use(op, src, hsm.UsageTPK, hsm.UsageZPK); err != nil {
			return nil, err
		}
		if de, err = s.use(op, dst, hsm.UsageZPK); err != nil {
			return nil, err
		}
		return s.translate(op, se.key, block, de.key, pan)
	}()
	s.audit(op, err, entryAttr("from", se), entryAttr("to", de))
	return out, err
}

// decodePIN deciphers a PIN block under k and returns the PIN.
func decodePIN(op string, k keys.Key, block []byte, pan string) (string, error) {
	f, err := blockFormat(op, k, block)
	if err != nil {
		return "", err
	}
	var p string
	if f == pin.Format4 {
		p, err = pin.DecipherFormat4(k, block, pan)
	} else {
		var c []byte
		if c, err = pin.Decrypt(k, block); err == nil {
			p, err = pin.Decode(f, c, pan)
			clear(c)
		}
	}
	if err != nil {
		return "", pinErr(op, err)
	}
	return p, nil
}

// VerifyPIN checks the PIN of a block under a ZPK (or TPK) against the
// card's Visa PVV.
func (s *HSM) VerifyPIN(zpk hsm.Handle, block []byte, pan string, pvk hsm.Handle, pvki int, ref string) error {
	const op = "verify-pin"
	var ze, ve *entry
	err := func() error {
		var err error
		if ze, err = s.use(op, zpk, hsm.UsageZPK, hsm.UsageTPK); err != nil {
			return err
		}
		if ve, err = s.use(op, pvk, hsm.UsagePVK); err != nil {
			return err
		}
		p, err := decodePIN(op, ze.key, block, pan)
		if err != nil {
			return err
		}
		switch err := pvv.Verify(ve.key, pan, p, pvki, ref); {
		case errors.Is(err, pvv.ErrMismatch):
			return fmt.Errorf("%w: %s", hsm.ErrPIN, op)
		case err != nil:
			return pinErr(op, err)
		}
		return nil
	}()
	s.audit(op, err, entryAttr("zpk", ze), entryAttr("pvk", ve), slog.Int("pvki", pvki))
	return err
}

// GeneratePVV computes the Visa PVV of a clear PIN (sample data).
func (s *HSM) GeneratePVV(pvk hsm.Handle, pan, pinDigits string, pvki int) (string, error) {
	const op = "generate-pvv"
	var ve *entry
	out, err := func() (string, error) {
		var err error
		if ve, err = s.use(op, pvk, hsm.UsagePVK); err != nil {
			return "", err
		}
		v, err := pvv.Compute(ve.key, pan, pinDigits, pvki)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
		}
		return v, nil
	}()
	s.audit(op, err, entryAttr("pvk", ve), slog.Int("pvki", pvki))
	return out, err
}
