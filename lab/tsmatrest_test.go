package lab

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The TSM's at-rest key is made at the first start without a refused
// lookup in the module's log, and found again at the next.
func TestTSMAtRestKeyFirstStartLogsNoRefusal(t *testing.T) {
	var log bytes.Buffer
	m, err := soft.Open(soft.Config{
		LMK:    keys.MustNew(keys.AES, bytes.Repeat([]byte{7}, 32)),
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	first, err := atRestKey(m, "sp-tsm/at-rest")
	require.NoError(t, err)
	again, err := atRestKey(m, "sp-tsm/at-rest")
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.NotContains(t, log.String(), "refused")
}
