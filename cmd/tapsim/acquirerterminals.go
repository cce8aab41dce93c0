package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// terminalsFile is the --terminals file of "tapsim acquirer": the
// integrator's own terminals and their keys.
type terminalsFile struct {
	Terminals []terminalEntry `yaml:"terminals"`
}

type terminalEntry struct {
	TID string `yaml:"tid"`
	// TAK is the terminal MAC key, 32 or 48 hex digits (double or triple
	// length TDES).
	TAK string `yaml:"tak"`
	// BDK is the DUKPT base derivation key of the terminal's PIN pad;
	// empty: the acquirer's (acq/bdk).
	BDK string `yaml:"bdk"`
	// MAC is "required" (the default) or "optional".
	MAC string `yaml:"mac"`
}

// loadTerminalsFile reads the --terminals file and puts each terminal's keys
// in the acquirer's security module (labels acq/tak/TID and acq/bdk/TID, a
// key already there with another value replaced), then adds the terminals
// to cfg, replacing any of the same ID. Errors never hold a key.
func loadTerminalsFile(path string, m hsm.KeyManager, cfg *acquirer.Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageErr("--terminals: %v", err)
	}
	var f terminalsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return usageErr("--terminals %s: %s", path, strings.Join(strings.Fields(err.Error()), " "))
	}
	if len(f.Terminals) == 0 {
		return usageErr("--terminals %s: no terminals listed", path)
	}
	have := map[string]hsm.Handle{}
	all, err := m.List()
	if err != nil {
		return err
	}
	for _, h := range all {
		have[h.Label] = h
	}
	seen := map[string]bool{}
	for i, e := range f.Terminals {
		where := fmt.Sprintf("--terminals %s: terminal %d", path, i+1)
		switch {
		case e.TID == "" || len(e.TID) > 8:
			return usageErr("%s: tid must be 1 to 8 characters", where)
		case seen[e.TID]:
			return usageErr("%s: terminal %s listed twice", where, e.TID)
		case e.MAC != "" && e.MAC != "required" && e.MAC != "optional":
			return usageErr("%s (%s): mac must be required or optional", where, e.TID)
		}
		seen[e.TID] = true
		t := acquirer.Terminal{TID: e.TID, MACOptional: e.MAC == "optional"}
		if t.TAK, err = putKey(m, have, "acq/tak/"+e.TID, hsm.UsageTAK, e.TAK); err != nil {
			return usageErr("%s (%s): tak: %v", where, e.TID, err)
		}
		if e.BDK != "" {
			if t.BDK, err = putKey(m, have, "acq/bdk/"+e.TID, hsm.UsageBDK, e.BDK); err != nil {
				return usageErr("%s (%s): bdk: %v", where, e.TID, err)
			}
		}
		replaced := false
		for j := range cfg.Terminals {
			if cfg.Terminals[j].TID == t.TID {
				cfg.Terminals[j], replaced = t, true
			}
		}
		if !replaced {
			cfg.Terminals = append(cfg.Terminals, t)
		}
	}
	return nil
}

// putKey stores the key hexKey under label unless the same key is there
// already, and returns its handle.
func putKey(m hsm.KeyManager, have map[string]hsm.Handle, label string, u hsm.Usage, hexKey string) (hsm.Handle, error) {
	hexKey = strings.TrimSpace(hexKey)
	if len(hexKey) != 32 && len(hexKey) != 48 {
		return hsm.Handle{}, errors.New("want 32 or 48 hex digits (TDES)")
	}
	k, err := keys.ParseHex(keys.TDES, hexKey)
	if err != nil {
		return hsm.Handle{}, errors.New("not a TDES key in hex")
	}
	if h, ok := have[label]; ok {
		if h.Usage == u && h.KCV == k.KCVHex() {
			return h, nil
		}
		if err := m.DeleteKey(h); err != nil {
			return hsm.Handle{}, fmt.Errorf("replacing %s (KCV %s): %w", label, h.KCV, err)
		}
	}
	h, err := m.ImportKey(label, u, k)
	if err != nil {
		return hsm.Handle{}, fmt.Errorf("loading it (KCV %s): %w", k.KCVHex(), err)
	}
	return h, nil
}
