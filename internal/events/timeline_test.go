package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/events"
	"coexhistory/internal/provider"
	"coexhistory/internal/provider/providertest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const (
	pnid      = "106540352242922"
	wamid     = "wamid.HBgLNTUxMTk4NzY1MDAwMBUCABEYEjQ3OEE1QzI3RjU2QjFGM0E2NwA="
	historyID = "5550192837465011"
	token     = "EAAGtestTOKENsecret1234567890abcdef"
)

// eventsPage is Meta's example answer of the events API (three steps, one page).
const eventsPage = `{"data":[
 {"cursor":"c1","node":{"id":"7301928374650011","delivery_status":"SENT","occurrence_timestamp":1761040234,"status_timestamp":1761040236,"application":{"id":"1029384756473829","name":"Atende Cloud Inbox"}}},
 {"cursor":"c2","node":{"id":"7301928374650012","delivery_status":"DELIVERED","occurrence_timestamp":1761040239,"status_timestamp":1761040240,"application":{"id":"1029384756473829","name":"Atende Cloud Inbox"},"webhook_update_state":"ERROR","webhook_uri":"https://hooks.example.com/wa"}},
 {"cursor":"c3","node":{"id":"7301928374650013","delivery_status":"READ","occurrence_timestamp":1761041187,"status_timestamp":1761041188,"application":{"id":"1029384756473829","name":"Atende Cloud Inbox"}}}
],"paging":{"cursors":{"before":"c1","after":"c3"}}}`

// answer is one scripted reply of the fake Meta.
type answer = providertest.Reply

// newFakeMeta is the fake Graph API knowing the outbound message. Scripted answers, when
// given, are used first (one per request, in order); then the normal answers.
func newFakeMeta(t *testing.T, script ...answer) *providertest.Server {
	f := providertest.New(t)
	f.RequireToken(token)
	f.Message(pnid, wamid, historyID, eventsPage)
	f.Queue(script...)
	return f
}

// lastQuery is the query of the last request f received.
func lastQuery(f *providertest.Server) url.Values {
	calls := f.Calls()
	return calls[len(calls)-1].Query
}

// tokens hands out the test token.
type tokens struct{ err error }

func (k tokens) AccessToken(context.Context, string) (string, error) { return token, k.err }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a service on a fresh database with one number and one outbound message.
type fixture struct {
	db    *store.DB
	meta  *providertest.Server
	clock *clock
	svc   *events.Service
}

type setup struct {
	provider  string // default meta
	direction string // default outbound
	version   string // default v25.0
	tokenErr  error
	script    []answer
}

func newFixture(t *testing.T, db *store.DB, s setup) *fixture {
	t.Helper()
	ctx := context.Background()
	if s.provider == "" {
		s.provider = models.ProviderMeta
	}
	if s.direction == "" {
		s.direction = models.DirectionOutbound
	}
	if s.version == "" {
		s.version = "v25.0"
	}
	n := &models.BusinessNumber{Label: "Loja", DisplayPhoneNumber: "5511987650000", PhoneNumberID: pnid, WABAID: "810023456789012",
		Provider: s.provider, AccessTokenEnc: []byte("sealed")}
	if s.provider == models.ProviderPositus {
		n.ProviderNumberID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	}
	if err := db.CreateNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	insertMessage(t, db, pnid, wamid, s.direction, "sent", "live", "{}")
	f := &fixture{db: db, meta: newFakeMeta(t, s.script...), clock: &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}}
	meta := provider.NewMeta(provider.MetaConfig{
		BaseURL: f.meta.URL, Version: s.version,
		Retry: provider.RetryPolicy{MaxAttempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	f.svc = events.New(events.Config{Store: db, Tokens: tokens{err: s.tokenErr}, Meta: meta, APIVersion: s.version,
		CacheTTL: time.Minute, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return f
}

func insertMessage(t *testing.T, db *store.DB, pnid, wamid, direction, status, origin, raw string) {
	t.Helper()
	now := time.Now().UTC()
	_, err := db.SQL().ExecContext(context.Background(), `INSERT INTO messages (phone_number_id, wamid, thread_id, contact_wa_id,
		direction, type, text, ts, status, origin, edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order,
		position, raw, created_at, updated_at) VALUES (?, ?, 1, '5511987650000', ?, 'text', 'Seu pedido saiu para entrega', 1761040230, ?,
		?, false, false, '', '', '', 0, 0, 0, ?, ?, ?)`, pnid, wamid, direction, status, origin, raw, now, now)
	if err != nil {
		t.Fatal(err)
	}
}

func storedStatus(t *testing.T, db *store.DB) string {
	t.Helper()
	var s string
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT status FROM messages WHERE wamid = ?`, wamid).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func statuses(steps []events.Step) string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Status+"["+strings.Join(s.Sources, "+")+"]")
	}
	return strings.Join(out, " ")
}

func TestTimelineFetchesMergesAndCaches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, setup{})
		// A status webhook arrived before anyone looked: same step as the API's SENT.
		hook := models.MessageEvent{PhoneNumberID: pnid, WAMID: wamid, Source: "webhook", EventKey: "sent1761040235",
			DeliveryStatus: "sent", OccurrenceTS: 1761040235, CreatedAt: f.clock.Now().Add(-time.Hour)}
		if err := db.UpsertMessageEvents(ctx, []models.MessageEvent{hook}); err != nil {
			t.Fatal(err)
		}

		tl, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.meta.Count() != 2 {
			t.Fatalf("%d calls to Meta, want 2 (history id, events)", f.meta.Count())
		}
		if got := statuses(tl.Steps); got != "sent[api+webhook] delivered[api] read[api]" {
			t.Fatalf("steps %s", got)
		}
		if tl.Status != "read" || tl.FromCache || tl.Note != "" || !tl.FetchedAt.Equal(f.clock.Now()) {
			t.Fatalf("timeline %+v", tl)
		}
		d := tl.Steps[1]
		if d.EventID != "7301928374650012" || d.WebhookUpdateState != "ERROR" || d.WebhookURI != "https://hooks.example.com/wa" ||
			d.ApplicationName != "Atende Cloud Inbox" || d.StatusTS != 1761040240 || !d.WebhookMissing {
			t.Fatalf("delivered step %+v", d)
		}
		if s := storedStatus(t, db); s != "read" {
			t.Fatalf("stored status %q, want read (raised from Meta's events)", s)
		}

		// Within the TTL: the cache answers, Meta is not asked.
		f.clock.Add(30 * time.Second)
		tl, err = f.svc.Timeline(ctx, pnid, wamid, events.Options{StatusFilter: "delivered"})
		if err != nil {
			t.Fatal(err)
		}
		if f.meta.Count() != 2 || !tl.FromCache {
			t.Fatalf("cache miss within the TTL: %d calls, from cache %v", f.meta.Count(), tl.FromCache)
		}
		if got := statuses(tl.Steps); got != "delivered[api]" || tl.TotalSteps != 3 || tl.Status != "read" {
			t.Fatalf("filtered steps %s of %d, status %s", got, tl.TotalSteps, tl.Status)
		}

		// Refresh bypasses the cache.
		if _, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{Refresh: true}); err != nil {
			t.Fatal(err)
		}
		if f.meta.Count() != 4 {
			t.Fatalf("%d calls after refresh, want 4", f.meta.Count())
		}

		// A new status webhook invalidates the cache.
		f.clock.Add(10 * time.Second)
		if _, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{}); err != nil || f.meta.Count() != 4 {
			t.Fatalf("cached read: %v, %d calls", err, f.meta.Count())
		}
		late := models.MessageEvent{PhoneNumberID: pnid, WAMID: wamid, Source: "webhook", EventKey: "read1761041190",
			DeliveryStatus: "read", OccurrenceTS: 1761041190, CreatedAt: f.clock.Now()}
		if err := db.UpsertMessageEvents(ctx, []models.MessageEvent{late}); err != nil {
			t.Fatal(err)
		}
		tl, err = f.svc.Timeline(ctx, pnid, wamid, events.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.meta.Count() != 6 || tl.FromCache {
			t.Fatalf("after a new webhook: %d calls, from cache %v; want 6, false", f.meta.Count(), tl.FromCache)
		}
		if got := statuses(tl.Steps); got != "sent[api+webhook] delivered[api] read[api+webhook]" {
			t.Fatalf("steps %s", got)
		}

		// After the TTL: asked again; the refetch does not duplicate stored events.
		f.clock.Add(61 * time.Second)
		tl, err = f.svc.Timeline(ctx, pnid, wamid, events.Options{})
		if err != nil || f.meta.Count() != 8 || len(tl.Steps) != 3 {
			t.Fatalf("after the TTL: %v, %d calls, %d steps", err, f.meta.Count(), len(tl.Steps))
		}
		all, err := db.MessageEvents(ctx, pnid, wamid)
		if err != nil || len(all) != 5 {
			t.Fatalf("%d stored events (%v), want 5 (3 api, 2 webhook)", len(all), err)
		}
	})
}

func TestTimelineShowsMetaErrorsAsNotes(t *testing.T) {
	graphErr := func(status, code, sub int, typ, msg string) answer {
		return answer{Status: status, Body: fmt.Sprintf(`{"error":{"message":%q,"type":%q,"code":%d,"error_subcode":%d,"fbtrace_id":"AbCdEf"}}`, msg, typ, code, sub)}
	}
	cases := []struct {
		name     string
		script   []answer
		wantNote string
		calls    int
	}{
		{"404 not found", []answer{graphErr(404, 803, 0, "GraphMethodException", "Message History not found")},
			"Meta has no delivery history for this message. (code 803, HTTP 404)", 1},
		{"401 token expired", []answer{graphErr(401, 190, 463, "OAuthException", "Invalid OAuth access token")},
			"access token has expired or is invalid", 1},
		{"403 no permission", []answer{graphErr(403, 200, 1349174, "OAuthException", "no permission for this resource")},
			"no permission to read this message's delivery history", 1},
		{"400 bad filter", []answer{{Status: 200, Body: `{"data":[{"id":"` + historyID + `"}]}`}, graphErr(400, 100, 0, "OAuthException", "invalid status filter")},
			"status filter is not valid", 2},
		{"422 fields unavailable", []answer{{Status: 200, Body: `{"data":[{"id":"` + historyID + `"}]}`}, graphErr(422, 100, 0, "GraphMethodException", "requested fields not available")},
			"cannot return the requested fields", 2},
		{"429 until the retries run out", []answer{graphErr(429, 4, 2446079, "OAuthException", "Application request limit reached"),
			graphErr(429, 4, 2446079, "OAuthException", "Application request limit reached"),
			graphErr(429, 4, 2446079, "OAuthException", "Application request limit reached")},
			"rate limiting", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := storetest.Open(t, store.SQLite)
			f := newFixture(t, db, setup{script: tc.script})
			ctx := context.Background()
			tl, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{})
			if err != nil {
				t.Fatalf("Timeline failed instead of noting: %v", err)
			}
			if !strings.Contains(tl.Note, tc.wantNote) || !tl.Problem {
				t.Fatalf("note %q (problem %v), want it to contain %q", tl.Note, tl.Problem, tc.wantNote)
			}
			if strings.Contains(tl.Note, token) {
				t.Fatal("note holds the token")
			}
			if f.meta.Count() != tc.calls {
				t.Fatalf("%d calls, want %d", f.meta.Count(), tc.calls)
			}
			fetch, err := db.MessageEventFetch(ctx, pnid, wamid)
			if err != nil || fetch.ErrorMessage != tl.Note || fetch.ErrorCode == 0 {
				t.Fatalf("recorded fetch %+v, %v", fetch, err)
			}
			// The error is cached like an answer: within the TTL Meta is not asked again.
			again, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{})
			if err != nil || again.Note != tl.Note || !again.Problem || !again.FromCache || f.meta.Count() != tc.calls {
				t.Fatalf("second read: %+v, %v, %d calls", again, err, f.meta.Count())
			}
		})
	}
}

func TestTimelineRetries429ThenSucceeds(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	limit := answer{Status: 429, Body: `{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"error_subcode":2446079,"is_transient":true}}`}
	f := newFixture(t, db, setup{script: []answer{limit}})
	tl, err := f.svc.Timeline(context.Background(), pnid, wamid, events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tl.Note != "" || len(tl.Steps) != 3 || f.meta.Count() != 3 {
		t.Fatalf("note %q, %d steps, %d calls; want no note, 3 steps, 3 calls", tl.Note, len(tl.Steps), f.meta.Count())
	}
}

func TestTimelinePassesTheFilterToMeta(t *testing.T) {
	cases := []struct {
		version, filter, param, value string
	}{
		{"v25.0", "read", "delivery_status", "READ"},
		{"v25.0", "failed", "delivery_status", "ERROR"},
		{"v23.0", "error", "status_filter", "FAILED"},
		{"v25.0", "played", "", ""}, // Meta has no such status: filtered here only
	}
	for _, tc := range cases {
		t.Run(tc.version+"/"+tc.filter, func(t *testing.T) {
			db := storetest.Open(t, store.SQLite)
			f := newFixture(t, db, setup{version: tc.version})
			ctx := context.Background()
			tl, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{StatusFilter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			q := lastQuery(f.meta)
			for _, p := range []string{"delivery_status", "status_filter"} {
				want := ""
				if p == tc.param {
					want = tc.value
				}
				if got := q.Get(p); got != want {
					t.Fatalf("%s=%q, want %q (query %s)", p, got, want, q.Encode())
				}
			}
			for _, s := range tl.Steps {
				if s.Status != events.NormalizeStatus(tc.filter) {
					t.Fatalf("step %s shown under filter %s", s.Status, tc.filter)
				}
			}
			_, err = db.MessageEventFetch(ctx, pnid, wamid)
			if tc.param != "" && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a filtered fetch was recorded as the cache: %v", err)
			}
			if tc.param == "" && err != nil {
				t.Fatalf("an unfiltered fetch was not recorded: %v", err)
			}
		})
	}
}

func TestTimelineWithoutMeta(t *testing.T) {
	ctx := context.Background()
	t.Run("positus number", func(t *testing.T) {
		f := newFixture(t, storetest.Open(t, store.SQLite), setup{provider: models.ProviderPositus})
		tl, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{})
		if err != nil || !strings.Contains(tl.Note, "not available for Positus numbers") || tl.Problem || f.meta.Count() != 0 {
			t.Fatalf("%+v, %v, %d calls", tl, err, f.meta.Count())
		}
		if tl.Status != "sent" {
			t.Fatalf("status %q, want the stored sent", tl.Status)
		}
	})
	t.Run("inbound message", func(t *testing.T) {
		f := newFixture(t, storetest.Open(t, store.SQLite), setup{direction: models.DirectionInbound})
		tl, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{})
		if err != nil || !strings.Contains(tl.Note, "only for messages the business sent") || tl.Status != "" || f.meta.Count() != 0 {
			t.Fatalf("%+v, %v, %d calls", tl, err, f.meta.Count())
		}
	})
	t.Run("unreadable token", func(t *testing.T) {
		f := newFixture(t, storetest.Open(t, store.SQLite), setup{tokenErr: apperr.New(apperr.Internal, "The stored access token cannot be read.")})
		tl, err := f.svc.Timeline(ctx, pnid, wamid, events.Options{})
		if err != nil || tl.Note != "The stored access token cannot be read." || !tl.Problem || f.meta.Count() != 0 {
			t.Fatalf("%+v, %v, %d calls", tl, err, f.meta.Count())
		}
	})
	t.Run("imported message keeps its snapshot", func(t *testing.T) {
		db := storetest.Open(t, store.SQLite)
		f := newFixture(t, db, setup{provider: models.ProviderPositus})
		insertMessage(t, db, pnid, "wamid.imported", "outbound", "delivered", "history", `{"history_context":{"status":"DELIVERED"}}`)
		tl, err := f.svc.Timeline(ctx, pnid, "wamid.imported", events.Options{})
		if err != nil || len(tl.Steps) != 1 || tl.Steps[0].HasTime() || tl.Steps[0].Source() != "snapshot" || tl.Status != "delivered" {
			t.Fatalf("%+v, %v", tl, err)
		}
	})
}

func TestTimelineRefusesUnknownMessageAndBadFilter(t *testing.T) {
	f := newFixture(t, storetest.Open(t, store.SQLite), setup{})
	ctx := context.Background()
	_, err := f.svc.Timeline(ctx, pnid, "wamid.nope", events.Options{})
	if !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("unknown message: %v, want NotFound", err)
	}
	_, err = f.svc.Timeline(ctx, "999", wamid, events.Options{})
	if !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("message of another number: %v, want NotFound", err)
	}
	_, err = f.svc.Timeline(ctx, pnid, wamid, events.Options{StatusFilter: "bogus"})
	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad filter: %v, want Invalid", err)
	}
	_, err = f.svc.Timeline(ctx, "", wamid, events.Options{})
	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("no number: %v, want Invalid", err)
	}
	if f.meta.Count() != 0 {
		t.Fatalf("%d calls to Meta for refused requests", f.meta.Count())
	}
}
