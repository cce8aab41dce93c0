package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The acquirer's sample settings.
const (
	// SampleTID is the sample terminal, whose MAC key is TAK.
	SampleTID = "T0000001"
	// AcquirerKeystore is the acquirer's keystore file in its data
	// directory.
	AcquirerKeystore = "acquirer-keys.json"
	// SampleIssuer names the issuer link of the sample routes.
	SampleIssuer = "issuer"
	// SampleAcquirerID is the sample acquiring institution (DE32).
	SampleAcquirerID = "100001"
)

// SampleRoutes are the BIN ranges of the sample cards and phones, all
// served by the issuer link named issuer.
func SampleRoutes(issuer string) []route.Range {
	rs := []route.Range{
		{Low: "476173", Label: "visa-like cards"},
		{Low: "400551", Label: "visa-like cards"},
		{Low: "489537", Token: true, Label: "visa-like tokens"},
		{Low: "541333", Label: "mastercard-like cards"},
		{Low: "520474", Token: true, Label: "mastercard-like tokens"},
		{Low: "222100", High: "272099", Label: "mastercard-like 2-series"},
	}
	for i := range rs {
		rs[i].Issuer = issuer
	}
	return rs
}

// AcquirerOptions set up the acquirer's configuration (AcquirerConfig).
type AcquirerOptions struct {
	// Listen is the terminal-facing address, host:port.
	Listen string
	// Issuers maps each issuer link's name to its address.
	Issuers map[string]string
	// Routes is the routing table; nil routes SampleRoutes to the one
	// issuer of Issuers.
	Routes *route.Table
	// DataDir holds the journal, the advice queue and the keystore.
	DataDir string
	// AcquirerID is the acquiring institution (DE32).
	AcquirerID string
	// IssuerTimeout, EchoInterval and DuplicateWindow are the acquirer's
	// settings of the same names.
	IssuerTimeout, EchoInterval, DuplicateWindow time.Duration
	// Logger receives the acquirer's events (masked).
	Logger *slog.Logger
}

// AcquirerConfig builds the acquirer's configuration from o: the routes,
// the issuer links, the terminals and their keys in the soft security
// module of o.DataDir (opened here; the returned function closes it, after
// the acquirer is closed). Keys missing from the keystore are loaded with
// the sample keys (AcquirerKeys).
func AcquirerConfig(o AcquirerOptions) (acquirer.Config, func(), error) {
	none := func() {}
	table := o.Routes
	if table == nil {
		if len(o.Issuers) != 1 {
			return acquirer.Config{}, none, errors.New("acquirer: the sample routes need exactly one issuer")
		}
		var name string
		for n := range o.Issuers {
			name = n
		}
		var err error
		if table, err = route.New(SampleRoutes(name)); err != nil {
			return acquirer.Config{}, none, err
		}
	}
	m, err := OpenAcquirerHSM(o.DataDir, o.Logger)
	if err != nil {
		return acquirer.Config{}, none, err
	}
	closeHSM := func() { m.Close() }
	cfg, err := AcquirerKeys(m, o.Issuers)
	if err != nil {
		closeHSM()
		return acquirer.Config{}, none, err
	}
	cfg.Listen, cfg.AcquirerID, cfg.Routes, cfg.HSM = o.Listen, o.AcquirerID, table, m
	cfg.DataDir, cfg.IssuerTimeout, cfg.EchoInterval, cfg.DuplicateWindow = o.DataDir, o.IssuerTimeout, o.EchoInterval, o.DuplicateWindow
	cfg.Logger = o.Logger
	return cfg, closeHSM, nil
}

// OpenAcquirerHSM opens the acquirer's soft security module with its
// keystore in dir (OpenSoftHSM).
func OpenAcquirerHSM(dir string, logger *slog.Logger) (*soft.HSM, error) {
	return OpenSoftHSM("acquirer", dir, AcquirerKeystore, logger)
}

// acqKey finds the key labelled label among have, loading the sample key
// sampleHex when absent.
func acqKey(m hsm.KeyManager, have map[string]hsm.Handle, label string, u hsm.Usage, sampleHex string) (hsm.Handle, error) {
	if h, ok := have[label]; ok {
		if h.Usage != u {
			return hsm.Handle{}, fmt.Errorf("key %q is a %s, not a %s", label, h.Usage, u)
		}
		return h, nil
	}
	k, err := keys.ParseHex(keys.TDES, sampleHex)
	if err != nil {
		return hsm.Handle{}, err
	}
	return m.ImportKey(label, u, k)
}

// AcquirerKeys finds in m, or loads with the sample keys, the BDK, the
// sample terminal's TAK and each issuer's ZAK and ZPK (issuers maps link
// names to addresses), and returns a configuration holding the BDK, the
// issuer links, every terminal with a key labelled acq/tak/TID and the
// load terminals.
func AcquirerKeys(m hsm.KeyManager, issuers map[string]string) (acquirer.Config, error) {
	var cfg acquirer.Config
	all, err := m.List()
	if err != nil {
		return cfg, fmt.Errorf("acquirer keys: %w", err)
	}
	have := map[string]hsm.Handle{}
	for _, h := range all {
		have[h.Label] = h
	}
	if cfg.BDK, err = acqKey(m, have, "acq/bdk", hsm.UsageBDK, BDK); err != nil {
		return cfg, fmt.Errorf("acquirer keys: %w", err)
	}
	if _, err = acqKey(m, have, "acq/tak/"+SampleTID, hsm.UsageTAK, TAK); err != nil {
		return cfg, fmt.Errorf("acquirer keys: %w", err)
	}
	names := make([]string, 0, len(issuers))
	for n := range issuers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		is := acquirer.Issuer{Name: n, Addr: issuers[n]}
		if is.ZAK, err = acqKey(m, have, "acq/zak/"+n, hsm.UsageZAK, ZAK); err != nil {
			return cfg, fmt.Errorf("acquirer keys: %w", err)
		}
		if is.ZPK, err = acqKey(m, have, "acq/zpk/"+n, hsm.UsageZPK, ZPK); err != nil {
			return cfg, fmt.Errorf("acquirer keys: %w", err)
		}
		cfg.Issuers = append(cfg.Issuers, is)
	}
	if all, err = m.List(); err != nil {
		return cfg, fmt.Errorf("acquirer keys: %w", err)
	}
	for _, h := range all {
		if tid, ok := strings.CutPrefix(h.Label, "acq/tak/"); ok && h.Usage == hsm.UsageTAK {
			cfg.Terminals = append(cfg.Terminals, acquirer.Terminal{TID: tid, TAK: h})
		}
	}
	// The load terminals (load.go).
	if err := addLoadTerminals(m, have, &cfg); err != nil {
		return cfg, fmt.Errorf("acquirer keys: %w", err)
	}
	return cfg, nil
}
