package seflow_test

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// tap runs the terminal's kernel on the phone over APDUs.
func tap(t *testing.T, r *rig, d *device) kernel.Outcome {
	t.Helper()
	require.NoError(t, d.ph.Unlock("5791"))
	kcfg := kernel.DefaultConfig()
	kcfg.Clock = r.clock.Now
	var err error
	kcfg.CAPublicKeys, err = testca.CAPublicKeys()
	require.NoError(t, err)
	out, err := entry.Run(ctx, inproc.New(d.ph), kcfg, kernel.Transaction{Amount: 1200, Type: kernel.Purchase})
	require.NoError(t, err)
	return out
}

// R-M1, R-M6, R-S3a, R-S3b, R-S3c, R-S4a, R-S4d, R-S4f, R-G5g: on an SE the issuer owns,
// the issuer's order goes to the SP TSM, which has the SE operator confirm
// the designated SE and hands the sealed script to the SE TSM; the phone's
// agent connects with the cardholder's one-time code, the SE TSM reads the
// CPLC, creates the SSD, installs and personalises the applet over SCP03
// through the agent, and the applet taps through the kernel. Afterwards
// neither TSM holds personalisation data; both logged every step.
func TestIssuerOwnedSE(t *testing.T) {
	for _, profile := range []string{"visa-se-phone", "mc-se-phone"} {
		t.Run(profile, func(t *testing.T) {
			r := newRig(t)
			d := r.device("alice-phone", 1, true)
			p := perso(t, profile)
			sc, err := tsm.IssuerOwned(phone.ISDAID, d.isdKeys, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
			require.NoError(t, err)
			o := r.order(d, p, sc, false)
			require.NoError(t, r.submit(o))
			require.Contains(t, strings.Join(r.sp.Dump(), " "), "script "+o.OrderID, "the sealed script waits for the device at the SP TSM")
			require.NotContains(t, strings.Join(r.sp.Dump(), " "), "ey", "R-S4a, R-S4f: stored under the security module's key, not as received")
			require.NotContains(t, strings.Join(r.se.State(), " "), "ey", "the SE TSM never has the script")
			var trace []string
			a := r.agent(d)
			a.Trace = func(l string) { trace = append(trace, l) }
			res, err := a.Run(ctx, o.OrderID, o.otp)
			require.NoError(t, err)
			require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
			require.Contains(t, strings.Join(trace, "\n"), "INSTALL")
			require.Contains(t, strings.Join(trace, "\n"), "STORE DATA")
			n, err := d.ph.SyncSE()
			require.NoError(t, err)
			require.Equal(t, 1, n)
			out := tap(t, r, d)
			require.Equal(t, kernel.OnlineRequest, out.Type, out.Reason)

			require.Empty(t, r.se.Dump(), "R-G5g")
			for _, l := range r.sp.Dump() {
				require.NotContains(t, l, "ey", "R-G5g: no envelope kept")
			}
			require.NotEmpty(t, r.sp.Log())
			require.NotEmpty(t, r.se.Log())
			for _, e := range append(r.sp.Log(), r.se.Log()...) {
				require.NotRegexp(t, `\b[0-9]{13,19}\b`, e.Step+" "+e.Outcome+" "+e.Order, "R-S4d: no card number in the log")
			}
		})
	}
}

// R-S3b, R-G5e: no TSM sees a clear card key: the issuer enciphers the key
// DGIs under the SSD's K-DEK before the script leaves it. On an SE the
// issuer owns, the script carries no K-DEK (only the channel keys the SP
// TSM opens the sessions with) and its PUT KEY holds the SSD's keys
// enciphered; on a shared SE it carries the issuer's key set for the SP
// TSM to rotate to, sealed to the SP TSM alone (R-M2).
func TestScriptHoldsNoClearKey(t *testing.T) {
	for _, profile := range []string{"visa-se-phone", "mc-se-phone"} {
		p := perso(t, profile)
		issuer := tsm.Keys{KVN: 0x31, Keys: keySet(0x70)}
		isd := tsm.Keys{KVN: 1, Keys: keySet(0x50)}
		owned, err := tsm.IssuerOwned(phone.ISDAID, isd, issuer, p)
		require.NoError(t, err)
		shared, err := tsm.Shared(issuer, p)
		require.NoError(t, err)
		for _, sc := range []tsm.Script{owned, shared} {
			b, err := json.Marshal(sc)
			require.NoError(t, err)
			all := strings.ToLower(string(b))
			n := 0
			for _, d := range p.DGIs {
				if dgi.Sensitive(d.Tag) {
					n++
					require.NotContains(t, all, hex.EncodeToString(d.Data), "DGI %04X in clear", d.Tag)
				}
			}
			require.NotZero(t, n)
			require.NotContains(t, all, hex.EncodeToString(isd.Keys.DEK.Bytes()))
			require.NotContains(t, sc.String(), "enc")
		}
		b, err := json.Marshal(owned)
		require.NoError(t, err)
		require.NotContains(t, strings.ToLower(string(b)), hex.EncodeToString(issuer.Keys.DEK.Bytes()))
		require.NotNil(t, shared.Rotate)
		require.Equal(t, issuer.KVN, shared.Rotate.KVN)
	}
}
