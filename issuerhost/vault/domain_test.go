package vault_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// The domain column keeps its two old meanings ("" none, "mobile"
// contactless chip) and takes any other controls as JSON, read back
// exactly; anything else is refused rather than ignored.
func TestDomainEncoding(t *testing.T) {
	c, err := vault.ParseDomain("")
	require.NoError(t, err)
	require.True(t, c.IsZero())
	c, err = vault.ParseDomain(vault.DomainMobile)
	require.NoError(t, err)
	require.Equal(t, vault.MobileControls(), c)

	for _, tc := range []struct {
		c    vault.Controls
		want string
	}{
		{vault.Controls{}, ""},
		{vault.MobileControls(), "mobile"},
		{vault.Controls{EntryModes: []string{"07"}, Channels: []vault.Channel{vault.ChannelContactless}, RequireRequestor: true,
			Merchants: []string{"M00000000000001"}, MCCs: []string{"5411"}},
			`{"entry_modes":["07"],"channels":["contactless"],"requestor_required":true,"merchants":["M00000000000001"],"mccs":["5411"]}`},
	} {
		s, err := tc.c.Encode()
		require.NoError(t, err)
		require.Equal(t, tc.want, s)
		back, err := vault.ParseDomain(s)
		require.NoError(t, err)
		require.Equal(t, tc.c.IsZero(), back.IsZero())
		if !tc.c.IsZero() {
			require.Equal(t, tc.c, back)
		}
		require.True(t, vault.ValidDomain(s))
	}
	for _, bad := range []string{"web", "{", `{"channels":["telepathy"]}`, `{"mccs":["54"]}`, `{"entry_modes":["0x"]}`,
		`{"unknown_control":true}`, `{"merchants":[""]}`, `{} {}`} {
		_, err := vault.ParseDomain(bad)
		require.ErrorIs(t, err, vault.ErrDomain, bad)
		require.False(t, vault.ValidDomain(bad), bad)
	}
	_, err = vault.Controls{MCCs: []string{"ABCD"}}.Encode()
	require.ErrorIs(t, err, vault.ErrDomain)
}

func TestChannelOf(t *testing.T) {
	for _, tc := range []struct {
		entry, cond string
		want        vault.Channel
	}{
		{"071", "00", vault.ChannelContactless},
		{"072", "", vault.ChannelContactless},
		{"911", "00", vault.ChannelContactless},
		{"051", "00", vault.ChannelContact},
		{"812", "", vault.ChannelEcommerce},
		{"071", "01", vault.ChannelEcommerce}, // customer not present
		{"071", "08", vault.ChannelEcommerce}, // mail or telephone order
		{"071", "59", vault.ChannelEcommerce}, // electronic commerce
		{"021", "", vault.ChannelMagstripe},
		{"011", "00", vault.ChannelManual},
		{"", "", vault.ChannelOther},
		{"991", "", vault.ChannelOther},
	} {
		require.Equal(t, tc.want, vault.ChannelOf(tc.entry, tc.cond), "%s/%s", tc.entry, tc.cond)
	}
}

// Each control refuses with its own refusal, in a fixed order.
func TestControlsCheck(t *testing.T) {
	c := vault.Controls{EntryModes: []string{"07", "05"}, Channels: []vault.Channel{vault.ChannelContactless},
		RequireRequestor: true, Merchants: []string{"M1"}, MCCs: []string{"5411"}}
	ok := vault.Usage{EntryMode: "071", Condition: "00", Requestor: "40010030273", MerchantID: "M1   ", MCC: "5411"}
	require.Equal(t, vault.Refusal(""), c.Check(ok, "40010030273"))
	for _, tc := range []struct {
		name string
		f    func(u *vault.Usage)
		want vault.Refusal
	}{
		{"magnetic stripe", func(u *vault.Usage) { u.EntryMode = "901" }, vault.RefuseEntryMode},
		{"contact chip: entry mode allowed, channel not", func(u *vault.Usage) { u.EntryMode = "051" }, vault.RefuseChannel},
		{"customer not present", func(u *vault.Usage) { u.Condition = "01" }, vault.RefuseChannel},
		{"another requestor", func(u *vault.Usage) { u.Requestor = "40010099999" }, vault.RefuseRequestor},
		{"no requestor", func(u *vault.Usage) { u.Requestor = "" }, vault.RefuseRequestor},
		{"another merchant", func(u *vault.Usage) { u.MerchantID = "M2" }, vault.RefuseMerchant},
		{"another MCC", func(u *vault.Usage) { u.MCC = "7995" }, vault.RefuseMCC},
		{"no MCC", func(u *vault.Usage) { u.MCC = "" }, vault.RefuseMCC},
	} {
		u := ok
		tc.f(&u)
		require.Equal(t, tc.want, c.Check(u, "40010030273"), tc.name)
	}
	// Without controls, a named requestor must still be the token's.
	require.Equal(t, vault.RefuseRequestor, vault.Controls{}.Check(vault.Usage{EntryMode: "051", Requestor: "1"}, "40010030273"))
	require.Equal(t, vault.Refusal(""), vault.Controls{}.Check(vault.Usage{EntryMode: "051"}, "40010030273"))
}

// A token provisioned with controls keeps them.
func TestProvisionWithControls(t *testing.T) {
	n := issuertest.New(t)
	v := vault.New(n.DB, n.Clock.Now)
	c := vault.Controls{EntryModes: []string{"07"}, RequireRequestor: true, MCCs: []string{"5812"}}
	d, err := c.Encode()
	require.NoError(t, err)
	require.NoError(t, v.Provision(ctx, store.Token{ID: "t-ctl", Number: "4895370012340037", CardID: "wallet-funding",
		Expiry: "2812", Domain: d, RequestorID: "40010030273", CVN: "visa18", IMKRef: "issuer/imk/token", FormFactor: "wallet-phone"}))
	got, err := v.Detokenise(ctx, "4895370012340037")
	require.NoError(t, err)
	back, err := vault.ParseDomain(got.Token.Domain)
	require.NoError(t, err)
	require.Equal(t, c, back)
}

// Whatever the domain column holds, reading it never panics, and controls
// read back encode to a domain that reads back the same.
func FuzzParseDomain(f *testing.F) {
	for _, s := range []string{"", "mobile", `{"entry_modes":["07"],"requestor_required":true}`, `{"mccs":["5411","5812"],"merchants":["M1"]}`, "{", "null", `{"channels":["contactless"]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := vault.ParseDomain(s)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		require.NoError(t, err)
		back, err := vault.ParseDomain(enc)
		require.NoError(t, err)
		require.Equal(t, c.IsZero(), back.IsZero())
		require.Equal(t, c.Check(vault.Usage{EntryMode: "071"}, ""), back.Check(vault.Usage{EntryMode: "071"}, ""))
	})
}
