package emvapp_test

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/tlv"
)

func Example() {
	cvn, _ := cryptogram.Lookup("mc16")
	imk := keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF")
	mk, _ := cvn.DeriveMK(imk, "5413330089010012", "01")
	app, err := emvapp.New(emvapp.Config{
		Scheme: emvapp.Mastercard, AID: []byte{0xA0, 0, 0, 0, 0x04, 0x10, 0x10}, Label: "MASTERCARD",
		PAN: "5413330089010012", PSN: "01", Expiry: emvapp.Date{Year: 2029, Month: 12},
		CVN: cvn, DKI: 1, Keys: emvapp.MasterKey{MK: mk}, Rand: bytes.NewReader(make([]byte, 64)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app.Select()
	r, _ := apdu.ParseResponse(app.Process(apdu.GPO(nil)))
	fmt.Printf("GPO %04X %X\n", r.SW, r.Data)

	// CDOL1: amounts, country, TVR, currency, date, type, UN, terminal type, CVM results.
	cdol1 := "000000012500" + "000000000000" + "0158" + "0000000000" + "0901" + "261124" + "00" + "11223344" + "22" + "3F0002"
	data, _ := hex.DecodeString(cdol1)
	r, _ = apdu.ParseResponse(app.Process(apdu.GenerateAC(apdu.ARQC, data)))
	m := responseTags(r.Data)
	fmt.Printf("CID %X ATC %X\n", m[0x9F27], m[0x9F36])

	// The issuer checks the ARQC from its master key.
	tags := cryptogram.Values{0x9F02: data[0:6], 0x9F03: data[6:12], 0x9F1A: data[12:14], 0x95: data[14:19],
		0x5F2A: data[19:21], 0x9A: data[21:24], 0x9C: data[24:25], 0x9F37: data[25:29],
		0x82: app.AIP(), 0x9F36: m[0x9F36], 0x9F10: m[0x9F10]}
	fmt.Println(cvn.VerifyARQC(mk, tags, m[0x9F26]))
	// Output:
	// GPO 9000 770E8202188094080801010010010100
	// CID 80 ATC 0001
	// <nil>
}

func responseTags(b []byte) tlv.Map {
	l, _ := tlv.Decode(b)
	return l.Map()
}
