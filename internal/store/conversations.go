package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// LastMessage is the newest message of a thread, as the conversations list previews it.
type LastMessage struct {
	ThreadID  uint64 `gorm:"column:thread_id"`
	Direction string `gorm:"column:direction"`
	Type      string `gorm:"column:type"`
	Text      string `gorm:"column:text"`
	TS        int64  `gorm:"column:ts"`
	Deleted   bool   `gorm:"column:deleted"`
	MimeType  string `gorm:"column:mime_type"`
}

// previewTextBytes is how much of a message's text a preview reads.
const previewTextBytes = 400

// LastMessages returns the newest message of each thread (in thread order: timestamp, then
// wamid), keyed by thread id. Each thread costs one step down ix_messages_thread_order,
// however long it is.
func (db *DB) LastMessages(ctx context.Context, threadIDs []uint64) (map[uint64]LastMessage, error) {
	out := make(map[uint64]LastMessage, len(threadIDs))
	const perStatement = 50
	for start := 0; start < len(threadIDs); start += perStatement {
		part := threadIDs[start:min(start+perStatement, len(threadIDs))]
		parts := make([]string, len(part))
		args := make([]any, len(part))
		for i, id := range part {
			parts[i] = `SELECT * FROM (SELECT thread_id, direction, type, SUBSTR(text, 1, ` + fmt.Sprint(previewTextBytes) + `) AS text, ts, deleted, mime_type
				FROM messages WHERE thread_id = ? ORDER BY ts DESC, wamid DESC LIMIT 1) AS m` + fmt.Sprint(i)
			args[i] = id
		}
		var rows []LastMessage
		if err := db.q(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("last messages: %w", translate(err))
		}
		for _, r := range rows {
			out[r.ThreadID] = r
		}
	}
	return out, nil
}

// MessageCursor is the cursor of a thread's message at (ts, wamid): ThreadMessages with
// After set to it lists the messages after that one. Live views poll with it.
func MessageCursor(ts int64, wamid string) string {
	return encodeCursor(strconv.FormatInt(ts, 10) + "." + wamid)
}

// FirstMessageFrom returns the wamid of a thread's first message at or after ts (unix
// seconds), else its last message before ts; ErrNotFound when the thread has none. It is
// one step down ix_messages_thread_order, so a jump to a date costs one more query, not a
// walk through the thread.
func (db *DB) FirstMessageFrom(ctx context.Context, threadID uint64, ts int64) (string, error) {
	var wamids []string
	err := db.q(ctx).Table("messages m").Select("wamid").Where("thread_id = ? AND ts >= ?", threadID, ts).Where(listedMessage).
		Order("ts, wamid").Limit(1).Pluck("wamid", &wamids).Error
	if err == nil && len(wamids) == 0 {
		err = db.q(ctx).Table("messages m").Select("wamid").Where("thread_id = ? AND ts < ?", threadID, ts).Where(listedMessage).
			Order("ts DESC, wamid DESC").Limit(1).Pluck("wamid", &wamids).Error
	}
	if err != nil {
		return "", fmt.Errorf("message from a date: %w", translate(err))
	}
	if len(wamids) == 0 {
		return "", ErrNotFound
	}
	return wamids[0], nil
}
