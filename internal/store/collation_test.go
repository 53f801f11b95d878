package store_test

import (
	"context"
	"testing"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// wamids are base64, so two that differ only in case are two messages on every database.
func TestMessageIDsAreCaseSensitive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		msgs := []coex.Message{
			{WAMID: "wamid.HBgNAbC=", ContactWAID: "5511900000001", Direction: coex.DirectionInbound, Type: "text", Text: "one", Timestamp: 100, Origin: coex.OriginLive},
			{WAMID: "wamid.HBgNaBc=", ContactWAID: "5511900000001", Direction: coex.DirectionInbound, Type: "text", Text: "two", Timestamp: 100, Origin: coex.OriginLive},
		}
		if _, err := db.ApplyMessages(ctx, "623400011122233", msgs); err != nil {
			t.Fatal(err)
		}
		_, n, err := db.CountThreadsAndMessages(ctx, "623400011122233")
		if err != nil || n != 2 {
			t.Fatalf("stored %d messages (%v), want 2", n, err)
		}
		a, errA := db.MessageByWAMID(ctx, "623400011122233", "wamid.HBgNAbC=")
		b, errB := db.MessageByWAMID(ctx, "623400011122233", "wamid.HBgNaBc=")
		if errA != nil || errB != nil || a.Text != "one" || b.Text != "two" {
			t.Fatalf("lookups: %q %v / %q %v", a.Text, errA, b.Text, errB)
		}
	})
}
