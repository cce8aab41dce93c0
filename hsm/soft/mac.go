package soft

import (
	"fmt"
	"log/slog"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/hsm"
)

// MACLen is the length of the MACs the module computes.
const MACLen = 8

// MinMACLen is the shortest MAC the module checks (ISO/IEC 9797-1: at
// least 32 bits).
const MinMACLen = 4

// computeMAC is ISO/IEC 9797-1 MAC algorithm 3 with padding method 1 (ANSI
// X9.19) for a TDES key, CMAC for an AES key; 8 bytes either way.
func computeMAC(op string, k keys.Key, data []byte) ([]byte, error) {
	var (
		m   []byte
		err error
	)
	if k.Alg() == keys.AES {
		m, err = mac.CMAC(k, data)
	} else {
		m, err = mac.Alg3(k, data, mac.Method1)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", hsm.ErrKeyType, op, err)
	}
	return m[:MACLen], nil
}

// checkMAC compares m with the leftmost len(m) bytes of the MAC of data.
func checkMAC(op string, k keys.Key, data, m []byte) error {
	if len(m) < MinMACLen || len(m) > MACLen {
		return fmt.Errorf("%w: %s: MAC of %d bytes, want %d to %d", hsm.ErrInput, op, len(m), MinMACLen, MACLen)
	}
	want, err := computeMAC(op, k, data)
	if err != nil {
		return err
	}
	if !mac.Equal(want[:len(m)], m) {
		return fmt.Errorf("%w: %s", hsm.ErrMAC, op)
	}
	return nil
}

// GenerateMAC computes the MAC of data under a TAK or ZAK.
func (s *HSM) GenerateMAC(key hsm.Handle, data []byte) ([]byte, error) {
	const op = "generate-mac"
	var e *entry
	m, err := func() ([]byte, error) {
		var err error
		if e, err = s.use(op, key, hsm.UsageTAK, hsm.UsageZAK); err != nil {
			return nil, err
		}
		return computeMAC(op, e.key, data)
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("key", e), slog.Int("bytes", len(data)))
	}
	return m, err
}

// VerifyMAC checks a MAC of 4 to 8 bytes over data under a TAK or ZAK.
func (s *HSM) VerifyMAC(key hsm.Handle, data, m []byte) error {
	const op = "verify-mac"
	var e *entry
	err := func() error {
		var err error
		if e, err = s.use(op, key, hsm.UsageTAK, hsm.UsageZAK); err != nil {
			return err
		}
		return checkMAC(op, e.key, data, m)
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("key", e), slog.Int("bytes", len(data)))
	}
	return err
}

// GenerateMACDUKPT computes the MAC of a response to the terminal of ksn.
func (s *HSM) GenerateMACDUKPT(bdk hsm.Handle, ksn, data []byte) ([]byte, error) {
	const op = "generate-mac-dukpt"
	var e *entry
	m, err := func() ([]byte, error) {
		var err error
		if e, err = s.use(op, bdk, hsm.UsageBDK); err != nil {
			return nil, err
		}
		k, err := dukptKey(op, e.key, ksn, dukpt.VariantMACResponse, dukpt.UsageMACVerification)
		if err != nil {
			return nil, err
		}
		return computeMAC(op, k, data)
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("bdk", e), slog.String("ksn", fmt.Sprintf("%X", ksn)), slog.Int("bytes", len(data)))
	}
	return m, err
}

// VerifyMACDUKPT checks the MAC of a request from the terminal of ksn.
func (s *HSM) VerifyMACDUKPT(bdk hsm.Handle, ksn, data, m []byte) error {
	const op = "verify-mac-dukpt"
	var e *entry
	err := func() error {
		var err error
		if e, err = s.use(op, bdk, hsm.UsageBDK); err != nil {
			return err
		}
		k, err := dukptKey(op, e.key, ksn, dukpt.VariantMACRequest, dukpt.UsageMACGeneration)
		if err != nil {
			return err
		}
		return checkMAC(op, k, data, m)
	}()
	if s.auditing(err) {
		s.audit(op, err, entryAttr("bdk", e), slog.String("ksn", fmt.Sprintf("%X", ksn)), slog.Int("bytes", len(data)))
	}
	return err
}
