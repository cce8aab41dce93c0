package idv_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// The PostgreSQL test shares one private server, stopped at the end.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The service on PostgreSQL (where a failed statement ends the
// transaction): the step-up, the lock after five wrong OTPs, the reset,
// a new attempt, the notifications and the activation.
func TestPostgres(t *testing.T) {
	db, err := store.OpenPostgres(ctx, pgtest.NewDatabase(t), storetest.PostgresOptions())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	h := issuertest.NewHSM(t, "")
	seed := issuertest.SampleSeed(t, h)
	seed.Created = issuertest.Start
	require.NoError(t, issuerhost.Init(ctx, db, h, seed))
	clock := &issuertest.Clock{}
	clock.Set(issuertest.Start)
	buf := &syncBuffer{}
	svc, err := idv.New(idv.Config{DB: db, HSM: h, Now: clock.Now, Rand: &counter{},
		Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	require.NoError(t, err)
	f := &fixture{t: t, net: &issuertest.Net{T: t, DB: db, HSM: h, Clock: clock, Seed: seed}, svc: svc, log: buf}
	for _, c := range seed.Cards {
		f.secrets = append(f.secrets, c.PAN)
	}

	req := f.request("corr-pg", issuertest.VisaPlastic)
	require.Equal(t, idv.StepUp, f.authorize(req).Decision)
	require.Equal(t, idv.StepUp, f.authorize(req).Decision, "a retry")
	otp := f.sendOTP("corr-pg", issuertest.VisaPlastic)
	for range 4 {
		_, err := svc.VerifyOTP(ctx, "corr-pg", "000000")
		require.ErrorIs(t, err, idv.ErrOTPWrong)
	}
	_, err = svc.VerifyOTP(ctx, "corr-pg", "000000")
	require.ErrorIs(t, err, idv.ErrLocked)
	_, err = svc.VerifyOTP(ctx, "corr-pg", otp)
	require.ErrorIs(t, err, idv.ErrLocked)
	_, err = svc.Authorize(ctx, f.request("corr-pg", issuertest.VisaSE))
	require.ErrorIs(t, err, idv.ErrCorrelationReused)
	require.NoError(t, svc.ResetProvisioning(ctx, issuertest.VisaPlastic, "agent-1"))

	f.authorize(f.request("corr-pg-2", issuertest.VisaPlastic))
	otp = f.sendOTP("corr-pg-2", issuertest.VisaPlastic)
	_, err = svc.VerifyOTP(ctx, "corr-pg-2", otp)
	require.NoError(t, err)
	_, err = svc.NotifyDownloadComplete(ctx, "corr-pg-2", "TUR-PG", device, walletTR)
	require.NoError(t, err)
	_, err = svc.NotifyTokenCreated(ctx, "corr-pg-2", "TUR-PG", device, walletTR)
	require.NoError(t, err)
	st, err := svc.Activate(ctx, idv.ActivateRequest{TokenRef: "TUR-PG", Method: idv.ProofOTP})
	require.NoError(t, err)
	require.Equal(t, idv.StatusActive, st.Status)
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		_, err := tx.VerifyAudit(ctx)
		return err
	}))
	f.noSecrets()
}
