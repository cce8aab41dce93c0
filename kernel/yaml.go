package kernel

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/emv/oda"
)

// HexBytes is a byte string written in YAML as hex digits ("A0000000031010");
// spaces are allowed between bytes when reading.
type HexBytes []byte

// String prints the bytes as upper-case hex.
func (h HexBytes) String() string { return strings.ToUpper(hex.EncodeToString(h)) }

func (h HexBytes) clone() HexBytes {
	if h == nil {
		return nil
	}
	return append(HexBytes(nil), h...)
}

// ParseHexBytes reads hex digits, ignoring spaces.
func ParseHexBytes(s string) (HexBytes, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not hex", ErrConfig, s)
	}
	return HexBytes(b), nil
}

func mustHex(s string) HexBytes {
	b, err := ParseHexBytes(s)
	if err != nil {
		panic(err)
	}
	return b
}

// UnmarshalYAML reads hex digits from a scalar.
func (h *HexBytes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%w: line %d: want hex digits", ErrConfig, n.Line)
	}
	b, err := ParseHexBytes(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*h = b
	return nil
}

// MarshalYAML writes the bytes as quoted hex digits.
func (h HexBytes) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: h.String()}, nil
}

// Code is a numeric code of up to 3 digits coded n3 in 2 bytes: a country
// (ISO 3166) or currency (ISO 4217) code. YAML may write it "0158", "158"
// or 158.
type Code uint16

// Bytes codes the value as 2 bytes of BCD ("0158" is 01 58).
func (c Code) Bytes() []byte { return BCD(int(c), 4) }

// String prints the code as 4 digits ("0158").
func (c Code) String() string { return fmt.Sprintf("%04d", int(c)) }

// UnmarshalYAML reads decimal digits.
func (c *Code) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if n.Kind != yaml.ScalarNode || !isDigits(s) || len(s) > 4 {
		return fmt.Errorf("%w: line %d: want a numeric code of up to 3 digits", ErrConfig, n.Line)
	}
	v, _ := strconv.Atoi(s)
	if v > 999 {
		return fmt.Errorf("%w: line %d: code %d is above 999", ErrConfig, n.Line, v)
	}
	*c = Code(v)
	return nil
}

// MarshalYAML writes the code as a 4-digit string.
func (c Code) MarshalYAML() (any, error) { return c.String(), nil }

// UnmarshalYAML reads a message by name or hex.
func (m *MessageID) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseMessageID(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*m = v
	return nil
}

// MarshalYAML writes the short name.
func (m MessageID) MarshalYAML() (any, error) { return m.Name(), nil }

// UnmarshalYAML reads a status by name or hex.
func (s *Status) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseStatus(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// MarshalYAML writes the short name.
func (s Status) MarshalYAML() (any, error) { return s.Name(), nil }

// UnmarshalYAML reads a transaction type by name or digits.
func (t *TxnType) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseTxnType(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*t = v
	return nil
}

// MarshalYAML writes the name.
func (t TxnType) MarshalYAML() (any, error) { return t.String(), nil }

// configFile is the YAML form of Config: the configuration itself and CA
// public keys written inline.
type configFile struct {
	Config `yaml:",inline"`
	Keys   []capkEntry `yaml:"ca_public_keys,omitempty"`
}

// ParseConfig reads a YAML configuration on top of DefaultConfig: scalar
// fields the file gives replace the defaults, a "combinations" list replaces
// the default list whole. CA public keys may be written inline under
// "ca_public_keys" in the CAPK file's format; "capk_file" is not read here
// (see LoadConfig). The result is validated.
func ParseConfig(data []byte) (Config, error) {
	f := configFile{Config: DefaultConfig()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, yamlErr(err))
	}
	cfg := f.Config
	for i, e := range f.Keys {
		k, err := e.key()
		if err != nil {
			return Config{}, fmt.Errorf("%w: ca_public_keys[%d]: %w", ErrConfig, i, err)
		}
		cfg.CAPublicKeys = append(cfg.CAPublicKeys, k)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadConfig reads a configuration file (see ParseConfig) and the CA public
// key file it names, if any.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.CAPKFile != "" {
		p := cfg.CAPKFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		ks, err := LoadCAPK(p)
		if err != nil {
			return Config{}, err
		}
		cfg.CAPublicKeys = append(cfg.CAPublicKeys, ks...)
	}
	return cfg, nil
}

// capkEntry is one CA public key in YAML.
type capkEntry struct {
	RID      HexBytes `yaml:"rid"`
	Index    HexBytes `yaml:"index"`
	Modulus  HexBytes `yaml:"modulus"`
	Exponent HexBytes `yaml:"exponent"`
	Expiry   string   `yaml:"expiry,omitempty"`
	Checksum HexBytes `yaml:"checksum,omitempty"`
}

func (e capkEntry) key() (oda.CAPublicKey, error) {
	var k oda.CAPublicKey
	if len(e.RID) != 5 {
		return k, fmt.Errorf("%w: rid must be 5 bytes", ErrCAPK)
	}
	if len(e.Index) != 1 {
		return k, fmt.Errorf("%w: index must be 1 byte", ErrCAPK)
	}
	copy(k.RID[:], e.RID)
	k.Index = e.Index[0]
	k.Modulus = append([]byte(nil), e.Modulus...)
	k.Exponent = append([]byte(nil), e.Exponent...)
	if e.Expiry != "" {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(e.Expiry))
		if err != nil {
			return k, fmt.Errorf("%w: key %s: expiry must be YYYY-MM-DD", ErrCAPK, k.ID())
		}
		k.Expiry = t
	}
	if err := k.Validate(); err != nil {
		return k, fmt.Errorf("%w: key %s: %w", ErrCAPK, k.ID(), err)
	}
	if len(e.Checksum) > 0 {
		sum := k.Checksum()
		if len(e.Checksum) != len(sum) || subtle.ConstantTimeCompare(e.Checksum, sum[:]) != 1 {
			return k, fmt.Errorf("%w: key %s: checksum does not match", ErrCAPK, k.ID())
		}
	}
	return k, nil
}

// ParseCAPK reads CA public keys from YAML (the format is in the package
// documentation): a mapping with a "keys" list, or a bare list.
func ParseCAPK(data []byte) ([]oda.CAPublicKey, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCAPK, yamlErr(err))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrCAPK)
	}
	doc := root.Content[0]
	var entries []capkEntry
	switch doc.Kind {
	case yaml.SequenceNode:
		if err := decodeStrict(doc, &entries); err != nil {
			return nil, err
		}
	case yaml.MappingNode:
		var f struct {
			Keys []capkEntry `yaml:"keys"`
		}
		if err := decodeStrict(doc, &f); err != nil {
			return nil, err
		}
		entries = f.Keys
	default:
		return nil, fmt.Errorf("%w: want a list of keys", ErrCAPK)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrCAPK)
	}
	out := make([]oda.CAPublicKey, 0, len(entries))
	seen := map[oda.KeyID]bool{}
	for i, e := range entries {
		k, err := e.key()
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		if seen[k.ID()] {
			return nil, fmt.Errorf("%w: key %s listed twice", ErrCAPK, k.ID())
		}
		seen[k.ID()] = true
		out = append(out, k)
	}
	return out, nil
}

// decodeStrict decodes n into v, refusing unknown fields.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCAPK, yamlErr(err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrCAPK, yamlErr(err))
	}
	return nil
}

// LoadCAPK reads a CA public key file.
func LoadCAPK(path string) ([]oda.CAPublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCAPK, err)
	}
	ks, err := ParseCAPK(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// MarshalCAPK writes keys in the CA public key file format, each with its
// checksum.
func MarshalCAPK(keys []oda.CAPublicKey) ([]byte, error) {
	var f struct {
		Keys []capkEntry `yaml:"keys"`
	}
	for _, k := range keys {
		sum := k.Checksum()
		e := capkEntry{
			RID:      HexBytes(k.RID[:]),
			Index:    HexBytes{k.Index},
			Modulus:  HexBytes(k.Modulus),
			Exponent: HexBytes(k.Exponent),
			Checksum: HexBytes(sum[:]),
		}
		if !k.Expiry.IsZero() {
			e.Expiry = k.Expiry.Format("2006-01-02")
		}
		f.Keys = append(f.Keys, e)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCAPK, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCAPK, err)
	}
	return b.Bytes(), nil
}

// yamlErr keeps YAML syntax errors but drops the parser's prefix.
func yamlErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}
