package phone

import (
	"bytes"

	"github.com/tapsim/tapsim/cards/emvapp"
)

// SyncSE makes the payment applications personalised in the secure element
// over the air (GlobalPlatform STORE DATA into an SSD, package se) known to
// the contactless interface, and returns how many it added. Call it after
// each OTA session. Applications the SE locks or deletes later stop
// answering without a call: the terminal reaches an SE application only
// while the SE offers it (se.SE.Select). SE phones only.
func (p *Phone) SyncSE() (int, error) {
	if p.se == nil {
		return 0, ErrKind
	}
	n := 0
	for _, a := range p.se.Selectable() {
		app, ok := a.(*emvapp.App)
		if !ok || p.hasApp(app.AID()) {
			continue
		}
		if err := p.add(app); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (p *Phone) hasApp(aid []byte) bool {
	for _, a := range p.apps {
		if bytes.Equal(a.AID(), aid) {
			return true
		}
	}
	return false
}
