package acquirer_test

import (
	"context"
	"testing"
	"time"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/isospec"
)

// FuzzHandleFrame feeds arbitrary frames to the terminal-facing entry of a
// running acquirer (issuer link up, over loopback). With remac set, a frame
// that parses and carries a MAC field gets a valid terminal MAC first, so
// that the fuzzer reaches past the MAC check into format checks, duplicate
// detection, routing, PIN translation and forwarding. Whatever the input:
// no panic; either a reply that parses under the dialect and answers a
// request, or no reply; a hang-up only without a reply.
func FuzzHandleFrame(f *testing.F) {
	r := newRig(f, func(c *acquirer.Config) { c.IssuerTimeout = 200 * time.Millisecond })
	seed := func(v any) []byte {
		b, err := isospec.Pack(r.encode(v))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	auth := r.authReq(visaPAN, 1500)
	f.Add(seed(auth), false)
	f.Add(seed(auth), true)
	withPIN := r.authReq(visaPAN, 500000)
	r.withPIN(withPIN, "1234")
	f.Add(seed(withPIN), true)
	f.Add(seed(r.authReq(otherPAN, 1)), true)
	f.Add(seed(r.reversalOf(auth)), true)
	nm := isospec.NewNetworkManagement(isospec.NetEcho, "000001", r.clock.Now())
	nm.TerminalID = tid
	f.Add(seed(nm), false)
	f.Add([]byte("0100"), false)
	f.Add([]byte{}, false)
	f.Add([]byte("0110\x00\x00\x00\x00\x00\x00\x00\x00"), false)

	ctx := context.Background()
	f.Fuzz(func(t *testing.T, frame []byte, remac bool) {
		if remac {
			if m, err := isospec.Unpack(frame); err == nil {
				if id := isospec.MACField(m); m.GetField(id) != nil {
					if isospec.SetMAC(m, terminalMAC) == nil {
						if b, err := isospec.Pack(m); err == nil {
							frame = b
						}
					}
				}
			}
		}
		reply, hangUp := r.acq.HandleFrame(ctx, frame)
		if reply == nil {
			return
		}
		if hangUp {
			t.Fatal("hang-up with a reply")
		}
		m, err := isospec.Unpack(reply)
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		mti, _ := m.GetMTI()
		if !isospec.MTI(mti).IsResponse() {
			t.Fatalf("reply MTI %s is not a response", mti)
		}
		if rc, _ := m.GetString(isospec.FieldResponseCode); !isospec.ResponseCode(rc).Known() {
			t.Fatalf("reply with unknown response code %q", rc)
		}
	})
}
