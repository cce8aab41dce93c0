package cloudsvc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// A platform made on a store finds the card accounts and audit trail a
// platform before it wrote there, sealed; a store whose records do not
// parse or break the platform's rules makes no platform. A ledger that
// counts no mobile PIN tries cannot be reset.
func TestStoreReload(t *testing.T) {
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
		Rand: wiretest.NewSeeded(1)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	_, err = m.GenerateKey(cloudsvc.DefaultDEKLabel, hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	me := wiretest.Party(t, "cloud-platform", 3)
	clock := wiretest.NewClock(wiretest.Epoch)
	st := &cloudsvc.MemoryStore{}
	mk := func(st cloudsvc.Store) (*cloudsvc.Service, error) {
		return cloudsvc.New(cloudsvc.Config{Me: me, HSM: m, Verifier: noVerifier{}, Ledger: nullLedger{}, Store: st,
			Clock: clock.Now, Rand: wiretest.NewSeeded(4), CardReaders: []string{"staff-7"}})
	}
	s, err := mk(st)
	require.NoError(t, err)
	require.NoError(t, s.AddCard("staff", cloudsvc.CardAccount{Ref: "card-1", Holder: "alice", PAN: "4761739001010010",
		Expiry: "2912", CloudPAN: "4895370012345671", CloudExpiry: "2812", PSN: "01", IMK: "imk", API: 1}))
	recs, audit, err := st.Load()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, cloudsvc.RecordCard, recs[0].Kind)
	require.NotContains(t, string(recs[0].Body), "4761739001010010")
	require.NotContains(t, string(recs[0].Body), "4895370012345671")
	require.Len(t, audit, 1)

	s, err = mk(st)
	require.NoError(t, err)
	require.Len(t, s.Dump().Cards, 1)
	require.Len(t, s.Audit(), 1)
	d, err := s.ReadCard("staff-7", "card-1", "reload check")
	require.NoError(t, err)
	require.Equal(t, "4761739001010010", d.PAN)
	require.ErrorIs(t, s.ResetMobilePIN("staff-7", "card-1", "phone-1"), cloudsvc.ErrInput)
	_, err = s.ReportDeviceLost("staff-7", "phone-1")
	require.ErrorIs(t, err, cloudsvc.ErrUnknown)

	for _, bad := range []cloudsvc.Record{
		{Kind: cloudsvc.RecordCard, ID: "x", Body: []byte("{")},
		{Kind: cloudsvc.RecordBinding, ID: "b", Body: []byte(`{"id":"b","cardRef":"nowhere","deviceId":"d"}`)},
		{Kind: cloudsvc.RecordPending, ID: "p", Body: []byte(`{"id":"p","cardRef":"card-1"}`)},
	} {
		broken := &cloudsvc.MemoryStore{}
		r, a, err := st.Load()
		require.NoError(t, err)
		for _, x := range r {
			require.NoError(t, broken.Put(x))
		}
		for _, e := range a {
			require.NoError(t, broken.Audit(e))
		}
		require.NoError(t, broken.Put(bad))
		_, err = mk(broken)
		require.ErrorIs(t, err, cloudsvc.ErrInput, bad.Kind)
	}
}
