package gp_test

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

// The clear commands a TSM sends to personalise a payment applet; a
// Session adds the SCP03 protection.
func Example() {
	inst := []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
	install, _ := gp.InstallForInstallCmd(gp.Install{
		LoadFile: []byte{0xF0, 0x01, 0x02, 0x03, 0x04}, Module: []byte{0xF0, 0x01, 0x02, 0x03, 0x04, 0x01},
		Instance: inst, Privileges: []byte{0x00},
	}, true)
	perso, _ := gp.InstallForPersonalizationCmd(inst)
	store, _ := gp.StoreDataCmd(0, true, false, []byte{0x01, 0x01, 0x02, 0x70, 0x00})
	lock, _ := gp.SetStatusCmd(gp.StatusApplication, gp.StatePersonalized|gp.StateLockedBit, inst)
	del, _ := gp.DeleteCmd(inst, true)
	for _, c := range [][]byte{install, perso, store, lock, del, gp.GetData(gp.TagCPLC)} {
		fmt.Printf("%X\n", c)
	}
	// Output:
	// 80E60C001B05F00102030406F0010203040107A0000000031010010002C9000000
	// 80E620000D000007A000000003101000000000
	// 80E28800050101027000
	// 80F0408F07A0000000031010
	// 80E40080094F07A000000003101000
	// 80CA9F7F00
}

// PUT KEY of a new key set under the current K-DEK: the keys travel
// enciphered, each with its check value; printing a key set shows check
// values only.
func ExamplePutKeyCmd() {
	k := func(b byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b}, 16)) }
	next := scp03.StaticKeys{ENC: k(0x70), MAC: k(0x71), DEK: k(0x72)}
	cmd, _ := gp.PutKeyCmd(0x30, 0x31, k(0x42), next)
	fmt.Printf("%X (%d bytes of data)\n", cmd[:5], cmd[4])
	kcvs, _ := gp.KeySetKCVs(next)
	fmt.Printf("check values %X\n", kcvs)
	fmt.Println(next.ENC)
	// Output:
	// 80D8308146 (70 bytes of data)
	// check values DF6EB79DA0E63D3BC6
	// AES-128 key KCV 699AB33BCF
}
