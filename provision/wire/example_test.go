package wire_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// The phone's app seals the card to the token service; the wallet
// provider can forward the envelope but not read it; the token service
// opens it once.
func Example() {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	phone, _ := wire.NewParty("phone-0102030405060708", seeded(3))
	tsp, _ := wire.NewParty("token-service", seeded(2))
	// What the token service trusts (here the phone, vouched for by the
	// wallet provider's signed request).
	trust, _ := wire.NewTrustList(phone.Public())

	card := wire.CardData{PAN: "4761739001010010", Expiry: "2812", SecurityCode: "737"}
	tok, err := wire.Seal(card, phone, tsp.Public(), wire.Header{Type: wire.TypeCardData, Clock: clock})
	if err != nil {
		fmt.Println(err)
		return
	}

	want := wire.Expect{Type: wire.TypeCardData, Replay: wire.NewMemoryReplayCache(0), Clock: clock}
	var got wire.CardData
	c, err := wire.OpenInto(tok, tsp, trust, want, &got)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Issuer, "->", c.Audience, c.Type, got, got.Validate() == nil)

	_, err = wire.Open(tok, tsp, trust, want)
	fmt.Println(errors.Is(err, wire.ErrReplay), wire.RefusalFor(err).Reason)
	// Output:
	// phone-0102030405060708 -> token-service card-data card 476173******0010 true
	// true replayed
}

// A refusal answered by a service is the error the client gets, and
// errors.Is finds the reason's sentinel in it.
func ExampleRefusal() {
	var err error = wire.RefusalFor(fmt.Errorf("open: %w", wire.ErrExpired))
	var ref *wire.Refusal
	fmt.Println(errors.As(err, &ref), ref.Code, ref.Reason)
	fmt.Println(errors.Is(err, wire.ErrRefused), errors.Is(err, wire.ErrExpired))
	// Output:
	// true 403 expired
	// true true
}

// The wiring of a provisioning service: mutual TLS from isospec/tlsconf,
// one Handle per endpoint, NewServer for the limits.
func ExampleNewServer() {
	var serverTLS, clientTLS *tls.Config // tlsconf.Server(...) and tlsconf.Client(...)
	var me *wire.Party
	var trust wire.Directory
	replay := wire.NewMemoryReplayCache(0)

	mux := http.NewServeMux()
	mux.Handle("/tokenize", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var req wire.TokenizeRequest
		c, err := wire.OpenInto(string(r.Body), me, trust, wire.Expect{Type: wire.TypeTokenizeRequest, Replay: replay}, &req)
		if err != nil {
			return wire.Response{}, err // answered as a Refusal
		}
		if err := req.Validate(); err != nil {
			return wire.Response{}, err
		}
		answer, err := wire.Seal(wire.TokenizeResponse{TaskID: req.TaskID, Decision: wire.DecisionDeclined},
			me, c.Sender, wire.Header{Type: wire.TypeTokenizeResponse})
		if err != nil {
			return wire.Response{}, err
		}
		return wire.EnvelopeResponse(answer), nil
	}, wire.HandlerOptions{}))

	srv, err := wire.NewServer(mux, serverTLS, wire.Limits{})
	if err != nil {
		return // serverTLS must require client certificates
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer srv.Close()

	client, _ := wire.NewClient(clientTLS, wire.ClientLimits{})
	_, _ = client.PostEnvelope(context.Background(), "https://"+ln.Addr().String()+"/tokenize", "…")
}
