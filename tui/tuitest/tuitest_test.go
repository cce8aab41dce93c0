package tuitest_test

import (
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui"
	"github.com/tapsim/tapsim/tui/model"
	"github.com/tapsim/tapsim/tui/tuitest"
)

func backend(t *testing.T) tui.Backend {
	return tui.Backend{
		Wallet: []string{"visa-plastic"},
		LoadCard: func(name string) (cards.Card, error) {
			p, err := cards.Builtin(name)
			if err != nil {
				return nil, err
			}
			return cards.FromProfile(p, cards.Options{})
		},
		NewTerminal: func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
			c := pos.DefaultConfig()
			if cfg != nil {
				c = *cfg
			}
			link := client.New("127.0.0.1:1", client.Options{})
			t.Cleanup(func() { _ = link.Close() })
			return pos.New(c, link, o)
		},
	}
}

func TestRig(t *testing.T) {
	r := tuitest.Start(t, backend(t), tui.Options{SaveDir: t.TempDir()})
	r.Keys("150")
	r.Wait("NT$1.50", "> visa-plastic")
	var amount int64
	r.Model(func(m *model.Model) { amount = m.Amount() })
	require.Equal(t, int64(150), amount)
	r.Key(tcell.KeyBackspace2)
	r.Wait("NT$0.15")
	require.True(t, tuitest.ContainsAll(r.Screen(), "Wallet", "NT$0.15"))
	require.False(t, tuitest.ContainsAll(r.Screen(), "Wallet", "NT$1.50"))
}
