package vault

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Channel is how a transaction reached the issuer, as a token's domain
// restriction controls name it. It is derived from the POS entry mode
// (DE22) and the POS condition code (DE25): see ChannelOf.
type Channel string

// Channels.
const (
	ChannelContactless Channel = "contactless" // DE22 07x (chip) or 91x (magnetic stripe mode)
	ChannelContact     Channel = "contact"     // DE22 05x
	ChannelEcommerce   Channel = "ecommerce"   // DE22 81x or 10x, or DE25 01, 08 or 59 (customer or card not present)
	ChannelMagstripe   Channel = "magstripe"   // DE22 02x or 90x
	ChannelManual      Channel = "manual"      // DE22 01x (key entry) with the customer present
	ChannelOther       Channel = "other"       // anything else
)

// ChannelOf derives the channel of a transaction from its POS entry mode
// (DE22, 3 digits) and POS condition code (DE25, 2 digits, "" when
// absent). A customer-not-present condition (01), a mail or telephone
// order (08) or an electronic-commerce condition (59) makes any entry a
// card-not-present transaction, reported as ChannelEcommerce.
func ChannelOf(entryMode, condition string) Channel {
	switch condition {
	case "01", "08", "59":
		return ChannelEcommerce
	}
	if len(entryMode) < 2 {
		return ChannelOther
	}
	switch entryMode[:2] {
	case "07", "91":
		return ChannelContactless
	case "05":
		return ChannelContact
	case "81", "10":
		return ChannelEcommerce
	case "02", "90":
		return ChannelMagstripe
	case "01":
		return ChannelManual
	}
	return ChannelOther
}

// Controls are a token's domain restriction controls: where and how it may
// be used. An empty list allows everything of its kind. They are kept in
// the token's domain column: "" for no controls, "mobile" for the
// contactless-only mobile domain (MobileControls), and JSON for anything
// else (Encode, ParseDomain).
type Controls struct {
	// EntryModes are the allowed POS entry modes, as prefixes of DE22
	// ("07": contactless chip, whatever the PIN capability).
	EntryModes []string `json:"entry_modes,omitempty" yaml:"entry_modes,omitempty"`
	// Channels are the allowed channels (ChannelOf).
	Channels []Channel `json:"channels,omitempty" yaml:"channels,omitempty"`
	// RequireRequestor makes every transaction name its token requestor
	// (9F19 in DE55 or the private field); a named requestor must be the
	// token's whether or not this is set.
	RequireRequestor bool `json:"requestor_required,omitempty" yaml:"requestor_required,omitempty"`
	// Merchants are the allowed card acceptor IDs (DE42, compared without
	// trailing spaces).
	Merchants []string `json:"merchants,omitempty" yaml:"merchants,omitempty"`
	// MCCs are the allowed merchant category codes (DE18, 4 digits); a
	// transaction without DE18 is refused when the list is set.
	MCCs []string `json:"mccs,omitempty" yaml:"mccs,omitempty"`
}

// MobileControls are the controls of DomainMobile: contactless chip at a
// point of sale.
func MobileControls() Controls {
	return Controls{EntryModes: []string{"07"}, Channels: []Channel{ChannelContactless}}
}

// IsZero reports whether c restricts nothing.
func (c Controls) IsZero() bool {
	return len(c.EntryModes) == 0 && len(c.Channels) == 0 && !c.RequireRequestor && len(c.Merchants) == 0 && len(c.MCCs) == 0
}

func (c Controls) equal(o Controls) bool {
	return slices.Equal(c.EntryModes, o.EntryModes) && slices.Equal(c.Channels, o.Channels) &&
		c.RequireRequestor == o.RequireRequestor && slices.Equal(c.Merchants, o.Merchants) && slices.Equal(c.MCCs, o.MCCs)
}

// Validate checks every control: entry modes of 1 to 3 digits, known
// channels, merchant IDs of 1 to 15 characters, MCCs of 4 digits.
func (c Controls) Validate() error {
	for _, m := range c.EntryModes {
		if len(m) == 0 || len(m) > 3 || !allDigits(m) {
			return fmt.Errorf("%w: entry mode %q", ErrDomain, m)
		}
	}
	for _, ch := range c.Channels {
		switch ch {
		case ChannelContactless, ChannelContact, ChannelEcommerce, ChannelMagstripe, ChannelManual, ChannelOther:
		default:
			return fmt.Errorf("%w: channel %q", ErrDomain, ch)
		}
	}
	for _, m := range c.Merchants {
		if m = strings.TrimRight(m, " "); len(m) == 0 || len(m) > 15 {
			return fmt.Errorf("%w: merchant ID %q", ErrDomain, m)
		}
	}
	for _, m := range c.MCCs {
		if len(m) != 4 || !allDigits(m) {
			return fmt.Errorf("%w: merchant category code %q", ErrDomain, m)
		}
	}
	return nil
}

// Encode writes c as the domain column keeps it: "" for no controls,
// DomainMobile for MobileControls, JSON otherwise.
func (c Controls) Encode() (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	switch {
	case c.IsZero():
		return DomainAny, nil
	case c.equal(MobileControls()):
		return DomainMobile, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDomain, err)
	}
	return string(b), nil
}

// String is the encoded form, or a note that c is invalid.
func (c Controls) String() string {
	s, err := c.Encode()
	if err != nil {
		return "invalid controls"
	}
	if s == "" {
		return "no controls"
	}
	return s
}

// ParseDomain reads a token's domain column: "" (no controls), "mobile"
// (MobileControls) or the JSON of Controls. Unknown JSON fields are
// refused, so that a control this version does not know is never ignored.
func ParseDomain(domain string) (Controls, error) {
	switch domain {
	case DomainAny:
		return Controls{}, nil
	case DomainMobile:
		return MobileControls(), nil
	}
	if !strings.HasPrefix(strings.TrimSpace(domain), "{") {
		return Controls{}, fmt.Errorf("%w: %q", ErrDomain, domain)
	}
	dec := json.NewDecoder(strings.NewReader(domain))
	dec.DisallowUnknownFields()
	var c Controls
	if err := dec.Decode(&c); err != nil {
		return Controls{}, fmt.Errorf("%w: %w", ErrDomain, err)
	}
	if dec.More() {
		return Controls{}, fmt.Errorf("%w: trailing data", ErrDomain)
	}
	if err := c.Validate(); err != nil {
		return Controls{}, err
	}
	return c, nil
}

// Usage is what an authorisation request says of where the token is used.
type Usage struct {
	EntryMode  string // DE22
	Condition  string // DE25, "" when absent
	Requestor  string // token requestor ID the message names (9F19 or the private field), "" when none
	MerchantID string // DE42
	MCC        string // DE18, "" when absent
}

// Refusal names the control a usage breaks; "" when none.
type Refusal string

// Refusals, in the order Check tests them.
const (
	RefuseEntryMode Refusal = "entry_mode"
	RefuseChannel   Refusal = "channel"
	RefuseRequestor Refusal = "requestor"
	RefuseMerchant  Refusal = "merchant"
	RefuseMCC       Refusal = "mcc"
)

// Check tests usage u of a token whose requestor is requestor against c
// and returns the first control it breaks, or "". A requestor the message
// names must be the token's, whatever the controls.
func (c Controls) Check(u Usage, requestor string) Refusal {
	if len(c.EntryModes) > 0 && !slices.ContainsFunc(c.EntryModes, func(p string) bool { return strings.HasPrefix(u.EntryMode, p) }) {
		return RefuseEntryMode
	}
	if len(c.Channels) > 0 && !slices.Contains(c.Channels, ChannelOf(u.EntryMode, u.Condition)) {
		return RefuseChannel
	}
	if (u.Requestor != "" && u.Requestor != requestor) || (c.RequireRequestor && u.Requestor == "") {
		return RefuseRequestor
	}
	if len(c.Merchants) > 0 {
		mid := strings.TrimRight(u.MerchantID, " ")
		if !slices.ContainsFunc(c.Merchants, func(m string) bool { return strings.TrimRight(m, " ") == mid }) {
			return RefuseMerchant
		}
	}
	if len(c.MCCs) > 0 && !slices.Contains(c.MCCs, u.MCC) {
		return RefuseMCC
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
