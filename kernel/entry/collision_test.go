package entry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// Two cards in the field (Book B 3.2.1.3): "Please Present One Card Only"
// with the status Processing Error, then, with one card presented again,
// "Present Card" and the transaction goes on.
func TestCollision(t *testing.T) {
	var uis []kernel.UIRequest
	cfg := baseConfig(t)
	cfg.UI = func(u kernel.UIRequest) { uis = append(uis, u) }
	e, err := entry.New(cfg)
	require.NoError(t, err)
	two := kernel.ReaderFunc(func(context.Context, []byte) ([]byte, error) {
		return nil, fmt.Errorf("reader: %w", kernel.ErrCollision)
	})
	out, err := e.Start(context.Background(), two, kernel.Transaction{Amount: 500})
	require.NoError(t, err)
	require.Equal(t, kernel.TryAgain, out.Type)
	require.Equal(t, kernel.StartB, out.Start)
	require.Equal(t, kernel.UIRequest{Message: kernel.MsgPresentOneCard, Status: kernel.StatusProcessingError}, *out.UIOnOutcome)
	require.Equal(t, []kernel.UIRequest{
		{Message: kernel.MsgPresentCard, Status: kernel.StatusReadyToRead},
		{Message: kernel.MsgPresentOneCard, Status: kernel.StatusProcessingError},
	}, uis)

	uis = nil
	out, err = e.Restart(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{visa(t)}})
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, out.Type, out.String())
	require.Equal(t, kernel.UIRequest{Message: kernel.MsgPresentCard, Status: kernel.StatusReadyToRead}, uis[0])
}
