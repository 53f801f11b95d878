package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/provider/providertest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// syncUpstream is the fake Graph API: it accepts both sync types with fixed request ids
// until told otherwise.
type syncUpstream struct{ *providertest.Server }

func newSyncUpstream(t *testing.T) *syncUpstream {
	u := &syncUpstream{providertest.New(t)}
	u.Script(providertest.SyncContacts, providertest.Accepted("REQ-CONTACTS"))
	u.Script(providertest.SyncHistory, providertest.Accepted("REQ-HISTORY"))
	return u
}

// answer sets the answer to every later request of one sync type.
func (u *syncUpstream) answer(typ providertest.Route, status int, body string) {
	u.Script(typ, providertest.Reply{Status: status, Body: body})
}

// Calls lists the sync types asked for.
func (u *syncUpstream) Calls() []string {
	var out []string
	for _, c := range u.Server.Calls() {
		out = append(out, string(c.Route))
	}
	return out
}

// syncApp is a test app whose Graph API is a fake, with numbers onboarded an hour ago
// ("open") and 25 hours ago ("closed").
type syncApp struct {
	*apptest.App
	up             *syncUpstream
	open, closed   models.BusinessNumber
	openID, closID string
}

func newSyncApp(t *testing.T, dialect string) *syncApp {
	t.Helper()
	up := newSyncUpstream(t)
	app := apptest.New(t, dialect, apptest.Options{Env: map[string]string{"COEX_GRAPH_BASE_URL": up.URL, "COEX_POSITUS_BASE_URL": up.URL}})
	s := &syncApp{App: app, up: up}
	create := func(label, pnid string, ago time.Duration) models.BusinessNumber {
		n, err := app.Services.Registry.Create(context.Background(), registry.Actor{Name: "test"}, registry.Input{
			Label: label, DisplayPhoneNumber: "5511987650000", PhoneNumberID: pnid, WABAID: "810023456789012",
			Provider: models.ProviderMeta, AccessToken: "EAAG-test-token", OnboardedAt: time.Now().Add(-ago).UTC().Format(time.RFC3339),
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	s.open = create("Loja Aberta", "623400011122233", time.Hour)
	s.closed = create("Loja Fechada", "623400011122244", 25*time.Hour)
	return s
}

func (s *syncApp) run(t *testing.T, pnid string) models.SyncRun {
	t.Helper()
	r, err := s.DB.SyncRun(context.Background(), pnid)
	if err != nil {
		t.Fatalf("sync run of %s: %v", pnid, err)
	}
	return r
}

func doc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// flashOf decodes the flash of an HX-Trigger header.
func flashOf(t *testing.T, res *http.Response) (kind, message string) {
	t.Helper()
	var trig struct {
		Flash struct{ Kind, Message string } `json:"flash"`
	}
	if err := json.Unmarshal([]byte(res.Header.Get("HX-Trigger")), &trig); err != nil {
		t.Fatalf("HX-Trigger %q: %v", res.Header.Get("HX-Trigger"), err)
	}
	return trig.Flash.Kind, trig.Flash.Message
}

func TestSyncButtonFromNumbersTable(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newSyncApp(t, dialect)
			admin := s.Login(apptest.AdminEmail)
			// The table offers Sync on the open number only, with the reason on the other.
			_, body := admin.Get("/", nil)
			d := doc(t, body)
			openRow := d.Find(fmt.Sprintf("#number-%d", s.open.ID))
			if _, disabled := openRow.Find(`[data-testid="sync-button"]`).Attr("disabled"); disabled {
				t.Fatal("Sync disabled on the open number")
			}
			if c, _ := openRow.Find(`[data-testid="sync-button"]`).Attr("hx-confirm"); !strings.Contains(c, "only once") {
				t.Fatalf("hx-confirm = %q", c)
			}
			closedBtn := d.Find(fmt.Sprintf("#number-%d [data-testid=sync-button]", s.closed.ID))
			if title, _ := closedBtn.Attr("title"); !strings.Contains(title, "24 h window") {
				t.Fatalf("closed number's button title = %q", title)
			}

			h := apptest.HX()
			h.Set("HX-Target", "numbers-table")
			res, body := admin.PostForm(fmt.Sprintf("/numbers/%d/sync", s.open.ID), nil, h)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST sync = %d: %s", res.StatusCode, body)
			}
			if kind, msg := flashOf(t, res); kind != "success" || !strings.Contains(msg, "Sync requested") {
				t.Fatalf("flash = %s %q", kind, msg)
			}
			d = doc(t, body)
			badge := d.Find(fmt.Sprintf("#number-%d [data-testid=sync-badge]", s.open.ID))
			if st, _ := badge.Attr("data-state"); st != models.SyncRequested {
				t.Fatalf("row badge state = %q", st)
			}
			if trig, _ := badge.Attr("hx-trigger"); trig != "every 2s" {
				t.Fatalf("a running badge polls: hx-trigger = %q", trig)
			}
			if got := s.up.Calls(); strings.Join(got, ",") != "smb_app_state_sync,history" {
				t.Fatalf("upstream calls = %q", got)
			}
			if r := s.run(t, s.open.PhoneNumberID); r.State != models.SyncRequested || r.HistoryRequestID != "REQ-HISTORY" {
				t.Fatalf("run = %+v", r)
			}

			// Pressing it again is refused with the reason, not a crash.
			res, _ = admin.PostForm(fmt.Sprintf("/numbers/%d/sync", s.open.ID), nil, h)
			if kind, msg := flashOf(t, res); res.StatusCode != http.StatusOK || kind != "warning" || !strings.Contains(msg, "once per number") {
				t.Fatalf("second press = %d %s %q", res.StatusCode, kind, msg)
			}
			if n := len(s.up.Calls()); n != 2 {
				t.Fatalf("%d upstream calls after the refused press", n)
			}
		})
	}
}

func TestSyncButtonRules(t *testing.T) {
	s := newSyncApp(t, "sqlite")
	admin, agent := s.Login(apptest.AdminEmail), s.Login(apptest.AgentEmail)
	path := fmt.Sprintf("/numbers/%d/sync", s.open.ID)

	res, _ := agent.PostForm(path, nil, apptest.HX())
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("agent POST sync = %d, want 403", res.StatusCode)
	}
	res, _ = admin.PostForm(path, map[string][]string{"_csrf": {"forged"}}, apptest.HX())
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("POST sync without the CSRF token = %d, want 403", res.StatusCode)
	}
	if n := len(s.up.Calls()); n != 0 {
		t.Fatalf("%d upstream calls from refused requests", n)
	}

	// Outside the window: refused with the reason, in the re-rendered panel and a flash.
	res, body := admin.PostForm(fmt.Sprintf("/numbers/%d/sync", s.closed.ID), nil, apptest.HX())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST sync outside the window = %d", res.StatusCode)
	}
	if kind, msg := flashOf(t, res); kind != "warning" || !strings.Contains(msg, "24 h window") {
		t.Fatalf("flash = %s %q", kind, msg)
	}
	d := doc(t, body)
	if st, _ := d.Find(`[data-testid="sync-panel"]`).Attr("data-state"); st != models.SyncNotRequested {
		t.Fatalf("panel state = %q", st)
	}
	if _, err := s.DB.SyncRun(context.Background(), s.closed.PhoneNumberID); err != store.ErrNotFound {
		t.Fatalf("a refused sync recorded a run: %v", err)
	}
	if n := len(s.up.Calls()); n != 0 {
		t.Fatalf("%d upstream calls outside the window", n)
	}

	// Without HTMX: a redirect to the number's page.
	res, _ = admin.PostForm(path, nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/numbers/%d", s.open.ID) {
		t.Fatalf("plain POST = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if r := s.run(t, s.open.PhoneNumberID); r.State != models.SyncRequested {
		t.Fatalf("run = %+v", r)
	}
}

func TestSyncProviderErrorShownInPanel(t *testing.T) {
	s := newSyncApp(t, "sqlite")
	s.up.answer("smb_app_state_sync", 400, `{"error":{"message":"outside of allowed time window","type":"OAuthException","code":2593108,"fbtrace_id":"AbC"}}`)
	admin := s.Login(apptest.AdminEmail)
	h := apptest.HX()
	h.Set("HX-Target", "sync-panel")
	res, body := admin.PostForm(fmt.Sprintf("/numbers/%d/sync", s.open.ID), nil, h)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST = %d", res.StatusCode)
	}
	if kind, msg := flashOf(t, res); kind != "warning" || !strings.Contains(msg, "Outside the 24 h window") {
		t.Fatalf("flash = %s %q", kind, msg)
	}
	if !strings.Contains(res.Header.Get("HX-Trigger"), `"syncChanged":true`) {
		t.Fatalf("a sync that ended at once does not tell the page: %q", res.Header.Get("HX-Trigger"))
	}
	d := doc(t, body)
	panel := d.Find(`[data-testid="sync-panel"]`)
	if st, _ := panel.Attr("data-state"); st != models.SyncFailed {
		t.Fatalf("panel state %q", st)
	}
	if _, polls := panel.Attr("hx-trigger"); polls {
		t.Fatal("a failed panel still polls")
	}
	if got := d.Find(`[data-testid="sync-error-code"]`).Text(); got != "2593108" {
		t.Fatalf("error code shown = %q", got)
	}
	if !strings.Contains(d.Find(`[data-testid="sync-error"]`).Text(), "What to do next") {
		t.Fatalf("no advice: %q", d.Find(`[data-testid="sync-error"]`).Text())
	}
	if n, _ := d.Find(`#chunk-ledger`).Attr("hx-swap-oob"); n != "true" {
		t.Fatalf("the ledger is not sent out of band: %q", n)
	}
}

// addChunk stores a ledger row and moves the run as ingest does.
func phaseBar(d *goquery.Document, phase int) string {
	v, _ := d.Find(fmt.Sprintf(`[data-testid="sync-phase"][data-phase="%d"] .bar`, phase)).Attr("data-value")
	return v
}

func addChunk(t *testing.T, db *store.DB, pnid string, phase, order, progress, msgs int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	_, err := db.SQL().ExecContext(ctx, `INSERT INTO history_chunks (phone_number_id, phase, chunk_order, progress, thread_count, message_count, inbox_id, received_at)
		VALUES (?, ?, ?, ?, 1, ?, 0, ?)`, pnid, phase, order, progress, msgs, at.UTC())
	if err != nil {
		t.Fatal(err)
	}
	state := models.SyncReceiving
	var completed any
	if progress == 100 {
		state, completed = models.SyncComplete, at.UTC()
	}
	_, err = db.SQL().ExecContext(ctx, `UPDATE sync_runs SET state = ?, progress = ?, first_chunk_at = COALESCE(first_chunk_at, ?), last_chunk_at = ?, completed_at = ? WHERE phone_number_id = ?`,
		state, progress, at.UTC(), at.UTC(), completed, pnid)
	if err != nil {
		t.Fatal(err)
	}
}

func TestSyncPanelPollsUntilDone(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newSyncApp(t, dialect)
			admin, agent := s.Login(apptest.AdminEmail), s.Login(apptest.AgentEmail)
			page := fmt.Sprintf("/numbers/%d", s.open.ID)

			// Before: the agent reads the page without a Sync button; the window counts down.
			res, body := agent.Get(page, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("agent GET page = %d", res.StatusCode)
			}
			d := doc(t, body)
			if d.Find(`[data-testid="sync-button"]`).Length() != 0 {
				t.Fatal("agents see the Sync button")
			}
			if w := d.Find(`[data-testid="sync-window"]`).Text(); !strings.Contains(w, "open") || !strings.Contains(w, "in 23 h") {
				t.Fatalf("window text %q", w)
			}
			if live, _ := d.Find(`[data-testid="sync-panel"]`).Attr("aria-live"); live != "polite" {
				t.Fatalf("panel aria-live = %q", live)
			}
			_, body = admin.Get(page, nil)
			if doc(t, body).Find(`[data-testid="sync-panel"] [data-testid="sync-button"]:not([disabled])`).Length() != 1 {
				t.Fatal("admins see no enabled Sync button on the panel")
			}

			h := apptest.HX()
			h.Set("HX-Target", "sync-panel")
			if res, _ := admin.PostForm(page+"/sync", nil, h); res.StatusCode != http.StatusOK {
				t.Fatalf("POST = %d", res.StatusCode)
			}
			// Chunks arrive: phase 2 first, one chunk missing.
			t0 := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Second)
			addChunk(t, s.DB, s.open.PhoneNumberID, 2, 1, 20, 100, t0)
			addChunk(t, s.DB, s.open.PhoneNumberID, 2, 3, 40, 100, t0.Add(5*time.Second))

			res, body = agent.Get(page+"/sync?was=requested", apptest.HX())
			if res.StatusCode != http.StatusOK || res.Header.Get("HX-Trigger") != "" {
				t.Fatalf("poll while receiving = %d trigger %q", res.StatusCode, res.Header.Get("HX-Trigger"))
			}
			d = doc(t, body)
			panel := d.Find(`[data-testid="sync-panel"]`)
			if st, _ := panel.Attr("data-state"); st != models.SyncReceiving {
				t.Fatalf("state %q", st)
			}
			if trig, _ := panel.Attr("hx-trigger"); trig != "every 2s" {
				t.Fatalf("receiving panel hx-trigger = %q", trig)
			}
			if get, _ := panel.Attr("hx-get"); get != page+"/sync?was=receiving" {
				t.Fatalf("hx-get = %q", get)
			}
			if v, _ := d.Find(`[data-testid="sync-progress"]`).Attr("value"); v != "40" {
				t.Fatalf("progress value %q", v)
			}
			if g := d.Find(`[data-testid="sync-gaps"]`).Text(); !strings.Contains(g, "phase 2: 2") {
				t.Fatalf("gaps %q", g)
			}
			if r := d.Find(`[data-testid="sync-rate"]`).Text(); r != "40" { // 200 messages in 5 s
				t.Fatalf("rate %q", r)
			}
			if eta := d.Find(`[data-testid="sync-eta"]`).Text(); eta != "8 s" { // 5 s for 40 % → 7.5 s more
				t.Fatalf("eta %q", eta)
			}
			ph2 := d.Find(`[data-testid="sync-phase"][data-phase="2"]`).Text()
			if !strings.Contains(ph2, "2 chunks") || !strings.Contains(ph2, "200 messages") {
				t.Fatalf("phase 2 row %q", ph2)
			}
			if d.Find(`[data-testid="sync-phase"]`).Length() != 3 {
				t.Fatal("not three phase rows")
			}
			// Phase bars show each phase's own progress: phase 2 is the one arriving.
			if v := phaseBar(d, 2); v != "40" {
				t.Fatalf("phase 2 bar %q while receiving at 40 %%", v)
			}
			if st := d.Find(`[data-testid="sync-phase"][data-phase="2"] [data-testid="sync-phase-state"]`).Text(); st != "receiving 40 %" {
				t.Fatalf("phase 2 state %q", st)
			}
			if v := phaseBar(d, 0); v != "0" {
				t.Fatalf("phase 0 bar %q before any chunk", v)
			}
			// No messages stored yet (the chunks are still queued): the panel says why.
			if m := d.Find(`[data-testid="sync-messages"]`).Text(); m != "0" {
				t.Fatalf("messages stored %q, want 0 (chunks only in the ledger)", m)
			}
			if z := d.Find(`[data-testid="sync-zero-reason"]`).Text(); !strings.Contains(z, "200 messages received in 2 chunks are still being stored") {
				t.Fatalf("zero reason %q", z)
			}
			if w := d.Find(`[data-testid="sync-window"]`).Text(); strings.Contains(w, "closes") || !strings.Contains(w, "used") {
				t.Fatalf("window text while receiving %q", w)
			}
			if n := d.Find(`#chunk-ledger [data-testid="chunk-row"]`).Length(); n != 2 {
				t.Fatalf("%d ledger rows", n)
			}
			if id := d.Find(`[data-testid="sync-request-id"]`).Text(); id != "REQ-HISTORY" {
				t.Fatalf("request id %q", id)
			}

			// The last chunk: the panel stops polling and tells the page.
			addChunk(t, s.DB, s.open.PhoneNumberID, 0, 1, 100, 50, t0.Add(8*time.Second))
			res, body = agent.Get(page+"/sync?was=receiving", apptest.HX())
			if res.Header.Get("HX-Trigger") != "syncChanged" {
				t.Fatalf("HX-Trigger = %q, want syncChanged", res.Header.Get("HX-Trigger"))
			}
			panel = doc(t, body).Find(`[data-testid="sync-panel"]`)
			if _, polls := panel.Attr("hx-trigger"); polls {
				t.Fatal("a complete panel still polls")
			}
			if st, _ := panel.Attr("data-state"); st != models.SyncComplete {
				t.Fatalf("state %q", st)
			}
			d = doc(t, body)
			// Complete: no open window, every phase that sent chunks is a full bar.
			if w := d.Find(`[data-testid="sync-window"]`).Text(); strings.Contains(w, "open") || strings.Contains(w, "23 h") {
				t.Fatalf("window text after completion %q", w)
			}
			for _, ph := range []int{0, 2} {
				if v := phaseBar(d, ph); v != "100" {
					t.Fatalf("phase %d bar %q after completion", ph, v)
				}
			}
			if v := phaseBar(d, 1); v != "0" {
				t.Fatalf("phase 1 (no chunks) bar %q", v)
			}
			// Admins read why Sync is now disabled, as text next to the button.
			_, body = admin.Get(page, nil)
			d = doc(t, body)
			if d.Find(`[data-testid="sync-panel"] [data-testid="sync-button"][disabled]`).Length() != 1 {
				t.Fatal("no disabled Sync button after completion")
			}
			why := d.Find(`[data-testid="sync-panel"] [data-testid="sync-disabled-reason"]`)
			if !strings.Contains(why.Text(), "has been synced") {
				t.Fatalf("disabled reason %q", why.Text())
			}
			if by, _ := d.Find(`[data-testid="sync-panel"] [data-testid="sync-button"]`).Attr("aria-describedby"); by == "" || by != why.AttrOr("id", "") {
				t.Fatalf("button aria-describedby %q, reason id %q", by, why.AttrOr("id", ""))
			}
			_, body = admin.Get("/numbers", nil)
			row := doc(t, body).Find(fmt.Sprintf("#number-%d", s.open.ID))
			if !strings.Contains(row.Find(`[data-testid="sync-disabled-reason"]`).Text(), "has been synced") {
				t.Fatalf("numbers table row without the visible reason: %q", row.Text())
			}
			// A later poll of an already finished sync does not trigger again.
			res, _ = agent.Get(page+"/sync?was=complete", apptest.HX())
			if res.Header.Get("HX-Trigger") != "" {
				t.Fatalf("HX-Trigger on a settled panel: %q", res.Header.Get("HX-Trigger"))
			}
			// The badge view for the numbers table.
			res, body = agent.Get(page+"/sync?view=badge&was=receiving", apptest.HX())
			d = doc(t, body)
			if st, _ := d.Find(`[data-testid="sync-badge"]`).Attr("data-state"); st != models.SyncComplete || res.Header.Get("HX-Trigger") != "syncChanged" {
				t.Fatalf("badge state %q trigger %q", st, res.Header.Get("HX-Trigger"))
			}
			if v, _ := d.Find(`progress`).Attr("value"); v != "100" {
				t.Fatalf("badge progress %q", v)
			}
			// Without HTMX the fragment URL sends to the page.
			if res, _ := agent.Get(page+"/sync", nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("plain GET fragment = %d", res.StatusCode)
			}
		})
	}
}

func TestSyncAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newSyncApp(t, dialect)
			adminToken, agentToken := s.Token(models.RoleAdmin), s.Token(models.RoleAgent)
			path := "/api/v1/numbers/" + s.open.PhoneNumberID + "/sync"

			res, body := s.API(http.MethodGet, path, agentToken, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET = %d %s", res.StatusCode, body)
			}
			var before map[string]any
			if err := json.Unmarshal([]byte(body), &before); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"state", "progress", "phases", "chunk_gaps", "messages_total", "threads_total", "can_sync"} {
				if _, ok := before[k]; !ok {
					t.Fatalf("GET lacks %q: %s", k, body)
				}
			}
			if before["state"] != "not_requested" || before["can_sync"] != true {
				t.Fatalf("before = %s", body)
			}

			if res, _ := s.API(http.MethodPost, path, agentToken, nil); res.StatusCode != http.StatusForbidden {
				t.Fatalf("agent POST = %d, want 403", res.StatusCode)
			}
			if res, _ := s.API(http.MethodPost, path, "", nil); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("anonymous POST = %d, want 401", res.StatusCode)
			}
			res, body = s.API(http.MethodPost, path, adminToken, nil)
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("admin POST = %d %s", res.StatusCode, body)
			}
			var after struct {
				State            string `json:"state"`
				HistoryRequestID string `json:"history_request_id"`
				CanSync          bool   `json:"can_sync"`
				Notice           string `json:"notice"`
				RequestedAt      int64  `json:"requested_at"`
			}
			if err := json.Unmarshal([]byte(body), &after); err != nil {
				t.Fatal(err)
			}
			if after.State != "requested" || after.HistoryRequestID != "REQ-HISTORY" || after.CanSync || after.Notice == "" || after.RequestedAt == 0 {
				t.Fatalf("after = %s", body)
			}

			res, body = s.API(http.MethodPost, path, adminToken, nil)
			if res.StatusCode != http.StatusConflict || !strings.Contains(body, "once per number") {
				t.Fatalf("second POST = %d %s", res.StatusCode, body)
			}
			res, body = s.API(http.MethodPost, "/api/v1/numbers/"+s.closed.PhoneNumberID+"/sync", adminToken, nil)
			if res.StatusCode != http.StatusConflict || !strings.Contains(body, "24 h window") {
				t.Fatalf("POST outside the window = %d %s", res.StatusCode, body)
			}
			if res, _ := s.API(http.MethodGet, "/api/v1/numbers/999/sync", agentToken, nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("GET unknown number = %d", res.StatusCode)
			}

			// Provider failure: 502 with the code in the message; the run records it.
			s.up.answer("smb_app_state_sync", 401, `{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190,"error_subcode":463}}`)
			third, err := s.Services.Registry.Create(context.Background(), registry.Actor{Name: "test"}, registry.Input{
				Label: "Loja Três", DisplayPhoneNumber: "5511987650001", PhoneNumberID: "623400011122255", WABAID: "810023456789012",
				Provider: models.ProviderMeta, AccessToken: "EAAG-other", OnboardedAt: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
			})
			if err != nil {
				t.Fatal(err)
			}
			res, body = s.API(http.MethodPost, "/api/v1/numbers/"+third.PhoneNumberID+"/sync", adminToken, nil)
			if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "code 190/463") {
				t.Fatalf("POST with a bad token = %d %s", res.StatusCode, body)
			}
			_, body = s.API(http.MethodGet, "/api/v1/numbers/"+third.PhoneNumberID+"/sync", agentToken, nil)
			if !strings.Contains(body, `"state":"failed"`) || !strings.Contains(body, `"error_code":190`) {
				t.Fatalf("GET after failure = %s", body)
			}
		})
	}
}
