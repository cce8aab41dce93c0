package otaagent

import (
	"github.com/tapsim/tapsim/provision/wire"

	"encoding/json"
	"testing"

	"github.com/tapsim/tapsim/emv/gp"
)

// FuzzCommand: whatever the SE TSM answers, the agent takes a well-formed
// command of its own session or refuses, and the trace line never panics.
func FuzzCommand(f *testing.F) {
	f.Add([]byte(`{"session":"s1","step":1,"command":"00A4040008A000000151000000"}`))
	f.Add([]byte(`{"session":"s1","step":2,"done":true,"outcome":"personalised"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var next wire.OTANext
		if json.Unmarshal(b, &next) != nil {
			return
		}
		c, err := Command(next, "s1")
		if err != nil {
			return
		}
		if len(c) < 4 || len(c) > 261 {
			t.Fatalf("command of %d bytes accepted", len(c))
		}
		_ = gp.Describe(c)
	})
}
