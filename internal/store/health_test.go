package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// inboxRow inserts a webhook inbox row in a given state, as the receiver and ingest leave it.
func inboxRow(t *testing.T, db *store.DB, n int, pnid, state, errText string, at time.Time) {
	t.Helper()
	_, err := db.SQL().ExecContext(context.Background(), `INSERT INTO webhook_inbox (body_sha256, source, body, size, received_at, state, field,
		phone_number_id, attempts, lease_owner, lease_until_ms, error) VALUES (?, 'meta', '{}', 2, ?, ?, 'messages', ?, 0, '', 0, ?)`,
		fmt.Sprintf("%064d", n), at.UTC(), state, pnid, errText)
	if err != nil {
		t.Fatal(err)
	}
}

func TestWebhookHealthByNumber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		inboxRow(t, db, 1, "pn1", "done", "", base)
		inboxRow(t, db, 2, "pn1", "failed", "unknown message type", base.Add(time.Minute))
		inboxRow(t, db, 3, "pn1", "done", "", base.Add(2*time.Minute))
		inboxRow(t, db, 4, "pn1", "pending", "", base.Add(3*time.Minute))
		inboxRow(t, db, 5, "", "pending", "", base.Add(4*time.Minute))
		inboxRow(t, db, 6, "pn2", "done", "", base.Add(5*time.Minute))
		got, err := db.WebhookHealthByNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.WebhookHealth{
			"pn1": {PhoneNumberID: "pn1", LastAt: base.Add(3 * time.Minute), Failed: 1, Backlog: 1, LastError: "unknown message type", LastErrorAt: base.Add(time.Minute)},
			"":    {PhoneNumberID: "", LastAt: base.Add(4 * time.Minute), Backlog: 1},
			"pn2": {PhoneNumberID: "pn2", LastAt: base.Add(5 * time.Minute)},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d numbers: %+v", len(got), got)
		}
		for k, w := range want {
			g := got[k]
			if !g.LastAt.Equal(w.LastAt) || !g.LastErrorAt.Equal(w.LastErrorAt) {
				t.Errorf("%q times %v %v, want %v %v", k, g.LastAt, g.LastErrorAt, w.LastAt, w.LastErrorAt)
			}
			g.LastAt, g.LastErrorAt, w.LastAt, w.LastErrorAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if g != w {
				t.Errorf("%q = %+v, want %+v", k, g, w)
			}
		}
	})
}
