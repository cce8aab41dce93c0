package cloudsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/wire"
)

// Errors of the issuer's staff functions.
var (
	// ErrUnknown reports a card account or phone the platform does not
	// know.
	ErrUnknown = errors.New("cloudsvc: unknown card account or phone")
	// ErrInput reports a malformed card account or staff request.
	ErrInput = errors.New("cloudsvc: invalid input")
	// ErrExists reports a card account enrolled already.
	ErrExists = errors.New("cloudsvc: card account exists")
	// ErrForbidden reports a staff member not allowed to read card data.
	ErrForbidden = errors.New("cloudsvc: not allowed")
)

// errReader is the audit trail's refusal of a staff read.
var errReader = wire.Refuse(http.StatusForbidden, ReasonNotAllowed, "not allowed to read card data")

// CardAccount is a card account the issuer enrols on its cloud platform:
// the real card (PAN, expiry), the cloud account number and expiry the
// phones will present, and the key material's references.
type CardAccount struct {
	Ref    string
	Holder string // the cardholder's customer ID
	PAN    string
	Expiry string // YYMM
	// CloudPAN and CloudExpiry are the account number and expiry of the
	// emulated card on the phones; the keys derive from CloudPAN.
	CloudPAN    string
	CloudExpiry string
	PSN         string
	// IMK labels the issuer master key of the limited-use keys
	// (hsm.UsageIMKAC, double-length TDES).
	IMK string
	// API is the account parameters index; DKI the derivation key index.
	API uint16
	DKI byte
	// CVN is wire.HCECVNVisaCloud (the default) or wire.HCECVNMCCloud;
	// an mc-cloud card derives SK_MD from IMK and SK_UMD from UMDIMK.
	CVN    string
	UMDIMK string
}

// String masks the numbers.
func (c CardAccount) String() string {
	return fmt.Sprintf("card account %s of %s: %s, cloud %s", c.Ref, c.Holder, pan.Mask(c.PAN), pan.Mask(c.CloudPAN))
}

// GoString is String.
func (c CardAccount) GoString() string { return c.String() }

var yymmRE = regexp.MustCompile(`^[0-9]{2}(0[1-9]|1[0-2])$`)

func (c CardAccount) validate() error {
	switch {
	case !idRE.MatchString(c.Ref), !idRE.MatchString(c.Holder):
		return fmt.Errorf("%w: ref and holder", ErrInput)
	case !pan.LuhnValid(c.PAN), !pan.LuhnValid(c.CloudPAN):
		return fmt.Errorf("%w: card and cloud account numbers", ErrInput)
	case !yymmRE.MatchString(c.Expiry), !yymmRE.MatchString(c.CloudExpiry):
		return fmt.Errorf("%w: expiry dates", ErrInput)
	case len(c.PSN) != 2, c.IMK == "":
		return fmt.Errorf("%w: PSN and issuer master key", ErrInput)
	case c.CVN != "" && c.CVN != wire.HCECVNVisaCloud && c.CVN != wire.HCECVNMCCloud:
		return fmt.Errorf("%w: cryptogram version", ErrInput)
	case c.CVN == wire.HCECVNMCCloud && (c.UMDIMK == "" || c.UMDIMK == c.IMK):
		return fmt.Errorf("%w: an mc-cloud card needs a second (UMD) issuer master key", ErrInput)
	}
	return nil
}

func cardAAD(ref string) []byte { return []byte("tapsim cloud card v1\x00" + ref) }

// AddCard enrols a card account; its card data is sealed under the
// platform's data key before it is stored (R-S5e). staff is who enrols
// it, for the audit trail.
func (s *Service) AddCard(staff string, c CardAccount) error {
	if err := c.validate(); err != nil {
		return err
	}
	plain, err := json.Marshal(cardSecrets{PAN: c.PAN, Expiry: c.Expiry, CloudPAN: c.CloudPAN, CloudExpiry: c.CloudExpiry})
	if err != nil {
		return fmt.Errorf("cloudsvc: card data: %w", err)
	}
	dek, err := s.cfg.HSM.Lookup(s.cfg.DEK)
	if err != nil {
		return fmt.Errorf("cloudsvc: data key: %w", err)
	}
	sealed, err := s.cfg.HSM.EncryptData(dek, plain, cardAAD(c.Ref))
	if err != nil {
		return fmt.Errorf("cloudsvc: seal card data: %w", err)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if _, ok := s.st.cards[c.Ref]; ok {
		return fmt.Errorf("%w: %s", ErrExists, c.Ref)
	}
	cvn := c.CVN
	if cvn == "" {
		cvn = wire.HCECVNVisaCloud
	}
	ca := &cardAccount{Ref: c.Ref, Holder: c.Holder, PSN: c.PSN, IMK: c.IMK, API: c.API, DKI: c.DKI,
		MaskedPAN: pan.Mask(c.PAN), Sealed: sealed, CVN: cvn, UMDIMK: c.UMDIMK, nextATC: 1, issued: map[int64]int{}}
	if err := s.putCardLocked(ca); err != nil {
		return err
	}
	s.st.cards[c.Ref] = ca
	s.auditLocked(staff, "add-card", c.Ref, "", nil, pan.Mask(c.PAN))
	return nil
}

// openCard decrypts a card account's data for the platform's own use.
func (s *Service) openCard(ref string, sealed []byte) (cardSecrets, error) {
	dek, err := s.cfg.HSM.Lookup(s.cfg.DEK)
	if err != nil {
		return cardSecrets{}, fmt.Errorf("cloudsvc: data key: %w", err)
	}
	plain, err := s.cfg.HSM.DecryptData(dek, sealed, cardAAD(ref))
	if err != nil {
		return cardSecrets{}, fmt.Errorf("cloudsvc: open card data: %w", err)
	}
	var c cardSecrets
	if err := json.Unmarshal(plain, &c); err != nil {
		return cardSecrets{}, fmt.Errorf("cloudsvc: card data: %w", err)
	}
	return c, nil
}

// CardData is a staff read of a card account's real data.
type CardData struct {
	Ref, Holder, PAN, Expiry, CloudPAN, CloudExpiry string
}

// String masks the numbers and hides the expiry dates.
func (c CardData) String() string {
	return fmt.Sprintf("card data %s: %s, cloud %s", c.Ref, pan.Mask(c.PAN), pan.Mask(c.CloudPAN))
}

// GoString is String.
func (c CardData) GoString() string { return c.String() }

// ReadCard is a staff member's read of a card account's real data (an
// admin function): only the staff members of Config.CardReaders may read
// (ErrForbidden), and every read, allowed or not, is written to the audit
// trail with the staff member's name and purpose before the data is
// returned (R-S5e). Both are required.
func (s *Service) ReadCard(staff, ref, purpose string) (CardData, error) {
	if !idRE.MatchString(staff) || purpose == "" || len(purpose) > 200 {
		return CardData{}, fmt.Errorf("%w: a staff read names the staff member and its purpose", ErrInput)
	}
	s.st.mu.Lock()
	if !slices.Contains(s.cfg.CardReaders, staff) {
		s.auditLocked(staff, "read-card", ref, "", errReader, purpose)
		s.st.mu.Unlock()
		return CardData{}, fmt.Errorf("%w: %s may not read card data", ErrForbidden, staff)
	}
	c, ok := s.st.cards[ref]
	if !ok {
		s.auditLocked(staff, "read-card", ref, "", errUnknownCard, purpose)
		s.st.mu.Unlock()
		return CardData{}, fmt.Errorf("%w: card account %s", ErrUnknown, ref)
	}
	s.auditLocked(staff, "read-card", ref, "", nil, purpose)
	holder, sealed := c.Holder, c.Sealed
	s.st.mu.Unlock()
	sec, err := s.openCard(ref, sealed)
	if err != nil {
		return CardData{}, err
	}
	return CardData{Ref: ref, Holder: holder, PAN: sec.PAN, Expiry: sec.Expiry, CloudPAN: sec.CloudPAN,
		CloudExpiry: sec.CloudExpiry}, nil
}

// ReportLost suspends the binding of phone deviceID to card account ref
// and every key issued to it, at once (R-C1): the ledger refuses its keys
// from now on and the platform refuses its requests. The other phones of
// the account are not affected. actor is who takes the report.
func (s *Service) ReportLost(actor, ref, deviceID string) (wire.HCEBinding, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	b := s.st.bindingOf(ref, deviceID)
	if b == nil {
		return wire.HCEBinding{}, fmt.Errorf("%w: phone %s of card account %s", ErrUnknown, deviceID, ref)
	}
	if err := s.cfg.Ledger.SuspendDevice(ref, deviceID); err != nil {
		return wire.HCEBinding{}, fmt.Errorf("cloudsvc: ledger: %w", err)
	}
	b.Status = wire.HCEBindingSuspended
	if err := s.putBindingLocked(b); err != nil {
		return wire.HCEBinding{}, err
	}
	s.auditLocked(actor, "report-lost", ref, deviceID, nil, "binding "+b.ID+" and its keys suspended")
	return b.public(), nil
}

// Bindings are the phones bound to card account ref.
func (s *Service) Bindings(ref string) []wire.HCEBinding {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var out []wire.HCEBinding
	for _, b := range s.st.bindings {
		if b.CardRef == ref {
			out = append(out, b.public())
		}
	}
	return out
}

// ResetMobilePIN is the issuer's service centre's reset of a phone's
// mobile PIN tries once it has verified the cardholder (R-G3c): the
// issuer's ledger counts from zero again and the phone is served again.
// staff is who resets, for the audit trail. A ledger that counts no PIN
// tries (not a PINLedger) is ErrInput.
func (s *Service) ResetMobilePIN(staff, ref, deviceID string) error {
	if !idRE.MatchString(staff) {
		return fmt.Errorf("%w: a reset names the staff member", ErrInput)
	}
	l, ok := s.cfg.Ledger.(PINLedger)
	if !ok {
		return fmt.Errorf("%w: the ledger counts no mobile PIN tries", ErrInput)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.bindingOf(ref, deviceID) == nil {
		return fmt.Errorf("%w: phone %s of card account %s", ErrUnknown, deviceID, ref)
	}
	if err := l.ResetPIN(ref, deviceID); err != nil {
		return fmt.Errorf("cloudsvc: ledger: %w", err)
	}
	s.auditLocked(staff, "reset-mobile-pin", ref, deviceID, nil, "cardholder verified by the service centre")
	return nil
}

// ReportDeviceLost suspends every binding of phone deviceID, whatever its
// card accounts, and every key issued to it, at once (R-C1), as
// ReportLost does for one. A phone bound to nothing is ErrUnknown.
func (s *Service) ReportDeviceLost(actor, deviceID string) ([]wire.HCEBinding, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var out []wire.HCEBinding
	for _, id := range slices.Sorted(maps.Keys(s.st.bindings)) {
		b := s.st.bindings[id]
		if b.DeviceID != deviceID {
			continue
		}
		if err := s.cfg.Ledger.SuspendDevice(b.CardRef, deviceID); err != nil {
			return out, fmt.Errorf("cloudsvc: ledger: %w", err)
		}
		b.Status = wire.HCEBindingSuspended
		if err := s.putBindingLocked(b); err != nil {
			return out, err
		}
		s.auditLocked(actor, "report-lost", b.CardRef, deviceID, nil, "binding "+b.ID+" and its keys suspended")
		out = append(out, b.public())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: phone %s", ErrUnknown, deviceID)
	}
	return out, nil
}
