package store

import "context"

// ExecRaw runs a statement in tx, for tests of the append-only triggers.
func ExecRaw(ctx context.Context, tx *Tx, q string) error {
	_, err := tx.exec(ctx, q)
	return err
}
