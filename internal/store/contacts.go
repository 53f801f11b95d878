package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"coexhistory/internal/coex"
)

// Address-book contacts of a business number and the thread names they give.

// ApplyContacts applies address-book changes (add, edit, remove): the latest change of a
// contact (by its timestamp) wins in any order, and the threads with those contacts take
// the contact's name (full name, else first name; none once removed).
func (db *DB) ApplyContacts(ctx context.Context, phoneNumberID string, changes []coex.ContactChange) error {
	if len(changes) == 0 {
		return nil
	}
	if phoneNumberID == "" {
		return errors.New("apply contacts: no phone_number_id")
	}
	// A contact known by its BSUID is filed under its thread key (see identity.go); one that
	// gives both identifiers links them.
	var ids []identity
	for _, c := range changes {
		if c.UserID != "" {
			ids = append(ids, identity{waid: c.WAID, userID: c.UserID, username: c.Username})
		}
	}
	var keys map[identity]string
	if len(ids) > 0 {
		err := db.applyTx(ctx, func(tx *DB) error {
			var err error
			keys, _, err = tx.linkIdentities(ctx, phoneNumberID, ids, nil, nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply contacts of %s: %w", phoneNumberID, err)
		}
	}
	latest := map[string]coex.ContactChange{}
	for _, c := range changes {
		if k := keys[identity{waid: c.WAID, userID: c.UserID, username: c.Username}]; c.UserID != "" && k != "" {
			c.WAID = k
		}
		c.WAID = clip(c.WAID, 32)
		if c.WAID == "" {
			continue
		}
		if prev, ok := latest[c.WAID]; !ok || c.Timestamp >= prev.Timestamp {
			latest[c.WAID] = c
		}
	}
	waids := make([]string, 0, len(latest))
	for w := range latest {
		waids = append(waids, w)
	}
	slices.Sort(waids)
	err := db.applyTx(ctx, func(tx *DB) error {
		batch := tx.rowsPerStatement(6)
		for start := 0; start < len(waids); start += batch {
			part := waids[start:min(start+batch, len(waids))]
			if err := tx.upsertContacts(ctx, phoneNumberID, part, latest); err != nil {
				return err
			}
			if err := tx.nameThreadsFromContacts(ctx, phoneNumberID, part); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply contacts of %s: %w", phoneNumberID, err)
	}
	return nil
}

func (db *DB) upsertContacts(ctx context.Context, pnid string, waids []string, latest map[string]coex.ContactChange) error {
	var b strings.Builder
	b.WriteString("INSERT INTO contacts (phone_number_id, wa_id, full_name, first_name, removed, changed_at) VALUES ")
	args := make([]any, 0, len(waids)*6)
	for i, w := range waids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		c := latest[w]
		args = append(args, pnid, w, clipMarked(validText(c.FullName), 255), clipMarked(validText(c.FirstName), 255), c.Removed, c.Timestamp)
	}
	if db.dialect == MySQL {
		b.WriteString(` ON DUPLICATE KEY UPDATE
  full_name = IF(VALUES(changed_at) >= changed_at, VALUES(full_name), full_name),
  first_name = IF(VALUES(changed_at) >= changed_at, VALUES(first_name), first_name),
  removed = IF(VALUES(changed_at) >= changed_at, VALUES(removed), removed),
  changed_at = GREATEST(changed_at, VALUES(changed_at))`)
	} else {
		b.WriteString(` ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET
  full_name = CASE WHEN excluded.changed_at >= contacts.changed_at THEN excluded.full_name ELSE contacts.full_name END,
  first_name = CASE WHEN excluded.changed_at >= contacts.changed_at THEN excluded.first_name ELSE contacts.first_name END,
  removed = CASE WHEN excluded.changed_at >= contacts.changed_at THEN excluded.removed ELSE contacts.removed END,
  changed_at = MAX(contacts.changed_at, excluded.changed_at)`)
	}
	if _, err := db.rawExec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("upsert contacts: %w", err)
	}
	return nil
}

// nameThreadsFromContacts sets the contact_name of the number's threads with these
// contacts from the contacts table.
func (db *DB) nameThreadsFromContacts(ctx context.Context, pnid string, waids []string) error {
	q := `UPDATE threads SET contact_name = COALESCE((SELECT CASE WHEN c.removed THEN '' WHEN c.full_name <> '' THEN c.full_name ELSE c.first_name END
  FROM contacts c WHERE c.phone_number_id = threads.phone_number_id AND c.wa_id = threads.contact_wa_id), contact_name)
  WHERE phone_number_id = ? AND contact_wa_id IN (` + sqlPlaceholders(len(waids)) + ")"
	if _, err := db.rawExec(ctx, q, append([]any{pnid}, sqlStringArgs(waids)...)...); err != nil {
		return fmt.Errorf("name threads: %w", err)
	}
	return nil
}
