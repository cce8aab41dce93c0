package tlv_test

import (
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/emv/tlv"
)

func ExampleDecode() {
	// A GENERATE AC response, format 2.
	resp, _ := hex.DecodeString("77299F2701809F3602001C9F26083B76CF10FECD87899F10120110A00003220000000000000000000000FF")
	l, err := tlv.Decode(resp)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := l.Map()
	fmt.Printf("CID %X, ATC %X, AC %X\n", m[0x9F27], m[0x9F36], m[0x9F26])
	// Output: CID 80, ATC 001C, AC 3B76CF10FECD8789
}

func ExampleDecode_error() {
	_, err := tlv.Decode([]byte{0x5A, 0x08, 0x54, 0x13})
	fmt.Println(err)
	// Output: tlv: truncated at offset 2 (tag 5A): value needs 8 bytes, 2 left
}

func ExampleList_Find() {
	fci, _ := hex.DecodeString("6F1A8407A0000000041010A50F500A4D41535445524341524487010100")
	l, _ := tlv.Decode(fci)
	label, ok := l.Find(0x50)
	fmt.Println(ok, string(label.Value))
	// Output: true MASTERCARD
}

func ExampleEncodeConstructed() {
	b, _ := tlv.EncodeConstructed(0x77,
		tlv.TLV{Tag: 0x82, Value: []byte{0x19, 0x80}},
		tlv.TLV{Tag: 0x94, Value: []byte{0x08, 0x01, 0x01, 0x00}},
	)
	fmt.Printf("%X\n", b)
	// Output: 770A82021980940408010100
}

func ExampleBuildDOL() {
	pdol, _ := tlv.ParseDOL([]byte{0x9F, 0x02, 0x06, 0x5F, 0x2A, 0x02, 0x95, 0x05, 0x9F, 0x37, 0x04})
	terminal := tlv.Map{
		0x9F02: {0x00, 0x00, 0x00, 0x03, 0x00, 0x00}, // NT$300.00
		0x5F2A: {0x09, 0x01},                         // TWD
		0x9F37: {0x1A, 0x2B, 0x3C, 0x4D},
	}
	fmt.Println(pdol)
	fmt.Printf("%X\n", tlv.BuildDOL(pdol, terminal.Lookup))
	// Output:
	// 9F02(6) 5F2A(2) 95(5) 9F37(4)
	// 000000030000090100000000001A2B3C4D
}

func ExampleDOL_Split() {
	cdol := tlv.DOL{{Tag: 0x9F02, Len: 6}, {Tag: 0x9F37, Len: 4}}
	data, _ := hex.DecodeString("0000000300001A2B3C4D")
	parts, _ := cdol.Split(data)
	for _, p := range parts {
		fmt.Printf("%v %X\n", p.Tag, p.Value)
	}
	// Output:
	// 9F02 000000030000
	// 9F37 1A2B3C4D
}

func ExampleDescribe() {
	rec, _ := hex.DecodeString("70255A0854133300890200115F2403251231570E5413330089020011D2512201000F9F420209010000")
	fmt.Print(tlv.Describe(rec, tlv.Kernel2))
	// Output:
	// 70 [37] READ RECORD Response Message Template
	//   5A [8] Application Primary Account Number (PAN): 541333******0011 (masked)
	//   5F24 [3] Application Expiration Date: 251231
	//   57 [14] Track 2 Equivalent Data: 541333******0011D*********** (masked)
	//   9F42 [2] Application Currency Code: 0901
}

func ExampleLookupFor() {
	for _, k := range []tlv.Kernel{tlv.Kernel2, tlv.Kernel3} {
		in, _ := tlv.LookupFor(0x9F6E, k)
		fmt.Printf("%v: %s (%v, %d-%d bytes)\n", k, in.Name, in.Format, in.MinLen, in.MaxLen)
	}
	// Output:
	// C-2: Third Party Data (b, 5-32 bytes)
	// C-3: Form Factor Indicator (FFI) (b, 4-4 bytes)
}

func ExampleParseTag() {
	t, _ := tlv.ParseTag("df8129")
	fmt.Println(t, t.Class(), t.Constructed(), t.Len())
	// Output: DF8129 private false 3
}
