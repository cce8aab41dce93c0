package gp_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	elf    = h("A0000000031010")
	module = h("A000000003101001")
	inst   = h("A0000000031010")
)

func testKeys(b byte) scp03.StaticKeys {
	k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
	return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
}

func TestInstallRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cmd  func() ([]byte, error)
		want gp.Install
	}{
		{"install+selectable", func() ([]byte, error) {
			return gp.InstallForInstallCmd(gp.Install{LoadFile: elf, Module: module, Instance: inst, Privileges: []byte{0}, Params: h("0102")}, true)
		}, gp.Install{LoadFile: elf, Module: module, Instance: inst, Privileges: []byte{0}, Params: h("0102")}},
		{"make selectable", func() ([]byte, error) { return gp.InstallForMakeSelectableCmd(inst) },
			gp.Install{LoadFile: []byte{}, Module: []byte{}, Instance: inst, Privileges: []byte{0}}},
		{"personalization", func() ([]byte, error) { return gp.InstallForPersonalizationCmd(inst) },
			gp.Install{LoadFile: []byte{}, Module: []byte{}, Instance: inst, Privileges: []byte{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := tc.cmd()
			require.NoError(t, err)
			require.Equal(t, []byte{0x80, 0xE6}, cmd[:2])
			require.Equal(t, int(cmd[4]), len(cmd)-6)
			got, err := gp.ParseInstall(cmd[2], cmd[5:len(cmd)-1])
			require.NoError(t, err)
			require.Equal(t, tc.want.Instance, got.Instance)
			require.Equal(t, tc.want.Params, got.Params)
		})
	}
	cmd, err := gp.InstallForInstallCmd(gp.Install{LoadFile: elf, Module: module, Instance: inst, Privileges: []byte{0x80}}, false)
	require.NoError(t, err)
	require.Equal(t, h("80E604001F"+"07A0000000031010"+"08A000000003101001"+"07A0000000031010"+"0180"+"02C900"+"00"+"00"), cmd)
	_, err = gp.InstallForInstallCmd(gp.Install{LoadFile: h("01"), Module: module, Instance: inst, Privileges: []byte{0}}, false)
	require.ErrorIs(t, err, gp.ErrParam)
	for _, bad := range []string{"", "00", "000007A000000003101001", "0000", "07A0000000031010"} {
		_, err := gp.ParseInstall(gp.InstallForPersonalization, h(bad))
		require.ErrorIs(t, err, gp.ErrMalformed, bad)
	}
	_, err = gp.ParseInstall(0x40, cmd[5:len(cmd)-1])
	require.Error(t, err)
}

func TestPutKey(t *testing.T) {
	dek := testKeys(0x40).DEK
	ks := testKeys(0x70)
	cmd, err := gp.PutKeyCmd(0x30, 0x31, dek, ks)
	require.NoError(t, err)
	require.Equal(t, h("80D83081"), cmd[:4])
	require.Equal(t, 1+3*(3+16+4), int(cmd[4]))
	kvn, got, err := gp.ParsePutKey(cmd[3], cmd[5:len(cmd)-1], dek)
	require.NoError(t, err)
	require.Equal(t, byte(0x31), kvn)
	require.True(t, got.ENC.Equal(ks.ENC) && got.MAC.Equal(ks.MAC) && got.DEK.Equal(ks.DEK))
	kcvs, err := gp.KeySetKCVs(ks)
	require.NoError(t, err)
	require.NoError(t, gp.CheckPutKeyResponse(append([]byte{0x31}, kcvs...), 0x31, ks))
	require.ErrorIs(t, gp.CheckPutKeyResponse(append([]byte{0x32}, kcvs...), 0x31, ks), gp.ErrKCV)

	// Under the wrong DEK the keys decipher to garbage: the check values
	// catch it.
	_, _, err = gp.ParsePutKey(cmd[3], cmd[5:len(cmd)-1], testKeys(0x50).DEK)
	require.ErrorIs(t, err, gp.ErrKCV)
	_, _, err = gp.ParsePutKey(0x01, cmd[5:len(cmd)-1], dek)
	require.ErrorIs(t, err, gp.ErrParam)
	for _, n := range []int{1, 2, 10, 30, len(cmd) - 7} {
		_, _, err = gp.ParsePutKey(cmd[3], cmd[5:5+n], dek)
		require.ErrorIs(t, err, gp.ErrMalformed, n)
	}
	_, err = gp.PutKeyCmd(0, 0, dek, ks)
	require.ErrorIs(t, err, gp.ErrParam)
	_, err = gp.PutKeyCmd(0, 1, dek, scp03.StaticKeys{ENC: keys.MustNew(keys.TDES, make([]byte, 16)), MAC: ks.MAC, DEK: ks.DEK})
	require.ErrorIs(t, err, gp.ErrParam)
}

func TestOtherCommands(t *testing.T) {
	sel, err := gp.Select(inst)
	require.NoError(t, err)
	require.Equal(t, h("00A4040007A000000003101000"), sel)
	require.Equal(t, h("80CA9F7F00"), gp.GetData(gp.TagCPLC))
	sd, err := gp.StoreDataCmd(3, true, true, h("8000"))
	require.NoError(t, err)
	require.Equal(t, h("80E2E803028000"), sd)
	sd, err = gp.StoreDataCmd(0, false, false, h("01"))
	require.NoError(t, err)
	require.Equal(t, h("80E208000101"), sd)
	ss, err := gp.SetStatusCmd(gp.StatusApplication, 0x83, inst)
	require.NoError(t, err)
	require.Equal(t, h("80F0408307A0000000031010"), ss)
	del, err := gp.DeleteCmd(inst, true)
	require.NoError(t, err)
	require.Equal(t, h("80E40080094F07A000000003101000"), del)
	aid, err := gp.ParseDelete(del[5 : len(del)-1])
	require.NoError(t, err)
	require.Equal(t, inst, aid)
	for _, bad := range []string{"", "4F", "4F05A0000000", "4F02A000", "4E07A0000000031010"} {
		_, err := gp.ParseDelete(h(bad))
		require.ErrorIs(t, err, gp.ErrMalformed, bad)
	}
	_, err = gp.StoreDataCmd(0, true, false, make([]byte, 256))
	require.ErrorIs(t, err, gp.ErrParam)
}

func TestCPLC(t *testing.T) {
	raw := make([]byte, gp.CPLCLen)
	for i := range raw {
		raw[i] = byte(i)
	}
	c, err := gp.ParseCPLC(raw)
	require.NoError(t, err)
	require.Equal(t, raw, c.Bytes())
	require.Equal(t, "00010203"+"0C0D0E0F"+"1011", c.SEID())
	c2, err := gp.ParseCPLC(append(h("9F7F2A"), raw...))
	require.NoError(t, err)
	require.Equal(t, c, c2)
	_, err = gp.ParseCPLC(raw[:41])
	require.ErrorIs(t, err, gp.ErrMalformed)
	require.Contains(t, c.String(), c.SEID())
}

func FuzzParseInstall(f *testing.F) {
	for _, s := range []string{
		"07A000000003101008A00000000310100107A0000000031010018002C90000",
		"000007A0000000031010010000000000", "0000", "",
	} {
		f.Add(byte(0x0C), h(s))
		f.Add(byte(0x20), h(s))
	}
	f.Fuzz(func(t *testing.T, p1 byte, b []byte) {
		in, err := gp.ParseInstall(p1, b)
		if err == nil {
			require.GreaterOrEqual(t, len(in.Instance), 5)
		}
	})
}

func FuzzParsePutKey(f *testing.F) {
	dek := testKeys(0x40).DEK
	cmd, _ := gp.PutKeyCmd(0, 0x31, dek, testKeys(0x70))
	f.Add(cmd[5 : len(cmd)-1])
	f.Add(h("3188"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = gp.ParsePutKey(gp.PutKeyP2, b, dek)
	})
}

func FuzzParseDelete(f *testing.F) {
	f.Add(h("4F07A0000000031010"))
	f.Add(h("4F"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if aid, err := gp.ParseDelete(b); err == nil {
			require.Len(t, aid, len(b)-2)
		}
	})
}

func FuzzParseCPLC(f *testing.F) {
	f.Add(make([]byte, 42))
	f.Add(append(h("9F7F2A"), make([]byte, 42)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := gp.ParseCPLC(b); err == nil {
			require.Len(t, c.Bytes(), gp.CPLCLen)
		}
	})
}

func TestStatusRoundTrip(t *testing.T) {
	es := []gp.StatusEntry{
		{AID: inst, State: gp.StatePersonalized, Privileges: []byte{0, 0, 0}},
		{AID: elf, State: 1, Modules: [][]byte{module}},
	}
	b, err := gp.EncodeStatus(es)
	require.NoError(t, err)
	got, err := gp.ParseStatus(b)
	require.NoError(t, err)
	require.Equal(t, es, got)
	require.Equal(t, h("80F24002024F0000"), gp.GetStatusCmd(gp.StatusOfApps))
	for _, bad := range []string{"E300", "E3034F0101", "E3069F700101", "6F00", "E3"} {
		_, err := gp.ParseStatus(h(bad))
		require.ErrorIs(t, err, gp.ErrMalformed, bad)
	}
}

func FuzzParseStatus(f *testing.F) {
	b, _ := gp.EncodeStatus([]gp.StatusEntry{{AID: inst, State: 7, Privileges: []byte{0}}})
	f.Add(b)
	f.Add(h("E3"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := gp.ParseStatus(b)
		if err == nil {
			for _, e := range es {
				require.GreaterOrEqual(t, len(e.AID), 5)
			}
		}
	})
}

func TestDescribe(t *testing.T) {
	st, _ := gp.StoreDataCmd(2, true, true, make([]byte, 35))
	inst, _ := gp.InstallForPersonalizationCmd(inst)
	put, _ := gp.PutKeyCmd(0x30, 0x31, testKeys(1).DEK, testKeys(2))
	tests := []struct {
		cmd  []byte
		want string
	}{
		{st, "STORE DATA block 2, last, enciphered, DGI (35 bytes of data)"},
		{inst, "INSTALL [for personalization] (13 bytes of data)"},
		{put, "PUT KEY (replace key version 30) (70 bytes of data)"},
		{h("84E2000002AABB"), "STORE DATA block 0 (2 bytes of data, secure messaging)"},
		{h("80F0"), "short APDU (2 bytes)"},
		{h("80CA9F7F00"), "GET DATA 9F7F (0 bytes of data)"},
		{h("00B2010C00"), "00 B2 01 0C (0 bytes of data)"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, gp.Describe(tc.cmd))
	}
}

func FuzzDescribe(f *testing.F) {
	f.Add(h("80E2880005010102700000"))
	f.Add(h("00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		require.NotEmpty(t, gp.Describe(b))
	})
}
