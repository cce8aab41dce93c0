package oda

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
)

// SDAD layout (Book 2 Table 17): header, format '05', hash algorithm
// indicator, ICC Dynamic Data length, ICC Dynamic Data, pad pattern of 'BB',
// hash result, trailer.
const sdadOverhead = 1 + 1 + 1 + 1 + hashLen + 1

// Lengths within ICC Dynamic Data.
const (
	// ACLen is the length of an Application Cryptogram (tag 9F26).
	ACLen = 8
	// MinDynamicNumberLen is the shortest ICC Dynamic Number (tag 9F4C)
	// a card signs (Book 2 Table 19).
	MinDynamicNumberLen = 2
	// MaxDynamicNumberLen is the longest ICC Dynamic Number (tag 9F4C).
	MaxDynamicNumberLen = 8
)

// DynamicData is the ICC Dynamic Data signed in the Signed Dynamic
// Application Data: for DDA and fDDA the ICC Dynamic Number (Book 2 Table
// 19); for CDA also the Cryptogram Information Data, the Application
// Cryptogram and the Transaction Data Hash Code (Table 22). Extra holds any
// bytes after those fields.
type DynamicData struct {
	// Number is the ICC Dynamic Number (tag 9F4C), 2 to 8 bytes.
	Number []byte
	// CID is the Cryptogram Information Data (tag 9F27); CDA only.
	CID byte
	// AC is the Application Cryptogram (tag 9F26), 8 bytes; CDA only.
	AC []byte
	// TransactionDataHash is the Transaction Data Hash Code, 20 bytes;
	// CDA only (see TransactionData.Hash).
	TransactionDataHash []byte
	// Extra is data after the fields above, e.g. kernel-specific additions.
	Extra []byte
}

// encode writes the ICC Dynamic Data for DDA (cda false) or CDA (cda true).
func (d DynamicData) encode(cda bool) ([]byte, error) {
	if len(d.Number) < MinDynamicNumberLen || len(d.Number) > MaxDynamicNumberLen {
		return nil, fmt.Errorf("%w: ICC dynamic number of %d bytes, want %d to %d", ErrInvalid, len(d.Number), MinDynamicNumberLen, MaxDynamicNumberLen)
	}
	out := append([]byte{byte(len(d.Number))}, d.Number...)
	if cda {
		if len(d.AC) != ACLen {
			return nil, fmt.Errorf("%w: application cryptogram of %d bytes, want %d", ErrInvalid, len(d.AC), ACLen)
		}
		if len(d.TransactionDataHash) != hashLen {
			return nil, fmt.Errorf("%w: transaction data hash code of %d bytes, want %d", ErrInvalid, len(d.TransactionDataHash), hashLen)
		}
		out = append(out, d.CID)
		out = append(out, d.AC...)
		out = append(out, d.TransactionDataHash...)
	}
	return append(out, d.Extra...), nil
}

// parseDynamicData reads ICC Dynamic Data for DDA (cda false) or CDA.
func parseDynamicData(b []byte, cda bool) (*DynamicData, error) {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return nil, fail(ObjectSDAD, ErrDynamicData, "ICC dynamic number does not fit")
	}
	n := int(b[0])
	d := &DynamicData{Number: bytes.Clone(b[1 : 1+n])}
	rest := b[1+n:]
	if cda {
		if len(rest) < 1+ACLen+hashLen {
			return nil, fail(ObjectSDAD, ErrDynamicData, "%d bytes after the ICC dynamic number, CDA needs %d", len(rest), 1+ACLen+hashLen)
		}
		d.CID = rest[0]
		d.AC = bytes.Clone(rest[1 : 1+ACLen])
		d.TransactionDataHash = bytes.Clone(rest[1+ACLen : 1+ACLen+hashLen])
		rest = rest[1+ACLen+hashLen:]
	}
	if len(rest) > 0 {
		d.Extra = bytes.Clone(rest)
	}
	return d, nil
}

// sign formats and signs Signed Dynamic Application Data (format 05) over
// the ICC dynamic data dyn and the terminal's data.
func (c *ICC) sign(dyn, terminalData []byte) ([]byte, error) {
	if c == nil || c.s == nil {
		return nil, fmt.Errorf("%w: ICC has no key", ErrInvalid)
	}
	n := c.s.size
	if len(dyn) > n-sdadOverhead || len(dyn) > 255 {
		return nil, fmt.Errorf("%w: %d bytes of ICC dynamic data do not fit a %d-byte key", ErrInvalid, len(dyn), n)
	}
	block := make([]byte, 0, n)
	block = append(block, headerByte, formatSDAD, HashSHA1, byte(len(dyn)))
	block = append(block, dyn...)
	for len(block) < n-hashLen-1 {
		block = append(block, padByte)
	}
	h := sha1.New()
	h.Write(block[1:])
	h.Write(terminalData)
	block = h.Sum(block)
	block = append(block, trailerByte)
	sig, err := c.s.sign(block)
	if err != nil {
		return nil, fmt.Errorf("oda: sign dynamic data: %w", err)
	}
	return sig, nil
}

// SignDDA signs the Signed Dynamic Application Data (tag 9F4B) for DDA (Book
// 2 section 6.5, the INTERNAL AUTHENTICATE response) or fDDA (kernel C-3, the
// GET PROCESSING OPTIONS response). number is the ICC Dynamic Number (tag
// 9F4C, 2 to 8 bytes). terminalData is the terminal dynamic data the hash
// covers: the DDOL-related data for DDA, or for fDDA the value FDDAData
// builds (fDDA version 01) or the Unpredictable Number alone (version 00).
func (c *ICC) SignDDA(number, terminalData []byte) ([]byte, error) {
	dyn, err := DynamicData{Number: number}.encode(false)
	if err != nil {
		return nil, err
	}
	return c.sign(dyn, terminalData)
}

// SignCDA signs the Signed Dynamic Application Data (tag 9F4B) for combined
// DDA/application cryptogram generation (Book 2 section 6.6.1): d carries
// the ICC Dynamic Number, the CID, the AC and the Transaction Data Hash Code
// (see TransactionData.Hash); un is the terminal's Unpredictable Number (tag
// 9F37) from the GENERATE AC command data.
func (c *ICC) SignCDA(d DynamicData, un []byte) ([]byte, error) {
	dyn, err := d.encode(true)
	if err != nil {
		return nil, err
	}
	return c.sign(dyn, un)
}

// recoverSDAD makes the checks shared by DDA and CDA: length, recovery,
// trailer, header, format '05', hash algorithm indicator, and the ICC
// Dynamic Data length. It returns the recovered block and the ICC Dynamic
// Data within it.
func recoverSDAD(icc PublicKey, sdad []byte) (block, dyn []byte, err error) {
	const o = ObjectSDAD
	if icc.Size() < sdadOverhead {
		if err := icc.Validate(); err != nil {
			return nil, nil, &Error{Object: o, Err: err}
		}
		return nil, nil, fail(o, ErrLength, "%d-byte key is too short for the format", icc.Size())
	}
	block, err = icc.recoverBlock(o, sdad)
	if err != nil {
		return nil, nil, err
	}
	n := len(block)
	if block[n-1] != trailerByte {
		return nil, nil, fail(o, ErrTrailer, "got %02X", block[n-1])
	}
	if block[0] != headerByte {
		return nil, nil, fail(o, ErrHeader, "got %02X", block[0])
	}
	if block[1] != formatSDAD {
		return nil, nil, fail(o, ErrFormat, "got %02X, want %02X", block[1], formatSDAD)
	}
	if block[2] != HashSHA1 {
		return nil, nil, fail(o, ErrHashAlg, "got %02X", block[2])
	}
	ldd := int(block[3])
	if ldd > n-sdadOverhead {
		return nil, nil, fail(o, ErrDynamicData, "length %d exceeds the %d bytes available", ldd, n-sdadOverhead)
	}
	return block, block[4 : 4+ldd], nil
}

// checkSDADHash compares the recovered hash with SHA-1 over the signed
// fields and the terminal data.
func checkSDADHash(block, terminalData []byte) error {
	n := len(block)
	hashAt := n - hashLen - 1
	h := sha1.New()
	h.Write(block[1:hashAt])
	h.Write(terminalData)
	if subtle.ConstantTimeCompare(h.Sum(nil), block[hashAt:n-1]) != 1 {
		return fail(ObjectSDAD, ErrHash, "")
	}
	return nil
}

// VerifyDDA verifies Signed Dynamic Application Data (tag 9F4B) for DDA or
// fDDA with the recovered ICC public key, making the checks of Book 2
// section 6.5.2: length equal to the ICC modulus length, trailer 'BC', header
// '6A', format '05', hash algorithm SHA-1, and the hash over the signed
// fields and terminalData (see SignDDA for what terminalData holds). It
// returns the ICC Dynamic Data; Number is the ICC Dynamic Number (tag 9F4C).
func VerifyDDA(icc PublicKey, sdad, terminalData []byte) (*DynamicData, error) {
	block, dyn, err := recoverSDAD(icc, sdad)
	if err != nil {
		return nil, err
	}
	if err := checkSDADHash(block, terminalData); err != nil {
		return nil, err
	}
	return parseDynamicData(dyn, false)
}

// CDAInput is what the terminal checks a CDA signature against.
type CDAInput struct {
	// UnpredictableNumber is the terminal's Unpredictable Number (tag
	// 9F37) sent in the GENERATE AC command.
	UnpredictableNumber []byte
	// CID is the Cryptogram Information Data (tag 9F27) in the GENERATE AC
	// response.
	CID byte
	// AC is the Application Cryptogram (tag 9F26) when the response
	// carried one outside the signature; nil when it did not (the usual CDA
	// case: the cryptogram is then taken from the signature).
	AC []byte
	// Transaction is the data the Transaction Data Hash Code covers.
	Transaction TransactionData
}

// VerifyCDA verifies Signed Dynamic Application Data (tag 9F4B) from a
// GENERATE AC response with CDA, making the checks of Book 2 section 6.6.2:
// length, trailer 'BC', header '6A', format '05', hash algorithm SHA-1, the
// CID in the ICC Dynamic Data equal to the response's CID (and the AC equal
// to the response's AC when in.AC is given), the hash over the signed fields
// and the Unpredictable Number, and the Transaction Data Hash Code equal to
// the hash of in.Transaction. It returns the ICC Dynamic Data, whose AC is
// the Application Cryptogram to send online.
func VerifyCDA(icc PublicKey, sdad []byte, in CDAInput) (*DynamicData, error) {
	const o = ObjectSDAD
	block, dyn, err := recoverSDAD(icc, sdad)
	if err != nil {
		return nil, err
	}
	d, err := parseDynamicData(dyn, true)
	if err != nil {
		return nil, err
	}
	if d.CID != in.CID {
		return nil, fail(o, ErrCID, "signed %02X, response %02X", d.CID, in.CID)
	}
	if in.AC != nil && subtle.ConstantTimeCompare(d.AC, in.AC) != 1 {
		return nil, fail(o, ErrAC, "")
	}
	if err := checkSDADHash(block, in.UnpredictableNumber); err != nil {
		return nil, err
	}
	tdhc, err := in.Transaction.Hash()
	if err != nil {
		return nil, &Error{Object: o, Err: err}
	}
	if subtle.ConstantTimeCompare(tdhc, d.TransactionDataHash) != 1 {
		return nil, fail(o, ErrTransactionHash, "")
	}
	return d, nil
}

// FDDAData builds the terminal dynamic data that fDDA version 01 (kernel
// C-3) hashes: Unpredictable Number (9F37, 4 bytes), Amount, Authorised
// (9F02, 6 bytes), Transaction Currency Code (5F2A, 2 bytes) and Card
// Authentication Related Data (9F69) as the card returned it. fDDA version
// 00 hashes the Unpredictable Number alone.
func FDDAData(un, amount, currency, cardAuthData []byte) ([]byte, error) {
	if len(un) != 4 || len(amount) != 6 || len(currency) != 2 {
		return nil, fmt.Errorf("%w: fDDA data needs a 4-byte UN, 6-byte amount and 2-byte currency, got %d, %d, %d", ErrInvalid, len(un), len(amount), len(currency))
	}
	out := make([]byte, 0, 12+len(cardAuthData))
	out = append(out, un...)
	out = append(out, amount...)
	out = append(out, currency...)
	return append(out, cardAuthData...), nil
}

// TransactionData is what the Transaction Data Hash Code of CDA covers (Book
// 2 section 6.6.1): the PDOL-related data sent with GET PROCESSING OPTIONS
// (without tag 83 and its length; nil when the card has no PDOL), the
// CDOL1-related data of the first GENERATE AC, the CDOL2-related data of the
// second GENERATE AC (nil for the first), and the data objects of the
// GENERATE AC response template (the value of tag 77) in the order
// received.
type TransactionData struct {
	PDOL     []byte
	CDOL1    []byte
	CDOL2    []byte
	Response []byte
}

// tagSDAD is the tag of the Signed Dynamic Application Data.
var tagSDAD = []byte{0x9F, 0x4B}

// Hash returns the Transaction Data Hash Code: SHA-1 over the PDOL, CDOL1
// and CDOL2 related data and every TLV object of the response except the
// Signed Dynamic Application Data (9F4B), each object whole (tag, length and
// value). Padding bytes '00' and 'FF' between response objects are not data
// objects and are skipped. It fails with ErrTLV when the response does not
// parse.
func (t TransactionData) Hash() ([]byte, error) {
	h := sha1.New()
	h.Write(t.PDOL)
	h.Write(t.CDOL1)
	h.Write(t.CDOL2)
	rest := t.Response
	for len(rest) > 0 {
		if rest[0] == 0x00 || rest[0] == 0xFF {
			rest = rest[1:]
			continue
		}
		tag, n, err := nextTLV(rest)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(tag, tagSDAD) {
			h.Write(rest[:n])
		}
		rest = rest[n:]
	}
	return h.Sum(nil), nil
}

// nextTLV reads the BER-TLV object at the start of b and returns its tag and
// its whole length. It never reads past b.
func nextTLV(b []byte) (tag []byte, n int, err error) {
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) || i >= 3 {
				return nil, 0, fmt.Errorf("%w: truncated or overlong tag", ErrTLV)
			}
			more := b[i]&0x80 != 0
			i++
			if !more {
				break
			}
		}
	}
	tag = b[:i]
	if i >= len(b) {
		return nil, 0, fmt.Errorf("%w: tag %X has no length", ErrTLV, tag)
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		k := l & 0x7F
		if k == 0 || k > 3 {
			return nil, 0, fmt.Errorf("%w: tag %X has an unsupported length form", ErrTLV, tag)
		}
		if len(b)-i < k {
			return nil, 0, fmt.Errorf("%w: tag %X has a truncated length", ErrTLV, tag)
		}
		l = 0
		for _, x := range b[i : i+k] {
			l = l<<8 | int(x)
		}
		i += k
	}
	if l > len(b)-i {
		return nil, 0, fmt.Errorf("%w: tag %X value runs past the data", ErrTLV, tag)
	}
	return tag, i + l, nil
}
