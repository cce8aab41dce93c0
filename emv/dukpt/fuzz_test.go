package dukpt_test

import (
	"strings"
	"testing"

	"github.com/tapsim/tapsim/emv/dukpt"
)

// FuzzParseKSNHex: any text either fails or gives a KSN whose String is the
// input's hex digits in upper case; the counter always fits its width.
func FuzzParseKSNHex(f *testing.F) {
	for _, s := range []string{
		"FFFF9876543210E00000", "ffff9876543210e00001", "FFFF 9876543210 EFF800",
		"123456789012345600000001", "", "FFFF9876543210E0000G", "   ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
		if k, err := dukpt.ParseKSNHex(s); err == nil {
			if k.String() != norm || k.Counter() > dukpt.MaxCounter {
				t.Fatalf("%q read as %v", s, k)
			}
			if k.WithCounter(k.Counter()) != k {
				t.Fatal("WithCounter(Counter()) changed the KSN")
			}
		}
		if k, err := dukpt.ParseAESKSNHex(s); err == nil {
			if k.String() != norm {
				t.Fatalf("%q read as %v", s, k)
			}
			back, err := dukpt.NewAESKSN(k.InitialKeyID(), k.Counter())
			if err != nil || back != k {
				t.Fatal("initial key ID and counter do not rebuild the KSN")
			}
		}
	})
}
