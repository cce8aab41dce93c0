package soft_test

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// testLMK is the local master key of the tests.
var testLMK = keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F61 83A5C7E90B2D4F6183A5C7E90B2D4F61")

func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func hx(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixedClock is the clock of the tests.
func fixedClock() time.Time { return time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC) }

type fixture struct {
	hsm  *soft.HSM
	path string
	log  *syncBuffer
}

// newHSM opens a module with a deterministic random source, a fixed clock
// and a captured JSON audit log; path "" keeps the keys in memory.
func newHSM(t testing.TB, path string) fixture {
	t.Helper()
	buf := &syncBuffer{}
	s, err := soft.Open(soft.Config{
		LMK:    testLMK,
		Path:   path,
		Rand:   rand.NewChaCha8([32]byte{1, 2, 3}),
		Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    fixedClock,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return fixture{hsm: s, path: path, log: buf}
}

func tempStore(t testing.TB) string { return filepath.Join(t.TempDir(), "keys.json") }

// mustImport imports a clear key given in hex.
func mustImport(t testing.TB, s hsm.KeyManager, label string, usage hsm.Usage, alg keys.Alg, hexKey string) hsm.Handle {
	t.Helper()
	hd, err := s.ImportKey(label, usage, keys.MustHex(alg, hexKey))
	require.NoError(t, err)
	return hd
}
