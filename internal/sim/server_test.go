package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/webhook"
)

const (
	testSecret       = "app-secret-for-tests"
	testPositusToken = "positus-token-for-tests"
	testPositusID    = "3f6c2a8e-1b7d-4e0a-9c55-2f1e8d7b6a90"
)

// callback records the webhooks it receives; failFirst answers 500 that many times first.
type callback struct {
	t         *testing.T
	mu        sync.Mutex
	bodies    [][]byte
	headers   []http.Header
	failFirst int
	srv       *httptest.Server
}

func newCallback(t *testing.T) *callback {
	c := &callback{t: t}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *callback) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failFirst > 0 {
		c.failFirst--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	c.bodies = append(c.bodies, body)
	c.headers = append(c.headers, r.Header.Clone())
	w.WriteHeader(http.StatusOK)
}

func (c *callback) received() ([][]byte, []http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...), append([]http.Header(nil), c.headers...)
}

type simFixture struct {
	sim     *Server
	api     *httptest.Server
	meta    *callback
	positus *callback
}

func newFixture(t *testing.T, mutate func(*ServerConfig)) *simFixture {
	t.Helper()
	f := &simFixture{meta: newCallback(t), positus: newCallback(t)}
	n := testNumber()
	n.PositusID = testPositusID
	cfg := ServerConfig{
		Numbers:            []Number{n},
		History:            HistoryConfig{Seed: 7, Contacts: 12, Messages: 300, ChunkSize: 40, Now: testConfig().Now},
		CallbackURL:        f.meta.srv.URL + "/webhooks/whatsapp",
		PositusCallbackURL: f.positus.srv.URL + "/webhooks/positus",
		AppSecret:          testSecret,
		PositusSecret:      testPositusToken,
		RetryDelay:         time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	f.sim = NewServer(cfg)
	f.api = httptest.NewServer(f.sim)
	t.Cleanup(func() {
		f.api.Close()
		f.sim.Close()
	})
	return f
}

type apiAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a apiAnswer) errorCode() (code, subcode int) {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(float64)
	s, _ := e["error_subcode"].(float64)
	return int(c), int(s)
}

func (f *simFixture) call(t *testing.T, method, path, token, body string) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(method, f.api.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := apiAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
	}
	return a
}

func syncBody(syncType string) string {
	return `{"messaging_product":"whatsapp","sync_type":"` + syncType + `"}`
}

const metaSyncPath = "/v25.0/623400011122233/smb_app_data"

func TestMetaSyncPostsSignedWebhooks(t *testing.T) {
	f := newFixture(t, nil)
	h, err := f.sim.History("623400011122233")
	if err != nil {
		t.Fatal(err)
	}

	a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncContacts))
	if a.status != 200 || a.body["messaging_product"] != "whatsapp" || a.body["request_id"] == "" || a.body["request_id"] == nil {
		t.Fatalf("contacts sync: %d %v", a.status, a.body)
	}
	a = f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncContacts))
	if code, _ := a.errorCode(); a.status != 400 || code != CodeAlreadyRequested {
		t.Fatalf("second contacts sync: %d %v", a.status, a.body)
	}
	a = f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory))
	if a.status != 200 || a.body["request_id"] == nil {
		t.Fatalf("history sync: %d %v", a.status, a.body)
	}
	a = f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory))
	if code, _ := a.errorCode(); a.status != 400 || code != CodeAlreadyRequested {
		t.Fatalf("second history sync: %d %v", a.status, a.body)
	}
	f.sim.Wait()

	bodies, headers := f.meta.received()
	want := bodySet(append(append([][]byte{}, h.ContactBodies...), cleanHistoryBodies(h)...))
	got := bodySet(bodies)
	if len(bodies) != len(h.ContactBodies)+len(h.Chunks)+len(h.MediaFollowUps) || len(got) != len(want) {
		t.Fatalf("received %d bodies (%d distinct), want %d", len(bodies), len(got), len(want))
	}
	for b := range want {
		if got[b] != 1 {
			t.Fatal("a generated body was not received exactly once")
		}
	}
	for i, b := range bodies {
		if err := webhook.Verify([]byte(testSecret), b, headers[i].Get("X-Hub-Signature-256")); err != nil {
			t.Fatalf("body %d: signature: %v", i, err)
		}
		if headers[i].Get("Content-Type") != "application/json" || headers[i].Get(DefaultPositusSecretHeader) != "" {
			t.Fatalf("body %d: headers %v", i, headers[i])
		}
	}
	if p, _ := f.positus.received(); len(p) != 0 {
		t.Fatalf("the Positus callback got %d webhooks from a Meta sync", len(p))
	}
	st := f.sim.Stats()
	if len(st.Delivered) != len(bodies) || len(st.Failed) != 0 || st.PostCount != len(bodies) || st.InProgress != 0 {
		t.Fatalf("stats: %d delivered, %d failed, %d posts, %d running", len(st.Delivered), len(st.Failed), st.PostCount, st.InProgress)
	}
	if len(st.Requests) != 4 || st.Requests[1].Status != 400 || st.Requests[2].Path != metaSyncPath {
		t.Fatalf("requests: %+v", st.Requests)
	}
}

func TestMetaSyncErrors(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.AccessToken = "right" })
	cases := []struct {
		name, path, token, body string
		status, code, subcode   int
	}{
		{"no token", metaSyncPath, "", syncBody(SyncHistory), 401, 190, 0},
		{"wrong token", metaSyncPath, "wrong", syncBody(SyncHistory), 401, 190, 463},
		{"unknown number", "/v25.0/999/smb_app_data", "right", syncBody(SyncHistory), 400, 100, 33},
		{"bad sync type", metaSyncPath, "right", syncBody("everything"), 400, 100, 0},
		{"bad product", metaSyncPath, "right", `{"messaging_product":"sms","sync_type":"history"}`, 400, 100, 0},
		{"not JSON", metaSyncPath, "right", `{`, 400, 100, 0},
		{"bad version", "/latest/623400011122233/smb_app_data", "right", syncBody(SyncHistory), 400, 2500, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := f.call(t, "POST", tc.path, tc.token, tc.body)
			code, sub := a.errorCode()
			if a.status != tc.status || code != tc.code || sub != tc.subcode {
				t.Fatalf("got %d code %d/%d, want %d code %d/%d: %v", a.status, code, sub, tc.status, tc.code, tc.subcode, a.body)
			}
		})
	}
	// None of the refused calls used up the one-shot history request.
	if a := f.call(t, "POST", metaSyncPath, "right", syncBody(SyncHistory)); a.status != 200 {
		t.Fatalf("history sync after refused calls: %d %v", a.status, a.body)
	}
}

func TestRateLimitFirstThenSuccess(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Faults.RateLimitFirst = 2 })
	for i := range 2 {
		a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncContacts))
		code, sub := a.errorCode()
		e := a.body["error"].(map[string]any)
		if a.status != 429 || code != 4 || sub != 2446079 || e["is_transient"] != true || a.header.Get("Retry-After") != "1" ||
			e["type"] != "OAuthException" || e["message"] != "(#4) Application request limit reached" {
			t.Fatalf("call %d: %d %v (Retry-After %q)", i, a.status, a.body, a.header.Get("Retry-After"))
		}
	}
	if a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncContacts)); a.status != 200 {
		t.Fatalf("third call: %d %v", a.status, a.body)
	}
}

func TestOutsideWindow(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Faults.OutsideWindow = true })
	a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory))
	if code, _ := a.errorCode(); a.status != 400 || code != CodeOutsideWindow {
		t.Fatalf("got %d %v", a.status, a.body)
	}
}

func TestPositusSync(t *testing.T) {
	f := newFixture(t, nil)
	base := "/v2/whatsapp/numbers/" + testPositusID + "/onboarding-smb-app/"
	a := f.call(t, "POST", base+"sync-contacts", "tok", "{}")
	if a.status != 200 || a.body["request_id"] == nil {
		t.Fatalf("sync-contacts: %d %v", a.status, a.body)
	}
	a = f.call(t, "POST", base+"sync-message-history", "tok", "{}")
	if a.status != 200 || a.body["request_id"] == nil {
		t.Fatalf("sync-message-history: %d %v", a.status, a.body)
	}
	a = f.call(t, "POST", base+"sync-message-history", "tok", "{}")
	if code, _ := a.errorCode(); a.status != 400 || code != CodeAlreadyRequested {
		t.Fatalf("second sync-message-history: %d %v", a.status, a.body)
	}
	// The one-shot rule is per number, whichever way it was asked.
	a = f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory))
	if code, _ := a.errorCode(); a.status != 400 || code != CodeAlreadyRequested {
		t.Fatalf("Meta history sync after Positus: %d %v", a.status, a.body)
	}
	for path, status := range map[string]int{
		"/v2/whatsapp/numbers/unknown/onboarding-smb-app/sync-contacts": 404,
		base + "sync-everything": 404,
	} {
		if a := f.call(t, "POST", path, "tok", "{}"); a.status != status {
			t.Fatalf("%s: %d, want %d", path, a.status, status)
		}
	}
	if a := f.call(t, "POST", base+"sync-contacts", "", "{}"); a.status != 401 {
		t.Fatalf("without a token: %d", a.status)
	}
	f.sim.Wait()

	h, _ := f.sim.History("623400011122233")
	bodies, headers := f.positus.received()
	if len(bodies) != len(h.ContactBodies)+len(h.Chunks)+len(h.MediaFollowUps) {
		t.Fatalf("Positus callback got %d bodies", len(bodies))
	}
	for i := range bodies {
		if headers[i].Get(DefaultPositusSecretHeader) != testPositusToken || headers[i].Get("X-Hub-Signature-256") != "" {
			t.Fatalf("body %d: Positus headers %v", i, headers[i])
		}
	}
	if m, _ := f.meta.received(); len(m) != 0 {
		t.Fatalf("the Meta callback got %d webhooks from a Positus sync", len(m))
	}
}

func TestFaultyDeliveryCarriesTheSameBodies(t *testing.T) {
	clean := newFixture(t, nil)
	faulty := newFixture(t, func(c *ServerConfig) { c.Faults = Faults{OutOfOrder: true, Duplicates: true} })
	for _, f := range []*simFixture{clean, faulty} {
		if a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory)); a.status != 200 {
			t.Fatalf("history sync: %d", a.status)
		}
		f.sim.Wait()
	}
	cleanBodies, _ := clean.meta.received()
	faultyBodies, _ := faulty.meta.received()
	cs, fs := bodySet(cleanBodies), bodySet(faultyBodies)
	if len(faultyBodies) <= len(cleanBodies) || len(cs) != len(fs) {
		t.Fatalf("faulty run: %d bodies (%d distinct), clean run %d (%d distinct)", len(faultyBodies), len(fs), len(cleanBodies), len(cs))
	}
	for b := range cs {
		if fs[b] == 0 {
			t.Fatal("a clean body is missing from the faulty run")
		}
	}
	same := true
	for i := range cleanBodies {
		same = same && string(cleanBodies[i]) == string(faultyBodies[i])
	}
	if same {
		t.Fatal("the faulty run sent the bodies in the clean order")
	}
}

func TestDeclineSendsOnlyTheErrorWebhook(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) {
		c.NumberFaults = map[string]Faults{"623400011122233": {Decline: true}}
	})
	if a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory)); a.status != 200 {
		t.Fatalf("history sync: %d", a.status)
	}
	f.sim.Wait()
	h, _ := f.sim.History("623400011122233")
	bodies, _ := f.meta.received()
	if len(bodies) != 1 || string(bodies[0]) != string(h.DeclinedBody) {
		t.Fatalf("received %d bodies, want only the declined one", len(bodies))
	}
	env := decodeEnvelope(t, bodies[0])
	if errs := env.Entry[0].Changes[0].Value.History[0].Errors; len(errs) != 1 || errs[0].Code != 2593109 {
		t.Fatalf("declined errors: %+v", errs)
	}
}

func TestFailedPostsAreRetried(t *testing.T) {
	f := newFixture(t, nil)
	f.meta.failFirst = 2
	if a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncContacts)); a.status != 200 {
		t.Fatalf("contacts sync: %d", a.status)
	}
	f.sim.Wait()
	h, _ := f.sim.History("623400011122233")
	bodies, _ := f.meta.received()
	st := f.sim.Stats()
	if len(bodies) != len(h.ContactBodies) || len(st.Delivered) != 1 || st.Delivered[0].Attempts != 3 || st.PostCount != 3 {
		t.Fatalf("received %d; stats %d delivered (attempts %d), %d posts", len(bodies), len(st.Delivered), st.Delivered[0].Attempts, st.PostCount)
	}

	down := newFixture(t, func(c *ServerConfig) { c.MaxAttempts = 2 })
	down.meta.failFirst = 1000
	if a := down.call(t, "POST", metaSyncPath, "tok", syncBody(SyncContacts)); a.status != 200 {
		t.Fatalf("contacts sync: %d", a.status)
	}
	down.sim.Wait()
	if st := down.sim.Stats(); len(st.Failed) != 1 || len(st.Delivered) != 0 || st.PostCount != 2 {
		t.Fatalf("unreachable callback: %d failed, %d delivered, %d posts", len(st.Failed), len(st.Delivered), st.PostCount)
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Pace = time.Hour })
	if a := f.call(t, "POST", metaSyncPath, "tok", syncBody(SyncHistory)); a.status != 200 {
		t.Fatalf("history sync: %d", a.status)
	}
	done := make(chan struct{})
	go func() {
		f.sim.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop a paced delivery")
	}
	if bodies, _ := f.meta.received(); len(bodies) != 0 {
		t.Fatalf("%d bodies sent before the first pace interval", len(bodies))
	}
}

func TestUnknownNumbersWhenAccepted(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.AcceptUnknownNumbers = true })
	if a := f.call(t, "POST", "/v25.0/1234567/smb_app_data", "tok", syncBody(SyncContacts)); a.status != 200 {
		t.Fatalf("unknown number: %d %v", a.status, a.body)
	}
	f.sim.Wait()
	bodies, _ := f.meta.received()
	if len(bodies) == 0 {
		t.Fatal("no webhooks for an accepted unknown number")
	}
	if env := decodeEnvelope(t, bodies[0]); env.Entry[0].Changes[0].Value.Metadata.PNID != "1234567" {
		t.Fatalf("webhook for %q", env.Entry[0].Changes[0].Value.Metadata.PNID)
	}
	if a := f.call(t, "POST", "/v25.0/not-a-number/smb_app_data", "tok", syncBody(SyncContacts)); a.status != 400 {
		t.Fatalf("non-numeric id: %d", a.status)
	}
}

func TestPhoneNumberFields(t *testing.T) {
	f := newFixture(t, nil)
	a := f.call(t, "GET", "/v25.0/623400011122233?fields=is_on_biz_app,platform_type", "tok", "")
	if a.status != 200 || a.body["is_on_biz_app"] != true || a.body["platform_type"] != "CLOUD_API" {
		t.Fatalf("got %d %v", a.status, a.body)
	}
}
