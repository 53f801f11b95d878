package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/syncstate"
	"coexhistory/models"
)

// TestSyncRunSQLFollowsTheStateMachine drives every event from every state through the
// store (the webhook side's SQL, and the conditional updates the sync service makes with
// syncstate.Sources) and expects the state syncstate.Next gives.
func TestSyncRunSQLFollowsTheStateMachine(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	apply := map[syncstate.Event]func(ctx context.Context, db *store.DB, pnid string) error{
		syncstate.EventRequest: func(ctx context.Context, db *store.DB, pnid string) error {
			_, err := db.ClaimSyncRun(ctx, pnid, syncstate.Sources(syncstate.EventRequest), at.Add(time.Minute))
			return err
		},
		syncstate.EventRequestFailed: func(ctx context.Context, db *store.DB, pnid string) error {
			failed := models.SyncFailed
			_, err := db.UpdateSyncRun(ctx, pnid, syncstate.Sources(syncstate.EventRequestFailed), store.SyncRunUpdate{State: &failed})
			return err
		},
		syncstate.EventChunk: func(ctx context.Context, db *store.DB, pnid string) error {
			return applyTestChunk(ctx, db, pnid, 50)
		},
		syncstate.EventLastChunk: func(ctx context.Context, db *store.DB, pnid string) error {
			return applyTestChunk(ctx, db, pnid, 100)
		},
		syncstate.EventDeclined: func(ctx context.Context, db *store.DB, pnid string) error {
			return db.ApplyHistoryErrors(ctx, pnid, []coex.HistoryError{{Code: coex.CodeHistoryDeclined, Message: "declined"}})
		},
		syncstate.EventHistoryError: func(ctx context.Context, db *store.DB, pnid string) error {
			return db.ApplyHistoryErrors(ctx, pnid, []coex.HistoryError{{Code: 131000, Title: "Something went wrong"}})
		},
		syncstate.EventTimeout: func(ctx context.Context, db *store.DB, pnid string) error {
			_, err := db.TimeOutSyncRuns(ctx, at.Add(time.Hour))
			return err
		},
	}
	if len(apply) != len(syncstate.Events) {
		t.Fatalf("the test drives %d events, the machine has %d", len(apply), len(syncstate.Events))
	}
	// "" is a number without a sync run; not_requested also as a stored row.
	froms := append([]string{""}, syncstate.States...)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := 0
		for _, from := range froms {
			for _, ev := range syncstate.Events {
				n++
				pnid := fmt.Sprintf("9100%04d", n)
				name := from
				if name == "" {
					name = "no run"
				}
				t.Run(name+"/"+string(ev), func(t *testing.T) {
					if from != "" {
						if _, err := db.ClaimSyncRun(ctx, pnid, syncstate.Sources(syncstate.EventRequest), at); err != nil {
							t.Fatal(err)
						}
						state := from
						if _, err := db.UpdateSyncRun(ctx, pnid, nil, store.SyncRunUpdate{State: &state}); err != nil {
							t.Fatal(err)
						}
					}
					if err := apply[ev](ctx, db, pnid); err != nil {
						t.Fatal(err)
					}
					got := models.SyncNotRequested
					run, err := db.SyncRun(ctx, pnid)
					switch {
					case err == nil:
						got = run.State
					case !errors.Is(err, store.ErrNotFound):
						t.Fatal(err)
					}
					want, _ := syncstate.Next(from, ev)
					if got != want {
						t.Errorf("%s after %s: store has %s, syncstate.Next %s", name, ev, got, want)
					}
				})
			}
		}
	})
}

func applyTestChunk(ctx context.Context, db *store.DB, pnid string, progress int) error {
	m := coex.Message{WAMID: "wamid." + pnid, ContactWAID: "5511900000000", Direction: coex.DirectionInbound,
		Type: "text", Text: "hi", Timestamp: 1700000000, Origin: coex.OriginHistory}
	_, err := db.ApplyChunk(ctx, store.ChunkInput{PhoneNumberID: pnid,
		Chunk: coex.Chunk{Phase: 1, ChunkOrder: 1, Progress: progress, ThreadCount: 1, Messages: []coex.Message{m}}})
	return err
}
