package lab

import (
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pos"
)

// TerminalConfig is the terminal configuration file at path, or with path
// empty the sample terminal T0000001 (pos.DefaultConfig: Taiwanese,
// TWD, the sample keys); either way the test CA's public keys stand in
// when no CA key is configured.
func TerminalConfig(path string) (pos.Config, error) {
	cfg := pos.DefaultConfig()
	if path != "" {
		var err error
		if cfg, err = pos.LoadConfig(path); err != nil {
			return cfg, err
		}
	}
	if len(cfg.Kernel.CAPublicKeys) == 0 {
		capk, err := kernel.ParseCAPK(testca.CAPKFile())
		if err != nil {
			return cfg, err
		}
		cfg.Kernel.CAPublicKeys = capk
	}
	return cfg, nil
}
