package emvapp_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
)

// TestIssuerUpdate: after an ARQC the card checks the issuer's ARPC with
// EXTERNAL AUTHENTICATE on its next presentation, then takes the issuer's
// script commands: APPLICATION BLOCK blocks it for later taps.
func TestIssuerUpdate(t *testing.T) {
	for _, name := range []string{"visa10", "visa18", "visa22"} {
		t.Run(name, func(t *testing.T) {
			cfg := visaConfig(t, name)
			mk := cfg.Keys.(emvapp.MasterKey).MK
			a := newApp(t, cfg)
			x := newTx("000000150000")
			x.ttq = h("36804000")

			// No online cryptogram yet: nothing to authenticate.
			selectApp(t, a)
			require.Equal(t, apdu.SW6985, run(t, a, apdu.ExternalAuthenticate(h("0102030405060708 3030"))).SW)

			selectApp(t, a)
			_, g := gpo(t, a, x)
			require.Equal(t, apdu.SW9000, g.SW)
			m := decode(t, g.Data)
			require.Equal(t, h("80"), m[0x9F27])
			tags := cryptoTags(x, m[0x82], m[0x9F36], m[0x9F10])
			var iad []byte
			if cfg.CVN.ARPCMethod == 1 {
				arpc, err := cfg.CVN.ARPC(mk, tags, m[0x9F26], []byte("00"), nil)
				require.NoError(t, err)
				iad = append(arpc, '0', '0')
			} else {
				csu := h("00820000")
				arpc, err := cfg.CVN.ARPC(mk, tags, m[0x9F26], csu, nil)
				require.NoError(t, err)
				iad = append(arpc, csu...)
			}
			block := apdu.Command{CLA: 0x84, INS: 0x1E, Data: h("AABBCCDD")}

			// Second presentation: script before authentication is refused;
			// a wrong ARPC fails and leaves scripts refused.
			selectApp(t, a)
			require.Equal(t, apdu.SW6985, run(t, a, block).SW)
			bad := append([]byte(nil), iad...)
			bad[0] ^= 1
			require.Equal(t, apdu.SW6300, run(t, a, apdu.ExternalAuthenticate(bad)).SW)
			require.Equal(t, apdu.SW6985, run(t, a, block).SW)
			require.Equal(t, apdu.SW6985, run(t, a, apdu.ExternalAuthenticate(iad)).SW, "one try per presentation, one answer per ARQC")

			// Again after a fresh ARQC, with the right ARPC.
			selectApp(t, a)
			_, g = gpo(t, a, x)
			m = decode(t, g.Data)
			tags = cryptoTags(x, m[0x82], m[0x9F36], m[0x9F10])
			if cfg.CVN.ARPCMethod == 1 {
				arpc, err := cfg.CVN.ARPC(mk, tags, m[0x9F26], []byte("00"), nil)
				require.NoError(t, err)
				iad = append(arpc, '0', '0')
			} else {
				arpc, err := cfg.CVN.ARPC(mk, tags, m[0x9F26], h("00820000"), nil)
				require.NoError(t, err)
				iad = append(arpc, h("00820000")...)
			}
			selectApp(t, a)
			require.Equal(t, apdu.SW9000, run(t, a, apdu.ExternalAuthenticate(iad)).SW)
			put := apdu.Command{CLA: 0x04, INS: 0xDA, P1: 0x9F, P2: 0x23, Data: h("05 AABBCCDD")}
			require.Equal(t, apdu.SW9000, run(t, a, put).SW)
			other := apdu.Command{CLA: 0x04, INS: 0xDA, P1: 0x9F, P2: 0x14, Data: h("05 AABBCCDD")}
			require.Equal(t, apdu.SW6A88, run(t, a, other).SW)
			require.Equal(t, apdu.SW9000, run(t, a, block).SW)
			require.True(t, a.State().Blocked)
			require.Equal(t, uint16(0x6283), selectApp(t, a).SW, "blocked from now on")
			require.Equal(t, apdu.SW6985, run(t, a, apdu.GPO(h("00"))).SW, "no transaction on a blocked application")
		})
	}
}
