package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/provider/providertest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const (
	tlPNID    = "106540352242922"
	tlToken   = "EAAGtimelineTOKEN0123456789abcdef"
	tlWAMID   = "wamid.HBgLNTUxMTk4NzY1MDAwMBUCABEYEjQ3OEE1/zI3RjU2QjFGM0E2+wA="
	tlHistory = "5550192837465011"
)

const tlEventsPage = `{"data":[
 {"node":{"id":"7301928374650011","delivery_status":"SENT","occurrence_timestamp":1761040234,"status_timestamp":1761040236,"application":{"id":"1029384756473829","name":"Atende Cloud Inbox"}}},
 {"node":{"id":"7301928374650012","delivery_status":"DELIVERED","occurrence_timestamp":1761040239,"status_timestamp":1761040240,"application":{"id":"1029384756473829","name":"Atende Cloud Inbox"},"webhook_update_state":"SUCCESS","webhook_uri":"https://hooks.example.com/wa"}},
 {"node":{"id":"7301928374650013","delivery_status":"READ","occurrence_timestamp":1761041187,"status_timestamp":1761041188,"error_description":"<b>not bold</b>"}}
]}`

// newTimelineMeta is the fake Graph API for the timeline endpoints: it knows the outbound
// message and its events page.
func newTimelineMeta(t *testing.T) *providertest.Server {
	m := providertest.New(t)
	m.RequireToken(tlToken)
	m.Message(tlPNID, tlWAMID, tlHistory, tlEventsPage)
	return m
}

// timelineApp is the app with one Meta number and one outbound message.
func timelineApp(t *testing.T, dialect string) (*apptest.App, *providertest.Server) {
	t.Helper()
	meta := newTimelineMeta(t)
	app := apptest.New(t, dialect, apptest.Options{Env: map[string]string{"COEX_GRAPH_BASE_URL": meta.URL}})
	ctx := context.Background()
	_, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
		Label: "Loja Centro", DisplayPhoneNumber: "5511987650000", PhoneNumberID: tlPNID, WABAID: "810023456789012",
		Provider: models.ProviderMeta, AccessToken: tlToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ wamid, direction string }{{tlWAMID, "outbound"}, {"wamid.inbound1", "inbound"}} {
		now := time.Now().UTC()
		_, err := app.DB.SQL().ExecContext(ctx, `INSERT INTO messages (phone_number_id, wamid, thread_id, contact_wa_id,
			direction, type, text, ts, status, origin, edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order,
			position, raw, created_at, updated_at) VALUES (?, ?, 1, '5511912345678', ?, 'text', 'Pedido confirmado', 1761040230,
			'sent', 'live', false, false, '', '', '', 0, 0, 0, '{}', ?, ?)`, tlPNID, m.wamid, m.direction, now, now)
		if err != nil {
			t.Fatal(err)
		}
	}
	return app, meta
}

func timelinePath(wamid, query string) string {
	return "/messages/" + url.PathEscape(wamid) + "/events?" + query
}

func parseHTML(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestTimelineFragment(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, meta := timelineApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			pq := "phone_number_id=" + tlPNID

			res, body := agent.Get(timelinePath(tlWAMID, pq), apptest.HX())
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET timeline = %d: %.300s", res.StatusCode, body)
			}
			doc := parseHTML(t, body)
			if doc.Find(".topbar, nav").Length() != 0 {
				t.Fatal("fragment rendered inside the page layout")
			}
			tl := doc.Find(`[data-testid=timeline]`)
			if tl.Length() != 1 || tl.AttrOr("data-status", "") != "read" || tl.AttrOr("data-wamid", "") != tlWAMID {
				t.Fatalf("timeline container: %d, status %q, wamid %q", tl.Length(), tl.AttrOr("data-status", ""), tl.AttrOr("data-wamid", ""))
			}
			var steps []string
			doc.Find(`[data-testid=timeline-step]`).Each(func(_ int, s *goquery.Selection) {
				steps = append(steps, s.AttrOr("data-status", "")+"/"+s.AttrOr("data-source", ""))
			})
			if strings.Join(steps, " ") != "sent/api delivered/api read/api" {
				t.Fatalf("steps %v", steps)
			}
			second := doc.Find(`[data-testid=timeline-step]`).Eq(1)
			if txt := second.Text(); !strings.Contains(txt, "Atende Cloud Inbox") || !strings.Contains(txt, "Status webhook delivered") ||
				!strings.Contains(txt, "https://hooks.example.com/wa") || !strings.Contains(txt, "2025-10-21 09:50") {
				t.Fatalf("delivered step text: %q", txt)
			}
			if got := doc.Find(`[data-testid=timeline-step-error]`).Text(); got != "<b>not bold</b>" {
				t.Fatalf("error description %q (must be escaped text)", got)
			}
			if doc.Find(`[data-testid=timeline-webhook-missing]`).Length() != 3 {
				t.Fatalf("webhook-missing marks: %d, want 3 (no status webhook stored)", doc.Find(`[data-testid=timeline-webhook-missing]`).Length())
			}
			if doc.Find(`[data-testid=timeline-note]`).Length() != 0 {
				t.Fatalf("unexpected note %q", doc.Find(`[data-testid=timeline-note]`).Text())
			}
			refresh := doc.Find(`[data-testid=timeline-refresh]`)
			if want := "/messages/" + url.PathEscape(tlWAMID) + "/events/refresh?phone_number_id=" + tlPNID; refresh.AttrOr("hx-post", "") != want {
				t.Fatalf("refresh hx-post %q, want %q", refresh.AttrOr("hx-post", ""), want)
			}
			if meta.Count() != 2 {
				t.Fatalf("%d calls to Meta, want 2", meta.Count())
			}

			// The filter narrows the steps; the cache answers (no new call).
			_, body = agent.Get(timelinePath(tlWAMID, pq+"&status=delivered"), apptest.HX())
			doc = parseHTML(t, body)
			if n := doc.Find(`[data-testid=timeline-step]`).Length(); n != 1 || doc.Find(`[data-testid=timeline-step]`).AttrOr("data-status", "") != "delivered" {
				t.Fatalf("filtered: %d steps", n)
			}
			if doc.Find(`[data-testid=timeline-filter] option[selected]`).AttrOr("value", "") != "delivered" {
				t.Fatal("the filter select does not show the chosen status")
			}
			if meta.Count() != 2 {
				t.Fatalf("%d calls to Meta after a cached read, want 2", meta.Count())
			}

			// Refresh needs the CSRF token, and asks Meta again.
			refreshURL := refresh.AttrOr("hx-post", "")
			res, _ = agent.PostForm(refreshURL, url.Values{"_csrf": {"wrong"}}, apptest.HX())
			if res.StatusCode != http.StatusForbidden || meta.Count() != 2 {
				t.Fatalf("refresh with a bad CSRF token = %d, %d calls", res.StatusCode, meta.Count())
			}
			res, body = agent.PostForm(refreshURL, url.Values{"status": {"read"}}, apptest.HX())
			if res.StatusCode != http.StatusOK || meta.Count() != 4 {
				t.Fatalf("refresh = %d, %d calls; want 200, 4", res.StatusCode, meta.Count())
			}
			doc = parseHTML(t, body)
			if n := doc.Find(`[data-testid=timeline-step]`).Length(); n != 1 || doc.Find(`[data-testid=timeline]`).Length() != 1 {
				t.Fatalf("refreshed fragment: %d steps", n)
			}
		})
	}
}

func TestTimelineNotesAndRefusals(t *testing.T) {
	app, meta := timelineApp(t, "sqlite")
	agent := app.Login(apptest.AgentEmail)
	meta.Script(providertest.Any, providertest.Reply{Status: http.StatusNotFound, Body: providertest.NotFoundBody})

	res, body := agent.Get(timelinePath(tlWAMID, "phone_number_id="+tlPNID), apptest.HX())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("Meta 404 = HTTP %d, want the fragment with a note", res.StatusCode)
	}
	note := parseHTML(t, body).Find(`[data-testid=timeline-note]`)
	if !strings.Contains(note.Text(), "Meta has no delivery history for this message") || note.AttrOr("role", "") != "alert" {
		t.Fatalf("note %q role %q", note.Text(), note.AttrOr("role", ""))
	}

	cases := []struct {
		name, path string
		header     http.Header
		status     int
		want       string
	}{
		{"unknown message", timelinePath("wamid.nope", "phone_number_id="+tlPNID), apptest.HX(), 404, "This message is not in the archive."},
		{"other number", timelinePath(tlWAMID, "phone_number_id=999"), apptest.HX(), 404, "This message is not in the archive."},
		{"no number", timelinePath(tlWAMID, ""), apptest.HX(), 422, "phone_number_id"},
		{"bad filter", timelinePath(tlWAMID, "phone_number_id="+tlPNID+"&status=bogus"), apptest.HX(), 422, "Unknown status filter"},
		{"inbound message", timelinePath("wamid.inbound1", "phone_number_id="+tlPNID), apptest.HX(), 200, "only for messages the business sent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := agent.Get(tc.path, tc.header)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("= %d, want %d with %q: %.400s", res.StatusCode, tc.status, tc.want, body)
			}
		})
	}

	t.Run("anonymous", func(t *testing.T) {
		res, _ := app.Anonymous().Get(timelinePath(tlWAMID, "phone_number_id="+tlPNID), nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Fatalf("anonymous = %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestTimelineAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, _ := timelineApp(t, dialect)
			token := app.Token(models.RoleAgent)
			path := "/api/v1" + timelinePath(tlWAMID, "phone_number_id="+tlPNID)

			res, body := app.API(http.MethodGet, path, token, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET = %d: %s", res.StatusCode, body)
			}
			var got struct {
				Data struct {
					WAMID     string     `json:"wamid"`
					Status    string     `json:"status"`
					FetchedAt *time.Time `json:"fetched_at"`
					Note      *string    `json:"note"`
					Steps     []struct {
						Status              string                     `json:"status"`
						Source              string                     `json:"source"`
						OccurrenceTimestamp *int64                     `json:"occurrence_timestamp"`
						StatusTimestamp     *int64                     `json:"status_timestamp"`
						Application         *struct{ ID, Name string } `json:"application"`
						WebhookUpdateState  string                     `json:"webhook_update_state"`
						WebhookURI          string                     `json:"webhook_uri"`
						ErrorDescription    *string                    `json:"error_description"`
						EventID             string                     `json:"event_id"`
					} `json:"steps"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			d := got.Data
			if d.WAMID != tlWAMID || d.Status != "read" || d.FetchedAt == nil || d.Note == nil || *d.Note != "" || len(d.Steps) != 3 {
				t.Fatalf("data %+v", d)
			}
			s := d.Steps[1]
			if s.Status != "delivered" || s.Source != "api" || s.OccurrenceTimestamp == nil || *s.OccurrenceTimestamp != 1761040239 ||
				s.StatusTimestamp == nil || *s.StatusTimestamp != 1761040240 || s.Application == nil || s.Application.Name != "Atende Cloud Inbox" ||
				s.WebhookUpdateState != "SUCCESS" || s.WebhookURI != "https://hooks.example.com/wa" || s.EventID != "7301928374650012" ||
				s.ErrorDescription == nil {
				t.Fatalf("step %+v", s)
			}
			if d.Steps[2].Application != nil || *d.Steps[2].ErrorDescription != "<b>not bold</b>" {
				t.Fatalf("third step %+v", d.Steps[2])
			}

			for _, tc := range []struct {
				name, path, token string
				status            int
			}{
				{"no token", path, "", 401},
				{"unknown message", "/api/v1" + timelinePath("wamid.nope", "phone_number_id="+tlPNID), token, 404},
				{"admin token", path, app.Token(models.RoleAdmin), 200},
			} {
				res, body := app.API(http.MethodGet, tc.path, tc.token, nil)
				if res.StatusCode != tc.status || !json.Valid([]byte(body)) {
					t.Fatalf("%s = %d, want %d: %s", tc.name, res.StatusCode, tc.status, body)
				}
			}
		})
	}
}
