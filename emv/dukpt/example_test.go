package dukpt_test

import (
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
)

// A receiving host derives the IPEK and the PIN key of a transaction from
// the BDK and the KSN sent with the PIN block (ANSI X9.24-1 annex A).
func ExampleDeriveKey() {
	bdk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	ksn, _ := hex.DecodeString("FFFF9876543210E00001")
	ipek, _ := dukpt.DeriveIPEK(bdk, ksn)
	txn, _ := dukpt.DeriveKey(ipek, ksn)
	pinKey, _ := dukpt.PINKey(txn)
	fmt.Printf("IPEK %X\n", ipek.Bytes())
	fmt.Printf("key  %X\n", txn.Bytes())
	fmt.Printf("PIN  %X\n", pinKey.Bytes())
	// Output:
	// IPEK 6AC292FAA1315B4D858AB3A3D7D5933A
	// key  042666B49184CFA368DE9628D0397BC9
	// PIN  042666B49184CF5C68DE9628D0397B36
}

// A PIN pad loaded with its IPEK hands out one key per transaction.
func ExampleTerminal() {
	ipek := keys.MustHex(keys.TDES, "6AC292FAA1315B4D858AB3A3D7D5933A")
	ksn, _ := hex.DecodeString("FFFF9876543210E00000")
	term, _ := dukpt.NewTerminal(ipek, ksn)
	for range 3 {
		k, pinKey, _ := term.NextPINKey()
		fmt.Println(k, pinKey) // the key prints as its check value only
	}
	fmt.Println(term.Remaining(), "transactions left")
	// Output:
	// FFFF9876543210E00001 TDES-128 key KCV A10107
	// FFFF9876543210E00002 TDES-128 key KCV B2F04A
	// FFFF9876543210E00003 TDES-128 key KCV D2D308
	// 1048572 transactions left
}

// AES DUKPT (ANSI X9.24-3): initial key, transaction key and PIN key of the
// first transaction of the standard's test vectors.
func ExampleDeriveWorkingKey() {
	bdk := keys.MustHex(keys.AES, "FEDCBA9876543210F1F1F1F1F1F1F1F1")
	ikid, _ := hex.DecodeString("1234567890123456")
	ik, _ := dukpt.DeriveInitialKey(bdk, dukpt.KeyTypeAES128, ikid)
	ksn, _ := dukpt.NewAESKSN(ikid, 1)
	txn, _ := dukpt.DeriveTransactionKey(ik, ksn[:])
	pinKey, _ := dukpt.DeriveWorkingKey(txn, ksn[:], dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
	fmt.Printf("IK  %X\n", ik.Bytes())
	fmt.Printf("KSN %v\n", ksn)
	fmt.Printf("TK  %X\n", txn.Bytes())
	fmt.Printf("PIN %X\n", pinKey.Bytes())
	// Output:
	// IK  1273671EA26AC29AFA4D1084127652A1
	// KSN 123456789012345600000001
	// TK  4F21B565BAD9835E112B6465635EAE44
	// PIN AF8CB133A78F8DC2D1359F18527593FB
}
