package oda_test

import (
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/tapsim/tapsim/emv/oda"
)

// testKey reads one of the fixed test keys kept as PEM under testdata.
func testKey(name string) *rsa.PrivateKey {
	b, err := os.ReadFile("testdata/" + name + ".pem")
	if err != nil {
		panic(err)
	}
	k, err := oda.ParsePrivateKeyPEM(b)
	if err != nil {
		panic(err)
	}
	return k
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func pub(k *rsa.PrivateKey) oda.PublicKey {
	p, err := oda.NewPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return p
}

// Example builds a certificate chain under the test CA, personalises a card
// with it, and checks it the way a kernel does: CA key lookup by RID and
// index (tag 8F), issuer key recovery, ICC key recovery, then SDA, fDDA and
// CDA signatures.
func Example() {
	const pan = "4761739001010010"
	expiry := oda.Date{Year: 2030, Month: time.December}
	static := unhex("5A0847617390010100105F24033012315F3401019F0702FF003900")

	// Test CA, issuer and card, from fixed keys.
	ca, err := oda.NewCA(oda.TestRID, 0x92, testKey("ca1024_e3"))
	if err != nil {
		panic(err)
	}
	issuerKey := testKey("issuer1024_e3")
	issuerCert, err := ca.CertifyIssuer(pub(issuerKey), oda.IssuerTemplate{IssuerID: "476173", Expiry: expiry, Serial: [3]byte{0, 1, 0x23}})
	if err != nil {
		panic(err)
	}
	issuer, err := oda.NewIssuer(issuerKey, issuerCert)
	if err != nil {
		panic(err)
	}
	iccKey := testKey("icc1024_e3")
	iccCert, err := issuer.CertifyICC(pub(iccKey), oda.ICCTemplate{PAN: pan, Expiry: expiry, Serial: [3]byte{0, 0, 7}, StaticData: static})
	if err != nil {
		panic(err)
	}
	card, err := oda.NewICC(iccKey, iccCert)
	if err != nil {
		panic(err)
	}
	ssad, err := issuer.SignStaticData([2]byte{0xDA, 0xC5}, static)
	if err != nil {
		panic(err)
	}

	// The kernel's side.
	today := time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC)
	store, err := oda.NewCAStore(ca.PublicKey())
	if err != nil {
		panic(err)
	}
	caKey, err := store.Lookup(oda.TestRID, 0x92, today)
	if err != nil {
		panic(err)
	}
	ipk, err := oda.RecoverIssuerPublicKey(caKey, issuer.Certificate, pan, today)
	if err != nil {
		panic(err)
	}
	fmt.Println("issuer:", ipk.IssuerID, ipk.Bits(), "bits, expires", ipk.Expiry)
	icc, err := oda.RecoverICCPublicKey(ipk.PublicKey, card.Certificate, pan, static, today)
	if err != nil {
		panic(err)
	}
	fmt.Println("ICC:", icc.Bits(), "bits")

	dac, err := oda.VerifyStaticData(ipk.PublicKey, ssad, static)
	fmt.Printf("SDA: DAC %X, err %v\n", dac, err)

	// fDDA: the card signs over UN, amount, currency and its 9F69.
	tdd, err := oda.FDDAData(unhex("11223344"), unhex("000000030000"), unhex("0901"), unhex("015E2F1A0B0000"))
	if err != nil {
		panic(err)
	}
	sdad, err := card.SignDDA(unhex("5E2F"), tdd)
	if err != nil {
		panic(err)
	}
	d, err := oda.VerifyDDA(icc.PublicKey, sdad, tdd)
	fmt.Printf("fDDA: ICC dynamic number %X, err %v\n", d.Number, err)

	// CDA: the card hashes its GENERATE AC response without 9F4B.
	cdol1 := unhex("000000030000000000000000015800000000000901260315000BADBEEF")
	response := unhex("9F2701809F36020042")
	tdhc, err := oda.TransactionData{CDOL1: cdol1, Response: response}.Hash()
	if err != nil {
		panic(err)
	}
	cda, err := card.SignCDA(oda.DynamicData{Number: unhex("0011223344556677"), CID: 0x80, AC: unhex("8E5A1C2B3D4E5F60"), TransactionDataHash: tdhc}, unhex("0BADBEEF"))
	if err != nil {
		panic(err)
	}
	in := oda.CDAInput{UnpredictableNumber: unhex("0BADBEEF"), CID: 0x80, Transaction: oda.TransactionData{CDOL1: cdol1, Response: response}}
	d, err = oda.VerifyCDA(icc.PublicKey, cda, in)
	fmt.Printf("CDA: AC %X, err %v\n", d.AC, err)

	in.CID = 0x40 // the response claims a TC, the signature an ARQC
	_, err = oda.VerifyCDA(icc.PublicKey, cda, in)
	fmt.Println(err)

	// Output:
	// issuer: 476173 1024 bits, expires 12/30
	// ICC: 1024 bits
	// SDA: DAC DAC5, err <nil>
	// fDDA: ICC dynamic number 5E2F, err <nil>
	// CDA: AC 8E5A1C2B3D4E5F60, err <nil>
	// oda: signed dynamic application data (9F4B): cryptogram information data does not match: signed 80, response 40
}

// ExampleCAPublicKey_Checksum computes the check sum of the Visa test CA
// key 92, as published with the key.
func ExampleCAPublicKey_Checksum() {
	k := oda.CAPublicKey{
		RID: [5]byte{0xA0, 0x00, 0x00, 0x00, 0x03}, Index: 0x92, Exponent: []byte{0x03},
		Modulus: unhex("996AF56F569187D09293C14810450ED8EE3357397B18A2458EFAA92DA3B6DF6514EC060195318FD43BE9B8F0CC669E3F844057CBDDF8BDA191BB64473BC8DC9A730DB8F6B4EDE3924186FFD9B8C7735789C23A36BA0B8AF65372EB57EA5D89E7D14E9C7B6B557460F10885DA16AC923F15AF3758F0F03EBD3C5C2C949CBA306DB44E6A2C076C5F67E281D7EF56785DC4D75945E491F01918800A9E2DC66F60080566CE0DAF8D17EAD46AD8E30A247C9F"),
	}
	fmt.Printf("%v %X\n", k.ID(), k.Checksum())
	// Output: A000000003/92 429C954A3859CEF91295F663C963E582ED6EB253
}

// ExampleTransactionData_Hash computes a CDA Transaction Data Hash Code; the
// Signed Dynamic Application Data in the response is left out.
func ExampleTransactionData_Hash() {
	h, err := oda.TransactionData{
		CDOL1:    unhex("0102"),
		Response: unhex("9F2701409F4B020000" + "9F36020001"),
	}.Hash()
	fmt.Printf("%X %v\n", h, err)
	same, _ := oda.TransactionData{CDOL1: unhex("0102"), Response: unhex("9F270140" + "9F36020001")}.Hash()
	fmt.Println(string(h) == string(same))
	// Output:
	// B7DB56970F4AA2C817E9C48B061E34971CC92203 <nil>
	// true
}

// ExampleGenerateKey makes a reproducible key from a seeded source, as tests
// do; production code passes crypto/rand.Reader.
func ExampleGenerateKey() {
	k, err := oda.GenerateKey(rand.NewChaCha8([32]byte{1}), 1024, 3)
	if err != nil {
		panic(err)
	}
	fmt.Println(k.N.BitLen(), k.E)
	_, err = oda.GenerateCA(rand.NewChaCha8([32]byte{1}), 2048, 3, oda.TestRID, 1)
	fmt.Println(err)
	// Output:
	// 1024 3
	// oda: bad RSA key length: CA key of 2048 bits, want one of [1024 1152 1408 1984]
}

// ExampleParseMMYY reads a certificate expiration date.
func ExampleParseMMYY() {
	d, err := oda.ParseMMYY([]byte{0x12, 0x30})
	fmt.Println(d, err, d.Expired(time.Date(2030, time.December, 31, 0, 0, 0, 0, time.UTC)), d.Expired(time.Date(2031, time.January, 1, 0, 0, 0, 0, time.UTC)))
	// Output: 12/30 <nil> false true
}

// ExampleDecodePAN reads tag 5A.
func ExampleDecodePAN() {
	pan, err := oda.DecodePAN([]byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x1F})
	fmt.Println(len(pan), pan[:6], err)
	// Output: 15 476173 <nil>
}
