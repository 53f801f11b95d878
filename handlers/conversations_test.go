package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// convAdd stores one more message in a thread, as ingest would, and moves its activity.
func convAdd(t *testing.T, db *store.DB, th models.Thread, m convMsg) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO messages (phone_number_id, wamid, thread_id, contact_wa_id, direction, type, text,
		ts, status, origin, edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order, position, raw, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, 0, 0, '{}', ?, ?)`,
		th.PhoneNumberID, m.wamid, th.ID, th.ContactWAID, m.direction, m.typ, m.text, m.ts, m.status, m.origin, false, false, m.mediaID, m.mime, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE threads SET message_count = message_count + 1, last_message_at = ? WHERE id = ?`, m.ts, th.ID); err != nil {
		t.Fatal(err)
	}
}

type convItem struct{ contact, preview, number, isNew string }

func convItems(t *testing.T, body string) []convItem {
	t.Helper()
	var out []convItem
	convDoc(t, body).Find(`[data-testid=conversation]`).Each(func(_ int, s *goquery.Selection) {
		isNew := ""
		if s.Find(`[data-testid=conversation-new]`).Length() > 0 {
			isNew = "new"
		}
		out = append(out, convItem{strings.TrimSpace(s.Find(`[data-testid=conversation-contact]`).Text()),
			strings.TrimSpace(s.Find(`[data-testid=conversation-preview]`).Text()),
			strings.TrimSpace(s.Find(`[data-testid=conversation-number]`).Text()), isNew})
	})
	return out
}

func TestConversations(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			// look fetches a page as a browser shows it: once loaded, a conversations page
			// reports that its reader has seen the list (a POST with the CSRF token).
			look := func(cl *apptest.Client, path string) (*http.Response, string) {
				t.Helper()
				res, body := cl.Get(path, nil)
				if u, ok := convDoc(t, body).Find(`[data-testid="mark-seen"]`).Attr("hx-post"); ok {
					if r, b := cl.PostForm(u, nil, apptest.HX()); r.StatusCode != http.StatusNoContent {
						t.Fatalf("POST %s = %d: %.200s", u, r.StatusCode, b)
					}
				}
				return res, body
			}
			// Agents land on the conversations; every number's, newest activity first.
			res, body := look(agent, "/")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET / = %d", res.StatusCode)
			}
			want := []convItem{
				{"Ana Souza", "🚫 Message deleted", "Doces da Vila", ""},
				{"Ana Souza", "Tem bolo de chocolate?", "Outra Loja", ""},
				{"Carla Dias", "You: mensagem numero 449 sobre encomenda", "Doces da Vila", ""},
				{"Bruno Lima", "You: Nós que agradecemos. Pedido #4471 confirmado.", "Doces da Vila", ""},
			}
			if got := convItems(t, body); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("home lists\n %v\nwant\n %v", got, want)
			}
			// Admins land on the numbers; they have the conversations in the top bar.
			admin := app.Login(apptest.AdminEmail)
			if _, body := admin.Get("/", nil); !strings.Contains(body, `data-testid="number-row"`) {
				t.Fatal("the admin's home is not the numbers table")
			}
			if _, body := look(admin, "/conversations"); len(convItems(t, body)) != 4 {
				t.Fatal("the admin does not see the conversations")
			}

			// Kind-aware previews; "New" for activity since the last look.
			convAdd(t, app.DB, f.bruno, convMsg{wamid: "wamid.bruno3", direction: "inbound", typ: "audio", mime: "audio/ogg; codecs=opus",
				mediaID: "77", status: "read", origin: "live", ts: time.Now().Unix() - 60})
			convAdd(t, app.DB, f.other, convMsg{wamid: "wamid.other2", direction: "outbound", typ: "image", text: "Olha   o\nbolo", mime: "image/jpeg",
				mediaID: "78", status: "sent", origin: "echo", ts: time.Now().Unix() - 120})
			_, body = agent.Get("/conversations", nil)
			want = []convItem{
				{"Bruno Lima", "🎤 Voice note", "Doces da Vila", "new"},
				{"Ana Souza", "You: 📷 Photo · Olha o bolo", "Outra Loja", "new"},
				{"Ana Souza", "🚫 Message deleted", "Doces da Vila", ""},
				{"Carla Dias", "You: mensagem numero 449 sobre encomenda", "Doces da Vila", ""},
			}
			if got := convItems(t, body); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after new messages\n %v\nwant\n %v", got, want)
			}
			// A plain GET changes nothing (a link from another site cannot clear the marks),
			// and the page's report needs the CSRF token.
			_, body = agent.Get("/conversations", nil)
			if got := convItems(t, body); got[0].isNew != "new" {
				t.Fatalf("a GET cleared the marks: %v", got[0])
			}
			seen := convDoc(t, body).Find(`[data-testid="mark-seen"]`).AttrOr("hx-post", "")
			if res, _ := agent.Do(http.MethodPost, seen, nil, apptest.HX()); res.StatusCode != http.StatusForbidden {
				t.Fatalf("POST %s without the CSRF token = %d, want 403", seen, res.StatusCode)
			}
			if res, _ := agent.PostForm("/conversations/seen?at=soon", nil, apptest.HX()); res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("POST a bad time = %d, want 422", res.StatusCode)
			}
			if got := convItems(t, func() string { _, b := agent.Get("/conversations", nil); return b }()); got[0].isNew != "new" {
				t.Fatalf("refused reports cleared the marks: %v", got[0])
			}
			// Looked at: no longer new; the admin's own marks are theirs.
			look(agent, "/conversations")
			if got := convItems(t, func() string { _, b := look(agent, "/conversations"); return b }()); got[0].isNew != "" {
				t.Fatalf("still new after a look: %v", got[0])
			}
			if got := convItems(t, func() string { _, b := look(admin, "/conversations"); return b }()); got[0].isNew != "new" {
				t.Fatalf("the agent's look cleared the admin's marks: %v", got[0])
			}

			// Filters: the number, the contact (case, accents, any part of the phone).
			_, body = agent.Get(fmt.Sprintf("/conversations?number=%d", f.number2ID), nil)
			if got := convItems(t, body); len(got) != 1 || got[0].number != "Outra Loja" {
				t.Fatalf("number filter %v", got)
			}
			for filter, wantContacts := range map[string]string{
				"ana":           "Ana Souza,Ana Souza",
				"SOUZA":         "Ana Souza,Ana Souza",
				"5678":          "Ana Souza,Ana Souza",
				"11 91234-5678": "Ana Souza,Ana Souza",
				"+55 21 99887":  "Bruno Lima",
				"carla dias":    "Carla Dias",
				"nobody":        "",
			} {
				res, body := agent.Get("/conversations?"+url.Values{"contact": {filter}}.Encode(), apptest.HX())
				if res.StatusCode != http.StatusOK {
					t.Fatalf("filter %q = %d", filter, res.StatusCode)
				}
				var got []string
				for _, it := range convItems(t, body) {
					got = append(got, it.contact)
				}
				if strings.Join(got, ",") != wantContacts {
					t.Errorf("contact %q lists %v, want %s", filter, got, wantContacts)
				}
				if strings.Contains(body, "<html") {
					t.Errorf("the filter's answer is a whole page")
				}
			}
			// Hostile text is escaped in previews.
			convAdd(t, app.DB, f.carla, convMsg{wamid: "wamid.carlaX", direction: "inbound", typ: "text", text: convHostile, status: "read", origin: "live", ts: time.Now().Unix()})
			_, body = agent.Get("/conversations", nil)
			if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)") {
				t.Fatal("the preview is not escaped")
			}
		})
	}
}

// TestConversationsPages: "Load more" walks every conversation once.
func TestConversationsPages(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	for i := 0; i < 120; i++ {
		convThread(t, app.DB, convPNID, fmt.Sprintf("55119000%05d", i), fmt.Sprintf("Cliente %03d", i),
			[]convMsg{{wamid: fmt.Sprintf("wamid.p%d", i), direction: "inbound", typ: "text", text: "oi", status: "read", origin: "live", ts: 1760000000 + int64(i)}})
	}
	agent := app.Login(apptest.AgentEmail)
	_, body := agent.Get("/conversations", nil)
	seen := map[string]bool{}
	for page := 0; ; page++ {
		items := convItems(t, body)
		for _, it := range items {
			if seen[it.contact] {
				t.Fatalf("%s listed twice", it.contact)
			}
			seen[it.contact] = true
		}
		more, ok := convDoc(t, body).Find(`[data-testid=conversations-load-more]`).Attr("hx-get")
		if !ok {
			break
		}
		if page > 5 {
			t.Fatal("no end")
		}
		_, body = agent.Get(more, apptest.HX())
		if strings.Contains(body, "<html") {
			t.Fatal("Load more answered a whole page")
		}
	}
	if len(seen) != 120 || !seen["Cliente 000"] || !seen["Cliente 119"] {
		t.Fatalf("saw %d conversations", len(seen))
	}
}

// TestLivePolls: the live addresses answer 204 while nothing changed and the new content
// once it did, from the database alone (any instance can answer).
func TestLivePolls(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			_, body := agent.Get(fmt.Sprintf("/threads/%d", f.bruno.ID), nil)
			live, ok := convDoc(t, body).Find(`#thread-end`).Attr("data-live-url")
			if !ok || live == "" {
				t.Fatal("the end of the thread has no live address")
			}
			_, body = agent.Get("/conversations", nil)
			listLive := convDoc(t, body).Find(`#conversation-list`).AttrOr("data-live-url", "")
			for _, u := range []string{live, listLive} {
				if res, body := agent.Get(u, apptest.HX()); res.StatusCode != http.StatusNoContent {
					t.Fatalf("GET %s = %d before anything changed: %.200s", u, res.StatusCode, body)
				}
			}
			convAdd(t, app.DB, f.bruno, convMsg{wamid: "wamid.bruno.live", direction: "inbound", typ: "text", text: "chegou", status: "read", origin: "live", ts: time.Now().Unix()})
			res, body := agent.Get(live, apptest.HX())
			d := convDoc(t, body)
			if res.StatusCode != http.StatusOK || d.Find(`[data-wamid="wamid.bruno.live"]`).Length() != 1 {
				t.Fatalf("thread poll after a message = %d: %.300s", res.StatusCode, body)
			}
			next, _ := d.Find(`#thread-end`).Attr("data-live-url")
			if next == "" || next == live {
				t.Fatalf("the answer carries no new live address: %q", next)
			}
			if res, _ := agent.Get(next, apptest.HX()); res.StatusCode != http.StatusNoContent {
				t.Fatalf("next poll = %d", res.StatusCode)
			}
			res, body = agent.Get(listLive, apptest.HX())
			if res.StatusCode != http.StatusOK || convItems(t, body)[0].preview != "chegou" {
				t.Fatalf("list poll after a message = %d: %v", res.StatusCode, convItems(t, body))
			}
		})
	}
}
