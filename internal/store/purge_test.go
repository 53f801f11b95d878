package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// PurgeNumber takes away everything one number holds and nothing of another's; the inbox
// rows of given bodies are found, counted and deleted by their SHA-256.
func TestPurgeNumberAndInboxRowsOfBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const keep, purge = "623400011100001", "623400011100002"
		for _, pn := range []string{keep, purge} {
			if _, err := db.ApplyMessages(ctx, pn, []coex.Message{textMsg("wamid.P1", "5511900001111", "inbound", 100),
				textMsg("wamid.P2", "5511900001111", "outbound", 110), reactionMsg("wamid.P3", "5511900001111", "inbound", "wamid.P1", "👍", 120)}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.PurgeNumber(ctx, purge)
		if err != nil || n != 3 {
			t.Fatalf("purged %d messages (%v), want 3", n, err)
		}
		for _, tt := range []struct {
			pn             string
			threads, items int64
			rows           int64
		}{{keep, 1, 2, 3}, {purge, 0, 0, 0}} {
			threads, items, err := db.CountThreadsAndMessages(ctx, tt.pn)
			rows, err2 := db.CountMessageRows(ctx, tt.pn)
			if err != nil || err2 != nil || threads != tt.threads || items != tt.items || rows != tt.rows {
				t.Errorf("%s: %d threads, %d items, %d rows (%v, %v); want %d, %d, %d", tt.pn, threads, items, rows, err, err2, tt.threads, tt.items, tt.rows)
			}
		}
		if newest, err := db.NewestActivity(ctx, keep); err != nil || newest != 120 {
			t.Errorf("newest activity %d (%v), want 120", newest, err)
		}
		if last, err := db.LatestMessageUpdate(ctx, keep); err != nil || last == "" {
			t.Errorf("latest update %q (%v)", last, err)
		}

		var sums []string
		for _, body := range []string{`{"a":1}`, `{"a":2}`} {
			if _, _, err := db.InsertInbox(ctx, "meta", []byte(body)); err != nil {
				t.Fatal(err)
			}
			s := sha256.Sum256([]byte(body))
			sums = append(sums, hex.EncodeToString(s[:]))
		}
		other := sha256.Sum256([]byte("not posted"))
		sums = append(sums, hex.EncodeToString(other[:]))
		states, err := db.InboxStatesOfBodies(ctx, sums)
		if err != nil || len(states) != 1 || states[models.InboxPending] != 2 {
			t.Fatalf("states %v (%v), want 2 pending", states, err)
		}
		if ids, err := db.InboxIDsOfBodies(ctx, sums); err != nil || len(ids) != 2 || ids[0] >= ids[1] {
			t.Fatalf("ids %v (%v)", ids, err)
		}
		if first, err := db.FirstInboxErrorOfBodies(ctx, sums); err != nil || first != "" {
			t.Fatalf("first error %q (%v), want none", first, err)
		}
		if n, err := db.DeleteInboxBodies(ctx, sums[:1]); err != nil || n != 1 {
			t.Fatalf("deleted %d (%v), want 1", n, err)
		}
		if states, _ := db.InboxStatesOfBodies(ctx, sums); states[models.InboxPending] != 1 {
			t.Fatalf("after the delete: %v", states)
		}
	})
}
