package store

import (
	"context"
	"fmt"
)

// Sign-in throttling: one row per key (a hash naming an account, an account and a client,
// or a client) with the failures counted since window_start_ms. Every instance reads and
// writes the same rows, and a restart forgets nothing.

// ThrottleCounts returns, for each key that has one, the failures of its window if that
// window started after sinceMs (older windows count as none).
func (db *DB) ThrottleCounts(ctx context.Context, keys []string, sinceMs int64) (map[string]int, error) {
	type row struct {
		ThrottleKey string
		Failures    int
	}
	var rows []row
	err := db.q(ctx).Table("login_throttle").Select("throttle_key", "failures").
		Where("throttle_key IN ? AND window_start_ms > ?", keys, sinceMs).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read sign-in throttle: %w", translate(err))
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.ThrottleKey] = r.Failures
	}
	return out, nil
}

// AddThrottleFailure counts one failure for each key: a key whose window started at or
// before sinceMs starts a new window at nowMs with one failure. The update is one atomic
// statement, so concurrent failures on several instances all count.
func (db *DB) AddThrottleFailure(ctx context.Context, keys []string, nowMs, sinceMs int64) error {
	var q string
	switch db.dialect {
	case MySQL:
		// MySQL evaluates the assignments left to right: failures is computed from the old
		// window_start_ms, then window_start_ms from its old value too.
		q = `INSERT INTO login_throttle (throttle_key, failures, window_start_ms) VALUES (?, 1, ?)
			ON DUPLICATE KEY UPDATE
			failures = CASE WHEN window_start_ms <= ? THEN 1 ELSE failures + 1 END,
			window_start_ms = CASE WHEN window_start_ms <= ? THEN ? ELSE window_start_ms END`
	default:
		q = `INSERT INTO login_throttle (throttle_key, failures, window_start_ms) VALUES (?, 1, ?)
			ON CONFLICT (throttle_key) DO UPDATE SET
			failures = CASE WHEN window_start_ms <= ? THEN 1 ELSE failures + 1 END,
			window_start_ms = CASE WHEN window_start_ms <= ? THEN ? ELSE window_start_ms END`
	}
	for _, k := range keys {
		if err := db.q(ctx).Exec(q, k, nowMs, sinceMs, sinceMs, nowMs).Error; err != nil {
			return fmt.Errorf("count sign-in failure: %w", translate(err))
		}
	}
	return nil
}

// ClearThrottle forgets the failures of keys.
func (db *DB) ClearThrottle(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := db.q(ctx).Exec("DELETE FROM login_throttle WHERE throttle_key IN ?", keys).Error; err != nil {
		return fmt.Errorf("clear sign-in throttle: %w", translate(err))
	}
	return nil
}

// DeleteStaleThrottles removes keys whose window started at or before beforeMs.
func (db *DB) DeleteStaleThrottles(ctx context.Context, beforeMs int64) (int64, error) {
	res := db.q(ctx).Exec("DELETE FROM login_throttle WHERE window_start_ms <= ?", beforeMs)
	return res.RowsAffected, translate(res.Error)
}
