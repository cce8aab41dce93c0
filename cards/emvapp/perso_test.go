package emvapp_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/dgi"
)

// otherKeys is a key source that is not a master key (as an HCE phone's
// limited-use keys are not).
type otherKeys struct{}

func (otherKeys) Next(last uint16) (uint16, error) { return last + 1, nil }

func (otherKeys) AC(*cryptogram.CVN, uint16, cryptogram.Source) ([]byte, error) {
	return nil, errors.New("no key")
}

func TestDGIsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(testing.TB, string) emvapp.Config
		cvn  string
	}{
		{"visa", visaConfig, "visa18"},
		{"visa cvn22", visaConfig, "visa22"},
		{"mastercard", mcConfig, "mc17"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, tc.cfg(t, tc.cvn))
			ds, err := a.DGIs()
			require.NoError(t, err)
			for _, want := range []uint16{dgi.FCI, dgi.DirectoryEntry, dgi.AppParams, dgi.KeysDES, dgi.KeyCheckValues, dgi.ICCCRTP, dgi.ICCCRTQInv, 0x0201} {
				_, ok := dgi.Find(ds, want)
				require.True(t, ok, "DGI %04X", want)
			}
			b, err := emvapp.FromDGIs(a.AID(), ds, emvapp.Env{Rand: zeroRand()})
			require.NoError(t, err)
			require.Equal(t, a.Records(), b.Records())
			require.Equal(t, a.AFL(), b.AFL())
			require.Equal(t, a.ICC().PublicKey(), b.ICC().PublicKey())
			require.Equal(t, a.Select(), b.Select())

			// Each required DGI missing, a damaged key: refused.
			for _, drop := range []uint16{dgi.FCI, dgi.DirectoryEntry, dgi.AppParams, dgi.KeysDES, dgi.ICCCRTQ} {
				var less []dgi.DGI
				for _, d := range ds {
					if d.Tag != drop {
						less = append(less, d)
					}
				}
				_, err := emvapp.FromDGIs(a.AID(), less, emvapp.Env{Rand: zeroRand()})
				require.ErrorIs(t, err, emvapp.ErrConfig, "without %04X", drop)
			}
			bad := make([]dgi.DGI, len(ds))
			copy(bad, ds)
			for i, d := range bad {
				if d.Tag == dgi.KeysDES {
					k := append([]byte{}, d.Data...)
					k[0] ^= 0xFF
					bad[i] = dgi.DGI{Tag: d.Tag, Data: k}
				}
			}
			_, err = emvapp.FromDGIs(a.AID(), bad, emvapp.Env{Rand: zeroRand()})
			require.ErrorIs(t, err, emvapp.ErrConfig)
			require.NotContains(t, err.Error(), "5A")
		})
	}
	// A card without its master key cannot be prepared for an SE.
	cfg := visaConfig(t, "visa18")
	cfg.Keys = otherKeys{}
	_, err := newApp(t, cfg).DGIs()
	require.ErrorIs(t, err, emvapp.ErrConfig)
}

func FuzzFromDGIs(f *testing.F) {
	a := newApp(f, mcConfig(f, "mc17"))
	ds, err := a.DGIs()
	require.NoError(f, err)
	b, err := dgi.Encode(ds...)
	require.NoError(f, err)
	f.Add(b)
	v := newApp(f, visaConfig(f, "visa18"))
	ds, err = v.DGIs()
	require.NoError(f, err)
	b, err = dgi.Encode(ds...)
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{0xA0, 0x03, 0x02, 0xDF, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := dgi.Parse(b)
		if err != nil {
			return
		}
		app, err := emvapp.FromDGIs([]byte{0xA0, 0, 0, 0, 3, 0x10, 0x10}, ds, emvapp.Env{Rand: zeroRand()})
		if err != nil {
			return
		}
		// Whatever it was personalised with, the applet answers without
		// panicking.
		app.Select()
		app.Process(apdu.GPO(nil))
		app.Process(apdu.ReadRecord(1, 1))
		app.Process(apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, make([]byte, 45)))
	})
}
