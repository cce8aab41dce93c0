package lab

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/hceapp"
	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/provision/wire"
)

var updateHCEStorage = flag.Bool("update", false, "enrol the sample HCE phones again and rewrite their storage in cards/profiles")

// sampleHCEEnrolled is when the stored sample HCE phones were enrolled:
// an hour before the scenarios' default date, so that their keys are
// fresh on it.
var sampleHCEEnrolled = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// R-S5b, R-S5c, R-M7: the built-in HCE phones (what tapsim tap, tapsim run
// and the kernel-only tests tap) are the sample phones as an issuer's
// cloud platform enrolled them: their storage in cards/profiles holds
// the cloud card and the limited-use keys wrapped for the device, never
// the funding card, and each key makes the cryptogram the issuer derives
// from the sample cloud master keys, checked two ways: step by step from
// the primitives and through a security module. -update enrols them
// again (registration, OTP, challenge-signed download) on a fixed clock.
func TestSampleHCEPhoneStorage(t *testing.T) {
	ctx := context.Background()
	if *updateHCEStorage {
		dir := t.TempDir()
		r, err := OpenIssuer(ctx, dir, "", nil)
		require.NoError(t, err)
		defer r.Close()
		_, _, err = InitIssuer(ctx, r)
		require.NoError(t, err)
		_, err = EnrolIssuerSampleHCE(ctx, r, dir, IssuerHCEOptions{Clock: func() time.Time { return sampleHCEEnrolled },
			Rand: newSeededRand(97)})
		require.NoError(t, err)
		for _, name := range SampleHCEProfiles {
			p, err := cards.Builtin(name)
			require.NoError(t, err)
			b, err := os.ReadFile(HCEPhoneFile(dir, name))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join("..", "cards", "profiles", filepath.FromSlash(p.Phone.Storage)), b, 0o644))
		}
	}

	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")})
	require.NoError(t, err)
	imk, err := m.ImportKey(CloudIMKLabel, hsm.UsageIMKAC, keys.MustHex(keys.TDES, CloudIMK))
	require.NoError(t, err)
	umd, err := m.ImportKey(CloudIMKLabel+authz.UMDKeySuffix, hsm.UsageIMKAC, keys.MustHex(keys.TDES, CloudUMDIMK))
	require.NoError(t, err)
	terminal := cryptogram.Values{
		0x9F02: {0x00, 0x00, 0x00, 0x01, 0x00, 0x00}, 0x9F03: make([]byte, 6), 0x9F1A: {0x01, 0x58},
		0x95: make([]byte, 5), 0x5F2A: {0x09, 0x01}, 0x9A: {0x26, 0x01, 0x15}, 0x9C: {0x00},
		0x9F37: {0x11, 0x22, 0x33, 0x44},
	}
	for _, name := range SampleHCEProfiles {
		t.Run(name, func(t *testing.T) {
			p, err := cards.Builtin(name)
			require.NoError(t, err)
			require.NotEmpty(t, p.Phone.Storage)
			// The file the binary embeds (cards/profiles.FS), read from
			// disk so that -update checks what it wrote.
			b, err := os.ReadFile(filepath.Join("..", "cards", "profiles", filepath.FromSlash(p.Phone.Storage)))
			require.NoError(t, err)
			require.NotContains(t, string(b), p.App.Token.FundingPAN, "the funding card stays at the platform (R-S5c)")
			require.NotContains(t, string(b), p.App.PAN, "the cloud account number is sealed in the phone's storage")
			app, err := hceapp.Restore(hceapp.Config{Rand: newSeededRand(1)}, b)
			require.NoError(t, err)
			require.Equal(t, deviceID(p), app.DeviceID())
			cs := app.Cards()
			require.Len(t, cs, 1)
			card := cs[0]
			cp := card.Profile()
			require.Equal(t, p.App.PAN, cp.AccountNumber)
			require.Equal(t, p.App.PSN, cp.PSN)
			require.Equal(t, 5, card.KeysLeft())

			mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, CloudIMK), cp.AccountNumber, cp.PSN)
			require.NoError(t, err)
			for range 5 {
				tap, err := card.Pay(terminal, hceapp.Verification{CDCVM: true, MobilePIN: p.Phone.MobilePIN})
				require.NoError(t, err)
				if cp.CVN == wire.HCECVNVisaCloud {
					ki, err := emvcloud.ParseKeyIndex(tap.KeyIndex)
					require.NoError(t, err)
					at, err := ki.IssuedAt(sampleHCEEnrolled)
					require.NoError(t, err)
					require.Equal(t, sampleHCEEnrolled.Truncate(time.Hour), at)
					luk, err := emvcloud.DeriveLUK(mk, cp.API, ki)
					require.NoError(t, err)
					ac, err := emvcloud.GenerateLUKAC(luk, tap.Tags)
					require.NoError(t, err)
					require.Equal(t, ac, tap.AC(), "the LUK of key %s from the sample cloud IMK", ki)
					require.NoError(t, m.VerifyLUKCryptogram(imk, cp.AccountNumber, cp.PSN, cp.API, ki, tap.Tags, tap.AC()))
					continue
				}
				require.Equal(t, wire.HCECVNMCCloud, cp.CVN)
				require.Equal(t, SampleHCEMobilePIN, p.Phone.MobilePIN, "the PIN set at registration")
				mkUMD, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, CloudUMDIMK), cp.AccountNumber, cp.PSN)
				require.NoError(t, err)
				atc := tap.Tags[cryptogram.TagATC]
				skMD, skUMD, err := emvcloud.SessionKeys(mk, mkUMD, uint16(atc[0])<<8|uint16(atc[1]))
				require.NoError(t, err)
				ac, iad, err := emvcloud.GenerateMC(skMD, skUMD, tap.Tags)
				require.NoError(t, err)
				require.Equal(t, ac, tap.AC(), "the UMD cryptogram of the sample cloud UMD IMK")
				require.Equal(t, iad, tap.Tags[cryptogram.TagIssuerAppData], "the MD cryptogram of the sample cloud IMK")
				v, err := m.VerifyMCCryptograms(imk, umd, cp.AccountNumber, cp.PSN, tap.Tags, tap.AC())
				require.NoError(t, err)
				require.True(t, v.CardholderVerified(), "the mobile PIN of the profile is the one set at registration")
			}
			_, err = card.Pay(terminal, hceapp.Verification{CDCVM: true, MobilePIN: p.Phone.MobilePIN})
			require.ErrorIs(t, err, hceapp.ErrNoKeys)
		})
	}
}
