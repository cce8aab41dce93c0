package hceapp_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// The phone's storage brings the app back with the same device keys and
// the keys it had not spent, still wrapped for the device key (never a
// key in clear), and the keys spent since the last replenishment.
func TestSaveRestore(t *testing.T) {
	r := newRig(t)
	env, luks := r.batch(t, 3, true)
	c, err := r.app.Install("card-1", env)
	require.NoError(t, err)
	first, err := c.Pay(terminal(), hceapp.Verification{CDCVM: true})
	require.NoError(t, err)

	data, err := r.app.Save()
	require.NoError(t, err)
	for _, k := range luks {
		require.NotContains(t, strings.ToUpper(string(data)), strings.ToUpper(hex.EncodeToString(k.Bytes())), "a key in clear")
	}
	require.NotContains(t, string(data), "4895370012345671", "the account number in clear")
	got, err := hceapp.Restore(r.cfg(t), data)
	require.NoError(t, err)
	require.True(t, r.app.DeviceKeys().Sign.Equal(got.DeviceKeys().Sign), "the same device keys")
	rc, ok := got.Card("card-1")
	require.True(t, ok)
	require.Equal(t, 2, rc.KeysLeft())
	next, err := rc.Pay(terminal(), hceapp.Verification{CDCVM: true})
	require.NoError(t, err)
	require.NotEqual(t, first.KeyIndex, next.KeyIndex)
	want, err := cloud.GenerateLUKAC(luks[1], next.Tags)
	require.NoError(t, err)
	require.Equal(t, want, next.AC(), "the second key, unwrapped from storage")
	require.Equal(t, []byte{0, 2}, next.Tags[0x9F36], "the counter goes on")

	// Without a connection (a terminal run) it pays and saves, and says
	// it cannot reach the platform; it trusts the stored platform keys.
	off, err := hceapp.Restore(hceapp.Config{}, data)
	require.NoError(t, err)
	_, err = off.Replenish(t.Context(), "card-1")
	require.ErrorIs(t, err, hceapp.ErrConfig)
	oc, _ := off.Card("card-1")
	_, err = oc.Pay(terminal(), hceapp.Verification{CDCVM: true})
	require.NoError(t, err)
	_, err = off.Save()
	require.NoError(t, err)
}

// Storage that is not the app's, or another phone's, or whose keys do
// not unwrap with the stored device key, is refused whole.
func TestRestoreRefuses(t *testing.T) {
	r := newRig(t)
	env, _ := r.batch(t, 1, true)
	_, err := r.app.Install("card-1", env)
	require.NoError(t, err)
	good, err := r.app.Save()
	require.NoError(t, err)
	cfg := r.cfg(t)
	oc := cfg
	oc.DeviceID, oc.Rand = "phone-1", wiretest.NewSeeded(9)
	other, err := hceapp.New(oc)
	require.NoError(t, err)
	otherData, err := other.Save()
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		data string
		cfg  func(*hceapp.Config)
	}{
		{name: "not json", data: "{"},
		{name: "unknown field", data: `{"version":1,"deviceId":"phone-1","x":1}`},
		{name: "version", data: strings.Replace(string(good), `"version": 1`, `"version": 2`, 1)},
		{name: "another phone", data: string(good), cfg: func(c *hceapp.Config) { c.DeviceID = "phone-2" }},
		{name: "no device keys", data: `{"version":1,"deviceId":"phone-1","deviceKeys":""}`},
		{name: "wrapped for another device", data: strings.Replace(string(good), deviceKeysOf(t, good), deviceKeysOf(t, otherData), 1)},
		{name: "too long", data: strings.Repeat(" ", hceapp.MaxStorage+1)},
		{name: "cards tampered", data: tamperCards(t, good)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			_, err := hceapp.Restore(c, []byte(tc.data))
			require.ErrorIs(t, err, hceapp.ErrStorage)
		})
	}
}

// tamperCards flips a bit of the sealed cards of storage data.
func tamperCards(t *testing.T, data []byte) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	b, err := base64.StdEncoding.DecodeString(m["cards"].(string))
	require.NoError(t, err)
	b[len(b)-1] ^= 1
	m["cards"] = base64.StdEncoding.EncodeToString(b)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

// deviceKeysOf is the JSON-escaped device key file in storage data.
func deviceKeysOf(t *testing.T, data []byte) string {
	t.Helper()
	s := string(data)
	i := strings.Index(s, `"deviceKeys": "`)
	require.GreaterOrEqual(t, i, 0)
	s = s[i+len(`"deviceKeys": "`):]
	return s[:strings.Index(s, `"`)]
}

func (r rig) cfg(t testing.TB) hceapp.Config {
	t.Helper()
	pki := tlstest.NewPKI(t, "phone")
	c, err := wire.NewClient(pki.Client("phone", ""), wire.ClientLimits{})
	require.NoError(t, err)
	return hceapp.Config{Platform: r.platform.Public(), URL: "https://127.0.0.1:1", Client: c, Clock: r.clock.Now}
}

// Restore never panics on any input.
func FuzzRestore(f *testing.F) {
	r := newRig(f)
	env, _ := r.batch(f, 1, true)
	_, err := r.app.Install("card-1", env)
	require.NoError(f, err)
	good, err := r.app.Save()
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`{"version":1,"deviceId":"phone-1","deviceKeys":"","cards":[{"ref":"x"}]}`))
	cfg := r.cfg(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := hceapp.Restore(cfg, data)
		if err == nil {
			_, err = a.Save()
			require.NoError(t, err)
		}
	})
}
