package store_test

import (
	"context"
	"testing"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

func TestUserPreferences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, err := db.UserPreferences(ctx, 7)
		if err != nil || p != (store.Preferences{UserID: 7}) {
			t.Fatalf("never chosen: %+v, %v", p, err)
		}
		if err := db.SetUserDisplay(ctx, 7, "America/Sao_Paulo", "pt-BR"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkConversationsSeen(ctx, 7, 1000); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkConversationsSeen(ctx, 7, 900); err != nil { // older: kept at 1000
			t.Fatal(err)
		}
		if err := db.SetUserDisplay(ctx, 7, "", "pt-BR"); err != nil { // back to the browser's zone
			t.Fatal(err)
		}
		p, err = db.UserPreferences(ctx, 7)
		want := store.Preferences{UserID: 7, TimeZone: "", Language: "pt-BR", ConversationsSeenAt: 1000}
		if err != nil || p != want {
			t.Fatalf("got %+v, %v; want %+v", p, err, want)
		}
		if other, _ := db.UserPreferences(ctx, 8); other != (store.Preferences{UserID: 8}) {
			t.Fatalf("another user's preferences: %+v", other)
		}
	})
}
