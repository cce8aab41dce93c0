package soft

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/cvv"
)

// cvvErr sorts an error of hsm/cvv: a mismatch is ErrCVV, anything else
// ErrInput. Neither names the PAN, the expiry or the code.
func cvvErr(op string, err error) error {
	if errors.Is(err, cvv.ErrMismatch) {
		return fmt.Errorf("%w: %s", hsm.ErrCVV, op)
	}
	return fmt.Errorf("%w: %s: %w", hsm.ErrInput, op, err)
}

// GenerateCVV computes a Visa card verification value under a CVK.
func (s *HSM) GenerateCVV(cvk hsm.Handle, pan, expiry, serviceCode string) (string, error) {
	const op = "generate-cvv"
	var e *entry
	out, err := func() (string, error) {
		var err error
		if e, err = s.use(op, cvk, hsm.UsageCVK); err != nil {
			return "", err
		}
		v, err := cvv.Compute(e.key, pan, expiry, serviceCode)
		if err != nil {
			return "", cvvErr(op, err)
		}
		return v, nil
	}()
	s.audit(op, err, entryAttr("cvk", e))
	return out, err
}

// VerifyCVV checks a Visa card verification value under a CVK.
func (s *HSM) VerifyCVV(cvk hsm.Handle, pan, expiry, serviceCode, code string) error {
	const op = "verify-cvv"
	var e *entry
	err := func() error {
		var err error
		if e, err = s.use(op, cvk, hsm.UsageCVK); err != nil {
			return err
		}
		if err := cvv.Verify(e.key, pan, expiry, serviceCode, code); err != nil {
			return cvvErr(op, err)
		}
		return nil
	}()
	s.audit(op, err, entryAttr("cvk", e))
	return err
}
