package oda

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
	"time"
)

// Fixed bytes of the recovered data blocks (Book 2 Annex A).
const (
	headerByte  = 0x6A
	trailerByte = 0xBC
	padByte     = 0xBB

	formatIssuerCert = 0x02
	formatSSAD       = 0x03
	formatICCCert    = 0x04
	formatSDAD       = 0x05

	hashLen = sha1.Size
)

// Certificate is a public key certificate as a card carries it: the signed
// certificate, the part of the modulus that did not fit in it, and the
// exponent. For an issuer key these are tags 90, 92 and 9F32; for an ICC key
// tags 9F46, 9F48 and 9F47. Remainder is empty when the whole modulus fits.
type Certificate struct {
	Data      []byte
	Remainder []byte
	Exponent  []byte
}

// IssuerTemplate holds what a CA certifies about an issuer key.
type IssuerTemplate struct {
	// IssuerID is the leftmost 3 to 8 digits of the PANs the key serves.
	IssuerID string
	// Expiry is the certificate expiration date.
	Expiry Date
	// Serial is the certificate serial number, unique per CA key.
	Serial [3]byte
}

// ICCTemplate holds what an issuer certifies about an ICC key.
type ICCTemplate struct {
	// PAN is the Application PAN (tag 5A) as digits.
	PAN string
	// Expiry is the certificate expiration date.
	Expiry Date
	// Serial is the certificate serial number.
	Serial [3]byte
	// StaticData is the static data to be authenticated: the records the
	// AFL marks for offline data authentication, followed by the AIP when
	// the SDA Tag List names it (Book 3 section 10.3).
	StaticData []byte
}

// IssuerPublicKey is an issuer public key recovered from its certificate,
// with the certificate's fields.
type IssuerPublicKey struct {
	PublicKey
	// IssuerID is the certified issuer identifier, without its F padding.
	IssuerID string
	Expiry   Date
	Serial   [3]byte
	HashAlg  byte
	PKAlg    byte
	// CA is the CA public key that recovered the certificate.
	CA KeyID
}

// String prints the recovered key and certificate fields.
func (k *IssuerPublicKey) String() string {
	return fmt.Sprintf("issuer key %v id %s expiry %v serial %X CA %v", k.PublicKey, k.IssuerID, k.Expiry, k.Serial[:], k.CA)
}

// ICCPublicKey is an ICC public key recovered from its certificate, with
// the certificate's fields. The certified PAN is not kept: the caller holds
// it, and it equals the Application PAN once recovery succeeds.
type ICCPublicKey struct {
	PublicKey
	Expiry  Date
	Serial  [3]byte
	HashAlg byte
	PKAlg   byte
}

// String prints the recovered key and certificate fields.
func (k *ICCPublicKey) String() string {
	return fmt.Sprintf("ICC key %v expiry %v serial %X", k.PublicKey, k.Expiry, k.Serial[:])
}

// certLayout describes the two public key certificate formats: format 02
// (Book 2 Table 6) with a 4-byte issuer identifier, and format 04 (Table 14)
// with a 10-byte PAN.
type certLayout struct {
	object Object
	format byte
	idLen  int
}

var (
	issuerLayout = certLayout{object: ObjectIssuerCert, format: formatIssuerCert, idLen: 4}
	iccLayout    = certLayout{object: ObjectICCCert, format: formatICCCert, idLen: 10}
)

// overhead is the number of bytes other than the public key digits:
// header, format, identifier, expiry (2), serial (3), hash and key
// algorithm indicators, key and exponent lengths, hash result, trailer.
// 36 for the issuer certificate, 42 for the ICC certificate.
func (l certLayout) overhead() int { return 1 + 1 + l.idLen + 2 + 3 + 4 + hashLen + 1 }

// build formats and signs a certificate for pub under s.
func (l certLayout) build(s *signer, id []byte, expiry Date, serial [3]byte, pub PublicKey, extra []byte) (Certificate, error) {
	if err := pub.Validate(); err != nil {
		return Certificate{}, err
	}
	mmyy, err := expiry.MMYY()
	if err != nil {
		return Certificate{}, err
	}
	room := s.size - l.overhead()
	if room <= 0 {
		return Certificate{}, fmt.Errorf("%w: %d-byte signing key is too short for the certificate", ErrKeyLength, s.size)
	}
	mod := pub.Modulus
	digits := make([]byte, room)
	var remainder []byte
	if len(mod) <= room {
		copy(digits, mod)
		for i := len(mod); i < room; i++ {
			digits[i] = padByte
		}
	} else {
		copy(digits, mod[:room])
		remainder = bytes.Clone(mod[room:])
	}
	block := make([]byte, 0, s.size)
	block = append(block, headerByte, l.format)
	block = append(block, id...)
	block = append(block, mmyy[:]...)
	block = append(block, serial[:]...)
	block = append(block, HashSHA1, AlgRSA, byte(len(mod)), byte(len(pub.Exponent)))
	block = append(block, digits...)
	h := sha1.New()
	h.Write(block[1:])
	h.Write(remainder)
	h.Write(pub.Exponent)
	h.Write(extra)
	block = h.Sum(block)
	block = append(block, trailerByte)
	sig, err := s.sign(block)
	if err != nil {
		return Certificate{}, err
	}
	return Certificate{Data: sig, Remainder: remainder, Exponent: bytes.Clone(pub.Exponent)}, nil
}

// certFields are the fields of a recovered certificate.
type certFields struct {
	id      []byte
	expiry  Date
	serial  [3]byte
	hashAlg byte
	pkAlg   byte
	key     PublicKey
}

// recover applies the steps common to Book 2 sections 6.3 and 6.4:
// length, recovery, trailer, header, format, hash, expiry and algorithm
// indicator. The identifier check, which differs between the two formats,
// is done by check before the expiry check, as in the Book 2 order.
func (l certLayout) recover(key PublicKey, c Certificate, extra []byte, now time.Time, check func(id []byte) error) (*certFields, error) {
	o := l.object
	if now.IsZero() {
		return nil, fail(o, ErrInvalid, "no current date to check expiry against")
	}
	if key.Size() < l.overhead()+1 {
		if err := key.Validate(); err != nil {
			return nil, &Error{Object: o, Err: err}
		}
		return nil, fail(o, ErrLength, "%d-byte key is too short for the format", key.Size())
	}
	block, err := key.recoverBlock(o, c.Data)
	if err != nil {
		return nil, err
	}
	n := len(block)
	if block[n-1] != trailerByte {
		return nil, fail(o, ErrTrailer, "got %02X", block[n-1])
	}
	if block[0] != headerByte {
		return nil, fail(o, ErrHeader, "got %02X", block[0])
	}
	if block[1] != l.format {
		return nil, fail(o, ErrFormat, "got %02X, want %02X", block[1], l.format)
	}
	f := &certFields{}
	p := 2
	f.id = block[p : p+l.idLen]
	p += l.idLen
	mmyy := block[p : p+2]
	p += 2
	copy(f.serial[:], block[p:p+3])
	p += 3
	f.hashAlg, f.pkAlg = block[p], block[p+1]
	modLen, expLen := int(block[p+2]), int(block[p+3])
	p += 4
	room := n - l.overhead()
	digits := block[p : p+room]
	hashAt := p + room
	if f.hashAlg != HashSHA1 {
		return nil, fail(o, ErrHashAlg, "got %02X", f.hashAlg)
	}
	want := 0
	if modLen > room {
		want = modLen - room
	}
	if len(c.Remainder) != want {
		return nil, fail(o, ErrRemainder, "%d bytes, the certificate needs %d", len(c.Remainder), want)
	}
	h := sha1.New()
	h.Write(block[1:hashAt])
	h.Write(c.Remainder)
	h.Write(c.Exponent)
	h.Write(extra)
	if subtle.ConstantTimeCompare(h.Sum(nil), block[hashAt:hashAt+hashLen]) != 1 {
		return nil, fail(o, ErrHash, "")
	}
	if err := check(f.id); err != nil {
		return nil, err
	}
	if f.expiry, err = ParseMMYY(mmyy); err != nil {
		return nil, &Error{Object: o, Err: err}
	}
	if f.expiry.Expired(now) {
		return nil, fail(o, ErrExpired, "certificate expired end of %v", f.expiry)
	}
	if f.pkAlg != AlgRSA {
		return nil, fail(o, ErrPKAlg, "got %02X", f.pkAlg)
	}
	if len(c.Exponent) != expLen {
		return nil, fail(o, ErrExponent, "%d bytes, the certificate says %d", len(c.Exponent), expLen)
	}
	if modLen <= room {
		f.key.Modulus = bytes.Clone(digits[:modLen])
	} else {
		f.key.Modulus = append(bytes.Clone(digits), c.Remainder...)
	}
	f.key.Exponent = bytes.Clone(c.Exponent)
	if err := f.key.Validate(); err != nil {
		return nil, &Error{Object: o, Err: err}
	}
	return f, nil
}

// RecoverIssuerPublicKey recovers the issuer public key from its
// certificate with the CA public key and makes every check of Book 2 section
// 6.3: certificate length equal to the CA modulus length, trailer 'BC',
// header '6A', format '02', SHA-1 hash over the certificate fields, the
// remainder and the exponent, issuer identifier equal to the leftmost PAN
// digits, expiry not before now's date, and RSA as the key algorithm. pan is
// the Application PAN as digits. The revocation check (step 10) is
// RevocationList.Check.
func RecoverIssuerPublicKey(ca CAPublicKey, c Certificate, pan string, now time.Time) (*IssuerPublicKey, error) {
	var issuerID string
	f, err := issuerLayout.recover(ca.Key(), c, nil, now, func(id []byte) error {
		digits, ok := unpackDigits(id)
		if !ok || len(digits) < 3 || len(digits) > 8 {
			return fail(ObjectIssuerCert, ErrIssuerID, "identifier is not 3 to 8 digits padded with F")
		}
		if !validPAN(pan) || len(pan) < len(digits) || pan[:len(digits)] != digits {
			return fail(ObjectIssuerCert, ErrIssuerID, "")
		}
		issuerID = digits
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &IssuerPublicKey{
		PublicKey: f.key, IssuerID: issuerID, Expiry: f.expiry, Serial: f.serial,
		HashAlg: f.hashAlg, PKAlg: f.pkAlg, CA: ca.ID(),
	}, nil
}

// RecoverICCPublicKey recovers the ICC public key from its certificate with
// the issuer public key and makes every check of Book 2 section 6.4:
// certificate length equal to the issuer modulus length, trailer 'BC',
// header '6A', format '04', SHA-1 hash over the certificate fields, the
// remainder, the exponent and the static data to be authenticated, certified
// PAN equal to pan, expiry not before now's date, and RSA as the key
// algorithm. staticData is the static data to be authenticated (see
// ICCTemplate.StaticData).
func RecoverICCPublicKey(issuer PublicKey, c Certificate, pan string, staticData []byte, now time.Time) (*ICCPublicKey, error) {
	f, err := iccLayout.recover(issuer, c, staticData, now, func(id []byte) error {
		want, ok := packDigits(pan, 10)
		if !ok || !validPAN(pan) {
			return fail(ObjectICCCert, ErrPAN, "application PAN is not 1 to 19 digits")
		}
		if !bytes.Equal(id, want) {
			return fail(ObjectICCCert, ErrPAN, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ICCPublicKey{PublicKey: f.key, Expiry: f.expiry, Serial: f.serial, HashAlg: f.hashAlg, PKAlg: f.pkAlg}, nil
}
