// Package dgi codes the Data Grouping Identifiers of EMV card
// personalisation (EMV Card Personalisation Specification, CPS): a DGI is a
// 2-byte identifier, a length (one byte up to 254, else 'FF' and two bytes)
// and the data. STORE DATA commands carry a stream of DGIs to a card
// application; the sensitive ones (keys) travel with their data field
// enciphered.
//
// Which DGI carries what is partly public (records as SFI || record number,
// the 8000/9000 key groups, the 8201-8205 RSA CRT components) and partly
// scheme-licensed; model.go lists the numbers tapsim uses and labels its
// own.
package dgi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Sentinel errors.
var (
	// ErrMalformed reports DGI bytes that do not parse: a truncated header
	// or a length running past the data.
	ErrMalformed = errors.New("dgi: malformed data grouping")
	// ErrTooLong reports data longer than the 65535 bytes a DGI holds.
	ErrTooLong = errors.New("dgi: data too long")
	// ErrCipher reports enciphered data that does not decipher (wrong
	// length or padding, as a wrong key gives) or a key unfit for it.
	ErrCipher = errors.New("dgi: enciphered data does not decipher")
)

// MaxLen is the longest DGI data field.
const MaxLen = 0xFFFF

// DGI is one data grouping. Printing it shows the identifier and length
// only: the data may be a key.
type DGI struct {
	// Tag is the 2-byte identifier, e.g. 0x0101 (SFI 1, record 1).
	Tag uint16
	// Data is the data field.
	Data []byte
}

// String shows the identifier and length, never the data.
func (d DGI) String() string { return fmt.Sprintf("DGI %04X (%d bytes)", d.Tag, len(d.Data)) }

// GoString is String, so that %#v shows no data either.
func (d DGI) GoString() string { return d.String() }

// Append codes d after b: identifier, length ('FF' and two bytes above
// 254), data.
func Append(b []byte, d DGI) ([]byte, error) {
	n := len(d.Data)
	if n > MaxLen {
		return nil, fmt.Errorf("%w: DGI %04X of %d bytes", ErrTooLong, d.Tag, n)
	}
	b = append(b, byte(d.Tag>>8), byte(d.Tag))
	if n <= 0xFE {
		b = append(b, byte(n))
	} else {
		b = append(b, 0xFF, byte(n>>8), byte(n))
	}
	return append(b, d.Data...), nil
}

// Encode codes ds one after the other.
func Encode(ds ...DGI) ([]byte, error) {
	var out []byte
	for _, d := range ds {
		var err error
		if out, err = Append(out, d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Split reads the whole DGIs at the start of b and returns them with the
// bytes of an incomplete last one (a DGI that continues in the next STORE
// DATA block). The DGIs' data are copies. It never reads past b.
func Split(b []byte) (ds []DGI, rest []byte) {
	for len(b) > 0 {
		if len(b) < 3 {
			return ds, b
		}
		tag := uint16(b[0])<<8 | uint16(b[1])
		n, h := int(b[2]), 3
		if b[2] == 0xFF {
			if len(b) < 5 {
				return ds, b
			}
			n, h = int(b[3])<<8|int(b[4]), 5
		}
		if len(b) < h+n {
			return ds, b
		}
		ds = append(ds, DGI{Tag: tag, Data: append([]byte{}, b[h:h+n]...)})
		b = b[h+n:]
	}
	return ds, nil
}

// Parse reads b as whole DGIs; bytes left over are ErrMalformed.
func Parse(b []byte) ([]DGI, error) {
	ds, rest := Split(b)
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: %d bytes of an incomplete DGI at the end", ErrMalformed, len(rest))
	}
	return ds, nil
}

// Find returns the data of the first DGI with tag.
func Find(ds []DGI, tag uint16) ([]byte, bool) {
	for _, d := range ds {
		if d.Tag == tag {
			return d.Data, true
		}
	}
	return nil, false
}

// Names lists the identifiers of ds, e.g. "0101 0201 8000", for traces.
func Names(ds []DGI) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%04X", d.Tag)
	}
	return strings.Join(s, " ")
}

// Encipher enciphers the data field of a sensitive DGI under the data
// encryption key dek (an AES key: the Security Domain's K-DEK under SCP03):
// ISO/IEC 9797-1 method 2 padding ('80' then '00's to a whole block), then
// AES-CBC with a zero ICV. MODEL: CPS leaves the padding of enciphered DGIs
// to the profile; tapsim always pads, so that any length travels.
func Encipher(dek keys.Key, data []byte) ([]byte, error) {
	if dek.Alg() != keys.AES {
		return nil, fmt.Errorf("%w: the data encryption key must be AES", ErrCipher)
	}
	out, err := dek.EncryptCBC(make([]byte, 16), mac.Pad(data, 16, mac.Method2))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCipher, err)
	}
	return out, nil
}

// Decipher reverses Encipher. Data that is not whole blocks or whose
// padding is wrong (a wrong key) is ErrCipher.
func Decipher(dek keys.Key, data []byte) ([]byte, error) {
	if dek.Alg() != keys.AES {
		return nil, fmt.Errorf("%w: the data encryption key must be AES", ErrCipher)
	}
	if len(data) == 0 || len(data)%16 != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not whole blocks", ErrCipher, len(data))
	}
	p, err := dek.DecryptCBC(make([]byte, 16), data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCipher, err)
	}
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 || p[i] != 0x80 || len(p)-i > 16 {
		return nil, fmt.Errorf("%w: bad padding", ErrCipher)
	}
	return p[:i], nil
}
