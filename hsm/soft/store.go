package soft

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// The keystore file: a JSON object naming its format and version, the
// check value of the LMK it was made with, and one record per key. A
// record's clear fields describe the key; its "wrapped" field is the key
// sealed with AES-256-GCM under the LMK, with every clear field except the
// creation time as additional data. A P-256 key pair's record (alg
// "P-256", length 32) wraps its private scalar, and its check value is
// that of its public key (ec.go).
const (
	storeFormat  = "tapsim-soft-hsm-keystore"
	storeVersion = 1
	nonceLen     = 12
	tagLen       = 16
	maxStoreSize = 16 << 20
)

type storeFile struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	LMKKCV  string   `json:"lmk_kcv"`
	Keys    []record `json:"keys"`
}

type record struct {
	ID      string    `json:"id"`
	Label   string    `json:"label"`
	Usage   string    `json:"usage"`
	Alg     string    `json:"alg"`
	Length  int       `json:"length"`
	KCV     string    `json:"kcv"`
	Created time.Time `json:"created"`
	Nonce   string    `json:"nonce"`
	Wrapped string    `json:"wrapped"`
}

// aad is the additional data binding a record's clear fields to its key.
func (r record) aad() []byte {
	return []byte(strings.Join([]string{storeFormat, strconv.Itoa(storeVersion),
		r.ID, r.Label, r.Usage, r.Alg, strconv.Itoa(r.Length), r.KCV}, "\x00"))
}

func lmkAEAD(lmk keys.Key) (cipher.AEAD, error) {
	b, err := aes.NewCipher(lmk.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLMK, err)
	}
	return cipher.NewGCM(b)
}

// seal makes the record of key k described by h.
func seal(lmk keys.Key, h hsm.Handle, k keys.Key, created time.Time, rnd io.Reader) (record, error) {
	return sealRaw(lmk, h, h.Alg.String(), k.Bytes(), created, rnd)
}

// sealRaw makes the record of the secret raw, of algorithm name alg,
// described by h.
func sealRaw(lmk keys.Key, h hsm.Handle, alg string, raw []byte, created time.Time, rnd io.Reader) (record, error) {
	aead, err := lmkAEAD(lmk)
	if err != nil {
		return record{}, err
	}
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return record{}, fmt.Errorf("soft: random source: %w", err)
	}
	r := record{ID: h.ID, Label: h.Label, Usage: string(h.Usage), Alg: alg, Length: h.Len,
		KCV: h.KCV, Created: created, Nonce: hex.EncodeToString(nonce)}
	r.Wrapped = hex.EncodeToString(aead.Seal(nil, nonce, raw, r.aad()))
	return r, nil
}

// open checks a record and recovers its key. Errors name the record by
// position and label, never by content.
func (r record) open(aead cipher.AEAD) (*entry, error) {
	usage, err := hsm.ParseUsage(r.Usage)
	if err != nil || string(usage) != r.Usage || !usage.Storable() {
		return nil, errors.New("unknown usage")
	}
	if usage.P256() || r.Alg == algP256 {
		return r.openP256(aead, usage)
	}
	alg, err := keys.ParseAlg(r.Alg)
	if err != nil || alg.String() != r.Alg {
		return nil, errors.New("unknown algorithm")
	}
	if err := usage.Admits(alg, r.Length); err != nil {
		return nil, err
	}
	if r.ID == "" || checkLabel(r.Label) != nil {
		return nil, errors.New("missing ID or bad label")
	}
	plain, err := r.unseal(aead)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	k, err := keys.New(alg, plain)
	if err != nil {
		return nil, err
	}
	if k.KCVHex() != r.KCV {
		return nil, errors.New("check value does not match")
	}
	h := hsm.Handle{ID: r.ID, Label: r.Label, Usage: usage, Alg: alg, Len: r.Length, KCV: r.KCV}
	return &entry{h: h, key: k, rec: r}, nil
}

// unseal checks a record's wrapped secret under the LMK and returns it.
func (r record) unseal(aead cipher.AEAD) ([]byte, error) {
	nonce, err := hex.DecodeString(r.Nonce)
	if err != nil || len(nonce) != nonceLen {
		return nil, errors.New("bad nonce")
	}
	ct, err := hex.DecodeString(r.Wrapped)
	if err != nil || len(ct) != r.Length+tagLen {
		return nil, errors.New("bad wrapped key")
	}
	plain, err := aead.Open(nil, nonce, ct, r.aad())
	if err != nil {
		return nil, errors.New("integrity check failed (altered record)")
	}
	return plain, nil
}

// decodeStore parses and checks a keystore file under lmk. It never
// panics on any input.
func decodeStore(data []byte, lmk keys.Key) ([]*entry, error) {
	if len(data) > maxStoreSize {
		return nil, fmt.Errorf("%w: file of %d bytes, at most %d", ErrKeystore, len(data), maxStoreSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f storeFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: not a keystore file: %w", ErrKeystore, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the keystore", ErrKeystore)
	}
	if f.Format != storeFormat || f.Version != storeVersion {
		return nil, fmt.Errorf("%w: format %q version %d, want %q version %d", ErrKeystore, f.Format, f.Version, storeFormat, storeVersion)
	}
	if f.LMKKCV != lmk.KCVHex() {
		return nil, fmt.Errorf("%w: the keystore was made under the LMK with KCV %q, this LMK's KCV is %s", ErrLMK, f.LMKKCV, lmk.KCVHex())
	}
	aead, err := lmkAEAD(lmk)
	if err != nil {
		return nil, err
	}
	out := make([]*entry, 0, len(f.Keys))
	ids, labels := map[string]bool{}, map[string]bool{}
	for i, r := range f.Keys {
		e, err := r.open(aead)
		if err != nil {
			return nil, fmt.Errorf("%w: key record %d: %w", ErrKeystore, i+1, err)
		}
		if ids[r.ID] || labels[r.Label] {
			return nil, fmt.Errorf("%w: key record %d: ID or label used twice", ErrKeystore, i+1)
		}
		ids[r.ID], labels[r.Label] = true, true
		out = append(out, e)
	}
	return out, nil
}

// encodeStore writes the keystore file of the given entries.
func encodeStore(lmk keys.Key, entries map[string]*entry) ([]byte, error) {
	f := storeFile{Format: storeFormat, Version: storeVersion, LMKKCV: lmk.KCVHex(), Keys: []record{}}
	for _, e := range entries {
		f.Keys = append(f.Keys, e.rec)
	}
	slices.SortFunc(f.Keys, func(a, b record) int { return strings.Compare(a.Label, b.Label) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeystore, err)
	}
	return append(b, '\n'), nil
}

// saveLocked writes the keystore file, when there is one, atomically: a
// temporary file in the same directory, synced, then renamed over the old
// one. The caller holds s.mu for writing (or is Open).
func (s *HSM) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := encodeStore(s.lmk, s.byID)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, data); err != nil {
		return fmt.Errorf("%w: write: %w", ErrKeystore, err)
	}
	return nil
}

var errNotExist = fs.ErrNotExist

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeystore, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStoreSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeystore, err)
	}
	return data, nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
