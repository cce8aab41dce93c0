// Package hsm is the security-module boundary of the hosts: keys live inside
// the module and are known outside only by a Handle (an opaque identifier,
// the key's label, usage, algorithm and check value). Callers ask for
// operations (verify an ARQC, make an ARPC, translate or verify a PIN,
// compute or check a MAC, encrypt data at rest, export keys wrapped under a key-encryption key)
// and never receive clear key material.
//
// Every key has one Usage and can serve only the operations of that usage
// (ErrUsage otherwise). The rules of R-G5 apply: keys are generated inside
// the module and weak keys are refused (R-G5a); no key leaves in clear, in
// an error, a log line or a keystore file (R-G5b); keys can be retired
// (R-G5c); keys exchanged with others travel wrapped and authenticated
// (R-G5e).
//
// DeviceExport hands a card's ICC master key to its phone wrapped for the
// phone's own key pair (emv/devicekey).
//
// Cloud (cloud.go) holds the cloud-payment (HCE) operations of the
// emv/cloud model: limited-use keys and the MD/UMD cryptograms.
//
// ECKeys (eckeys.go) holds P-256 key pairs for the JOSE keys of the
// provisioning services: ES256 signing and ECDH-ES key agreement, the
// private halves never leaving the module.
//
// The package defines the interfaces and the vocabulary; hsm/soft is the
// software implementation, with keys wrapped under a local master key.
// hsm/keyblock is the wrapped-key format (RFC 3394 AES key wrap over a
// short header) used by ExportKey and ImportWrappedKey, and
// hsm/pvv the Visa PIN verification value, hsm/cvv the Visa card
// verification value (CVV, CVV2). A PKCS#11 implementation
// (SoftHSM2) is to come behind the same interfaces.
package hsm

import (
	"crypto/ecdsa"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// KeyManager creates, finds, exchanges and retires keys.
type KeyManager interface {
	// GenerateKey draws a new key of n bytes for alg inside the module (odd
	// parity for TDES, never a weak key) and stores it under label.
	GenerateKey(label string, usage Usage, alg keys.Alg, n int) (Handle, error)
	// ImportKey stores a clear key under label, as a key ceremony does.
	// Weak keys are refused (R-G5a); TDES keys are stored with odd parity.
	ImportKey(label string, usage Usage, k keys.Key) (Handle, error)
	// ImportWrappedKey unwraps a key block (hsm/keyblock) made under the
	// key-encryption key kek and stores the key under label. The usage
	// bound in the block must be usage.
	ImportWrappedKey(label string, usage Usage, kek Handle, block []byte) (Handle, error)
	// ExportKey returns key wrapped under the key-encryption key kek as a
	// key block carrying its usage. No key is ever exported in clear.
	ExportKey(key, kek Handle) ([]byte, error)
	// KeyInfo returns the current description of the key h names.
	KeyInfo(h Handle) (Handle, error)
	// Lookup finds a key by its label.
	Lookup(label string) (Handle, error)
	// List returns every key, sorted by label.
	List() ([]Handle, error)
	// DeleteKey retires a key for good (R-G5c).
	DeleteKey(h Handle) error
}

// EMV runs the issuer's cryptogram operations with an issuer master key
// for application cryptograms (UsageIMKAC). The CVN is named as
// cryptogram.Lookup takes it ("visa10", "visa18", "mc16", "aes", ...); its
// entry in emv/cryptogram's table decides the ICC master key derivation,
// session key, data and ARPC method.
type EMV interface {
	// VerifyARQC derives the ICC master key for pan and psn inside the
	// module and checks arqc against the transaction data in tags. A
	// mismatch is ErrVerify.
	VerifyARQC(imk Handle, cvn, pan, psn string, tags cryptogram.Source, arqc []byte) error
	// GenerateARPC computes the issuer's response cryptogram for arqc: resp
	// is the 2-byte ARC (ARPC method 1) or the 4-byte CSU (method 2), prop
	// the method 2 proprietary authentication data (0 to 8 bytes).
	GenerateARPC(imk Handle, cvn, pan, psn string, tags cryptogram.Source, arqc, resp, prop []byte) ([]byte, error)
}

// CVC3 checks the dynamic card verification code of contactless mag-stripe
// mode transactions (emv/cryptogram's CVC3), with the card's key derived
// inside the module. A module that can implements it beside EMV.
type CVC3 interface {
	// VerifyCVC3 derives the card's key for pan and psn from imk by the
	// CVN's option, computes the CVC3 over staticTrack (the track data as
	// personalised), un (the Unpredictable Number, 4 bytes of BCD) and
	// atc, and compares its digits least significant decimal digits with
	// cvc3. A mismatch is ErrVerify.
	VerifyCVC3(imk Handle, cvn, pan, psn string, staticTrack, un []byte, atc uint16, cvc3 uint64, digits int) error
}

// PIN translates and verifies enciphered PIN blocks; the clear PIN never
// leaves the module.
type PIN interface {
	// TranslatePINDUKPT deciphers a terminal's PIN block under the DUKPT
	// PIN key of ksn (derived from the BDK inside the module) and enciphers
	// it again under the zone PIN key: ISO 9564 format 0 for a TDES ZPK,
	// format 4 for an AES ZPK. A TDES BDK (ANSI X9.24-1) takes a 10-byte
	// KSN and a format 0, 1 or 3 block under the PIN variant of the
	// transaction key; an AES BDK (ANSI X9.24-3) a 12-byte KSN and a format
	// 4 block under the "PIN encryption" working key, of the BDK's own
	// type (AES-128 from an AES-128 BDK).
	TranslatePINDUKPT(bdk Handle, ksn, block []byte, zpk Handle, pan string) ([]byte, error)
	// TranslatePIN deciphers a PIN block under src (a TPK or ZPK) and
	// enciphers it again under the ZPK dst, with the same format rules.
	TranslatePIN(src Handle, block []byte, dst Handle, pan string) ([]byte, error)
	// VerifyPIN deciphers a PIN block under the ZPK (or a TPK) and checks
	// the PIN against the card's Visa PIN verification value pvv made with
	// the PVK and key index pvki. A wrong PIN is ErrPIN; a block that does
	// not decode is ErrPINBlock.
	VerifyPIN(zpk Handle, block []byte, pan string, pvk Handle, pvki int, pvv string) error
	// GeneratePVV computes the Visa PVV of a clear PIN, to create sample
	// cards.
	GeneratePVV(pvk Handle, pan, pin string, pvki int) (string, error)
}

// CardCode computes and checks the Visa card verification values (package
// hsm/cvv) under a card verification key (UsageCVK): the stripe's CVV, the
// CVV2 printed on the card (service code "000") and the chip's iCVV. The
// issuer checks a code and never keeps it.
type CardCode interface {
	// GenerateCVV computes the 3-digit code of pan, expiry (4 digits, YYMM
	// in tapsim) and serviceCode, to make sample cards.
	GenerateCVV(cvk Handle, pan, expiry, serviceCode string) (string, error)
	// VerifyCVV checks code in constant time; a wrong code is ErrCVV, a
	// malformed input ErrInput.
	VerifyCVV(cvk Handle, pan, expiry, serviceCode, code string) error
}

// MAC computes and checks message authentication codes. A TDES key uses
// ISO/IEC 9797-1 MAC algorithm 3 with padding method 1 (ANSI X9.19); an
// AES key uses CMAC. Both give 8 bytes. A MAC may be checked on its
// leftmost 4 to 8 bytes.
type MAC interface {
	// GenerateMAC computes the 8-byte MAC of data under a TAK or ZAK.
	GenerateMAC(key Handle, data []byte) ([]byte, error)
	// VerifyMAC checks mac (4 to 8 bytes) over data; a mismatch is ErrMAC.
	VerifyMAC(key Handle, data, mac []byte) error
	// GenerateMACDUKPT computes the MAC of a host's response to the
	// terminal of ksn: the TDES DUKPT MAC response key, or the AES DUKPT
	// "MAC verification" working key (of the BDK's type), derived from the
	// BDK.
	GenerateMACDUKPT(bdk Handle, ksn, data []byte) ([]byte, error)
	// VerifyMACDUKPT checks the MAC of a terminal's request: the TDES DUKPT
	// MAC request key, or the AES DUKPT "MAC generation" working key.
	VerifyMACDUKPT(bdk Handle, ksn, data, mac []byte) error
}

// Data protects sensitive data kept at rest (PANs, token numbers, expiry
// dates, PIN verification values): it is encrypted with AES-GCM under a
// data-encryption key (UsageDEK) and found again through a keyed hash
// (HMAC-SHA-256) under a keyed-hash key (UsageDataHash), so that the
// store holds neither the data nor a hash anyone without the key could
// compute.
type Data interface {
	// EncryptData seals plain under the DEK with AES-GCM and a fresh
	// 12-byte nonce, binding aad (additional data, not encrypted, e.g. the
	// row and column the value belongs to). The result is the nonce, the
	// ciphertext and the 16-byte tag.
	EncryptData(dek Handle, plain, aad []byte) ([]byte, error)
	// DecryptData opens what EncryptData sealed under the same key and aad.
	// A sealed value that was altered, made under another key or bound to
	// other additional data is ErrDecrypt, never a wrong value.
	DecryptData(dek Handle, sealed, aad []byte) ([]byte, error)
	// HashData is the 32-byte HMAC-SHA-256 of data under a keyed-hash key.
	HashData(key Handle, data []byte) ([]byte, error)
}

// HSM is a whole security module. Callers that need only part of it should
// depend on KeyManager, EMV, PIN, MAC or Data.
type HSM interface {
	KeyManager
	EMV
	PIN
	MAC
	Data
	// Close ends the session; every later call fails with ErrClosed.
	Close() error
}

// DeviceExport hands a card's ICC master key to the phone that will hold
// it, so that the key is never in clear outside the module but inside the
// phone (R-G5b, R-G5e): a token service personalising a wallet phone asks
// for the token's key wrapped for the phone's P-256 encryption key.
type DeviceExport interface {
	// ExportICCMKToDevice derives the ICC master key of pan and psn from
	// the issuer master key imk (UsageIMKAC only) by the derivation the
	// CVN names (EMV option A, B or the AES derivation, as
	// cryptogram.CVN.DeriveMK) and returns it wrapped for device in the
	// format of emv/devicekey (0x01 || ephemeral P-256 key || AES-KW under
	// an ECDH-ES + HKDF-SHA-256 KEK bound to the device key's thumbprint),
	// with the key's check value for the phone to check what it unwrapped.
	ExportICCMKToDevice(imk Handle, cvn, pan, psn string, device *ecdsa.PublicKey) (wrapped []byte, kcv string, err error)
}
