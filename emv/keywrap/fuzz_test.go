package keywrap_test

import (
	"bytes"
	"testing"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
)

// FuzzUnwrap feeds arbitrary blocks to Unwrap: it must never panic, and
// whatever it accepts must wrap back to the very same block.
func FuzzUnwrap(f *testing.F) {
	for _, v := range rfc3394 {
		f.Add(h(f, v.kek), h(f, v.wrapped))
	}
	f.Add(make([]byte, 16), make([]byte, 24))
	f.Add(make([]byte, 16), []byte{})
	f.Add(make([]byte, 32), make([]byte, 17))
	f.Fuzz(func(t *testing.T, kb, w []byte) {
		kek, err := keys.New(keys.AES, kb)
		if err != nil {
			return
		}
		p, err := keywrap.Unwrap(kek, w)
		if err != nil {
			return
		}
		again, err := keywrap.Wrap(kek, p)
		if err != nil {
			t.Fatalf("unwrapped %d bytes that do not wrap again: %v", len(p), err)
		}
		if !bytes.Equal(again, w) {
			t.Fatal("unwrap then wrap does not give the block back")
		}
	})
}
