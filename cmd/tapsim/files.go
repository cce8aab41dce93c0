package main

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// writeJSONFile writes v as indented JSON to path atomically: a temporary
// file beside it, readable by the owner only, renamed over it. The
// directory is made when missing.
func writeJSONFile(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
