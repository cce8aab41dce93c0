// Package profiles holds the sample virtual card and phone profiles
// (YAML), the APDU traces of the recorded cards and the storage of the
// sample HCE phones' issuer app, embedded so that the binary and the
// scenario runner can name them without a path. cards.Builtin reads them;
// the files document the profile layout by example.
package profiles

import "embed"

// FS holds the *.yaml profiles, traces/*.trace and phones/*.json, the
// storage of the sample HCE phones' issuer app as a cloud platform
// enrolled them.
//
//go:embed *.yaml traces/*.trace phones/*.json
var FS embed.FS
