package store_test

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// The sensitive values seedCard writes.
var secrets = []string{"4761739001010010", "4895370012340011", "2912", "2812", "1234"}

// dumpTable reads every column of every row of table as text, behind the
// store's back.
func dumpTable(t *testing.T, raw *sql.DB, table string) []string {
	t.Helper()
	rows, err := raw.Query(`SELECT * FROM ` + table)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, v := range vals {
			out = append(out, fmt.Sprintf("%s=%s", cols[i], v))
		}
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out, table)
	return out
}

// A raw SELECT of the card store and the token vault shows no PAN, token
// number, expiry or PVV in clear; look-ups by PAN and token number still
// work through the keyed-hash index, and the values come back in clear.
func TestAtRestNoClearPAN(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		raw := e.raw(t, target)
		defer raw.Close()
		for _, table := range []string{"cards", "tokens"} {
			for _, cell := range dumpTable(t, raw, table) {
				col, v, _ := strings.Cut(cell, "=")
				if strings.HasSuffix(col, "_enc") || strings.HasSuffix(col, "_index") {
					b, err := hex.DecodeString(v)
					require.NoError(t, err, "%s.%s", table, col)
					for _, s := range secrets {
						require.False(t, bytes.Contains(b, []byte(s)), "%s.%s holds %s", table, col, s)
					}
				}
				require.NotContains(t, v, "4761739001010010", "%s.%s", table, col)
				require.NotContains(t, v, "4895370012340011", "%s.%s", table, col)
			}
		}
		var pans int
		require.NoError(t, raw.QueryRow(`SELECT COUNT(*) FROM cards WHERE pan_enc LIKE '%9001010%' OR pan_index LIKE '%9001010%'`).Scan(&pans))
		require.Zero(t, pans)

		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			c, err := tx.CardByPAN(ctx, "4761739001010010")
			require.NoError(t, err)
			require.Equal(t, "c1", c.ID)
			require.Equal(t, "4761739001010010", c.PAN)
			require.Equal(t, "2912", c.Expiry)
			require.Equal(t, "1234", c.PVV)
			k, err := tx.TokenByNumber(ctx, "4895370012340011")
			require.NoError(t, err)
			require.Equal(t, "k1", k.ID)
			require.Equal(t, "4895370012340011", k.Number)
			require.Equal(t, "2812", k.Expiry)
			return nil
		}))
	})
}

// An attacker who alters a stored ciphertext, or moves one row's encrypted
// PAN to another row, gets a clear error (AES-GCM authenticates the value
// and its table, row and column), never a wrong PAN.
func TestAtRestTampered(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		update(t, db, func(tx *store.Tx) error {
			return tx.PutCard(ctx, store.Card{ID: "c2", PAN: "5413330089020011", AccountID: "a1", Expiry: "3001", PVV: "4321"})
		})
		raw := e.raw(t, target)
		defer raw.Close()
		exec := func(q string, args ...any) {
			t.Helper()
			if e.name == "postgres" {
				q = strings.NewReplacer("?", "$1").Replace(q)
			}
			_, err := raw.Exec(q, args...)
			require.NoError(t, err)
		}
		read := func(q string) string {
			var v string
			require.NoError(t, raw.QueryRow(q).Scan(&v))
			return v
		}

		// One hex digit of the token's encrypted number changed.
		enc := read(`SELECT number_enc FROM tokens WHERE id = 'k1'`)
		exec(`UPDATE tokens SET number_enc = ? WHERE id = 'k1'`, flipHex(enc, 30))
		// Card c2's encrypted expiry replaced by c1's (a valid ciphertext
		// of another row).
		exec(`UPDATE cards SET expiry_enc = ? WHERE id = 'c2'`, read(`SELECT expiry_enc FROM cards WHERE id = 'c1'`))

		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			_, err := tx.TokenByNumber(ctx, "4895370012340011")
			require.ErrorIs(t, err, store.ErrTampered)
			require.ErrorIs(t, err, hsm.ErrDecrypt)
			require.Contains(t, err.Error(), "tokens k1 number")
			require.NotContains(t, err.Error(), "0012340")
			_, err = tx.Token(ctx, "k1")
			require.ErrorIs(t, err, store.ErrTampered)
			_, err = tx.TokensOfCard(ctx, "c1")
			require.ErrorIs(t, err, store.ErrTampered)
			_, err = tx.CardByPAN(ctx, "5413330089020011")
			require.ErrorIs(t, err, store.ErrTampered)
			require.Contains(t, err.Error(), "cards c2 expiry")
			c, err := tx.CardByPAN(ctx, "4761739001010010")
			require.NoError(t, err, "the other rows still read")
			require.Equal(t, "2912", c.Expiry)
			// The combined look-up opens the same rows.
			_, err = tx.CredentialByNumber(ctx, "4895370012340011")
			require.ErrorIs(t, err, store.ErrTampered)
			require.NotContains(t, err.Error(), "0012340")
			_, err = tx.CredentialByNumber(ctx, "5413330089020011")
			require.ErrorIs(t, err, store.ErrTampered)
			require.Contains(t, err.Error(), "cards c2 expiry")
			cr, err := tx.CredentialByNumber(ctx, "4761739001010010")
			require.NoError(t, err)
			require.Equal(t, "2912", cr.Card.Expiry)
			return nil
		}))

		// The funding card of a token tampered with: the token's look-up
		// fails as the card's does.
		exec(`UPDATE tokens SET number_enc = ? WHERE id = 'k1'`, enc)
		exec(`UPDATE tokens SET card_id = 'c2' WHERE id = 'k1'`)
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			_, err := tx.TokenByNumber(ctx, "4895370012340011")
			require.NoError(t, err, "the token itself opens again")
			_, err = tx.CredentialByNumber(ctx, "4895370012340011")
			require.ErrorIs(t, err, store.ErrTampered)
			require.Contains(t, err.Error(), "cards c2 expiry")
			require.NotContains(t, err.Error(), "0012340")
			return nil
		}))

		// c1's encrypted PAN moved into c2 with c2's index left: c2 does
		// not open; c1's index put on c2 as well: still refused.
		exec(`UPDATE cards SET pan_enc = ? WHERE id = 'c2'`, read(`SELECT pan_enc FROM cards WHERE id = 'c1'`))
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			_, err := tx.Card(ctx, "c2")
			require.ErrorIs(t, err, store.ErrTampered)
			return nil
		}))
	})
}

// A store refuses the cards and tokens without a cipher, refuses a cipher
// with keys other than those its data was written under, and takes the
// right one later.
func TestAtRestKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		require.NoError(t, db.Close())

		var bare *store.DB
		var err error
		if e.name == "sqlite" {
			bare, err = store.OpenDir(target, store.Options{})
		} else {
			bare, err = store.OpenPostgres(ctx, target, store.PostgresOptions{})
		}
		require.NoError(t, err)
		defer bare.Close()
		require.NoError(t, bare.View(ctx, func(tx *store.Tx) error {
			_, err := tx.CardByPAN(ctx, "4761739001010010")
			require.ErrorIs(t, err, store.ErrNoCipher)
			_, err = tx.Token(ctx, "k1")
			require.ErrorIs(t, err, store.ErrNoCipher)
			_, err = tx.CredentialByNumber(ctx, "4895370012340011")
			require.ErrorIs(t, err, store.ErrNoCipher)
			_, err = tx.Account(ctx, "a1")
			require.NoError(t, err, "what is not sensitive reads without the cipher")
			return nil
		}))
		require.ErrorIs(t, bare.Update(ctx, func(tx *store.Tx) error {
			return tx.PutCard(ctx, store.Card{ID: "c9", PAN: "4000000000000002", AccountID: "a1", Expiry: "2912"})
		}), store.ErrNoCipher)

		other := otherCipher(t)
		err = bare.SetCipher(ctx, other)
		require.ErrorIs(t, err, store.ErrDataKeys)
		require.Contains(t, err.Error(), "KCV")
		require.NoError(t, bare.SetCipher(ctx, storetest.Cipher()))
		require.NoError(t, bare.View(ctx, func(tx *store.Tx) error {
			_, err := tx.CardByPAN(ctx, "4761739001010010")
			return err
		}))

		if e.name == "sqlite" {
			_, err = store.OpenDir(target, store.Options{Cipher: other})
		} else {
			_, err = store.OpenPostgres(ctx, target, store.PostgresOptions{Cipher: other})
		}
		require.ErrorIs(t, err, store.ErrDataKeys)
	})
}

// otherCipher is a cipher on freshly generated data keys.
func otherCipher(t *testing.T) store.Cipher {
	t.Helper()
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "1F2E3D4C5B6A79880F1E2D3C4B5A69788796A5B4C3D2E1F0F1E2D3C4B5A69788")})
	require.NoError(t, err)
	c, err := store.HSMCipher(m)
	require.NoError(t, err)
	again, err := store.HSMCipher(m)
	require.NoError(t, err)
	require.Equal(t, c.KeyID(), again.KeyID(), "the keys are made once")
	require.Contains(t, c.KeyID(), "KCV", "check values only")
	return c
}

// HSMCipher refuses a module holding only one of the two data keys.
func TestHSMCipherHalfKeys(t *testing.T) {
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "1F2E3D4C5B6A79880F1E2D3C4B5A69788796A5B4C3D2E1F0F1E2D3C4B5A69788")})
	require.NoError(t, err)
	_, err = m.GenerateKey(store.DataKeyLabel, hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	_, err = store.HSMCipher(m)
	require.ErrorIs(t, err, store.ErrDataKeys)
	zpk, err := m.GenerateKey("zpk", hsm.UsageZPK, keys.TDES, 16)
	require.NoError(t, err)
	_, err = store.NewHSMCipher(m, zpk, zpk)
	require.ErrorIs(t, err, store.ErrInvalid)
}

// The SQLite database and its -wal and -shm files are private (0600), the
// data directory it makes 0700, and the files hold no PAN in clear.
func TestSQLiteFilesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.OpenDir(dir, storetest.Options())
	require.NoError(t, err)
	seedCard(t, db)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	for _, name := range []string{store.FileName, store.FileName + "-wal", store.FileName + "-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		for _, p := range []string{"4761739001010010", "4895370012340011"} {
			require.False(t, bytes.Contains(b, []byte(p)), "%s holds a PAN in clear", name)
		}
	}
	require.NoError(t, db.Close())

	// A file an older build left world-readable is made private again.
	path := filepath.Join(dir, store.FileName)
	require.NoError(t, os.Chmod(path, 0o644))
	db, err = store.OpenDir(dir, storetest.Options())
	require.NoError(t, err)
	defer db.Close()
	st, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// A database of schema version 1 (PANs in clear) is refused with a message
// that says what to do.
func TestSchemaVersion1Refused(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		raw := e.raw(t, target)
		defer raw.Close()
		_, err := raw.Exec(`CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`)
		require.NoError(t, err)
		_, err = raw.Exec(`INSERT INTO meta (k, v) VALUES ('schema_version', '1')`)
		require.NoError(t, err)
		_, err = e.open(t, target)
		require.ErrorIs(t, err, store.ErrSchema)
		require.ErrorIs(t, err, store.ErrInvalid)
		require.Contains(t, err.Error(), "tapsim issuer init")
	})
}

func flipHex(s string, i int) string {
	b := []byte(s)
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}
