package soft

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tapsim/tapsim/emv/keys"
)

// EnvLMK is the environment variable LMKFromEnv reads by default.
const EnvLMK = "TAPSIM_HSM_LMK"

// ParseLMK reads an AES-256 LMK written as 64 hex digits (spaces and line
// breaks allowed). The error never repeats the input.
func ParseLMK(s string) (keys.Key, error) {
	s = strings.Join(strings.Fields(s), "")
	k, err := keys.ParseHex(keys.AES, s)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	if k.Len() != 32 {
		return keys.Key{}, fmt.Errorf("%w: want 32 bytes (64 hex digits), got %d", ErrLMK, k.Len())
	}
	if err := k.CheckWeak(); err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	return k, nil
}

// LoadLMK reads the LMK from a file holding its hex form.
func LoadLMK(path string) (keys.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	return ParseLMK(string(b))
}

// LMKFromEnv reads the LMK from the environment variable name (EnvLMK
// when name is empty).
func LMKFromEnv(name string) (keys.Key, error) {
	if name == "" {
		name = EnvLMK
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return keys.Key{}, fmt.Errorf("%w: %s is not set", ErrLMK, name)
	}
	return ParseLMK(v)
}

// CreateLMK draws a new LMK from rnd (crypto/rand when nil) and writes its
// hex form to a new file of mode 0600; an existing file is never
// overwritten.
func CreateLMK(path string, rnd io.Reader) (keys.Key, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	k, err := keys.Generate(keys.AES, 32, rnd)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	_, werr := fmt.Fprintf(f, "%X\n", k.Bytes())
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return keys.Key{}, fmt.Errorf("%w: %w", ErrLMK, werr)
	}
	return k, nil
}

// LoadOrCreateLMK loads the LMK file at path, or creates it when it does
// not exist yet (first start).
func LoadOrCreateLMK(path string, rnd io.Reader) (keys.Key, error) {
	k, err := LoadLMK(path)
	if errors.Is(err, os.ErrNotExist) {
		return CreateLMK(path, rnd)
	}
	return k, err
}
