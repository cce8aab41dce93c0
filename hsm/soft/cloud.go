package soft

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
)

var _ hsm.Cloud = (*HSM)(nil)

// cloudErr sorts an error of emv/cloud or emv/cryptogram: a mismatch or a
// key index the IAD does not name is verify (when given), an unsuitable key
// ErrKeyType, anything else ErrInput.
func cloudErr(op string, verify, err error) error {
	switch {
	case errors.Is(err, cloud.ErrIAD):
		return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
	case verify != nil && (errors.Is(err, cryptogram.ErrMismatch) || errors.Is(err, cloud.ErrKeyIndex)):
		return fmt.Errorf("%w: %s: %w", verify, op, err)
	case errors.Is(err, cloud.ErrKey), errors.Is(err, cryptogram.ErrKey):
		return fmt.Errorf("%w: %s: %w", hsm.ErrKeyType, op, err)
	}
	return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
}

// tokenMK resolves a TDES issuer master key and derives the token's ICC
// master key by EMV option A.
func (s *HSM) tokenMK(op string, imk hsm.Handle, pan, psn string) (*entry, keys.Key, error) {
	e, err := s.use(op, imk, hsm.UsageIMKAC)
	if err != nil {
		return e, keys.Key{}, err
	}
	if e.key.Alg() != keys.TDES {
		return e, keys.Key{}, fmt.Errorf("%w: %s: the cloud keys derive from a TDES issuer master key, %q is %v", hsm.ErrKeyType, op, e.h.Label, e.key.Alg())
	}
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, e.key, pan, psn)
	if err != nil {
		return e, keys.Key{}, cloudErr(op, nil, err)
	}
	return e, mk, nil
}

// ExportLUK derives a limited-use key and wraps it under the transport key.
func (s *HSM) ExportLUK(imk hsm.Handle, pan, psn string, api uint16, ki cloud.KeyIndex, transport hsm.Handle) (hsm.WrappedLUK, error) {
	const op = "export-luk"
	var e, te *entry
	out, err := func() (hsm.WrappedLUK, error) {
		var (
			mk  keys.Key
			err error
		)
		if te, err = s.use(op, transport, hsm.UsageKEK); err != nil {
			return hsm.WrappedLUK{}, err
		}
		if e, mk, err = s.tokenMK(op, imk, pan, psn); err != nil {
			return hsm.WrappedLUK{}, err
		}
		luk, err := cloud.DeriveLUK(mk, api, ki)
		if err != nil {
			return hsm.WrappedLUK{}, cloudErr(op, nil, err)
		}
		b, err := keyblock.Wrap(te.key, hsm.UsageSessionAC, ki.Uint32(), luk)
		if err != nil {
			return hsm.WrappedLUK{}, err
		}
		return hsm.WrappedLUK{KeyIndex: ki.String(), API: api, KCV: luk.KCVHex(), Block: b}, nil
	}()
	s.audit(op, err, entryAttr("imk", e), entryAttr("transport", te), slog.Int("api", int(api)), slog.String("key_index", ki.String()))
	return out, err
}

// VerifyLUKCryptogram checks a visa-cloud cryptogram.
func (s *HSM) VerifyLUKCryptogram(imk hsm.Handle, pan, psn string, api uint16, ki cloud.KeyIndex, tags cryptogram.Source, ac []byte) error {
	const op = "verify-luk-cryptogram"
	var e *entry
	err := func() error {
		var (
			mk  keys.Key
			err error
		)
		if e, mk, err = s.tokenMK(op, imk, pan, psn); err != nil {
			return err
		}
		if err := cloud.VerifyLUKAC(mk, api, ki, tags, ac); err != nil {
			return cloudErr(op, hsm.ErrVerify, err)
		}
		return nil
	}()
	s.audit(op, err, entryAttr("imk", e), slog.Int("api", int(api)), slog.String("key_index", ki.String()))
	return err
}

// ExportSUKs derives and wraps the SK_MD and SUK of n consecutive ATCs.
func (s *HSM) ExportSUKs(mkMD, mkUMD hsm.Handle, pan, psn string, firstATC uint16, n int, pin string, salt []byte, tokenRef string, transport hsm.Handle) ([]hsm.WrappedSUK, error) {
	const op = "export-suks"
	var em, eu, te *entry
	out, err := func() ([]hsm.WrappedSUK, error) {
		var err error
		if te, err = s.use(op, transport, hsm.UsageKEK); err != nil {
			return nil, err
		}
		out := make([]hsm.WrappedSUK, 0, n)
		em, eu, err = s.eachSUK(op, mkMD, mkUMD, pan, psn, firstATC, n, pin, salt, tokenRef, func(atc uint16, skMD, suk keys.Key) error {
			mb, err := keyblock.Wrap(te.key, hsm.UsageSessionAC, uint32(atc), skMD)
			if err != nil {
				return err
			}
			sb, err := keyblock.Wrap(te.key, hsm.UsageSessionAC, uint32(atc), suk)
			if err != nil {
				return err
			}
			out = append(out, hsm.WrappedSUK{ATC: atc, MDKCV: skMD.KCVHex(), MDBlock: mb, SUKKCV: suk.KCVHex(), SUKBlock: sb})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}()
	s.audit(op, err, entryAttr("mk_md", em), entryAttr("mk_umd", eu), entryAttr("transport", te),
		slog.Int("first_atc", int(firstATC)), slog.Int("count", n))
	return out, err
}

// eachSUK checks a batch request of n mc-cloud keys from firstATC and
// derives, for each ATC, SK_MD and the SUK (SK_UMD masked with the mobile
// PIN), handing them to fn, which wraps them for their destination. It
// returns the entries of the two master keys for the audit line.
func (s *HSM) eachSUK(op string, mkMD, mkUMD hsm.Handle, pan, psn string, firstATC uint16, n int, pin string, salt []byte,
	tokenRef string, fn func(atc uint16, skMD, suk keys.Key) error) (em, eu *entry, err error) {
	if n < 1 || n > MaxHCEBatch {
		return nil, nil, fmt.Errorf("%w: %s: batch of %d keys, want 1 to %d", hsm.ErrInput, op, n, MaxHCEBatch)
	}
	if int(firstATC)+n-1 > 0xFFFF {
		return nil, nil, fmt.Errorf("%w: %s: ATC %04X + %d keys passes FFFF", hsm.ErrInput, op, firstATC, n)
	}
	if err := cloud.CheckPIN(pin); err != nil {
		return nil, nil, cloudErr(op, nil, err)
	}
	var md, umd keys.Key
	if em, md, err = s.tokenMK(op, mkMD, pan, psn); err != nil {
		return em, nil, err
	}
	if eu, umd, err = s.tokenMK(op, mkUMD, pan, psn); err != nil {
		return em, eu, err
	}
	if em.h.ID == eu.h.ID {
		return em, eu, fmt.Errorf("%w: %s: MK_MD and MK_UMD must be two keys", hsm.ErrInput, op)
	}
	for i := range n {
		atc := firstATC + uint16(i)
		skMD, skUMD, err := cloud.SessionKeys(md, umd, atc)
		if err != nil {
			return em, eu, cloudErr(op, nil, err)
		}
		suk, err := cloud.MakeSUK(skUMD, pin, salt, tokenRef)
		if err != nil {
			return em, eu, cloudErr(op, nil, err)
		}
		if err := fn(atc, skMD, suk); err != nil {
			return em, eu, err
		}
	}
	return em, eu, nil
}

// VerifyMCCryptograms checks the MD and UMD cryptograms of an mc-cloud
// transaction.
func (s *HSM) VerifyMCCryptograms(mkMD, mkUMD hsm.Handle, pan, psn string, tags cryptogram.Source, ac []byte) (cloud.Verdict, error) {
	const op = "verify-mc-cryptograms"
	var (
		em, eu *entry
		v      cloud.Verdict
	)
	err := func() error {
		var (
			md, umd keys.Key
			err     error
		)
		if em, md, err = s.tokenMK(op, mkMD, pan, psn); err != nil {
			return err
		}
		if eu, umd, err = s.tokenMK(op, mkUMD, pan, psn); err != nil {
			return err
		}
		if v, err = cloud.VerifyMC(md, umd, tags, ac); err != nil {
			return cloudErr(op, hsm.ErrVerify, err)
		}
		return nil
	}()
	s.audit(op, err, entryAttr("mk_md", em), entryAttr("mk_umd", eu),
		slog.Bool("md", v.MD), slog.Bool("cardholder_verified", v.CardholderVerified()))
	return v, err
}
