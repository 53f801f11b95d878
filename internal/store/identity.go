package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"coexhistory/internal/coex"
)

// Contact identity. A contact of a business number is known by its phone number, its
// business-scoped user id (BSUID), or both (a WhatsApp username may hide the phone number).
// Each contact has one thread per number, keyed by threads.contact_wa_id: the phone number,
// or UserKeyPrefix + a digest of the BSUID while no phone number is known. contact_aliases
// maps each identifier seen ("p:" + phone, "u:" + BSUID) to that key. When a payload gives
// both identifiers, or a system message gives a changed number or user id, the identifiers
// are linked and the threads stored under either are merged into one, once: afterwards both
// identifiers resolve to the same key.

// UserKeyPrefix starts the thread key of a contact known only by its BSUID.
const UserKeyPrefix = "u:"

// IsUserKey reports whether a thread key (threads.contact_wa_id) stands for a BSUID rather
// than a phone number.
func IsUserKey(key string) bool { return strings.HasPrefix(key, UserKeyPrefix) }

// userKey is the thread key of a contact known only by its BSUID (32 characters).
func userKey(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return UserKeyPrefix + hex.EncodeToString(sum[:15])
}

// identity is what a payload says about a contact.
type identity struct {
	waid, userID, username string
}

// link is an identifier that a system message says now belongs to a contact.
type link struct {
	of    identity
	alias string // "p:" + new phone number or "u:" + new BSUID
}

// identitiesOf returns the identities of messages and the links their system messages make.
func identitiesOf(msgs []coex.Message) ([]identity, []link) {
	var ids []identity
	var links []link
	for _, m := range msgs {
		if !hasIdentity(m) {
			continue // phone only: the key is the phone number (or its alias), resolved below
		}
		id := identity{waid: m.ContactWAID, userID: m.ContactUserID, username: m.ContactUsername}
		ids = append(ids, id)
		if c := m.Content; c != nil && c.System != nil {
			if c.System.NewWAID != "" && c.System.NewWAID != m.ContactWAID {
				links = append(links, link{of: id, alias: "p:" + c.System.NewWAID})
			}
			if c.System.NewUserID != "" && c.System.NewUserID != m.ContactUserID {
				links = append(links, link{of: id, alias: "u:" + c.System.NewUserID})
			}
		}
	}
	return ids, links
}

// hasIdentity reports whether a message says more about its contact than a phone number.
func hasIdentity(m coex.Message) bool {
	return m.ContactUserID != "" || (m.Content != nil && m.Content.System != nil)
}

// resolveKeys sets each row's ContactWAID to its contact's thread key (see above), linking
// identifiers and merging threads as the messages require, in a transaction of its own.
// Rows of phone-only contacts without aliases keep their phone number.
func (db *DB) resolveKeys(ctx context.Context, pnid string, msgs []coex.Message, rows []msgRow) (threadIdentities, error) {
	ids, links := identitiesOf(msgs)
	if len(ids) == 0 {
		// Phone numbers only: they are their own keys unless the number has aliases at all.
		var one int
		err := db.rawQuery(ctx, "SELECT 1 FROM contact_aliases WHERE phone_number_id = ? LIMIT 1", []any{pnid},
			func(r *sql.Rows) error { return r.Scan(&one) })
		if err != nil {
			return nil, fmt.Errorf("contact identity: %w", err)
		}
		if one == 0 {
			return nil, nil
		}
	}
	phones := map[string]bool{}
	for _, r := range rows {
		if r.ContactWAID != "" {
			phones["p:"+r.ContactWAID] = true
		}
	}
	var keys map[identity]string
	var aliasOf map[string]string
	err := db.applyTx(ctx, func(tx *DB) error {
		var err error
		keys, aliasOf, err = tx.linkIdentities(ctx, pnid, ids, links, phones)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("contact identity: %w", err)
	}
	named := threadIdentities{}
	for id, k := range keys {
		if k != "" && id.userID != "" {
			named[k] = id
		}
	}
	byWAMID := make(map[string]identity, len(msgs))
	for _, m := range msgs {
		if hasIdentity(m) {
			byWAMID[m.WAMID] = identity{waid: m.ContactWAID, userID: m.ContactUserID, username: m.ContactUsername}
		}
	}
	for i := range rows {
		r := &rows[i]
		if id, ok := byWAMID[r.WAMID]; ok {
			if k := keys[id]; k != "" {
				r.ContactWAID = k
				continue
			}
		}
		if r.ContactWAID != "" {
			if k := aliasOf["p:"+r.ContactWAID]; k != "" {
				r.ContactWAID = k
			}
		}
	}
	return named, nil
}

// threadIdentities is the BSUID and username to keep on threads, by thread key.
type threadIdentities map[string]identity

// apply stores them on the threads (which exist by now: call it after threadsFor).
func (ti threadIdentities) apply(ctx context.Context, db *DB, pnid string) error {
	keys := make([]string, 0, len(ti))
	for k := range ti {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := db.setThreadIdentity(ctx, pnid, k, ti[k]); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) setThreadIdentity(ctx context.Context, pnid, key string, id identity) error {
	q := "UPDATE threads SET contact_user_id = ?, contact_username = CASE WHEN ? <> '' THEN ? ELSE contact_username END " +
		"WHERE phone_number_id = ? AND contact_wa_id = ? AND (contact_user_id <> ? OR (? <> '' AND contact_username <> ?))"
	username := clipMarked(validText(id.username), 128)
	if _, err := db.rawExec(ctx, q, id.userID, username, username, pnid, key, id.userID, username, username); err != nil {
		return fmt.Errorf("thread identity: %w", err)
	}
	return nil
}

// linkIdentities resolves identities to keys inside a transaction: it reads the aliases,
// records the new ones, merges threads that two linked identifiers had, and stores the
// BSUID and username on the threads. It also returns the aliases of the phone numbers asked.
func (db *DB) linkIdentities(ctx context.Context, pnid string, ids []identity, links []link, phones map[string]bool) (map[identity]string, map[string]string, error) {
	want := map[string]bool{}
	for p := range phones {
		want[p] = true
	}
	for _, id := range ids {
		if id.waid != "" {
			want["p:"+id.waid] = true
		}
		if id.userID != "" {
			want["u:"+id.userID] = true
		}
	}
	for _, l := range links {
		want[l.alias] = true
	}
	aliases, err := db.readAliases(ctx, pnid, want)
	if err != nil {
		return nil, nil, err
	}
	keys := make(map[identity]string, len(ids))
	slices.SortFunc(ids, func(a, b identity) int { return strings.Compare(a.waid+"\x00"+a.userID, b.waid+"\x00"+b.userID) })
	resolve := func(id identity) (string, error) {
		switch {
		case id.waid != "":
			key := aliases["p:"+id.waid]
			if key == "" {
				key = id.waid
			}
			if id.userID != "" {
				if old := aliases["u:"+id.userID]; old != "" && old != key {
					if err := db.mergeContact(ctx, pnid, old, key, aliases); err != nil {
						return "", err
					}
				}
				if err := db.setAlias(ctx, pnid, "u:"+id.userID, key, aliases); err != nil {
					return "", err
				}
			}
			return key, nil
		case id.userID != "":
			key := aliases["u:"+id.userID]
			if key == "" {
				// Insert only if absent: a concurrent link to a phone number wins.
				var err error
				if key, err = db.addAlias(ctx, pnid, "u:"+id.userID, userKey(id.userID), aliases); err != nil {
					return "", err
				}
			}
			return key, nil
		}
		return "", nil
	}
	for _, id := range ids {
		key, err := resolve(id)
		if err != nil {
			return nil, nil, err
		}
		keys[id] = key
	}
	for _, l := range links {
		key := keys[l.of]
		if key == "" {
			continue
		}
		if old := aliases[l.alias]; old != "" && old != key {
			if err := db.mergeContact(ctx, pnid, old, key, aliases); err != nil {
				return nil, nil, err
			}
		} else if old == "" && strings.HasPrefix(l.alias, "p:") {
			// A thread of the new number stored before the change is merged too. The alias
			// is written first: a transaction storing the new number's messages meanwhile
			// either sees it (its locked read waits for this commit, see movedContacts) or
			// committed before this transaction reads the thread below, which then moves them.
			if err := db.setAlias(ctx, pnid, l.alias, key, aliases); err != nil {
				return nil, nil, err
			}
			if err := db.mergeContact(ctx, pnid, strings.TrimPrefix(l.alias, "p:"), key, aliases); err != nil {
				return nil, nil, err
			}
		}
		if err := db.setAlias(ctx, pnid, l.alias, key, aliases); err != nil {
			return nil, nil, err
		}
	}
	// Threads remember the BSUID and username they were last seen with.
	for _, id := range ids {
		if id.userID == "" || keys[id] == "" {
			continue
		}
		if err := db.setThreadIdentity(ctx, pnid, keys[id], id); err != nil {
			return nil, nil, err
		}
	}
	return keys, aliases, nil
}

func (db *DB) readAliases(ctx context.Context, pnid string, want map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	if len(want) == 0 {
		return out, nil
	}
	list := make([]string, 0, len(want))
	for a := range want {
		list = append(list, a)
	}
	slices.Sort(list)
	batch := db.keysPerStatement()
	for start := 0; start < len(list); start += batch {
		part := list[start:min(start+batch, len(list))]
		q := "SELECT alias, contact_key FROM contact_aliases WHERE phone_number_id = ? AND alias IN (" + sqlPlaceholders(len(part)) + ")"
		if db.dialect == MySQL {
			q += " FOR UPDATE"
		}
		err := db.rawQuery(ctx, q, append([]any{pnid}, sqlStringArgs(part)...), func(r *sql.Rows) error {
			var a, k string
			if err := r.Scan(&a, &k); err != nil {
				return err
			}
			out[a] = k
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read contact aliases: %w", err)
		}
	}
	return out, nil
}

func (db *DB) setAlias(ctx context.Context, pnid, alias, key string, aliases map[string]string) error {
	if aliases[alias] == key {
		return nil
	}
	q := "INSERT INTO contact_aliases (phone_number_id, alias, contact_key) VALUES (?, ?, ?)"
	if db.dialect == MySQL {
		q += " ON DUPLICATE KEY UPDATE contact_key = VALUES(contact_key)"
	} else {
		q += " ON CONFLICT (phone_number_id, alias) DO UPDATE SET contact_key = excluded.contact_key"
	}
	if _, err := db.rawExec(ctx, q, pnid, alias, key); err != nil {
		return fmt.Errorf("set contact alias: %w", err)
	}
	aliases[alias] = key
	return nil
}

// addAlias records alias → key unless the alias exists, and returns the key it names.
func (db *DB) addAlias(ctx context.Context, pnid, alias, key string, aliases map[string]string) (string, error) {
	q := "INSERT INTO contact_aliases (phone_number_id, alias, contact_key) VALUES (?, ?, ?)"
	if db.dialect == MySQL {
		q += " ON DUPLICATE KEY UPDATE contact_key = contact_key"
	} else {
		q += " ON CONFLICT (phone_number_id, alias) DO NOTHING"
	}
	if _, err := db.rawExec(ctx, q, pnid, alias, key); err != nil {
		return "", fmt.Errorf("add contact alias: %w", err)
	}
	got, err := db.readAliases(ctx, pnid, map[string]bool{alias: true})
	if err != nil {
		return "", err
	}
	if got[alias] != "" {
		key = got[alias]
	}
	aliases[alias] = key
	return key, nil
}

// mergeContact moves what is stored under thread key from into thread key to: the thread
// is renamed when to has none, else its messages move to to's thread, which is recounted,
// and it is deleted. Every alias of from then names to.
func (db *DB) mergeContact(ctx context.Context, pnid, from, to string, aliases map[string]string) error {
	if from == to || from == "" || to == "" {
		return nil
	}
	threadOf := func(key string) (uint64, string, string, string, error) {
		var id uint64
		var name, uid, username string
		q := "SELECT id, contact_name, contact_user_id, contact_username FROM threads WHERE phone_number_id = ? AND contact_wa_id = ?"
		if db.dialect == MySQL {
			q += " FOR UPDATE"
		}
		err := db.rawQuery(ctx, q, []any{pnid, key}, func(r *sql.Rows) error { return r.Scan(&id, &name, &uid, &username) })
		return id, name, uid, username, err
	}
	fromID, fromName, fromUID, fromUsername, err := threadOf(from)
	if err != nil {
		return fmt.Errorf("merge contact: %w", err)
	}
	toID, _, _, _, err := threadOf(to)
	if err != nil {
		return fmt.Errorf("merge contact: %w", err)
	}
	switch {
	case fromID == 0:
	case toID == 0:
		if _, err := db.rawExec(ctx, "UPDATE threads SET contact_wa_id = ? WHERE id = ?", to, fromID); err != nil {
			return fmt.Errorf("merge contact: rename thread: %w", err)
		}
		if _, err := db.rawExec(ctx, "UPDATE messages SET contact_wa_id = ? WHERE thread_id = ?", to, fromID); err != nil {
			return fmt.Errorf("merge contact: rename messages: %w", err)
		}
	default:
		if _, err := db.rawExec(ctx, "UPDATE messages SET thread_id = ?, contact_wa_id = ? WHERE thread_id = ?", toID, to, fromID); err != nil {
			return fmt.Errorf("merge contact: move messages: %w", err)
		}
		q := "UPDATE threads SET contact_name = CASE WHEN contact_name = '' THEN ? ELSE contact_name END, " +
			"contact_user_id = CASE WHEN contact_user_id = '' THEN ? ELSE contact_user_id END, " +
			"contact_username = CASE WHEN contact_username = '' THEN ? ELSE contact_username END WHERE id = ?"
		if _, err := db.rawExec(ctx, q, fromName, fromUID, fromUsername, toID); err != nil {
			return fmt.Errorf("merge contact: identity: %w", err)
		}
		if _, err := db.rawExec(ctx, "DELETE FROM threads WHERE id = ?", fromID); err != nil {
			return fmt.Errorf("merge contact: drop thread: %w", err)
		}
		if err := db.recountThreads(ctx, map[uint64]bool{toID: true}); err != nil {
			return err
		}
	}
	if _, err := db.rawExec(ctx, "UPDATE contact_aliases SET contact_key = ? WHERE phone_number_id = ? AND contact_key = ?", to, pnid, from); err != nil {
		return fmt.Errorf("merge contact: aliases: %w", err)
	}
	for a, k := range aliases {
		if k == from {
			aliases[a] = to
		}
	}
	if !IsUserKey(from) {
		return db.setAlias(ctx, pnid, "p:"+from, to, aliases)
	}
	return nil
}

// keyOf returns the thread key of the row with this wamid.
func keyOf(rows []msgRow, wamid string) string {
	for i := range rows {
		if rows[i].WAMID == wamid {
			return rows[i].ContactWAID
		}
	}
	return ""
}

// movedContacts reports whether a phone number among contacts (thread keys) has been linked
// to another contact since the contacts were resolved: a changed-number message committed
// (or being committed: the read waits for it) meanwhile. The apply then starts again from
// the contacts (errThreadsMoved). Call it with the threads locked.
func (db *DB) movedContacts(ctx context.Context, pnid string, contacts []string) (bool, error) {
	want := map[string]bool{}
	for _, c := range contacts {
		if c != "" && !IsUserKey(c) {
			want["p:"+c] = true
		}
	}
	if len(want) == 0 {
		return false, nil
	}
	aliases, err := db.readAliases(ctx, pnid, want)
	if err != nil {
		return false, err
	}
	for alias, key := range aliases {
		if key != strings.TrimPrefix(alias, "p:") {
			return true, nil
		}
	}
	return false, nil
}
