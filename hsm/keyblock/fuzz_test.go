package keyblock_test

import (
	"bytes"
	"testing"

	"github.com/tapsim/tapsim/emv/keywrap"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
)

// FuzzOpen feeds arbitrary blocks to Open under a fixed key-encryption
// key, and arbitrary plaintexts through a valid wrap: Open must never
// panic, and every block it accepts must be re-made identically by Wrap.
func FuzzOpen(f *testing.F) {
	good, _ := keyblock.Wrap(kek, hsm.UsageZPK, 0, zpk)
	f.Add(good, false)
	f.Add([]byte{}, false)
	f.Add(make([]byte, 40), false)
	f.Add(h(f, "01200110000000000123456789ABCDEFFEDCBA9876543210"), true)
	f.Add(h(f, "0160021000000001 2B7E151628AED2A6ABF7158809CF4F3C"), true)
	f.Add(h(f, "01500218000000000001020304050607"), true)
	f.Fuzz(func(t *testing.T, data []byte, wrapFirst bool) {
		block := data
		if wrapFirst {
			w, err := keywrap.Wrap(kek, data)
			if err != nil {
				return
			}
			block = w
		}
		b, err := keyblock.Open(kek, block)
		if err != nil {
			return
		}
		again, err := keyblock.Wrap(kek, b.Usage, b.Context, b.Key)
		if err != nil {
			t.Fatalf("opened a block that does not wrap again: %v", err)
		}
		if !bytes.Equal(again, block) {
			t.Fatal("open then wrap does not give the block back")
		}
	})
}
