package pos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/kernel"
)

// ErrConfig reports a terminal configuration that cannot be used.
var ErrConfig = errors.New("pos: bad configuration")

// The sample network's terminal: identifiers and test keys (test only; they
// print as check values).
const (
	// DefaultTerminalID is field 41 of the sample terminal.
	DefaultTerminalID = "T0000001"
	// DefaultMerchantID is field 42 of the sample merchant.
	DefaultMerchantID = "000000000000001"
	// DefaultAcquirerID is field 32, the acquiring institution.
	DefaultAcquirerID = "100001"
	// DefaultTAKHex is the terminal MAC key shared with the acquirer
	// (KCV 3B7D3D).
	DefaultTAKHex = "0EA47A138CD931454F044620F738B3F4"
	// DefaultIPEKHex is the initial PIN encryption key of the sample
	// terminal: the IPEK of BDK 0123456789ABCDEFFEDCBA9876543210 for KSN
	// FFFF9876543210E00000 (ANSI X9.24-1 example).
	DefaultIPEKHex = "6AC292FAA1315B4D858AB3A3D7D5933A"
	// DefaultKSNHex is the sample terminal's initial key serial number.
	DefaultKSNHex = "FFFF9876543210E00000"
	// DefaultResponseTimeout is how long the terminal waits for the
	// acquirer's answer before it reverses.
	DefaultResponseTimeout = 15 * time.Second
	// DefaultReversalAttempts is how many times a reversal is sent before it
	// is left pending.
	DefaultReversalAttempts = 3
)

// Config is the terminal: its identifiers on the network, its keys, its
// timers, and the EMV reader configuration its kernel runs with.
type Config struct {
	// Kernel is the contactless reader configuration (limits, AIDs, CA
	// keys). Its TerminalID and MerchantID (9F1C, 9F16) are set from the
	// fields below when a Terminal is made.
	Kernel kernel.Config
	// TerminalID is field 41 (ans 8).
	TerminalID string
	// MerchantID is field 42 (ans 15).
	MerchantID string
	// AcquirerID is field 32, the acquiring institution (n ..11).
	AcquirerID string
	// MerchantName, MerchantCity and MerchantCountry make field 43 (ans
	// 40: name 25, city 13, country 2).
	MerchantName    string
	MerchantCity    string
	MerchantCountry string
	// TAK is the terminal authentication (MAC) key shared with the
	// acquirer: ISO 9797-1 MAC algorithm 3 over each message, in field 64
	// or 128.
	TAK keys.Key
	// IPEK and KSN load the PIN pad's TDES DUKPT originator: the initial
	// PIN encryption key and the key serial number of the next PIN (a zero
	// counter for a fresh load).
	IPEK keys.Key
	KSN  dukpt.KSN
	// ResponseTimeout is how long the terminal waits for an answer.
	ResponseTimeout time.Duration
	// ReversalAttempts is how many times a reversal is sent before it is
	// kept pending for the next transaction.
	ReversalAttempts int
}

// DefaultConfig returns the sample terminal T0000001 of merchant
// 000000000000001, "TAPSIM STORE", Taipei, with the sample network's test
// keys and the kernel's default Taiwanese reader configuration.
func DefaultConfig() Config {
	ksn, _ := dukpt.ParseKSNHex(DefaultKSNHex)
	return Config{
		Kernel:           kernel.DefaultConfig(),
		TerminalID:       DefaultTerminalID,
		MerchantID:       DefaultMerchantID,
		AcquirerID:       DefaultAcquirerID,
		MerchantName:     "TAPSIM STORE",
		MerchantCity:     "TAIPEI",
		MerchantCountry:  "TW",
		TAK:              keys.MustHex(keys.TDES, DefaultTAKHex),
		IPEK:             keys.MustHex(keys.TDES, DefaultIPEKHex),
		KSN:              ksn,
		ResponseTimeout:  DefaultResponseTimeout,
		ReversalAttempts: DefaultReversalAttempts,
	}
}

// Validate checks identifiers, keys and timers.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.TerminalID == "" || len(c.TerminalID) > 8 || !printable(c.TerminalID):
		return bad("terminal id must be 1 to 8 printable characters")
	case c.MerchantID == "" || len(c.MerchantID) > 15 || !printable(c.MerchantID):
		return bad("merchant id must be 1 to 15 printable characters")
	case c.AcquirerID == "" || len(c.AcquirerID) > 11 || !digits(c.AcquirerID):
		return bad("acquirer id must be 1 to 11 digits")
	case len(c.MerchantName) > 25 || !printable(c.MerchantName):
		return bad("merchant name must be at most 25 printable characters")
	case len(c.MerchantCity) > 13 || !printable(c.MerchantCity):
		return bad("merchant city must be at most 13 printable characters")
	case len(c.MerchantCountry) != 2 || !printable(c.MerchantCountry):
		return bad("merchant country must be 2 characters")
	case c.TAK.Alg() != keys.TDES || (c.TAK.Len() != 16 && c.TAK.Len() != 24):
		return bad("the MAC key must be a double- or triple-length TDES key")
	case c.IPEK.Alg() != keys.TDES || c.IPEK.Len() != 16:
		return bad("the IPEK must be a double-length TDES key")
	case c.ResponseTimeout <= 0:
		return bad("response timeout must be positive")
	case c.ReversalAttempts < 1:
		return bad("reversal attempts must be at least 1")
	}
	if err := c.Kernel.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// MerchantNameLocation is field 43: the name padded to 25, the city padded
// to 13, then the 2-letter country, 40 characters in all.
func (c *Config) MerchantNameLocation() string {
	return fmt.Sprintf("%-25.25s%-13.13s%-2.2s", c.MerchantName, c.MerchantCity, c.MerchantCountry)
}

// String describes the terminal with its keys as check values only.
func (c Config) String() string {
	return fmt.Sprintf("terminal %s merchant %s acquirer %s, TAK %s, IPEK %s, next KSN %s",
		c.TerminalID, c.MerchantID, c.AcquirerID, c.TAK, c.IPEK, c.KSN)
}

// GoString is String: %#v never prints key material.
func (c Config) GoString() string { return c.String() }

// file is the YAML form of Config.
type file struct {
	TerminalID       string        `yaml:"terminal_id"`
	MerchantID       string        `yaml:"merchant_id"`
	AcquirerID       string        `yaml:"acquirer_id"`
	MerchantName     string        `yaml:"merchant_name"`
	MerchantCity     string        `yaml:"merchant_city"`
	MerchantCountry  string        `yaml:"merchant_country"`
	TAK              string        `yaml:"tak"`
	IPEK             string        `yaml:"ipek"`
	BDK              string        `yaml:"bdk"`
	KSN              string        `yaml:"ksn"`
	ResponseTimeout  time.Duration `yaml:"response_timeout"`
	ReversalAttempts int           `yaml:"reversal_attempts"`
	KernelConfig     string        `yaml:"kernel_config"`
}

// ParseConfig reads a terminal configuration from YAML. Every field is
// optional and defaults to DefaultConfig's value:
//
//	terminal_id: T0000001
//	merchant_id: "000000000000001"
//	acquirer_id: "100001"
//	merchant_name: TAPSIM STORE
//	merchant_city: TAIPEI
//	merchant_country: TW
//	tak: 0EA47A138CD931454F044620F738B3F4    # terminal MAC key (test key)
//	ipek: 6AC292FAA1315B4D858AB3A3D7D5933A   # or bdk: to derive it (test rigs only)
//	ksn: FFFF9876543210E00000
//	response_timeout: 15s
//	reversal_attempts: 3
//	kernel_config: reader.yaml               # kernel.LoadConfig file, relative to this one
//
// base is the directory kernel_config is relative to. Key errors never quote
// the key.
func ParseConfig(data []byte, base string) (Config, error) {
	cfg := DefaultConfig()
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("%w: %s", ErrConfig, yamlMessage(err))
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.TerminalID, f.TerminalID)
	set(&cfg.MerchantID, f.MerchantID)
	set(&cfg.AcquirerID, f.AcquirerID)
	set(&cfg.MerchantName, f.MerchantName)
	set(&cfg.MerchantCity, f.MerchantCity)
	set(&cfg.MerchantCountry, f.MerchantCountry)
	if f.ResponseTimeout != 0 {
		cfg.ResponseTimeout = f.ResponseTimeout
	}
	if f.ReversalAttempts != 0 {
		cfg.ReversalAttempts = f.ReversalAttempts
	}
	if f.KSN != "" {
		k, err := dukpt.ParseKSNHex(f.KSN)
		if err != nil {
			return cfg, fmt.Errorf("%w: ksn: %w", ErrConfig, err)
		}
		cfg.KSN = k
	}
	if f.TAK != "" {
		k, err := keys.ParseHex(keys.TDES, f.TAK)
		if err != nil {
			return cfg, fmt.Errorf("%w: tak is not a TDES key", ErrConfig)
		}
		cfg.TAK = k
	}
	switch {
	case f.IPEK != "" && f.BDK != "":
		return cfg, fmt.Errorf("%w: give ipek or bdk, not both", ErrConfig)
	case f.IPEK != "":
		k, err := keys.ParseHex(keys.TDES, f.IPEK)
		if err != nil {
			return cfg, fmt.Errorf("%w: ipek is not a TDES key", ErrConfig)
		}
		cfg.IPEK = k
	case f.BDK != "":
		bdk, err := keys.ParseHex(keys.TDES, f.BDK)
		if err != nil {
			return cfg, fmt.Errorf("%w: bdk is not a TDES key", ErrConfig)
		}
		ipek, err := dukpt.DeriveIPEK(bdk, cfg.KSN.Bytes())
		if err != nil {
			return cfg, fmt.Errorf("%w: bdk: %w", ErrConfig, err)
		}
		cfg.IPEK = ipek
	}
	if f.KernelConfig != "" {
		p := f.KernelConfig
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		kc, err := kernel.LoadConfig(p)
		if err != nil {
			return cfg, fmt.Errorf("%w: kernel_config: %w", ErrConfig, err)
		}
		cfg.Kernel = kc
	}
	return cfg, cfg.Validate()
}

// LoadConfig reads a terminal configuration file (see ParseConfig).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ParseConfig(data, filepath.Dir(path))
}

// yamlMessage keeps a YAML error on one line and drops any quoted value,
// since a key given with the wrong type would be quoted.
func yamlMessage(err error) string {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if i := strings.Index(msg, "`"); i >= 0 {
		msg = msg[:i] + "(value hidden)"
	}
	return msg
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
