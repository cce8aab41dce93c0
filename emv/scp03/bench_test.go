package scp03_test

import (
	"bytes"
	"testing"

	"github.com/tapsim/tapsim/emv/scp03"
)

func BenchmarkKDF(b *testing.B) {
	k := keySet(16).ENC
	ctx := h("b13e5f938fc108c43eb51047495b249f")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scp03.KDF(k, scp03.ConstSENC, ctx, 128); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionKeys(b *testing.B) {
	st := keySet(32)
	hc, cc := h("b13e5f938fc108c4"), h("3eb51047495b249f")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scp03.SessionKeys(st, hc, cc); err != nil {
			b.Fatal(err)
		}
	}
}

// A whole handshake, both sides: INITIALIZE UPDATE, card cryptogram, host
// cryptogram, EXTERNAL AUTHENTICATE.
func BenchmarkHandshake(b *testing.B) {
	st := keySet(16)
	hc := h("b13e5f938fc108c4")
	iu, _ := scp03.InitializeUpdate(0x30, hc)
	c := &scp03.Card{Keys: st, KeyVersion: 0x30, Param: 0x70, AID: isdrAID}
	b.ReportAllocs()
	for b.Loop() {
		rsp, err := c.InitializeUpdate(iu)
		if err != nil {
			b.Fatal(err)
		}
		r, err := scp03.ParseInitializeUpdateResponse(rsp[:len(rsp)-2])
		if err != nil {
			b.Fatal(err)
		}
		_, ea, err := scp03.HostAuthenticate(st, hc, r, scp03.LevelFull)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.ExternalAuthenticate(ea); err != nil {
			b.Fatal(err)
		}
	}
}

// STORE DATA with 200 bytes at level '33': wrap on the host, unwrap on the
// card.
func BenchmarkWrapUnwrapCommand(b *testing.B) {
	host, card := handshake(b, keySet(16), 0x70, scp03.LevelFull)
	cmd := append(h("80E20000C8"), bytes.Repeat([]byte{0x42}, 200)...)
	b.SetBytes(200)
	b.ReportAllocs()
	for b.Loop() {
		w, err := host.WrapCommand(cmd)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := card.UnwrapCommand(w); err != nil {
			b.Fatal(err)
		}
	}
}
