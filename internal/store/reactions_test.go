package store_test

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/migrations"
)

const rPNID = "623400099988877"

func reactionMsg(wamid, contact, direction, target, emoji string, ts int64) coex.Message {
	return coex.Message{WAMID: wamid, ContactWAID: contact, Direction: direction, Type: "reaction", Text: emoji,
		ReactionTo: target, ReactionEmoji: emoji, Timestamp: ts, Origin: coex.OriginLive}
}

func textMsg(wamid, contact, direction string, ts int64) coex.Message {
	return coex.Message{WAMID: wamid, ContactWAID: contact, Direction: direction, Type: "text", Text: "texto " + wamid,
		Timestamp: ts, Origin: coex.OriginLive}
}

// listAll reads every item of a thread, two per page, following the cursors.
func listAll(t *testing.T, db *store.DB, threadID uint64) []store.ThreadMessage {
	t.Helper()
	var out []store.ThreadMessage
	page := store.MessagePage{Limit: 2}
	for {
		list, err := db.ThreadMessages(context.Background(), threadID, page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, list.Messages...)
		if list.NextCursor == "" {
			return out
		}
		page = store.MessagePage{After: list.NextCursor, Limit: 2}
	}
}

// listedAndCounted checks that a thread's count is the items it lists, and returns those
// items as "wamid" (or "wamid→target" for a reaction listed on its own) and the reactions
// shown on them as "target: direction emoji".
func listedAndCounted(t *testing.T, db *store.DB, contact string) (items, shown []string) {
	t.Helper()
	ctx := context.Background()
	page, err := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: rPNID, Contact: contact})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Threads) != 1 {
		t.Fatalf("%d threads for %s, want 1", len(page.Threads), contact)
	}
	th := page.Threads[0]
	msgs := listAll(t, db, th.ID)
	if th.MessageCount != len(msgs) {
		t.Errorf("thread %s counts %d messages but lists %d", contact, th.MessageCount, len(msgs))
	}
	var wamids []string
	listedReactions := 0
	for _, m := range msgs {
		if m.Type == "reaction" {
			items = append(items, m.WAMID+"→"+m.ReactionTo)
			listedReactions++
		} else {
			items = append(items, m.WAMID)
		}
		wamids = append(wamids, m.WAMID)
	}
	var reactionItems int
	if err := db.SQL().QueryRowContext(ctx, "SELECT reaction_items FROM threads WHERE id = ?", th.ID).Scan(&reactionItems); err != nil {
		t.Fatal(err)
	}
	if reactionItems != listedReactions {
		t.Errorf("thread %s has reaction_items %d but lists %d reactions", contact, reactionItems, listedReactions)
	}
	reactions, err := db.ReactionsFor(ctx, rPNID, wamids)
	if err != nil {
		t.Fatal(err)
	}
	for target, rs := range reactions {
		for _, r := range rs {
			shown = append(shown, fmt.Sprintf("%s: %s %s", target, r.Direction, r.Emoji))
		}
	}
	sort.Strings(shown)
	return items, shown
}

// A side has one current reaction per message: a later one replaces it, an empty emoji
// removes it. A reaction to a message the archive lacks is listed as an item of its own
// until that message arrives; the thread's count is always the items it lists.
func TestReactionsAreOnePerSideAndOrphansAreListed(t *testing.T) {
	const c = "5511911112222"
	steps := []struct {
		name  string
		apply []coex.Message
		items []string
		shown []string
	}{
		{"two messages", []coex.Message{textMsg("wamid.A", c, "inbound", 100), textMsg("wamid.B", c, "outbound", 110)},
			[]string{"wamid.A", "wamid.B"}, nil},
		{"the customer reacts to A", []coex.Message{reactionMsg("wamid.r1", c, "inbound", "wamid.A", "👍", 120)},
			[]string{"wamid.A", "wamid.B"}, []string{"wamid.A: inbound 👍"}},
		{"a later reaction replaces it, the business reacts too", []coex.Message{
			reactionMsg("wamid.r2", c, "inbound", "wamid.A", "❤️", 130), reactionMsg("wamid.r3", c, "outbound", "wamid.A", "🙏", 131)},
			[]string{"wamid.A", "wamid.B"}, []string{"wamid.A: inbound ❤️", "wamid.A: outbound 🙏"}},
		{"an empty emoji removes the customer's", []coex.Message{reactionMsg("wamid.r4", c, "inbound", "wamid.A", "", 140)},
			[]string{"wamid.A", "wamid.B"}, []string{"wamid.A: outbound 🙏"}},
		{"a reaction to a message not in the archive is an item", []coex.Message{reactionMsg("wamid.o1", c, "inbound", "wamid.X", "😂", 150)},
			[]string{"wamid.A", "wamid.B", "wamid.o1→wamid.X"}, []string{"wamid.A: outbound 🙏"}},
		{"replaced, it stays one item; the business's is another", []coex.Message{
			reactionMsg("wamid.o2", c, "inbound", "wamid.X", "😮", 160), reactionMsg("wamid.o3", c, "outbound", "wamid.X", "👍", 161)},
			[]string{"wamid.A", "wamid.B", "wamid.o2→wamid.X", "wamid.o3→wamid.X"}, []string{"wamid.A: outbound 🙏"}},
		{"removed, it is no item", []coex.Message{reactionMsg("wamid.o4", c, "inbound", "wamid.X", "", 170)},
			[]string{"wamid.A", "wamid.B", "wamid.o3→wamid.X"}, []string{"wamid.A: outbound 🙏"}},
		{"only a removal of a reaction to Y: nothing", []coex.Message{reactionMsg("wamid.o5", c, "inbound", "wamid.Y", "", 175)},
			[]string{"wamid.A", "wamid.B", "wamid.o3→wamid.X"}, []string{"wamid.A: outbound 🙏"}},
		{"X arrives: the business's reaction moves onto it", []coex.Message{textMsg("wamid.X", c, "inbound", 145)},
			[]string{"wamid.A", "wamid.B", "wamid.X"}, []string{"wamid.A: outbound 🙏", "wamid.X: outbound 👍"}},
		{"replays change nothing", []coex.Message{textMsg("wamid.X", c, "inbound", 145), reactionMsg("wamid.o1", c, "inbound", "wamid.X", "😂", 150),
			reactionMsg("wamid.r2", c, "inbound", "wamid.A", "❤️", 130)},
			[]string{"wamid.A", "wamid.B", "wamid.X"}, []string{"wamid.A: outbound 🙏", "wamid.X: outbound 👍"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, st := range steps {
			if _, err := db.ApplyMessages(ctx, rPNID, st.apply); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			items, shown := listedAndCounted(t, db, c)
			if !reflect.DeepEqual(items, st.items) || !reflect.DeepEqual(shown, st.shown) {
				t.Errorf("%s:\n items %v\n  want %v\n shown %v\n  want %v", st.name, items, st.items, shown, st.shown)
			}
		}
		if _, n, err := db.CountThreadsAndMessages(ctx, rPNID); err != nil || n != 3 {
			t.Errorf("the number counts %d messages (%v), want 3", n, err)
		}
		// A jump to a date lands on listed items only.
		page, _ := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: rPNID})
		if w, err := db.FirstMessageFrom(ctx, page.Threads[0].ID, 146); err != nil || w != "wamid.X" {
			t.Errorf("first item from 146 = %q, %v; want the last one, wamid.X", w, err)
		}
	})
}

// A reaction and the message it reacts to, applied at the same time in two transactions,
// end with the count of the items listed, whichever commits first.
func TestReactionAndItsMessageAppliedConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const pairs = 12
		var wg sync.WaitGroup
		errs := make(chan error, 2*pairs)
		for i := range pairs {
			contact := fmt.Sprintf("55119300%05d", i)
			target := fmt.Sprintf("wamid.T%02d", i)
			if _, err := db.ApplyMessages(ctx, rPNID, []coex.Message{textMsg(fmt.Sprintf("wamid.F%02d", i), contact, "outbound", 10)}); err != nil {
				t.Fatal(err)
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := db.ApplyMessages(ctx, rPNID, []coex.Message{textMsg(target, contact, "inbound", 20)})
				errs <- err
			}()
			go func() {
				defer wg.Done()
				_, err := db.ApplyMessages(ctx, rPNID, []coex.Message{reactionMsg(fmt.Sprintf("wamid.R%02d", i), contact, "outbound", target, "👍", 30)})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := range pairs {
			contact := fmt.Sprintf("55119300%05d", i)
			items, shown := listedAndCounted(t, db, contact)
			target := fmt.Sprintf("wamid.T%02d", i)
			if want := []string{fmt.Sprintf("wamid.F%02d", i), target}; !reflect.DeepEqual(items, want) {
				t.Errorf("%s lists %v, want %v", contact, items, want)
			}
			if want := []string{target + ": outbound 👍"}; !reflect.DeepEqual(shown, want) {
				t.Errorf("%s shows reactions %v, want %v", contact, shown, want)
			}
		}
	})
}

// Migration 00010 recounts the threads that hold reactions by the listing rule (before it,
// every reaction counted as a message) and leaves the others as they were.
func TestMigrationRecountsThreadsWithReactions(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.OpenEmpty(t, dialect)
			sub, err := fs.Sub(migrations.FS, dialect)
			if err != nil {
				t.Fatal(err)
			}
			gd := goose.DialectMySQL
			if dialect == store.SQLite {
				gd = goose.DialectSQLite3
			}
			p, err := goose.NewProvider(gd, db.SQL(), sub, goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 9); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			for _, th := range []struct {
				id      int
				contact string
				count   int
			}{{1, "5511911110001", 6}, {2, "5511911110002", 2}} {
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO threads (id, phone_number_id, contact_wa_id, contact_name, message_count, first_message_at, last_message_at)
					VALUES (?, ?, ?, '', ?, 100, 200)`, th.id, rPNID, th.contact, th.count); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range []struct {
				thread                          int
				wamid, typ, direction, text, to string
				ts                              int64
			}{
				{1, "wamid.A", "text", "inbound", "oi", "", 100},
				{1, "wamid.rA", "reaction", "outbound", "👍", "wamid.A", 110}, // on A
				{1, "wamid.o1", "reaction", "inbound", "😂", "wamid.X", 120},  // replaced by o2
				{1, "wamid.o2", "reaction", "inbound", "😮", "wamid.X", 130},  // listed
				{1, "wamid.o3", "reaction", "outbound", "🙏", "wamid.Y", 140}, // removed by o4
				{1, "wamid.o4", "reaction", "outbound", "", "wamid.Y", 150},  // the removal
				{2, "wamid.B", "text", "inbound", "bom dia", "", 100},        // no reactions:
				{2, "wamid.C", "text", "outbound", "bom dia!", "", 200},      // untouched
			} {
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO messages (phone_number_id, wamid, thread_id, contact_wa_id,
					direction, type, text, ts, status, origin, edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order,
					position, raw, created_at, updated_at) VALUES (?, ?, ?, '', ?, ?, ?, ?, '', 'live', false, false, '', '', ?, 0, 0, 0, '{}', ?, ?)`,
					rPNID, m.wamid, m.thread, m.direction, m.typ, m.text, m.ts, m.to, now, now); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, want := range []struct {
				id           uint64
				count, items int
			}{{1, 2, 1}, {2, 2, 0}} {
				var count, items int
				if err := db.SQL().QueryRowContext(ctx, "SELECT message_count, reaction_items FROM threads WHERE id = ?", want.id).Scan(&count, &items); err != nil {
					t.Fatal(err)
				}
				if count != want.count || items != want.items {
					t.Errorf("thread %d after the migration: message_count %d, reaction_items %d; want %d, %d", want.id, count, items, want.count, want.items)
				}
				if n := len(listAll(t, db, want.id)); n != count {
					t.Errorf("thread %d lists %d items, counts %d", want.id, n, count)
				}
			}
		})
	}
}

// A reaction stored in one thread to a message that arrives in another (a contact known by
// two identities until they are linked): the reaction stops being an item of its thread.
func TestReactionInAnotherThreadThanItsMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const c1, c2 = "5511922220001", "5511922220002"
		steps := []struct {
			apply []coex.Message
			want  map[string][]string
		}{
			{[]coex.Message{textMsg("wamid.Z", c1, "inbound", 100), textMsg("wamid.Q", c2, "inbound", 110),
				reactionMsg("wamid.rM", c2, "inbound", "wamid.M", "👍", 120)},
				map[string][]string{c1: {"wamid.Z"}, c2: {"wamid.Q", "wamid.rM→wamid.M"}}},
			{[]coex.Message{textMsg("wamid.M", c1, "inbound", 105)},
				map[string][]string{c1: {"wamid.Z", "wamid.M"}, c2: {"wamid.Q"}}},
		}
		for i, st := range steps {
			if _, err := db.ApplyMessages(ctx, rPNID, st.apply); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{c1, c2} {
				if items, _ := listedAndCounted(t, db, c); !reflect.DeepEqual(items, st.want[c]) {
					t.Errorf("step %d: %s lists %v, want %v", i, c, items, st.want[c])
				}
			}
		}
	})
}
