package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Reactions during ingest: which of them are items of their thread's list (see
// listedMessage), kept in message_count as reactions and their messages arrive, in any
// order, without recounting the threads.
//
// Each side (direction) of a thread has at most one current reaction per message: the
// latest in thread order. It is a listed item when the archive does not hold the message it
// reacts to and its emoji is not empty (an empty one removed the reaction). A transaction
// that stores reactions, or messages that reactions wait for, compares that before and after
// its own rows for every (message, side) they touch, and adds the difference to the threads.

// reactionKey is one side's reactions to one message.
type reactionKey struct {
	target, direction string
}

// storedReaction is a reaction row as the bookkeeping reads it.
type storedReaction struct {
	wamid    string
	threadID uint64
	text     string
	ts       int64
}

// later reports whether r comes after o in thread order (timestamp, then wamid).
func (r storedReaction) later(o storedReaction) bool {
	return r.ts > o.ts || (r.ts == o.ts && r.wamid > o.wamid)
}

// reactionItemDeltas returns what the reactions and messages this transaction inserted
// change in the listed items of each thread (by thread id). Call it with the threads
// locked: what another transaction committed before is then read here, and what it commits
// later reads this transaction's rows.
func (db *DB) reactionItemDeltas(ctx context.Context, pnid string, reactions []*msgRow, messages []string) (map[uint64]int, error) {
	mine := make(map[string]bool, len(reactions)+len(messages))
	targets := make([]string, 0, len(reactions)+len(messages))
	seen := map[string]bool{}
	for _, r := range reactions {
		mine[r.WAMID] = true
		if r.ReactionTo != "" && !seen[r.ReactionTo] {
			seen[r.ReactionTo] = true
			targets = append(targets, r.ReactionTo)
		}
	}
	insertedNow := make(map[string]bool, len(messages))
	for _, w := range messages {
		insertedNow[w] = true
		if !seen[w] {
			seen[w] = true
			targets = append(targets, w)
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	slices.Sort(targets)

	byKey := map[reactionKey][]storedReaction{}
	batch := db.keysPerStatement()
	for start := 0; start < len(targets); start += batch {
		part := targets[start:min(start+batch, len(targets))]
		q := "SELECT wamid, reaction_to, direction, thread_id, text, ts FROM messages WHERE phone_number_id = ? AND reaction_to IN (" +
			sqlPlaceholders(len(part)) + ") AND type = '" + reactionType + "'"
		err := db.rawQuery(ctx, q, append([]any{pnid}, sqlStringArgs(part)...), func(r *sql.Rows) error {
			var s storedReaction
			var k reactionKey
			if err := r.Scan(&s.wamid, &k.target, &k.direction, &s.threadID, &s.text, &s.ts); err != nil {
				return err
			}
			byKey[k] = append(byKey[k], s)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read reactions: %w", err)
		}
	}
	// The archive holds a reacted message when this transaction inserted it or it is stored.
	present := map[string]bool{}
	asked := map[string]bool{}
	var unknown []string
	for k := range byKey {
		switch {
		case insertedNow[k.target]:
			present[k.target] = true
		case !asked[k.target]:
			asked[k.target] = true
			unknown = append(unknown, k.target)
		}
	}
	for start := 0; start < len(unknown); start += batch {
		part := unknown[start:min(start+batch, len(unknown))]
		q := "SELECT wamid FROM messages WHERE phone_number_id = ? AND wamid IN (" + sqlPlaceholders(len(part)) + ") AND type <> '" + reactionType + "'"
		err := db.rawQuery(ctx, q, append([]any{pnid}, sqlStringArgs(part)...), func(r *sql.Rows) error {
			var w string
			if err := r.Scan(&w); err != nil {
				return err
			}
			present[w] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read reacted messages: %w", err)
		}
	}

	deltas := map[uint64]int{}
	for k, rows := range byKey {
		var before, after *storedReaction
		for i := range rows {
			r := &rows[i]
			if after == nil || r.later(*after) {
				after = r
			}
			if !mine[r.wamid] && (before == nil || r.later(*before)) {
				before = r
			}
		}
		presentBefore := present[k.target] && !insertedNow[k.target]
		if before != nil && before.text != "" && !presentBefore {
			deltas[before.threadID]--
		}
		if after.text != "" && !present[k.target] {
			deltas[after.threadID]++
		}
	}
	for id, d := range deltas {
		if d == 0 || id == 0 {
			delete(deltas, id)
		}
	}
	return deltas, nil
}

// hasReactionItems reports whether any thread of the number lists reactions of its own,
// looking first at the threads just locked (their reaction_items, read under the lock).
func (db *DB) hasReactionItems(ctx context.Context, pnid string, locked map[uint64]lockedThread) (bool, error) {
	for _, t := range locked {
		if t.reactionItems > 0 {
			return true, nil
		}
	}
	var one int
	err := db.rawQuery(ctx, "SELECT 1 FROM threads WHERE phone_number_id = ? AND reaction_items > 0 LIMIT 1", []any{pnid},
		func(r *sql.Rows) error { return r.Scan(&one) })
	if err != nil {
		return false, fmt.Errorf("threads with reactions: %w", err)
	}
	return one == 1, nil
}

// addThreadItems adds reactions listed on their own (negative: removes them) to threads'
// message_count and reaction_items.
func (db *DB) addThreadItems(ctx context.Context, deltas map[uint64]int) error {
	if len(deltas) == 0 {
		return nil
	}
	ids := make([]uint64, 0, len(deltas))
	for id := range deltas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	batch := db.keysPerStatement() / 5
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		var b strings.Builder
		args := make([]any, 0, 5*len(part))
		var cases strings.Builder
		cases.WriteString("CASE id")
		for _, id := range part {
			cases.WriteString(" WHEN ? THEN ?")
			args = append(args, id, deltas[id])
		}
		cases.WriteString(" ELSE 0 END")
		args = append(args, args...)
		b.WriteString("UPDATE threads SET message_count = message_count + " + cases.String() + ", reaction_items = reaction_items + " + cases.String() +
			" WHERE id IN (" + sqlPlaceholders(len(part)) + ")")
		args = append(args, sqlUint64Args(part)...)
		if _, err := db.rawExec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("count reactions: %w", err)
		}
	}
	return nil
}
