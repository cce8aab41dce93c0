package pcsc

import (
	"os"
	"testing"

	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
)

func TestMain(m *testing.M) {
	code := pcscd.Main(m, pcscd.Options{Debug: os.Getenv("TAPSIM_PCSCD_DEBUG") != ""})
	removeTapsim()
	os.Exit(code)
}
