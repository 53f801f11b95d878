package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ChangedMessages returns the listed messages of a thread between from and upTo (message
// cursors, both included; thread order) that changed after since: the message itself was
// written again (a delivery status, an edit, a delete, content that arrived), a reaction to
// it was stored, or its media download moved on. A live view re-renders them in place. At
// most limit, oldest first.
func (db *DB) ChangedMessages(ctx context.Context, threadID uint64, from, upTo string, since time.Time, limit int) ([]ThreadMessage, error) {
	lo, err := decodeMessageCursor(from)
	if err != nil {
		return nil, err
	}
	hi, err := decodeMessageCursor(upTo)
	if err != nil {
		return nil, err
	}
	limit = clampLimit(limit, DefaultMessageLimit, MaxMessageLimit)
	since = since.UTC()
	const inRange = "m.thread_id = ? AND (m.ts > ? OR (m.ts = ? AND m.wamid >= ?)) AND (m.ts < ? OR (m.ts = ? AND m.wamid <= ?))"
	rangeArgs := []any{threadID, lo.TS, lo.TS, lo.WAMID, hi.TS, hi.TS, hi.WAMID}

	wamids := map[string]bool{}
	// Messages written again since (a message only inserted since is new, not changed: the
	// poll lists it as new when it is after the page).
	err = db.rawQuery(ctx, "SELECT m.wamid FROM messages m WHERE "+inRange+" AND m.updated_at > ? AND m.updated_at > m.created_at",
		append(append([]any{}, rangeArgs...), since), func(r *sql.Rows) error {
			var w string
			if err := r.Scan(&w); err != nil {
				return err
			}
			wamids[w] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("changed messages of thread %d: %w", threadID, translate(err))
	}
	// The messages that reactions stored since react to: a reaction comes after its message,
	// so also after the page's last one; only its message need be on the page.
	err = db.rawQuery(ctx, "SELECT m.wamid, m.reaction_to FROM messages m WHERE m.thread_id = ? AND m.type = '"+reactionType+
		"' AND m.updated_at > ? AND (m.ts > ? OR (m.ts = ? AND m.wamid >= ?))",
		[]any{threadID, since, lo.TS, lo.TS, lo.WAMID}, func(r *sql.Rows) error {
			var w, to string
			if err := r.Scan(&w, &to); err != nil {
				return err
			}
			wamids[w] = true // a reaction listed on its own, when it is on the page
			if to != "" {
				wamids[to] = true
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reactions of thread %d: %w", threadID, translate(err))
	}
	// Messages whose media job changed since (stored, failed, expired).
	err = db.rawQuery(ctx, "SELECT m.wamid FROM messages m JOIN media_jobs j ON j.phone_number_id = m.phone_number_id AND j.media_id = m.media_id WHERE "+
		inRange+" AND m.media_id <> '' AND j.updated_at > ? AND j.updated_at > j.created_at", append(append([]any{}, rangeArgs...), since), func(r *sql.Rows) error {
		var w string
		if err := r.Scan(&w); err != nil {
			return err
		}
		wamids[w] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changed media of thread %d: %w", threadID, translate(err))
	}
	if len(wamids) == 0 {
		return []ThreadMessage{}, nil
	}
	list := make([]string, 0, len(wamids))
	for w := range wamids {
		list = append(list, w)
	}
	var out []ThreadMessage
	for start := 0; start < len(list) && len(out) < limit; start += 500 {
		part := list[start:min(start+500, len(list))]
		var msgs []ThreadMessage
		q := db.q(ctx).Table("messages m").Select(threadMessageColumns).
			Where("thread_id = ? AND wamid IN ?", threadID, part).Where(listedMessage).
			Where("(ts > ? OR (ts = ? AND wamid >= ?)) AND (ts < ? OR (ts = ? AND wamid <= ?))", lo.TS, lo.TS, lo.WAMID, hi.TS, hi.TS, hi.WAMID)
		if err := q.Order("ts ASC, wamid ASC").Limit(limit - len(out)).Scan(&msgs).Error; err != nil {
			return nil, fmt.Errorf("read changed messages of thread %d: %w", threadID, translate(err))
		}
		out = append(out, msgs...)
	}
	slices.SortFunc(out, func(a, b ThreadMessage) int {
		if c := cmp.Compare(a.TS, b.TS); c != 0 {
			return c
		}
		return strings.Compare(a.WAMID, b.WAMID)
	})
	return out, nil
}
