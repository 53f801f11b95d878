package syncer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/provider"
	"coexhistory/internal/provider/providertest"
	"coexhistory/internal/registry"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/syncer"
	"coexhistory/internal/syncstate"
	"coexhistory/models"
)

type reply = providertest.Reply

func ok(id string) reply { return providertest.Accepted(id) }

func graphErr(status, code int, transient bool) reply {
	return reply{Status: status, Body: fmt.Sprintf(`{"error":{"message":"m","type":"OAuthException","code":%d,"is_transient":%v,"fbtrace_id":"TRACE"}}`, code, transient)}
}

// upstream is the fake Graph API / Positus with a script of replies per sync step.
type upstream struct{ *providertest.Server }

func newUpstream(t *testing.T, scripts map[providertest.Route][]reply) *upstream {
	u := &upstream{providertest.New(t)}
	for step, replies := range scripts {
		u.Script(step, replies...)
	}
	return u
}

// Calls lists the calls as "step path auth".
func (u *upstream) Calls() []string {
	var out []string
	for _, c := range u.Server.Calls() {
		out = append(out, string(c.Route)+" "+c.Path+" "+c.Auth)
	}
	return out
}

// fixture is a database with one Meta and one Positus number onboarded an hour ago.
type fixture struct {
	db       *store.DB
	reg      *registry.Service
	up       *upstream
	svc      *syncer.Service
	now      time.Time
	clock    *clock
	metaID   string
	posID    string
	posUUID  string
	tokenFor map[string]string
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func fastRetry() provider.RetryPolicy {
	return provider.RetryPolicy{MaxAttempts: 3, Base: time.Millisecond, Cap: 5 * time.Millisecond, AttemptTimeout: 2 * time.Second}
}

func newFixture(t *testing.T, db *store.DB, scripts map[providertest.Route][]reply, onboardedAgo time.Duration, budget time.Duration) *fixture {
	t.Helper()
	ctx := context.Background()
	box, err := secrets.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(db, box)
	now := time.Now().UTC().Truncate(time.Second)
	onboarded := now.Add(-onboardedAgo).Format(time.RFC3339)
	f := &fixture{db: db, reg: reg, now: now, clock: &clock{t: now}, metaID: "623400011122233", posID: "623400099988877",
		posUUID: "2b0f6c1e-58a4-4b8e-9d55-3f1f7f2a9c01", tokenFor: map[string]string{}}
	for _, in := range []registry.Input{
		{Label: "Loja Centro", DisplayPhoneNumber: "5511987650000", PhoneNumberID: f.metaID, WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAG-meta-token", OnboardedAt: onboarded},
		{Label: "Loja Norte", DisplayPhoneNumber: "5511987651111", PhoneNumberID: f.posID, WABAID: "810023456789013", Provider: "positus", ProviderNumberID: f.posUUID, AccessToken: "positus-token", OnboardedAt: onboarded},
	} {
		if _, err := reg.Create(ctx, registry.Actor{Name: "test"}, in); err != nil {
			t.Fatal(err)
		}
		f.tokenFor[in.PhoneNumberID] = in.AccessToken
	}
	f.up = newUpstream(t, scripts)
	f.svc = syncer.New(syncer.Config{
		Store:  db,
		Tokens: reg,
		Providers: map[string]provider.SyncRequester{
			models.ProviderMeta:    provider.NewMeta(provider.MetaConfig{BaseURL: f.up.URL, Version: "v25.0", Retry: fastRetry()}),
			models.ProviderPositus: provider.NewPositus(provider.PositusConfig{BaseURL: f.up.URL, Retry: fastRetry()}),
		},
		Timeout:    24 * time.Hour,
		CallBudget: budget,
		Now:        f.clock.Now,
	})
	return f
}

// audit returns "action detail" of the sync entries of pnid, oldest first.
func (f *fixture) audit(t *testing.T, pnid string) []string {
	t.Helper()
	es, err := f.db.ListAudit(context.Background(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		if e := es[i]; e.Target == pnid && strings.HasPrefix(e.Action, "sync.") {
			out = append(out, e.Action+" "+e.Detail)
		}
	}
	return out
}

func (f *fixture) run(t *testing.T, pnid string) models.SyncRun {
	t.Helper()
	r, err := f.db.SyncRun(context.Background(), pnid)
	if err != nil {
		t.Fatalf("read run: %v", err)
	}
	return r
}

func actor() syncer.Actor { return syncer.Actor{Name: "admin@example.com", RemoteIP: "192.0.2.1"} }

func TestRequestSuccessMeta(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[providertest.Route][]reply{"smb_app_state_sync": {ok("REQ-C")}, "history": {ok("REQ-H")}}, time.Hour, 0)
		res, err := f.svc.Request(context.Background(), actor(), f.metaID)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		calls := f.up.Calls()
		wantCalls := []string{
			"smb_app_state_sync /v25.0/" + f.metaID + "/smb_app_data Bearer EAAG-meta-token",
			"history /v25.0/" + f.metaID + "/smb_app_data Bearer EAAG-meta-token",
		}
		if strings.Join(calls, "\n") != strings.Join(wantCalls, "\n") {
			t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(wantCalls, "\n"))
		}
		r := f.run(t, f.metaID)
		if r.State != models.SyncRequested || r.ContactsRequestID != "REQ-C" || r.HistoryRequestID != "REQ-H" || r.ErrorCode != 0 {
			t.Fatalf("run = %+v", r)
		}
		if res.Run.HistoryRequestID != "REQ-H" || !strings.Contains(res.Notice, "Sync requested") {
			t.Fatalf("result = %+v", res)
		}
		wantAudit := []string{
			"sync.state not_requested → requested",
			"sync.request type=smb_app_state_sync provider=meta",
			"sync.response type=smb_app_state_sync accepted request_id=REQ-C",
			"sync.request type=history provider=meta",
			"sync.response type=history accepted request_id=REQ-H",
		}
		if got := f.audit(t, f.metaID); strings.Join(got, "\n") != strings.Join(wantAudit, "\n") {
			t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantAudit, "\n"))
		}
		for _, line := range f.audit(t, f.metaID) {
			if strings.Contains(line, "EAAG-meta-token") {
				t.Fatal("the access token is in the audit log")
			}
		}

		// Once per number: a second request is refused without a call.
		_, err = f.svc.Request(context.Background(), actor(), f.metaID)
		if !apperr.Is(err, apperr.Conflict) || !strings.Contains(apperr.As(err).Safe, "once per number") {
			t.Fatalf("second Request = %v, want a Conflict saying once per number", err)
		}
		if n := len(f.up.Calls()); n != 2 {
			t.Fatalf("%d calls after the refused request, want 2", n)
		}
	})
}

func TestRequestSuccessPositus(t *testing.T) {
	f := newFixture(t, storetest.Open(t, store.SQLite), map[providertest.Route][]reply{"smb_app_state_sync": {ok("")}, "history": {ok("P-H")}}, time.Hour, 0)
	if _, err := f.svc.Request(context.Background(), actor(), f.posID); err != nil {
		t.Fatal(err)
	}
	base := "/v2/whatsapp/numbers/" + f.posUUID + "/onboarding-smb-app/"
	want := []string{"smb_app_state_sync " + base + "sync-contacts Bearer positus-token", "history " + base + "sync-message-history Bearer positus-token"}
	if got := f.up.Calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls = %q", got)
	}
	if r := f.run(t, f.posID); r.State != models.SyncRequested || r.HistoryRequestID != "P-H" || r.ContactsRequestID != "" {
		t.Fatalf("run = %+v", r)
	}
}

func TestRequestAlreadyRequested(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[providertest.Route][]reply{
			"smb_app_state_sync": {graphErr(400, 2593107, false)},
			"history":            {graphErr(400, 2593107, false)},
		}, time.Hour, 0)
		res, err := f.svc.Request(context.Background(), actor(), f.metaID)
		if err != nil {
			t.Fatalf("2593107 is not an error: %v", err)
		}
		if !strings.Contains(res.Notice, "contacts were already requested") || !strings.Contains(res.Notice, "Already requested") {
			t.Fatalf("notice = %q", res.Notice)
		}
		r := f.run(t, f.metaID)
		if r.State != models.SyncRequested || r.ErrorCode != 2593107 || !strings.Contains(r.ErrorMessage, "Already requested") {
			t.Fatalf("run = %+v", r)
		}
		if n := len(f.up.Calls()); n != 2 {
			t.Fatalf("%d calls, want 2 (never retried)", n)
		}
		st := syncer.Describe(models.BusinessNumber{OnboardedAt: &f.now}, r, f.now, time.Hour)
		if st.CanSync {
			t.Fatal("Sync still offered after 2593107")
		}
	})
}

func TestRequestOutsideWindowAtMeta(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[providertest.Route][]reply{"smb_app_state_sync": {graphErr(400, 2593108, false)}, "history": {ok("never")}}, time.Hour, 0)
		res, err := f.svc.Request(context.Background(), actor(), f.metaID)
		if !apperr.Is(err, apperr.Conflict) || !strings.Contains(apperr.As(err).Safe, "Outside the 24 h window") {
			t.Fatalf("err = %v", err)
		}
		r := f.run(t, f.metaID)
		if r.State != models.SyncFailed || r.ErrorCode != 2593108 || !strings.Contains(r.ErrorMessage, "24 h window") {
			t.Fatalf("run = %+v", r)
		}
		if res.Run.State != models.SyncFailed {
			t.Fatalf("result run = %+v", res.Run)
		}
		if n := len(f.up.Calls()); n != 1 {
			t.Fatalf("%d calls, want 1 (history not asked after 2593108)", n)
		}
		audit := strings.Join(f.audit(t, f.metaID), "\n")
		if !strings.Contains(audit, "sync.state requested → failed: code=2593108") {
			t.Fatalf("audit:\n%s", audit)
		}
		// A failure with 2593108 cannot be retried.
		if _, err := f.svc.Request(context.Background(), actor(), f.metaID); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("retry after 2593108 = %v, want Conflict", err)
		}
	})
}

func TestRequestTransientThenSuccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[providertest.Route][]reply{
			"smb_app_state_sync": {graphErr(500, 2, true), ok("REQ-C")},
			"history":            {graphErr(429, 4, true), graphErr(503, 0, false), ok("REQ-H")},
		}, time.Hour, 0)
		if _, err := f.svc.Request(context.Background(), actor(), f.metaID); err != nil {
			t.Fatal(err)
		}
		if n := len(f.up.Calls()); n != 5 {
			t.Fatalf("%d calls, want 5", n)
		}
		if r := f.run(t, f.metaID); r.State != models.SyncRequested || r.ContactsRequestID != "REQ-C" || r.HistoryRequestID != "REQ-H" {
			t.Fatalf("run = %+v", r)
		}
	})
}

func TestRequestPermanentErrorThenRetrySkipsAcceptedStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[providertest.Route][]reply{
			"smb_app_state_sync": {ok("REQ-C")},
			"history":            {graphErr(401, 190, false), ok("REQ-H")},
		}, time.Hour, 0)
		_, err := f.svc.Request(context.Background(), actor(), f.metaID)
		if !apperr.Is(err, apperr.Upstream) || !strings.Contains(apperr.As(err).Safe, "code 190") {
			t.Fatalf("err = %v", err)
		}
		r := f.run(t, f.metaID)
		if r.State != models.SyncFailed || r.ErrorCode != 190 || !strings.Contains(r.ErrorMessage, "access token") || !strings.Contains(r.ErrorMessage, "trace TRACE") {
			t.Fatalf("run = %+v", r)
		}
		// The fixed token: retry asks only for the history (contacts were accepted).
		if _, err := f.svc.Request(context.Background(), actor(), f.metaID); err != nil {
			t.Fatalf("retry: %v", err)
		}
		calls := f.up.Calls()
		if len(calls) != 3 || !strings.HasPrefix(calls[2], "history ") {
			t.Fatalf("calls = %q", calls)
		}
		r = f.run(t, f.metaID)
		if r.State != models.SyncRequested || r.ContactsRequestID != "REQ-C" || r.HistoryRequestID != "REQ-H" || r.ErrorCode != 0 {
			t.Fatalf("run after retry = %+v", r)
		}
		if audit := strings.Join(f.audit(t, f.metaID), "\n"); !strings.Contains(audit, "type=smb_app_state_sync skipped: accepted before as request_id=REQ-C") ||
			!strings.Contains(audit, "sync.state failed → requested") {
			t.Fatalf("audit:\n%s", audit)
		}
	})
}

func TestRequestProviderTimeout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		slow := reply{Status: 200, Body: `{"request_id":"late"}`, Delay: 5 * time.Second}
		f := newFixture(t, db, map[providertest.Route][]reply{"smb_app_state_sync": {slow}}, time.Hour, 300*time.Millisecond)
		start := time.Now()
		_, err := f.svc.Request(context.Background(), actor(), f.metaID)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("Request took %s with a 300 ms budget", took)
		}
		if !apperr.Is(err, apperr.Upstream) || !strings.Contains(apperr.As(err).Safe, "did not answer in time") {
			t.Fatalf("err = %v", err)
		}
		if r := f.run(t, f.metaID); r.State != models.SyncFailed || r.ErrorCode != 0 || !strings.Contains(r.ErrorMessage, "did not answer in time") {
			t.Fatalf("run = %+v", r)
		}
	})
}

func TestRequestRefusedOutsideWindowMakesNoCall(t *testing.T) {
	f := newFixture(t, storetest.Open(t, store.SQLite), map[providertest.Route][]reply{"smb_app_state_sync": {ok("x")}}, 25*time.Hour, 0)
	_, err := f.svc.Request(context.Background(), actor(), f.metaID)
	if !apperr.Is(err, apperr.Conflict) || !strings.Contains(apperr.As(err).Safe, "24 h window") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.up.Calls()); n != 0 {
		t.Fatalf("%d calls, want none", n)
	}
	if _, err := f.db.SyncRun(context.Background(), f.metaID); err != store.ErrNotFound {
		t.Fatalf("a refused request recorded a run: %v", err)
	}
	if got := f.audit(t, f.metaID); len(got) != 1 || !strings.HasPrefix(got[0], "sync.request refused: The 24 h window") {
		t.Fatalf("audit = %q", got)
	}
	if _, err := f.svc.Request(context.Background(), actor(), "999999"); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("unknown number: %v", err)
	}
}

func TestConcurrentRequestsCallOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[providertest.Route][]reply{"smb_app_state_sync": {ok("C")}, "history": {ok("H")}}, time.Hour, 0)
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.Request(context.Background(), actor(), f.metaID)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		okCount := 0
		for err := range errs {
			switch {
			case err == nil:
				okCount++
			case !apperr.Is(err, apperr.Conflict):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if okCount != 1 {
			t.Fatalf("%d requests succeeded, want 1", okCount)
		}
		if n := len(f.up.Calls()); n != 2 {
			t.Fatalf("%d provider calls, want 2", n)
		}
	})
}

func TestSweepTimesOutWaitingRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, map[providertest.Route][]reply{"smb_app_state_sync": {ok("C")}, "history": {ok("H")}}, time.Hour, 0)
		for _, pnid := range []string{f.metaID, f.posID} {
			if _, err := f.svc.Request(ctx, actor(), pnid); err != nil {
				t.Fatal(err)
			}
		}
		// One number hears back (ingest moved it to receiving).
		receiving := models.SyncReceiving
		if _, err := db.UpdateSyncRun(ctx, f.posID, nil, store.SyncRunUpdate{State: &receiving}); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(23 * time.Hour)
		if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep before the timeout moved %d (%v)", n, err)
		}
		f.clock.Add(2 * time.Hour)
		if n, err := f.svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the timeout moved %d (%v), want 1", n, err)
		}
		if r := f.run(t, f.metaID); r.State != models.SyncTimedOut {
			t.Fatalf("waiting run = %s, want timed_out", r.State)
		}
		if r := f.run(t, f.posID); r.State != models.SyncReceiving {
			t.Fatalf("receiving run = %s, want receiving", r.State)
		}
		audit := f.audit(t, f.metaID)
		if last := audit[len(audit)-1]; !strings.HasPrefix(last, "sync.state requested → timed_out: no webhook since ") {
			t.Fatalf("last audit = %q", last)
		}
		// A late chunk still counts: the state machine lets ingest move it on.
		if next, ok := syncstate.Next(models.SyncTimedOut, syncstate.EventChunk); !ok || next != models.SyncReceiving {
			t.Fatalf("late chunk: %s %v", next, ok)
		}
		if moved, err := db.UpdateSyncRun(ctx, f.metaID, syncstate.Sources(syncstate.EventChunk), store.SyncRunUpdate{State: &receiving}); err != nil || !moved {
			t.Fatalf("late chunk after timeout not applied: %v %v", moved, err)
		}
	})
}

// A request whose answer was never recorded (the app stopped mid-call) is failed by the
// sweeper after a few minutes, so staff can press Sync again instead of waiting 24 h.
func TestSweepFailsUnansweredRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, map[providertest.Route][]reply{"smb_app_state_sync": {ok("C")}, "history": {ok("H")}}, time.Hour, 0)
		if ok, err := db.ClaimSyncRun(ctx, f.metaID, syncstate.Sources(syncstate.EventRequest), f.clock.Now()); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		f.clock.Add(4 * time.Minute)
		if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep too early moved %d (%v)", n, err)
		}
		f.clock.Add(2 * time.Minute)
		if n, err := f.svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep moved %d (%v), want 1", n, err)
		}
		r := f.run(t, f.metaID)
		if r.State != models.SyncFailed || !strings.Contains(r.ErrorMessage, "Press Sync again") {
			t.Fatalf("run = %s %q", r.State, r.ErrorMessage)
		}
		if _, err := f.svc.Request(ctx, actor(), f.metaID); err != nil {
			t.Fatalf("Sync again: %v", err)
		}
		if r := f.run(t, f.metaID); r.State != models.SyncRequested || r.HistoryRequestID != "H" {
			t.Fatalf("after Sync again: %s %q", r.State, r.HistoryRequestID)
		}
	})
}

func TestSweepEvery(t *testing.T) {
	cases := map[time.Duration]time.Duration{24 * time.Hour: time.Minute, 100 * time.Second: 2 * time.Second, time.Second: time.Second}
	for timeout, want := range cases {
		if got := syncer.New(syncer.Config{Timeout: timeout}).SweepEvery(); got != want {
			t.Errorf("SweepEvery(%s) = %s, want %s", timeout, got, want)
		}
	}
}
