package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// ChangedMessages finds, between two cursors, the messages written again since a time, the
// targets of reactions stored since, and not the messages only inserted since.
func TestChangedMessagesForLiveViews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const c = "5511911113333"
		var msgs []coex.Message
		for i, w := range []string{"wamid.c1", "wamid.c2", "wamid.c3", "wamid.c4"} {
			msgs = append(msgs, textMsg(w, c, "inbound", int64(100+10*i)))
		}
		if _, err := db.ApplyMessages(ctx, rPNID, msgs); err != nil {
			t.Fatal(err)
		}
		page, _ := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: rPNID})
		th := page.Threads[0]
		since := time.Now().Add(-time.Millisecond)
		time.Sleep(5 * time.Millisecond)
		if _, err := db.ApplyEdits(ctx, rPNID, []coex.Edit{{WAMID: "wamid.e", OriginalWAMID: "wamid.c2", NewText: "novo", NewType: "text",
			Timestamp: 200, ContactWAID: c, Direction: "inbound", Origin: coex.OriginLive}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ApplyMessages(ctx, rPNID, []coex.Message{reactionMsg("wamid.r", c, "outbound", "wamid.c3", "👍", 210),
			textMsg("wamid.c5", c, "inbound", 220)}); err != nil {
			t.Fatal(err)
		}
		from, upTo := store.MessageCursor(100, "wamid.c1"), store.MessageCursor(220, "wamid.c5")
		got := func(from, upTo string, since time.Time) []string {
			t.Helper()
			changed, err := db.ChangedMessages(ctx, th.ID, from, upTo, since, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range changed {
				out = append(out, m.WAMID)
			}
			return out
		}
		if g := got(from, upTo, since); !reflect.DeepEqual(g, []string{"wamid.c2", "wamid.c3"}) {
			t.Errorf("changed = %v, want the edited c2 and the reacted-to c3 (c5 is only new)", g)
		}
		// A page ending at c4 (before the reaction and c5): the reaction to c3 still counts.
		if g := got(from, store.MessageCursor(130, "wamid.c4"), since); !reflect.DeepEqual(g, []string{"wamid.c2", "wamid.c3"}) {
			t.Errorf("changed on a page ending before the reaction = %v, want [wamid.c2 wamid.c3]", g)
		}
		if g := got(store.MessageCursor(120, "wamid.c3"), upTo, since); !reflect.DeepEqual(g, []string{"wamid.c3"}) {
			t.Errorf("changed from c3 on = %v, want [wamid.c3]", g)
		}
		if g := got(from, upTo, time.Now().Add(time.Minute)); len(g) != 0 {
			t.Errorf("changed since later = %v, want none", g)
		}
		if _, err := db.ChangedMessages(ctx, th.ID, "%%", upTo, since, 50); err == nil {
			t.Error("a bad cursor is accepted")
		}
	})
}
