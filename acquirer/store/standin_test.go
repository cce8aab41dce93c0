package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A queue made before stand-in advices existed gains their columns; its
// advices read as reversal advices.
func TestAdviceColumnsAdded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for _, stmt := range schema {
		stmt = strings.Replace(stmt, ",\n\t\tkind        VARCHAR(4) NOT NULL DEFAULT '',\n\t\tauth_code   VARCHAR(6) NOT NULL DEFAULT ''", "", 1)
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO advices (journal_id, created_ms, next_ms, bin, de90, stan, proc_code, rrn, tid, mid,
		amount, currency, masked_pan, reason_code, attempts, done, ack_code, acked_ms)
		VALUES (0, 1, 1, '476173', '010000000112345678900000000400001000000000', '000001', '000000', 'RRN', 'T1', 'M1', 5, '901', '', '68', 0, 0, '', 0)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := OpenFile(path)
	require.NoError(t, err)
	defer s.Close()
	due, err := s.Due(ctx, time.UnixMilli(10), 0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "", due[0].Kind)

	id, err := s.Enqueue(ctx, Advice{Kind: KindStandIn, AuthCode: "S00001", CreatedAt: time.UnixMilli(2), BIN: "476173",
		DE90: "010000000112345678900000000400001000000000", STAN: "000002", MaskedPAN: "476173******0010"}, Result{})
	require.NoError(t, err)
	due, err = s.Due(ctx, time.UnixMilli(10), 0, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	require.Equal(t, id, due[1].ID)
	require.Equal(t, KindStandIn, due[1].Kind)
	require.Equal(t, "S00001", due[1].AuthCode)

	_, err = s.Enqueue(ctx, Advice{Kind: "0999", CreatedAt: time.UnixMilli(2), BIN: "476173",
		DE90: "010000000112345678900000000400001000000000"}, Result{})
	require.ErrorIs(t, err, ErrInvalid)
}
