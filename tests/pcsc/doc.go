// Package pcsc holds the end-to-end tests of the PC/SC path over a real,
// private pcscd with the vpcd virtual reader: virtual cards and phones
// served by cards/vpcd are tapped through terminal/pcsc by the Entry Point
// and kernels exactly as a real phone on a USB NFC reader would be.
//
// The tests need pcscd and vsmartcard-vpcd (`make deps`). Without them,
// they are skipped with a message saying how to install them, except when
// the environment variable CI is set: then they fail. Subpackage pcscd is
// the harness that runs the private daemon.
package pcsc
