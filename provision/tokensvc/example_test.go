package tokensvc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// Suspensions stack per actor: the issuer's resume leaves the
// cardholder's suspension in place.
func ExampleTransition() {
	t := tokensvc.Token{Status: wire.StatusActive}
	t, _ = tokensvc.Transition(t, wire.ActionSuspend, wire.ActorCardholder)
	t, _ = tokensvc.Transition(t, wire.ActionSuspend, wire.ActorIssuer)
	t, _ = tokensvc.Transition(t, wire.ActionResume, wire.ActorIssuer)
	fmt.Println(t.Status, t.SuspendedBy)
	_, err := tokensvc.Transition(t, wire.ActionResume, wire.ActorIssuer)
	fmt.Println(errors.Is(err, tokensvc.ErrNotSuspendedBy))
	t, _ = tokensvc.Transition(t, wire.ActionResume, wire.ActorCardholder)
	fmt.Println(t.Status)
	// Output:
	// SUSPENDED [CARDHOLDER]
	// true
	// ACTIVE
}

// A vault makes tokens in its token BIN range, Luhn-valid, bound to a
// device.
func ExampleMemoryVault() {
	v, _ := tokensvc.NewMemoryVault(tokensvc.VaultConfig{Rand: newSeeded(1), Clock: func() time.Time { return epoch }})
	tok, _ := v.Create(context.Background(), tokensvc.NewToken{
		PAN: "4761739001010010", Expiry: "2812", TokenRequestorID: "50110030273",
		WalletAccountID: "acct-1", DeviceID: "0102", Status: wire.StatusInactive,
	})
	fmt.Println(tok.TokenPAN[:6], len(tok.TokenPAN), pan.LuhnValid(tok.TokenPAN), tok.TokenExpiry, tok.Status)
	list, _ := v.ByDevice(context.Background(), "0102")
	fmt.Println(len(list), tok.Info().AccountPanSuffix)
	// Output:
	// 489537 16 true 2912 INACTIVE
	// 1 0010
}
