// Package walletapp is the wallet app on a virtual wallet phone (seed
// chapter 3.4; R-M5): it holds the device's P-256 keys and its own trust
// list of the token service and the wallet provider (in the spirit of
// R-S6a), adds a card through the wallet provider, handles the issuer's
// step-up (the caller reads the OTP from the message centre and passes it
// to SubmitOTP), checks and installs the token data, acknowledges it with
// a signature, and shows the token's state. Before adding a card the
// phone verifies the cardholder itself (Config.DeviceCVM, a consumer-device
// CVM, R-G3f) and says so, signed with the device key; a token whose
// step-up was not completed is activated afterwards with the card's PIN
// (Activate, R-S2a), an ISO 9564 format 1 PIN block sealed to the token
// service.
//
// The app talks JSON over mutual TLS to the wallet provider (the phones'
// API of provision/walletsvc); everything sensitive travels inside
// envelopes of provision/wire: the card data, the OTP and the PIN block sealed to the
// token service (the wallet provider cannot read them: R-G1, R-S2a), the
// token data sealed by the token service to this device, and the
// acknowledgement signed by this device.
//
// On token data the app checks that the token service signed it (R-G2),
// that it is addressed to this device (the envelope's audience and
// encryption key, R-G1) and bound to its device ID (R-S5d); it keeps only
// the token data (token PAN, expiry, PSN, CVN, key, controls), never the
// funding PAN, its expiry or its code (R-G5g). Card returns what the
// sample world needs to build a wallet-phone card from the token.
package walletapp
