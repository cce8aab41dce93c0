// Package keyblock is the format in which keys travel between security
// modules, and from the issuer's module to an HCE phone: the key and a
// short header binding its usage, algorithm, length and a context value,
// wrapped together under an AES key-encryption key with the AES key wrap
// of RFC 3394 (emv/keywrap). The wrap both hides and authenticates: a
// block opened with the wrong key, or altered in any bit, is refused, and
// the usage cannot be changed without the key-encryption key (R-G1, R-G2,
// R-G5e).
//
// Layout of the wrapped plaintext (8-byte header, then the key):
//
//	byte 0     version, 01
//	byte 1     usage code (hsm.Usage.Code)
//	byte 2     algorithm: 01 TDES, 02 AES
//	byte 3     key length in bytes: 16 or 24 (TDES), 16, 24 or 32 (AES)
//	bytes 4-7  context, big-endian (the ATC of an HCE session key; else 0)
//	bytes 8-   the key
//
// The block is RFC3394-Wrap(KEK, header || key): 32, 40 or 48 bytes.
package keyblock

import (
	"encoding/binary"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
	"github.com/tapsim/tapsim/hsm"
)

// Version is the header version this package writes and reads.
const Version = 0x01

// HeaderLen is the length of the header in front of the key.
const HeaderLen = 8

// Block is an opened key block: the key and what the header binds to it.
type Block struct {
	Usage   hsm.Usage
	Context uint32
	Key     keys.Key
}

// String shows the usage, context and key check value, never the key.
func (b Block) String() string {
	return fmt.Sprintf("key block %s context %d %v", b.Usage, b.Context, b.Key)
}

// Wrap makes the key block of k with usage and context under the AES
// key-encryption key kek. The usage must admit k's algorithm and length.
func Wrap(kek keys.Key, usage hsm.Usage, context uint32, k keys.Key) ([]byte, error) {
	if usage.Code() == 0 {
		return nil, fmt.Errorf("%w: unknown usage %q", hsm.ErrKeyBlock, string(usage))
	}
	if err := usage.Admits(k.Alg(), k.Len()); err != nil {
		return nil, fmt.Errorf("%w: %w", hsm.ErrKeyBlock, err)
	}
	p := make([]byte, HeaderLen, HeaderLen+k.Len())
	p[0] = Version
	p[1] = usage.Code()
	p[2] = byte(k.Alg())
	p[3] = byte(k.Len())
	binary.BigEndian.PutUint32(p[4:], context)
	p = append(p, k.Bytes()...)
	defer clear(p)
	w, err := keywrap.Wrap(kek, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", hsm.ErrKeyBlock, err)
	}
	return w, nil
}

// Open unwraps a key block under kek, checks its integrity and header, and
// returns the key with its usage and context. It never reads past block
// and never panics; every failure wraps hsm.ErrKeyBlock and carries no
// key data.
func Open(kek keys.Key, block []byte) (Block, error) {
	switch len(block) {
	case 8 + HeaderLen + 16, 8 + HeaderLen + 24, 8 + HeaderLen + 32:
	default:
		return Block{}, fmt.Errorf("%w: %d bytes, want 32, 40 or 48", hsm.ErrKeyBlock, len(block))
	}
	p, err := keywrap.Unwrap(kek, block)
	if err != nil {
		return Block{}, fmt.Errorf("%w: %w", hsm.ErrKeyBlock, err)
	}
	defer clear(p)
	if p[0] != Version {
		return Block{}, fmt.Errorf("%w: version %02X, want %02X", hsm.ErrKeyBlock, p[0], Version)
	}
	usage, ok := hsm.UsageFromCode(p[1])
	if !ok {
		return Block{}, fmt.Errorf("%w: unknown usage code %02X", hsm.ErrKeyBlock, p[1])
	}
	alg := keys.Alg(p[2])
	if alg != keys.TDES && alg != keys.AES {
		return Block{}, fmt.Errorf("%w: unknown algorithm code %02X", hsm.ErrKeyBlock, p[2])
	}
	n := int(p[3])
	if n != len(p)-HeaderLen {
		return Block{}, fmt.Errorf("%w: header says %d key bytes, block holds %d", hsm.ErrKeyBlock, n, len(p)-HeaderLen)
	}
	if err := usage.Admits(alg, n); err != nil {
		return Block{}, fmt.Errorf("%w: %w", hsm.ErrKeyBlock, err)
	}
	k, err := keys.New(alg, p[HeaderLen:])
	if err != nil {
		return Block{}, fmt.Errorf("%w: %w", hsm.ErrKeyBlock, err)
	}
	return Block{Usage: usage, Context: binary.BigEndian.Uint32(p[4:8]), Key: k}, nil
}
