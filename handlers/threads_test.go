package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// The conversation fixture: two registered numbers and four threads.
const (
	convPNID      = "623400011122233"
	convPNID2     = "623400099988877"
	convHostile   = `<script>alert(1)</script> <img src=x onerror=alert(2)> <a href="javascript:alert(3)">clique</a> & "aspas"`
	convLongCount = 450 // messages of the long thread (more than one export page)
)

// convDay is the first day of Ana's recent messages: three days ago (UTC), so that their
// media are within Meta's 14 days; her first message (2025-09-20) is long past them.
var convDay = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)

// convTS is a time on convDay (day 0) or a day after it, as unix seconds.
func convTS(day int, clock string) int64 {
	d, err := time.ParseDuration(clock)
	if err != nil {
		panic(err)
	}
	return convDay.AddDate(0, 0, day).Add(d).Unix()
}

type convMsg struct {
	wamid, direction, typ, text, status, origin, mediaID, mime, reactionTo, raw string
	ts                                                                          int64
	edited, deleted                                                             bool
}

// convFixture is what the fixture created.
type convFixture struct {
	numberID, number2ID uint64
	ana, bruno, carla   models.Thread // on convPNID
	other               models.Thread // on convPNID2
}

func convApp(t *testing.T, dialect string) (*apptest.App, convFixture) {
	t.Helper()
	app := apptest.New(t, dialect, apptest.Options{})
	ctx := context.Background()
	var f convFixture
	for i, n := range []struct{ label, pnid string }{{"Doces da Vila", convPNID}, {"Outra Loja", convPNID2}} {
		created, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
			Label: n.label, DisplayPhoneNumber: "551198765000" + fmt.Sprint(i), PhoneNumberID: n.pnid, WABAID: "810023456789012",
			Provider: models.ProviderMeta, AccessToken: "EAAGconvTOKEN0123456789",
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.numberID = created.ID
		} else {
			f.number2ID = created.ID
		}
	}
	anaMsgs := []convMsg{
		{wamid: "wamid.ana0", direction: "inbound", typ: "image", text: "foto antiga do bolo", mediaID: "9990001", mime: "image/jpeg", status: "read", origin: "history", ts: 1758361290},
		{wamid: "wamid.ana1", direction: "inbound", typ: "text", text: "Oi! Vocês ainda têm o bolo de cenoura para sábado?", status: "read", origin: "history", ts: convTS(0, "9h55m")},
		{wamid: "wamid.ana2", direction: "outbound", typ: "text", text: "Temos sim! Separo um para você?\nRetirada até as 14h.", status: "read", origin: "history", ts: convTS(0, "9h56m27s")},
		{wamid: "wamid.ana3", direction: "inbound", typ: "media_placeholder", status: "read", origin: "history", ts: convTS(0, "10h0m2s")},
		{wamid: "wamid.anaR", direction: "inbound", typ: "reaction", text: "❤️", reactionTo: "wamid.ana2", status: "read", origin: "history", ts: convTS(0, "10h0m55s")},
		{wamid: "wamid.ana4", direction: "outbound", typ: "location", text: "Doces da Vila — Av. Paulista, 1000", status: "delivered", origin: "history", ts: convTS(0, "10h2m"),
			raw: `{"from":"5511987650000","id":"wamid.ana4","type":"location","location":{"latitude":-23.561684,"longitude":-46.655981,"name":"Doces da Vila","address":"Av. Paulista, 1000"}}`},
		{wamid: "wamid.ana5", direction: "inbound", typ: "text", text: convHostile, status: "read", origin: "live", ts: convTS(1, "10h")},
		{wamid: "wamid.ana6", direction: "outbound", typ: "image", text: "Foto do pedido pronto", mediaID: "1234567890", mime: "image/jpeg", status: "delivered", origin: "echo", ts: convTS(1, "10h1m40s"), edited: true},
		{wamid: "wamid.ana7", direction: "inbound", typ: "text", text: "mensagem apagada pelo cliente", status: "read", origin: "live", ts: convTS(1, "10h3m20s"), deleted: true},
	}
	brunoMsgs := []convMsg{
		{wamid: "wamid.bruno1", direction: "inbound", typ: "text", text: "Ouvi o áudio, fechado então. Obrigado!", status: "read", origin: "history", ts: 1758361544},
		{wamid: "wamid.bruno2", direction: "outbound", typ: "text", text: "Nós que agradecemos. Pedido #4471 confirmado.", status: "sent", origin: "history", ts: 1758361702},
	}
	var carlaMsgs []convMsg
	for i := 0; i < convLongCount; i++ {
		dir := "inbound"
		if i%2 == 1 {
			dir = "outbound"
		}
		// Ten minutes apart from 2025-10-10 00:00 UTC: the thread spans four days.
		carlaMsgs = append(carlaMsgs, convMsg{wamid: fmt.Sprintf("wamid.carla%03d", i), direction: dir, typ: "text",
			text: fmt.Sprintf("mensagem numero %d sobre encomenda", i), status: "sent", origin: "history", ts: 1760054400 + int64(i)*600})
	}
	otherMsgs := []convMsg{
		{wamid: "wamid.other1", direction: "inbound", typ: "text", text: "Tem bolo de chocolate?", status: "read", origin: "live", ts: 1761000000},
	}
	f.ana = convThread(t, app.DB, convPNID, "5511912345678", "Ana Souza", anaMsgs)
	f.bruno = convThread(t, app.DB, convPNID, "5521998877665", "Bruno Lima", brunoMsgs)
	f.carla = convThread(t, app.DB, convPNID, "5531977776666", "Carla Dias", carlaMsgs)
	f.other = convThread(t, app.DB, convPNID2, "5511912345678", "Ana Souza", otherMsgs)
	return app, f
}

// convThread inserts a thread and its messages in one transaction.
func convThread(t *testing.T, db *store.DB, pnid, waID, name string, msgs []convMsg) models.Thread {
	t.Helper()
	ctx := context.Background()
	th := models.Thread{PhoneNumberID: pnid, ContactWAID: waID, ContactName: name, MessageCount: len(msgs),
		FirstMessageAt: msgs[0].ts, LastMessageAt: msgs[0].ts}
	for _, m := range msgs {
		th.FirstMessageAt, th.LastMessageAt = min(th.FirstMessageAt, m.ts), max(th.LastMessageAt, m.ts)
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `INSERT INTO threads (phone_number_id, contact_wa_id, contact_name, message_count, first_message_at, last_message_at)
		VALUES (?, ?, ?, ?, ?, ?)`, th.PhoneNumberID, th.ContactWAID, th.ContactName, th.MessageCount, th.FirstMessageAt, th.LastMessageAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM threads WHERE phone_number_id = ? AND contact_wa_id = ?`, pnid, waID).Scan(&th.ID); err != nil {
		t.Fatal(err)
	}
	// Stored an hour ago: a page made now shows them as they are, not as just changed
	// (a thread's live poll re-sends what changed in the last few seconds).
	now := time.Now().UTC().Add(-time.Hour)
	for _, m := range msgs {
		raw := m.raw
		if raw == "" {
			raw = "{}"
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO messages (phone_number_id, wamid, thread_id, contact_wa_id, direction, type, text,
			ts, status, origin, edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order, position, raw, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?)`,
			pnid, m.wamid, th.ID, waID, m.direction, m.typ, m.text, m.ts, m.status, m.origin, m.edited, m.deleted,
			m.mediaID, m.mime, m.reactionTo, raw, now, now)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return th
}

func convDoc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func convAttrs(sel *goquery.Selection, name string) []string {
	var out []string
	sel.Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr(name, "")) })
	return out
}

func TestNumberThreadList(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			path := fmt.Sprintf("/numbers/%d/threads", f.numberID)

			res, body := agent.Get(path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", path, res.StatusCode)
			}
			d := convDoc(t, body)
			if d.Find(".topbar").Length() != 1 {
				t.Fatal("full page without the layout")
			}
			// Most recent activity first: Ana (days ago), Carla (2025-10-13), Bruno (2025-09-20).
			want := []string{fmt.Sprint(f.ana.ID), fmt.Sprint(f.carla.ID), fmt.Sprint(f.bruno.ID)}
			if got := convAttrs(d.Find(`[data-testid=thread-row]`), "data-thread-id"); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("rows %v, want %v", got, want)
			}
			first := d.Find(`[data-testid=thread-row]`).First()
			if first.Find(`[data-testid=thread-link]`).Text() != "Ana Souza" || first.Find(`[data-testid=thread-count]`).Text() != "9" {
				t.Fatalf("first row %q", first.Text())
			}
			if href := first.Find(`[data-testid=thread-link]`).AttrOr("href", ""); href != fmt.Sprintf("/threads/%d#thread-end", f.ana.ID) {
				t.Fatalf("link %q", href)
			}
			if res.Header.Get("Vary") != "HX-Request" {
				t.Fatalf("Vary %q", res.Header.Get("Vary"))
			}

			// The contact filter over HTMX: the list region only, and the URL to push.
			hx := apptest.HX()
			hx.Set("HX-Current-URL", app.Server.URL+path)
			res, body = agent.Get(path+"?contact=bruno", hx)
			d = convDoc(t, body)
			if res.StatusCode != http.StatusOK || d.Find(".topbar").Length() != 0 || d.Find(`#thread-list`).Length() != 1 {
				t.Fatalf("fragment %d: %.300s", res.StatusCode, body)
			}
			if got := convAttrs(d.Find(`[data-testid=thread-row]`), "data-thread-id"); len(got) != 1 || got[0] != fmt.Sprint(f.bruno.ID) {
				t.Fatalf("filtered rows %v", got)
			}
			if got := res.Header.Get("HX-Push-Url"); got != path+"?contact=bruno" {
				t.Fatalf("HX-Push-Url %q", got)
			}
			// Loaded into another page (the number page): the list, and no URL change.
			hx.Set("HX-Current-URL", app.Server.URL+fmt.Sprintf("/numbers/%d", f.numberID))
			res, body = agent.Get(path, hx)
			if got := convAttrs(convDoc(t, body).Find(`[data-testid=thread-row]`), "data-thread-id"); res.StatusCode != http.StatusOK || len(got) != 3 || res.Header.Get("HX-Push-Url") != "" {
				t.Fatalf("embedded list = %d, %d rows, push %q", res.StatusCode, len(got), res.Header.Get("HX-Push-Url"))
			}
			// By phone digits, with formatting.
			_, body = agent.Get(path+"?contact="+url.QueryEscape("+55 31 9"), apptest.HX())
			if got := convAttrs(convDoc(t, body).Find(`[data-testid=thread-row]`), "data-thread-id"); len(got) != 1 || got[0] != fmt.Sprint(f.carla.ID) {
				t.Fatalf("phone filter rows %v", got)
			}
			_, body = agent.Get(path+"?contact=nobody", apptest.HX())
			if !strings.Contains(convDoc(t, body).Find(`[data-testid=threads-empty]`).Text(), "nobody") {
				t.Fatalf("no empty state: %.300s", body)
			}
			// A bad cursor is a friendly message, never a 500.
			res, body = agent.Get(path+"?cursor=%21%21garbage", nil)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "no longer valid") {
				t.Fatalf("bad cursor = %d: %.300s", res.StatusCode, body)
			}
			// Unknown number.
			if res, _ := agent.Get("/numbers/99999/threads", nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown number = %d", res.StatusCode)
			}
		})
	}
}

func TestNumberThreadListPages(t *testing.T) {
	app, f := convApp(t, "sqlite")
	// 30 more threads on the number: two pages of 25.
	for i := 0; i < 30; i++ {
		convThread(t, app.DB, convPNID, fmt.Sprintf("55119000000%02d", i), fmt.Sprintf("Cliente %02d", i),
			[]convMsg{{wamid: fmt.Sprintf("wamid.extra%02d", i), direction: "inbound", typ: "text", text: "oi", origin: "live", ts: 1750000000 + int64(i)}})
	}
	agent := app.Login(apptest.AgentEmail)
	path := fmt.Sprintf("/numbers/%d/threads", f.numberID)
	_, body := agent.Get(path, nil)
	d := convDoc(t, body)
	seen := convAttrs(d.Find(`[data-testid=thread-row]`), "data-thread-id")
	more := d.Find(`[data-testid=threads-load-more]`).AttrOr("hx-get", "")
	if len(seen) != 25 || more == "" {
		t.Fatalf("first page: %d rows, more %q", len(seen), more)
	}
	res, body := agent.Get(more, apptest.HX())
	if res.StatusCode != http.StatusOK || strings.Contains(body, "<table") || !strings.HasPrefix(strings.TrimSpace(body), "<tr") {
		t.Fatalf("load more = %d: %.200s", res.StatusCode, body)
	}
	d = convDoc(t, "<table><tbody>"+body+"</tbody></table>") // rows, as HTMX parses them
	seen = append(seen, convAttrs(d.Find(`[data-testid=thread-row]`), "data-thread-id")...)
	if len(seen) != 33 || d.Find(`[data-testid=threads-load-more]`).Length() != 0 {
		t.Fatalf("after load more: %d rows", len(seen))
	}
	unique := map[string]bool{}
	for _, id := range seen {
		unique[id] = true
	}
	if len(unique) != 33 {
		t.Fatalf("repeated rows: %v", seen)
	}
}

func TestThreadView(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			res, body := agent.Get(fmt.Sprintf("/threads/%d", f.ana.ID), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET thread = %d: %.300s", res.StatusCode, body)
			}
			d := convDoc(t, body)
			if got := d.Find(`[data-testid=thread-title]`).Text(); got != "Ana Souza" {
				t.Fatalf("title %q", got)
			}
			// Oldest to newest, the reaction not a bubble of its own.
			want := []string{"wamid.ana0", "wamid.ana1", "wamid.ana2", "wamid.ana3", "wamid.ana4", "wamid.ana5", "wamid.ana6", "wamid.ana7"}
			bubbles := d.Find(`[data-testid=bubble]`)
			if got := convAttrs(bubbles, "data-wamid"); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("bubbles %v", got)
			}
			// Day separators: 2025-09-20 (inside the start marker), convDay, the day after.
			wantDays := convDay.Format(time.DateOnly) + " " + convDay.AddDate(0, 0, 1).Format(time.DateOnly)
			if got := convAttrs(d.Find(`[data-testid=day-separator]`), "data-day"); strings.Join(got, " ") != wantDays {
				t.Fatalf("separators %v", got)
			}
			if !strings.Contains(d.Find(`[data-testid=chat-start]`).Text(), "Saturday, 20 September 2025") {
				t.Fatalf("start %q", d.Find(`[data-testid=chat-start]`).Text())
			}
			if d.Find(`[data-testid=load-older]`).Length() != 0 || d.Find(`#thread-end`).Length() != 1 {
				t.Fatal("a short thread has no loaders and ends with #thread-end")
			}
			bubble := func(wamid string) *goquery.Selection { return d.Find(`[data-wamid="` + wamid + `"]`) }
			// Sides and ticks.
			if !bubble("wamid.ana1").HasClass("inbound") || !bubble("wamid.ana2").HasClass("outbound") {
				t.Fatal("bubble sides")
			}
			if tk := bubble("wamid.ana2").Find(`[data-testid=ticks]`); tk.Text() != "✓✓" || !tk.HasClass("read") {
				t.Fatalf("read ticks %q", tk.Text())
			}
			if bubble("wamid.ana1").Find(`[data-testid=ticks]`).Length() != 0 {
				t.Fatal("ticks on an inbound message")
			}
			if got := bubble("wamid.ana2").Find(`[data-testid=bubble-text]`).Text(); got != "Temos sim! Separo um para você?\nRetirada até as 14h." {
				t.Fatalf("text %q", got)
			}
			// The reaction sits under the message it reacts to.
			if got := bubble("wamid.ana2").Find(`[data-testid=reactions]`).Text(); got != "❤️" {
				t.Fatalf("reactions %q", got)
			}
			// Location: name, address, coordinates.
			loc := bubble("wamid.ana4").Find(`[data-testid=location]`)
			if !strings.Contains(loc.Text(), "Doces da Vila") || loc.Find(`[data-testid=coordinates]`).Text() != "-23.561684, -46.655981" {
				t.Fatalf("location %q", loc.Text())
			}
			// Media: with an id → downloading; recent placeholder without id → waiting for it.
			for wamid, want := range map[string]string{
				"wamid.ana0": "downloading… (media id 9990001)", // a media id arrived: its age does not matter
				"wamid.ana3": "media not available (no media id received yet)",
				"wamid.ana6": "media id 1234567890",
			} {
				if got := strings.Join(strings.Fields(bubble(wamid).Find(`[data-testid=media]`).Text()), " "); !strings.Contains(got, want) {
					t.Errorf("%s media %q, want %q", wamid, got, want)
				}
			}
			// Edited, deleted, origin badges.
			if bubble("wamid.ana6").Find(`[data-testid=bubble-edited]`).Length() != 1 || bubble("wamid.ana6").Find(`[data-testid=bubble-origin]`).Text() != "phone app" {
				t.Fatal("edited mark or echo origin missing")
			}
			if !bubble("wamid.ana7").HasClass("is-deleted") || bubble("wamid.ana7").Find(`[data-testid=bubble-deleted]`).Length() != 1 {
				t.Fatal("deleted mark missing")
			}
			// Outbound bubbles open their delivery timeline into a slot under them.
			btn := bubble("wamid.ana2").Find(`[data-testid=open-timeline]`)
			slot := bubble("wamid.ana2").Find(`[data-testid=timeline-slot]`)
			if btn.AttrOr("hx-get", "") != "/messages/wamid.ana2/events?phone_number_id="+convPNID || btn.AttrOr("hx-target", "") != "#"+slot.AttrOr("id", "-") {
				t.Fatalf("timeline button %q → %q, slot %q", btn.AttrOr("hx-get", ""), btn.AttrOr("hx-target", ""), slot.AttrOr("id", ""))
			}
			if bubble("wamid.ana1").Find(`[data-testid=open-timeline]`).Length() != 0 {
				t.Fatal("timeline button on an inbound message")
			}
			// Hostile text is inert text.
			if got := bubble("wamid.ana5").Find(`[data-testid=bubble-text]`).Text(); got != convHostile {
				t.Fatalf("hostile text %q", got)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, `href="javascript:`) {
				t.Fatal("hostile markup rendered as HTML")
			}
			if d.Find(`[data-testid=thread-export]`).Length() != 0 {
				t.Fatal("agents see export links")
			}
			// Admins see the export links.
			_, body = app.Login(apptest.AdminEmail).Get(fmt.Sprintf("/threads/%d", f.ana.ID), nil)
			if got := convAttrs(convDoc(t, body).Find(`[data-testid=thread-export] a`), "href"); len(got) != 3 || got[1] != fmt.Sprintf("/threads/%d/export.csv", f.ana.ID) {
				t.Fatalf("export links %v", got)
			}
		})
	}
}

func TestThreadPagesAndJump(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			base := fmt.Sprintf("/threads/%d", f.carla.ID)

			// The view opens at the newest 50; older pages walk back to the start without
			// repeating or skipping a message, and day separators stay one per day.
			_, body := agent.Get(base, nil)
			d := convDoc(t, body)
			seen := convAttrs(d.Find(`[data-testid=bubble]`), "data-wamid")
			if len(seen) != 50 || seen[49] != fmt.Sprintf("wamid.carla%03d", convLongCount-1) {
				t.Fatalf("first page: %d bubbles, last %v", len(seen), seen[len(seen)-1:])
			}
			days := convAttrs(d.Find(`[data-testid=day-separator]`), "data-day")
			older := d.Find(`[data-testid=load-older]`).AttrOr("hx-get", "")
			for pages := 0; older != ""; pages++ {
				if pages > 20 {
					t.Fatal("older pages never end")
				}
				res, frag := agent.Get(older, apptest.HX())
				if res.StatusCode != http.StatusOK {
					t.Fatalf("older page = %d: %.300s", res.StatusCode, frag)
				}
				fd := convDoc(t, frag)
				if fd.Find(".topbar").Length() != 0 {
					t.Fatal("older page is a full page")
				}
				// The fragment replaces the loader, which held the first day's label: it
				// ends with that day's separator only when the day changes there.
				seen = append(convAttrs(fd.Find(`[data-testid=bubble]`), "data-wamid"), seen...)
				days = append(convAttrs(fd.Find(`[data-testid=day-separator]`), "data-day"), days...)
				older = fd.Find(`[data-testid=load-older]`).AttrOr("hx-get", "")
				if older == "" && fd.Find(`[data-testid=chat-start]`).Length() != 1 {
					t.Fatal("the first page does not mark the start")
				}
			}
			if len(seen) != convLongCount {
				t.Fatalf("walked %d messages, want %d", len(seen), convLongCount)
			}
			for i, w := range seen {
				if w != fmt.Sprintf("wamid.carla%03d", i) {
					t.Fatalf("message %d is %s", i, w)
				}
			}
			// 450 messages ten minutes apart from 2025-10-10 00:00: four days; the first
			// day's label is in the start marker, the others have one separator each.
			if strings.Join(days, " ") != "2025-10-11 2025-10-12 2025-10-13" {
				t.Fatalf("separators while walking back: %v", days)
			}

			// ?at= jumps to a message in the middle, highlighted, with both loaders.
			res, body := agent.Get(base+"?at=wamid.carla200", nil)
			d = convDoc(t, body)
			hit := d.Find(`#hit`)
			if res.StatusCode != http.StatusOK || hit.AttrOr("data-wamid", "") != "wamid.carla200" || !hit.HasClass("is-highlighted") {
				t.Fatalf("jump = %d, hit %q", res.StatusCode, hit.AttrOr("data-wamid", ""))
			}
			if d.Find(`.is-highlighted`).Length() != 1 {
				t.Fatal("more than one highlighted bubble")
			}
			newer := d.Find(`[data-testid=load-newer]`).AttrOr("hx-get", "")
			if d.Find(`[data-testid=load-older]`).Length() != 1 || newer == "" {
				t.Fatal("a page in the middle has both loaders")
			}
			around := convAttrs(d.Find(`[data-testid=bubble]`), "data-wamid")
			_, frag := agent.Get(newer, apptest.HX())
			fd := convDoc(t, frag)
			next := convAttrs(fd.Find(`[data-testid=bubble]`), "data-wamid")
			if len(next) == 0 || next[0] != fmt.Sprintf("wamid.carla%03d", 200+len(around)-len(around)/2) {
				t.Fatalf("newer page starts at %v after %v", next[:1], around[len(around)-1])
			}
			if fd.Find(`[data-testid=load-newer]`).Length() != 1 {
				t.Fatal("newer page lost its loader")
			}

			// A reaction (a search hit, say) opens the message it reacts to.
			_, body = agent.Get(fmt.Sprintf("/threads/%d?at=wamid.anaR", f.ana.ID), nil)
			if got := convDoc(t, body).Find(`#hit`).AttrOr("data-wamid", ""); got != "wamid.ana2" {
				t.Fatalf("reaction opened %q, want the message it reacts to", got)
			}

			// A wamid that is not in the thread: a notice and the newest messages.
			res, body = agent.Get(base+"?at=wamid.ana1", nil)
			d = convDoc(t, body)
			if res.StatusCode != http.StatusOK || d.Find(`[data-testid=thread-notice]`).Length() != 1 || d.Find(`#hit`).Length() != 0 {
				t.Fatalf("foreign wamid = %d", res.StatusCode)
			}
			// Bad cursors and ids are friendly.
			if res, body := agent.Get(base+"?before=%25%25bad", apptest.HX()); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "no longer valid") {
				t.Fatalf("bad cursor = %d: %.200s", res.StatusCode, body)
			}
			for _, p := range []string{"/threads/999999", "/threads/abc", "/threads/0"} {
				if res, _ := agent.Get(p, nil); res.StatusCode != http.StatusNotFound {
					t.Fatalf("%s = %d", p, res.StatusCode)
				}
			}
		})
	}
}

func TestThreadsAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			token := app.Token(models.RoleAgent)

			res, body := app.API("GET", "/api/v1/threads?phone_number_id="+convPNID+"&limit=2", token, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("threads = %d: %s", res.StatusCode, body)
			}
			var page struct {
				Data       []map[string]any `json:"data"`
				NextCursor string           `json:"next_cursor"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Data) != 2 || page.NextCursor == "" {
				t.Fatalf("page %+v", page)
			}
			keys := make([]string, 0)
			for k := range page.Data[0] {
				keys = append(keys, k)
			}
			for _, k := range []string{"id", "phone_number_id", "contact_wa_id", "contact_name", "message_count", "first_message_at", "last_message_at"} {
				if _, ok := page.Data[0][k]; !ok {
					t.Fatalf("thread lacks %q: %v", k, keys)
				}
			}
			if page.Data[0]["id"] != float64(f.ana.ID) || page.Data[0]["last_message_at"] != float64(convTS(1, "10h3m20s")) || page.Data[0]["message_count"] != float64(9) {
				t.Fatalf("first thread %v", page.Data[0])
			}
			_, body = app.API("GET", "/api/v1/threads?phone_number_id="+convPNID+"&limit=2&cursor="+page.NextCursor, token, nil)
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Data) != 1 || page.Data[0]["id"] != float64(f.bruno.ID) || page.NextCursor != "" {
				t.Fatalf("second page %+v", page)
			}

			// Messages in thread order, reactions listed under their message, status null when unknown.
			convThread(t, app.DB, convPNID, "5599000000001", "", []convMsg{{wamid: "wamid.nostatus", direction: "inbound", typ: "text", text: "sem status", origin: "live", ts: 1}})
			res, body = app.API("GET", fmt.Sprintf("/api/v1/threads/%d/messages?limit=5", f.ana.ID), token, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("messages = %d: %s", res.StatusCode, body)
			}
			var msgs struct {
				Data       []map[string]any `json:"data"`
				NextCursor string           `json:"next_cursor"`
			}
			if err := json.Unmarshal([]byte(body), &msgs); err != nil {
				t.Fatal(err)
			}
			if len(msgs.Data) != 5 || msgs.Data[0]["wamid"] != "wamid.ana0" || msgs.NextCursor == "" {
				t.Fatalf("first messages %+v", msgs)
			}
			reactions, _ := msgs.Data[2]["reactions"].([]any)
			if len(reactions) != 1 || fmt.Sprint(reactions[0].(map[string]any)["emoji"]) != "❤️" {
				t.Fatalf("reactions of the message: %v", msgs.Data[2]["reactions"])
			}
			delete(msgs.Data[2], "reactions")
			want := map[string]any{"wamid": "wamid.ana2", "direction": "outbound", "type": "text", "text": "Temos sim! Separo um para você?\nRetirada até as 14h.",
				"timestamp": float64(convTS(0, "9h56m27s")), "status": "read", "origin": "history", "edited": false, "deleted": false, "media": nil}
			if fmt.Sprint(msgs.Data[2]) != fmt.Sprint(want) {
				t.Fatalf("message shape %v\nwant %v", msgs.Data[2], want)
			}
			_, body = app.API("GET", fmt.Sprintf("/api/v1/threads/%d/messages?limit=5&cursor=%s", f.ana.ID, msgs.NextCursor), token, nil)
			if err := json.Unmarshal([]byte(body), &msgs); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for _, m := range msgs.Data {
				rest = append(rest, m["wamid"].(string))
			}
			if strings.Join(rest, " ") != "wamid.ana5 wamid.ana6 wamid.ana7" || msgs.NextCursor != "" {
				t.Fatalf("second page %v, next %q", rest, msgs.NextCursor)
			}
			var nostatus struct{ Data []map[string]any }
			var threadID uint64
			if err := app.DB.SQL().QueryRow("SELECT thread_id FROM messages WHERE wamid = 'wamid.nostatus'").Scan(&threadID); err != nil {
				t.Fatal(err)
			}
			_, body = app.API("GET", fmt.Sprintf("/api/v1/threads/%d/messages", threadID), token, nil)
			if err := json.Unmarshal([]byte(body), &nostatus); err != nil || len(nostatus.Data) != 1 || nostatus.Data[0]["status"] != nil {
				t.Fatalf("status of a message without one: %s", body)
			}

			// Refusals.
			for _, tc := range []struct {
				path, token string
				status      int
			}{
				{"/api/v1/threads", "", http.StatusUnauthorized},
				{"/api/v1/threads?cursor=nope!", token, http.StatusUnprocessableEntity},
				{"/api/v1/threads?limit=0", token, http.StatusUnprocessableEntity},
				{"/api/v1/threads?limit=abc", token, http.StatusUnprocessableEntity},
				{"/api/v1/threads/999999/messages", token, http.StatusNotFound},
				{fmt.Sprintf("/api/v1/threads/%d/messages?cursor=bad!", f.ana.ID), token, http.StatusUnprocessableEntity},
				{fmt.Sprintf("/api/v1/threads/%d/messages?limit=999", f.ana.ID), token, http.StatusUnprocessableEntity},
			} {
				res, body := app.API("GET", tc.path, tc.token, nil)
				if res.StatusCode != tc.status || !strings.Contains(body, `"message"`) {
					t.Errorf("%s = %d, want %d: %s", tc.path, res.StatusCode, tc.status, body)
				}
			}
		})
	}
}
