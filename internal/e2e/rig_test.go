package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/sim"
	"coexhistory/models"
)

// e2eNumber is the business number every test syncs: the simulator serves it, the app has
// it registered with the same ids.
var e2eNumber = sim.Number{PhoneNumberID: "106540352242922", DisplayPhoneNumber: "5511940001234", WABAID: "810012345678901"}

// rig is one app on a fresh database with its own simulator standing in for Meta's Graph
// API and posting the webhooks of a sync to the app.
type rig struct {
	app     *apptest.App
	sim     *sim.Server
	history *sim.History // what the simulator generated for e2eNumber
	faults  sim.Faults
	admin   string // admin API token
}

// newRig starts the app and the simulator (each knowing the other's address) and
// registers e2eNumber, onboarded at hist.Now so that its sync window is open.
func newRig(t *testing.T, dialect string, hist sim.HistoryConfig, faults sim.Faults) *rig {
	t.Helper()
	simHTTP := httptest.NewUnstartedServer(nil) // listens already: its address goes to the app
	simURL := "http://" + simHTTP.Listener.Addr().String()
	app := apptest.New(t, dialect, apptest.Options{Env: map[string]string{
		"COEX_GRAPH_BASE_URL":   simURL,
		"COEX_POSITUS_BASE_URL": simURL,
	}})
	simulator := sim.NewServer(sim.ServerConfig{
		Numbers:            []sim.Number{e2eNumber},
		History:            hist,
		Faults:             faults,
		CallbackURL:        app.Server.URL + "/webhooks/whatsapp",
		PositusCallbackURL: app.Server.URL + "/webhooks/positus",
		AppSecret:          apptest.AppSecret,
		PositusSecret:      apptest.PositusSecret,
		RetryDelay:         50 * time.Millisecond,
	})
	simHTTP.Config.Handler = simulator
	simHTTP.Start()
	// Registered after the app's own cleanups, so it runs before them: the deliveries stop
	// before the app's server goes away.
	t.Cleanup(func() {
		simulator.Close()
		simHTTP.Close()
	})
	h, err := simulator.History(e2eNumber.PhoneNumberID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Services.Registry.Create(context.Background(), registry.Actor{Name: "e2e"}, registry.Input{
		Label: "Padaria Estrela", DisplayPhoneNumber: e2eNumber.DisplayPhoneNumber, PhoneNumberID: e2eNumber.PhoneNumberID,
		WABAID: e2eNumber.WABAID, Provider: models.ProviderMeta, AccessToken: "EAAGe2eTOKEN0123456789",
		OnboardedAt: hist.Now.UTC().Format(time.RFC3339),
	}); err != nil {
		t.Fatalf("register the number: %v", err)
	}
	return &rig{app: app, sim: simulator, history: h, faults: faults, admin: app.Token(models.RoleAdmin)}
}

// syncStatus is the part of GET/POST /api/v1/numbers/{pnid}/sync the tests check.
type syncStatus struct {
	State         string `json:"state"`
	Progress      int    `json:"progress"`
	MessagesTotal int64  `json:"messages_total"`
	ThreadsTotal  int64  `json:"threads_total"`
	ContactsTotal int64  `json:"contacts_total"`
	ErrorCode     int    `json:"error_code"`
	Phases        []struct {
		Phase    int `json:"phase"`
		Chunks   int `json:"chunks"`
		Messages int `json:"messages"`
	} `json:"phases"`
	ChunkGaps []struct {
		Phase   int   `json:"phase"`
		Missing []int `json:"missing"`
	} `json:"chunk_gaps"`
	HistoryRequestID  string `json:"history_request_id"`
	ContactsRequestID string `json:"contacts_request_id"`
}

// syncAndIngest presses Sync through the JSON API, waits until the simulator has posted
// every webhook of the sync, and lets the ingest worker apply them all.
func (r *rig) syncAndIngest(t *testing.T) {
	t.Helper()
	pnid := e2eNumber.PhoneNumberID
	var started syncStatus
	r.apiJSON(t, http.MethodPost, "/api/v1/numbers/"+pnid+"/sync", http.StatusAccepted, &started)
	if started.HistoryRequestID == "" || started.ContactsRequestID == "" {
		t.Fatalf("sync started without request ids: %+v", started)
	}
	r.sim.Wait()

	st := r.sim.Stats()
	if len(st.Failed) != 0 {
		t.Fatalf("%d webhooks were given up; first: %s", len(st.Failed), st.Failed[0].Kind)
	}
	planned := len(sim.PlanContacts(r.history, r.faults)) + len(sim.PlanHistory(r.history, r.faults))
	if len(st.Delivered) != planned {
		t.Fatalf("the app accepted %d webhooks, want the %d planned", len(st.Delivered), planned)
	}
	if st.PostCount != planned {
		t.Fatalf("%d webhook posts for %d webhooks: the app refused some at first", st.PostCount, planned)
	}

	ctx := context.Background()
	if _, err := r.app.Services.Ingest.Drain(ctx); err != nil {
		t.Fatalf("drain ingest: %v", err)
	}
	rows, err := r.app.DB.SQL().QueryContext(ctx, "SELECT state, COUNT(*) FROM webhook_inbox GROUP BY state")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	states := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		states[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[models.InboxDone] == 0 {
		t.Fatalf("inbox rows by state after the drain: %v (want all done)\n%s", states, r.app.Logs.String())
	}
}

// apiJSON sends a request with the admin token, checks the status and decodes the body.
func (r *rig) apiJSON(t *testing.T, method, path string, want int, out any) {
	t.Helper()
	res, body := r.app.API(method, path, r.admin, nil)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, res.StatusCode, want, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("%s %s: decode %q: %v", method, path, body, err)
	}
}

// apiThread is a thread as GET /api/v1/threads lists it.
type apiThread struct {
	ID             uint64 `json:"id"`
	PhoneNumberID  string `json:"phone_number_id"`
	ContactWAID    string `json:"contact_wa_id"`
	ContactName    string `json:"contact_name"`
	MessageCount   int    `json:"message_count"`
	FirstMessageAt int64  `json:"first_message_at"`
	LastMessageAt  int64  `json:"last_message_at"`
}

// apiMessage is a message as GET /api/v1/threads/{id}/messages lists it.
type apiMessage struct {
	WAMID     string        `json:"wamid"`
	Direction string        `json:"direction"`
	Type      string        `json:"type"`
	Text      string        `json:"text"`
	Timestamp int64         `json:"timestamp"`
	Status    *string       `json:"status"`
	Origin    string        `json:"origin"`
	Edited    bool          `json:"edited"`
	Deleted   bool          `json:"deleted"`
	Reactions []apiReaction `json:"reactions"`
}

type apiReaction struct {
	WAMID     string `json:"wamid"`
	Emoji     string `json:"emoji"`
	Direction string `json:"direction"`
	Timestamp int64  `json:"timestamp"`
}

// threads reads every page of the number's threads.
func (r *rig) threads(t *testing.T) []apiThread {
	t.Helper()
	var all []apiThread
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the thread list does not end")
		}
		q := url.Values{"phone_number_id": {e2eNumber.PhoneNumberID}, "limit": {"10"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Data       []apiThread `json:"data"`
			NextCursor string      `json:"next_cursor"`
		}
		r.apiJSON(t, http.MethodGet, "/api/v1/threads?"+q.Encode(), http.StatusOK, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		if len(page.Data) == 0 {
			t.Fatalf("an empty thread page with a next cursor %q", page.NextCursor)
		}
		cursor = page.NextCursor
	}
}

// messages reads every page of a thread's messages.
func (r *rig) messages(t *testing.T, threadID uint64) []apiMessage {
	t.Helper()
	var all []apiMessage
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("the messages of thread %d do not end", threadID)
		}
		q := url.Values{"limit": {"40"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Data       []apiMessage `json:"data"`
			NextCursor string       `json:"next_cursor"`
		}
		r.apiJSON(t, http.MethodGet, "/api/v1/threads/"+strconv.FormatUint(threadID, 10)+"/messages?"+q.Encode(), http.StatusOK, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		if len(page.Data) == 0 {
			t.Fatalf("an empty message page of thread %d with a next cursor", threadID)
		}
		cursor = page.NextCursor
	}
}

// storedMessages counts the number's rows in the messages table and their distinct wamids.
func (r *rig) storedMessages(t *testing.T) (rows, distinct int) {
	t.Helper()
	err := r.app.DB.SQL().QueryRowContext(context.Background(),
		"SELECT COUNT(*), COUNT(DISTINCT wamid) FROM messages WHERE phone_number_id = ?", e2eNumber.PhoneNumberID).Scan(&rows, &distinct)
	if err != nil {
		t.Fatalf("count stored messages: %v", err)
	}
	return rows, distinct
}

func orNull(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}
