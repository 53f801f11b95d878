package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const (
	hPNID     = "623400011122233"
	hBusiness = "5511987650000"
)

// msg builds a history message of contact at ts.
func msg(wamid, contact string, ts int64, typ, text, status string, outbound bool) coex.Message {
	dir := coex.DirectionInbound
	if outbound {
		dir = coex.DirectionOutbound
	}
	return coex.Message{WAMID: wamid, ContactWAID: contact, Direction: dir, Type: typ, Text: text, Timestamp: ts,
		Status: status, Origin: coex.OriginHistory, Raw: []byte(fmt.Sprintf(`{"id":%q,"type":%q}`, wamid, typ))}
}

func chunk(phase, order, progress int, msgs ...coex.Message) store.ChunkInput {
	threads := map[string]bool{}
	for i := range msgs {
		msgs[i].Position = i
		threads[msgs[i].ContactWAID] = true
	}
	return store.ChunkInput{PhoneNumberID: hPNID,
		Chunk: coex.Chunk{Phase: phase, ChunkOrder: order, Progress: progress, ThreadCount: len(threads), Messages: msgs}}
}

// dumpRow is the canonical, arrival-independent view of a stored message.
type dumpRow struct {
	Contact, WAMID, Direction, Type, Text, Status, Origin, MediaID, MimeType, ReactionTo string
	TS                                                                                   int64
	Edited, Deleted                                                                      bool
}

type dumpThread struct {
	Contact, Name                 string
	Count                         int
	FirstMessageAt, LastMessageAt int64
}

// dump reads every thread and message of hPNID in a canonical order.
func dump(t *testing.T, db *store.DB) ([]dumpThread, []dumpRow) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.SQL().QueryContext(ctx, `SELECT contact_wa_id, contact_name, message_count, first_message_at, last_message_at
		FROM threads WHERE phone_number_id = ? ORDER BY contact_wa_id`, hPNID)
	if err != nil {
		t.Fatal(err)
	}
	var threads []dumpThread
	for rows.Next() {
		var d dumpThread
		if err := rows.Scan(&d.Contact, &d.Name, &d.Count, &d.FirstMessageAt, &d.LastMessageAt); err != nil {
			t.Fatal(err)
		}
		threads = append(threads, d)
	}
	rows.Close()
	rows, err = db.SQL().QueryContext(ctx, `SELECT t.contact_wa_id, m.wamid, m.direction, m.type, m.text, m.status, m.origin,
		m.media_id, m.mime_type, m.reaction_to, m.ts, m.edited, m.deleted
		FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.phone_number_id = ? ORDER BY t.contact_wa_id, m.ts, m.wamid`, hPNID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var msgs []dumpRow
	for rows.Next() {
		var d dumpRow
		if err := rows.Scan(&d.Contact, &d.WAMID, &d.Direction, &d.Type, &d.Text, &d.Status, &d.Origin,
			&d.MediaID, &d.MimeType, &d.ReactionTo, &d.TS, &d.Edited, &d.Deleted); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, d)
	}
	return threads, msgs
}

func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func syncRun(t *testing.T, db *store.DB) models.SyncRun {
	t.Helper()
	r, err := db.SyncRun(context.Background(), hPNID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestApplyChunkStoresThreadsMessagesAndProgress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		in := chunk(1, 3, 42,
			msg("w1", "551100", 100, "text", "oi", "READ", false),
			msg("w2", "551100", 160, "text", "olá", "read", true),
			msg("w3", "551100", 130, coex.TypeMediaPlaceholder, "", "DELIVERED", true),
			msg("w4", "552200", 90, "text", "bom dia", "SENT", true),
		)
		in.InboxID = 7
		res, err := db.ApplyChunk(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !res.NewChunk || res.Inserted != 4 || res.Updated != 0 {
			t.Fatalf("result = %+v", res)
		}
		threads, msgs := dump(t, db)
		wantThreads := []dumpThread{{"551100", "", 3, 100, 160}, {"552200", "", 1, 90, 90}}
		if !reflect.DeepEqual(threads, wantThreads) {
			t.Fatalf("threads = %+v\nwant %+v", threads, wantThreads)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, fmt.Sprintf("%s %s %s %s %s %s", m.Contact, m.WAMID, m.Direction, m.Type, m.Status, m.Origin))
		}
		want := []string{
			"551100 w1 inbound text read history",
			"551100 w3 outbound media_placeholder delivered history",
			"551100 w2 outbound text read history",
			"552200 w4 outbound text sent history",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("messages:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		run := syncRun(t, db)
		if run.State != models.SyncReceiving || run.Progress != 42 || run.FirstChunkAt == nil || run.LastChunkAt == nil || run.CompletedAt != nil {
			t.Fatalf("sync run = %+v", run)
		}
		chunks, err := db.ListChunks(ctx, hPNID, 10)
		if err != nil || len(chunks) != 1 {
			t.Fatalf("chunks = %v, %v", chunks, err)
		}
		if c := chunks[0]; c.Phase != 1 || c.ChunkOrder != 3 || c.Progress != 42 || c.ThreadCount != 2 || c.MessageCount != 4 || c.InboxID != 7 {
			t.Fatalf("ledger row = %+v", c)
		}

		// A replay writes nothing and does not move the sync run.
		res, err = db.ApplyChunk(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.NewChunk || res.Inserted != 0 || res.Updated != 0 {
			t.Fatalf("replay result = %+v", res)
		}
		if t2, m2 := dump(t, db); !reflect.DeepEqual(t2, threads) || !reflect.DeepEqual(m2, msgs) {
			t.Fatal("replay changed the rows")
		}
		if countRows(t, db, "history_chunks") != 1 {
			t.Fatal("replay added a ledger row")
		}
	})
}

func TestSyncRunStates(t *testing.T) {
	tests := []struct {
		name      string
		steps     []func(ctx context.Context, db *store.DB) error
		wantState string
		wantProg  int
		wantCode  int
	}{
		{"progress 100 first completes and stays complete", []func(context.Context, *store.DB) error{
			applyChunk(chunk(0, 9, 100, msg("a", "1", 10, "text", "x", "", false))),
			applyChunk(chunk(2, 1, 10, msg("b", "1", 5, "text", "y", "", false))),
			applyChunk(chunk(1, 4, 60, msg("c", "1", 7, "text", "z", "", false))),
		}, models.SyncComplete, 100, 0},
		{"maximum progress wins", []func(context.Context, *store.DB) error{
			applyChunk(chunk(1, 2, 70, msg("a", "1", 10, "text", "x", "", false))),
			applyChunk(chunk(2, 1, 30, msg("b", "1", 5, "text", "y", "", false))),
		}, models.SyncReceiving, 70, 0},
		{"declined", []func(context.Context, *store.DB) error{
			applyErrors(coex.HistoryError{Code: coex.CodeHistoryDeclined, Message: "declined"}),
		}, models.SyncDeclined, 0, coex.CodeHistoryDeclined},
		{"declined stays declined when a chunk follows", []func(context.Context, *store.DB) error{
			applyErrors(coex.HistoryError{Code: coex.CodeHistoryDeclined, Message: "declined"}),
			applyChunk(chunk(1, 2, 100, msg("a", "1", 10, "text", "x", "", false))),
		}, models.SyncDeclined, 100, coex.CodeHistoryDeclined},
		{"complete is not declined later", []func(context.Context, *store.DB) error{
			applyChunk(chunk(0, 1, 100, msg("a", "1", 10, "text", "x", "", false))),
			applyErrors(coex.HistoryError{Code: coex.CodeHistoryDeclined}),
		}, models.SyncComplete, 100, coex.CodeHistoryDeclined},
		{"other error fails and is recorded", []func(context.Context, *store.DB) error{
			applyChunk(chunk(1, 2, 20, msg("a", "1", 10, "text", "x", "", false))),
			applyErrors(coex.HistoryError{Code: 131000, Title: "Something went wrong", Details: "try later"}),
		}, models.SyncFailed, 20, 131000},
		// A chunk after a failure proves Meta is sending (syncer.Next): receiving again, the error kept.
		{"chunk after a failure resumes receiving", []func(context.Context, *store.DB) error{
			applyChunk(chunk(1, 2, 20, msg("a", "1", 10, "text", "x", "", false))),
			applyErrors(coex.HistoryError{Code: 131000, Title: "Something went wrong", Details: "try later"}),
			applyChunk(chunk(1, 3, 30, msg("b", "1", 11, "text", "y", "", false))),
		}, models.SyncReceiving, 30, 131000},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clearIngest(t, db)
				ctx := context.Background()
				for i, step := range tt.steps {
					if err := step(ctx, db); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				run := syncRun(t, db)
				if run.State != tt.wantState || run.Progress != tt.wantProg || run.ErrorCode != tt.wantCode {
					t.Fatalf("run = %s %d code %d, want %s %d code %d", run.State, run.Progress, run.ErrorCode, tt.wantState, tt.wantProg, tt.wantCode)
				}
				if tt.wantCode == 131000 && run.ErrorMessage != "Something went wrong: try later" {
					t.Fatalf("error message = %q", run.ErrorMessage)
				}
				if tt.wantState == models.SyncComplete && run.CompletedAt == nil {
					t.Fatal("complete without completed_at")
				}
			})
		}
	})
}

func applyChunk(in store.ChunkInput) func(context.Context, *store.DB) error {
	return func(ctx context.Context, db *store.DB) error { _, err := db.ApplyChunk(ctx, in); return err }
}

func applyErrors(errs ...coex.HistoryError) func(context.Context, *store.DB) error {
	return func(ctx context.Context, db *store.DB) error { return db.ApplyHistoryErrors(ctx, hPNID, errs) }
}

// orderScenario is a set of deliveries whose every arrival order must give the same rows.
type orderScenario struct {
	name  string
	steps []func(context.Context, *store.DB) error
	check func(t *testing.T, msgs []dumpRow)
}

func TestMergeIsIndependentOfArrivalOrder(t *testing.T) {
	placeholder := chunk(1, 3, 42, msg("wm", "551100", 500, coex.TypeMediaPlaceholder, "", "READ", false))
	followUp := coex.Message{WAMID: "wm", ContactWAID: "551100", Direction: coex.DirectionInbound, Type: "image", Text: "foto do pedido",
		Timestamp: 502, Origin: coex.OriginHistory, MediaID: "1184736629105523", MimeType: "image/jpeg", Raw: []byte(`{"id":"wm","type":"image"}`)}
	echo := coex.Message{WAMID: "we", ContactWAID: "551100", Direction: coex.DirectionOutbound, Type: "text", Text: "Bom dia",
		Timestamp: 600, Origin: coex.OriginEcho, Raw: []byte(`{"id":"we"}`)}
	sent := msg("ws", "551100", 700, "text", "pedido", "SENT", true)

	scenarios := []orderScenario{
		{"media follow-up before or after its placeholder", []func(context.Context, *store.DB) error{
			applyChunk(placeholder),
			func(ctx context.Context, db *store.DB) error {
				_, err := db.ApplyMediaUpdates(ctx, hPNID, []coex.Message{followUp})
				return err
			},
		}, func(t *testing.T, msgs []dumpRow) {
			want := dumpRow{Contact: "551100", WAMID: "wm", Direction: "inbound", Type: "image", Text: "foto do pedido", Status: "read",
				Origin: "history", MediaID: "1184736629105523", MimeType: "image/jpeg", TS: 500}
			if len(msgs) != 1 || msgs[0] != want {
				t.Fatalf("messages = %+v\nwant %+v", msgs, want)
			}
		}},
		{"echo, edit and revoke in any order", []func(context.Context, *store.DB) error{
			func(ctx context.Context, db *store.DB) error {
				_, err := db.ApplyMessages(ctx, hPNID, []coex.Message{echo})
				return err
			},
			func(ctx context.Context, db *store.DB) error {
				_, err := db.ApplyEdits(ctx, hPNID, []coex.Edit{{WAMID: "e1", OriginalWAMID: "we", NewText: "Bom dia!", Timestamp: 610, ContactWAID: "551100"}})
				return err
			},
			func(ctx context.Context, db *store.DB) error {
				_, err := db.ApplyEdits(ctx, hPNID, []coex.Edit{{WAMID: "e2", OriginalWAMID: "we", NewText: "Bom dia, Mariana!", Timestamp: 620, ContactWAID: "551100"}})
				return err
			},
			func(ctx context.Context, db *store.DB) error {
				_, err := db.ApplyRevokes(ctx, hPNID, []coex.Revoke{{WAMID: "r1", OriginalWAMID: "we", Timestamp: 630, ContactWAID: "551100"}})
				return err
			},
		}, func(t *testing.T, msgs []dumpRow) {
			want := dumpRow{Contact: "551100", WAMID: "we", Direction: "outbound", Type: "text", Text: "Bom dia, Mariana!", Origin: "echo",
				TS: 600, Edited: true, Deleted: true}
			if len(msgs) != 1 || msgs[0] != want {
				t.Fatalf("messages = %+v\nwant %+v", msgs, want)
			}
		}},
		{"statuses in any order never lower the status", []func(context.Context, *store.DB) error{
			applyChunk(chunk(0, 1, 90, sent)),
			applyStatus("ws", "delivered", 710),
			applyStatus("ws", "read", 720),
			applyStatus("ws", "sent", 705),
		}, func(t *testing.T, msgs []dumpRow) {
			if len(msgs) != 1 || msgs[0].Status != "read" {
				t.Fatalf("messages = %+v, want status read", msgs)
			}
		}},
		{"error is final", []func(context.Context, *store.DB) error{
			applyChunk(chunk(0, 1, 90, sent)),
			applyStatus("ws", "failed", 710),
			applyStatus("ws", "read", 720),
		}, func(t *testing.T, msgs []dumpRow) {
			if len(msgs) != 1 || msgs[0].Status != "error" {
				t.Fatalf("messages = %+v, want status error", msgs)
			}
		}},
		{"chunks overlapping a live echo", []func(context.Context, *store.DB) error{
			applyChunk(chunk(0, 1, 90, msg("we", "551100", 598, "text", "Bom dia", "DELIVERED", true))),
			func(ctx context.Context, db *store.DB) error {
				_, err := db.ApplyMessages(ctx, hPNID, []coex.Message{echo})
				return err
			},
		}, func(t *testing.T, msgs []dumpRow) {
			want := dumpRow{Contact: "551100", WAMID: "we", Direction: "outbound", Type: "text", Text: "Bom dia", Status: "delivered",
				Origin: "history", TS: 598}
			if len(msgs) != 1 || msgs[0] != want {
				t.Fatalf("messages = %+v\nwant %+v", msgs, want)
			}
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				var first []dumpRow
				var firstThreads []dumpThread
				for p, perm := range permutations(len(sc.steps)) {
					clearIngest(t, db)
					ctx := context.Background()
					for _, i := range perm {
						if err := sc.steps[i](ctx, db); err != nil {
							t.Fatalf("order %v step %d: %v", perm, i, err)
						}
					}
					// Every delivery again: nothing changes.
					for _, i := range perm {
						if err := sc.steps[i](ctx, db); err != nil {
							t.Fatalf("replay step %d: %v", i, err)
						}
					}
					threads, msgs := dump(t, db)
					if p == 0 {
						first, firstThreads = msgs, threads
						sc.check(t, msgs)
						continue
					}
					if !reflect.DeepEqual(msgs, first) || !reflect.DeepEqual(threads, firstThreads) {
						t.Fatalf("order %v gives\n%+v\n%+v\nwant\n%+v\n%+v", perm, threads, msgs, firstThreads, first)
					}
				}
			})
		}
	})
}

// clearIngest empties the tables the apply methods write.
func clearIngest(t *testing.T, db *store.DB) {
	t.Helper()
	for _, table := range []string{"messages", "threads", "contacts", "message_events", "history_chunks", "sync_runs"} {
		if _, err := db.SQL().Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
	}
}

func applyStatus(wamid, status string, ts int64) func(context.Context, *store.DB) error {
	return func(ctx context.Context, db *store.DB) error {
		_, err := db.ApplyStatuses(ctx, hPNID, []coex.StatusUpdate{{WAMID: wamid, Status: coex.NormalizeStatus(status), Timestamp: ts, RecipientWAID: "551100"}})
		return err
	}
}

// permutations returns every order of 0..n-1, the identity first, the rest shuffled.
func permutations(n int) [][]int {
	var out [][]int
	var gen func(prefix []int, rest []int)
	gen = func(prefix, rest []int) {
		if len(rest) == 0 {
			out = append(out, append([]int(nil), prefix...))
			return
		}
		for i := range rest {
			next := append(append([]int(nil), rest[:i]...), rest[i+1:]...)
			gen(append(prefix, rest[i]), next)
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	gen(nil, idx)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(out)-1, func(i, j int) { out[i+1], out[j+1] = out[j+1], out[i+1] })
	return out
}

func TestStatusesBeforeTheMessageAreKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		res, err := db.ApplyStatuses(ctx, hPNID, []coex.StatusUpdate{
			{WAMID: "late", Status: "delivered", Timestamp: 10},
			{WAMID: "late", Status: "read", Timestamp: 20},
			{WAMID: "late", Status: "read", Timestamp: 20}, // duplicate event
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Skipped != 3 || res.Inserted != 0 || countRows(t, db, "messages") != 0 {
			t.Fatalf("result = %+v, messages = %d", res, countRows(t, db, "messages"))
		}
		if n := countRows(t, db, "message_events"); n != 2 {
			t.Fatalf("events = %d, want 2", n)
		}
		if _, err := db.ApplyMessages(ctx, hPNID, []coex.Message{{WAMID: "late", ContactWAID: "551100", Direction: coex.DirectionOutbound,
			Type: "text", Text: "x", Timestamp: 5, Status: "sent", Origin: coex.OriginEcho}}); err != nil {
			t.Fatal(err)
		}
		_, msgs := dump(t, db)
		if len(msgs) != 1 || msgs[0].Status != "read" {
			t.Fatalf("messages = %+v", msgs)
		}
		evs, err := db.MessageEvents(ctx, hPNID, "late")
		if err != nil || len(evs) != 2 || evs[0].Source != store.EventSourceWebhook || evs[0].EventKey != "delivered:10" || evs[1].EventKey != "read:20" {
			t.Fatalf("events = %+v, %v", evs, err)
		}
	})
}

func TestContactsNameThreads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// A contact known before its thread names the new thread.
		if err := db.ApplyContacts(ctx, hPNID, []coex.ContactChange{{WAID: "551100", FullName: "Mariana Costa", FirstName: "Mariana", Timestamp: 100}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ApplyChunk(ctx, chunk(1, 1, 10,
			msg("a", "551100", 10, "text", "x", "", false),
			msg("b", "552200", 11, "text", "y", "", false),
			msg("c", "553300", 12, "text", "z", "", false))); err != nil {
			t.Fatal(err)
		}
		// Later changes rename existing threads; an older change loses; remove clears.
		if err := db.ApplyContacts(ctx, hPNID, []coex.ContactChange{
			{WAID: "552200", FirstName: "Jorge", Timestamp: 100},
			{WAID: "551100", FullName: "Old Name", Timestamp: 50},
			{WAID: "553300", FullName: "Zé", Timestamp: 100},
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.ApplyContacts(ctx, hPNID, []coex.ContactChange{{WAID: "553300", Removed: true, Timestamp: 200}}); err != nil {
			t.Fatal(err)
		}
		threads, _ := dump(t, db)
		var names []string
		for _, th := range threads {
			names = append(names, th.Contact+"="+th.Name)
		}
		if got, want := strings.Join(names, ","), "551100=Mariana Costa,552200=Jorge,553300="; got != want {
			t.Fatalf("thread names = %s, want %s", got, want)
		}
		if n := countRows(t, db, "contacts"); n != 3 {
			t.Fatalf("contacts = %d", n)
		}
	})
}

func TestApplyAccountEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := models.BusinessNumber{Label: "Loja", DisplayPhoneNumber: hBusiness, PhoneNumberID: hPNID, WABAID: "810023456789012",
			Provider: models.ProviderMeta, AccessTokenEnc: []byte{1}, CreatedAt: db.Now(), UpdatedAt: db.Now()}
		if err := db.CreateNumber(ctx, &n); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			in        store.AccountInput
			wantN     int
			wantState string
		}{
			{store.AccountInput{WABAID: "810023456789012", Event: coex.AccountEvent{Event: coex.EventPartnerRemoved}}, 1, models.AccountRemoved},
			{store.AccountInput{PhoneNumberID: hPNID, Event: coex.AccountEvent{Event: coex.EventAccountReconnected}}, 1, models.AccountReconnected},
			{store.AccountInput{DisplayPhoneNumber: "+55 11 98765-0000", Event: coex.AccountEvent{Event: coex.EventAccountOffboarded}}, 1, models.AccountOffboarded},
			{store.AccountInput{WABAID: "other", Event: coex.AccountEvent{Event: coex.EventAccountReconnected}}, 0, models.AccountOffboarded},
			// Kept for the number, state unchanged.
			{store.AccountInput{PhoneNumberID: hPNID, Event: coex.AccountEvent{Event: "VERIFIED_ACCOUNT"}}, 1, models.AccountOffboarded},
			{store.AccountInput{WABAID: "810023456789012", Event: coex.AccountEvent{Event: coex.EventPartnerAppUninstalled, PhoneNumber: coex.Digits(hBusiness)}}, 1, models.AccountUninstalled},
			{store.AccountInput{WABAID: "810023456789012", Event: coex.AccountEvent{Event: coex.EventPartnerAdded, PhoneNumber: "5500000000000"}}, 0, models.AccountUninstalled},
		}
		for i, tt := range tests {
			got, err := db.ApplyAccountEvent(ctx, tt.in)
			if err != nil || got != tt.wantN {
				t.Fatalf("case %d: matched %d, %v; want %d", i, got, err, tt.wantN)
			}
			n, _ := db.NumberByPhoneNumberID(ctx, hPNID)
			if n.AccountState != tt.wantState {
				t.Fatalf("case %d: state %s, want %s", i, n.AccountState, tt.wantState)
			}
		}
		evs, err := db.AccountEvents(ctx, hPNID, 0)
		if err != nil || len(evs) != 5 || evs[0].Event != coex.EventPartnerAppUninstalled || evs[0].StateBefore != models.AccountOffboarded || evs[0].StateAfter != models.AccountUninstalled {
			t.Fatalf("account events = %+v (%v)", evs, err)
		}
	})
}

func TestSyncSummary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, err := db.SyncSummary(ctx, hPNID)
		if err != nil || s.State != models.SyncNotRequested || len(s.Phases) != 0 || s.MessagesTotal != 0 {
			t.Fatalf("empty summary = %+v, %v", s, err)
		}
		for _, in := range []store.ChunkInput{
			chunk(2, 1, 5, msg("a", "1", 1, "text", "", "", false), msg("b", "2", 2, "text", "", "", false)),
			chunk(2, 4, 15, msg("c", "1", 3, "text", "", "", false)),
			chunk(2, 6, 20, msg("d", "3", 4, "text", "", "", false)),
			chunk(1, 7, 60, msg("e", "1", 5, "text", "", "", false), msg("a", "1", 1, "text", "", "", false)),
		} {
			if _, err := db.ApplyChunk(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		s, err = db.SyncSummary(ctx, hPNID)
		if err != nil {
			t.Fatal(err)
		}
		if s.State != models.SyncReceiving || s.Progress != 60 || s.ThreadsTotal != 3 || s.MessagesTotal != 5 || s.LastChunkAt == 0 {
			t.Fatalf("summary = %+v", s)
		}
		var phases []string
		for _, p := range s.Phases {
			if p.LastChunkAt == 0 {
				t.Fatalf("phase without last_chunk_at: %+v", p)
			}
			phases = append(phases, fmt.Sprintf("%d:%d/%d", p.Phase, p.Chunks, p.Messages))
		}
		if got := strings.Join(phases, " "); got != "1:1/2 2:3/4" {
			t.Fatalf("phases = %s", got)
		}
		if fmt.Sprint(s.ChunkGaps) != "[{2 [2 3 5]}]" {
			t.Fatalf("gaps = %v", s.ChunkGaps)
		}
	})
}

func TestMessageMovedByAChunkIsRecounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// An echo filed the message under one contact; the history chunk says another.
		if _, err := db.ApplyMessages(ctx, hPNID, []coex.Message{
			{WAMID: "w1", ContactWAID: "551100", Direction: coex.DirectionOutbound, Type: "text", Text: "a", Timestamp: 50, Origin: coex.OriginEcho},
			{WAMID: "w2", ContactWAID: "551100", Direction: coex.DirectionOutbound, Type: "text", Text: "b", Timestamp: 70, Origin: coex.OriginEcho},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ApplyChunk(ctx, chunk(0, 1, 100, msg("w1", "552200", 40, "text", "a", "READ", true))); err != nil {
			t.Fatal(err)
		}
		threads, msgs := dump(t, db)
		want := []dumpThread{{"551100", "", 1, 70, 70}, {"552200", "", 1, 40, 40}}
		if !reflect.DeepEqual(threads, want) {
			t.Fatalf("threads = %+v, want %+v", threads, want)
		}
		if len(msgs) != 2 || msgs[0].WAMID != "w2" || msgs[1].WAMID != "w1" || msgs[1].Contact != "552200" || msgs[1].Origin != "history" {
			t.Fatalf("messages = %+v", msgs)
		}

		// A chunk moving the other message too leaves 551100's thread empty: it is no longer
		// listed or counted.
		if _, err := db.ApplyChunk(ctx, chunk(0, 2, 100, msg("w2", "552200", 70, "text", "b", "READ", true))); err != nil {
			t.Fatal(err)
		}
		page, err := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: hPNID})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Threads) != 1 || page.Threads[0].ContactWAID != "552200" || page.Threads[0].MessageCount != 2 {
			t.Fatalf("listed threads = %+v, want only 552200 with 2 messages", page.Threads)
		}
		threadCount, messageCount, err := db.CountThreadsAndMessages(ctx, hPNID)
		if err != nil || threadCount != 1 || messageCount != 2 {
			t.Fatalf("counts = %d threads, %d messages, %v; want 1 and 2", threadCount, messageCount, err)
		}
	})
}

// Two chunks that share messages and a chat, applied at the same moment, many times: the
// messages are stored once, merged (the later status wins whichever commits first), and the
// thread counts match the messages. On MySQL this runs the path where one transaction finds
// that the other inserted its rows first and runs again.
func TestConcurrentChunksSharingAChatMergeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const rounds, shared, extra = 8, 300, 100
		contacts := []string{"5511900001", "5511900002", "5511900003"}
		for round := range rounds {
			pnid := fmt.Sprintf("77700000%d", round)
			build := func(order int, status string, from, to int) store.ChunkInput {
				var msgs []coex.Message
				for i := from; i < to; i++ {
					m := msg(fmt.Sprintf("wamid.r%d.%04d", round, i), contacts[i%len(contacts)], int64(1000+i), "text", fmt.Sprintf("m%d", i), status, i%2 == 0)
					m.Position = i - from
					msgs = append(msgs, m)
				}
				return store.ChunkInput{PhoneNumberID: pnid, Chunk: coex.Chunk{Phase: 1, ChunkOrder: order, Progress: 50, ThreadCount: len(contacts), Messages: msgs}}
			}
			a := build(1, "DELIVERED", 0, shared)
			b := build(2, "READ", 0, shared+extra) // the same messages, re-batched, later statuses, and more
			start := make(chan struct{})
			errs := make(chan error, 2)
			for _, in := range []store.ChunkInput{a, b} {
				go func() {
					<-start
					_, err := db.ApplyChunk(ctx, in)
					errs <- err
				}()
			}
			close(start)
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			var messages, read, threadSum, threads int
			if err := db.SQL().QueryRow("SELECT COUNT(*), COALESCE(SUM(status = 'read'), 0) FROM messages WHERE phone_number_id = ?", pnid).Scan(&messages, &read); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL().QueryRow("SELECT COUNT(*), COALESCE(SUM(message_count), 0) FROM threads WHERE phone_number_id = ?", pnid).Scan(&threads, &threadSum); err != nil {
				t.Fatal(err)
			}
			if messages != shared+extra || read != shared+extra || threads != len(contacts) || threadSum != shared+extra {
				t.Fatalf("round %d: %d messages (%d read), %d threads counting %d; want %d, all read, %d threads counting them all",
					round, messages, read, threads, threadSum, shared+extra, len(contacts))
			}
		}
	})
}

func TestMessageWritesYieldBetweenStatements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var yields int
		ydb := store.NewIngester(db, func(context.Context) { yields++ })
		if _, err := ydb.ApplyChunk(ctx, chunk(1, 1, 10, msg("wamid.one", "5511900001", 100, "text", "a", "READ", false))); err != nil {
			t.Fatal(err)
		}
		if yields != 0 {
			t.Fatalf("a one-message chunk yielded %d times, want 0", yields)
		}
		const n = 2500 // more than one statement on both databases
		msgs := make([]coex.Message, 0, n)
		for i := range n {
			msgs = append(msgs, msg(fmt.Sprintf("wamid.big.%04d", i), "5511900002", int64(200+i), "text", "b", "DELIVERED", i%2 == 0))
		}
		res, err := ydb.ApplyChunk(ctx, chunk(1, 2, 20, msgs...))
		if err != nil {
			t.Fatal(err)
		}
		if res.Inserted != n {
			t.Fatalf("inserted %d of %d messages", res.Inserted, n)
		}
		switch db.Dialect() {
		case store.MySQL:
			if yields < 2 {
				t.Fatalf("a %d-message chunk yielded %d times, want 2 or more", n, yields)
			}
		case store.SQLite:
			// One writer: waiting inside the transaction would block the webhooks waited for.
			if yields != 0 {
				t.Fatalf("SQLite yielded %d times inside a transaction, want 0", yields)
			}
		}
	})
}
