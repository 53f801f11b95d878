package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

func TestSyncRunClaimIsAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.SyncRun(ctx, "100"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SyncRun of a new number: %v, want ErrNotFound", err)
		}
		from := []string{models.SyncNotRequested, models.SyncFailed}
		at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

		// Eight concurrent claims of a number without a run: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.ClaimSyncRun(ctx, "100", from, at)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent claims won, want 1", wins)
		}
		r, err := db.SyncRun(ctx, "100")
		if err != nil {
			t.Fatal(err)
		}
		if r.State != models.SyncRequested || r.RequestedAt == nil || !r.RequestedAt.Equal(at) {
			t.Fatalf("claimed run = %+v", r)
		}

		// A requested run cannot be claimed again.
		if ok, err := db.ClaimSyncRun(ctx, "100", from, at.Add(time.Minute)); err != nil || ok {
			t.Fatalf("second claim = %v, %v; want false", ok, err)
		}

		// A failed run can, once: request ids stay, the error is cleared.
		if ok, err := db.UpdateSyncRun(ctx, "100", []string{models.SyncRequested}, store.SyncRunUpdate{
			State: strp(models.SyncFailed), ContactsRequestID: strp("req-contacts"), ErrorCode: intp(2), ErrorMessage: strp("temporary"),
		}); err != nil || !ok {
			t.Fatalf("fail run = %v, %v", ok, err)
		}
		later := at.Add(time.Hour)
		wins = 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.ClaimSyncRun(ctx, "100", from, later)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent re-claims of a failed run won, want 1", wins)
		}
		r, _ = db.SyncRun(ctx, "100")
		if r.State != models.SyncRequested || r.ContactsRequestID != "req-contacts" || r.ErrorCode != 0 || r.ErrorMessage != "" || !r.RequestedAt.Equal(later) {
			t.Fatalf("re-claimed run = %+v", r)
		}
	})
}

func TestUpdateSyncRunIsConditional(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		if ok, err := db.ClaimSyncRun(ctx, "200", []string{models.SyncNotRequested}, at); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		// Any state: the request id is stored.
		if ok, err := db.UpdateSyncRun(ctx, "200", nil, store.SyncRunUpdate{HistoryRequestID: strp("req-h")}); err != nil || !ok {
			t.Fatalf("set request id = %v, %v", ok, err)
		}
		// Not from the wrong state.
		if ok, err := db.UpdateSyncRun(ctx, "200", []string{models.SyncReceiving}, store.SyncRunUpdate{State: strp(models.SyncComplete)}); err != nil || ok {
			t.Fatalf("update from a wrong state = %v, %v; want false", ok, err)
		}
		// A long message is clipped to the column without breaking a character.
		long := ""
		for len(long) < 1200 {
			long += "é"
		}
		if ok, err := db.UpdateSyncRun(ctx, "200", []string{models.SyncRequested}, store.SyncRunUpdate{ErrorCode: intp(2593107), ErrorMessage: strp(long)}); err != nil || !ok {
			t.Fatalf("mark = %v, %v", ok, err)
		}
		r, _ := db.SyncRun(ctx, "200")
		if r.State != models.SyncRequested || r.HistoryRequestID != "req-h" || r.ErrorCode != 2593107 {
			t.Fatalf("run = %+v", r)
		}
		if len(r.ErrorMessage) > 1000 || len(r.ErrorMessage) < 998 || r.ErrorMessage[len(r.ErrorMessage)-2:] != "é" {
			t.Fatalf("clipped message has %d bytes, ends %q", len(r.ErrorMessage), r.ErrorMessage[len(r.ErrorMessage)-4:])
		}
		if ok, err := db.UpdateSyncRun(ctx, "missing", nil, store.SyncRunUpdate{State: strp(models.SyncFailed)}); err != nil || ok {
			t.Fatalf("update of a missing run = %v, %v; want false", ok, err)
		}
	})
}

func TestTimeOutSyncRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		claim := func(pnid string, at time.Time) {
			t.Helper()
			if ok, err := db.ClaimSyncRun(ctx, pnid, []string{models.SyncNotRequested}, at); err != nil || !ok {
				t.Fatalf("claim %s = %v, %v", pnid, ok, err)
			}
		}
		claim("old", base)
		claim("old-receiving", base)
		claim("fresh", base.Add(25*time.Hour))
		if _, err := db.UpdateSyncRun(ctx, "old-receiving", nil, store.SyncRunUpdate{State: strp(models.SyncReceiving)}); err != nil {
			t.Fatal(err)
		}
		moved, err := db.TimeOutSyncRuns(ctx, base.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(moved) != 1 || moved[0].PhoneNumberID != "old" || moved[0].State != models.SyncRequested {
			t.Fatalf("moved = %+v, want only old (as it was)", moved)
		}
		want := map[string]string{"old": models.SyncTimedOut, "old-receiving": models.SyncReceiving, "fresh": models.SyncRequested}
		for pnid, state := range want {
			r, err := db.SyncRun(ctx, pnid)
			if err != nil || r.State != state {
				t.Fatalf("%s: state %q (%v), want %q", pnid, r.State, err, state)
			}
		}
		// Sweeping again changes nothing.
		if moved, err := db.TimeOutSyncRuns(ctx, base.Add(24*time.Hour)); err != nil || len(moved) != 0 {
			t.Fatalf("second sweep moved %d (%v)", len(moved), err)
		}
	})
}
