package pcscd_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
)

// The names and addresses of a daemon's two vpcd slots.
func ExampleDaemon_Reader() {
	d := &pcscd.Daemon{Name: "tapsim vpcd 24000", Port: 24000, Socket: "/tmp/tapsim-pcscd-1/pcscd.comm"}
	for slot := 0; slot < 2; slot++ {
		fmt.Printf("%s <- cards connect to %s\n", d.Reader(slot), d.VPCD(slot))
	}
	fmt.Println(d.Env())
	// Output:
	// tapsim vpcd 24000 00 00 <- cards connect to 127.0.0.1:24000
	// tapsim vpcd 24000 00 01 <- cards connect to 127.0.0.1:24001
	// PCSCLITE_CSOCK_NAME=/tmp/tapsim-pcscd-1/pcscd.comm
}

// A test binary with its own pcscd: TestMain runs the tests through Main,
// and each test that needs the daemon asks for it with Need.
func ExampleMain() {
	testMain := func(m *testing.M) { os.Exit(pcscd.Main(m, pcscd.Options{})) }
	testSomething := func(t *testing.T) {
		d := pcscd.Need(t) // skipped (or failed under CI) without pcscd
		_ = d.VPCD(0)      // serve a card here (package cards/vpcd)
		_ = d.Reader(0)    // and open this reader (package terminal/pcsc)
	}
	_, _ = testMain, testSomething
}
