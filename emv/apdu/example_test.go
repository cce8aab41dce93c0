package apdu_test

import (
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
)

func ExampleSelectPPSE() {
	b, _ := apdu.SelectPPSE().Bytes()
	fmt.Printf("%X\n", b)
	// Output: 00A404000E325041592E5359532E444446303100
}

func ExampleGenerateAC() {
	cdol1Data, _ := hex.DecodeString("000000030000000000000000015800000000000901251124001A2B3C4D")
	b, _ := apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, cdol1Data).Bytes()
	fmt.Printf("%X\n", b[:5])
	// Output: 80AE90001D
}

func ExampleParseCommand() {
	raw, _ := hex.DecodeString("00B2011400")
	c, _ := apdu.ParseCommand(raw)
	fmt.Printf("INS %02X, record %d, SFI %d, Le %d\n", c.INS, c.P1, c.P2>>3, c.Le)
	// Output: INS B2, record 1, SFI 2, Le 256
}

func ExampleParseResponse() {
	raw, _ := hex.DecodeString("6A82")
	r, _ := apdu.ParseResponse(raw)
	fmt.Println(r.OK(), r.Err())
	// Output: false apdu: status 6A82: file or application not found
}

func ExampleDescribe() {
	for _, sw := range []uint16{0x9000, 0x6110, 0x6C08, 0x63C2, 0x6985} {
		fmt.Println(apdu.Describe(sw))
	}
	// Output:
	// 9000: normal processing
	// 6110: 16 more bytes available
	// 6C08: wrong Le: 8 bytes available
	// 63C2: verification failed, 2 tries left
	// 6985: conditions of use not satisfied
}

// card answers READ RECORD with 61xx, then the data to GET RESPONSE.
type card struct{}

func (card) Transmit(cmd []byte) ([]byte, error) {
	switch cmd[1] {
	case 0xB2:
		return []byte{0x61, 0x05}, nil
	case 0xC0:
		return []byte{0x70, 0x03, 0x5F, 0x34, 0x01, 0x90, 0x00}, nil
	}
	return []byte{0x6D, 0x00}, nil
}

func ExampleExchange() {
	r, err := apdu.Exchange(card{}, apdu.ReadRecord(1, 1))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%X %04X\n", r.Data, r.SW)
	// Output: 70035F3401 9000
}
