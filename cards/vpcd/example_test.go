package vpcd_test

import (
	"context"
	"fmt"
	"net"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/emv/apdu"
)

// A card served to vpcd. Here the test plays vpcd's side of the
// connection: it asks for the ATR, powers the card on and sends SELECT
// PPSE; with pcscd and its vpcd driver the same happens when a PC/SC
// application connects to the virtual reader.
func Example() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // vpcd listens; the card connects
	defer ln.Close()

	p, _ := cards.Builtin("visa-plastic")
	card, _ := cards.FromProfile(p, cards.Options{})
	s := vpcd.New(ln.Addr().String(), card, vpcd.Options{})
	if err := s.Insert(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Remove()

	conn, _ := ln.Accept()
	defer conn.Close()
	ask := func(payload []byte) []byte {
		frame, _ := vpcd.AppendFrame(nil, payload)
		_, _ = conn.Write(frame)
		answer, _ := vpcd.ReadFrame(conn, nil)
		return answer
	}
	fmt.Printf("ATR %X\n", ask([]byte{vpcd.GetATR}))
	frame, _ := vpcd.AppendFrame(nil, []byte{vpcd.PowerOn}) // no answer
	_, _ = conn.Write(frame)
	ppse, _ := apdu.SelectPPSE().Bytes()
	r, _ := apdu.ParseResponse(ask(ppse))
	fmt.Println("SELECT PPSE:", apdu.Describe(r.SW))
	fmt.Printf("%+v\n", s.Stats())
	// Output:
	// ATR 3B88800154415053494D56430E
	// SELECT PPSE: 9000: normal processing
	// {Insertions:1 APDUs:1}
}

func ExampleAppendFrame() {
	frame, _ := vpcd.AppendFrame(nil, []byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	fmt.Printf("% X\n", frame)
	// Output:
	// 00 05 00 A4 04 00 00
}
