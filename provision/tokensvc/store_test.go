package tokensvc_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// A token service restarted on the same store serves the tokens the old
// one made: the step-up that was waiting (the OTP sent before the
// restart, submitted after it by the device), the acknowledgement, a
// repeated tokenize and life-cycle task, and the life cycle.
func TestProvisioningRestartOnTheSameStore(t *testing.T) {
	r := newRig(t)
	ph := r.newPhone("0a0b0c0d", 31)
	req := r.tokenizeRequest(ph, yellowPAN, "task-restart")
	resp, err := r.tokenize(req)
	require.NoError(t, err)
	require.Equal(t, wire.DecisionRequireAuthN, resp.Decision)
	tur := resp.TokenUniqueReference
	_, err = r.requestOTP(tur)
	require.NoError(t, err)
	otp, ok := r.issuer.LastOTP(yellowPAN)
	require.True(t, ok)
	del := wire.LifecycleRequest{TaskID: "del-other", Action: wire.ActionDelete, TokenUniqueReferences: []string{"DWSPTSnone"},
		Actor: wire.ActorCardholder, Reason: "TEST"}
	first, err := r.lifecycle(del, false)
	require.NoError(t, err)

	r.restart()

	// The device, unknown to this process, is found by its key.
	res, err := r.submitOTP(ph, tur, otp)
	require.NoError(t, err)
	require.Equal(t, wire.ResultSuccess, res.Result)
	require.Equal(t, wire.StatusActive, r.openTokenData(ph, res.TokenData).Status)
	_, err = r.ack(ph, tur, ph.deviceID)
	require.NoError(t, err)
	_, err = r.issuer.WaitNotification(context.Background(), wire.EventDownloadComplete, tur)
	require.NoError(t, err)

	// The same task answers alike; another request under its ID is refused.
	again, err := r.tokenize(req)
	require.NoError(t, err)
	require.Equal(t, tur, again.TokenUniqueReference)
	_, err = r.tokenize(r.tokenizeRequest(ph, yellowPAN, "task-restart"))
	refusedWith(t, err, http.StatusConflict, tokensvc.ReasonTaskIDReused)
	second, err := r.lifecycle(del, false)
	require.NoError(t, err)
	require.Equal(t, first, second)

	r.restart()
	lc := func(action, actor string, asIssuer bool) wire.TokenStatus {
		t.Helper()
		resp, err := r.lifecycle(wire.LifecycleRequest{TaskID: r.taskID(), Action: action, TokenUniqueReferences: []string{tur},
			Actor: actor, Reason: "TEST"}, asIssuer)
		require.NoError(t, err)
		require.Len(t, resp.Tokens, 1)
		return resp.Tokens[0]
	}
	require.Equal(t, wire.StatusSuspended, lc(wire.ActionSuspend, wire.ActorCardholder, false).Status)
	r.restart()
	require.Equal(t, wire.StatusActive, lc(wire.ActionResume, wire.ActorCardholder, false).Status)
	require.Equal(t, wire.StatusSuspended, lc(wire.ActionSuspend, wire.ActorIssuer, true).Status)
	require.Equal(t, wire.StatusDeactivated, lc(wire.ActionDelete, wire.ActorCardholder, false).Status)

	// Every notification of the issuer has its own correlation ID,
	// across the restarts.
	seen := map[string]bool{}
	for _, n := range r.issuer.Notifications() {
		require.False(t, seen[n.CorrelationID], n.CorrelationID)
		seen[n.CorrelationID] = true
	}
}

// The memory store keeps the first answer of a task and finds a device's
// keys by signing key ID.
func TestProvisioningMemoryStore(t *testing.T) {
	ctx := context.Background()
	m := tokensvc.NewMemoryStore()
	ph := newParty(t, "phone", 40)
	require.NoError(t, m.PutRecord(ctx, tokensvc.Record{TokenUniqueReference: "T1", RequestorID: requestor, Device: ph.Public()}))
	_, err := m.Record(ctx, "T2")
	require.ErrorIs(t, err, tokensvc.ErrUnknownToken)
	k, err := m.DeviceKeys(ctx, ph.Public().SignKID)
	require.NoError(t, err)
	require.Equal(t, ph.Public().SignKID, k.SignKID)
	_, err = m.DeviceKeys(ctx, "none")
	require.ErrorIs(t, err, tokensvc.ErrUnknownDevice)
	require.NoError(t, m.PutTask(ctx, "a", tokensvc.Task{Answer: []byte("1")}))
	require.NoError(t, m.PutTask(ctx, "a", tokensvc.Task{Answer: []byte("2")}))
	task, ok, err := m.Task(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte("1"), task.Answer)
	_, ok, err = m.Task(ctx, "b")
	require.NoError(t, err)
	require.False(t, ok)
}

// failingStore is a MemoryStore whose writes fail once broken.
type failingStore struct {
	*tokensvc.MemoryStore
	broken bool
}

var errBroken = errors.New("store broken")

func (f *failingStore) PutRecord(ctx context.Context, r tokensvc.Record) error {
	if f.broken {
		return errBroken
	}
	return f.MemoryStore.PutRecord(ctx, r)
}

func (f *failingStore) PutTask(ctx context.Context, key string, t tokensvc.Task) error {
	if f.broken {
		return errBroken
	}
	return f.MemoryStore.PutTask(ctx, key, t)
}

// A store that fails is refused with its own reason, not the vault's.
func TestProvisioningStoreFailed(t *testing.T) {
	r := newRig(t)
	f := &failingStore{MemoryStore: tokensvc.NewMemoryStore()}
	r.store = f
	r.restart()
	ph := r.newPhone("0a0b0c0e", 41)
	tur := r.provision(ph)
	f.broken = true
	_, err := r.tokenize(r.tokenizeRequest(ph, greenPAN, r.taskID()))
	refusedWith(t, err, http.StatusInternalServerError, tokensvc.ReasonStoreFailed)
	require.Equal(t, 2, r.vault.Len())
	toks, err := r.vault.ByDevice(context.Background(), ph.deviceID)
	require.NoError(t, err)
	require.Len(t, toks, 2)
	require.Equal(t, wire.StatusDeactivated, toks[1].Status, "the token without a record cannot pay")
	_, err = r.lifecycle(wire.LifecycleRequest{TaskID: r.taskID(), Action: wire.ActionSuspend, TokenUniqueReferences: []string{tur},
		Actor: wire.ActorCardholder, Reason: "TEST"}, false)
	refusedWith(t, err, http.StatusInternalServerError, tokensvc.ReasonStoreFailed)
}
