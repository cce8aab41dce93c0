package pcsc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/pcsc"
	"github.com/tapsim/tapsim/tests/pcsc/pcscd"
)

// The PC/SC service (with its reader) going away is a failure of the
// reader, not of the card: the tap ends with a clear error, neither Try
// Again nor a hang nor a panic. The terminal keeps running: once the
// service is back, the same Reader finds the card again (Serve brings it
// back to vpcd by itself) and the next tap completes.
func TestServiceGoneAndBack(t *testing.T) {
	ctx := testCtx(t)
	d := pcscd.Need(t)
	s := vpcd.New(d.VPCD(0), newCard(t, "visa-plastic"), vpcd.Options{RetryInterval: 50 * time.Millisecond})
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- s.Serve(serveCtx, vpcd.Schedule{Away: 100 * time.Millisecond}) }()
	reader, err := pcsc.Open(d.Reader(0), pcsc.Options{})
	require.NoError(t, err)
	defer reader.Close()

	ep, err := entry.New(terminalConfig(t))
	require.NoError(t, err)
	txn := kernel.Transaction{Amount: 150000, Type: kernel.Purchase}
	require.NoError(t, reader.WaitForCard(ctx))
	out, err := ep.Start(ctx, reader, txn)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type)

	d.Kill()
	_, err = ep.Start(ctx, reader, txn)
	t.Logf("tap with the service gone: %v", err)
	require.ErrorIs(t, err, pcsc.ErrNoService)
	require.NotErrorIs(t, err, kernel.ErrCardRemoved)
	require.ErrorIs(t, reader.WaitForCard(ctx), pcsc.ErrNoService)
	_, err = pcsc.ListReaders()
	require.ErrorIs(t, err, pcsc.ErrNoService)
	_, err = pcsc.Open("", pcsc.Options{})
	require.ErrorIs(t, err, pcsc.ErrNoService)

	require.NoError(t, d.Restart(ctx))
	require.NoError(t, reader.WaitForCard(ctx))
	out, err = ep.Start(ctx, reader, txn)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type)
	require.GreaterOrEqual(t, s.Stats().Insertions, 2)

	stopServing()
	require.NoError(t, <-served)
	require.NoError(t, reader.WaitForRemoval(ctx))
}
