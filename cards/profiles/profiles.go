// Package profiles holds the sample virtual card and phone profiles (YAML)
// and the APDU traces of the recorded cards, embedded so that the binary
// and the scenario runner can name them without a path. cards.Builtin
// reads them; the files document the profile layout by example.
package profiles

import "embed"

// FS holds the *.yaml profiles and traces/*.trace.
//
//go:embed *.yaml traces/*.trace
var FS embed.FS
