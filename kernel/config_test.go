package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/emv/oda"
)

// TestDefaultConfigIsTaiwanese pins the defaults the requirement names:
// country 0158, currency 0901 with exponent 2, and the NT$3,000 no-signature
// limit (R-S2d) on both kernels.
func TestDefaultConfigIsTaiwanese(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	require.Equal(t, []byte{0x01, 0x58}, c.Country.Bytes())
	require.Equal(t, []byte{0x09, 0x01}, c.Currency.Bytes())
	require.Equal(t, 2, c.CurrencyExponent)
	require.Equal(t, HexBytes{0x22}, c.TerminalType)
	require.True(t, c.OnlineCapable())
	require.False(t, c.OnlineOnly())
	require.False(t, c.Unattended())

	visa := c.Combination(VisaAID, 3)
	require.NotNil(t, visa)
	require.Equal(t, int64(300000), *visa.CVMRequiredLimit)
	require.Equal(t, int64(100000), *visa.FloorLimit)
	require.Equal(t, int64(5000000), *visa.TransactionLimit)
	require.Equal(t, HexBytes{0x26, 0x00, 0x40, 0x00}, visa.TTQ, "no contact chip bit")
	require.False(t, c.ContactChip, "contactless only")
	require.Equal(t, byte(0x00), c.Capabilities[0], "no contact, mag-stripe or manual entry")

	mc := c.Combination(MastercardAID, 2)
	require.NotNil(t, mc)
	require.Equal(t, int64(300000), *mc.CVMRequiredLimit)
	require.Equal(t, int64(5000000), *mc.TransactionLimitNoODCVM)
	require.Equal(t, int64(10000000), *mc.TransactionLimitODCVM)
	require.Equal(t, byte(0x20), mc.KernelConfiguration[0]&0x20, "on-device CVM supported")
	require.Nil(t, mc.TransactionLimit, "C-2 uses DF8124/DF8125, not the Entry Point limit")
	require.Nil(t, c.Combination(VisaAID, 2))
}

func TestConfigCloneIsDeep(t *testing.T) {
	c := DefaultConfig()
	c.CAPublicKeys = []oda.CAPublicKey{{RID: oda.TestRID, Index: 1, Modulus: []byte{0xC0, 1}, Exponent: []byte{3}}}
	d := c.Clone()
	*d.Combinations[0].CVMRequiredLimit = 1
	d.Combinations[0].TTQ[0] = 0xFF
	d.Combinations[1].TACOnline[0] = 0
	d.CAPublicKeys[0].Modulus[0] = 0
	d.Capabilities[0] = 0xFF
	require.Equal(t, int64(300000), *c.Combinations[0].CVMRequiredLimit)
	require.Equal(t, byte(0x26), c.Combinations[0].TTQ[0])
	require.Equal(t, byte(0xF4), c.Combinations[1].TACOnline[0])
	require.Equal(t, byte(0xC0), c.CAPublicKeys[0].Modulus[0])
	require.Equal(t, byte(0x00), c.Capabilities[0])
}

func TestConfigValidate(t *testing.T) {
	neg := int64(-1)
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"country", func(c *Config) { c.Country = 1000 }},
		{"exponent", func(c *Config) { c.CurrencyExponent = 12 }},
		{"terminal type", func(c *Config) { c.TerminalType = nil }},
		{"capabilities", func(c *Config) { c.Capabilities = HexBytes{1} }},
		{"additional capabilities", func(c *Config) { c.AdditionalCapabilities = HexBytes{1, 2} }},
		{"ifd serial", func(c *Config) { c.IFDSerial = "123456789" }},
		{"no combination", func(c *Config) { c.Combinations = nil }},
		{"short aid", func(c *Config) { c.Combinations[0].AID = HexBytes{0xA0} }},
		{"kernel id", func(c *Config) { c.Combinations[0].KernelID = 0 }},
		{"negative limit", func(c *Config) { c.Combinations[0].FloorLimit = &neg }},
		{"ttq length", func(c *Config) { c.Combinations[0].TTQ = HexBytes{1, 2, 3} }},
		{"tac length", func(c *Config) { c.Combinations[1].TACDenial = HexBytes{1} }},
		{"phone table", func(c *Config) { c.Combinations[1].PhoneMessageTable = []PhoneMessage{{Mask: HexBytes{1}}} }},
		{"bad CA key", func(c *Config) {
			c.CAPublicKeys = []oda.CAPublicKey{{RID: oda.TestRID, Index: 1, Modulus: []byte{0xC1}, Exponent: []byte{4}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			require.ErrorIs(t, c.Validate(), ErrConfig)
		})
	}
}

func TestTerminalTypes(t *testing.T) {
	for _, tt := range []struct {
		tt                        byte
		capable, only, unattended bool
	}{
		{0x11, true, true, false},
		{0x22, true, false, false},
		{0x23, false, false, false},
		{0x24, true, true, true},
		{0x25, true, false, true},
		{0x26, false, false, true},
	} {
		c := DefaultConfig()
		c.TerminalType = HexBytes{tt.tt}
		require.Equal(t, tt.capable, c.OnlineCapable(), "%02X", tt.tt)
		require.Equal(t, tt.only, c.OnlineOnly(), "%02X", tt.tt)
		require.Equal(t, tt.unattended, c.Unattended(), "%02X", tt.tt)
	}
}

func TestPhoneMessageMatches(t *testing.T) {
	table := DefaultPhoneMessageTable()
	first := func(pcii []byte) PhoneMessage {
		for _, p := range table {
			if p.Matches(pcii) {
				return p
			}
		}
		return PhoneMessage{}
	}
	require.Equal(t, MsgSeePhone, first([]byte{0x00, 0x01, 0x00}).Message, "OD-CVM required")
	require.Equal(t, MsgSeePhone, first([]byte{0x00, 0x02, 0x00}).Message, "ACK required")
	require.Equal(t, MsgSeePhone, first([]byte{0x00, 0x08, 0x00}).Message, "context conflicting")
	require.Equal(t, MsgNotAuthorised, first([]byte{0x00, 0x10, 0x00}).Message, "OD-CVM successful only")
	require.False(t, table[0].Matches([]byte{0x00}), "short PCII")
}

func TestNowAndUN(t *testing.T) {
	c := DefaultConfig()
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Clock = FixedClock(fixed)
	c.UnpredictableNumber = FixedUN([4]byte{9, 8, 7, 6})
	require.Equal(t, fixed, c.Now())
	require.Equal(t, [4]byte{9, 8, 7, 6}, c.NewUnpredictableNumber())
	c.UnpredictableNumber = nil
	a, b := c.NewUnpredictableNumber(), c.NewUnpredictableNumber()
	require.NotEqual(t, a, b, "random unpredictable numbers differ (1 in 2^32 flake)")
}

func TestLoadSampleConfig(t *testing.T) {
	c, err := LoadConfig("testdata/config.yaml")
	require.NoError(t, err)
	d := DefaultConfig()
	// The sample spells out the defaults: compare the fields it sets.
	require.Equal(t, d.Country, c.Country)
	require.Equal(t, d.Currency, c.Currency)
	require.Equal(t, d.Capabilities, c.Capabilities)
	require.Equal(t, d.Combinations[0], c.Combinations[0])
	mc := d.Combinations[1]
	mc.PhoneMessageTable = DefaultPhoneMessageTable()
	require.Equal(t, mc, c.Combinations[1])
	require.Len(t, c.CAPublicKeys, 1, "capk_file read relative to the config file")
	require.Equal(t, oda.TestRID, c.CAPublicKeys[0].RID)
	require.Equal(t, byte(0x01), c.CAPublicKeys[0].Index)
}

func TestParseConfigOverridesDefaults(t *testing.T) {
	c, err := ParseConfig([]byte("terminal_type: \"23\"\ncountry: 840\n"))
	require.NoError(t, err)
	require.Equal(t, Code(840), c.Country)
	require.False(t, c.OnlineCapable())
	require.Len(t, c.Combinations, 2, "defaults kept")

	c, err = ParseConfig(nil)
	require.NoError(t, err, "an empty file is the defaults")
	require.Equal(t, DefaultConfig().Country, c.Country)

	for name, doc := range map[string]string{
		"unknown field": "colour: blue\n",
		"bad hex":       "capabilities: \"E0X8C8\"\n",
		"bad code":      "country: \"01A8\"\n",
		"bad length":    "capabilities: \"E068\"\n",
		"bad message":   "combinations:\n  - aid: A0000000041010\n    kernel_id: 2\n    phone_message_table:\n      - {mask: \"000100\", value: \"000100\", message: dance, status: not_ready}\n",
		"not yaml":      "country: [\n",
	} {
		_, err := ParseConfig([]byte(doc))
		require.ErrorIs(t, err, ErrConfig, name)
	}
}

func TestParseConfigInlineKeys(t *testing.T) {
	capk, err := os.ReadFile("testdata/capk.yaml")
	require.NoError(t, err)
	// Indent the key list under ca_public_keys.
	body := strings.SplitN(string(capk), "keys:\n", 2)[1]
	c, err := ParseConfig([]byte("ca_public_keys:\n" + body))
	require.NoError(t, err)
	require.Len(t, c.CAPublicKeys, 1)
}

func TestCAPK(t *testing.T) {
	keys, err := LoadCAPK("testdata/capk.yaml")
	require.NoError(t, err)
	require.Len(t, keys, 1)
	k := keys[0]
	require.NoError(t, k.Validate())

	// Round trip, with an expiry.
	k.Expiry = time.Date(2035, 12, 31, 0, 0, 0, 0, time.UTC)
	out, err := MarshalCAPK([]oda.CAPublicKey{k})
	require.NoError(t, err)
	back, err := ParseCAPK(out)
	require.NoError(t, err)
	require.Equal(t, []oda.CAPublicKey{k}, back)

	// A bare list is accepted too.
	bare := strings.SplitN(string(out), "keys:\n", 2)[1]
	back, err = ParseCAPK([]byte(bare))
	require.NoError(t, err)
	require.Equal(t, []oda.CAPublicKey{k}, back)

	mod := k.Modulus
	entry := func(extra string) string {
		return "keys:\n  - rid: \"F000000001\"\n    index: \"01\"\n    modulus: \"" + HexBytes(mod).String() + "\"\n    exponent: \"03\"\n" + extra
	}
	_, err = ParseCAPK([]byte(entry("")))
	require.NoError(t, err, "checksum is optional")
	for name, doc := range map[string]string{
		"checksum":     entry("    checksum: \"0000000000000000000000000000000000000000\"\n"),
		"expiry":       entry("    expiry: 31/12/2035\n"),
		"unknown":      entry("    colour: red\n"),
		"rid length":   "keys:\n  - rid: \"F0\"\n    index: \"01\"\n    modulus: \"C1\"\n    exponent: \"03\"\n",
		"index length": "keys:\n  - rid: \"F000000001\"\n    index: \"0101\"\n    modulus: \"C1\"\n    exponent: \"03\"\n",
		"exponent":     "keys:\n  - rid: \"F000000001\"\n    index: \"01\"\n    modulus: \"C1C1\"\n    exponent: \"05\"\n",
		"duplicate":    entry("") + strings.TrimPrefix(entry(""), "keys:\n"),
		"empty":        "",
		"no keys":      "keys: []\n",
		"scalar":       "hello\n",
	} {
		_, err := ParseCAPK([]byte(doc))
		require.ErrorIs(t, err, ErrCAPK, name)
	}
	_, err = LoadCAPK(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, ErrCAPK)
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadConfig(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, ErrConfig)
	p := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte("capk_file: nothere.yaml\n"), 0o600))
	_, err = LoadConfig(p)
	require.ErrorIs(t, err, ErrCAPK)
}

// TestConfigYAMLRoundTrip: a configuration written with the YAML encoder
// reads back the same.
func TestConfigYAMLRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.Combinations[1].PhoneMessageTable = DefaultPhoneMessageTable()
	c.Combinations[0].TransactionTypes = []TxnType{Purchase, Refund}
	b, err := yaml.Marshal(c)
	require.NoError(t, err)
	back, err := ParseConfig(b)
	require.NoError(t, err)
	require.Equal(t, c, back)
}
