package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// A customer's changed-number message and the new number's first message, applied at the
// same time, end in one conversation with all three messages: the link merges the new
// number's thread when it is stored first, and a message whose thread was merged while it
// was being stored starts again from its contact (errThreadsMoved).
func TestChangedNumberAndNewNumbersMessageAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreateNumber(ctx, &models.BusinessNumber{Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000",
			PhoneNumberID: rPNID, WABAID: "810023456789012", Provider: models.ProviderMeta, AccessTokenEnc: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		const rounds = 12
		for i := range rounds {
			oldPhone, newPhone := fmt.Sprintf("55119700%05d", i), fmt.Sprintf("55119800%05d", i)
			if _, err := db.ApplyMessages(ctx, rPNID, []coex.Message{textMsg(fmt.Sprintf("wamid.old%02d", i), oldPhone, "inbound", 100)}); err != nil {
				t.Fatal(err)
			}
			changed := coex.Message{WAMID: fmt.Sprintf("wamid.sys%02d", i), ContactWAID: oldPhone, Direction: "inbound", Type: "system",
				Text: "changed their phone number", Timestamp: 200, Origin: coex.OriginLive,
				Content: &coex.Content{System: &coex.SystemChange{Type: "user_changed_number", NewWAID: newPhone}}}
			first := textMsg(fmt.Sprintf("wamid.new%02d", i), newPhone, "inbound", 300)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for j, m := range []coex.Message{changed, first} {
				wg.Add(1)
				go func() { defer wg.Done(); _, errs[j] = db.ApplyMessages(ctx, rPNID, []coex.Message{m}) }()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		page, err := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: rPNID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		split := 0
		for _, th := range page.Threads {
			if th.MessageCount != 3 {
				split++
				t.Logf("thread %s holds %d messages", th.ContactWAID, th.MessageCount)
			}
		}
		if len(page.Threads) != rounds || split > 0 {
			t.Fatalf("%d threads (%d not holding all three messages), want %d of 3 messages each", len(page.Threads), split, rounds)
		}
	})
}
