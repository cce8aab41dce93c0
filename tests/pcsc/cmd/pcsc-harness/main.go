// Command pcsc-harness runs a private pcscd with the vpcd virtual reader
// until it is interrupted, to try the PC/SC path by hand without touching
// the system's pcscd: serve a card with "tapsim card serve", list it with
// "tapsim readers", tap it with any PC/SC application pointed at the
// daemon.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
)

func main() {
	port := flag.Int("port", 0, "vpcd's port for slot 0, slot 1 is the next (default: two free ports)")
	name := flag.String("name", "", `reader name (default "tapsim vpcd PORT")`)
	debug := flag.Bool("debug", false, "pcscd logs at debug level, APDUs included, printed when it stops")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	d, err := pcscd.Start(ctx, pcscd.Options{Port: *port, Name: *name, Debug: *debug})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcsc-harness:", err)
		os.Exit(1)
	}
	fmt.Printf(`pcscd %d is running with the vpcd reader %q (slot 1: %q).
In another shell:
  export %s
  tapsim card serve --vpcd %s --profile hce-phone --unlock 5791
  tapsim readers
Ctrl-C stops it.
`, d.Pid(), d.Reader(0), d.Reader(1), d.Env(), d.VPCD(0))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if *debug {
		fmt.Print(d.Log())
	}
	if err := d.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc-harness:", err)
		os.Exit(1)
	}
}
