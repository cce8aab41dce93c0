// Package lab is the sample world of tapsim and its embedded network.
//
// It holds what every part of the emulator needs to stand up the same
// sample payment network: the sample network's test keys, the issuer's
// sample data built from the built-in card and phone profiles (accounts,
// cards, tokens, phones and their single-use keys, and the cards of load
// runs), the acquirer's sample terminals, keys and routes, the default
// terminal configuration, and the issuer host and acquirer started in one
// process on loopback TCP (Start), with a proxy on the acquirer's issuer
// link so that an issuer that hangs or goes away can be simulated. Start
// also runs the wallet flow's services (Provisioning) and gives the sample
// wallet phone its token through them (SampleWallet, Network.Card); an
// issuer host run on its own has that token seeded instead (IssuerSeed).
// It also runs the SP TSM and the SE TSM (SEPlatform) and personalises
// the sample SE phones over the air through them (SampleSE,
// Network.Card); without a world (Card) those phones are built from
// their profiles, their applets installed directly.
//
// The command line (cmd/tapsim), the terminal UI (tui), the end-to-end
// tests (tests/) and the provisioning flows build the world through this
// package, so that cmd/tapsim only parses flags and prints. lab may import
// every role; only cmd/, tui/ and tests/ may import lab.
//
// Every key here is a test key, public and useless outside tapsim; keys are
// never printed or logged, only their check values.
package lab
