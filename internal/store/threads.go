package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"coexhistory/internal/search"
	"coexhistory/models"
)

// Page sizes of thread reads.
const (
	DefaultThreadLimit  = 25
	MaxThreadLimit      = 100
	DefaultMessageLimit = 50
	MaxMessageLimit     = 200
)

// ErrBadCursor is returned for a cursor this package did not make.
var ErrBadCursor = errors.New("invalid page cursor")

// threadColumns are the columns thread lists read.
var threadColumns = []string{"id", "phone_number_id", "contact_wa_id", "contact_user_id", "contact_username", "contact_name", "message_count",
	"first_message_at", "last_message_at"}

// threadMessageColumns are the columns thread pages read.
var threadMessageColumns = []string{"id", "wamid", "direction", "type", "text", "ts", "status", "origin",
	"edited", "deleted", "media_id", "mime_type", "raw", "reaction_to"}

// messageAllColumns are all columns of one message.
var messageAllColumns = []string{"id", "phone_number_id", "wamid", "thread_id", "contact_wa_id", "direction",
	"type", "text", "ts", "status", "origin", "edited", "deleted", "media_id", "mime_type", "reaction_to",
	"phase", "chunk_order", "position", "raw", "created_at", "updated_at"}

// reactionType is the message type of reactions; their reaction_to holds the target's wamid.
const reactionType = "reaction"

// listedReaction is the SQL condition on a reaction row m that its thread lists it as an
// item of its own: it is the current reaction of its side (the latest in thread order, not
// an empty emoji that removed the earlier one) to a message the archive does not hold. A
// reaction to a stored message is shown on that message instead (ReactionsFor).
const listedReaction = `(m.text <> ''
  AND NOT EXISTS (SELECT 1 FROM messages target WHERE target.phone_number_id = m.phone_number_id
    AND target.wamid = m.reaction_to AND target.type <> 'reaction')
  AND NOT EXISTS (SELECT 1 FROM messages later WHERE later.phone_number_id = m.phone_number_id
    AND later.reaction_to = m.reaction_to AND later.type = 'reaction' AND later.direction = m.direction
    AND (later.ts > m.ts OR (later.ts = m.ts AND later.wamid > m.wamid))))`

// listedMessage is the SQL condition on a message row m that its thread lists it: every
// message but reactions, and the reactions listedReaction selects. A thread's
// message_count counts exactly these rows, and its reaction_items the reactions among them
// (migration 00010 holds the same rule).
const listedMessage = `(m.type <> 'reaction' OR ` + listedReaction + `)`

// ThreadFilter selects a page of threads, most recent activity first.
type ThreadFilter struct {
	PhoneNumberID string // "" = every number
	Contact       string // see search.ParseContact: part of the phone number or of the name
	Cursor        string // ThreadPage.NextCursor of the previous page
	Limit         int    // default DefaultThreadLimit, at most MaxThreadLimit
}

// ThreadPage is a page of threads.
type ThreadPage struct {
	Threads    []models.Thread
	NextCursor string // "" on the last page
}

// ThreadMessage is a message as the thread view and the API show it.
type ThreadMessage struct {
	ID        uint64 `gorm:"column:id"`
	WAMID     string `gorm:"column:wamid"`
	Direction string `gorm:"column:direction"`
	Type      string `gorm:"column:type"`
	Text      string `gorm:"column:text"`
	TS        int64  `gorm:"column:ts"`
	Status    string `gorm:"column:status"`
	Origin    string `gorm:"column:origin"`
	Edited    bool   `gorm:"column:edited"`
	Deleted   bool   `gorm:"column:deleted"`
	MediaID   string `gorm:"column:media_id"`
	MimeType  string `gorm:"column:mime_type"`
	Raw       string `gorm:"column:raw"` // the message as received (location, contacts, …)
	// ReactionTo is the wamid a listed reaction reacts to (a message the archive lacks).
	ReactionTo string `gorm:"column:reaction_to"`
}

// MessagePage selects a page of one thread's messages. Set at most one of After, Before,
// Around and Latest; with none, the page starts at the thread's first message.
type MessagePage struct {
	After  string // MessageList.NextCursor: the messages after it (newer)
	Before string // MessageList.PrevCursor: the messages before it (older)
	Around string // a wamid of the thread: a page with that message in the middle
	Latest bool   // the newest messages (the thread view opens here)
	Limit  int    // default DefaultMessageLimit, at most MaxMessageLimit
}

// MessageList is a page of a thread in thread order (timestamp, then wamid), oldest first.
// Reactions to stored messages are not listed: ReactionsFor attaches them to their
// messages. A current reaction to a message the archive lacks is listed as an item of its
// own (type reaction, ReactionTo set), so the list holds message_count items.
type MessageList struct {
	Messages   []ThreadMessage
	PrevCursor string // older messages exist: pass as Before; "" at the start
	NextCursor string // newer messages exist: pass as After; "" at the end
}

// Reaction is the current reaction of one side of a thread to a message.
type Reaction struct {
	WAMID      string
	ReactionTo string
	Emoji      string
	Direction  string
	TS         int64
}

// listedThread selects the threads staff see: a thread is created just before its first
// messages are stored (see threadsFor), and holds none until they are.
const listedThread = "message_count > 0"

// ListThreads returns a page of threads by last activity, newest first (ties by id).
func (db *DB) ListThreads(ctx context.Context, f ThreadFilter) (ThreadPage, error) {
	limit := clampLimit(f.Limit, DefaultThreadLimit, MaxThreadLimit)
	q := db.q(ctx).Model(&models.Thread{}).Select(threadColumns).Where(listedThread)
	if f.PhoneNumberID != "" {
		q = q.Where("phone_number_id = ?", f.PhoneNumberID)
	}
	if c := search.ParseContact(f.Contact); !c.Empty() {
		cond, args := c.Where(db.dialect, "")
		q = q.Where(cond, args...)
	}
	if f.Cursor != "" {
		last, id, err := decodeThreadCursor(f.Cursor)
		if err != nil {
			return ThreadPage{}, err
		}
		q = q.Where("(last_message_at < ? OR (last_message_at = ? AND id < ?))", last, last, id)
	}
	var threads []models.Thread
	if err := q.Order("last_message_at DESC, id DESC").Limit(limit + 1).Find(&threads).Error; err != nil {
		return ThreadPage{}, fmt.Errorf("list threads: %w", translate(err))
	}
	page := ThreadPage{Threads: threads}
	if len(threads) > limit {
		page.Threads = threads[:limit]
		last := page.Threads[limit-1]
		page.NextCursor = encodeCursor(strconv.FormatInt(last.LastMessageAt, 10) + "." + strconv.FormatUint(last.ID, 10))
	}
	if page.Threads == nil {
		page.Threads = []models.Thread{}
	}
	return page, nil
}

// GetThread returns one thread, or ErrNotFound.
func (db *DB) GetThread(ctx context.Context, id uint64) (models.Thread, error) {
	var t models.Thread
	err := db.q(ctx).Select(threadColumns).Where("id = ?", id).Take(&t).Error
	if err != nil {
		return t, fmt.Errorf("get thread %d: %w", id, translate(err))
	}
	return t, nil
}

// ThreadMessages returns a page of a thread in thread order (ts, wamid), which is stable for
// messages with equal timestamps. An Around wamid that is not in the thread is ErrNotFound.
func (db *DB) ThreadMessages(ctx context.Context, threadID uint64, p MessagePage) (MessageList, error) {
	limit := clampLimit(p.Limit, DefaultMessageLimit, MaxMessageLimit)
	var list MessageList
	switch {
	case p.Around != "":
		target, err := db.threadMessagePosition(ctx, threadID, p.Around)
		if err != nil {
			return list, err
		}
		older, moreOlder, err := db.threadSlice(ctx, threadID, &target, false, false, limit/2)
		if err != nil {
			return list, err
		}
		newer, moreNewer, err := db.threadSlice(ctx, threadID, &target, true, true, limit-len(older))
		if err != nil {
			return list, err
		}
		list.Messages = append(older, newer...)
		list.PrevCursor = cursorIf(moreOlder, list.Messages, true)
		list.NextCursor = cursorIf(moreNewer, list.Messages, false)
	case p.After != "":
		after, err := decodeMessageCursor(p.After)
		if err != nil {
			return list, err
		}
		msgs, more, err := db.threadSlice(ctx, threadID, &after, true, false, limit)
		if err != nil {
			return list, err
		}
		list.Messages = msgs
		list.PrevCursor = cursorIf(len(msgs) > 0, msgs, true)
		list.NextCursor = cursorIf(more, msgs, false)
	case p.Before != "":
		before, err := decodeMessageCursor(p.Before)
		if err != nil {
			return list, err
		}
		msgs, more, err := db.threadSlice(ctx, threadID, &before, false, false, limit)
		if err != nil {
			return list, err
		}
		list.Messages = msgs
		list.PrevCursor = cursorIf(more, msgs, true)
		list.NextCursor = cursorIf(len(msgs) > 0, msgs, false)
	case p.Latest:
		msgs, more, err := db.threadSlice(ctx, threadID, nil, false, false, limit)
		if err != nil {
			return list, err
		}
		list.Messages = msgs
		list.PrevCursor = cursorIf(more, msgs, true)
	default:
		msgs, more, err := db.threadSlice(ctx, threadID, nil, true, false, limit)
		if err != nil {
			return list, err
		}
		list.Messages = msgs
		list.NextCursor = cursorIf(more, msgs, false)
	}
	if list.Messages == nil {
		list.Messages = []ThreadMessage{}
	}
	return list, nil
}

// messagePosition is a place in thread order.
type messagePosition struct {
	TS    int64
	WAMID string
}

// threadSlice reads up to limit messages of a thread on one side of from (nil: from the
// start when forward, from the end when backward), returned in thread order, and whether
// more exist beyond them. inclusive keeps the message at from itself (forward only).
func (db *DB) threadSlice(ctx context.Context, threadID uint64, from *messagePosition, forward, inclusive bool, limit int) ([]ThreadMessage, bool, error) {
	if limit <= 0 {
		return nil, true, nil
	}
	q := db.q(ctx).Table("messages m").Select(threadMessageColumns).
		Where("thread_id = ?", threadID).Where(listedMessage)
	order := "ts ASC, wamid ASC"
	if !forward {
		order = "ts DESC, wamid DESC"
	}
	if from != nil {
		switch {
		case forward && inclusive:
			q = q.Where("(ts > ? OR (ts = ? AND wamid >= ?))", from.TS, from.TS, from.WAMID)
		case forward:
			q = q.Where("(ts > ? OR (ts = ? AND wamid > ?))", from.TS, from.TS, from.WAMID)
		default:
			q = q.Where("(ts < ? OR (ts = ? AND wamid < ?))", from.TS, from.TS, from.WAMID)
		}
	}
	var msgs []ThreadMessage
	if err := q.Order(order).Limit(limit + 1).Scan(&msgs).Error; err != nil {
		return nil, false, fmt.Errorf("read thread %d: %w", threadID, translate(err))
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	if !forward {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

// threadMessagePosition finds a wamid's place in a thread.
func (db *DB) threadMessagePosition(ctx context.Context, threadID uint64, wamid string) (messagePosition, error) {
	t, err := db.GetThread(ctx, threadID)
	if err != nil {
		return messagePosition{}, err
	}
	var pos struct {
		TS       int64  `gorm:"column:ts"`
		WAMID    string `gorm:"column:wamid"`
		ThreadID uint64 `gorm:"column:thread_id"`
	}
	err = db.q(ctx).Table("messages").Select("ts", "wamid", "thread_id").
		Where("phone_number_id = ? AND wamid = ?", t.PhoneNumberID, wamid).Take(&pos).Error
	if err != nil {
		return messagePosition{}, fmt.Errorf("find message %q: %w", wamid, translate(err))
	}
	if pos.ThreadID != threadID {
		return messagePosition{}, fmt.Errorf("find message %q in thread %d: %w", wamid, threadID, ErrNotFound)
	}
	return messagePosition{TS: pos.TS, WAMID: pos.WAMID}, nil
}

// MessageByWAMID returns one message of a number, or ErrNotFound.
func (db *DB) MessageByWAMID(ctx context.Context, phoneNumberID, wamid string) (models.Message, error) {
	var m models.Message
	err := db.q(ctx).Select(messageAllColumns).Where("phone_number_id = ? AND wamid = ?", phoneNumberID, wamid).Take(&m).Error
	if err != nil {
		return m, fmt.Errorf("message %q: %w", wamid, translate(err))
	}
	return m, nil
}

// ReactionsFor returns the current reactions to the given messages of a number, keyed by the
// target's wamid. Each side of the thread (inbound, outbound) has at most one current
// reaction per message: its latest one; a latest reaction with an empty emoji removed the
// earlier one and is not returned.
func (db *DB) ReactionsFor(ctx context.Context, phoneNumberID string, wamids []string) (map[string][]Reaction, error) {
	out := map[string][]Reaction{}
	const batch = 500
	for start := 0; start < len(wamids); start += batch {
		chunk := wamids[start:min(start+batch, len(wamids))]
		var rows []struct {
			WAMID      string `gorm:"column:wamid"`
			ReactionTo string `gorm:"column:reaction_to"`
			Text       string `gorm:"column:text"`
			Direction  string `gorm:"column:direction"`
			TS         int64  `gorm:"column:ts"`
		}
		err := db.q(ctx).Table("messages").Select("wamid", "reaction_to", "text", "direction", "ts").
			Where("phone_number_id = ? AND reaction_to IN ? AND type = ?", phoneNumberID, chunk, reactionType).
			Order("ts ASC, wamid ASC").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("read reactions: %w", translate(err))
		}
		// Rows come in thread order, so the last one per (target, side) is the current one.
		current := map[[2]string]Reaction{}
		var keys [][2]string
		for _, r := range rows {
			k := [2]string{r.ReactionTo, r.Direction}
			if _, ok := current[k]; !ok {
				keys = append(keys, k)
			}
			current[k] = Reaction{WAMID: r.WAMID, ReactionTo: r.ReactionTo, Emoji: r.Text, Direction: r.Direction, TS: r.TS}
		}
		for _, k := range keys {
			if r := current[k]; r.Emoji != "" {
				out[k[0]] = append(out[k[0]], r)
			}
		}
	}
	return out, nil
}

// CountThreadsAndMessages counts the threads of a number ("" = all numbers) and the messages
// they hold (the sum of threads.message_count, which ingest keeps).
func (db *DB) CountThreadsAndMessages(ctx context.Context, phoneNumberID string) (threads, messages int64, err error) {
	var row struct {
		Threads  int64 `gorm:"column:threads"`
		Messages int64 `gorm:"column:messages"`
	}
	q := db.q(ctx).Table("threads").Select("COUNT(*) AS threads, COALESCE(SUM(message_count), 0) AS messages").Where(listedThread)
	if phoneNumberID != "" {
		q = q.Where("phone_number_id = ?", phoneNumberID)
	}
	if err := q.Scan(&row).Error; err != nil {
		return 0, 0, fmt.Errorf("count threads: %w", translate(err))
	}
	return row.Threads, row.Messages, nil
}

func clampLimit(n, def, maxN int) int {
	if n <= 0 {
		return def
	}
	return min(n, maxN)
}

func cursorIf(ok bool, msgs []ThreadMessage, first bool) string {
	if !ok || len(msgs) == 0 {
		return ""
	}
	m := msgs[len(msgs)-1]
	if first {
		m = msgs[0]
	}
	return encodeCursor(strconv.FormatInt(m.TS, 10) + "." + m.WAMID)
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", ErrBadCursor
	}
	return string(b), nil
}

func decodeThreadCursor(c string) (lastMessageAt int64, id uint64, err error) {
	s, err := decodeCursor(c)
	if err != nil {
		return 0, 0, err
	}
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, ErrBadCursor
	}
	if lastMessageAt, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, ErrBadCursor
	}
	if id, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, ErrBadCursor
	}
	return lastMessageAt, id, nil
}

func decodeMessageCursor(c string) (messagePosition, error) {
	s, err := decodeCursor(c)
	if err != nil {
		return messagePosition{}, err
	}
	a, wamid, ok := strings.Cut(s, ".")
	if !ok || wamid == "" {
		return messagePosition{}, ErrBadCursor
	}
	ts, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return messagePosition{}, ErrBadCursor
	}
	return messagePosition{TS: ts, WAMID: wamid}, nil
}
