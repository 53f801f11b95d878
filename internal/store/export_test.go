package store

import "context"

// RetryForTest runs fn under the store's retry of transient errors.
func (db *DB) RetryForTest(ctx context.Context, op string, fn func() error) error {
	return db.retry.do(ctx, op, nil, fn)
}
