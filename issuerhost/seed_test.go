package issuerhost_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

func freshStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.OpenDir(t.TempDir(), storetest.Options())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestInit(t *testing.T) {
	n := issuertest.New(t)
	ok, err := issuerhost.Initialised(ctx, n.DB)
	require.NoError(t, err)
	require.True(t, ok)
	require.ErrorIs(t, issuerhost.Init(ctx, n.DB, n.HSM, n.Seed), issuerhost.ErrSeeded)

	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		d, err := tx.Device(ctx, "3520990017614823", issuertest.HCE)
		require.NoError(t, err)
		require.Equal(t, store.DeviceActive, d.Status)
		c, err := tx.Card(ctx, issuertest.VisaExpired)
		require.NoError(t, err)
		require.Equal(t, "2406", c.Expiry, "YYYY-MM read as YYMM")
		require.Len(t, c.PVV, 4)
		// The registered contacts of the cardholder (issuerhost/idv).
		cc, err := tx.CardContact(ctx, issuertest.VisaPlastic)
		require.NoError(t, err)
		phone, email := issuerhost.SampleContact(issuertest.VisaPlastic)
		require.Equal(t, store.CardContact{CardID: issuertest.VisaPlastic, Phone: phone, Email: email, IssuerApp: true,
			UpdatedAt: cc.UpdatedAt}, cc)
		require.Regexp(t, `^\+8869[0-9]{8}$`, phone)
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Positive(t, n)
		return nil
	}))

	// A second store on the same module: the keys are there already with
	// the same values, which is fine.
	db := freshStore(t)
	require.NoError(t, issuerhost.Init(ctx, db, n.HSM, n.Seed))
}

// The sample CVK is in the seed and makes 3-digit CVV2s.
func TestSampleCVK(t *testing.T) {
	n := issuertest.New(t)
	h, err := n.HSM.Lookup(issuerhost.CVKLabel)
	require.NoError(t, err)
	require.Equal(t, hsm.UsageCVK, h.Usage)
	code, err := n.HSM.GenerateCVV(h, "4761739001010010", "2912", "000")
	require.NoError(t, err)
	require.Len(t, code, 3)
	same, err := issuerhost.SampleCVV2(n.HSM, "4761739001010010", "2912")
	require.NoError(t, err)
	require.Equal(t, code, same)
	_, err = issuerhost.SampleCVV2(n.HSM, "4761739001010010", "29-12")
	require.ErrorIs(t, err, hsm.ErrInput)
	require.NotContains(t, err.Error(), "4761739001010010")
	a, b := issuerhost.SampleContact("a")
	c, d := issuerhost.SampleContact("b")
	require.NotEqual(t, a, c)
	require.NotEqual(t, b, d)
}

func TestInitRefusesBadSeeds(t *testing.T) {
	base := func() issuerhost.Seed {
		return issuerhost.Seed{
			Accounts: []issuerhost.SeedAccount{{ID: "a", Currency: 901, CreditLimit: 1}},
			Cards:    []issuerhost.SeedCard{{ID: "c", PAN: "4761739001010010", Account: "a", Expiry: "2912"}},
		}
	}
	tests := []struct {
		name string
		edit func(*issuerhost.Seed)
	}{
		{"bad expiry", func(s *issuerhost.Seed) { s.Cards[0].Expiry = "2029-13" }},
		{"bad check digit", func(s *issuerhost.Seed) { s.Cards[0].PAN = "4761739001010011" }},
		{"unknown account", func(s *issuerhost.Seed) { s.Cards[0].Account = "nope" }},
		{"token of no card", func(s *issuerhost.Seed) {
			s.Tokens = []issuerhost.SeedToken{{ID: "t", Number: "4895370012340011", Card: "nope", Expiry: "2812", CVN: "visa18", IMK: "x", FormFactor: "hce-phone"}}
		}},
		{"token domain", func(s *issuerhost.Seed) {
			s.Tokens = []issuerhost.SeedToken{{ID: "t", Number: "4895370012340011", Card: "c", Expiry: "2812", Domain: "web", FormFactor: "hce-phone"}}
		}},
		{"token domain and controls both", func(s *issuerhost.Seed) {
			s.Tokens = []issuerhost.SeedToken{{ID: "t", Number: "4895370012340011", Card: "c", Expiry: "2812", Domain: "mobile",
				Controls: &vault.Controls{MCCs: []string{"5411"}}, FormFactor: "hce-phone"}}
		}},
		{"token controls", func(s *issuerhost.Seed) {
			s.Tokens = []issuerhost.SeedToken{{ID: "t", Number: "4895370012340011", Card: "c", Expiry: "2812",
				Controls: &vault.Controls{MCCs: []string{"54"}}, FormFactor: "hce-phone"}}
		}},
		{"device ID", func(s *issuerhost.Seed) { s.Devices = []issuerhost.SeedDevice{{ID: "xyz", Token: "t"}} }},
		{"key not hex", func(s *issuerhost.Seed) {
			s.Keys = []issuerhost.SeedKey{{Label: "k", Usage: hsm.UsageZAK, Alg: "TDES", Hex: "nothex"}}
		}},
		{"key with another value", func(s *issuerhost.Seed) {
			s.Keys = []issuerhost.SeedKey{{Label: issuerhost.DefaultKeys().ZAK, Usage: hsm.UsageZAK, Alg: "TDES", Hex: "0123456789ABCDEFFEDCBA9876543210"}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := issuertest.NewHSM(t, "")
			_, err := h.ImportKey(issuerhost.DefaultKeys().ZAK, hsm.UsageZAK, mustTDES(issuertest.ZAKHex))
			require.NoError(t, err)
			db := freshStore(t)
			s := base()
			tc.edit(&s)
			require.Error(t, issuerhost.Init(ctx, db, h, s))
			ok, err := issuerhost.Initialised(ctx, db)
			require.NoError(t, err)
			require.False(t, ok, "nothing kept")
			require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
				_, err := tx.Account(ctx, "a")
				require.ErrorIs(t, err, store.ErrNotFound)
				return nil
			}))
		})
	}
	require.Error(t, issuerhost.Init(ctx, nil, nil, base()))
}

// Seed controls are kept as the token's domain, read back the same.
func TestInitTokenControls(t *testing.T) {
	h := issuertest.NewHSM(t, "")
	db := freshStore(t)
	ctl := vault.Controls{EntryModes: []string{"07"}, Channels: []vault.Channel{vault.ChannelContactless}, RequireRequestor: true}
	s := issuerhost.Seed{
		Accounts: []issuerhost.SeedAccount{{ID: "a", Currency: 901, CreditLimit: 1}},
		Cards:    []issuerhost.SeedCard{{ID: "c", PAN: "4761739001010010", Account: "a", Expiry: "2912"}},
		Tokens: []issuerhost.SeedToken{{ID: "t", Number: "4895370012340011", Card: "c", Expiry: "2812", Controls: &ctl,
			RequestorID: "40010030273", CVN: "visa18", IMK: "x", FormFactor: "hce-phone"}},
	}
	require.NoError(t, issuerhost.Init(ctx, db, h, s))
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, "t")
		require.NoError(t, err)
		got, err := vault.ParseDomain(k.Domain)
		require.NoError(t, err)
		require.Equal(t, ctl, got)
		return nil
	}))
}
