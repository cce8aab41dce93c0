package isospec_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
)

func exampleRequest() *isospec.AuthorizationRequest {
	now := time.Date(2025, 3, 15, 10, 30, 0, 0, time.UTC)
	return &isospec.AuthorizationRequest{
		MTI:                  isospec.MTIAuthorizationRequest,
		PAN:                  "4761739001010119",
		ProcessingCode:       isospec.ProcPurchase,
		Amount:               150000, // NT$1,500.00
		TransmissionDateTime: isospec.TransmissionDateTime(now),
		STAN:                 isospec.FormatSTAN(123),
		POSEntryMode:         isospec.ContactlessEntry(true),
		TerminalID:           "TERM0001",
		Currency:             "901",
		ICCData:              []byte{0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x36, 0x02, 0x00, 0x42},
	}
}

func ExampleMarshal() {
	packed, err := isospec.Marshal(exampleRequest())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, %d bytes\n", packed[:4], len(packed))

	var req isospec.AuthorizationRequest
	if err := isospec.Unmarshal(packed, &req); err != nil {
		log.Fatal(err)
	}
	fmt.Println(req) // masked, one line
	// Output:
	// 0100, 97 bytes
	// 0100 authorisation request STAN 000123 TID TERM0001 PAN 476173******0119 proc 000000 amount 000000150000 901 entry 071
}

func ExampleUnpack() {
	_, err := isospec.Unpack([]byte("0100\x40\x00\x00\x00\x00\x00\x00\x00" + "164761739A01010119"))
	var fe *isospec.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, errors.Is(err, isospec.ErrCharset))
	}
	fmt.Println(err)
	// Output:
	// 2 true
	// isospec: field 2 (primary account number): invalid character at offset 21: not n
}

func ExampleSetMAC() {
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210") // held by the HSM in real use
	msg, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetEcho, "000001",
		time.Date(2025, 3, 15, 10, 30, 0, 0, time.UTC)))
	if err != nil {
		log.Fatal(err)
	}
	err = isospec.SetMAC(msg, func(data []byte) ([]byte, error) { return mac.Alg3(k, data, mac.Method1) })
	if err != nil {
		log.Fatal(err)
	}
	packed, err := isospec.Pack(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("MAC in field %d: %X\n", isospec.MACField(msg), packed[len(packed)-8:])

	err = isospec.VerifyMAC(packed, func(data, m []byte) error {
		want, err := mac.Alg3(k, data, mac.Method1)
		if err != nil {
			return err
		}
		if !mac.Equal(want, m) {
			return errors.New("bad MAC")
		}
		return nil
	})
	fmt.Println("verified:", err == nil)
	// Output:
	// MAC in field 128: BA202F33FD8B1A54
	// verified: true
}

func ExampleDescribe() {
	resp, err := isospec.NewAuthorizationResponse(exampleRequest(), isospec.RCCryptogramFailure)
	if err != nil {
		log.Fatal(err)
	}
	resp.PrivateData, err = isospec.PrivateData{DeclineReason: isospec.ReasonARQCInvalid}.Encode()
	if err != nil {
		log.Fatal(err)
	}
	msg, err := isospec.Encode(resp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(isospec.Describe(msg))
	// Output:
	// MTI    0110 (authorisation response)
	// bitmap 7220000002818000 (fields 2 3 4 7 11 39 41 48 49)
	// DE2    primary account number: 476173******0119
	// DE3    processing code: 000000 (purchase, default account to default account)
	// DE4    amount, transaction: 000000150000
	// DE7    transmission date and time: 0315103000 (03-15 10:30:00 UTC)
	// DE11   systems trace audit number: 000123
	// DE39   response code: 82 (cryptogram failure)
	// DE41   card acceptor terminal identification: "TERM0001"
	// DE48   additional data, private: 17 characters
	//        01 decline reason: arqc_invalid
	// DE49   currency code, transaction: 901
}

func ExampleResponseCode() {
	for _, rc := range []isospec.ResponseCode{"00", "82", "94"} {
		fmt.Println(rc, rc.Approved())
	}
	fmt.Println(isospec.ReasonHCEKeyUsed.ResponseCode())
	// Output:
	// 00 (approved) true
	// 82 (cryptogram failure) false
	// 94 (duplicate transmission) false
	// 82 (cryptogram failure)
}

func ExamplePrivateData() {
	s, err := isospec.PrivateData{DeviceID: "hce-phone-0001", CDCVM: true, HCEKeyATC: 66, HasHCEKeyATC: true}.Encode()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s)
	p, err := isospec.ParsePrivateData(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.DeviceID, p.CDCVM, p.HCEKeyATC)
	// Output:
	// 04014hce-phone-00010500110600500066
	// hce-phone-0001 true 66
}

func ExampleNewReversal() {
	rev, err := isospec.NewReversal(exampleRequest(), "000124",
		time.Date(2025, 3, 15, 10, 30, 30, 0, time.UTC), isospec.RCResponseTooLate, "")
	if err != nil {
		log.Fatal(err)
	}
	adv := rev.Advice(true)
	o, err := isospec.ParseOriginalData(adv.OriginalData)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rev.MTI, adv.MTI, adv.OriginalData)
	fmt.Println(o.MTI, o.STAN, o.TransmissionDateTime)
	// Output:
	// 0400 0421 010000012303151030000000000000000000000000
	// 0100 000123 0315103000
}

func ExamplePOSEntryMode() {
	m := isospec.ContactlessEntry(true)
	fmt.Println(m, m.ContactlessChip(), m.Description())
	// Output: 071 true contactless chip, PIN entry capability
}

func ExampleMTI_Response() {
	for _, m := range []isospec.MTI{"0100", "0421", "0800"} {
		r, _ := m.Response()
		fmt.Println(m, "->", r, r.Name())
	}
	// Output:
	// 0100 -> 0110 authorisation response
	// 0421 -> 0430 reversal advice response
	// 0800 -> 0810 network management response
}

// A sign-on through a real loopback connection of moov-io/iso8583-connection
// using the dialect's spec and 2-byte binary length header.
func Example_connection() {
	srv := server.New(isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.InboundMessageHandler(func(c *connection.Connection, m *iso8583.Message) {
			var req isospec.NetworkManagement
			if isospec.Decode(m, &req) != nil {
				return
			}
			resp, err := req.Response(isospec.RCApproved)
			if err != nil {
				return
			}
			if msg, err := isospec.Encode(resp); err == nil {
				_ = c.Reply(msg)
			}
		}))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := connection.New(srv.Addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SendTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	msg, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetSignOn, "000001", time.Now()))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.Send(msg)
	if err != nil {
		log.Fatal(err)
	}
	var out isospec.NetworkManagement
	if err := isospec.Decode(resp, &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.MTI, out.NetworkCode.Name(), out.ResponseCode)
	// Output: 0810 sign-on 00 (approved)
}
