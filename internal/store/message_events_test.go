package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const (
	evPNID  = "106540352242922"
	evWAMID = "wamid.HBgLNTUxMTk4NzY1MDAwMBUCABEYEjQ3OEE1QzI3RjU2QjFGM0E2NwA="
)

func apiEv(key, status string, ts int64) models.MessageEvent {
	return models.MessageEvent{PhoneNumberID: evPNID, WAMID: evWAMID, Source: store.EventSourceAPI, EventKey: key,
		DeliveryStatus: status, OccurrenceTS: ts, StatusTS: ts + 1, ApplicationID: "1029384756473829", ApplicationName: "Atende Cloud Inbox"}
}

func TestUpsertMessageEventsDeduplicatesByKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		first := []models.MessageEvent{
			apiEv("7301928374650011", "sent", 1761040234),
			apiEv("7301928374650012", "delivered", 1761040239),
			apiEv("7301928374650011", "sent", 1761040234), // repeated within one call
		}
		first[1].WebhookUpdateState = "PENDING"
		if err := db.UpsertMessageEvents(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := db.MessageEvents(ctx, evPNID, evWAMID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%d rows after first upsert, want 2", len(got))
		}
		created := got[1].CreatedAt

		// The same events again (a refetch), one with a later webhook state, plus a webhook
		// status with the same key text but another source.
		again := []models.MessageEvent{apiEv("7301928374650012", "delivered", 1761040239), apiEv("7301928374650013", "read", 1761041187)}
		again[0].WebhookUpdateState = "SUCCESS"
		hook := apiEv("7301928374650012", "delivered", 1761040239)
		hook.Source = store.EventSourceWebhook
		again = append(again, hook)
		if err := db.UpsertMessageEvents(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, err = db.MessageEvents(ctx, evPNID, evWAMID)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range got {
			keys = append(keys, e.Source+":"+e.EventKey+":"+e.DeliveryStatus)
		}
		want := "api:7301928374650011:sent api:7301928374650012:delivered webhook:7301928374650012:delivered api:7301928374650013:read"
		if strings.Join(keys, " ") != want {
			t.Fatalf("rows\n got %s\nwant %s", strings.Join(keys, " "), want)
		}
		if got[1].WebhookUpdateState != "SUCCESS" {
			t.Fatalf("repeated event kept webhook state %q, want SUCCESS", got[1].WebhookUpdateState)
		}
		if !got[1].CreatedAt.Equal(created) {
			t.Fatalf("created_at changed on update: %v → %v", created, got[1].CreatedAt)
		}
		if got[0].ApplicationName != "Atende Cloud Inbox" || got[0].StatusTS != 1761040235 {
			t.Fatalf("first row %+v", got[0])
		}
	})
}

func TestMessageEventsOrderAndIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		other := apiEv("x", "read", 5)
		other.WAMID = "wamid.other"
		evs := []models.MessageEvent{apiEv("c", "read", 300), apiEv("a", "sent", 100), apiEv("b", "delivered", 200), other,
			{PhoneNumberID: evPNID, WAMID: evWAMID, Source: store.EventSourceSnapshot, EventKey: "history", DeliveryStatus: "read"}}
		if err := db.UpsertMessageEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := db.MessageEvents(ctx, evPNID, evWAMID)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, e := range got {
			order = append(order, e.EventKey)
		}
		if strings.Join(order, ",") != "history,a,b,c" {
			t.Fatalf("order %v, want history,a,b,c (no time first, then by time)", order)
		}
		none, err := db.MessageEvents(ctx, evPNID, "wamid.unknown")
		if err != nil || len(none) != 0 {
			t.Fatalf("unknown message: %d rows, %v", len(none), err)
		}
	})
}

func TestUpsertMessageEventsBatchesAndFitsColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var evs []models.MessageEvent
		for i := range 1203 {
			evs = append(evs, apiEv(fmt.Sprintf("ev-%05d", i), "sent", int64(1000+i)))
		}
		evs[7].ErrorDescription = strings.Repeat("é", 1500)
		evs[7].WebhookURI = "https://example.com/" + strings.Repeat("x", 2000)
		if err := db.UpsertMessageEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := db.MessageEvents(ctx, evPNID, evWAMID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1203 {
			t.Fatalf("%d rows, want 1203", len(got))
		}
		if n := len([]rune(got[7].ErrorDescription)); n != 1000 {
			t.Fatalf("error description kept %d runes, want 1000", n)
		}
		if n := len(got[7].WebhookURI); n != 1000 {
			t.Fatalf("webhook uri kept %d bytes, want 1000", n)
		}
		if err := db.UpsertMessageEvents(ctx, []models.MessageEvent{{PhoneNumberID: evPNID, WAMID: evWAMID, Source: "api"}}); err == nil {
			t.Fatal("event without key accepted")
		}
	})
}

func TestMessageEventFetchBookkeeping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.MessageEventFetch(ctx, evPNID, evWAMID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before any fetch: %v, want ErrNotFound", err)
		}
		at := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
		if err := db.PutMessageEventFetch(ctx, models.MessageEventFetch{PhoneNumberID: evPNID, WAMID: evWAMID, FetchedAt: at,
			ErrorCode: 803, ErrorMessage: "Meta has no delivery history for this message."}); err != nil {
			t.Fatal(err)
		}
		f, err := db.MessageEventFetch(ctx, evPNID, evWAMID)
		if err != nil {
			t.Fatal(err)
		}
		if !f.FetchedAt.Equal(at) || f.ErrorCode != 803 || f.ErrorMessage != "Meta has no delivery history for this message." {
			t.Fatalf("fetch %+v", f)
		}
		later := at.Add(time.Minute)
		if err := db.PutMessageEventFetch(ctx, models.MessageEventFetch{PhoneNumberID: evPNID, WAMID: evWAMID, FetchedAt: later}); err != nil {
			t.Fatal(err)
		}
		f, err = db.MessageEventFetch(ctx, evPNID, evWAMID)
		if err != nil {
			t.Fatal(err)
		}
		if !f.FetchedAt.Equal(later) || f.ErrorCode != 0 || f.ErrorMessage != "" {
			t.Fatalf("replaced fetch %+v", f)
		}
	})
}

// insertMessage stores one outbound message with status.
func insertMessage(t *testing.T, db *store.DB, pnid, wamid, status string) {
	t.Helper()
	now := time.Now().UTC()
	_, err := db.SQL().ExecContext(context.Background(), `INSERT INTO messages (phone_number_id, wamid, thread_id, contact_wa_id,
		direction, type, text, ts, status, origin, edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order,
		position, raw, created_at, updated_at) VALUES (?, ?, 1, '5511987650000', 'outbound', 'text', 'hello', 1761040230, ?,
		'live', false, false, '', '', '', 0, 0, 0, '{}', ?, ?)`, pnid, wamid, status, now, now)
	if err != nil {
		t.Fatal(err)
	}
}

func TestMergeMessageStatusNeverLowers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insertMessage(t, db, evPNID, evWAMID, "sent")
		steps := []struct{ in, want string }{
			{"DELIVERED", "delivered"},
			{"read", "read"},
			{"delivered", "read"}, // late lower status
			{"sent", "read"},
			{"ACCEPTED", "read"}, // unknown to the rank: ignored
			{"failed", "error"},
			{"played", "error"}, // error is final
		}
		for _, s := range steps {
			got, err := db.MergeMessageStatus(ctx, evPNID, evWAMID, s.in)
			if err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := db.SQL().QueryRowContext(ctx, `SELECT status FROM messages WHERE wamid = ?`, evWAMID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if got != s.want || stored != s.want {
				t.Fatalf("merge %q: returned %q, stored %q, want %q", s.in, got, stored, s.want)
			}
		}
		if _, err := db.MergeMessageStatus(ctx, evPNID, "wamid.unknown", "read"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown message: %v, want ErrNotFound", err)
		}
	})
}
