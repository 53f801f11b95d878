package providertest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/provider/providertest"
)

func do(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestRoutesScriptsAndQueue(t *testing.T) {
	s := providertest.New(t)
	s.Script(providertest.SyncContacts, providertest.Accepted("C1"), providertest.Accepted("C2"))
	s.Script(providertest.Any, providertest.Reply{Status: 500, Body: `{"error":{"code":2}}`})
	s.Message("111", "wamid.A", "900", `{"data":[]}`)

	steps := []struct {
		method, path, body string
		route              providertest.Route
		status             int
		want               string
	}{
		{"POST", "/v25.0/111/smb_app_data", `{"messaging_product":"whatsapp","sync_type":"smb_app_state_sync"}`, providertest.SyncContacts, 200, `"C1"`},
		{"POST", "/v2/whatsapp/numbers/u-1/onboarding-smb-app/sync-contacts", `{}`, providertest.SyncContacts, 200, `"C2"`},
		{"POST", "/v25.0/111/smb_app_data", `{"sync_type":"smb_app_state_sync"}`, providertest.SyncContacts, 200, `"C2"`}, // the last one repeats
		{"POST", "/v2/whatsapp/numbers/u-1/onboarding-smb-app/sync-message-history", `{}`, providertest.SyncHistory, 500, `"code":2`},
		{"GET", "/v25.0/900/events?limit=3", "", providertest.Events, 500, `"code":2`},
		{"GET", "/v25.0/111/other", "", providertest.Unknown, 500, `"code":2`},
	}
	for i, st := range steps {
		status, body := do(t, st.method, s.URL+st.path, "Bearer x", st.body)
		if status != st.status || !strings.Contains(body, st.want) {
			t.Fatalf("step %d: %d %s, want %d with %s", i, status, body, st.status, st.want)
		}
		if c := s.Calls()[i]; c.Route != st.route || c.Method != st.method || c.Auth != "Bearer x" || c.Body != st.body {
			t.Fatalf("step %d recorded %+v", i, c)
		}
	}

	// Without a script for Any, what the fake knows answers; a queued reply goes first.
	s.Script(providertest.Any)
	s.Queue(providertest.Reply{Status: 429, Body: `{"error":{"code":4}}`})
	s.RequireToken("tok")
	for i, st := range []struct {
		path, auth string
		status     int
		want       string
	}{
		{"/v25.0/111/message_history?message_id=wamid.A", "Bearer bad", 401, `"code":190`},
		{"/v25.0/111/message_history?message_id=wamid.A", "Bearer tok", 429, `"code":4`},
		{"/v25.0/111/message_history?message_id=wamid.A", "Bearer tok", 200, `{"data":[{"id":"900","message_id":"wamid.A"}]}`},
		{"/v25.0/111/message_history?message_id=wamid.B", "Bearer tok", 404, `Message History not found`},
		{"/v25.0/222/message_history?message_id=wamid.A", "Bearer tok", 404, `Message History not found`},
		{"/v25.0/900/events", "Bearer tok", 200, `{"data":[]}`},
		{"/v25.0/901/events", "Bearer tok", 404, `Message History not found`},
		{"/v25.0/111/other", "Bearer tok", 404, `Unknown path`},
	} {
		status, body := do(t, "GET", s.URL+st.path, st.auth, "")
		if status != st.status || !strings.Contains(body, st.want) {
			t.Fatalf("known step %d: %d %s, want %d with %s", i, status, body, st.status, st.want)
		}
	}
	if n := s.Count(); n != len(steps)+8 {
		t.Fatalf("Count = %d, want %d", n, len(steps)+8)
	}
}

func TestDelayEndsWhenTheClientGivesUp(t *testing.T) {
	s := providertest.New(t)
	s.Script(providertest.Any, providertest.Reply{Delay: 10 * time.Second}, providertest.Reply{HangUp: true})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := client.Get(s.URL + "/slow"); err == nil {
		t.Fatal("a delayed reply answered before the client's timeout")
	}
	if _, err := http.Get(s.URL + "/hang-up"); err == nil {
		t.Fatal("a hung-up request got an answer")
	}
}
