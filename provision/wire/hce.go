package wire

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
)

// Paths of the HCE cloud platform's API for the phones (provision/cloudsvc).
const (
	PathHCERegister  = "/hce/register"
	PathHCEVerify    = "/hce/register/verify"
	PathHCEChallenge = "/hce/challenge"
	PathHCEDownload  = "/hce/download"
	PathHCEReplenish = "/hce/replenish"
)

// Message types of the HCE cloud platform's envelopes (the signed "typ"
// claim).
const (
	TypeHCERegister  = "hce.register"
	TypeHCEVerify    = "hce.register.verify"
	TypeHCEChallenge = "hce.challenge"
	TypeHCEDownload  = "hce.download"
	TypeHCEReplenish = "hce.replenish"
	TypeHCEBatch     = "hce.batch"
)

// HCECVNVisaCloud names the visa-cloud limited-use key model in HCEProfile.
const HCECVNVisaCloud = "visa-cloud"

// HCECVNMCCloud names the mc-cloud single-use key model (MD and UMD
// cryptograms) in HCEProfile.
const HCECVNMCCloud = "mc-cloud"

// HCEChallengeLabel starts the input of the challenge signature.
const HCEChallengeLabel = "tapsim hce download v1"

var (
	hceIDRE   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	hceCodeRE = regexp.MustCompile(`^[0-9]{3}$`)
	hceOTPRE  = regexp.MustCompile(`^[0-9]{4,8}$`)
	hcePINRE  = regexp.MustCompile(`^[0-9]{4,12}$`)
)

// HCERegisterRequest is the JSON body of a registration: the device's public
// keys, and Envelope, a HCERegister sealed to the platform and signed by the
// signing key of DevicePublicKeys (proof that the app holds it).
type HCERegisterRequest struct {
	DevicePublicKeys PublicKeys `json:"devicePublicKeys"`
	Envelope         string     `json:"envelope"`
}

// HCERegister is what the app registers (TypeHCERegister).
type HCERegister struct {
	// RequestID is the app's ID of this registration, the correlation ID
	// of the issuer's verification.
	RequestID string `json:"requestId"`
	// DeviceID is the phone's hardware device ID.
	DeviceID string `json:"deviceId"`
	// CardRef is the card account's reference (from the issuer's app).
	CardRef string `json:"cardRef"`
	// SecurityCode is the 3-digit code of the card, checked by the issuer
	// and never kept.
	SecurityCode string `json:"securityCode"`
	// Method is the step-up method the OTP goes by; the first the issuer
	// offers when empty.
	Method string `json:"method,omitempty"`
	// MobilePIN is the mobile PIN the cardholder sets for an mc-cloud
	// card (4 to 12 digits): the platform masks each SUK with it and the
	// phone never stores it. Empty for a visa-cloud card.
	MobilePIN string `json:"mobilePin,omitempty"`
	// Passcode is the cardholder's issuer-set passcode (R-G3a: the card's
	// PIN) as a clear ISO 9564 format 1 PIN block, 16 hex digits, for a
	// registration verified by passcode (Method HCEMethodPasscode) rather
	// than by OTP: it travels only inside this envelope sealed to the
	// platform (R-S2a, R-G1), which has the issuer's security module check
	// it. Empty for an OTP registration.
	Passcode string `json:"passcode,omitempty"`
}

// HCEMethodPasscode is the registration's Method when the cardholder is
// verified by the issuer-set passcode (HCERegister.Passcode) instead of
// an OTP.
const HCEMethodPasscode = "PASSCODE"

// String shows no security code.
func (r HCERegister) String() string {
	return fmt.Sprintf("register device %s for card %s (request %s)", r.DeviceID, r.CardRef, r.RequestID)
}

// GoString is String.
func (r HCERegister) GoString() string { return r.String() }

// Validate checks the form of the fields; the message names the field,
// never its value.
func (r HCERegister) Validate() error {
	switch {
	case !hceIDRE.MatchString(r.RequestID), !hceIDRE.MatchString(r.DeviceID), !hceIDRE.MatchString(r.CardRef):
		return fmt.Errorf("%w: requestId, deviceId and cardRef are 1 to 64 letters, digits or . _ : -", ErrInvalid)
	case !hceCodeRE.MatchString(r.SecurityCode):
		return fmt.Errorf("%w: securityCode is 3 digits", ErrInvalid)
	case len(r.Method) > 16:
		return fmt.Errorf("%w: method too long", ErrInvalid)
	case r.MobilePIN != "" && !hcePINRE.MatchString(r.MobilePIN):
		return fmt.Errorf("%w: mobilePin is 4 to 12 digits", ErrInvalid)
	case (r.Method == HCEMethodPasscode) != (r.Passcode != ""):
		return fmt.Errorf("%w: a passcode goes with method %s, and that method with a passcode", ErrInvalid, HCEMethodPasscode)
	case r.Passcode != "":
		if b, err := hex.DecodeString(r.Passcode); err != nil || len(b) != 8 || b[0]>>4 != 1 {
			return fmt.Errorf("%w: passcode must be an 8-byte ISO 9564 format 1 PIN block in hex", ErrInvalid)
		}
	}
	return nil
}

// HCERegisterResult says where the OTP went; for a registration verified
// by passcode, Binding is the phone's binding, made at once, and no OTP
// was sent.
type HCERegisterResult struct {
	RegistrationID string      `json:"registrationId"`
	Method         string      `json:"method"`
	Contact        string      `json:"contact"` // masked
	ExpiresAt      time.Time   `json:"expiresAt"`
	Binding        *HCEBinding `json:"binding,omitempty"`
}

// HCEVerifyRegistration is the OTP the cardholder received (TypeHCEVerify),
// signed with the device key being registered.
type HCEVerifyRegistration struct {
	RegistrationID string `json:"registrationId"`
	OTP            string `json:"otp"`
}

// String shows no OTP.
func (v HCEVerifyRegistration) String() string { return "verify registration " + v.RegistrationID }

// GoString is String.
func (v HCEVerifyRegistration) GoString() string { return v.String() }

// Validate checks the form.
func (v HCEVerifyRegistration) Validate() error {
	if !hceIDRE.MatchString(v.RegistrationID) || !hceOTPRE.MatchString(v.OTP) {
		return fmt.Errorf("%w: registrationId and otp", ErrInvalid)
	}
	return nil
}

// HCEBinding is a stored binding as the phone sees it.
type HCEBinding struct {
	BindingID string    `json:"bindingId"`
	CardRef   string    `json:"cardRef"`
	DeviceID  string    `json:"deviceId"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

// States of an HCEBinding.
const (
	HCEBindingActive    = "ACTIVE"
	HCEBindingSuspended = "SUSPENDED"
)

// HCEChallengeRequest asks for a download challenge (TypeHCEChallenge).
type HCEChallengeRequest struct {
	DeviceID string `json:"deviceId"`
	CardRef  string `json:"cardRef"`
}

// Validate checks the form.
func (c HCEChallengeRequest) Validate() error {
	if !hceIDRE.MatchString(c.DeviceID) || !hceIDRE.MatchString(c.CardRef) {
		return fmt.Errorf("%w: deviceId and cardRef", ErrInvalid)
	}
	return nil
}

// HCEChallenge is a fresh download challenge, valid once until ExpiresAt.
type HCEChallenge struct {
	Challenge string    `json:"challenge"` // base64url, 32 random bytes
	ExpiresAt time.Time `json:"expiresAt"`
}

// HCEDownloadRequest asks for the personalisation data and the first keys
// (TypeHCEDownload). Signature is the ES256 signature (base64url of r || s)
// by the device's signing key of HCEChallengeInput.
type HCEDownloadRequest struct {
	DeviceID  string `json:"deviceId"`
	CardRef   string `json:"cardRef"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"`
}

// Validate checks the form.
func (d HCEDownloadRequest) Validate() error {
	if !hceIDRE.MatchString(d.DeviceID) || !hceIDRE.MatchString(d.CardRef) || len(d.Challenge) == 0 ||
		len(d.Challenge) > 64 || len(d.Signature) == 0 || len(d.Signature) > 128 {
		return fmt.Errorf("%w: deviceId, cardRef, challenge and signature", ErrInvalid)
	}
	return nil
}

// HCEChallengeInput is what the device signs for a download:
// HCEChallengeLabel, challenge, device ID and card reference, each followed
// by a zero byte.
func HCEChallengeInput(challenge, deviceID, cardRef string) []byte {
	var b []byte
	for _, s := range []string{HCEChallengeLabel, challenge, deviceID, cardRef} {
		b = append(append(b, s...), 0)
	}
	return b
}

// HCEReplenishRequest asks for more keys (TypeHCEReplenish). Used lists the
// keys the phone spent since its last request (its transaction log): the
// visa-cloud key indexes (YHHHHCC), the mc-cloud ATCs (4 hex digits). The
// platform refuses a log naming a key it did not issue to the phone.
type HCEReplenishRequest struct {
	DeviceID string   `json:"deviceId"`
	CardRef  string   `json:"cardRef"`
	Used     []string `json:"used,omitempty"`
}

// Validate checks the form.
func (r HCEReplenishRequest) Validate() error {
	if !hceIDRE.MatchString(r.DeviceID) || !hceIDRE.MatchString(r.CardRef) || len(r.Used) > 100 {
		return fmt.Errorf("%w: deviceId, cardRef and used", ErrInvalid)
	}
	return nil
}

// HCEProfile is the emulated personalisation data of the card on the phone
// (R-S5c): the cloud account number and its expiry, never the real
// card's number, expiry or keys.
type HCEProfile struct {
	AccountNumber string `json:"accountNumber"`
	Expiry        string `json:"expiry"` // YYMM
	PSN           string `json:"psn"`
	CVN           string `json:"cvn"`
	DKI           byte   `json:"dki"`
	API           uint16 `json:"api"`
	// Salt and TokenRef enter the PIN mask of an mc-cloud card's SUKs
	// (emv/cloud.UnlockSUK).
	Salt     []byte `json:"salt,omitempty"`
	TokenRef string `json:"tokenRef,omitempty"`
}

// String masks the account number.
func (p HCEProfile) String() string {
	return fmt.Sprintf("cloud profile %s %s API %d", pan.Mask(p.AccountNumber), p.CVN, p.API)
}

// GoString is String.
func (p HCEProfile) GoString() string { return p.String() }

// HCEBatch is what a download or a replenishment sends the phone
// (TypeHCEBatch), sealed to it and signed by the platform. Profile is set on
// a download only.
type HCEBatch struct {
	CardRef  string      `json:"cardRef"`
	DeviceID string      `json:"deviceId"`
	Profile  *HCEProfile `json:"profile,omitempty"`
	Keys     []HCEKey    `json:"keys,omitempty"`
	// SUKs are the mc-cloud keys, one pair per ATC.
	SUKs []HCESUK `json:"suks,omitempty"`
	// NextReplenish is the earliest time the platform accepts a
	// replenishment.
	NextReplenish time.Time `json:"nextReplenish"`
}

// Validate checks the form of a batch the phone opened.
func (b HCEBatch) Validate() error {
	n := len(b.Keys) + len(b.SUKs)
	if !hceIDRE.MatchString(b.CardRef) || !hceIDRE.MatchString(b.DeviceID) || n == 0 || n > 100 {
		return fmt.Errorf("%w: batch", ErrInvalid)
	}
	return nil
}

// HCEKey is one limited-use key of a batch, wrapped for the phone's
// encryption key by the security module (emv/devicekey format).
type HCEKey struct {
	KeyIndex string `json:"keyIndex"` // YHHHHCC
	API      uint16 `json:"api"`      // account parameters index
	KCV      string `json:"kcv"`      // check value of the clear key
	Wrapped  []byte `json:"wrapped"`  // the key wrapped for the device
}

// String shows the key index and KCV only.
func (k HCEKey) String() string {
	return fmt.Sprintf("limited-use key %s API %d KCV %s", k.KeyIndex, k.API, k.KCV)
}

// ErrHCEChallenge reports a download challenge signature that does not
// verify with the device's signing key.
var ErrHCEChallenge = errors.New("wire: hce challenge signature does not verify")

// HCESignChallenge is the phone's signature of a download challenge: ES256
// (base64url of r || s) with its signing key over HCEChallengeInput.
func HCESignChallenge(key *ecdsa.PrivateKey, challenge, deviceID, cardRef string) (string, error) {
	if key == nil {
		return "", fmt.Errorf("%w: no signing key", ErrKey)
	}
	h := sha256.Sum256(HCEChallengeInput(challenge, deviceID, cardRef))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return "", fmt.Errorf("%w: sign challenge: %w", ErrKey, err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// HCEVerifyChallenge checks a download challenge signature with the
// signing key of device (ErrHCEChallenge when it does not verify).
func HCEVerifyChallenge(device PublicKeys, challenge, deviceID, cardRef, sig string) error {
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(raw) != 64 || device.Sign == nil {
		return ErrHCEChallenge
	}
	h := sha256.Sum256(HCEChallengeInput(challenge, deviceID, cardRef))
	if !ecdsa.Verify(device.Sign, h[:], new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])) {
		return ErrHCEChallenge
	}
	return nil
}

// SignHCEChallenge is HCESignChallenge with the party's signing key: the
// phone's answer to a download challenge.
func (p *Party) SignHCEChallenge(challenge, deviceID, cardRef string) (string, error) {
	if p.hsm != nil {
		h := sha256.Sum256(HCEChallengeInput(challenge, deviceID, cardRef))
		sig, err := p.signES256(h[:])
		if err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(sig), nil
	}
	return HCESignChallenge(p.sign, challenge, deviceID, cardRef)
}

// UnwrapHCEKey opens a limited-use key of a batch wrapped for the party's
// encryption key, as a double-length TDES key checked against its KCV.
// Another phone's key, an altered one or a wrong check value is an error
// wrapping ErrKey that carries no key material.
func (p *Party) UnwrapHCEKey(k HCEKey) (keys.Key, error) {
	enc, err := p.phoneKey()
	if err != nil {
		return keys.Key{}, err
	}
	key, err := devicekey.UnwrapChecked(enc, keys.TDES, k.Wrapped, k.KCV)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: party %s: limited-use key %s: %w", ErrKey, p.pub.Name, k.KeyIndex, err)
	}
	if key.Len() != 16 {
		return keys.Key{}, fmt.Errorf("%w: party %s: limited-use key %s is not double-length", ErrKey, p.pub.Name, k.KeyIndex)
	}
	return key, nil
}

// HCESUK is the pair of mc-cloud keys of one ATC, each wrapped for the
// phone's encryption key: SK_MD, and the SUK (SK_UMD masked by the mobile
// PIN, emv/cloud.MakeSUK).
type HCESUK struct {
	ATC        uint16 `json:"atc"`
	MDKCV      string `json:"mdKcv"`
	MDWrapped  []byte `json:"mdWrapped"`
	SUKKCV     string `json:"sukKcv"`
	SUKWrapped []byte `json:"sukWrapped"`
}

// String shows the ATC and check values only.
func (k HCESUK) String() string {
	return fmt.Sprintf("SK_MD/SUK ATC %04X KCV %s/%s", k.ATC, k.MDKCV, k.SUKKCV)
}

// UnwrapHCESUK opens the pair of an mc-cloud batch with the party's
// encryption key, each checked against its KCV; errors wrap ErrKey and
// carry no key material.
func (p *Party) UnwrapHCESUK(k HCESUK) (skMD, suk keys.Key, err error) {
	enc, err := p.phoneKey()
	if err != nil {
		return keys.Key{}, keys.Key{}, err
	}
	skMD, err = devicekey.UnwrapChecked(enc, keys.TDES, k.MDWrapped, k.MDKCV)
	if err != nil {
		return keys.Key{}, keys.Key{}, fmt.Errorf("%w: party %s: SK_MD of ATC %04X: %w", ErrKey, p.pub.Name, k.ATC, err)
	}
	suk, err = devicekey.UnwrapChecked(enc, keys.TDES, k.SUKWrapped, k.SUKKCV)
	if err != nil {
		return keys.Key{}, keys.Key{}, fmt.Errorf("%w: party %s: SUK of ATC %04X: %w", ErrKey, p.pub.Name, k.ATC, err)
	}
	if skMD.Len() != 16 || suk.Len() != 16 {
		return keys.Key{}, keys.Key{}, fmt.Errorf("%w: party %s: keys of ATC %04X are not double-length", ErrKey, p.pub.Name, k.ATC)
	}
	return skMD, suk, nil
}
