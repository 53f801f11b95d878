package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// fakeClock is a settable clock for lease tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// eachWithClock runs fn per dialect on a fresh migrated database whose clock is clock.
func eachWithClock(t *testing.T, fn func(t *testing.T, db *store.DB, clock *fakeClock)) {
	t.Helper()
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			db, err := store.Open(context.Background(), storetest.URL(t, d), store.Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if _, err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			fn(t, db, clock)
		})
	}
}

func TestInsertInboxDeduplicatesBySHA256(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
		id1, dup, err := db.InsertInbox(ctx, "meta", body)
		if err != nil || dup || id1 == 0 {
			t.Fatalf("first insert = %d, %v, %v", id1, dup, err)
		}
		id2, dup, err := db.InsertInbox(ctx, "positus", body)
		if err != nil || !dup || id2 != id1 {
			t.Fatalf("duplicate insert = %d, %v, %v; want %d, true, nil", id2, dup, err, id1)
		}
		id3, dup, err := db.InsertInbox(ctx, "meta", append(body, ' '))
		if err != nil || dup || id3 == id1 {
			t.Fatalf("other body = %d, %v, %v", id3, dup, err)
		}
		counts, err := db.InboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[models.InboxPending] != 2 || len(counts) != 1 {
			t.Fatalf("counts = %v, want 2 pending", counts)
		}
		got, err := db.GetInbox(ctx, id1)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if string(got.Body) != string(body) || got.Source != "meta" || got.Size != len(body) ||
			got.BodySHA256 != hex.EncodeToString(sum[:]) || got.State != models.InboxPending {
			t.Fatalf("stored row = %+v", got)
		}
	})
}

func TestInsertInboxConcurrentDuplicatesStoreOneRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		body := []byte(`{"same":"body"}`)
		var wg sync.WaitGroup
		ids := make([]uint64, 8)
		dups := make([]bool, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Go(func() { ids[i], dups[i], errs[i] = db.InsertInbox(ctx, "meta", body) })
		}
		wg.Wait()
		fresh := 0
		for i := range 8 {
			if errs[i] != nil {
				t.Fatalf("insert %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("ids differ: %v", ids)
			}
			if !dups[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d inserts reported new, want 1", fresh)
		}
		counts, _ := db.InboxCounts(ctx)
		if counts[models.InboxPending] != 1 {
			t.Fatalf("counts = %v", counts)
		}
	})
}

func TestClaimInboxNeverHandsOutARowTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const rows = 40
		for i := range rows {
			if _, _, err := db.InsertInbox(ctx, "meta", fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[uint64]string{}
		var wg sync.WaitGroup
		for w := range 4 {
			owner := fmt.Sprintf("worker-%d", w)
			wg.Go(func() {
				for {
					items, err := db.ClaimInbox(ctx, owner, time.Minute, 3)
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if len(items) == 0 {
						return
					}
					for _, it := range items {
						mu.Lock()
						if prev, ok := seen[it.ID]; ok {
							t.Errorf("row %d claimed by %s and %s", it.ID, prev, owner)
						}
						seen[it.ID] = owner
						mu.Unlock()
						if it.LeaseOwner != owner || it.State != models.InboxProcessing || it.Attempts != 1 || len(it.Body) == 0 {
							t.Errorf("claimed row = %+v", it)
						}
						if err := db.CompleteInbox(ctx, it.ID, owner, "history", "1", ""); err != nil {
							t.Errorf("complete %d: %v", it.ID, err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(seen) != rows {
			t.Fatalf("claimed %d rows, want %d", len(seen), rows)
		}
		counts, _ := db.InboxCounts(ctx)
		if counts[models.InboxDone] != rows {
			t.Fatalf("counts = %v", counts)
		}
	})
}

func TestExpiredLeaseIsReclaimed(t *testing.T) {
	eachWithClock(t, func(t *testing.T, db *store.DB, clock *fakeClock) {
		ctx := context.Background()
		id, _, err := db.InsertInbox(ctx, "meta", []byte(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.ClaimInbox(ctx, "crashed", 2*time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("first claim = %v, %v", got, err)
		}
		// The owner "crashes": it never completes. Within the lease nobody else gets it.
		clock.Advance(time.Minute)
		if got, err := db.ClaimInbox(ctx, "other", 2*time.Minute, 10); err != nil || len(got) != 0 {
			t.Fatalf("claim within lease = %v, %v; want none", got, err)
		}
		clock.Advance(61 * time.Second)
		got, err = db.ClaimInbox(ctx, "other", 2*time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != id || got[0].Attempts != 2 {
			t.Fatalf("claim after expiry = %+v, %v", got, err)
		}
		if err := db.CompleteInbox(ctx, id, "crashed", "history", "1", ""); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("late complete by the old owner = %v, want ErrLeaseLost", err)
		}
		if err := db.FailInbox(ctx, id, "crashed", "boom"); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("late fail by the old owner = %v, want ErrLeaseLost", err)
		}
		if err := db.CompleteInbox(ctx, id, "other", "history", "623400011122233", ""); err != nil {
			t.Fatal(err)
		}
		row, _ := db.GetInbox(ctx, id)
		if row.State != models.InboxDone || row.Field != "history" || row.PhoneNumberID != "623400011122233" || row.ProcessedAt == nil {
			t.Fatalf("done row = %+v", row)
		}
	})
}

func TestRetryInboxWaitsBeforeTheNextClaim(t *testing.T) {
	eachWithClock(t, func(t *testing.T, db *store.DB, clock *fakeClock) {
		ctx := context.Background()
		id, _, _ := db.InsertInbox(ctx, "meta", []byte(`{"b":1}`))
		if got, _ := db.ClaimInbox(ctx, "w", time.Minute, 1); len(got) != 1 {
			t.Fatal("no claim")
		}
		if err := db.RetryInbox(ctx, id, "w", "database is busy", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ClaimInbox(ctx, "w", time.Minute, 1); len(got) != 0 {
			t.Fatalf("claimed before the retry time: %v", got)
		}
		clock.Advance(11 * time.Second)
		got, err := db.ClaimInbox(ctx, "w2", time.Minute, 1)
		if err != nil || len(got) != 1 || got[0].Error != "database is busy" || got[0].Attempts != 2 {
			t.Fatalf("claim after retry time = %+v, %v", got, err)
		}
	})
}

func TestFailListAndRequeue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ids []uint64
		for i := range 5 {
			id, _, err := db.InsertInbox(ctx, "meta", fmt.Appendf(nil, `{"i":%d}`, i))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		items, err := db.ClaimInbox(ctx, "w", time.Minute, 2)
		if err != nil || len(items) != 2 || items[0].ID != ids[0] || items[1].ID != ids[1] {
			t.Fatalf("claim = %v, %v", items, err)
		}
		if err := db.FailInbox(ctx, ids[0], "w", "parse: unexpected end of JSON input"); err != nil {
			t.Fatal(err)
		}
		if err := db.CompleteInbox(ctx, ids[1], "w", "history", "1", "note"); err != nil {
			t.Fatal(err)
		}
		failed, err := db.ListInbox(ctx, store.InboxFilter{State: models.InboxFailed})
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].ID != ids[0] || failed[0].Error != "parse: unexpected end of JSON input" || failed[0].Body != nil {
			t.Fatalf("failed list = %+v", failed)
		}
		done, _ := db.ListInbox(ctx, store.InboxFilter{Field: "history"})
		if len(done) != 1 || done[0].ID != ids[1] || done[0].Error != "note" {
			t.Fatalf("history list = %+v", done)
		}
		all, _ := db.ListInbox(ctx, store.InboxFilter{Limit: 2})
		if len(all) != 2 || all[0].ID != ids[4] || all[1].ID != ids[3] {
			t.Fatalf("first page = %v", inboxIDs(all))
		}
		next, _ := db.ListInbox(ctx, store.InboxFilter{Limit: 10, BeforeID: all[1].ID})
		if got := inboxIDs(next); fmt.Sprint(got) != fmt.Sprint([]uint64{ids[2], ids[1], ids[0]}) {
			t.Fatalf("second page = %v", got)
		}
		counts, _ := db.InboxCounts(ctx)
		if counts[models.InboxFailed] != 1 || counts[models.InboxDone] != 1 || counts[models.InboxPending] != 3 {
			t.Fatalf("counts = %v", counts)
		}

		if err := db.RequeueInbox(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		// Requeued again while it waits (nothing to change): found, on both databases.
		if err := db.RequeueInbox(ctx, ids[0]); err != nil {
			t.Fatalf("requeue a waiting row: %v", err)
		}
		if err := db.RequeueInbox(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requeue unknown = %v", err)
		}
		row, _ := db.GetInbox(ctx, ids[0])
		if row.State != models.InboxPending || row.Attempts != 0 {
			t.Fatalf("requeued row = %+v", row)
		}
		again, _ := db.ClaimInbox(ctx, "w", time.Minute, 10)
		if got := inboxIDs(again); len(got) != 4 || got[0] != ids[0] {
			t.Fatalf("claim after requeue = %v", got)
		}
	})
}

func inboxIDs(items []models.InboxItem) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}
