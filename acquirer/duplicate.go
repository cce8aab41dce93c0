package acquirer

import (
	"context"
	"errors"
	"time"

	"github.com/tapsim/tapsim/acquirer/dedup"
	"github.com/tapsim/tapsim/acquirer/store"
)

// duplicate reports whether the message of key was seen within the
// duplicate window, and records it as seen when not (R-G4). The detector
// answers from memory; when it cannot tell (it dropped older keys for
// room, or the host restarted within the window) the journal, which keeps
// every message recorded before it was forwarded, decides from the last
// sighting of the key that was not itself refused as a duplicate (the one
// its window runs from). When the
// journal cannot be read the key is forgotten and err returned: the
// caller refuses the message, and a retry is checked afresh.
func (s *Server) duplicate(ctx context.Context, key dedup.Key, now time.Time) (bool, error) {
	switch s.dedup.See(key, now) {
	case dedup.Duplicate:
		return true, nil
	case dedup.Fresh:
		return false, nil
	}
	e, err := s.store.Sighting(ctx, key.Class, key.TID, key.STAN, key.DE7)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		s.dedup.Forget(key)
		return false, err
	}
	if now.Sub(e.At) < s.dedup.Window() {
		s.dedup.Remember(key, e.At)
		return true, nil
	}
	return false, nil
}
