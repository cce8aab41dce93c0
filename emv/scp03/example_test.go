package scp03_test

import (
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The session keys of a published example: the GlobalPlatform default key
// 404142...4F as K-ENC and K-MAC, host challenge A7F76C713F0A713D, card
// challenge 31900058C1C451A2.
func ExampleSessionKeys() {
	gp := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	s, err := scp03.SessionKeys(scp03.StaticKeys{ENC: gp, MAC: gp, DEK: gp},
		mustHex("A7F76C713F0A713D"), mustHex("31900058C1C451A2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The GlobalPlatform key check value of an AES key: the first 3 bytes of
	// AES(key, 16 bytes '01').
	kcv, _ := gp.KCVWith(keys.KCVOnes)
	fmt.Printf("K-ENC KCV %X\n", kcv)
	// Keys print as check values only.
	fmt.Println(s.SENC)
	fmt.Printf("S-ENC %X\n", s.SENC.Bytes())
	fmt.Printf("S-MAC %X\n", s.SMAC.Bytes())
	fmt.Printf("S-RMAC %X\n", s.SRMAC.Bytes())
	// Output:
	// K-ENC KCV 504A77
	// AES-128 key KCV 57CAEF5DA7
	// S-ENC 258A78866F41482BEF482DC8CA976CCD
	// S-MAC 053DB6ABC7FDF3B63A0D965EE16B0255
	// S-RMAC EDA0B4F2EC0345BFC50F3BC59CFEF936
}

// One derivation, written out: S-ENC is KDF(K-ENC, '04', host challenge ||
// card challenge, 128 bits).
func ExampleKDF() {
	gp := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	ctx := mustHex("A7F76C713F0A713D31900058C1C451A2")
	fmt.Printf("%X\n", scp03.DerivationData(scp03.ConstSENC, ctx, 128, 1))
	k, _ := scp03.KDF(gp, scp03.ConstSENC, ctx, 128)
	fmt.Printf("%X\n", k)
	// Output:
	// 00000000000000000000000400008001A7F76C713F0A713D31900058C1C451A2
	// 258A78866F41482BEF482DC8CA976CCD
}

// The host (TSM) side against a real card's answers: INITIALIZE UPDATE,
// card cryptogram check, EXTERNAL AUTHENTICATE at level '33', then a GET
// DATA enciphered and MACed, and its enciphered, R-MACed response.
func ExampleHostAuthenticate() {
	static := scp03.StaticKeys{
		ENC: keys.MustHex(keys.AES, "000102030405060708090a0b0c0d0e0f"),
		MAC: keys.MustHex(keys.AES, "101112131415161718191a1b1c1d1e1f"),
		DEK: keys.MustHex(keys.AES, "202122232425262728292a2b2c2d2e2f"),
	}
	hostChallenge := mustHex("fdf38259a1e0de44")
	cmd, _ := scp03.InitializeUpdate(0x30, hostChallenge)
	fmt.Printf("> %X\n", cmd)

	rsp, err := scp03.ParseInitializeUpdateResponse(mustHex("000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rsp)
	ch, ea, err := scp03.HostAuthenticate(static, hostChallenge, rsp, scp03.LevelFull)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("> %X\n", ea)

	w, _ := ch.WrapCommand(mustHex("80E2910006BF3E035C015A00"))
	fmt.Printf("> %X\n", w)
	clear, err := ch.UnwrapResponse(mustHex("f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b99000"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("< %X\n", clear)
	// Output:
	// > 8050300008FDF38259A1E0DE4400
	// INITIALIZE UPDATE response: key version 30, SCP03 i=70 (S8), sequence counter 000003
	// > 84823300108C36F96BCC00724A4E13AD591D7DA3F0
	// > 84E2910018267A85DFE4A98FCA6FB0527E0DFECCE4914E40401433C87F00
	// < BF3E125A10898821199000000000000000000000059000
}

// Our TSM and our virtual SE open a session and exchange one command: the
// card sees the clear command, the host the clear response.
func ExampleCard() {
	static := scp03.StaticKeys{
		ENC: keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F"),
		MAC: keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F"),
		DEK: keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F"),
	}
	se := &scp03.Card{Keys: static, KeyVersion: 0x30, Param: 0x70,
		AID: mustHex("A000000151000000"), Counter: 41}

	hostChallenge := mustHex("0102030405060708")
	cmd, _ := scp03.InitializeUpdate(0x30, hostChallenge)
	rsp, err := se.InitializeUpdate(cmd)
	if err != nil {
		fmt.Printf("card says %04X\n", scp03.StatusWord(err))
		return
	}
	parsed, _ := scp03.ParseInitializeUpdateResponse(rsp[:len(rsp)-2])
	fmt.Println(parsed)
	host, ea, err := scp03.HostAuthenticate(static, hostChallenge, parsed, scp03.LevelFull)
	if err != nil {
		fmt.Println(err)
		return
	}
	card, err := se.ExternalAuthenticate(ea)
	if err != nil {
		fmt.Printf("card says %04X\n", scp03.StatusWord(err))
		return
	}
	fmt.Println(card)

	// STORE DATA with personalisation data, protected at level '33'.
	wrapped, _ := host.WrapCommand(mustHex("80E2800003DF0100"))
	seen, _ := card.UnwrapCommand(wrapped)
	fmt.Printf("card sees %X\n", seen)
	out, _ := card.WrapResponse(mustHex("9000"))
	back, _ := host.UnwrapResponse(out)
	fmt.Printf("host gets %X\n", back)
	// Output:
	// INITIALIZE UPDATE response: key version 30, SCP03 i=70 (S8), sequence counter 00002A
	// SCP03 card channel S8 level 33 (C-MAC, C-DECRYPTION, R-MAC, R-ENCRYPTION) open
	// card sees 80E2800003DF0100
	// host gets 9000
}

// A replayed command fails the C-MAC check (R-G4) and ends the session.
func ExampleChannel_UnwrapCommand() {
	s, _ := scp03.SessionKeys(scp03.StaticKeys{
		ENC: keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F"),
		MAC: keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F"),
	}, mustHex("0102030405060708"), mustHex("1112131415161718"))
	chain := make([]byte, 16)
	host, _ := scp03.NewChannel(scp03.HostRole, s, scp03.S8, scp03.LevelCMAC, chain)
	card, _ := scp03.NewChannel(scp03.CardRole, s, scp03.S8, scp03.LevelCMAC, chain)

	w, _ := host.WrapCommand(mustHex("80F24000024F0000"))
	_, err := card.UnwrapCommand(w)
	fmt.Println(err)
	_, err = card.UnwrapCommand(w)
	fmt.Println(err)
	fmt.Printf("%04X %v\n", scp03.StatusWord(err), card.Closed())
	// Output:
	// <nil>
	// scp03: C-MAC verification failed
	// 6982 true
}

// The pseudo-random card challenge a card computes from its sequence
// counter and AID, which lets the host predict and check it.
func ExamplePseudoRandomCardChallenge() {
	enc := keys.MustHex(keys.AES, "000102030405060708090a0b0c0d0e0f")
	c, _ := scp03.PseudoRandomCardChallenge(enc, [3]byte{0, 0, 2}, mustHex("A0000005591010FFFFFFFF8900000100"))
	fmt.Printf("%X\n", c)
	// Output:
	// 3EB51047495B249F
}
