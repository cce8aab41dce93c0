package tsm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

func testKeys(b byte) scp03.StaticKeys {
	k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
	return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
}

// A script's shape is checked before it is sealed or run; its String shows
// no key.
func TestScriptValidate(t *testing.T) {
	s := ChannelSession(DefaultISD, 1, testKeys(0x40))
	require.ErrorIs(t, Script{Sessions: []Session{s}}.Validate(), ErrScript, "no command")
	s.Add([]byte{0x80, 0xF2, 0x80, 0x00})
	sc := Script{Sessions: []Session{s}}
	require.NoError(t, sc.Validate())
	require.NotContains(t, sc.String(), "4040")
	bad := sc
	bad.Sessions = []Session{{SD: "zz", ENC: s.ENC, MAC: s.MAC, Commands: s.Commands}}
	require.ErrorIs(t, bad.Validate(), ErrScript)
	bad.Sessions = []Session{{SD: s.SD, ENC: "00", MAC: s.MAC, Commands: s.Commands}}
	require.ErrorIs(t, bad.Validate(), ErrScript)
}

// Values at rest open only under the same module key and binding.
func TestSealAtRest(t *testing.T) {
	m, err := soft.Open(soft.Config{LMK: keys.MustNew(keys.AES, bytes.Repeat([]byte{0x5A, 0x13}, 16)), Rand: wiretest.NewSeeded(1)})
	require.NoError(t, err)
	defer m.Close()
	dek, err := m.GenerateKey("t/dek", hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	plain := []byte(strings.Repeat("script ", 2000))
	sealed, err := sealAtRest(m, dek, wiretest.NewSeeded(2), plain, []byte("order-1"))
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "script")
	got, err := openAtRest(m, dek, sealed, []byte("order-1"))
	require.NoError(t, err)
	require.Equal(t, plain, got)
	_, err = openAtRest(m, dek, sealed, []byte("order-2"))
	require.Error(t, err)
	_, err = openAtRest(m, dek, sealed[:5], []byte("order-1"))
	require.Error(t, err)
}

// Every login refusal has its own reason.
func TestLoginReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range []error{ErrUnknownOperator, ErrWrongPassword, ErrLockedOut, ErrChangePassword, ErrOutsideHours, ErrWeakPassword} {
		r := loginReason(e)
		require.False(t, seen[r], r)
		seen[r] = true
	}
	require.Equal(t, "login_failed", loginReason(errors.New("x")))
	require.True(t, Hours{From: 22, To: 6}.allow(time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)))
	require.False(t, Hours{From: 22, To: 6}.allow(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)))
}
