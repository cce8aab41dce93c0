package tui

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

// ErrSetting reports a setting value the terminal cannot take.
var ErrSetting = errors.New("tui: bad setting")

// Setting names.
const (
	SetCVMLimit   = "CVM limit"
	SetTxnLimit   = "Transaction limit"
	SetFloorLimit = "Floor limit"
	SetTTQ        = "TTQ (9F66)"
	SetCountry    = "Country (9F1A)"
	SetCurrency   = "Currency (5F2A)"
	SetTID        = "Terminal ID"
	SetMID        = "Merchant ID"
)

func limitText(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

// settingsOf lists cfg's settings; limits and TTQ are the first
// combination's (every combination takes a change).
func settingsOf(cfg pos.Config) []model.Setting {
	var c kernel.Combination
	if len(cfg.Kernel.Combinations) > 0 {
		c = cfg.Kernel.Combinations[0]
	}
	ttq := "-"
	for _, k := range cfg.Kernel.Combinations {
		if len(k.TTQ) > 0 {
			ttq = strings.ToUpper(hex.EncodeToString(k.TTQ))
			break
		}
	}
	return []model.Setting{
		{Name: SetCVMLimit, Value: limitText(c.CVMRequiredLimit), Help: "no-signature / CVM required limit, minor units (- for none)"},
		{Name: SetTxnLimit, Value: limitText(c.TransactionLimit), Help: "contactless transaction limit, minor units (- for none)"},
		{Name: SetFloorLimit, Value: limitText(c.FloorLimit), Help: "contactless floor limit, minor units (- for none)"},
		{Name: SetTTQ, Value: ttq, Help: "terminal transaction qualifiers, 4 bytes hex (C-3 kernels)"},
		{Name: SetCountry, Value: fmt.Sprintf("%04d", cfg.Kernel.Country), Help: "ISO 3166 numeric country code"},
		{Name: SetCurrency, Value: fmt.Sprintf("%04d", cfg.Kernel.Currency), Help: "ISO 4217 numeric currency code"},
		{Name: SetTID, Value: cfg.TerminalID, Help: "field 41, 8 characters"},
		{Name: SetMID, Value: cfg.MerchantID, Help: "field 42, 15 characters"},
	}
}

func parseLimit(v string) (*int64, error) {
	if v == "-" || v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 999999999999 {
		return nil, fmt.Errorf("%w: %q is not an amount in minor units", ErrSetting, v)
	}
	return &n, nil
}

func parseCode(v string) (kernel.Code, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n > 999 {
		return 0, fmt.Errorf("%w: %q is not a 3-digit code", ErrSetting, v)
	}
	return kernel.Code(n), nil
}

// applySetting changes one setting of cfg, whose kernel configuration must
// be the caller's own copy.
func applySetting(cfg *pos.Config, name, v string) error {
	v = strings.TrimSpace(v)
	combos := cfg.Kernel.Combinations
	setAll := func(f func(c *kernel.Combination, p *int64)) error {
		p, err := parseLimit(v)
		if err != nil {
			return err
		}
		for i := range combos {
			var cp *int64
			if p != nil {
				x := *p
				cp = &x
			}
			f(&combos[i], cp)
		}
		return nil
	}
	switch name {
	case SetCVMLimit:
		return setAll(func(c *kernel.Combination, p *int64) { c.CVMRequiredLimit = p })
	case SetTxnLimit:
		return setAll(func(c *kernel.Combination, p *int64) {
			c.TransactionLimit, c.TransactionLimitNoODCVM = p, p
		})
	case SetFloorLimit:
		return setAll(func(c *kernel.Combination, p *int64) { c.FloorLimit = p })
	case SetTTQ:
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 4 {
			return fmt.Errorf("%w: TTQ must be 4 bytes in hex", ErrSetting)
		}
		for i := range combos {
			if len(combos[i].TTQ) > 0 {
				combos[i].TTQ = append(kernel.HexBytes(nil), b...)
			}
		}
	case SetCountry:
		c, err := parseCode(v)
		if err != nil {
			return err
		}
		cfg.Kernel.Country = c
	case SetCurrency:
		c, err := parseCode(v)
		if err != nil {
			return err
		}
		cfg.Kernel.Currency = c
	case SetTID:
		cfg.TerminalID = v
	case SetMID:
		cfg.MerchantID = v
	default:
		return fmt.Errorf("%w: no setting %q", ErrSetting, name)
	}
	return nil
}

// applyEdit applies the value typed for the chosen setting: the terminal
// is made again with it (its STAN counter, journal and PIN pad key serial
// number go on), so that it applies from the next tap.
func (a *App) applyEdit() {
	m := a.m
	m.Screen = model.ScreenSettings
	if m.Busy {
		m.Notice = "a transaction is running: try again after it"
		return
	}
	if m.SetCursor < 0 || m.SetCursor >= len(m.Settings) {
		return
	}
	name := m.Settings[m.SetCursor].Name
	cfg := a.term.Config()
	cfg.Kernel = cfg.Kernel.Clone()
	cfg.KSN = a.term.NextKSN()
	if err := applySetting(&cfg, name, m.Edit); err != nil {
		m.Notice = err.Error()
		return
	}
	t, err := a.b.NewTerminal(&cfg, a.options())
	if err != nil {
		m.Notice = "setting refused: " + err.Error()
		return
	}
	a.term = t
	m.Settings = settingsOf(t.Config())
	m.Currency = currencyPrefix(fmt.Sprintf("%04d", t.Config().Kernel.Currency))
	m.Notice = name + " set: applies from the next tap"
}
