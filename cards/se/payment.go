package se

import (
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/dgi"
)

// AddPaymentModule makes tapsim's EMV payment applet available for INSTALL
// [for install]: load file emvapp.LoadFileAID, module emvapp.ModuleAID.
// Its instances personalise from the DGIs of emvapp.App.DGIs and answer the
// contactless interface as *emvapp.App (Select, Selectable), with env's
// cardholder verification and random source.
func (s *SE) AddPaymentModule(env emvapp.Env) error {
	return s.AddModule(emvapp.LoadFileAID, emvapp.ModuleAID, func(aid []byte, data []dgi.DGI) (Applet, error) {
		a, err := emvapp.FromDGIs(aid, data, env)
		if err != nil {
			return nil, err
		}
		return a, nil
	})
}
