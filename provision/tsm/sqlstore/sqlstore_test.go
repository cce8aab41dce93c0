package sqlstore_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/tsm/sqlstore"
)

// R-S4d: records and the transaction log outlive the process; the file is
// 0600.
func TestStoreOutlivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tsm.db")
	s, err := sqlstore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Put("status", "o-1", []byte(`"waiting"`)))
	require.NoError(t, s.Put("status", "o-1", []byte(`"personalised"`)))
	require.NoError(t, s.Put("status", "o-2", []byte(`"expired"`)))
	require.NoError(t, s.Delete("status", "o-2"))
	require.NoError(t, s.Delete("status", "none"))
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	require.NoError(t, s.AppendLog(tsm.Entry{At: at, Order: "o-1", SEID: "SE1", Step: "handover", Outcome: "waiting"}))
	require.NoError(t, s.AppendLog(tsm.Entry{At: at.Add(time.Second), Order: "o-1", Step: "download", Outcome: "personalised"}))
	require.NoError(t, s.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	s, err = sqlstore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	m, err := s.List("status")
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{"o-1": []byte(`"personalised"`)}, m)
	log, err := s.Log()
	require.NoError(t, err)
	require.Len(t, log, 2)
	require.Equal(t, "handover", log[0].Step)
	require.True(t, at.Equal(log[0].At))
	require.Equal(t, "personalised", log[1].Outcome)
	d, err := tsm.Dump(s, "status", "order")
	require.NoError(t, err)
	require.Equal(t, []string{`status o-1 "personalised"`}, d)
}

// A path that cannot be a database is refused with ErrStore.
func TestOpenRefusesBadPath(t *testing.T) {
	_, err := sqlstore.Open(filepath.Join(t.TempDir(), "missing", "tsm.db"))
	require.ErrorIs(t, err, sqlstore.ErrStore)
}
