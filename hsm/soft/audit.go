package soft

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tapsim/tapsim/hsm"
)

// keyAttr describes a key for the audit log: label, usage and KCV.
func keyAttr(name string, h hsm.Handle) slog.Attr {
	if h.IsZero() {
		return slog.Attr{}
	}
	return slog.Any(name, h)
}

// entryAttr is keyAttr for an entry that may be nil.
func entryAttr(name string, e *entry) slog.Attr {
	if e == nil {
		return slog.Attr{}
	}
	return keyAttr(name, e.h)
}

// newKeyAttrs describes a key being created: its handle once made, else
// the label and usage asked for.
func newKeyAttrs(label string, usage hsm.Usage, h hsm.Handle) []slog.Attr {
	if !h.IsZero() {
		return []slog.Attr{keyAttr("key", h)}
	}
	return []slog.Attr{slog.String("label", label), slog.String("usage", string(usage))}
}

// result names the outcome of an operation for the audit log.
func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, hsm.ErrVerify), errors.Is(err, hsm.ErrPIN), errors.Is(err, hsm.ErrMAC):
		return "mismatch"
	}
	return "refused"
}

// audit writes one operation to the audit log: Info when it succeeded,
// Warn otherwise. attrs never hold key material, PINs, PIN blocks,
// cryptograms or PANs; errors of this module carry none either.
func (s *HSM) audit(op string, err error, attrs ...slog.Attr) {
	s.logOp(slog.LevelInfo, op, err, attrs)
}

// debug is audit at Debug level, for look-ups that change nothing.
func (s *HSM) debug(op string, err error, attrs ...slog.Attr) {
	s.logOp(slog.LevelDebug, op, err, attrs)
}

// auditing reports whether audit writes an operation that ended with
// err, so that a hot operation describes its keys only for a log that
// takes them.
func (s *HSM) auditing(err error) bool {
	return s.log.Enabled(context.Background(), opLevel(slog.LevelInfo, err))
}

// opLevel is the level of an operation's record: level, or Warn when it
// failed.
func opLevel(level slog.Level, err error) slog.Level {
	if err != nil && level < slog.LevelWarn {
		return slog.LevelWarn
	}
	return level
}

func (s *HSM) logOp(level slog.Level, op string, err error, attrs []slog.Attr) {
	level = opLevel(level, err)
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	all := make([]slog.Attr, 0, len(attrs)+3)
	all = append(all, slog.String("op", op), slog.String("result", result(err)))
	for _, a := range attrs {
		if !a.Equal(slog.Attr{}) {
			all = append(all, a)
		}
	}
	if err != nil {
		all = append(all, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, level, "hsm", all...)
}
