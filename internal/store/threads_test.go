package store_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// threadFixture loads three threads on number "pn1" and one on "pn2":
//
//	thread A (5511911110001, Ana Souza):   12 messages, several sharing a timestamp, 3 reactions
//	thread B (5511922220002, Bruno Lima):   2 messages, last at 2000 (ties with C)
//	thread C (5521933330003, Cecília Dias): 1 message at 2000
//	thread D on pn2 (5511911110001, Ana Souza): 1 message
type threadFixture struct {
	a, b, c, d models.Thread
	aOrder     []string // thread A's non-reaction wamids in thread order
}

func loadThreadFixture(t *testing.T, db *store.DB) threadFixture {
	t.Helper()
	ctx := context.Background()
	threads := []models.Thread{
		{PhoneNumberID: "pn1", ContactWAID: "5511911110001", ContactName: "Ana Souza", MessageCount: 15, FirstMessageAt: 1000, LastMessageAt: 1900},
		{PhoneNumberID: "pn1", ContactWAID: "5511922220002", ContactName: "Bruno Lima", MessageCount: 2, FirstMessageAt: 1500, LastMessageAt: 2000},
		{PhoneNumberID: "pn1", ContactWAID: "5521933330003", ContactName: "Cecília Dias", MessageCount: 1, FirstMessageAt: 2000, LastMessageAt: 2000},
		{PhoneNumberID: "pn2", ContactWAID: "5511911110001", ContactName: "Ana Souza", MessageCount: 1, FirstMessageAt: 3000, LastMessageAt: 3000},
	}
	if err := db.BulkInsertThreads(ctx, threads); err != nil {
		t.Fatal(err)
	}
	f := threadFixture{a: threads[0], b: threads[1], c: threads[2], d: threads[3]}
	msg := func(th models.Thread, wamid string, ts int64, dir string) models.Message {
		return models.Message{PhoneNumberID: th.PhoneNumberID, WAMID: wamid, ThreadID: th.ID, ContactWAID: th.ContactWAID,
			Direction: dir, Type: "text", Text: "texto " + wamid, TS: ts, Origin: models.OriginHistory, Raw: "{}"}
	}
	var msgs []models.Message
	// Thread A, inserted out of order; equal timestamps at 1100 (4 messages) and 1500 (3).
	aSpec := []struct {
		wamid string
		ts    int64
	}{
		{"wamid.A09", 1500}, {"wamid.A01", 1000}, {"wamid.A05", 1100}, {"wamid.A03", 1100}, {"wamid.A04", 1100},
		{"wamid.A02", 1100}, {"wamid.A07", 1500}, {"wamid.A08", 1500}, {"wamid.A06", 1200}, {"wamid.A10", 1600},
		{"wamid.A11", 1700}, {"wamid.A12", 1900},
	}
	for i, s := range aSpec {
		dir := models.DirectionInbound
		if i%2 == 1 {
			dir = models.DirectionOutbound
		}
		msgs = append(msgs, msg(f.a, s.wamid, s.ts, dir))
	}
	f.aOrder = []string{"wamid.A01", "wamid.A02", "wamid.A03", "wamid.A04", "wamid.A05", "wamid.A06", "wamid.A07",
		"wamid.A08", "wamid.A09", "wamid.A10", "wamid.A11", "wamid.A12"}
	react := func(wamid, to, emoji, dir string, ts int64) models.Message {
		m := msg(f.a, wamid, ts, dir)
		m.Type, m.Text, m.ReactionTo = "reaction", emoji, to
		return m
	}
	msgs = append(msgs,
		react("wamid.R1", "wamid.A03", "👍", models.DirectionInbound, 1150),
		react("wamid.R2", "wamid.A03", "❤️", models.DirectionInbound, 1160), // replaces R1
		react("wamid.R3", "wamid.A05", "😂", models.DirectionOutbound, 1150),
		react("wamid.R4", "wamid.A05", "🙏", models.DirectionInbound, 1155),
		react("wamid.R5", "wamid.A06", "👍", models.DirectionInbound, 1250),
		react("wamid.R6", "wamid.A06", "", models.DirectionInbound, 1260), // removes R5
	)
	msgs = append(msgs,
		msg(f.b, "wamid.B1", 1500, models.DirectionInbound), msg(f.b, "wamid.B2", 2000, models.DirectionOutbound),
		msg(f.c, "wamid.C1", 2000, models.DirectionInbound),
		msg(f.d, "wamid.D1", 3000, models.DirectionInbound),
	)
	if err := db.BulkInsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	return f
}

func threadIDs(ts []models.Thread) []uint64 {
	ids := make([]uint64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}

func TestListThreads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := loadThreadFixture(t, db)
		// B and C tie on last_message_at: the higher id first.
		tests := []struct {
			name   string
			filter store.ThreadFilter
			want   []uint64
		}{
			{"all numbers", store.ThreadFilter{}, []uint64{f.d.ID, f.c.ID, f.b.ID, f.a.ID}},
			{"one number", store.ThreadFilter{PhoneNumberID: "pn1"}, []uint64{f.c.ID, f.b.ID, f.a.ID}},
			{"phone prefix", store.ThreadFilter{PhoneNumberID: "pn1", Contact: "+55 11 9"}, []uint64{f.b.ID, f.a.ID}},
			{"phone prefix, all numbers", store.ThreadFilter{Contact: "55119111"}, []uint64{f.d.ID, f.a.ID}},
			{"name part", store.ThreadFilter{PhoneNumberID: "pn1", Contact: "lima"}, []uint64{f.b.ID}},
			{"name with LIKE wildcards", store.ThreadFilter{Contact: "%"}, nil},
			{"name with underscore", store.ThreadFilter{Contact: "Ana_Souza"}, nil},
			{"digits anywhere in the number", store.ThreadFilter{Contact: "9111"}, []uint64{f.d.ID, f.a.ID}},
		}
		for _, tt := range tests {
			page, err := db.ListThreads(ctx, tt.filter)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := threadIDs(page.Threads); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("%s: ids = %v, want %v", tt.name, got, tt.want)
			}
			if page.NextCursor != "" {
				t.Errorf("%s: NextCursor = %q on a single page", tt.name, page.NextCursor)
			}
		}

		// Walk with pages of 1: the same order, no repeats, no gaps.
		var walked []uint64
		cursor := ""
		for range 10 {
			page, err := db.ListThreads(ctx, store.ThreadFilter{Cursor: cursor, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, threadIDs(page.Threads)...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if want := []uint64{f.d.ID, f.c.ID, f.b.ID, f.a.ID}; !reflect.DeepEqual(walked, want) {
			t.Errorf("walked %v, want %v", walked, want)
		}
		if _, err := db.ListThreads(ctx, store.ThreadFilter{Cursor: "not a cursor!"}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("bad cursor: err = %v, want ErrBadCursor", err)
		}

		got, err := db.GetThread(ctx, f.b.ID)
		if err != nil || got != f.b {
			t.Errorf("GetThread = %+v, %v; want %+v", got, err, f.b)
		}
		if _, err := db.GetThread(ctx, f.d.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetThread(missing) err = %v, want ErrNotFound", err)
		}
	})
}

func wamids(msgs []store.ThreadMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.WAMID
	}
	return out
}

func TestThreadMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := loadThreadFixture(t, db)

		all, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if got := wamids(all.Messages); !reflect.DeepEqual(got, f.aOrder) {
			t.Fatalf("thread order = %v, want %v", got, f.aOrder)
		}
		if all.PrevCursor != "" || all.NextCursor != "" {
			t.Errorf("single page has cursors %q / %q", all.PrevCursor, all.NextCursor)
		}
		first := all.Messages[0]
		if first.Text != "texto wamid.A01" || first.TS != 1000 || first.Direction != models.DirectionOutbound || first.Type != "text" {
			t.Errorf("first message = %+v", first)
		}

		// Forward in pages of 3, from the start.
		var fwd []string
		page, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Limit: 3})
		for err == nil {
			fwd = append(fwd, wamids(page.Messages)...)
			if page.NextCursor == "" {
				break
			}
			page, err = db.ThreadMessages(ctx, f.a.ID, store.MessagePage{After: page.NextCursor, Limit: 3})
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fwd, f.aOrder) {
			t.Errorf("forward walk = %v, want %v", fwd, f.aOrder)
		}

		// Backward in pages of 5, from the latest.
		var back []string
		page, err = db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Latest: true, Limit: 5})
		if err == nil && page.NextCursor != "" {
			t.Errorf("latest page has NextCursor %q", page.NextCursor)
		}
		for err == nil {
			back = append(wamids(page.Messages), back...)
			if page.PrevCursor == "" {
				break
			}
			page, err = db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Before: page.PrevCursor, Limit: 5})
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, f.aOrder) {
			t.Errorf("backward walk = %v, want %v", back, f.aOrder)
		}

		// Around a message with tied timestamps.
		around, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Around: "wamid.A04", Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := wamids(around.Messages), []string{"wamid.A02", "wamid.A03", "wamid.A04", "wamid.A05"}; !reflect.DeepEqual(got, want) {
			t.Errorf("around = %v, want %v", got, want)
		}
		older, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Before: around.PrevCursor, Limit: 10})
		if err != nil || !reflect.DeepEqual(wamids(older.Messages), []string{"wamid.A01"}) || older.PrevCursor != "" {
			t.Errorf("before around = %v (prev %q), %v; want [wamid.A01]", wamids(older.Messages), older.PrevCursor, err)
		}
		newer, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{After: around.NextCursor, Limit: 2})
		if err != nil || !reflect.DeepEqual(wamids(newer.Messages), []string{"wamid.A06", "wamid.A07"}) || newer.NextCursor == "" {
			t.Errorf("after around = %v (next %q), %v; want [wamid.A06 wamid.A07]", wamids(newer.Messages), newer.NextCursor, err)
		}
		if _, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{Around: "wamid.B1"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("around a message of another thread: err = %v, want ErrNotFound", err)
		}
		if _, err := db.ThreadMessages(ctx, f.a.ID, store.MessagePage{After: "%%%"}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("bad cursor: err = %v, want ErrBadCursor", err)
		}
		empty, err := db.ThreadMessages(ctx, f.a.ID+1000, store.MessagePage{})
		if err != nil || len(empty.Messages) != 0 || empty.Messages == nil {
			t.Errorf("missing thread = %#v, %v; want an empty non-nil list", empty.Messages, err)
		}
	})
}

func TestMessagesReactionsAndCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := loadThreadFixture(t, db)

		m, err := db.MessageByWAMID(ctx, "pn1", "wamid.A07")
		if err != nil {
			t.Fatal(err)
		}
		if m.ThreadID != f.a.ID || m.TS != 1500 || m.Text != "texto wamid.A07" || m.Raw != "{}" || m.PhoneNumberID != "pn1" {
			t.Errorf("MessageByWAMID = %+v", m)
		}
		if _, err := db.MessageByWAMID(ctx, "pn2", "wamid.A07"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MessageByWAMID on another number: err = %v, want ErrNotFound", err)
		}

		reactions, err := db.ReactionsFor(ctx, "pn1", []string{"wamid.A03", "wamid.A05", "wamid.A06", "wamid.A07"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for target, rs := range reactions {
			for _, r := range rs {
				got[target] = append(got[target], r.Direction+" "+r.Emoji+" "+r.WAMID)
			}
			sort.Strings(got[target])
		}
		want := map[string][]string{
			"wamid.A03": {"inbound ❤️ wamid.R2"},
			"wamid.A05": {"inbound 🙏 wamid.R4", "outbound 😂 wamid.R3"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ReactionsFor = %v, want %v", got, want)
		}
		if r, err := db.ReactionsFor(ctx, "pn2", []string{"wamid.A03"}); err != nil || len(r) != 0 {
			t.Errorf("ReactionsFor on another number = %v, %v; want none", r, err)
		}

		for _, tt := range []struct {
			pn                string
			threads, messages int64
		}{{"pn1", 3, 18}, {"pn2", 1, 1}, {"", 4, 19}, {"pn9", 0, 0}} {
			threads, messages, err := db.CountThreadsAndMessages(ctx, tt.pn)
			if err != nil || threads != tt.threads || messages != tt.messages {
				t.Errorf("CountThreadsAndMessages(%q) = %d, %d, %v; want %d, %d", tt.pn, threads, messages, err, tt.threads, tt.messages)
			}
		}
	})
}

// TestContactFilterVariants: the contact filter ignores case and accents, and finds a phone
// number by any part of it, with or without the country code, spaces or dashes.
func TestContactFilterVariants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, c := range []struct{ waid, name string }{
			{"5511912345678", "Otávio Nogueira"},
			{"5521998877665", "Ana Souza"},
			{"5531977776666", "JOÃO"},
		} {
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO threads (phone_number_id, contact_wa_id, contact_name, message_count, first_message_at, last_message_at)
				VALUES ('623400011122233', ?, ?, 1, ?, ?)`, c.waid, c.name, 1000+i, 1000+i); err != nil {
				t.Fatal(err)
			}
		}
		// A contact known by username and BSUID only (no phone number shared).
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO threads (phone_number_id, contact_wa_id, contact_user_id, contact_username, contact_name, message_count, first_message_at, last_message_at)
			VALUES ('623400011122233', 'u:digest', 'user.4f1c2a9d8e7b6c5a', 'padaria.lu', 'Luíza', 1, 999, 999)`); err != nil {
			t.Fatal(err)
		}
		for filter, want := range map[string]string{
			"padaria":               "Luíza",
			"@padaria.lu":           "Luíza",
			"@PADARIA":              "Luíza",
			"user.4f1c2a9d8e7b6c5a": "Luíza",
			"4f1c2a9d":              "Luíza",
			"@luíza":                "",
			"luiza":                 "Luíza",
			"otavio":                "Otávio Nogueira",
			"OTÁVIO":                "Otávio Nogueira",
			"nogueira":              "Otávio Nogueira",
			"5678":                  "Otávio Nogueira",
			"11 91234-5678":         "Otávio Nogueira",
			"(11) 91234 5678":       "Otávio Nogueira",
			"+55 11 91234-5678":     "Otávio Nogueira",
			"joao":                  "JOÃO",
			"joão":                  "JOÃO",
			"souza":                 "Ana Souza",
			"21 99887-7665":         "Ana Souza",
			"nobody":                "",
			"+1 555":                "",
			"%":                     "",
		} {
			page, err := db.ListThreads(ctx, store.ThreadFilter{Contact: filter})
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			var got []string
			for _, th := range page.Threads {
				got = append(got, th.ContactName)
			}
			if strings.Join(got, ",") != want {
				t.Errorf("contact %q found %v, want %q", filter, got, want)
			}
		}
	})
}
