package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/ingest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

const (
	examplePNID     = "623400011122233"
	exampleBusiness = "5511987650000"
	exampleWABA     = "810023456789012"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a fresh migrated database of one dialect with a settable clock.
type env struct {
	db    *store.DB
	clock *clock
	url   string
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, newEnv(t, d))
		})
	}
}

func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	u := storetest.URL(t, dialect)
	db, err := store.Open(context.Background(), u, store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, clock: c, url: u}
}

// reset empties every table a worker writes, so one database serves several runs.
func (e *env) reset(t *testing.T) {
	t.Helper()
	for _, table := range []string{"webhook_inbox", "messages", "threads", "contacts", "message_events", "history_chunks", "sync_runs", "contact_aliases"} {
		if _, err := e.db.SQL().Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *env) worker(t *testing.T, st ingest.Store, opts ingest.Options) *ingest.Worker {
	if st == nil {
		st = e.db
	}
	return ingest.New(st, testLogger(t), opts)
}

func (e *env) insert(t *testing.T, bodies ...[]byte) []uint64 {
	t.Helper()
	var ids []uint64
	for _, b := range bodies {
		id, _, err := e.db.InsertInbox(context.Background(), "meta", b)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func (e *env) drain(t *testing.T, w *ingest.Worker) int {
	t.Helper()
	n, err := w.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) counts(t *testing.T) map[string]int {
	t.Helper()
	c, err := e.db.InboxCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// example reads one of the example webhook payloads, which live with the parser.
func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "coex", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- canonical dump ----

type threadRow struct {
	Contact, Name                 string
	Count                         int
	FirstMessageAt, LastMessageAt int64
}

type messageRow struct {
	Contact, WAMID, Direction, Type, Text, Status, Origin, MediaID, MimeType, ReactionTo string
	TS                                                                                   int64
	Edited, Deleted                                                                      bool
}

type snapshot struct {
	Threads  []threadRow
	Messages []messageRow
	Run      string
}

// dump reads a number's threads and messages in a canonical order, independent of ids and
// arrival order, with the sync run's state and progress.
func dump(t *testing.T, db *store.DB, pnid string) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	rows, err := db.SQL().QueryContext(ctx, `SELECT contact_wa_id, contact_name, message_count, first_message_at, last_message_at
		FROM threads WHERE phone_number_id = ? ORDER BY contact_wa_id`, pnid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r threadRow
		if err := rows.Scan(&r.Contact, &r.Name, &r.Count, &r.FirstMessageAt, &r.LastMessageAt); err != nil {
			t.Fatal(err)
		}
		s.Threads = append(s.Threads, r)
	}
	rows.Close()
	rows, err = db.SQL().QueryContext(ctx, `SELECT t.contact_wa_id, m.wamid, m.direction, m.type, m.text, m.status, m.origin,
		m.media_id, m.mime_type, m.reaction_to, m.ts, m.edited, m.deleted
		FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.phone_number_id = ?
		ORDER BY t.contact_wa_id, m.ts, m.wamid`, pnid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r messageRow
		if err := rows.Scan(&r.Contact, &r.WAMID, &r.Direction, &r.Type, &r.Text, &r.Status, &r.Origin,
			&r.MediaID, &r.MimeType, &r.ReactionTo, &r.TS, &r.Edited, &r.Deleted); err != nil {
			t.Fatal(err)
		}
		s.Messages = append(s.Messages, r)
	}
	rows.Close()
	var total int
	if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM messages WHERE phone_number_id = ?", pnid).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != len(s.Messages) {
		t.Fatalf("%d messages stored, %d of them in threads", total, len(s.Messages))
	}
	sum, err := db.SyncSummary(ctx, pnid)
	if err != nil {
		t.Fatal(err)
	}
	s.Run = fmt.Sprintf("%s %d", sum.State, sum.Progress)
	return s
}

func sameSnapshot(t *testing.T, label string, got, want snapshot) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	if got.Run != want.Run {
		t.Fatalf("%s: sync run %q, want %q", label, got.Run, want.Run)
	}
	if !reflect.DeepEqual(got.Threads, want.Threads) {
		t.Fatalf("%s: threads\n%+v\nwant\n%+v", label, got.Threads, want.Threads)
	}
	for i := range min(len(got.Messages), len(want.Messages)) {
		if got.Messages[i] != want.Messages[i] {
			t.Fatalf("%s: message %d\n%+v\nwant\n%+v", label, i, got.Messages[i], want.Messages[i])
		}
	}
	t.Fatalf("%s: %d messages, want %d", label, len(got.Messages), len(want.Messages))
}

// ---- synthetic history ----

// synthMessage is one message of a generated history.
type synthMessage struct {
	Contact  string
	ID       string
	TS       int64
	Outbound bool
	Type     string
	Text     string
	Status   string
	Phase    int
}

// synthHistory generates a deterministic history of one number: threads × perThread
// messages spread over the three phases, newest in phase 0.
func synthHistory(seed uint64, threads, perThread int) []synthMessage {
	r := rand.New(rand.NewPCG(seed, seed+1))
	statuses := []string{"PENDING", "SENT", "DELIVERED", "READ", "read", "delivered", "PLAYED", "ERROR"}
	const onboard = int64(1761000000)
	var out []synthMessage
	for th := range threads {
		contact := fmt.Sprintf("55119%08d", 1000+th*37)
		for i := range perThread {
			age := int64(r.IntN(180 * 86400))
			phase := 0
			switch {
			case age > 90*86400:
				phase = 2
			case age > 86400:
				phase = 1
			}
			m := synthMessage{
				Contact:  contact,
				ID:       fmt.Sprintf("wamid.T%02dM%04d", th, i),
				TS:       onboard - age,
				Outbound: r.IntN(2) == 0,
				Type:     "text",
				Text:     fmt.Sprintf("mensagem %d de %s <b>ok</b>", i, contact),
				Status:   statuses[r.IntN(len(statuses))],
				Phase:    phase,
			}
			if r.IntN(10) == 0 {
				m.Type, m.Text = "media_placeholder", ""
			}
			if i > 0 && r.IntN(15) == 0 {
				m.TS = out[len(out)-1].TS // equal timestamps: the wamid breaks the tie
				m.Phase = out[len(out)-1].Phase
			}
			out = append(out, m)
		}
	}
	return out
}

// chunkSpec is one generated chunk.
type chunkSpec struct {
	Phase, Order, Progress int
	Messages               []synthMessage
}

// chunkHistory splits a history into chunks of about size messages per phase (phase 2
// first, as Meta sends them), threads kept in contact order, a thread spanning chunks
// when it is long. chunk_order counts from firstOrder over the whole sync; progress grows
// to 100 on the last chunk.
func chunkHistory(h []synthMessage, size, firstOrder int) []chunkSpec {
	var chunks []chunkSpec
	for _, phase := range []int{2, 1, 0} {
		var ms []synthMessage
		for _, m := range h {
			if m.Phase == phase {
				ms = append(ms, m)
			}
		}
		sort.SliceStable(ms, func(i, j int) bool {
			if ms[i].Contact != ms[j].Contact {
				return ms[i].Contact < ms[j].Contact
			}
			return ms[i].TS < ms[j].TS
		})
		for start := 0; start < len(ms); start += size {
			chunks = append(chunks, chunkSpec{Phase: phase, Messages: ms[start:min(start+size, len(ms))]})
		}
	}
	for i := range chunks {
		chunks[i].Order = firstOrder + i
		chunks[i].Progress = (i + 1) * 100 / len(chunks)
	}
	return chunks
}

// historyBody renders chunks as one history webhook body.
func historyBody(pnid, business string, chunks ...chunkSpec) []byte {
	type msgJSON map[string]any
	var items []any
	for _, c := range chunks {
		var threads []any
		var cur map[string]any
		for _, m := range c.Messages {
			if cur == nil || cur["id"] != m.Contact {
				cur = map[string]any{"id": m.Contact, "messages": []any{}}
				threads = append(threads, cur)
			}
			from := m.Contact
			ctxm := map[string]any{"status": m.Status}
			if m.Outbound {
				from = business
				ctxm["from_me"] = true
			}
			mj := msgJSON{"from": from, "id": m.ID, "timestamp": fmt.Sprint(m.TS), "type": m.Type, "history_context": ctxm}
			if m.Type == "text" {
				mj["text"] = map[string]any{"body": m.Text}
			}
			cur["messages"] = append(cur["messages"].([]any), mj)
		}
		items = append(items, map[string]any{
			"metadata": map[string]any{"phase": c.Phase, "chunk_order": c.Order, "progress": c.Progress},
			"threads":  threads,
		})
	}
	body := map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": exampleWABA, "changes": []any{map[string]any{
			"field": "history",
			"value": map[string]any{
				"messaging_product": "whatsapp",
				"metadata":          map[string]any{"display_phone_number": business, "phone_number_id": pnid},
				"history":           items,
			},
		}}}},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return b
}

func bodiesOf(pnid string, chunks []chunkSpec, perBody int) [][]byte {
	var out [][]byte
	for start := 0; start < len(chunks); start += perBody {
		out = append(out, historyBody(pnid, exampleBusiness, chunks[start:min(start+perBody, len(chunks))]...))
	}
	return out
}

// redelivered returns body as a distinct delivery (another SHA-256, same content), as a
// retry through another route would be.
func redelivered(body []byte, n int) []byte {
	return append(append([]byte(nil), body...), []byte(strings.Repeat(" ", n+1))...)
}
