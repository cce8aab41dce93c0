package walletapp_test

import (
	"net/http"

	"github.com/tapsim/tapsim/provision/wire"
)

func newMux(f *fake) http.Handler {
	mux := http.NewServeMux()
	js := wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}}
	mux.Handle("/wallet/cards", wire.Handle(f.cards, js))
	mux.Handle("/wallet/ack", wire.Handle(f.ack, wire.HandlerOptions{}))
	return mux
}
